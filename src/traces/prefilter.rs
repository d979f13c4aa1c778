//! Conditions a trace must meet for a TraceQL query to possibly match it,
//! drawn from the query before it runs so that the store can skip traces
//! (by the partition search index) without evaluating them. A prefilter
//! is a superset test: it may let through traces the query then rejects,
//! never the reverse.

/// Where an attribute condition looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AttrScope {
    Resource,
    Span,
    /// Unscoped `.name`: the resource or the span.
    Any,
}

/// A typed attribute value as indexed.
#[derive(Clone, Debug, PartialEq)]
pub enum IndexedValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// A boolean tree of index conditions over one trace.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Prefilter {
    /// Every trace may match.
    #[default]
    All,
    /// Some span (or its resource) has the attribute with this value.
    Attr {
        scope: AttrScope,
        key: String,
        value: IndexedValue,
    },
    /// Some span has this name.
    SpanName(String),
    /// Some span's resource has this `service.name`.
    Service(String),
    /// Some span has this status code (0 unset, 1 ok, 2 error).
    Status(i32),
    /// Some span has this kind (OTLP numbering).
    Kind(i32),
    /// Some span lasts at least this long (ns).
    MinSpanDuration(u64),
    /// The trace (first start to last end) lasts at least this long (ns).
    MinTraceDuration(u64),
    /// The trace lasts at most this long (ns).
    MaxTraceDuration(u64),
    And(Vec<Prefilter>),
    Or(Vec<Prefilter>),
}

use crate::traceql::ast::{self, BinOp, Expr, Field, Intrinsic, SpansetOp, Stage, Static};

/// The prefilter of a parsed query.
pub fn from_query(q: &ast::Query) -> Prefilter {
    simplify(from_expr(&q.expr))
}

fn from_expr(e: &Expr) -> Prefilter {
    match e {
        Expr::Filter(None) => Prefilter::All,
        Expr::Filter(Some(f)) => from_field(f),
        Expr::SpansetOp { op, lhs, rhs } => {
            let (l, r) = (from_expr(lhs), from_expr(rhs));
            match op {
                // Both sides must have matching spans.
                SpansetOp::And
                | SpansetOp::Child
                | SpansetOp::Parent
                | SpansetOp::Descendant
                | SpansetOp::Ancestor
                | SpansetOp::Sibling
                | SpansetOp::UnionChild
                | SpansetOp::UnionParent
                | SpansetOp::UnionDescendant
                | SpansetOp::UnionAncestor
                | SpansetOp::UnionSibling => Prefilter::And(vec![l, r]),
                // The result comes from one side or the other.
                SpansetOp::Union
                | SpansetOp::NotChild
                | SpansetOp::NotParent
                | SpansetOp::NotDescendant
                | SpansetOp::NotAncestor
                | SpansetOp::NotSibling => Prefilter::Or(vec![l, r]),
            }
        }
        // Every spanset stage narrows the spans of the one before.
        Expr::Pipeline(stages) => Prefilter::And(
            stages
                .iter()
                .filter_map(|s| match s {
                    Stage::Spanset(e) => Some(from_expr(e)),
                    _ => None,
                })
                .collect(),
        ),
        Expr::ScalarFilter(_) => Prefilter::All,
    }
}

/// What a span condition needs from the trace.
fn from_field(f: &Field) -> Prefilter {
    match f {
        Field::Binary {
            op: BinOp::And,
            lhs,
            rhs,
        } => Prefilter::And(vec![from_field(lhs), from_field(rhs)]),
        Field::Binary {
            op: BinOp::Or,
            lhs,
            rhs,
        } => Prefilter::Or(vec![from_field(lhs), from_field(rhs)]),
        Field::Binary { op, lhs, rhs } => match (&**lhs, &**rhs) {
            (field, Field::Static(v)) => comparison(*op, field, v),
            (Field::Static(v), field) => match flip(*op) {
                Some(op) => comparison(op, field, v),
                None => Prefilter::All,
            },
            _ => Prefilter::All,
        },
        _ => Prefilter::All,
    }
}

/// `a op b` as `b op' a`.
fn flip(op: BinOp) -> Option<BinOp> {
    Some(match op {
        BinOp::Eq => BinOp::Eq,
        BinOp::Lt => BinOp::Gt,
        BinOp::Lte => BinOp::Gte,
        BinOp::Gt => BinOp::Lt,
        BinOp::Gte => BinOp::Lte,
        _ => return None,
    })
}

fn comparison(op: BinOp, field: &Field, v: &Static) -> Prefilter {
    match (field, op, v) {
        (Field::Attribute(a), BinOp::Eq, v) if !a.parent => {
            let scope = match a.scope {
                ast::Scope::None => AttrScope::Any,
                ast::Scope::Span => AttrScope::Span,
                ast::Scope::Resource => AttrScope::Resource,
                _ => return Prefilter::All,
            };
            let value = match v {
                Static::Str(s) => IndexedValue::Str(s.clone()),
                Static::Int(i) => IndexedValue::Int(*i),
                Static::Float(x) => IndexedValue::Float(*x),
                Static::Bool(b) => IndexedValue::Bool(*b),
                _ => return Prefilter::All,
            };
            Prefilter::Attr {
                scope,
                key: a.name.clone(),
                value,
            }
        }
        (Field::Intrinsic(Intrinsic::Name | Intrinsic::RootName), BinOp::Eq, Static::Str(s)) => {
            Prefilter::SpanName(s.clone())
        }
        (Field::Intrinsic(Intrinsic::RootServiceName), BinOp::Eq, Static::Str(s)) => {
            Prefilter::Service(s.clone())
        }
        (Field::Intrinsic(Intrinsic::Status), BinOp::Eq, Static::Status(st)) => {
            Prefilter::Status(match st {
                ast::Status::Unset => 0,
                ast::Status::Ok => 1,
                ast::Status::Error => 2,
            })
        }
        (Field::Intrinsic(Intrinsic::Kind), BinOp::Eq, Static::Kind(k)) => {
            Prefilter::Kind(match k {
                ast::Kind::Unspecified => 0,
                ast::Kind::Internal => 1,
                ast::Kind::Server => 2,
                ast::Kind::Client => 3,
                ast::Kind::Producer => 4,
                ast::Kind::Consumer => 5,
            })
        }
        (Field::Intrinsic(Intrinsic::Duration), BinOp::Gt | BinOp::Gte, Static::Duration(d)) => {
            Prefilter::MinSpanDuration((*d).max(0) as u64)
        }
        (
            Field::Intrinsic(Intrinsic::TraceDuration),
            BinOp::Gt | BinOp::Gte,
            Static::Duration(d),
        ) => Prefilter::MinTraceDuration((*d).max(0) as u64),
        (
            Field::Intrinsic(Intrinsic::TraceDuration),
            BinOp::Lt | BinOp::Lte,
            Static::Duration(d),
        ) if *d >= 0 => Prefilter::MaxTraceDuration(*d as u64),
        _ => Prefilter::All,
    }
}

/// Removes `All` from conjunctions, turns disjunctions with an `All` into
/// `All`, and unwraps single-member lists.
fn simplify(p: Prefilter) -> Prefilter {
    match p {
        Prefilter::And(xs) => {
            let mut xs: Vec<Prefilter> = xs
                .into_iter()
                .map(simplify)
                .filter(|x| *x != Prefilter::All)
                .collect();
            match xs.len() {
                0 => Prefilter::All,
                1 => xs.remove(0),
                _ => Prefilter::And(xs),
            }
        }
        Prefilter::Or(xs) => {
            let mut xs: Vec<Prefilter> = xs.into_iter().map(simplify).collect();
            if xs.is_empty() || xs.contains(&Prefilter::All) {
                Prefilter::All
            } else if xs.len() == 1 {
                xs.remove(0)
            } else {
                Prefilter::Or(xs)
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pf(q: &str) -> Prefilter {
        from_query(&crate::traceql::parse(q).unwrap())
    }

    fn attr(scope: AttrScope, key: &str, value: IndexedValue) -> Prefilter {
        Prefilter::Attr {
            scope,
            key: key.into(),
            value,
        }
    }

    #[test]
    fn conditions_every_match_needs_are_drawn_out() {
        assert_eq!(pf("{}"), Prefilter::All);
        assert_eq!(
            pf(r#"{ resource.service.name = "wp-k8s-service" }"#),
            attr(
                AttrScope::Resource,
                "service.name",
                IndexedValue::Str("wp-k8s-service".into())
            )
        );
        assert_eq!(
            pf(r#"{ span.http.status_code = 500 && name = "POST /clone" }"#),
            Prefilter::And(vec![
                attr(AttrScope::Span, "http.status_code", IndexedValue::Int(500)),
                Prefilter::SpanName("POST /clone".into())
            ])
        );
        assert_eq!(
            pf(r#"{ .ns = "a" || status = error }"#),
            Prefilter::Or(vec![
                attr(AttrScope::Any, "ns", IndexedValue::Str("a".into())),
                Prefilter::Status(2)
            ])
        );
        // One side unknown: the disjunction lets everything through.
        assert_eq!(pf(r#"{ .ns = "a" || span.x > 3 }"#), Prefilter::All);
        assert_eq!(
            pf("{ duration > 2s }"),
            Prefilter::MinSpanDuration(2_000_000_000)
        );
        assert_eq!(
            pf("{ 2s < duration }"),
            Prefilter::MinSpanDuration(2_000_000_000)
        );
        assert_eq!(pf("{ duration < 2s }"), Prefilter::All);
        assert_eq!(
            pf("{ traceDuration <= 1s }"),
            Prefilter::MaxTraceDuration(1_000_000_000)
        );
        assert_eq!(pf("{ kind = client }"), Prefilter::Kind(3));
        assert_eq!(
            pf(r#"{ rootServiceName = "x" }"#),
            Prefilter::Service("x".into())
        );
        assert_eq!(
            pf(r#"{ name = "a" } >> { name = "b" }"#),
            Prefilter::And(vec![
                Prefilter::SpanName("a".into()),
                Prefilter::SpanName("b".into())
            ])
        );
        assert_eq!(
            pf(r#"{ name = "a" } !> { name = "b" }"#),
            Prefilter::Or(vec![
                Prefilter::SpanName("a".into()),
                Prefilter::SpanName("b".into())
            ])
        );
        assert_eq!(
            pf(r#"{ name = "a" } | count() > 2 | { status = error }"#),
            Prefilter::And(vec![Prefilter::SpanName("a".into()), Prefilter::Status(2)])
        );
        assert_eq!(pf(r#"{ !(name = "a") }"#), Prefilter::All);
        assert_eq!(pf(r#"{ name != "a" }"#), Prefilter::All);
        assert_eq!(pf(r#"{ parent.name = "a" }"#), Prefilter::All);
    }
}
