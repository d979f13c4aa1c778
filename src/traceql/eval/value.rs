//! Typed values during evaluation ([`V`], borrowing strings from the trace
//! or the query), their comparisons and arithmetic, with Tempo's rules: ints
//! and floats compare numerically, a missing value (`nil`) or a type
//! mismatch makes a comparison false rather than an error.

use std::borrow::Cow;
use std::cmp::Ordering;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue};

use super::Value;
use crate::traceql::ast::{BinOp, Kind, Static, Status};

/// A value while evaluating; strings are borrowed where possible.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum V<'a> {
    Nil,
    Str(Cow<'a, str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Nanoseconds.
    Dur(i64),
    /// OTLP status code.
    Status(i32),
    /// OTLP span kind.
    Kind(i32),
    /// An array attribute: a comparison or regex holds when it holds for
    /// one element (`!=` and `!~`: for none).
    Arr(&'a [AnyValue]),
}

/// OTLP status code of a status enum.
pub(crate) fn status_code(s: Status) -> i32 {
    match s {
        Status::Unset => 0,
        Status::Ok => 1,
        Status::Error => 2,
    }
}

/// OTLP span kind of a kind enum.
pub(crate) fn kind_code(k: Kind) -> i32 {
    match k {
        Kind::Unspecified => 0,
        Kind::Internal => 1,
        Kind::Server => 2,
        Kind::Client => 3,
        Kind::Producer => 4,
        Kind::Consumer => 5,
    }
}

impl V<'static> {
    /// The value of a literal.
    pub(crate) fn from_static(s: &Static) -> V<'static> {
        match s {
            Static::Str(s) => V::Str(Cow::Owned(s.clone())),
            Static::Int(i) => V::Int(*i),
            Static::Float(f) => V::Float(*f),
            Static::Duration(d) => V::Dur(*d),
            Static::Bool(b) => V::Bool(*b),
            Static::Nil => V::Nil,
            Static::Status(s) => V::Status(status_code(*s)),
            Static::Kind(k) => V::Kind(kind_code(*k)),
        }
    }
}

impl<'a> V<'a> {
    /// The same value borrowing from `self` (no allocation for strings).
    pub(crate) fn borrowed(&self) -> V<'_> {
        match self {
            V::Str(s) => V::Str(Cow::Borrowed(s.as_ref())),
            V::Nil => V::Nil,
            V::Int(i) => V::Int(*i),
            V::Float(f) => V::Float(*f),
            V::Bool(b) => V::Bool(*b),
            V::Dur(d) => V::Dur(*d),
            V::Status(s) => V::Status(*s),
            V::Kind(k) => V::Kind(*k),
            V::Arr(a) => V::Arr(a),
        }
    }

    /// The public, owned form.
    pub(crate) fn to_value(&self) -> Value {
        match self {
            V::Nil => Value::Nil,
            V::Str(s) => Value::Str(s.to_string()),
            V::Int(i) => Value::Int(*i),
            V::Float(f) => Value::Float(*f),
            V::Bool(b) => Value::Bool(*b),
            V::Dur(d) => Value::Duration(*d),
            V::Status(s) => Value::Status(*s),
            V::Kind(k) => Value::Kind(*k),
            // No array in the public value type.
            V::Arr(_) => Value::Nil,
        }
    }

    pub(crate) fn is_true(&self) -> bool {
        matches!(self, V::Bool(true))
    }

    fn as_f64(&self) -> Option<f64> {
        match self {
            V::Int(i) => Some(*i as f64),
            V::Float(f) => Some(*f),
            _ => None,
        }
    }
}

/// The value of one array element (nested arrays and maps are `nil`).
pub(crate) fn element(e: &AnyValue) -> V<'_> {
    match &e.value {
        Some(any_value::Value::StringValue(s)) => V::Str(Cow::Borrowed(s)),
        Some(any_value::Value::IntValue(i)) => V::Int(*i),
        Some(any_value::Value::DoubleValue(f)) => V::Float(*f),
        Some(any_value::Value::BoolValue(b)) => V::Bool(*b),
        _ => V::Nil,
    }
}

/// Orders two values of compatible types (`None`: not comparable).
pub(crate) fn compare(a: &V<'_>, b: &V<'_>) -> Option<Ordering> {
    match (a, b) {
        (V::Str(x), V::Str(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
        (V::Dur(x), V::Dur(y)) => Some(x.cmp(y)),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        (V::Status(x), V::Status(y)) => Some(x.cmp(y)),
        (V::Kind(x), V::Kind(y)) => Some(x.cmp(y)),
        (V::Int(_) | V::Float(_), V::Int(_) | V::Float(_)) => a.as_f64()?.partial_cmp(&b.as_f64()?),
        // A duration against a plain number compares nanoseconds.
        (V::Dur(x), V::Int(_) | V::Float(_)) => (*x as f64).partial_cmp(&b.as_f64()?),
        (V::Int(_) | V::Float(_), V::Dur(y)) => a.as_f64()?.partial_cmp(&(*y as f64)),
        _ => None,
    }
}

/// A comparison operator applied: false on a missing value (`nil`) or a
/// type mismatch, whatever the operator (comparisons with a literal `nil`
/// are existence tests, compiled separately).
pub(crate) fn compare_op(op: BinOp, a: &V<'_>, b: &V<'_>) -> bool {
    if let (V::Arr(items), x) | (x, V::Arr(items)) = (a, b) {
        let flipped = matches!(b, V::Arr(_)) && !matches!(a, V::Arr(_));
        let test = |e: &AnyValue, op: BinOp| {
            let e = element(e);
            if flipped {
                compare_op(op, x, &e)
            } else {
                compare_op(op, &e, x)
            }
        };
        return if op == BinOp::Neq {
            !items.iter().any(|e| test(e, BinOp::Eq))
        } else {
            items.iter().any(|e| test(e, op))
        };
    }
    let Some(ord) = compare(a, b) else {
        return false;
    };
    match op {
        BinOp::Eq => ord == Ordering::Equal,
        BinOp::Neq => ord != Ordering::Equal,
        BinOp::Lt => ord == Ordering::Less,
        BinOp::Lte => ord != Ordering::Greater,
        BinOp::Gt => ord == Ordering::Greater,
        BinOp::Gte => ord != Ordering::Less,
        _ => false,
    }
}

/// Arithmetic (`+ - * / % ^`); `nil` when the types don't allow it or on
/// division by zero.
pub(crate) fn arith(op: BinOp, a: &V<'_>, b: &V<'_>) -> V<'static> {
    match (a, b) {
        (V::Int(x), V::Int(y)) => int_arith(op, *x, *y),
        (V::Dur(x), V::Dur(y)) => match op {
            BinOp::Add => V::Dur(x.wrapping_add(*y)),
            BinOp::Sub => V::Dur(x.wrapping_sub(*y)),
            BinOp::Div if *y != 0 => V::Float(*x as f64 / *y as f64),
            BinOp::Mod if *y != 0 => V::Dur(x.wrapping_rem(*y)),
            _ => V::Nil,
        },
        (V::Dur(x), V::Int(_) | V::Float(_)) => {
            let Some(y) = b.as_f64() else { return V::Nil };
            match op {
                BinOp::Mul => V::Dur((*x as f64 * y) as i64),
                BinOp::Div if y != 0.0 => V::Dur((*x as f64 / y) as i64),
                _ => V::Nil,
            }
        }
        (V::Int(_) | V::Float(_), V::Dur(y)) if op == BinOp::Mul => a
            .as_f64()
            .map_or(V::Nil, |x| V::Dur((x * *y as f64) as i64)),
        _ => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => float_arith(op, x, y),
            _ => V::Nil,
        },
    }
}

fn int_arith(op: BinOp, x: i64, y: i64) -> V<'static> {
    match op {
        BinOp::Add => V::Int(x.wrapping_add(y)),
        BinOp::Sub => V::Int(x.wrapping_sub(y)),
        BinOp::Mul => V::Int(x.wrapping_mul(y)),
        BinOp::Div if y != 0 => V::Float(x as f64 / y as f64),
        BinOp::Mod if y != 0 => V::Int(x.wrapping_rem(y)),
        BinOp::Pow => V::Float((x as f64).powf(y as f64)),
        _ => V::Nil,
    }
}

fn float_arith(op: BinOp, x: f64, y: f64) -> V<'static> {
    match op {
        BinOp::Add => V::Float(x + y),
        BinOp::Sub => V::Float(x - y),
        BinOp::Mul => V::Float(x * y),
        BinOp::Div if y != 0.0 => V::Float(x / y),
        BinOp::Mod if y != 0.0 => V::Float(x % y),
        BinOp::Pow => V::Float(x.powf(y)),
        _ => V::Nil,
    }
}

/// Unary minus.
pub(crate) fn negate(a: &V<'_>) -> V<'static> {
    match a {
        V::Int(i) => V::Int(i.wrapping_neg()),
        V::Float(f) => V::Float(-f),
        V::Dur(d) => V::Dur(d.wrapping_neg()),
        _ => V::Nil,
    }
}
