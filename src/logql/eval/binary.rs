//! Binary operators: arithmetic (`+ - * / % ^`), comparisons (filtering, or
//! 0/1 with `bool`) and the set operators `and`, `or`, `unless`, between
//! literals and vectors, with PromQL's vector matching (`on`, `ignoring`,
//! `group_left`, `group_right`) as Loki implements it: division and modulo
//! by zero give NaN; a filtering comparison keeps the vector side's value.

use std::collections::HashMap;

use super::value::{Series, SeriesBuilder, Value};
use super::{Ctx, QueryError};
use crate::logql::ast::{BinaryExpr, BinaryOp, Cardinality, VectorMatching};
use crate::model::Labels;

fn is_comparison(op: BinaryOp) -> bool {
    matches!(
        op,
        BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Lt | BinaryOp::Le
    )
}

fn is_set(op: BinaryOp) -> bool {
    matches!(op, BinaryOp::And | BinaryOp::Or | BinaryOp::Unless)
}

/// `l op r` for arithmetic; 1/0 for comparisons.
pub(crate) fn apply(op: BinaryOp, l: f64, r: f64) -> f64 {
    let b = |c: bool| if c { 1.0 } else { 0.0 };
    match op {
        BinaryOp::Add => l + r,
        BinaryOp::Sub => l - r,
        BinaryOp::Mul => l * r,
        BinaryOp::Div if r == 0.0 => f64::NAN,
        BinaryOp::Div => l / r,
        BinaryOp::Mod if r == 0.0 => f64::NAN,
        BinaryOp::Mod => l % r,
        BinaryOp::Pow => l.powf(r),
        BinaryOp::Eq => b(l == r),
        BinaryOp::Ne => b(l != r),
        BinaryOp::Gt => b(l > r),
        BinaryOp::Ge => b(l >= r),
        BinaryOp::Lt => b(l < r),
        BinaryOp::Le => b(l <= r),
        BinaryOp::And | BinaryOp::Or | BinaryOp::Unless => f64::NAN,
    }
}

/// One element's result: `None` drops it (a failed filtering comparison).
/// `keep` is the value a passing filter returns.
fn element(op: BinaryOp, l: f64, r: f64, return_bool: bool, keep: f64) -> Option<f64> {
    let v = apply(op, l, r);
    if is_comparison(op) && !return_bool {
        return (v == 1.0).then_some(keep);
    }
    Some(v)
}

pub(crate) fn eval_binary(ctx: &mut Ctx<'_>, b: &BinaryExpr) -> Result<Value, QueryError> {
    let lhs = ctx.eval(&b.lhs)?;
    let rhs = ctx.eval(&b.rhs)?;
    ctx.check_deadline()?;
    match (lhs, rhs) {
        (Value::Scalar(l), Value::Scalar(r)) => {
            if is_set(b.op) {
                return Err(set_with_literal(b.op));
            }
            // Loki folds two literals; comparisons then give 1 or 0.
            Ok(Value::Scalar(apply(b.op, l, r)))
        }
        (Value::Series(l), Value::Scalar(r)) => {
            if is_set(b.op) {
                return Err(set_with_literal(b.op));
            }
            Ok(Value::Series(with_literal(b.op, l, r, true, b.return_bool)))
        }
        (Value::Scalar(l), Value::Series(r)) => {
            if is_set(b.op) {
                return Err(set_with_literal(b.op));
            }
            Ok(Value::Series(with_literal(
                b.op,
                r,
                l,
                false,
                b.return_bool,
            )))
        }
        (Value::Series(l), Value::Series(r)) => {
            let default = VectorMatching {
                on: false,
                labels: Vec::new(),
                card: Cardinality::OneToOne,
            };
            let m = b.matching.as_ref().unwrap_or(&default);
            let steps = ctx.steps.len();
            let out = if is_set(b.op) {
                set_op(b.op, m, l, r, steps)
            } else {
                vector_op(b.op, m, b.return_bool, l, r, steps)?
            };
            Ok(Value::Series(out))
        }
    }
}

fn set_with_literal(op: BinaryOp) -> QueryError {
    let name = match op {
        BinaryOp::And => "and",
        BinaryOp::Or => "or",
        _ => "unless",
    };
    QueryError::Bad(format!(
        "unexpected literal for leg of logical/set binary operation ({name})"
    ))
}

/// A vector against a literal: labels stay the vector's.
fn with_literal(op: BinaryOp, vec: Vec<Series>, lit: f64, vec_left: bool, rb: bool) -> Vec<Series> {
    vec.into_iter()
        .map(|s| Series {
            points: s
                .points
                .iter()
                .filter_map(|&(k, v)| {
                    let (l, r) = if vec_left { (v, lit) } else { (lit, v) };
                    element(op, l, r, rb, v).map(|x| (k, x))
                })
                .collect(),
            labels: s.labels,
        })
        .filter(|s| !s.points.is_empty())
        .collect()
}

/// The labels two series are matched on.
fn signature(labels: &Labels, m: &VectorMatching) -> Labels {
    if m.on {
        labels.keep_only(&m.labels)
    } else {
        labels.drop_names(&m.labels)
    }
}

/// Per signature, the steps at which a series with it has a point.
fn presence(
    series: &[Series],
    m: &VectorMatching,
    steps: usize,
) -> (Vec<Labels>, HashMap<Labels, Vec<bool>>) {
    let mut sigs = Vec::with_capacity(series.len());
    let mut map: HashMap<Labels, Vec<bool>> = HashMap::new();
    for s in series {
        let sig = signature(&s.labels, m);
        let cells = map.entry(sig.clone()).or_insert_with(|| vec![false; steps]);
        for &(k, _) in &s.points {
            cells[k] = true;
        }
        sigs.push(sig);
    }
    (sigs, map)
}

fn set_op(
    op: BinaryOp,
    m: &VectorMatching,
    lhs: Vec<Series>,
    rhs: Vec<Series>,
    steps: usize,
) -> Vec<Series> {
    match op {
        BinaryOp::And | BinaryOp::Unless => {
            let (_, right) = presence(&rhs, m, steps);
            let want = op == BinaryOp::And;
            lhs.into_iter()
                .map(|s| {
                    let there = right.get(&signature(&s.labels, m));
                    let points = s
                        .points
                        .into_iter()
                        .filter(|&(k, _)| there.is_some_and(|p| p[k]) == want)
                        .collect();
                    Series {
                        labels: s.labels,
                        points,
                    }
                })
                .filter(|s| !s.points.is_empty())
                .collect()
        }
        _ => {
            let (_, left) = presence(&lhs, m, steps);
            let mut b = SeriesBuilder::default();
            for s in &lhs {
                let i = b.series_for(&s.labels);
                for &(k, v) in &s.points {
                    b.push(i, k, v);
                }
            }
            for s in &rhs {
                let there = left.get(&signature(&s.labels, m));
                let i = b.series_for(&s.labels);
                for &(k, v) in &s.points {
                    if !there.is_some_and(|p| p[k]) {
                        b.push(i, k, v);
                    }
                }
            }
            b.finish().0
        }
    }
}

/// The result labels of a matched pair (`many` is the side whose labels
/// are kept; `one` gives the `group_x` extra labels).
fn result_labels(many: &Labels, one: &Labels, m: &VectorMatching) -> Labels {
    let (one_to_one, include) = match &m.card {
        Cardinality::OneToOne => (true, &[][..]),
        Cardinality::ManyToOne(inc) | Cardinality::OneToMany(inc) => (false, &inc[..]),
    };
    let mut out = if one_to_one {
        signature(many, m)
    } else {
        many.clone()
    };
    for name in include {
        out.set(name, one.get(name).unwrap_or(""));
    }
    out
}

fn vector_op(
    op: BinaryOp,
    m: &VectorMatching,
    return_bool: bool,
    lhs: Vec<Series>,
    rhs: Vec<Series>,
    steps: usize,
) -> Result<Vec<Series>, QueryError> {
    let swapped = matches!(m.card, Cardinality::OneToMany(_));
    let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    // The "one" side: per signature and step, the series there.
    let mut one_at: HashMap<Labels, Vec<Option<usize>>> = HashMap::new();
    for (i, s) in one.iter().enumerate() {
        let cells = one_at
            .entry(signature(&s.labels, m))
            .or_insert_with(|| vec![None; steps]);
        for &(k, _) in &s.points {
            if cells[k].is_some() {
                let side = if swapped { "left" } else { "right" };
                return Err(QueryError::Bad(format!(
                    "found duplicate series on the {side} hand-side;many-to-many matching not allowed: matching labels must be unique on one side"
                )));
            }
            cells[k] = Some(i);
        }
    }
    let one_value = |i: usize, k: usize| -> f64 {
        let pts = &one[i].points;
        match pts.binary_search_by_key(&k, |p| p.0) {
            Ok(j) => pts[j].1,
            Err(_) => f64::NAN,
        }
    };
    let one_to_one = m.card == Cardinality::OneToOne;
    let mut matched: HashMap<Labels, Vec<bool>> = HashMap::new();
    let mut out = SeriesBuilder::default();
    let mut label_cache: HashMap<(usize, usize), usize> = HashMap::new();
    for (mi, s) in many.iter().enumerate() {
        let sig = signature(&s.labels, m);
        let Some(cells) = one_at.get(&sig) else {
            continue;
        };
        for &(k, v) in &s.points {
            let Some(oi) = cells[k] else {
                continue;
            };
            if one_to_one {
                let used = matched
                    .entry(sig.clone())
                    .or_insert_with(|| vec![false; steps]);
                if used[k] {
                    return Err(QueryError::Bad(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)".into(),
                    ));
                }
                used[k] = true;
            }
            let ov = one_value(oi, k);
            let (l, r) = if swapped { (ov, v) } else { (v, ov) };
            let Some(x) = element(op, l, r, return_bool, l) else {
                continue;
            };
            let idx = match label_cache.get(&(mi, oi)) {
                Some(&i) => i,
                None => {
                    let labels = result_labels(&s.labels, &one[oi].labels, m);
                    let i = out.series_for(&labels);
                    label_cache.insert((mi, oi), i);
                    i
                }
            };
            out.push(idx, k, x);
        }
    }
    let (series, dup) = out.finish();
    if dup.is_some() {
        return Err(QueryError::Bad(
            "multiple matches for labels: grouping labels must ensure unique matches".into(),
        ));
    }
    Ok(series)
}
