//! Spanset expressions over a list of input spansets, as Tempo evaluates
//! them: each input spanset is filtered on its own; `{a} && {b}` keeps the
//! spans of both sides when both matched, `||` when either did, and the
//! structural operators join the two sides within the trace. Results keep
//! the input spanset's attributes and `select()` values.

use super::compile::CExpr;
use super::filter::matches;
use super::pipeline::{run_pipeline, scalar_filter};
use super::structural::join;
use super::Spanset;
use crate::traceql::ast::SpansetOp;
use crate::traceql::data::TraceData;

/// The spansets `e` yields from `input`.
pub(crate) fn eval_expr<'t>(
    e: &'t CExpr,
    trace: &'t TraceData<'t>,
    input: &[Spanset],
) -> Vec<Spanset> {
    match e {
        CExpr::Filter(None) => input
            .iter()
            .filter(|s| !s.spans.is_empty())
            .cloned()
            .collect(),
        CExpr::Filter(Some(f)) => input
            .iter()
            .filter_map(|ss| {
                let keep: Vec<bool> = ss.spans.iter().map(|&i| matches(f, trace, i)).collect();
                restrict_by(ss, &keep)
            })
            .collect(),
        CExpr::Op { op, lhs, rhs } => input
            .iter()
            .filter_map(|ss| spanset_op(*op, lhs, rhs, trace, ss))
            .collect(),
        CExpr::Pipeline(stages) => run_pipeline(stages, trace, input.to_vec()),
        CExpr::ScalarFilter(sf) => input
            .iter()
            .filter_map(|ss| scalar_filter(sf, trace, ss))
            .collect(),
    }
}

fn spanset_op<'t>(
    op: SpansetOp,
    lhs: &'t CExpr,
    rhs: &'t CExpr,
    trace: &'t TraceData<'t>,
    ss: &Spanset,
) -> Option<Spanset> {
    let one = std::slice::from_ref(ss);
    let l = eval_expr(lhs, trace, one);
    if op == SpansetOp::And && l.is_empty() {
        return None;
    }
    let r = eval_expr(rhs, trace, one);
    // As in Tempo, a structural operator (negated forms included) yields
    // nothing unless both sides matched.
    if op != SpansetOp::Union && (l.is_empty() || r.is_empty()) {
        return None;
    }
    let n = trace.spans.len();
    let lm = mask(n, &l);
    let rm = mask(n, &r);
    let out = match op {
        SpansetOp::And | SpansetOp::Union => lm.iter().zip(&rm).map(|(a, b)| *a || *b).collect(),
        _ => join(trace, op, &lm, &rm)?,
    };
    restrict_to(ss, &out)
}

/// Membership mask of the spans of `sets`.
pub(crate) fn mask(n: usize, sets: &[Spanset]) -> Vec<bool> {
    let mut m = vec![false; n];
    for s in sets {
        for &i in &s.spans {
            if let Some(x) = m.get_mut(i) {
                *x = true;
            }
        }
    }
    m
}

/// `ss` keeping the spans whose `keep` entry (parallel to `ss.spans`) is
/// set; `None` when none is.
pub(crate) fn restrict_by(ss: &Spanset, keep: &[bool]) -> Option<Spanset> {
    if !keep.iter().any(|k| *k) {
        return None;
    }
    let mut out = Spanset {
        spans: Vec::new(),
        attributes: ss.attributes.clone(),
        selected: Vec::new(),
    };
    for (j, &i) in ss.spans.iter().enumerate() {
        if keep[j] {
            out.spans.push(i);
            out.selected
                .push(ss.selected.get(j).cloned().unwrap_or_default());
        }
    }
    Some(out)
}

/// `ss` keeping the spans set in the trace-wide mask `m`.
pub(crate) fn restrict_to(ss: &Spanset, m: &[bool]) -> Option<Spanset> {
    let keep: Vec<bool> = ss
        .spans
        .iter()
        .map(|&i| m.get(i).copied().unwrap_or(false))
        .collect();
    restrict_by(ss, &keep)
}
