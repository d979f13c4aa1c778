//! Vector aggregations (`sum`, `avg`, `min`, `max`, `count`, `stddev`,
//! `stdvar`, `topk`, `bottomk`, `sort`, `sort_desc`) with `by` / `without`,
//! step by step as Loki evaluates them, over series-major values: grouping
//! is computed once per series.

use std::cmp::Ordering;
use std::collections::HashMap;

use super::range::{eval_range_grouped, sums_early};
use super::value::{Series, Value};
use super::{Ctx, QueryError};
use crate::logql::ast::{Grouping, SampleExpr, VectorAggregation, VectorOp};
use crate::model::labels::METRIC_NAME;
use crate::model::Labels;

/// The group labels of a series: `by` keeps the named labels, `without`
/// drops them (and the metric name); no grouping puts all in one group.
pub(crate) fn group_key(labels: &Labels, g: Option<&Grouping>) -> Labels {
    match g {
        None => Labels::empty(),
        Some(g) if g.without => {
            let mut drop = g.labels.clone();
            drop.push(METRIC_NAME.to_string());
            labels.drop_names(&drop)
        }
        Some(g) => labels.keep_only(&g.labels),
    }
}

pub(crate) fn eval_vector_agg(
    ctx: &mut Ctx<'_>,
    agg: &VectorAggregation,
) -> Result<Value, QueryError> {
    if let (VectorOp::Sum, SampleExpr::RangeAgg(r)) = (agg.op, agg.expr.as_ref()) {
        if sums_early(r.op) {
            let grouped = eval_range_grouped(ctx, r, Some(agg.grouping.as_ref()))?;
            return Ok(Value::Series(combine(agg, grouped, ctx.steps.len())));
        }
    }
    let input = match ctx.eval(&agg.expr)? {
        Value::Series(s) => s,
        Value::Scalar(_) => {
            return Err(QueryError::Bad(
                "vector aggregation expects a vector, got a scalar".into(),
            ))
        }
    };
    let steps = ctx.steps.len();
    let out = match agg.op {
        VectorOp::Topk | VectorOp::Bottomk | VectorOp::Sort | VectorOp::SortDesc => {
            select(agg, input, steps)
        }
        _ => combine(agg, input, steps),
    };
    Ok(Value::Series(out))
}

/// One group's running state at one step.
#[derive(Clone, Copy)]
struct Group {
    value: f64,
    mean: f64,
    count: u64,
}

fn combine(agg: &VectorAggregation, input: Vec<Series>, steps: usize) -> Vec<Series> {
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut groups: Vec<(Labels, Vec<Option<Group>>)> = Vec::new();
    for s in &input {
        let key = group_key(&s.labels, agg.grouping.as_ref());
        let gi = match index.get(&key) {
            Some(&i) => i,
            None => {
                groups.push((key.clone(), vec![None; steps]));
                index.insert(key, groups.len() - 1);
                groups.len() - 1
            }
        };
        let cells = &mut groups[gi].1;
        for &(k, v) in &s.points {
            let cell = &mut cells[k];
            match cell {
                None => {
                    *cell = Some(Group {
                        value: match agg.op {
                            VectorOp::Stddev | VectorOp::Stdvar => 0.0,
                            _ => v,
                        },
                        mean: v,
                        count: 1,
                    })
                }
                Some(g) => add(agg.op, g, v),
            }
        }
    }
    groups
        .into_iter()
        .map(|(labels, cells)| Series {
            labels,
            points: cells
                .into_iter()
                .enumerate()
                .filter_map(|(k, g)| g.map(|g| (k, result(agg.op, &g))))
                .collect(),
        })
        .filter(|s| !s.points.is_empty())
        .collect()
}

fn add(op: VectorOp, g: &mut Group, v: f64) {
    match op {
        VectorOp::Sum => g.value += v,
        VectorOp::Avg => {
            g.count += 1;
            g.mean += (v - g.mean) / g.count as f64;
        }
        VectorOp::Max => {
            if g.value < v || g.value.is_nan() {
                g.value = v;
            }
        }
        VectorOp::Min => {
            if g.value > v || g.value.is_nan() {
                g.value = v;
            }
        }
        VectorOp::Count => g.count += 1,
        VectorOp::Stddev | VectorOp::Stdvar => {
            g.count += 1;
            let delta = v - g.mean;
            g.mean += delta / g.count as f64;
            g.value += delta * (v - g.mean);
        }
        VectorOp::Topk | VectorOp::Bottomk | VectorOp::Sort | VectorOp::SortDesc => {}
    }
}

fn result(op: VectorOp, g: &Group) -> f64 {
    match op {
        VectorOp::Avg => g.mean,
        VectorOp::Count => g.count as f64,
        VectorOp::Stddev => (g.value / g.count as f64).sqrt(),
        VectorOp::Stdvar => g.value / g.count as f64,
        _ => g.value,
    }
}

/// Orders values high first (`desc`) or low first, NaN last either way.
pub(crate) fn by_value(a: f64, b: f64, desc: bool) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ if desc => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// `topk` / `bottomk` keep the `k` highest / lowest series of each group at
/// each step; `sort` / `sort_desc` keep all (the order only matters for an
/// instant result and is applied there). Series keep their own labels.
fn select(agg: &VectorAggregation, input: Vec<Series>, steps: usize) -> Vec<Series> {
    let k = match agg.op {
        VectorOp::Topk | VectorOp::Bottomk => {
            let k = agg.param.unwrap_or(0.0);
            if k.is_nan() || k < 1.0 {
                return Vec::new();
            }
            k as usize
        }
        _ => return input,
    };
    let desc = agg.op == VectorOp::Topk;
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let group_of: Vec<usize> = input
        .iter()
        .map(|s| {
            let key = group_key(&s.labels, agg.grouping.as_ref());
            let n = index.len();
            *index.entry(key).or_insert(n)
        })
        .collect();
    // Per step: (group, series, value).
    let mut per_step: Vec<Vec<(usize, usize, f64)>> = vec![Vec::new(); steps];
    for (si, s) in input.iter().enumerate() {
        for &(k, v) in &s.points {
            per_step[k].push((group_of[si], si, v));
        }
    }
    let mut keep: Vec<Vec<(usize, f64)>> = vec![Vec::new(); input.len()];
    for (step, mut cands) in per_step.into_iter().enumerate() {
        cands.sort_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| by_value(a.2, b.2, desc))
                .then_with(|| input[a.1].labels.cmp(&input[b.1].labels))
        });
        let mut taken = 0;
        let mut group = usize::MAX;
        for (g, si, v) in cands {
            if g != group {
                group = g;
                taken = 0;
            }
            if taken < k {
                keep[si].push((step, v));
                taken += 1;
            }
        }
    }
    input
        .into_iter()
        .zip(keep)
        .filter(|(_, pts)| !pts.is_empty())
        .map(|(s, points)| Series {
            labels: s.labels,
            points,
        })
        .collect()
}
