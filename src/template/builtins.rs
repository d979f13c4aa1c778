//! Go's predefined template functions other than the short-circuit `and`
//! and `or` (which the executor evaluates itself): `not len index slice
//! print printf println html js urlquery eq ne lt le gt ge call`.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::sync::Arc;

use super::fmt::{sprint, sprintf, sprintln};
use super::node::Builtin;
use super::value::Value;

/// Arity of a builtin: (minimum, maximum).
pub fn arity(b: Builtin) -> (usize, Option<usize>) {
    match b {
        Builtin::Not | Builtin::Len => (1, Some(1)),
        Builtin::Ne | Builtin::Lt | Builtin::Le | Builtin::Gt | Builtin::Ge => (2, Some(2)),
        Builtin::Index | Builtin::Slice | Builtin::Printf | Builtin::Eq | Builtin::Call => {
            (1, None)
        }
        Builtin::And | Builtin::Or => (1, None),
        Builtin::Print | Builtin::Println | Builtin::Html | Builtin::Js | Builtin::Urlquery => {
            (0, None)
        }
    }
}

/// Whether the builtin takes its arguments as Go `any` (a missing value
/// becomes nil) rather than as `reflect.Value` (kept as no value).
pub fn takes_interface(b: Builtin) -> bool {
    matches!(
        b,
        Builtin::Print
            | Builtin::Printf
            | Builtin::Println
            | Builtin::Html
            | Builtin::Js
            | Builtin::Urlquery
    )
}

/// Calls a builtin (not `and`/`or`) on evaluated arguments.
pub fn call<'a>(b: Builtin, args: &[Value<'a>]) -> Result<Value<'a>, String> {
    match b {
        Builtin::Not => Ok(Value::Bool(!args[0].truthy())),
        Builtin::Len => length(&args[0]).map(Value::Int),
        Builtin::Index => index(&args[0], &args[1..]),
        Builtin::Slice => slice(&args[0], &args[1..]),
        Builtin::Print => Ok(Value::Str(Cow::Owned(sprint(args)))),
        Builtin::Println => Ok(Value::Str(Cow::Owned(sprintln(args)))),
        Builtin::Printf => match &args[0] {
            Value::Str(f) => Ok(Value::Str(Cow::Owned(sprintf(f, &args[1..])))),
            other => Err(format!(
                "wrong type for value; expected string; got {}",
                other.type_name()
            )),
        },
        Builtin::Html => Ok(Value::Str(Cow::Owned(html_escape(&escaper_arg(args))))),
        Builtin::Js => Ok(Value::Str(Cow::Owned(js_escape(&escaper_arg(args))))),
        Builtin::Urlquery => Ok(Value::Str(Cow::Owned(query_escape(&escaper_arg(args))))),
        Builtin::Eq => {
            if args.len() < 2 {
                return Err("missing argument for comparison".into());
            }
            for other in &args[1..] {
                if eq(&args[0], other)? {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        Builtin::Ne => Ok(Value::Bool(!eq(&args[0], &args[1])?)),
        Builtin::Lt => Ok(Value::Bool(lt(&args[0], &args[1])?)),
        Builtin::Le => Ok(Value::Bool(
            lt(&args[0], &args[1])? || eq(&args[0], &args[1])?,
        )),
        Builtin::Gt => Ok(Value::Bool(
            !(lt(&args[0], &args[1])? || eq(&args[0], &args[1])?),
        )),
        Builtin::Ge => Ok(Value::Bool(!lt(&args[0], &args[1])?)),
        Builtin::Call => match &args[0] {
            Value::Func(f) => f(&args[1..]),
            Value::Missing | Value::Nil => Err("call of nil".into()),
            other => Err(format!("non-function of type {}", other.type_name())),
        },
        Builtin::And | Builtin::Or => Err("internal error: and/or are evaluated lazily".into()),
    }
}

fn escaper_arg(args: &[Value<'_>]) -> String {
    if let [Value::Str(s)] = args {
        return s.to_string();
    }
    sprint(args)
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if !c.is_ascii() && (c.is_control() || c.is_whitespace()) => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn length(v: &Value<'_>) -> Result<i64, String> {
    Ok(match v {
        Value::Str(s) => s.len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Map(m) => m.len() as i64,
        Value::Missing | Value::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.type_name())),
    })
}

fn index_arg(i: &Value<'_>, len: usize) -> Result<usize, String> {
    let x = match i {
        Value::Int(x) => *x,
        Value::Missing | Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ))
        }
    };
    if x < 0 || x as u64 > len as u64 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index<'a>(item: &Value<'a>, idx: &[Value<'a>]) -> Result<Value<'a>, String> {
    let mut item = item.clone();
    if matches!(item, Value::Missing | Value::Nil) {
        return Err("index of untyped nil".into());
    }
    for i in idx {
        item = match &item {
            Value::List(l) => {
                let x = index_arg(i, l.len())?;
                l.get(x)
                    .cloned()
                    .ok_or_else(|| format!("index out of range: {x}"))?
            }
            Value::Str(s) => {
                let x = index_arg(i, s.len())?;
                Value::Int(
                    *s.as_bytes()
                        .get(x)
                        .ok_or_else(|| format!("index out of range: {x}"))?
                        as i64,
                )
            }
            Value::Map(m) => match i {
                // A missing key gives the zero of the element type.
                Value::Str(k) => match m.get(k.as_ref()) {
                    Some(v) => v.clone(),
                    None if super::value::is_string_map(m) => Value::Str(Cow::Borrowed("")),
                    None => Value::Nil,
                },
                other => {
                    return Err(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    ))
                }
            },
            Value::Missing | Value::Nil => return Err("index of nil pointer".into()),
            other => return Err(format!("can't index item of type {}", other.type_name())),
        };
    }
    Ok(item)
}

fn slice<'a>(item: &Value<'a>, idx: &[Value<'a>]) -> Result<Value<'a>, String> {
    if matches!(item, Value::Missing | Value::Nil) {
        return Err("slice of untyped nil".into());
    }
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()));
    }
    let len = match item {
        Value::Str(s) => {
            if idx.len() == 3 {
                return Err("cannot 3-index slice a string".into());
            }
            s.len()
        }
        Value::List(l) => l.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name())),
    };
    let mut bounds = [0, len, len];
    for (k, i) in idx.iter().enumerate() {
        bounds[k] = index_arg(i, len)?;
    }
    if bounds[0] > bounds[1] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[0], bounds[1]
        ));
    }
    if idx.len() == 3 && bounds[1] > bounds[2] {
        return Err(format!(
            "invalid slice index: {} > {}",
            bounds[1], bounds[2]
        ));
    }
    Ok(match item {
        Value::Str(s) => {
            let bytes = &s.as_bytes()[bounds[0]..bounds[1]];
            match std::str::from_utf8(bytes) {
                Ok(t) => Value::Str(Cow::Owned(t.to_string())),
                Err(_) => Value::Str(Cow::Owned(String::from_utf8_lossy(bytes).into_owned())),
            }
        }
        Value::List(l) => Value::List(Arc::new(l[bounds[0]..bounds[1]].to_vec())),
        _ => Value::Nil,
    })
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn kind(v: &Value<'_>) -> Kind {
    match v {
        Value::Missing | Value::Nil => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => Kind::Other,
    }
}

/// Go's `eq` for two values.
pub fn eq(a: &Value<'_>, b: &Value<'_>) -> Result<bool, String> {
    let (ka, kb) = (kind(a), kind(b));
    if ka != kb {
        if ka != Kind::Invalid && kb != Kind::Invalid {
            return Err("incompatible types for comparison".into());
        }
        return Ok(false);
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Time(x), Value::Time(y)) => x == y,
        // Pointers compare by identity.
        (Value::Struct(x), Value::Struct(y)) if x.pointer && y.pointer => {
            if x.type_name != y.type_name {
                return Err("incompatible types for comparison".into());
            }
            Arc::ptr_eq(x, y)
        }
        _ if ka == Kind::Invalid => true,
        (Value::List(_), _) | (Value::Map(_), _) | (Value::Func(_), _) | (Value::Struct(_), _) => {
            return Err(format!("non-comparable type {}", a.type_name()))
        }
        _ => return Err("incompatible types for comparison".into()),
    })
}

/// Go's `lt`.
pub fn lt(a: &Value<'_>, b: &Value<'_>) -> Result<bool, String> {
    let (ka, kb) = (kind(a), kind(b));
    if matches!(ka, Kind::Invalid | Kind::Other) || matches!(kb, Kind::Invalid | Kind::Other) {
        return Err("invalid type for comparison".into());
    }
    if ka != kb {
        return Err("incompatible types for comparison".into());
    }
    Ok(match (a, b) {
        (Value::Int(x), Value::Int(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y) == Some(Ordering::Less),
        (Value::Str(x), Value::Str(y)) => x < y,
        _ => return Err("invalid type for comparison".into()),
    })
}
