//! LogQL's `line_format` and `label_format` stages: Go templates (see
//! [`crate::template`]) run with the line's labels as `.` (a missing label
//! is the empty string, as Loki's `missingkey=zero` on a string map gives)
//! and Loki's functions, `__line__` and `__timestamp__` included. Templates
//! are parsed once; a `{{.label}}` line template skips the engine.

use std::borrow::Cow;

use crate::logql::ast::LabelFormatOp;
use crate::template::loki_funcs::loki_funcs;
use crate::template::{LateFn, MissingKey, Options, Template, Time, Value};

/// The label Loki reserves for errors; `label_format` may not set it.
const ERROR_LABEL: &str = "__error__";

fn parse(name: &str, src: &str) -> Result<Template, String> {
    Template::parse(name, src, loki_funcs())
        .map(|t| {
            t.with_options(Options {
                missing_key: MissingKey::Zero,
            })
        })
        .map_err(|e| e.msg)
}

/// Runs `tmpl` with `data` as `.`, binding `__line__` and `__timestamp__`.
fn execute<'a>(
    tmpl: &'a Template,
    data: &Value<'a>,
    line: &'a str,
    ts_ns: i64,
    out: &mut String,
) -> Result<(), String> {
    let line_fn =
        move |_: &[Value<'a>]| -> Result<Value<'a>, String> { Ok(Value::Str(Cow::Borrowed(line))) };
    let ts_fn = move |_: &[Value<'a>]| -> Result<Value<'a>, String> {
        Ok(Value::Time(Time::from_unix_nanos(ts_ns)))
    };
    let late: [&LateFn<'a>; 2] = [&line_fn, &ts_fn];
    tmpl.execute_into(data, &late, out).map_err(|e| e.msg)
}

/// The template data: a map of the labels, borrowing names and values.
fn label_map<'a>(labels: impl Iterator<Item = (&'a str, Cow<'a, str>)>) -> Value<'a> {
    Value::map(labels.map(|(k, v)| (Cow::Borrowed(k), Value::Str(v))))
}

/// A compiled `| line_format "..."` stage.
#[derive(Debug)]
pub struct LineFormatter {
    tmpl: Template,
    /// The label name when the template is exactly `{{.name}}`.
    simple: Option<String>,
}

impl LineFormatter {
    /// Parses the template; the error reads like Loki's
    /// (`invalid line template: template: line:1: ...`).
    pub fn new(template: &str) -> Result<LineFormatter, String> {
        let tmpl = parse("line", template).map_err(|e| format!("invalid line template: {e}"))?;
        let simple = tmpl.simple_field().map(str::to_string);
        Ok(LineFormatter { tmpl, simple })
    }

    /// `labels`: the line's current labels (name, value); returns the new line.
    pub fn format(
        &self,
        line: &str,
        ts_ns: i64,
        labels: &[(&str, &str)],
    ) -> Result<String, String> {
        let mut out = String::with_capacity(line.len());
        self.format_into(line, ts_ns, labels, &mut out)?;
        Ok(out)
    }

    /// As [`LineFormatter::format`], appending to a reusable buffer.
    pub fn format_into(
        &self,
        line: &str,
        ts_ns: i64,
        labels: &[(&str, &str)],
        out: &mut String,
    ) -> Result<(), String> {
        if let Some(name) = &self.simple {
            if let Some((_, v)) = labels.iter().rev().find(|(n, _)| n == name) {
                out.push_str(v);
            }
            return Ok(());
        }
        let data = label_map(labels.iter().map(|(k, v)| (*k, Cow::Borrowed(*v))));
        execute(&self.tmpl, &data, line, ts_ns, out)
    }
}

/// One change a `label_format` stage makes to a line's labels.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LabelChange {
    Set(String, String),
    Remove(String),
}

#[derive(Debug)]
enum Op {
    Rename { dst: String, src: String },
    Template { dst: String, tmpl: Template },
}

/// A compiled `| label_format a=b, c="{{..}}"` stage.
#[derive(Debug)]
pub struct LabelFormatter {
    ops: Vec<Op>,
}

impl LabelFormatter {
    /// Compiles the operations. As Loki, a label may be the target of one
    /// operation only, and `__error__` may not be formatted.
    pub fn new(ops: &[LabelFormatOp]) -> Result<LabelFormatter, String> {
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            let dst = match op {
                LabelFormatOp::Rename { dst, .. } | LabelFormatOp::Template { dst, .. } => dst,
            };
            if dst == ERROR_LABEL {
                return Err(format!("{ERROR_LABEL} cannot be formatted"));
            }
            if out.iter().any(|o: &Op| match o {
                Op::Rename { dst: d, .. } | Op::Template { dst: d, .. } => d == dst,
            }) {
                return Err(format!(
                    "multiple label name '{dst}' not allowed in a single format operation"
                ));
            }
            out.push(match op {
                LabelFormatOp::Rename { dst, src } => Op::Rename {
                    dst: dst.clone(),
                    src: src.clone(),
                },
                LabelFormatOp::Template { dst, template } => Op::Template {
                    dst: dst.clone(),
                    tmpl: parse("label", template)
                        .map_err(|e| format!("invalid template for label '{dst}': {e}"))?,
                },
            });
        }
        Ok(LabelFormatter { ops: out })
    }

    /// The changes one `label_format` stage makes, computed from the labels
    /// before the stage; the first template error is returned as `Err`.
    pub fn apply(
        &self,
        line: &str,
        ts_ns: i64,
        labels: &[(&str, &str)],
    ) -> Result<Vec<LabelChange>, String> {
        match self.apply_all(line, ts_ns, labels) {
            (changes, None) => Ok(changes),
            (_, Some(e)) => Err(e),
        }
    }

    /// Loki's exact behaviour: operations run in order, a rename sees what
    /// earlier operations of the stage set, templates see the labels as
    /// they were at the stage's first template; an operation whose template
    /// fails is skipped and the others still apply. Returns the final
    /// change per touched label (in order of first touch) and the first
    /// error, for `__error__="TemplateFormatErr"`.
    pub fn apply_all(
        &self,
        line: &str,
        ts_ns: i64,
        labels: &[(&str, &str)],
    ) -> (Vec<LabelChange>, Option<String>) {
        let mut changes: Vec<LabelChange> = Vec::new();
        let mut error = None;
        let mut data: Option<Value<'_>> = None;
        let mut buf = String::new();
        for op in &self.ops {
            match op {
                Op::Rename { dst, src } => {
                    if let Some(v) = current(&changes, labels, src) {
                        let v = v.to_string();
                        set_change(&mut changes, LabelChange::Set(dst.clone(), v));
                        set_change(&mut changes, LabelChange::Remove(src.clone()));
                    }
                }
                Op::Template { dst, tmpl } => {
                    let d = data.get_or_insert_with(|| snapshot(&changes, labels));
                    buf.clear();
                    match execute(tmpl, d, line, ts_ns, &mut buf) {
                        Ok(()) => {
                            set_change(&mut changes, LabelChange::Set(dst.clone(), buf.clone()))
                        }
                        Err(e) => {
                            if error.is_none() {
                                error = Some(e);
                            }
                        }
                    }
                }
            }
        }
        (changes, error)
    }
}

fn change_name(c: &LabelChange) -> &str {
    match c {
        LabelChange::Set(n, _) | LabelChange::Remove(n) => n,
    }
}

fn set_change(changes: &mut Vec<LabelChange>, c: LabelChange) {
    match changes
        .iter_mut()
        .find(|x| change_name(x) == change_name(&c))
    {
        Some(slot) => *slot = c,
        None => changes.push(c),
    }
}

/// A label's value with the stage's changes so far applied.
fn current<'x>(
    changes: &'x [LabelChange],
    labels: &'x [(&str, &str)],
    name: &str,
) -> Option<&'x str> {
    match changes.iter().find(|c| change_name(c) == name) {
        Some(LabelChange::Set(_, v)) => Some(v),
        Some(LabelChange::Remove(_)) => None,
        None => labels
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v),
    }
}

/// The template data: the labels with the stage's changes so far.
fn snapshot<'a>(changes: &[LabelChange], labels: &[(&'a str, &'a str)]) -> Value<'a> {
    if changes.is_empty() {
        return label_map(labels.iter().map(|(k, v)| (*k, Cow::Borrowed(*v))));
    }
    let mut m = crate::template::Map::new();
    for (k, v) in labels {
        m.insert(Cow::Borrowed(*k), Value::Str(Cow::Borrowed(*v)));
    }
    for c in changes {
        match c {
            LabelChange::Set(k, v) => {
                m.insert(Cow::Owned(k.clone()), Value::Str(Cow::Owned(v.clone())));
            }
            LabelChange::Remove(k) => {
                m.remove(k.as_str());
            }
        }
    }
    Value::Map(std::sync::Arc::new(m))
}

/// Compile-time check: the compiled stages can be shared across threads.
#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<LineFormatter>();
    is::<LabelFormatter>();
    is::<Value<'static>>();
}

#[cfg(test)]
mod tests {
    use super::*;

    const TS: i64 = 1_700_000_000_123_000_000;

    fn rename(dst: &str, src: &str) -> LabelFormatOp {
        LabelFormatOp::Rename {
            dst: dst.into(),
            src: src.into(),
        }
    }

    fn tmpl(dst: &str, t: &str) -> LabelFormatOp {
        LabelFormatOp::Template {
            dst: dst.into(),
            template: t.into(),
        }
    }

    fn set(k: &str, v: &str) -> LabelChange {
        LabelChange::Set(k.into(), v.into())
    }

    #[test]
    fn line_format_uses_labels_line_and_time() {
        let f = LineFormatter::new(
            "{{.level | upper}}: {{__line__}} @{{ __timestamp__ | unixEpoch }} [{{.nope}}]",
        );
        let f = f.as_ref().map_err(String::as_str);
        let out = f.map(|f| f.format("disk full", TS, &[("level", "error"), ("app", "db")]));
        assert_eq!(out, Ok(Ok("ERROR: disk full @1700000000 []".to_string())));
    }

    #[test]
    fn line_format_simple_field_fast_path() {
        let f = LineFormatter::new("{{.msg}}").map_err(|e| e.to_string());
        assert_eq!(
            f.as_ref().map(|f| f.simple.clone()),
            Ok(Some("msg".to_string()))
        );
        let out = f
            .as_ref()
            .map(|f| f.format("orig", TS, &[("msg", "hello")]));
        assert_eq!(out, Ok(Ok("hello".to_string())));
        let missing = f.as_ref().map(|f| f.format("orig", TS, &[]));
        assert_eq!(missing, Ok(Ok(String::new())));
    }

    #[test]
    fn line_format_errors() {
        assert_eq!(
            LineFormatter::new("{{ .a ").err(),
            Some("invalid line template: template: line:1: unclosed action".to_string())
        );
        let f = LineFormatter::new("x{{ div 1 0 }}").map_err(|e| e.to_string());
        let out = f.as_ref().map(|f| f.format("l", TS, &[]));
        assert_eq!(
            out,
            Ok(Err("template: line:1:4: executing \"line\" at <div 1 0>: error calling div: runtime error: integer divide by zero".to_string()))
        );
    }

    #[test]
    fn label_format_rename_and_template() {
        let f = LabelFormatter::new(&[
            rename("new", "old"),
            tmpl("combined", "{{.a}}-{{.new}}-{{__line__}}"),
        ]);
        let f = f.map_err(|e| e.to_string());
        let out = f
            .as_ref()
            .map(|f| f.apply("L", TS, &[("old", "1"), ("a", "x")]));
        assert_eq!(
            out,
            Ok(Ok(vec![
                set("new", "1"),
                LabelChange::Remove("old".into()),
                set("combined", "x-1-L")
            ]))
        );
    }

    #[test]
    fn label_format_rename_of_missing_label_does_nothing() {
        let f = LabelFormatter::new(&[rename("dst", "absent")]).map_err(|e| e.to_string());
        let out = f.as_ref().map(|f| f.apply("L", TS, &[("a", "x")]));
        assert_eq!(out, Ok(Ok(vec![])));
    }

    #[test]
    fn label_format_rename_sees_earlier_template() {
        let f = LabelFormatter::new(&[tmpl("a", "{{.x | upper}}"), rename("b", "a")])
            .map_err(|e| e.to_string());
        let out = f
            .as_ref()
            .map(|f| f.apply("L", TS, &[("x", "v"), ("a", "old")]));
        assert_eq!(
            out,
            Ok(Ok(vec![LabelChange::Remove("a".into()), set("b", "V")]))
        );
    }

    #[test]
    fn label_format_rename_onto_itself_removes_it_as_loki_does() {
        let f = LabelFormatter::new(&[rename("a", "a")]).map_err(|e| e.to_string());
        let out = f.as_ref().map(|f| f.apply("L", TS, &[("a", "x")]));
        assert_eq!(out, Ok(Ok(vec![LabelChange::Remove("a".into())])));
    }

    #[test]
    fn label_format_template_sees_earlier_rename() {
        let f = LabelFormatter::new(&[rename("b", "a"), tmpl("c", "{{.a}}|{{.b}}")])
            .map_err(|e| e.to_string());
        let out = f.as_ref().map(|f| f.apply("L", TS, &[("a", "x")]));
        assert_eq!(
            out,
            Ok(Ok(vec![
                set("b", "x"),
                LabelChange::Remove("a".into()),
                set("c", "|x")
            ]))
        );
    }

    #[test]
    fn label_format_validation() {
        assert_eq!(
            LabelFormatter::new(&[rename("x", "a"), tmpl("x", "{{.b}}")]).err(),
            Some("multiple label name 'x' not allowed in a single format operation".to_string())
        );
        assert_eq!(
            LabelFormatter::new(&[tmpl("__error__", "x")]).err(),
            Some("__error__ cannot be formatted".to_string())
        );
        assert_eq!(
            LabelFormatter::new(&[tmpl("y", "{{ nope }}")]).err(),
            Some(
                "invalid template for label 'y': template: label:1: function \"nope\" not defined"
                    .to_string()
            )
        );
    }

    #[test]
    fn label_format_error_keeps_other_changes_in_apply_all() {
        let f = LabelFormatter::new(&[tmpl("bad", "{{ div 1 0 }}"), tmpl("good", "{{ .a }}!")])
            .map_err(|e| e.to_string());
        let all = f.as_ref().map(|f| f.apply_all("L", TS, &[("a", "x")]));
        let err = "template: label:1:3: executing \"label\" at <div 1 0>: error calling div: runtime error: integer divide by zero".to_string();
        assert_eq!(all, Ok((vec![set("good", "x!")], Some(err.clone()))));
        let one = f.as_ref().map(|f| f.apply("L", TS, &[("a", "x")]));
        assert_eq!(one, Ok(Err(err)));
    }
}
