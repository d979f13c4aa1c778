//! Go's `text/template`, written for Cairn: lexer, parser and executor with
//! Go's semantics (trim markers, comments, pipelines, variables, `if`,
//! `range`, `with`, `define`/`template`/`block`, the builtin functions and
//! `fmt`-style printing), a dynamic [`Value`] type and a pluggable
//! [`FuncMap`]. LogQL's `line_format`/`label_format` use it with Loki's
//! functions ([`loki_funcs`]); alerting templates can register their own.
//!
//! ```
//! use cairn::template::{FuncMap, Template, Value};
//! let t = Template::parse("t", "{{ range $i, $v := . }}{{ $i }}={{ $v }} {{ end }}", &FuncMap::new()).unwrap();
//! let data = Value::list([Value::from("a"), Value::from("b")]);
//! assert_eq!(t.execute(&data).unwrap(), "0=a 1=b ");
//! ```

mod builtins;
mod exec;
pub mod fmt;
mod lex;
pub mod loki_funcs;
mod node;
mod parse;
pub mod time;
mod time_methods;
pub mod tz;
pub mod value;

#[cfg(test)]
mod loki_tests;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

pub use builtins::query_escape;
pub use time::Time;
pub use value::{Func, Map, Struct, Value};

use node::{Arg, Node};

/// A parse or execution error, with Go's wording
/// (`template: name:1: ...` / `template: name:1:5: executing ...`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{msg}")]
pub struct TemplateError {
    pub msg: String,
}

impl TemplateError {
    pub fn new(msg: impl Into<String>) -> Self {
        TemplateError { msg: msg.into() }
    }
}

/// A registered function and how many arguments it takes (the piped
/// value included). Calls with another count fail like Go's
/// `wrong number of args for f: want 2 got 1`.
#[derive(Clone)]
pub struct FuncDef {
    pub f: Func,
    pub min_args: usize,
    pub max_args: Option<usize>,
}

/// A function supplied at execution time (see [`FuncMap::declare_late`]).
pub type LateFn<'a> = dyn Fn(&[Value<'a>]) -> Result<Value<'a>, String> + 'a;

/// Named functions a template may call, beyond Go's builtins (which they
/// may shadow).
#[derive(Clone, Default)]
pub struct FuncMap {
    funcs: HashMap<String, FuncDef>,
    /// Late-bound names by slot, with their arity (minimum, maximum).
    late: Vec<(String, usize, Option<usize>)>,
}

impl FuncMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a function taking any number of arguments.
    pub fn insert<F>(&mut self, name: &str, f: F)
    where
        F: for<'b> Fn(&[Value<'b>]) -> Result<Value<'b>, String> + Send + Sync + 'static,
    {
        self.insert_arity(name, 0, None, f);
    }

    /// Registers a function taking `min..=max` arguments (`None`: no
    /// upper bound).
    pub fn insert_arity<F>(&mut self, name: &str, min: usize, max: Option<usize>, f: F)
    where
        F: for<'b> Fn(&[Value<'b>]) -> Result<Value<'b>, String> + Send + Sync + 'static,
    {
        self.funcs.insert(
            name.to_string(),
            FuncDef {
                f: Arc::new(f),
                min_args: min,
                max_args: max,
            },
        );
    }

    /// Declares a function whose implementation is given at execution
    /// ([`Template::execute_into`]'s `late` slice, by the returned slot):
    /// for per-call context such as Loki's `__line__`.
    pub fn declare_late(&mut self, name: &str) -> usize {
        self.declare_late_arity(name, 0, None)
    }

    /// [`FuncMap::declare_late`] for a function taking `min..=max`
    /// arguments (`None`: no upper bound), checked as for registered
    /// functions.
    pub fn declare_late_arity(&mut self, name: &str, min: usize, max: Option<usize>) -> usize {
        if let Some(i) = self.late_slot(name) {
            self.late[i] = (name.to_string(), min, max);
            return i;
        }
        self.funcs.remove(name);
        self.late.push((name.to_string(), min, max));
        self.late.len() - 1
    }

    /// The arity of a late-bound function, by slot.
    pub fn late_arity(&self, slot: usize) -> (usize, Option<usize>) {
        self.late
            .get(slot)
            .map_or((0, None), |(_, min, max)| (*min, *max))
    }

    /// The registered function of that name.
    pub fn get(&self, name: &str) -> Option<&FuncDef> {
        self.funcs.get(name)
    }

    /// The execution-time slot of a late-bound name.
    pub fn late_slot(&self, name: &str) -> Option<usize> {
        self.late.iter().position(|(n, ..)| n == name)
    }
}

/// What a missing map key evaluates to (Go's `missingkey=` option).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MissingKey {
    /// No value: prints `<no value>`.
    #[default]
    Default,
    /// The empty string (Go's zero value of a `map[string]string`, which is
    /// what Loki's label maps are).
    Zero,
    /// An execution error.
    Error,
    /// Go's zero value of the map's element type, the type being inferred
    /// from the values: the empty string in a map holding only strings
    /// (a `map[string]string`, such as Prometheus' label maps), no value
    /// in any other map (a `map[string]interface{}`, whose zero is nil).
    TypedZero,
}

/// Execution options.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub missing_key: MissingKey,
}

/// A parsed template: parse once, execute many times.
pub struct Template {
    name: String,
    src: String,
    root: Vec<Node>,
    defines: HashMap<String, Vec<Node>>,
    options: Options,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Template")
            .field("name", &self.name)
            .field("src", &self.src)
            .finish()
    }
}

impl Template {
    /// Parses `src` as template `name`, resolving function names against
    /// Go's builtins and `funcs`.
    pub fn parse(name: &str, src: &str, funcs: &FuncMap) -> Result<Template, TemplateError> {
        let perr = |pos: usize, msg: &str| {
            let line = 1 + src[..pos.min(src.len())].matches('\n').count();
            TemplateError::new(format!("template: {name}:{line}: {msg}"))
        };
        let items = lex::lex(src).map_err(|e| perr(e.pos, &e.msg))?;
        let parsed = parse::parse(items, funcs).map_err(|e| perr(e.pos, &e.msg))?;
        let mut defines = parsed.defines;
        let root_empty = parsed.root.is_empty();
        if !(root_empty && defines.contains_key(name)) {
            defines.insert(name.to_string(), parsed.root);
        }
        Ok(Template {
            name: name.to_string(),
            src: src.to_string(),
            root: Vec::new(),
            defines,
            options: Options::default(),
        }
        .finish())
    }

    fn finish(mut self) -> Self {
        self.root = self.defines.get(&self.name).cloned().unwrap_or_default();
        self
    }

    /// Sets the execution options.
    pub fn with_options(mut self, options: Options) -> Self {
        self.options = options;
        self
    }

    /// The template's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// If the whole template is `{{.name}}`, the field name: callers can
    /// then skip execution and copy the value.
    pub fn simple_field(&self) -> Option<&str> {
        match self.root.as_slice() {
            [Node::Action { pipe, .. }] if pipe.decl.is_empty() && pipe.cmds.len() == 1 => {
                match pipe.cmds[0].args.as_slice() {
                    [Arg::Field { names, .. }] if names.len() == 1 => Some(&names[0]),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Executes with `data` as `.` and returns the output.
    pub fn execute<'a>(&'a self, data: &Value<'a>) -> Result<String, TemplateError> {
        let mut out = String::new();
        self.execute_into(data, &[], &mut out)?;
        Ok(out)
    }

    /// Executes with `data` as `.`, appending to `out` (which keeps what
    /// was written before an error). `late` holds the implementations of
    /// the functions declared with [`FuncMap::declare_late`], by slot.
    pub fn execute_into<'a>(
        &'a self,
        data: &Value<'a>,
        late: &[&LateFn<'a>],
        out: &mut String,
    ) -> Result<(), TemplateError> {
        let mut ex = exec::Exec {
            tmpl: self,
            late,
            vars: vec![("$", data.clone())],
            depth: 0,
            cur: &self.name,
        };
        ex.walk_list(data, &self.root, out).map(|_| ())
    }

    /// Executes the template `name` defined in this one (by `{{define}}`,
    /// or this template itself), as Go's `ExecuteTemplate`: `data` is `.`
    /// and `$`, output is appended to `out`.
    pub fn execute_template_into<'a>(
        &'a self,
        name: &str,
        data: &Value<'a>,
        late: &[&LateFn<'a>],
        out: &mut String,
    ) -> Result<(), TemplateError> {
        let Some((key, body)) = self.defines.get_key_value(name) else {
            return Err(TemplateError::new(format!(
                "template: no template {name:?} associated with template {:?}",
                self.name
            )));
        };
        let mut ex = exec::Exec {
            tmpl: self,
            late,
            vars: vec![("$", data.clone())],
            depth: 0,
            cur: key,
        };
        ex.walk_list(data, body, out).map(|_| ())
    }

    /// 1-based line and 0-based byte column of a source offset.
    fn line_col(&self, pos: usize) -> (usize, usize) {
        let before = &self.src[..pos.min(self.src.len())];
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(i) => pos - i - 1,
            None => pos,
        };
        (line, col)
    }
}
