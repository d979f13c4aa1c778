//! The executor: walks a parsed template with a data value as `.`,
//! writing text and printed values into a string, with Go's scoping of
//! variables, `range`/`break`/`continue`, `template` calls and error
//! messages (`template: t:1:3: executing "t" at <...>: ...`).

use std::borrow::Cow;

/// Most iterations of `range` over an integer (Go's own has no limit).
const MAX_RANGE_INT: i64 = 100_000;

use super::builtins;
use super::node::{Arg, Branch, Builtin, Command, FuncRef, Node, Num, Pipe};
use super::value::Value;
use super::{LateFn, MissingKey, Template, TemplateError};

/// Deepest nesting of `{{template}}` calls.
const MAX_DEPTH: usize = 100;

pub(crate) enum Flow {
    Normal,
    Break,
    Continue,
}

type R<T> = Result<T, TemplateError>;

pub(crate) struct Exec<'a, 'l> {
    pub tmpl: &'a Template,
    pub late: &'l [&'l LateFn<'a>],
    pub vars: Vec<(&'a str, Value<'a>)>,
    pub depth: usize,
    pub cur: &'a str,
}

impl<'a> Exec<'a, '_> {
    fn err(
        &self,
        pos: usize,
        ctx: &dyn std::fmt::Display,
        msg: impl std::fmt::Display,
    ) -> TemplateError {
        let (line, col) = self.tmpl.line_col(pos);
        TemplateError::new(format!(
            "template: {}:{}:{}: executing {:?} at <{}>: {}",
            self.tmpl.name, line, col, self.cur, ctx, msg
        ))
    }

    pub fn walk_list(&mut self, dot: &Value<'a>, list: &'a [Node], out: &mut String) -> R<Flow> {
        for n in list {
            match self.walk(dot, n, out)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value<'a>, node: &'a Node, out: &mut String) -> R<Flow> {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Action { pos, pipe } => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() {
                    if let Value::Func(_) = v {
                        return Err(self.err(
                            *pos,
                            &format!("{{{{{pipe}}}}}"),
                            format!("can't print {{{{{pipe}}}}} of type func"),
                        ));
                    }
                    match &v {
                        Value::Str(s) => out.push_str(s),
                        v => v.write_go(out),
                    }
                }
            }
            Node::If(b) => return self.walk_if_with(dot, b, false, out),
            Node::With(b) => return self.walk_if_with(dot, b, true, out),
            Node::Range(b) => return self.walk_range(dot, b, out),
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
            Node::Template { pos, name, pipe } => {
                let ctx = || match pipe {
                    Some(p) => format!("{{{{template {name:?} {p}}}}}"),
                    None => format!("{{{{template {name:?}}}}}"),
                };
                let Some((tname, body)) = self.tmpl.defines.get_key_value(name) else {
                    return Err(self.err(*pos, &ctx(), format!("template {name:?} not defined")));
                };
                if self.depth >= MAX_DEPTH {
                    return Err(self.err(
                        *pos,
                        &ctx(),
                        format!("exceeded maximum template depth ({MAX_DEPTH})"),
                    ));
                }
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Missing,
                };
                let saved_vars = std::mem::replace(&mut self.vars, vec![("$", new_dot.clone())]);
                let saved_cur = std::mem::replace(&mut self.cur, tname.as_str());
                self.depth += 1;
                let r = self.walk_list(&new_dot, body, out);
                self.depth -= 1;
                self.cur = saved_cur;
                self.vars = saved_vars;
                r?;
            }
        }
        Ok(Flow::Normal)
    }

    fn walk_if_with(
        &mut self,
        dot: &Value<'a>,
        b: &'a Branch,
        with: bool,
        out: &mut String,
    ) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let r = if val.truthy() {
            if with {
                self.walk_list(&val, &b.list, out)
            } else {
                self.walk_list(dot, &b.list, out)
            }
        } else if let Some(e) = &b.else_list {
            self.walk_list(dot, e, out)
        } else {
            Ok(Flow::Normal)
        };
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Value<'a>, b: &'a Branch, out: &mut String) -> R<Flow> {
        let mark = self.vars.len();
        let val = self.eval_pipeline(dot, &b.pipe)?;
        let r = self.range_body(dot, b, val, out);
        self.vars.truncate(mark);
        r.map(|_| Flow::Normal)
    }

    fn range_body(
        &mut self,
        dot: &Value<'a>,
        b: &'a Branch,
        val: Value<'a>,
        out: &mut String,
    ) -> R<()> {
        let mut one = |this: &mut Self, key: Value<'a>, elem: Value<'a>| -> R<bool> {
            let mark = this.vars.len();
            if !b.pipe.decl.is_empty() {
                if b.pipe.is_assign {
                    if b.pipe.decl.len() > 1 {
                        this.set_var(&b.pipe.decl[0], key);
                        this.set_var(&b.pipe.decl[1], elem.clone());
                    } else {
                        this.set_var(&b.pipe.decl[0], elem.clone());
                    }
                } else {
                    let n = this.vars.len();
                    this.vars[n - 1].1 = elem.clone();
                    if b.pipe.decl.len() > 1 {
                        this.vars[n - 2].1 = key;
                    }
                }
            }
            let f = this.walk_list(&elem, &b.list, out)?;
            this.vars.truncate(mark);
            Ok(matches!(f, Flow::Break))
        };
        let mut any = false;
        match &val {
            Value::List(l) => {
                for (i, e) in l.iter().enumerate() {
                    any = true;
                    if one(self, Value::Int(i as i64), e.clone())? {
                        break;
                    }
                }
            }
            Value::Map(m) => {
                for (k, e) in m.iter() {
                    any = true;
                    if one(self, Value::Str(k.clone()), e.clone())? {
                        break;
                    }
                }
            }
            Value::Int(n) => {
                if b.pipe.decl.len() > 1 {
                    return Err(self.err(
                        b.pos,
                        &format!("{{{{range {}}}}}", b.pipe),
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                // Go has no bound; a server needs one: templates come from
                // queries and rule files, and a huge count would hold a
                // thread and grow the output without limit.
                if *n > MAX_RANGE_INT {
                    return Err(self.err(
                        b.pos,
                        &format!("{{{{range {}}}}}", b.pipe),
                        format!("range over {n}: more than {MAX_RANGE_INT} iterations"),
                    ));
                }
                for i in 0..*n {
                    any = true;
                    if one(self, Value::Int(i), Value::Int(i))? {
                        break;
                    }
                }
            }
            Value::Missing | Value::Nil => {}
            other => {
                return Err(self.err(
                    b.pos,
                    &format!("{{{{range {}}}}}", b.pipe),
                    format!("range can't iterate over {}", other.to_go_string()),
                ))
            }
        }
        if !any {
            if let Some(e) = &b.else_list {
                self.walk_list(dot, e, out)?;
            }
        }
        Ok(())
    }

    fn set_var(&mut self, name: &str, v: Value<'a>) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            slot.1 = v;
        }
    }

    fn var(&self, name: &str) -> Value<'a> {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Missing)
    }

    fn eval_pipeline(&mut self, dot: &Value<'a>, pipe: &'a Pipe) -> R<Value<'a>> {
        let mut val: Option<Value<'a>> = None;
        for cmd in &pipe.cmds {
            // As Go digs into interface{} results: a nil becomes no value.
            val = Some(match self.eval_command(dot, cmd, val)? {
                Value::Nil => Value::Missing,
                v => v,
            });
        }
        let val = val.unwrap_or(Value::Missing);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, val.clone());
            } else {
                self.vars.push((name.as_str(), val.clone()));
            }
        }
        Ok(val)
    }

    fn not_a_function(&self, cmd: &Command, final_: &Option<Value<'a>>) -> R<()> {
        if cmd.args.len() > 1 || final_.is_some() {
            return Err(self.err(
                cmd.args[0].pos(),
                &cmd.args[0],
                format!("can't give argument to non-function {}", cmd.args[0]),
            ));
        }
        Ok(())
    }

    fn eval_command(
        &mut self,
        dot: &Value<'a>,
        cmd: &'a Command,
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let first = &cmd.args[0];
        let rest = &cmd.args[1..];
        match first {
            Arg::Field { pos, names } => {
                self.eval_field_chain(dot, dot.clone(), *pos, first, names, rest, final_)
            }
            Arg::Chain { pos, node, fields } => {
                if let Arg::Nil(_) = **node {
                    return Err(self.err(
                        *pos,
                        first,
                        format!("indirection through explicit nil in {first}"),
                    ));
                }
                let recv = self.eval_arg(dot, node)?;
                self.eval_field_chain(dot, recv, *pos, first, fields, rest, final_)
            }
            Arg::Ident { .. } => self.eval_function(dot, first, cmd, rest, final_),
            Arg::Pipe(p) => {
                self.not_a_function(cmd, &final_)?;
                self.eval_pipeline(dot, p)
            }
            Arg::Variable { pos, name, fields } => {
                let v = self.var(name);
                if fields.is_empty() {
                    self.not_a_function(cmd, &final_)?;
                    return Ok(v);
                }
                self.eval_field_chain(dot, v, *pos, first, fields, rest, final_)
            }
            _ => {
                self.not_a_function(cmd, &final_)?;
                match first {
                    Arg::Nil(pos) => Err(self.err(*pos, first, "nil is not a command")),
                    _ => self.eval_arg(dot, first),
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        dot: &Value<'a>,
        mut recv: Value<'a>,
        pos: usize,
        node: &Arg,
        names: &'a [String],
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let n = names.len();
        for name in &names[..n.saturating_sub(1)] {
            recv = self.eval_field(dot, recv, pos, node, name, &[], None)?;
        }
        match names.last() {
            Some(last) => self.eval_field(dot, recv, pos, node, last, args, final_),
            None => Ok(recv),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field(
        &mut self,
        dot: &Value<'a>,
        recv: Value<'a>,
        pos: usize,
        node: &Arg,
        name: &str,
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let has_args = !args.is_empty() || final_.is_some();
        match &recv {
            Value::Map(m) => {
                if has_args {
                    return Err(self.err(
                        pos,
                        node,
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                match m.get(name) {
                    Some(v) => Ok(v.clone()),
                    None => match self.tmpl.options.missing_key {
                        MissingKey::Default => Ok(Value::Missing),
                        MissingKey::Zero => Ok(Value::Str(Cow::Borrowed(""))),
                        MissingKey::TypedZero => Ok(if super::value::is_string_map(m) {
                            Value::Str(Cow::Borrowed(""))
                        } else {
                            Value::Missing
                        }),
                        MissingKey::Error => {
                            Err(self.err(pos, node, format!("map has no entry for key {name:?}")))
                        }
                    },
                }
            }
            Value::Struct(st) => match st.field(name) {
                Some(_) if has_args => Err(self.err(
                    pos,
                    node,
                    format!("{name} has arguments but cannot be invoked as function"),
                )),
                Some(v) => Ok(v.clone()),
                None => Err(self.err(
                    pos,
                    node,
                    format!("can't evaluate field {name} in type {}", st.type_name),
                )),
            },
            Value::Time(t) => {
                let mut vals = Vec::with_capacity(args.len() + 1);
                for a in args {
                    vals.push(self.eval_arg(dot, a)?);
                }
                vals.extend(final_);
                super::time_methods::call(t, name, &vals).map_err(|e| self.err(pos, node, e))
            }
            Value::Nil => Err(self.err(
                pos,
                node,
                format!("nil pointer evaluating interface {{}}.{name}"),
            )),
            Value::Missing => {
                if self.tmpl.options.missing_key == MissingKey::Error {
                    return Err(self.err(
                        pos,
                        node,
                        format!("nil data; no entry for key {name:?}"),
                    ));
                }
                Ok(Value::Missing)
            }
            other => Err(self.err(
                pos,
                node,
                format!("can't evaluate field {name} in type {}", other.type_name()),
            )),
        }
    }

    fn eval_arg(&mut self, dot: &Value<'a>, arg: &'a Arg) -> R<Value<'a>> {
        match arg {
            Arg::Field { pos, names } => {
                self.eval_field_chain(dot, dot.clone(), *pos, arg, names, &[], None)
            }
            Arg::Variable { pos, name, fields } => {
                let v = self.var(name);
                self.eval_field_chain(dot, v, *pos, arg, fields, &[], None)
            }
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Ok(Value::Nil),
            Arg::Bool(_, b) => Ok(Value::Bool(*b)),
            Arg::Number { value, .. } => Ok(match value {
                Num::Int(i) => Value::Int(*i),
                Num::Float(f) => Value::Float(*f),
            }),
            Arg::Str { value, .. } => Ok(Value::Str(Cow::Borrowed(value.as_str()))),
            Arg::Ident { pos, .. } => self.call_function(dot, arg, *pos, arg, &[], None),
            Arg::Pipe(p) => self.eval_pipeline(dot, p),
            Arg::Chain { pos, node, fields } => {
                if let Arg::Nil(_) = **node {
                    return Err(self.err(
                        *pos,
                        arg,
                        format!("indirection through explicit nil in {arg}"),
                    ));
                }
                let recv = self.eval_arg(dot, node)?;
                self.eval_field_chain(dot, recv, *pos, arg, fields, &[], None)
            }
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value<'a>,
        ident: &'a Arg,
        cmd: &'a Command,
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        self.call_function(dot, ident, cmd.pos, cmd, args, final_)
    }

    #[allow(clippy::too_many_arguments)]
    fn call_function(
        &mut self,
        dot: &Value<'a>,
        ident: &'a Arg,
        cmd_pos: usize,
        cmd_text: &dyn std::fmt::Display,
        args: &'a [Arg],
        final_: Option<Value<'a>>,
    ) -> R<Value<'a>> {
        let Arg::Ident { pos, name, func } = ident else {
            return Err(self.err(ident.pos(), ident, "internal error: not a function"));
        };
        let n = args.len() + usize::from(final_.is_some());
        let (min, max) = match func {
            FuncRef::Builtin(b) => builtins::arity(*b),
            FuncRef::User(d) => (d.min_args, d.max_args),
            FuncRef::Late(_, min, max) => (*min, *max),
        };
        let arity_err = match max {
            Some(m) if m == min && n != m => {
                Some(format!("wrong number of args for {name}: want {m} got {n}"))
            }
            Some(m) if n > m => Some(format!(
                "wrong number of args for {name}: want at most {m} got {n}"
            )),
            _ if n < min => Some(format!(
                "wrong number of args for {name}: want at least {min} got {n}"
            )),
            _ => None,
        };
        if let Some(e) = arity_err {
            return Err(self.err(*pos, ident, e));
        }
        // and / or: evaluate lazily, stop at the first deciding value.
        if let FuncRef::Builtin(b @ (Builtin::And | Builtin::Or)) = func {
            let want = *b == Builtin::Or;
            let mut v = Value::Missing;
            for a in args {
                v = self.eval_arg(dot, a)?;
                if v.truthy() == want {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }
        let mut vals: Vec<Value<'a>> = Vec::with_capacity(n);
        for a in args {
            vals.push(self.eval_arg(dot, a)?);
        }
        vals.extend(final_);
        let to_nil = match func {
            FuncRef::Builtin(b) => builtins::takes_interface(*b),
            _ => true,
        };
        if to_nil {
            for v in vals.iter_mut() {
                if matches!(v, Value::Missing) {
                    *v = Value::Nil;
                }
            }
        }
        let r = match func {
            FuncRef::Builtin(b) => builtins::call(*b, &vals),
            FuncRef::User(d) => (d.f)(&vals),
            FuncRef::Late(i, ..) => match self.late.get(*i) {
                Some(f) => f(&vals),
                None => Err(format!("function {name:?} has no value at execution")),
            },
        };
        r.map_err(|e| self.err(cmd_pos, cmd_text, format!("error calling {name}: {e}")))
    }
}
