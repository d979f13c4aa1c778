//! Tempo's parse-time checks: the implied type of every field expression
//! must fit its operator (`name = 1s` compares a string to a duration,
//! `=~` needs strings, arithmetic needs numbers, `!` a boolean), a filter
//! must be boolean, aggregates need numeric arguments, scalar filters
//! compare numbers. Attributes have no static type and fit anything. The
//! messages are Tempo's, with our printer's text of the offending node.

use super::super::ast::{
    Aggregate, AggregateOp, BinOp, Expr, Field, Intrinsic, Query, Scalar, ScalarFilter, Stage,
    Static, UnaryOp,
};
use super::super::ParseError;

/// A statically known type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ty {
    Nil,
    Bool,
    Int,
    Float,
    Str,
    Duration,
    Status,
    Kind,
    /// An attribute: unknown until evaluation.
    Attr,
}

impl Ty {
    fn numeric(self) -> bool {
        matches!(self, Ty::Int | Ty::Float | Ty::Duration)
    }

    /// Whether `self` and `other` may be operands of one binary operator.
    fn matches(self, other: Ty) -> bool {
        self == other
            || self == Ty::Attr
            || other == Ty::Attr
            || self == Ty::Nil
            || other == Ty::Nil
            || (self.numeric() && other.numeric())
    }
}

/// Whether `op` accepts operands of types `l` and `r` (already matching).
fn valid(op: BinOp, l: Ty, r: Ty) -> bool {
    if (l == Ty::Nil || r == Ty::Nil) && !matches!(op, BinOp::Eq | BinOp::Neq) {
        return false;
    }
    let t = if l == Ty::Attr { r } else { l };
    if t == Ty::Attr {
        return true;
    }
    match op {
        BinOp::And | BinOp::Or => t == Ty::Bool,
        BinOp::Eq | BinOp::Neq => true,
        BinOp::Lt | BinOp::Lte | BinOp::Gt | BinOp::Gte => t.numeric() || t == Ty::Str,
        BinOp::Re | BinOp::NotRe => t == Ty::Str,
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::Pow => t.numeric(),
    }
}

fn binary_type(op: BinOp, l: Ty, r: Ty, text: &dyn Fn() -> String) -> Result<Ty, ParseError> {
    if !l.matches(r) {
        return Err(ParseError::plain(format!(
            "binary operations must operate on the same type: {}",
            text()
        )));
    }
    if !valid(op, l, r) {
        return Err(ParseError::plain(format!(
            "illegal operation for the given types: {}",
            text()
        )));
    }
    Ok(match op {
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::Pow => {
            if l == Ty::Attr {
                r
            } else {
                l
            }
        }
        _ => Ty::Bool,
    })
}

fn static_type(s: &Static) -> Ty {
    match s {
        Static::Str(_) => Ty::Str,
        Static::Int(_) => Ty::Int,
        Static::Float(_) => Ty::Float,
        Static::Duration(_) => Ty::Duration,
        Static::Bool(_) => Ty::Bool,
        Static::Nil => Ty::Nil,
        Static::Status(_) => Ty::Status,
        Static::Kind(_) => Ty::Kind,
    }
}

fn intrinsic_type(i: Intrinsic) -> Ty {
    use Intrinsic::*;
    match i {
        Duration | TraceDuration | EventTimeSinceStart => Ty::Duration,
        Status => Ty::Status,
        Kind => Ty::Kind,
        ChildCount | NestedSetLeft | NestedSetRight | NestedSetParent => Ty::Int,
        Parent => Ty::Attr,
        Name
        | StatusMessage
        | RootName
        | RootServiceName
        | TraceId
        | SpanId
        | ParentId
        | EventName
        | LinkTraceId
        | LinkSpanId
        | InstrumentationName
        | InstrumentationVersion => Ty::Str,
    }
}

fn field_type(f: &Field) -> Result<Ty, ParseError> {
    match f {
        Field::Static(s) => Ok(static_type(s)),
        Field::Intrinsic(i) => Ok(intrinsic_type(*i)),
        Field::Attribute(_) => Ok(Ty::Attr),
        Field::Unary { op, arg } => {
            let t = field_type(arg)?;
            let ok = match op {
                UnaryOp::Neg => t.numeric() || t == Ty::Attr,
                UnaryOp::Not => t == Ty::Bool || t == Ty::Attr,
            };
            if !ok {
                return Err(ParseError::plain(format!(
                    "illegal operation for the given type: {f}"
                )));
            }
            Ok(if *op == UnaryOp::Not { Ty::Bool } else { t })
        }
        Field::Binary { op, lhs, rhs } => {
            let l = field_type(lhs)?;
            let r = field_type(rhs)?;
            binary_type(*op, l, r, &|| f.to_string())
        }
    }
}

fn aggregate_type(a: &Aggregate) -> Result<Ty, ParseError> {
    let Some(arg) = &a.arg else {
        return Ok(Ty::Int);
    };
    let t = field_type(arg)?;
    if a.op == AggregateOp::Count || !(t.numeric() || t == Ty::Attr) {
        return Err(ParseError::plain(format!(
            "aggregate field expressions must resolve to a number type: {a}"
        )));
    }
    Ok(t)
}

fn scalar_type(s: &Scalar) -> Result<Ty, ParseError> {
    match s {
        Scalar::Aggregate(a) => aggregate_type(a),
        Scalar::Static(st) => Ok(static_type(st)),
        Scalar::Binary { op, lhs, rhs } => {
            let l = scalar_type(lhs)?;
            let r = scalar_type(rhs)?;
            binary_type(*op, l, r, &|| s.to_string())
        }
        Scalar::Pipeline(stages) => {
            let mut t = Ty::Attr;
            for st in stages {
                if let Stage::Aggregate(a) = st {
                    t = aggregate_type(a)?;
                } else {
                    stage(st)?;
                }
            }
            Ok(t)
        }
    }
}

fn scalar_filter(sf: &ScalarFilter) -> Result<(), ParseError> {
    let l = scalar_type(&sf.lhs)?;
    let r = scalar_type(&sf.rhs)?;
    binary_type(sf.op, l, r, &|| sf.to_string()).map(|_| ())
}

fn stage(s: &Stage) -> Result<(), ParseError> {
    match s {
        Stage::Spanset(e) => expr(e),
        Stage::ScalarFilter(sf) => scalar_filter(sf),
        Stage::By(f) => field_type(f).map(|_| ()),
        Stage::Select(_) | Stage::Coalesce => Ok(()),
        Stage::Aggregate(a) => aggregate_type(a).map(|_| ()),
    }
}

fn expr(e: &Expr) -> Result<(), ParseError> {
    match e {
        Expr::Filter(None) => Ok(()),
        Expr::Filter(Some(f)) => {
            let t = field_type(f)?;
            if t != Ty::Bool && t != Ty::Attr {
                return Err(ParseError::plain(format!(
                    "span filter field expressions must resolve to a boolean: {e}"
                )));
            }
            Ok(())
        }
        Expr::SpansetOp { lhs, rhs, .. } => {
            expr(lhs)?;
            expr(rhs)
        }
        Expr::Pipeline(stages) => stages.iter().try_for_each(stage),
        Expr::ScalarFilter(sf) => scalar_filter(sf),
    }
}

/// Checks a parsed query.
pub(super) fn query(q: &Query) -> Result<(), ParseError> {
    expr(&q.expr)
}
