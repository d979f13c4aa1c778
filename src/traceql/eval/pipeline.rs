//! Pipelines `a | b | c`: each stage maps the list of spansets to a new
//! one. Spanset stages filter each spanset, `by()` splits them by a value,
//! `select()` attaches per-span values, `coalesce()` merges them, scalar
//! filters (`count() > 2`, `avg(duration) > 1s`,
//! `({a} | count()) > ({b} | count())`) keep the spansets they hold for.

use super::compile::{CAggregate, CScalar, CScalarFilter, CStage};
use super::field::SpanCtx;
use super::filter::eval;
use super::spanset_ops::{eval_expr, mask, restrict_to};
use super::value::{arith, compare_op, V};
use super::{Spanset, Value};
use crate::traceql::ast::AggregateOp;
use crate::traceql::data::TraceData;

/// Runs the stages over `input`.
pub(crate) fn run_pipeline<'t>(
    stages: &'t [CStage],
    trace: &'t TraceData<'t>,
    input: Vec<Spanset>,
) -> Vec<Spanset> {
    let mut cur = input;
    for stage in stages {
        if cur.is_empty() {
            break;
        }
        cur = run_stage(stage, trace, cur);
    }
    cur
}

fn run_stage<'t>(stage: &'t CStage, trace: &'t TraceData<'t>, input: Vec<Spanset>) -> Vec<Spanset> {
    match stage {
        CStage::Spanset(e) => eval_expr(e, trace, &input),
        CStage::ScalarFilter(sf) => input
            .iter()
            .filter_map(|ss| scalar_filter(sf, trace, ss))
            .collect(),
        CStage::By { field, name } => input
            .iter()
            .flat_map(|ss| group_by(field, name, trace, ss))
            .collect(),
        CStage::Select(fields) => input
            .into_iter()
            .map(|mut ss| {
                ss.selected.resize(ss.spans.len(), Vec::new());
                for (j, &i) in ss.spans.iter().enumerate() {
                    let ctx = SpanCtx::new(trace, i);
                    for (name, f) in fields {
                        let v = eval(f, &ctx);
                        if v != V::Nil && !ss.selected[j].iter().any(|(n, _)| n == name) {
                            ss.selected[j].push((name.clone(), v.to_value()));
                        }
                    }
                }
                ss
            })
            .collect(),
        CStage::Coalesce => coalesce(trace.spans.len(), input),
        CStage::Aggregate(a) => input
            .into_iter()
            .map(|mut ss| {
                let v = aggregate(a, trace, &ss.spans).to_value();
                set_attr(&mut ss.attributes, &a.name, v);
                ss
            })
            .collect(),
    }
}

fn set_attr(attrs: &mut Vec<(String, Value)>, name: &str, v: Value) {
    match attrs.iter_mut().find(|(n, _)| n == name) {
        Some(slot) => slot.1 = v,
        None => attrs.push((name.to_string(), v)),
    }
}

/// Splits `ss` by the value of `field` on each span (groups in order of
/// first appearance; spans without the value form their own `nil` group).
fn group_by<'t>(
    field: &'t super::compile::CField,
    name: &str,
    trace: &'t TraceData<'t>,
    ss: &Spanset,
) -> Vec<Spanset> {
    let mut groups: Vec<(V<'t>, Vec<usize>)> = Vec::new();
    for (j, &i) in ss.spans.iter().enumerate() {
        let v = eval(field, &SpanCtx::new(trace, i));
        match groups.iter_mut().find(|(k, _)| *k == v) {
            Some((_, members)) => members.push(j),
            None => groups.push((v, vec![j])),
        }
    }
    groups
        .into_iter()
        .map(|(key, members)| {
            let mut attributes = ss.attributes.clone();
            set_attr(&mut attributes, name, key.to_value());
            Spanset {
                spans: members.iter().map(|&j| ss.spans[j]).collect(),
                attributes,
                selected: members
                    .iter()
                    .map(|&j| ss.selected.get(j).cloned().unwrap_or_default())
                    .collect(),
            }
        })
        .collect()
}

/// All spansets merged into one (spans in trace order, `select()` values
/// merged, spanset attributes dropped).
fn coalesce(n: usize, input: Vec<Spanset>) -> Vec<Spanset> {
    let mut selected: Vec<Option<Vec<(String, Value)>>> = vec![None; n];
    for ss in input {
        for (j, i) in ss.spans.into_iter().enumerate() {
            let Some(slot) = selected.get_mut(i) else {
                continue;
            };
            let sel = slot.get_or_insert_with(Vec::new);
            for (k, v) in ss.selected.get(j).cloned().unwrap_or_default() {
                if !sel.iter().any(|(n, _)| *n == k) {
                    sel.push((k, v));
                }
            }
        }
    }
    let mut out = Spanset {
        spans: Vec::new(),
        attributes: Vec::new(),
        selected: Vec::new(),
    };
    for (i, s) in selected.into_iter().enumerate() {
        if let Some(s) = s {
            out.spans.push(i);
            out.selected.push(s);
        }
    }
    if out.spans.is_empty() {
        Vec::new()
    } else {
        vec![out]
    }
}

/// The value of an aggregate over `spans` (`nil` when no span has a
/// numeric value; `count()` of nothing is 0).
pub(crate) fn aggregate<'t>(a: &'t CAggregate, trace: &'t TraceData<'t>, spans: &[usize]) -> V<'t> {
    let Some(arg) = &a.arg else {
        return V::Int(spans.len() as i64);
    };
    if a.op == AggregateOp::Count {
        return V::Int(spans.len() as i64);
    }
    let mut acc: Option<V<'t>> = None;
    let mut n = 0i64;
    for &i in spans {
        let v = eval(arg, &SpanCtx::new(trace, i));
        if !matches!(v, V::Int(_) | V::Float(_) | V::Dur(_)) {
            continue;
        }
        n += 1;
        acc = Some(match acc {
            None => v,
            Some(prev) => match a.op {
                AggregateOp::Min => {
                    if compare_op(crate::traceql::ast::BinOp::Lt, &v, &prev) {
                        v
                    } else {
                        prev
                    }
                }
                AggregateOp::Max => {
                    if compare_op(crate::traceql::ast::BinOp::Gt, &v, &prev) {
                        v
                    } else {
                        prev
                    }
                }
                _ => sum(&prev, &v),
            },
        });
    }
    let Some(total) = acc else {
        return V::Nil;
    };
    if a.op != AggregateOp::Avg {
        return total;
    }
    match total {
        V::Dur(d) => V::Dur(d / n),
        V::Int(i) => V::Float(i as f64 / n as f64),
        V::Float(f) => V::Float(f / n as f64),
        _ => V::Nil,
    }
}

/// Sum of two aggregate inputs: ints stay ints, durations stay durations,
/// ints and floats mix to floats.
fn sum(a: &V<'_>, b: &V<'_>) -> V<'static> {
    match (a, b) {
        (V::Int(x), V::Int(y)) => V::Int(x.wrapping_add(*y)),
        (V::Dur(x), V::Dur(y)) => V::Dur(x.wrapping_add(*y)),
        _ => arith(crate::traceql::ast::BinOp::Add, a, b),
    }
}

/// A scalar's value on one spanset, with the spans of any sub-pipeline
/// and the aggregate attributes to attach.
struct ScalarOut<'t> {
    value: V<'t>,
    /// Spans a `( pipeline | aggregate )` side selected (`None`: none).
    spans: Option<Vec<bool>>,
    attrs: Vec<(String, Value)>,
}

fn scalar<'t>(s: &'t CScalar, trace: &'t TraceData<'t>, ss: &Spanset) -> ScalarOut<'t> {
    match s {
        CScalar::Static(v) => ScalarOut {
            value: v.borrowed(),
            spans: None,
            attrs: Vec::new(),
        },
        CScalar::Aggregate(a) => {
            let value = aggregate(a, trace, &ss.spans);
            ScalarOut {
                attrs: vec![(a.name.clone(), value.to_value())],
                value,
                spans: None,
            }
        }
        CScalar::Binary { op, lhs, rhs } => {
            let l = scalar(lhs, trace, ss);
            let r = scalar(rhs, trace, ss);
            ScalarOut {
                value: arith(*op, &l.value, &r.value),
                spans: union_masks(l.spans, r.spans),
                attrs: Vec::new(),
            }
        }
        CScalar::Pipeline(stages) => {
            let (last, head) = match stages.split_last() {
                Some((CStage::Aggregate(a), head)) => (a, head),
                _ => {
                    return ScalarOut {
                        value: V::Nil,
                        spans: None,
                        attrs: Vec::new(),
                    }
                }
            };
            let out = run_pipeline(head, trace, vec![ss.clone()]);
            let m = mask(trace.spans.len(), &out);
            let spans: Vec<usize> = (0..m.len()).filter(|&i| m[i]).collect();
            ScalarOut {
                value: aggregate(last, trace, &spans),
                spans: Some(m),
                attrs: Vec::new(),
            }
        }
    }
}

fn union_masks(a: Option<Vec<bool>>, b: Option<Vec<bool>>) -> Option<Vec<bool>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.iter().zip(&y).map(|(p, q)| *p || *q).collect()),
        (x, None) => x,
        (None, y) => y,
    }
}

/// `ss` if the scalar comparison holds on it (restricted to the spans the
/// sub-pipelines selected, when there are any), with the aggregates'
/// values as attributes.
pub(crate) fn scalar_filter<'t>(
    sf: &'t CScalarFilter,
    trace: &'t TraceData<'t>,
    ss: &Spanset,
) -> Option<Spanset> {
    let l = scalar(&sf.lhs, trace, ss);
    let r = scalar(&sf.rhs, trace, ss);
    if !compare_op(sf.op, &l.value, &r.value) {
        return None;
    }
    let mut out = match union_masks(l.spans, r.spans) {
        Some(m) => restrict_to(ss, &m)?,
        None => ss.clone(),
    };
    for (k, v) in l.attrs.into_iter().chain(r.attrs) {
        set_attr(&mut out.attributes, &k, v);
    }
    Some(out)
}
