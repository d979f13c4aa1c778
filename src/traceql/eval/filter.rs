//! Spanset filters `{ cond }`: evaluating a compiled field expression on a
//! span, and deciding whether the span matches. A condition that reads
//! event (link) fields matches when it holds for one of the span's events
//! (links).

use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};

use super::compile::{anchored, CField, CFilter};
use super::field::{attribute, intrinsic, SpanCtx};
use super::value::{arith, compare_op, element, negate, V};
use crate::traceql::ast::{BinOp, UnaryOp};
use crate::traceql::data::TraceData;

/// The value of `f` on the span in `ctx`.
pub(crate) fn eval<'t>(f: &'t CField, ctx: &SpanCtx<'t>) -> V<'t> {
    match f {
        CField::Static(v) => v.borrowed(),
        CField::Intrinsic(i) => intrinsic(ctx, *i),
        CField::Attr(a) => attribute(ctx, a),
        CField::Regex { negate, lhs, re } => match eval(lhs, ctx) {
            V::Str(s) => V::Bool(re.is_match(&s) != *negate),
            V::Arr(items) => {
                let any = items
                    .iter()
                    .any(|e| matches!(element(e), V::Str(s) if re.is_match(&s)));
                V::Bool(any != *negate)
            }
            _ => V::Bool(false),
        },
        CField::Unary { op, arg } => {
            let v = eval(arg, ctx);
            match (op, v) {
                (UnaryOp::Not, V::Bool(b)) => V::Bool(!b),
                (UnaryOp::Not, _) => V::Nil,
                (UnaryOp::Neg, v) => negate(&v),
            }
        }
        CField::Binary { op, lhs, rhs } => binary(*op, lhs, rhs, ctx),
        CField::NilTest { exists, arg } => V::Bool((eval(arg, ctx) != V::Nil) == *exists),
    }
}

fn binary<'t>(op: BinOp, lhs: &'t CField, rhs: &'t CField, ctx: &SpanCtx<'t>) -> V<'t> {
    match op {
        BinOp::And => {
            // Short circuit: a false left side decides.
            if !eval(lhs, ctx).is_true() {
                return V::Bool(false);
            }
            V::Bool(eval(rhs, ctx).is_true())
        }
        BinOp::Or => {
            if eval(lhs, ctx).is_true() {
                return V::Bool(true);
            }
            V::Bool(eval(rhs, ctx).is_true())
        }
        BinOp::Eq | BinOp::Neq | BinOp::Lt | BinOp::Lte | BinOp::Gt | BinOp::Gte => {
            V::Bool(compare_op(op, &eval(lhs, ctx), &eval(rhs, ctx)))
        }
        BinOp::Re | BinOp::NotRe => {
            // A pattern that is not a literal: compiled per use (rare).
            let (V::Str(s), V::Str(p)) = (eval(lhs, ctx), eval(rhs, ctx)) else {
                return V::Bool(false);
            };
            match anchored(&p) {
                Ok(re) => V::Bool(re.is_match(&s) != (op == BinOp::NotRe)),
                Err(_) => V::Bool(false),
            }
        }
        _ => arith(op, &eval(lhs, ctx), &eval(rhs, ctx)),
    }
}

/// Whether span `idx` matches the filter. A span without events (links)
/// is tested once with no event (link): event fields are then `nil`.
pub(crate) fn matches<'t>(f: &'t CFilter, trace: &'t TraceData<'t>, idx: usize) -> bool {
    let base = SpanCtx::new(trace, idx);
    if !f.events && !f.links {
        return eval(&f.cond, &base).is_true();
    }
    let span = trace.spans[idx].span;
    let events: Vec<Option<&Event>> = if f.events && !span.events.is_empty() {
        span.events.iter().map(Some).collect()
    } else {
        vec![None]
    };
    let links: Vec<Option<&Link>> = if f.links && !span.links.is_empty() {
        span.links.iter().map(Some).collect()
    } else {
        vec![None]
    };
    events.iter().any(|&event| {
        links.iter().any(|&link| {
            let ctx = SpanCtx {
                event,
                link,
                ..base
            };
            eval(&f.cond, &ctx).is_true()
        })
    })
}
