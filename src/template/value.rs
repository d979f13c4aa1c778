//! The dynamic value a template works on (`.`, variables, function
//! arguments and results), with Go's truthiness, type names and default
//! printing (`fmt.Sprint` of the corresponding Go value).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::time::Time;

/// A function callable from a template: takes its arguments (the piped
/// value last) and returns a value or an error message.
pub type Func = Arc<dyn for<'b> Fn(&[Value<'b>]) -> Result<Value<'b>, String> + Send + Sync>;

/// A map value: keys in order, as Go's templates range over them.
pub type Map<'a> = BTreeMap<Cow<'a, str>, Value<'a>>;

/// Whether a map holds only strings, so that Go would have typed it
/// `map[string]string` (a missing key's zero value is then `""`).
pub fn is_string_map(m: &Map<'_>) -> bool {
    m.values().all(|v| matches!(v, Value::Str(_)))
}

/// A Go struct value, or a pointer to one: its type's name (as error
/// messages and `%T` print it) and its fields in declaration order. Field
/// access by a name it lacks is an error, as in Go.
#[derive(Clone, PartialEq)]
pub struct Struct<'a> {
    pub type_name: &'static str,
    pub fields: Vec<(&'static str, Value<'a>)>,
    /// A pointer to the struct: printed `&{...}`.
    pub pointer: bool,
}

impl<'a> Struct<'a> {
    /// The field of that name.
    pub fn field(&self, name: &str) -> Option<&Value<'a>> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }
}

/// A template value. Strings may borrow from the data or the template
/// (`'a`), so formatting a log line need not copy label values.
#[derive(Clone, Default)]
pub enum Value<'a> {
    /// No value at all (Go's invalid `reflect.Value`): a missing map key.
    /// Prints as `<no value>`.
    #[default]
    Missing,
    /// Go's `nil`. Prints as `<nil>`.
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    List(Arc<Vec<Value<'a>>>),
    Map(Arc<Map<'a>>),
    Time(Time),
    Func(Func),
    Struct(Arc<Struct<'a>>),
}

impl fmt::Debug for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Missing => f.write_str("Missing"),
            Value::Nil => f.write_str("Nil"),
            Value::Bool(b) => write!(f, "Bool({b})"),
            Value::Int(i) => write!(f, "Int({i})"),
            Value::Float(x) => write!(f, "Float({x:?})"),
            Value::Str(s) => write!(f, "Str({s:?})"),
            Value::List(l) => f.debug_tuple("List").field(l).finish(),
            Value::Map(m) => f.debug_tuple("Map").field(m).finish(),
            Value::Time(t) => write!(f, "Time({t})"),
            Value::Func(_) => f.write_str("Func"),
            Value::Struct(s) => f
                .debug_struct(s.type_name)
                .field("fields", &s.fields)
                .finish(),
        }
    }
}

impl PartialEq for Value<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Missing, Value::Missing) | (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => a == b,
            (Value::Time(a), Value::Time(b)) => a == b,
            (Value::Func(a), Value::Func(b)) => Arc::ptr_eq(a, b),
            (Value::Struct(a), Value::Struct(b)) => a == b,
            _ => false,
        }
    }
}

impl<'a> From<&'a str> for Value<'a> {
    fn from(s: &'a str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }
}
impl From<String> for Value<'_> {
    fn from(s: String) -> Self {
        Value::Str(Cow::Owned(s))
    }
}
impl From<i64> for Value<'_> {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value<'_> {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}
impl From<bool> for Value<'_> {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<Time> for Value<'_> {
    fn from(t: Time) -> Self {
        Value::Time(t)
    }
}

impl<'a> Value<'a> {
    /// A map value from (key, value) pairs; a later duplicate key wins.
    pub fn map<K: Into<Cow<'a, str>>>(pairs: impl IntoIterator<Item = (K, Value<'a>)>) -> Self {
        Value::Map(Arc::new(
            pairs.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        ))
    }

    /// A list value.
    pub fn list(items: impl IntoIterator<Item = Value<'a>>) -> Self {
        Value::List(Arc::new(items.into_iter().collect()))
    }

    /// A string value.
    pub fn str(s: impl Into<Cow<'a, str>>) -> Self {
        Value::Str(s.into())
    }

    /// Go's truthiness: false, 0, "", empty list or map, nil and no value
    /// are false; everything else is true.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Missing | Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(x) => *x != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::Time(_) | Value::Func(_) | Value::Struct(_) => true,
        }
    }

    /// The Go type name, as `%T` and fmt's error verbs print it.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Missing | Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "[]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::Time(_) => "time.Time",
            Value::Func(_) => "func",
            Value::Struct(s) => s.type_name,
        }
    }

    /// The string inside, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Converts to an owned value that borrows nothing.
    pub fn into_static(self) -> Value<'static> {
        match self {
            Value::Missing => Value::Missing,
            Value::Nil => Value::Nil,
            Value::Bool(b) => Value::Bool(b),
            Value::Int(i) => Value::Int(i),
            Value::Float(x) => Value::Float(x),
            Value::Str(s) => Value::Str(Cow::Owned(s.into_owned())),
            Value::List(l) => Value::List(Arc::new(
                l.iter().map(|v| v.clone().into_static()).collect(),
            )),
            Value::Map(m) => Value::Map(Arc::new(
                m.iter()
                    .map(|(k, v)| (Cow::Owned(k.to_string()), v.clone().into_static()))
                    .collect(),
            )),
            Value::Time(t) => Value::Time(t),
            Value::Func(f) => Value::Func(f),
            Value::Struct(s) => Value::Struct(Arc::new(Struct {
                type_name: s.type_name,
                fields: s
                    .fields
                    .iter()
                    .map(|(n, v)| (*n, v.clone().into_static()))
                    .collect(),
                pointer: s.pointer,
            })),
        }
    }

    /// Appends the value as Go's `fmt.Sprint` prints it (the `%v` verb).
    pub fn write_go(&self, out: &mut String) {
        self.write_inner(out, true);
    }

    fn write_inner(&self, out: &mut String, top: bool) {
        match self {
            Value::Missing => out.push_str(if top { "<no value>" } else { "<nil>" }),
            Value::Nil => out.push_str("<nil>"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let mut b = itoa::Buffer::new();
                out.push_str(b.format(*i));
            }
            Value::Float(x) => super::fmt::write_float_v(out, *x),
            Value::Str(s) => out.push_str(s),
            Value::List(l) => {
                out.push('[');
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write_inner(out, false);
                }
                out.push(']');
            }
            Value::Map(m) => {
                out.push_str("map[");
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_inner(out, false);
                }
                out.push(']');
            }
            Value::Time(t) => {
                use std::fmt::Write;
                let _ = write!(out, "{t}");
            }
            Value::Func(_) => out.push_str("<func>"),
            Value::Struct(s) => {
                if s.pointer {
                    out.push('&');
                }
                out.push('{');
                for (i, (_, v)) in s.fields.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    v.write_inner(out, false);
                }
                out.push('}');
            }
        }
    }

    /// `fmt.Sprint` of the value as a new string.
    pub fn to_go_string(&self) -> String {
        let mut s = String::new();
        self.write_go(&mut s);
        s
    }
}
