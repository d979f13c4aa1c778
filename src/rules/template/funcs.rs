//! The function table of Prometheus' alert templates, built once: the
//! query helpers (`first`, `label`, `value`, `strvalue`, `sortByLabel`),
//! `args`, the string and number functions, and the execution-time slots
//! for `query`, `tmpl`, `externalURL` and `pathPrefix`, whose
//! implementations depend on the alert being expanded (see
//! [`super::expand`]).

use std::borrow::Cow;
use std::sync::OnceLock;

use super::humanize::{self, to_float};
use super::text;
use super::SAMPLE_TYPE;
use crate::template::{FuncMap, Struct, Value};

/// Execution-time slot of `query`.
pub const QUERY_SLOT: usize = 0;
/// Execution-time slot of `tmpl`.
pub const TMPL_SLOT: usize = 1;
/// Execution-time slot of `externalURL`.
pub const EXTERNAL_URL_SLOT: usize = 2;
/// Execution-time slot of `pathPrefix`.
pub const PATH_PREFIX_SLOT: usize = 3;

fn s<'a>(x: impl Into<Cow<'a, str>>) -> Value<'a> {
    Value::Str(x.into())
}

fn wrong_type(want: &str, got: &Value<'_>) -> String {
    match got {
        Value::Missing | Value::Nil => format!("invalid value; expected {want}"),
        other => format!(
            "wrong type for value; expected {want}; got {}",
            other.type_name()
        ),
    }
}

/// A `string` parameter.
pub fn arg_str<'v>(args: &'v [Value<'_>], i: usize) -> Result<&'v str, String> {
    match args.get(i) {
        Some(Value::Str(x)) => Ok(x),
        Some(other) => Err(wrong_type("string", other)),
        None => Err("missing argument".into()),
    }
}

/// A `*sample` parameter.
fn sample<'v, 'a>(v: &'v Value<'a>) -> Result<&'v Struct<'a>, String> {
    match v {
        Value::Struct(st) if st.type_name == SAMPLE_TYPE => Ok(st),
        // A nil *sample: Go dereferences it and the call panics.
        Value::Missing | Value::Nil => {
            Err("runtime error: invalid memory address or nil pointer dereference".into())
        }
        other => Err(wrong_type(SAMPLE_TYPE, other)),
    }
}

/// A label of a sample, empty if absent.
fn sample_label<'a>(v: &Value<'a>, name: &str) -> Result<Value<'a>, String> {
    Ok(match sample(v)?.field("Labels") {
        Some(Value::Map(l)) => l.get(name).cloned().unwrap_or_else(|| s("")),
        _ => s(""),
    })
}

/// A `queryResult` parameter: a list (nil is an empty result).
fn query_result<'v, 'a>(v: &'v Value<'a>) -> Result<&'v [Value<'a>], String> {
    match v {
        Value::List(l) => Ok(l.as_slice()),
        Value::Missing | Value::Nil => Ok(&[]),
        other => Err(wrong_type("template.queryResult", other)),
    }
}

/// The label value a sample sorts by.
fn sort_key<'v>(v: &'v Value<'_>, name: &str) -> &'v str {
    match v {
        Value::Struct(st) => match st.field("Labels") {
            Some(Value::Map(l)) => l.get(name).and_then(|x| x.as_str()).unwrap_or(""),
            _ => "",
        },
        _ => "",
    }
}

fn num_fn(f: &mut FuncMap, name: &str, g: fn(f64) -> String) {
    f.insert_arity(name, 1, Some(1), move |a| Ok(s(g(to_float(&a[0])?))));
}

fn str_fn(f: &mut FuncMap, name: &str, g: fn(&str) -> String) {
    f.insert_arity(name, 1, Some(1), move |a| Ok(s(g(arg_str(a, 0)?))));
}

/// The function table.
pub fn alert_funcs() -> &'static FuncMap {
    static FUNCS: OnceLock<FuncMap> = OnceLock::new();
    FUNCS.get_or_init(build)
}

fn build() -> FuncMap {
    let mut f = FuncMap::new();
    let q = f.declare_late_arity("query", 1, Some(1));
    let t = f.declare_late_arity("tmpl", 2, Some(2));
    let u = f.declare_late_arity("externalURL", 0, Some(0));
    let p = f.declare_late_arity("pathPrefix", 0, Some(0));
    debug_assert_eq!(
        [q, t, u, p],
        [QUERY_SLOT, TMPL_SLOT, EXTERNAL_URL_SLOT, PATH_PREFIX_SLOT]
    );

    f.insert_arity("first", 1, Some(1), |a| {
        match query_result(&a[0])?.first() {
            Some(v) => Ok(v.clone()),
            None => Err("first() called on vector with no elements".into()),
        }
    });
    f.insert_arity("label", 2, Some(2), |a| {
        let name = arg_str(a, 0)?;
        sample_label(&a[1], name)
    });
    f.insert_arity("value", 1, Some(1), |a| {
        Ok(sample(&a[0])?
            .field("Value")
            .cloned()
            .unwrap_or(Value::Float(0.0)))
    });
    f.insert_arity("strvalue", 1, Some(1), |a| sample_label(&a[0], "__value__"));
    f.insert("args", |a| {
        Ok(Value::map(
            a.iter()
                .enumerate()
                .map(|(i, v)| (format!("arg{i}"), v.clone())),
        ))
    });
    f.insert_arity("sortByLabel", 2, Some(2), |a| {
        let name = arg_str(a, 0)?;
        let mut v = query_result(&a[1])?.to_vec();
        v.sort_by(|x, y| sort_key(x, name).cmp(sort_key(y, name)));
        Ok(Value::list(v))
    });
    f.insert_arity("reReplaceAll", 3, Some(3), |a| {
        let (pattern, repl, input) = (arg_str(a, 0)?, arg_str(a, 1)?, arg_str(a, 2)?);
        text::replace_all(pattern, repl, input).map(s)
    });
    f.insert_arity("match", 2, Some(2), |a| {
        text::is_match(arg_str(a, 0)?, arg_str(a, 1)?).map(Value::Bool)
    });
    str_fn(&mut f, "safeHtml", str::to_string);
    str_fn(&mut f, "title", text::title);
    str_fn(&mut f, "toUpper", text::to_upper);
    str_fn(&mut f, "toLower", text::to_lower);
    str_fn(&mut f, "graphLink", text::graph_link);
    str_fn(&mut f, "tableLink", text::table_link);
    str_fn(&mut f, "stripPort", text::strip_port);
    str_fn(&mut f, "stripDomain", text::strip_domain);
    num_fn(&mut f, "humanize", humanize::humanize);
    num_fn(&mut f, "humanize1024", humanize::humanize1024);
    num_fn(&mut f, "humanizeDuration", humanize::humanize_duration);
    num_fn(&mut f, "humanizePercentage", humanize::humanize_percentage);
    f.insert_arity("humanizeTimestamp", 1, Some(1), |a| {
        humanize::humanize_timestamp(to_float(&a[0])?).map(s)
    });
    f.insert_arity("toTime", 1, Some(1), |a| {
        humanize::float_to_time(to_float(&a[0])?).map(Value::Time)
    });
    f.insert_arity("parseDuration", 1, Some(1), |a| {
        let d = arg_str(a, 0)?;
        crate::promql::parser::duration::parse_duration_ms(d)
            .map(|ms| Value::Float(ms as f64 / 1000.0))
    });
    f
}
