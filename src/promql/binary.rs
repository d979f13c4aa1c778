//! Binary operators: arithmetic, comparison (with and without `bool`) and the
//! set operators, between scalars and instant vectors, with Prometheus'
//! vector matching (`on`, `ignoring`, `group_left`, `group_right`, `fill`).

use std::collections::{HashMap, HashSet};

use super::parser::{self as ast, BinModifier, BinaryExpr, Cardinality, Matching};

use crate::model::histogram::{CounterResetHint, HistogramError};
use crate::model::labels::METRIC_NAME;
use crate::model::{FloatHistogram, HistogramSample, Labels, Sample};

use super::eval::Evaluator;
use super::step::{
    merge_same_labelset, total_points, Evaluated, Grid, OutputBuilder, Point, StepCursor,
    StepSeries,
};
use super::util::{drop_metric_name, prom_labels_string};
use super::value::QueryError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Atan2,
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    And,
    Or,
    Unless,
}

impl BinOp {
    /// The float operator of a syntax-tree operator (`None` for the
    /// histogram-only trim operators).
    fn from_ast(op: ast::BinOp) -> Option<BinOp> {
        Some(match op {
            ast::BinOp::Add => BinOp::Add,
            ast::BinOp::Sub => BinOp::Sub,
            ast::BinOp::Mul => BinOp::Mul,
            ast::BinOp::Div => BinOp::Div,
            ast::BinOp::Mod => BinOp::Mod,
            ast::BinOp::Pow => BinOp::Pow,
            ast::BinOp::Atan2 => BinOp::Atan2,
            ast::BinOp::Eql => BinOp::Eq,
            ast::BinOp::Neq => BinOp::Ne,
            ast::BinOp::Gtr => BinOp::Gt,
            ast::BinOp::Lss => BinOp::Lt,
            ast::BinOp::Gte => BinOp::Ge,
            ast::BinOp::Lte => BinOp::Le,
            ast::BinOp::And => BinOp::And,
            ast::BinOp::Or => BinOp::Or,
            ast::BinOp::Unless => BinOp::Unless,
            ast::BinOp::TrimUpper | ast::BinOp::TrimLower => return None,
        })
    }

    fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Lt | BinOp::Ge | BinOp::Le
        )
    }

    fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }

    /// Arithmetic results have a different meaning than their inputs, so the
    /// metric name is dropped.
    fn changes_metric(self) -> bool {
        !self.is_comparison() && !self.is_set()
    }
}

/// Arithmetic on two floats.
pub(crate) fn arith(op: BinOp, l: f64, r: f64) -> f64 {
    match op {
        BinOp::Add => l + r,
        BinOp::Sub => l - r,
        BinOp::Mul => l * r,
        BinOp::Div => l / r,
        BinOp::Mod => l % r,
        BinOp::Pow => l.powf(r),
        BinOp::Atan2 => l.atan2(r),
        _ => f64::NAN,
    }
}

/// A comparison of two floats (NaN compares false, except `!=`).
pub(crate) fn compare(op: BinOp, l: f64, r: f64) -> bool {
    match op {
        BinOp::Eq => l == r,
        BinOp::Ne => l != r,
        BinOp::Gt => l > r,
        BinOp::Lt => l < r,
        BinOp::Ge => l >= r,
        BinOp::Le => l <= r,
        _ => false,
    }
}

/// The value of one result element.
enum Out {
    F(f64),
    H(FloatHistogram),
}

impl BinOp {
    fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Atan2 => "atan2",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Gt => ">",
            BinOp::Lt => "<",
            BinOp::Ge => ">=",
            BinOp::Le => "<=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Unless => "unless",
        }
    }
}

/// Applies an operator to one pair of elements, floats or histograms, as
/// Prometheus' `vectorElemBinop` does: `None` drops the element (a
/// comparison without `bool` that is false, or operand types the operator
/// does not combine, which adds an info annotation). `keep_left` is the
/// value a filtering comparison keeps. Annotations point at `pos`.
#[allow(clippy::too_many_arguments)]
fn elem(
    ev: &mut Evaluator<'_>,
    op: BinOp,
    l: Point<'_>,
    r: Point<'_>,
    return_bool: bool,
    vector_on_right: bool,
    pos: usize,
) -> Option<Out> {
    let kind = |p: &Point<'_>| match p {
        Point::F(_) => "float",
        Point::H(_) => "histogram",
    };
    let incompatible = |ev: &mut Evaluator<'_>| {
        ev.note_pos = pos;
        ev.info(format!(
            "incompatible sample types encountered for binary operator {:?}: {} {} {}",
            op.symbol(),
            kind(&l),
            op.symbol(),
            kind(&r)
        ));
        None
    };
    let bool_of = |keep: bool| Some(Out::F(if keep { 1.0 } else { 0.0 }));
    match (l, r) {
        (Point::F(a), Point::F(b)) => {
            let (mut v, keep) = apply(op, a, b, return_bool);
            if !keep {
                return None;
            }
            if op.is_comparison() && !return_bool && vector_on_right {
                v = b;
            }
            Some(Out::F(v))
        }
        (Point::F(a), Point::H(h)) => match op {
            BinOp::Mul => {
                let mut h = h.clone();
                h.mul(a);
                h.compact(0);
                Some(Out::H(h))
            }
            _ => incompatible(ev),
        },
        (Point::H(h), Point::F(b)) => match op {
            BinOp::Mul | BinOp::Div => {
                let mut h = h.clone();
                if op == BinOp::Mul {
                    h.mul(b);
                } else {
                    h.div(b);
                }
                h.compact(0);
                Some(Out::H(h))
            }
            _ => incompatible(ev),
        },
        (Point::H(a), Point::H(b)) => match op {
            BinOp::Add | BinOp::Sub => {
                let mut res = a.clone();
                let outcome = if op == BinOp::Add {
                    res.add(b)
                } else {
                    res.sub(b)
                };
                let what = if op == BinOp::Add {
                    "addition"
                } else {
                    "subtraction"
                };
                ev.note_pos = pos;
                match outcome {
                    Ok(o) => {
                        if o.counter_reset_collision {
                            ev.warn(format!(
                                "conflicting counter resets during histogram {what}"
                            ));
                        }
                        if o.nhcb_bounds_reconciled {
                            ev.info(format!(
                                "mismatched custom buckets were reconciled during {what}"
                            ));
                        }
                        if op == BinOp::Sub {
                            res.counter_reset_hint = CounterResetHint::Gauge;
                        }
                        res.compact(0);
                        Some(Out::H(res))
                    }
                    Err(HistogramError::IncompatibleSchema) => {
                        ev.warn(
                            "vector contains a mix of histograms with exponential and custom buckets schemas for metric name \"\"".into(),
                        );
                        None
                    }
                    Err(HistogramError::IncompatibleBounds) => {
                        ev.warn(
                            "vector contains histograms with incompatible custom buckets for metric name \"\"".into(),
                        );
                        None
                    }
                    Err(_) => None,
                }
            }
            BinOp::Eq | BinOp::Ne => {
                let keep = a.equals(b) == (op == BinOp::Eq);
                if return_bool {
                    bool_of(keep)
                } else if keep {
                    Some(Out::H(a.clone()))
                } else {
                    None
                }
            }
            _ => incompatible(ev),
        },
    }
}

/// Result of applying an operator to one pair of floats: the value, and
/// whether the element is kept (comparisons without `bool` filter).
fn apply(op: BinOp, l: f64, r: f64, return_bool: bool) -> (f64, bool) {
    if op.is_comparison() {
        let keep = compare(op, l, r);
        if return_bool {
            (if keep { 1.0 } else { 0.0 }, true)
        } else {
            (l, keep)
        }
    } else {
        (arith(op, l, r), true)
    }
}

pub(crate) fn eval(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    e: &BinaryExpr,
) -> Result<Evaluated, QueryError> {
    let Some(op) = BinOp::from_ast(e.op) else {
        return trim_floats(ev, grid, e);
    };
    let modifier = &e.modifier;
    let return_bool = modifier.return_bool;
    let lhs = ev.eval(grid, &e.lhs)?;
    let rhs = ev.eval(grid, &e.rhs)?;
    let held = lhs.points() + rhs.points();
    let out = match (lhs, rhs) {
        (Evaluated::Scalar(l), Evaluated::Scalar(r)) => {
            let v: Vec<f64> = l
                .iter()
                .zip(r.iter())
                .map(|(&a, &b)| apply(op, a, b, true).0)
                .collect();
            ev.limits.hold(v.len())?;
            Evaluated::Scalar(v)
        }
        (Evaluated::Vector(v), Evaluated::Scalar(s)) => Evaluated::Vector(vector_scalar(
            ev,
            grid,
            op,
            v,
            Operand {
                values: &s,
                on_left: false,
            },
            return_bool,
            e.span.start,
        )?),
        (Evaluated::Scalar(s), Evaluated::Vector(v)) => Evaluated::Vector(vector_scalar(
            ev,
            grid,
            op,
            v,
            Operand {
                values: &s,
                on_left: true,
            },
            return_bool,
            e.span.start,
        )?),
        (Evaluated::Vector(l), Evaluated::Vector(r)) => {
            let out = if op.is_set() {
                set_op(ev, grid, op, l, r, modifier.matching.as_ref())?
            } else {
                vector_vector(ev, grid, op, &l, &r, modifier, e.span.start)?
            };
            ev.limits.hold(total_points(&out))?;
            Evaluated::Vector(out)
        }
        (l, r) => {
            let (l, r) = (l.kind(), r.kind());
            let msg = format!("binary expression must contain only scalar and instant vector types, got {l} and {r}");
            return Err(QueryError::exec(msg));
        }
    };
    ev.limits.release(held);
    Ok(out)
}

/// The scalar operand of a vector/scalar operation and its side.
struct Operand<'a> {
    values: &'a [f64],
    on_left: bool,
}

fn vector_scalar(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    op: BinOp,
    vector: Vec<StepSeries>,
    scalar: Operand<'_>,
    return_bool: bool,
    pos: usize,
) -> Result<Vec<StepSeries>, QueryError> {
    let Operand {
        values: scalar,
        on_left: scalar_on_left,
    } = scalar;
    let mut out = Vec::with_capacity(vector.len());
    let mut held = 0usize;
    for mut s in vector {
        ev.limits.tick()?;
        let mut pts = Vec::with_capacity(s.floats.len());
        for p in &s.floats {
            let sc = scalar.get(grid.index_of(p.t)).copied().unwrap_or(f64::NAN);
            let (l, r) = if scalar_on_left { (sc, p.v) } else { (p.v, sc) };
            let (mut v, keep) = apply(op, l, r, return_bool);
            if !keep {
                continue;
            }
            if op.is_comparison() && !return_bool {
                // The vector element's own value is kept, whichever side it was on.
                v = p.v;
            }
            pts.push(Sample::new(p.t, v));
        }
        let mut hists = Vec::new();
        for p in std::mem::take(&mut s.hists) {
            let sc = scalar.get(grid.index_of(p.t)).copied().unwrap_or(f64::NAN);
            let (l, r) = if scalar_on_left {
                (Point::F(sc), Point::H(&p.h))
            } else {
                (Point::H(&p.h), Point::F(sc))
            };
            match elem(ev, op, l, r, return_bool, scalar_on_left, pos) {
                Some(Out::F(v)) => pts.push(Sample::new(p.t, v)),
                Some(Out::H(h)) => hists.push(HistogramSample {
                    t: p.t,
                    h: Box::new(h),
                }),
                None => {}
            }
        }
        if !hists.is_empty() && !pts.is_empty() {
            pts.sort_by_key(|p| p.t);
        }
        s.hists = hists;
        s.floats = pts;
        if s.is_empty() {
            continue;
        }
        if op.changes_metric() || return_bool {
            s.drop_name = true;
        }
        held += total_points(std::slice::from_ref(&s));
        out.push(s);
    }
    ev.limits.hold(held)?;
    Ok(out)
}

/// Computes matching signatures: `on(...)` keeps the listed labels,
/// `ignoring(...)` (and no modifier) drops them and the metric name.
struct Signatures {
    ids: HashMap<Labels, usize>,
}

impl Signatures {
    fn new() -> Self {
        Signatures {
            ids: HashMap::new(),
        }
    }

    fn of(&mut self, labels: &Labels, matching: Option<&Matching>) -> usize {
        let sig = match_labels(labels, matching);
        let next = self.ids.len();
        *self.ids.entry(sig).or_insert(next)
    }

    fn count(&self) -> usize {
        self.ids.len()
    }
}

fn names(list: &[String]) -> Vec<String> {
    list.to_vec()
}

/// The labels that take part in matching (Prometheus' `MatchLabels`).
fn match_labels(labels: &Labels, matching: Option<&Matching>) -> Labels {
    match matching {
        Some(Matching::On(on)) => labels.keep_only(&names(on)),
        Some(Matching::Ignoring(ign)) => {
            let mut n = names(ign);
            n.push(METRIC_NAME.to_string());
            labels.drop_names(&n)
        }
        None => labels.drop_names(&[METRIC_NAME.to_string()]),
    }
}

fn set_op(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    op: BinOp,
    lhs: Vec<StepSeries>,
    rhs: Vec<StepSeries>,
    matching: Option<&Matching>,
) -> Result<Vec<StepSeries>, QueryError> {
    let mut sigs = Signatures::new();
    let lsig: Vec<usize> = lhs.iter().map(|s| sigs.of(&s.labels, matching)).collect();
    let rsig: Vec<usize> = rhs.iter().map(|s| sigs.of(&s.labels, matching)).collect();
    let mut present = vec![false; sigs.count()];
    let empty = |s: &StepSeries| StepSeries::new(s.labels.clone(), s.drop_name);
    let mut lout: Vec<StepSeries> = lhs.iter().map(empty).collect();
    let mut rout: Vec<StepSeries> = rhs.iter().map(empty).collect();
    let mut lc = StepCursor::new(&lhs);
    let mut rc = StepCursor::new(&rhs);
    let (mut lv, mut rv) = (Vec::new(), Vec::new());
    let push = |s: &mut StepSeries, ts: i64, p: Point<'_>| match p {
        Point::F(v) => s.floats.push(Sample::new(ts, v)),
        Point::H(h) => s.hists.push(HistogramSample {
            t: ts,
            h: Box::new(h.clone()),
        }),
    };
    for ts in grid.timestamps() {
        ev.limits.tick()?;
        lc.at_mixed(ts, &mut lv);
        rc.at_mixed(ts, &mut rv);
        match op {
            BinOp::And | BinOp::Unless => {
                for &(j, _) in &rv {
                    present[rsig[j]] = true;
                }
                for &(i, v) in &lv {
                    if present[lsig[i]] == (op == BinOp::And) {
                        push(&mut lout[i], ts, v);
                    }
                }
                for &(j, _) in &rv {
                    present[rsig[j]] = false;
                }
            }
            _ => {
                for &(i, v) in &lv {
                    present[lsig[i]] = true;
                    push(&mut lout[i], ts, v);
                }
                for &(j, v) in &rv {
                    if !present[rsig[j]] {
                        push(&mut rout[j], ts, v);
                    }
                }
                for &(i, _) in &lv {
                    present[lsig[i]] = false;
                }
            }
        }
    }
    let out: Vec<StepSeries> = lout
        .into_iter()
        .chain(rout)
        .filter(|s| !s.is_empty())
        .collect();
    merge_same_labelset(out)
}

/// One side of a one-to-one / many-to-one match at a step: a real series or
/// a `fill()` value.
#[derive(Clone, Copy)]
enum Side<'a> {
    Series(usize, Point<'a>),
    Fill(usize, f64),
}

fn vector_vector(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    op: BinOp,
    lhs: &[StepSeries],
    rhs: &[StepSeries],
    modifier: &BinModifier,
    pos: usize,
) -> Result<Vec<StepSeries>, QueryError> {
    let matching = modifier.matching.as_ref();
    let return_bool = modifier.return_bool;
    let (card_one_to_one, include, swapped) = match &modifier.card {
        Cardinality::OneToOne | Cardinality::ManyToMany => (true, Vec::new(), false),
        Cardinality::ManyToOne(l) => (false, names(l), false),
        Cardinality::OneToMany(l) => (false, names(l), true),
    };
    // After the swap, `many` is the side whose labels the result keeps.
    let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    // As in Prometheus, the fill values are not swapped with the sides:
    // `fill_right` fills a missing "one" side, `fill_left` a missing "many" side.
    let (fill_one, fill_many) = (modifier.fill.rhs, modifier.fill.lhs);
    let mut sigs = Signatures::new();
    let many_sig: Vec<usize> = many.iter().map(|s| sigs.of(&s.labels, matching)).collect();
    let one_sig: Vec<usize> = one.iter().map(|s| sigs.of(&s.labels, matching)).collect();
    let nsigs = sigs.count();
    let mut one_at: Vec<Option<usize>> = vec![None; nsigs];
    let mut one_val: Vec<Point> = vec![Point::F(0.0); nsigs];
    let mut matched_one: Vec<bool> = vec![false; nsigs];
    let mut many_has: Vec<bool> = vec![false; nsigs];
    let mut matched_many: Vec<HashSet<u64>> =
        vec![HashSet::new(); if card_one_to_one { 0 } else { nsigs }];
    // Result labels per (many side, one side) pair.
    let mut result_cache: HashMap<(Side2, Side2), (usize, u64)> = HashMap::new();
    let mut builder = OutputBuilder::new();
    let mut mc = StepCursor::new(many);
    let mut oc = StepCursor::new(one);
    let (mut mv, mut ov) = (Vec::new(), Vec::new());
    for ts in grid.timestamps() {
        ev.limits.tick()?;
        mc.at_mixed(ts, &mut mv);
        oc.at_mixed(ts, &mut ov);
        if (mv.is_empty() && ov.is_empty())
            || ((mv.is_empty() || ov.is_empty()) && fill_one.is_none() && fill_many.is_none())
        {
            continue;
        }
        for &(j, v) in &ov {
            let sig = one_sig[j];
            if let Some(prev) = one_at[sig] {
                return Err(duplicate_error(
                    &one[prev].labels,
                    &one[j].labels,
                    matching,
                    swapped,
                ));
            }
            one_at[sig] = Some(j);
            one_val[sig] = v;
        }
        let mut step_pairs: Vec<(Side, Side, usize)> = Vec::with_capacity(mv.len());
        for &(i, v) in &mv {
            let sig = many_sig[i];
            many_has[sig] = true;
            let other = match one_at[sig] {
                Some(j) => Side::Series(j, one_val[sig]),
                None => match fill_one {
                    Some(f) => Side::Fill(i, f),
                    None => continue,
                },
            };
            step_pairs.push((Side::Series(i, v), other, sig));
        }
        if let Some(f) = fill_many {
            for &(j, _) in &ov {
                let sig = one_sig[j];
                if !many_has[sig] {
                    step_pairs.push((Side::Fill(j, f), Side::Series(j, one_val[sig]), sig));
                }
            }
        }
        for (m, o, sig) in step_pairs {
            let (mval, oval) = (side_value(m), side_value(o));
            let (l, r) = if swapped { (oval, mval) } else { (mval, oval) };
            let value = elem(ev, op, l, r, return_bool, false, pos);
            let key = (side_key(m), side_key(o));
            let (slot, hash) = match result_cache.get(&key) {
                Some(&x) => x,
                None => {
                    let many_labels = side_labels(m, many, one, matching, true);
                    let one_labels = side_labels(o, many, one, matching, false);
                    let l = result_labels(
                        &many_labels,
                        &one_labels,
                        op,
                        card_one_to_one,
                        matching,
                        &include,
                    );
                    let x = (builder.slot(&l), l.hash64());
                    result_cache.insert(key, x);
                    x
                }
            };
            if card_one_to_one {
                if matched_one[sig] {
                    return Err(QueryError::exec(
                        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                    ));
                }
                matched_one[sig] = true;
            } else if !matched_many[sig].insert(hash) {
                return Err(QueryError::exec(
                    "multiple matches for labels: grouping labels must ensure unique matches",
                ));
            }
            let Some(value) = value else {
                continue;
            };
            let drop_name = return_bool
                || match m {
                    Side::Series(i, _) => many[i].drop_name,
                    Side::Fill(..) => false,
                };
            match value {
                Out::F(v) => builder.push_to(slot, drop_name, ts, v)?,
                Out::H(h) => builder.push_hist_to(slot, drop_name, ts, Box::new(h))?,
            }
        }
        for &(j, _) in &ov {
            let sig = one_sig[j];
            one_at[sig] = None;
            matched_one[sig] = false;
            if !card_one_to_one {
                matched_many[sig].clear();
            }
        }
        for &(i, _) in &mv {
            let sig = many_sig[i];
            many_has[sig] = false;
            matched_one[sig] = false;
            if !card_one_to_one {
                matched_many[sig].clear();
            }
        }
    }
    Ok(builder.finish())
}

/// Cache key of a match side.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Side2 {
    Series(usize),
    Fill(usize),
}

fn side_key(s: Side<'_>) -> Side2 {
    match s {
        Side::Series(i, _) => Side2::Series(i),
        Side::Fill(i, _) => Side2::Fill(i),
    }
}

fn side_value(s: Side<'_>) -> Point<'_> {
    match s {
        Side::Series(_, v) => v,
        Side::Fill(_, v) => Point::F(v),
    }
}

/// Labels of a match side; a fill value takes the matching labels of the
/// series it stands in for (which lives on the other side).
fn side_labels(
    s: Side<'_>,
    many: &[StepSeries],
    one: &[StepSeries],
    matching: Option<&Matching>,
    is_many: bool,
) -> Labels {
    match (s, is_many) {
        (Side::Series(i, _), true) => many[i].labels.clone(),
        (Side::Series(j, _), false) => one[j].labels.clone(),
        (Side::Fill(j, _), true) => match_labels(&one[j].labels, matching),
        (Side::Fill(i, _), false) => match_labels(&many[i].labels, matching),
    }
}

/// The labels of a vector-vector result element (Prometheus' `resultMetric`).
fn result_labels(
    many: &Labels,
    one: &Labels,
    op: BinOp,
    one_to_one: bool,
    matching: Option<&Matching>,
    include: &[String],
) -> Labels {
    let mut l = if op.changes_metric() {
        drop_metric_name(many)
    } else {
        many.clone()
    };
    if one_to_one {
        match matching {
            Some(Matching::On(on)) => l = l.keep_only(&names(on)),
            Some(Matching::Ignoring(ign)) => l = l.drop_names(&names(ign)),
            None => {}
        }
    }
    for name in include {
        match one.get(name) {
            Some(v) => {
                let v = v.to_string();
                l.set(name, &v);
            }
            None => l.remove(name),
        }
    }
    l
}

fn duplicate_error(
    a: &Labels,
    b: &Labels,
    matching: Option<&Matching>,
    swapped: bool,
) -> QueryError {
    let side = if swapped { "left" } else { "right" };
    let group = prom_labels_string(&match_labels(b, matching));
    let mut pair = [prom_labels_string(a), prom_labels_string(b)];
    pair.sort();
    QueryError::exec(format!(
        "found duplicate series for the match group {group} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
        pair[0], pair[1]
    ))
}

/// The trim operators (`h </ x`, `h >/ x`): keep the observations of each
/// native histogram below (above) the scalar `x`; float samples on the left
/// have nothing to trim and are dropped.
fn trim_floats(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    e: &BinaryExpr,
) -> Result<Evaluated, QueryError> {
    let upper = e.op == ast::BinOp::TrimUpper;
    let lhs = ev.eval(grid, &e.lhs)?;
    let rhs = ev.eval(grid, &e.rhs)?;
    ev.limits.release(lhs.points() + rhs.points());
    let (Evaluated::Vector(series), Evaluated::Scalar(cut)) = (lhs, rhs) else {
        return Ok(Evaluated::Vector(Vec::new()));
    };
    let mut out = Vec::with_capacity(series.len());
    for mut s in series {
        s.floats.clear();
        for p in &mut s.hists {
            let x = cut.get(grid.index_of(p.t)).copied().unwrap_or(f64::NAN);
            *p.h = if upper {
                p.h.trim_upper(x)
            } else {
                p.h.trim_lower(x)
            };
        }
        if !s.is_empty() {
            out.push(s);
        }
    }
    ev.limits.hold(total_points(&out))?;
    Ok(Evaluated::Vector(out))
}
