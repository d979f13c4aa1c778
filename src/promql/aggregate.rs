//! Aggregation operators (`sum avg min max count group stddev stdvar quantile
//! topk bottomk limitk limit_ratio count_values`) with `by` / `without`.

use std::collections::HashMap;

use super::parser::{self as ast, AggregateExpr, Expr};

use crate::model::histogram::HistogramError;
use crate::model::labels::METRIC_NAME;
use crate::model::{FloatHistogram, HistogramSample, Labels, Sample};

use super::eval::{unwrap_parens, Evaluator};
use super::step::{total_points, Evaluated, Grid, OutputBuilder, Point, StepCursor, StepSeries};
use super::util::{format_float_go, format_float_plain, kahan_inc, quantile};
use super::value::QueryError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AggOp {
    Sum,
    Avg,
    Count,
    Min,
    Max,
    Group,
    Stddev,
    Stdvar,
    Quantile,
    Topk,
    Bottomk,
    Limitk,
    LimitRatio,
    CountValues,
}

impl AggOp {
    /// The operator's name in annotations.
    fn name(self) -> &'static str {
        match self {
            AggOp::Sum => "sum",
            AggOp::Avg => "avg",
            AggOp::Count => "count",
            AggOp::Min => "min",
            AggOp::Max => "max",
            AggOp::Group => "group",
            AggOp::Stddev => "stddev",
            AggOp::Stdvar => "stdvar",
            AggOp::Quantile => "quantile",
            AggOp::Topk => "topk",
            AggOp::Bottomk => "bottomk",
            AggOp::Limitk => "limitk",
            AggOp::LimitRatio => "limit_ratio",
            AggOp::CountValues => "count_values",
        }
    }

    fn from_ast(op: ast::AggOp) -> AggOp {
        match op {
            ast::AggOp::Sum => AggOp::Sum,
            ast::AggOp::Avg => AggOp::Avg,
            ast::AggOp::Count => AggOp::Count,
            ast::AggOp::Min => AggOp::Min,
            ast::AggOp::Max => AggOp::Max,
            ast::AggOp::Group => AggOp::Group,
            ast::AggOp::Stddev => AggOp::Stddev,
            ast::AggOp::Stdvar => AggOp::Stdvar,
            ast::AggOp::Quantile => AggOp::Quantile,
            ast::AggOp::Topk => AggOp::Topk,
            ast::AggOp::Bottomk => AggOp::Bottomk,
            ast::AggOp::Limitk => AggOp::Limitk,
            ast::AggOp::LimitRatio => AggOp::LimitRatio,
            ast::AggOp::CountValues => AggOp::CountValues,
        }
    }
}

/// How series are grouped.
enum Grouping {
    By(Vec<String>),
    Without(Vec<String>),
}

impl Grouping {
    fn from(m: &Option<ast::Grouping>) -> Self {
        match m {
            None => Grouping::By(Vec::new()),
            Some(ast::Grouping::By(l)) => Grouping::By(l.clone()),
            Some(ast::Grouping::Without(l)) => Grouping::Without(l.clone()),
        }
    }

    fn group_labels(&self, labels: &Labels) -> Labels {
        match self {
            Grouping::By(names) if names.is_empty() => Labels::empty(),
            Grouping::By(names) => labels.keep_only(names),
            Grouping::Without(names) => {
                let mut n = names.clone();
                n.push(METRIC_NAME.to_string());
                labels.drop_names(&n)
            }
        }
    }
}

pub(crate) fn eval(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    a: &AggregateExpr,
) -> Result<Evaluated, QueryError> {
    let op = AggOp::from_ast(a.op);
    let grouping = Grouping::from(&a.grouping);
    if op == AggOp::CountValues {
        return count_values(ev, grid, a, grouping);
    }
    let param = match (&a.param, op) {
        (
            Some(p),
            AggOp::Quantile | AggOp::Topk | AggOp::Bottomk | AggOp::Limitk | AggOp::LimitRatio,
        ) => Some(ev.eval_scalar(grid, p)?),
        _ => None,
    };
    let input = ev.eval_vector(grid, &a.expr)?;
    // Parameter warnings (quantile, limit_ratio) point at the parameter.
    ev.note_pos = a.param.as_ref().map_or(a.span.start, |p| p.span().start);
    let out = match op {
        AggOp::Topk | AggOp::Bottomk | AggOp::Limitk | AggOp::LimitRatio => select_k(
            ev,
            grid,
            op,
            &input,
            &grouping,
            param.as_deref().unwrap_or(&[]),
            a.span.start,
        )?,
        _ => aggregate(
            ev,
            grid,
            op,
            &input,
            &grouping,
            param.as_deref(),
            a.expr.span().start,
        )?,
    };
    ev.release_series(&input);
    if let Some(p) = &param {
        ev.limits.release(p.len());
    }
    ev.limits.hold(total_points(&out))?;
    Ok(Evaluated::Vector(out))
}

/// Running state of one group at one step.
#[derive(Clone, Debug, Default)]
struct Acc {
    seen: bool,
    /// Index of the group's histogram sum at this step (`sum`, `avg`).
    hist: Option<usize>,
    /// Floats and histograms met in one group: no result, a warning.
    mixed: bool,
    value: f64,
    mean: f64,
    comp: f64,
    count: f64,
    incremental: bool,
    values: Vec<f64>,
}

impl Acc {
    fn start(&mut self, op: AggOp, f: f64) {
        *self = Acc {
            seen: true,
            hist: None,
            mixed: false,
            value: f,
            mean: f,
            comp: 0.0,
            count: 1.0,
            incremental: false,
            values: std::mem::take(&mut self.values),
        };
        match op {
            AggOp::Stddev | AggOp::Stdvar => {
                self.value = if f.is_nan() || f.is_infinite() {
                    f64::NAN
                } else {
                    0.0
                };
            }
            AggOp::Quantile => {
                self.values.clear();
                self.values.push(f);
            }
            AggOp::Group => self.value = 1.0,
            _ => {}
        }
    }

    fn add(&mut self, op: AggOp, f: f64) {
        match op {
            AggOp::Sum => (self.value, self.comp) = kahan_inc(f, self.value, self.comp),
            AggOp::Avg => {
                self.count += 1.0;
                if !self.incremental {
                    let (v, c) = kahan_inc(f, self.value, self.comp);
                    if !v.is_infinite() {
                        self.value = v;
                        self.comp = c;
                        return;
                    }
                    // The sum would overflow: continue with an incremental mean.
                    self.incremental = true;
                    self.mean = self.value / (self.count - 1.0);
                    self.comp /= self.count - 1.0;
                }
                let q = (self.count - 1.0) / self.count;
                (self.mean, self.comp) = kahan_inc(f / self.count, q * self.mean, q * self.comp);
            }
            AggOp::Count => self.count += 1.0,
            AggOp::Max if self.value < f || self.value.is_nan() => self.value = f,
            AggOp::Min if self.value > f || self.value.is_nan() => self.value = f,
            AggOp::Stddev | AggOp::Stdvar => {
                self.count += 1.0;
                let delta = f - self.mean;
                self.mean += delta / self.count;
                self.value += delta * (f - self.mean);
            }
            AggOp::Quantile => self.values.push(f),
            _ => {}
        }
    }

    fn result(&mut self, op: AggOp, q: f64) -> f64 {
        match op {
            AggOp::Sum => self.value + self.comp,
            AggOp::Avg if self.incremental => self.mean + self.comp,
            AggOp::Avg => self.value / self.count + self.comp / self.count,
            AggOp::Count => self.count,
            AggOp::Stdvar => self.value / self.count,
            AggOp::Stddev => (self.value / self.count).sqrt(),
            AggOp::Quantile => quantile(q, &mut self.values),
            _ => self.value,
        }
    }
}

fn quantile_param_warnings(ev: &mut Evaluator<'_>, params: &[f64]) {
    for &q in params {
        if q.is_nan() || !(0.0..=1.0).contains(&q) {
            ev.warn(format!(
                "quantile value should be between 0 and 1, got {}",
                format_float_go(q)
            ));
        }
    }
}

fn aggregate(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    op: AggOp,
    input: &[StepSeries],
    grouping: &Grouping,
    param: Option<&[f64]>,
    expr_pos: usize,
) -> Result<Vec<StepSeries>, QueryError> {
    if op == AggOp::Quantile {
        quantile_param_warnings(ev, param.unwrap_or(&[]));
    }
    // Histogram annotations point at the aggregated expression.
    ev.note_pos = expr_pos;
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut out: Vec<StepSeries> = Vec::new();
    let mut group_of = Vec::with_capacity(input.len());
    for s in input {
        let g = grouping.group_labels(&s.labels);
        let idx = match index.get(&g) {
            Some(&i) => i,
            None => {
                out.push(StepSeries::new(g.clone(), false));
                index.insert(g, out.len() - 1);
                out.len() - 1
            }
        };
        group_of.push(idx);
    }
    let mut accs = vec![Acc::default(); out.len()];
    let mut hists: Vec<HistAcc> = Vec::new();
    let mut touched: Vec<usize> = Vec::new();
    let mut cursor = StepCursor::new(input);
    let mut present = Vec::new();
    let hist_ok = matches!(op, AggOp::Sum | AggOp::Avg);
    let counts_any = matches!(op, AggOp::Count | AggOp::Group);
    for (step, ts) in grid.timestamps().enumerate() {
        ev.limits.tick()?;
        cursor.at_mixed(ts, &mut present);
        touched.clear();
        for &(i, point) in &present {
            let g = group_of[i];
            if input[i].drop_name {
                out[g].drop_name = true;
            }
            let acc = &mut accs[g];
            let f = match point {
                Point::F(f) => f,
                Point::H(_) if counts_any => 0.0,
                Point::H(h) if hist_ok => {
                    if !acc.seen {
                        acc.start(op, 0.0);
                        acc.hist = Some(hists.len());
                        hists.push(HistAcc::new(h));
                        touched.push(g);
                    } else if let Some(k) = acc.hist {
                        acc.count += 1.0;
                        let metric = input[i].labels.metric_name().unwrap_or("");
                        hists[k].add(ev, h, metric, expr_pos);
                    } else {
                        acc.count += 1.0;
                        acc.mixed = true;
                    }
                    continue;
                }
                Point::H(_) => {
                    ev.info(format!("ignored histogram in {} aggregation", op.name()));
                    continue;
                }
            };
            if !acc.seen {
                acc.start(op, f);
                touched.push(g);
            } else if acc.hist.is_some() && hist_ok {
                acc.mixed = true;
            } else {
                acc.add(op, f);
            }
        }
        let q = param.and_then(|p| p.get(step).copied()).unwrap_or(f64::NAN);
        for &g in &touched {
            let acc = &mut accs[g];
            acc.seen = false;
            let hist = acc.hist.take();
            if std::mem::take(&mut acc.mixed) {
                ev.warn("encountered a mix of histograms and floats for aggregation".into());
                continue;
            }
            match hist {
                Some(k) => {
                    if let Some(mut h) = hists[k].finish(ev) {
                        if op == AggOp::Avg {
                            h.div(acc.count);
                        }
                        h.compact(0);
                        out[g].hists.push(HistogramSample {
                            t: ts,
                            h: Box::new(h),
                        });
                    }
                }
                None => {
                    let v = acc.result(op, q);
                    out[g].floats.push(Sample::new(ts, v));
                }
            }
        }
        hists.clear();
    }
    out.retain(|s| !s.is_empty());
    Ok(out)
}

/// The running histogram sum of one group at one step (`sum`, `avg`).
struct HistAcc {
    sum: FloatHistogram,
    comp: FloatHistogram,
    /// Mixed exponential and custom buckets, or incompatible bounds: the
    /// group has no result at this step.
    incompatible: bool,
    collision: bool,
    reconciled: bool,
}

impl HistAcc {
    fn new(h: &FloatHistogram) -> Self {
        HistAcc {
            sum: h.clone(),
            comp: FloatHistogram::default(),
            incompatible: false,
            collision: false,
            reconciled: false,
        }
    }

    fn add(&mut self, ev: &mut Evaluator<'_>, h: &FloatHistogram, metric: &str, pos: usize) {
        if self.incompatible {
            return;
        }
        match self.sum.kahan_add(h, &mut self.comp) {
            Ok(o) => {
                self.collision |= o.counter_reset_collision;
                self.reconciled |= o.nhcb_bounds_reconciled;
            }
            Err(e) => {
                self.incompatible = true;
                ev.note_pos = pos;
                match e {
                    HistogramError::IncompatibleSchema => ev.warn(format!(
                        "vector contains a mix of histograms with exponential and custom buckets schemas for metric name {metric:?}"
                    )),
                    HistogramError::IncompatibleBounds => ev.warn(format!(
                        "vector contains histograms with incompatible custom buckets for metric name {metric:?}"
                    )),
                    _ => {}
                }
            }
        }
    }

    fn finish(&mut self, ev: &mut Evaluator<'_>) -> Option<FloatHistogram> {
        if self.incompatible {
            return None;
        }
        if self.collision {
            ev.warn("conflicting counter resets during histogram aggregation".into());
        }
        if self.reconciled {
            ev.info("mismatched custom buckets were reconciled during aggregation".into());
        }
        let mut h = std::mem::take(&mut self.sum);
        h.kahan_finish(&self.comp);
        Some(h)
    }
}

/// One candidate in a top-k style selection: input series and value (a
/// histogram only for `limitk` / `limit_ratio`, which pass them through).
#[derive(Clone, Copy, Debug)]
struct Cand<'a> {
    series: usize,
    v: f64,
    h: Option<&'a FloatHistogram>,
}

/// Go's `container/heap` operations with Prometheus' orderings, so ties are
/// broken exactly as Prometheus breaks them.
struct GoHeap<'a> {
    items: Vec<Cand<'a>>,
    /// true: min-heap by value (topk); false: max-heap (bottomk).
    min: bool,
}

impl<'a> GoHeap<'a> {
    fn less(&self, i: usize, j: usize) -> bool {
        let (a, b) = (self.items[i].v, self.items[j].v);
        if a.is_nan() {
            return true;
        }
        if self.min {
            a < b
        } else {
            a > b
        }
    }

    fn up(&mut self, mut j: usize) {
        while j > 0 {
            let i = (j - 1) / 2;
            if !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            j = i;
        }
    }

    fn down(&mut self, i0: usize) -> bool {
        let n = self.items.len();
        let mut i = i0;
        loop {
            let j1 = 2 * i + 1;
            if j1 >= n {
                break;
            }
            let mut j = j1;
            let j2 = j1 + 1;
            if j2 < n && self.less(j2, j1) {
                j = j2;
            }
            if !self.less(j, i) {
                break;
            }
            self.items.swap(i, j);
            i = j;
        }
        i > i0
    }

    fn push(&mut self, c: Cand<'a>) {
        self.items.push(c);
        let n = self.items.len() - 1;
        self.up(n);
    }

    fn fix_top(&mut self) {
        if !self.down(0) {
            self.up(0);
        }
    }
}

/// Sorts candidates as Prometheus does: insertion sort (what Go's sort uses
/// for short inputs) with `before(a, b)`, and a stable sort beyond that.
pub(crate) fn go_sort<T: Copy>(items: &mut [T], before: impl Fn(&T, &T) -> bool) {
    if items.len() <= 12 {
        for i in 1..items.len() {
            let mut j = i;
            while j > 0 && before(&items[j], &items[j - 1]) {
                items.swap(j, j - 1);
                j -= 1;
            }
        }
    } else {
        items.sort_by(|a, b| {
            if before(a, b) && !before(b, a) {
                std::cmp::Ordering::Less
            } else if before(b, a) && !before(a, b) {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        });
    }
}

/// Descending by value, NaN last.
pub(crate) fn desc_nan_last(a: f64, b: f64) -> bool {
    !a.is_nan() && (b.is_nan() || a > b)
}

/// Ascending by value, NaN last.
pub(crate) fn asc_nan_last(a: f64, b: f64) -> bool {
    !a.is_nan() && (b.is_nan() || a < b)
}

fn select_k(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    op: AggOp,
    input: &[StepSeries],
    grouping: &Grouping,
    params: &[f64],
    agg_pos: usize,
) -> Result<Vec<StepSeries>, QueryError> {
    let max = params.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = params.iter().copied().fold(f64::INFINITY, f64::min);
    if op == AggOp::LimitRatio {
        if params.iter().any(|p| p.is_nan()) {
            return Err(QueryError::exec("Ratio value is NaN"));
        }
        if max == 0.0 && min == 0.0 {
            return Ok(Vec::new());
        }
        if max > 1.0 {
            ev.warn(format!(
                "ratio value should be between -1 and 1, got {}, capping to 1",
                format_float_go(max)
            ));
        }
        if min < -1.0 {
            ev.warn(format!(
                "ratio value should be between -1 and 1, got {}, capping to -1",
                format_float_go(min)
            ));
        }
    } else {
        if params.iter().any(|p| p.is_nan()) {
            return Err(QueryError::exec("Parameter value is NaN"));
        }
        if max < 1.0 {
            return Ok(Vec::new());
        }
        if min <= -9.223372036854776e18 {
            return Err(QueryError::exec(format!(
                "Scalar value {} underflows int64",
                format_float_go(min)
            )));
        }
        if max >= 9.223372036854775e18 {
            return Err(QueryError::exec(format!(
                "Scalar value {} overflows int64",
                format_float_go(max)
            )));
        }
    }
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut group_of = Vec::with_capacity(input.len());
    for s in input {
        let g = grouping.group_labels(&s.labels);
        let next = index.len();
        group_of.push(*index.entry(g).or_insert(next));
    }
    let ngroups = index.len();
    let mut heaps: Vec<Option<GoHeap>> = (0..ngroups).map(|_| None).collect();
    let mut group_order: Vec<usize> = Vec::new();
    let mut points: Vec<StepSeries> = input
        .iter()
        .map(|s| StepSeries::new(s.labels.clone(), s.drop_name))
        .collect();
    let mut emitted: Vec<usize> = Vec::new();
    let mut cursor = StepCursor::new(input);
    let mut present = Vec::new();
    for (step, ts) in grid.timestamps().enumerate() {
        ev.limits.tick()?;
        cursor.at_mixed(ts, &mut present);
        let p = params.get(step).copied().unwrap_or(f64::NAN);
        let k = (p as i64).min(input.len() as i64);
        let ratio = p.clamp(-1.0, 1.0);
        if op != AggOp::LimitRatio && k < 1 {
            continue;
        }
        if op == AggOp::LimitRatio && p == 0.0 {
            continue;
        }
        group_order.clear();
        for &(i, point) in &present {
            let g = group_of[i];
            let (v, h) = match point {
                Point::F(v) => (v, None),
                Point::H(h) if matches!(op, AggOp::Limitk | AggOp::LimitRatio) => (0.0, Some(h)),
                Point::H(_) => {
                    ev.note_pos = agg_pos;
                    ev.info(format!("ignored histogram in {} aggregation", op.name()));
                    continue;
                }
            };
            let c = Cand { series: i, v, h };
            let heap = match &mut heaps[g] {
                Some(h) => h,
                slot @ None => {
                    group_order.push(g);
                    slot.insert(GoHeap {
                        items: Vec::new(),
                        min: op != AggOp::Bottomk,
                    })
                }
            };
            let k = k as usize;
            match op {
                AggOp::Topk | AggOp::Bottomk => {
                    if heap.items.len() < k {
                        heap.push(c);
                    } else {
                        let top = heap.items[0].v;
                        let better = if op == AggOp::Topk { top < v } else { top > v };
                        if better || (top.is_nan() && !v.is_nan()) {
                            heap.items[0] = c;
                            if k > 1 {
                                heap.fix_top();
                            }
                        }
                    }
                }
                AggOp::Limitk => {
                    if heap.items.len() < k {
                        heap.items.push(c);
                    }
                }
                _ => {
                    if ratio_sample(&input[i].labels, ratio) {
                        heap.items.push(c);
                    }
                }
            }
        }
        // Groups are emitted in the order of their first input series.
        group_order.sort_unstable();
        for &g in &group_order {
            let Some(mut heap) = heaps[g].take() else {
                continue;
            };
            match op {
                AggOp::Topk => go_sort(&mut heap.items, |a, b| desc_nan_last(a.v, b.v)),
                AggOp::Bottomk => go_sort(&mut heap.items, |a, b| asc_nan_last(a.v, b.v)),
                _ => {}
            }
            for c in heap.items {
                let p = &mut points[c.series];
                if p.is_empty() {
                    emitted.push(c.series);
                }
                match c.h {
                    Some(h) => p.hists.push(HistogramSample {
                        t: ts,
                        h: Box::new(h.clone()),
                    }),
                    None => p.floats.push(Sample::new(ts, c.v)),
                }
            }
        }
    }
    let order: Vec<usize> = if grid.steps() == 1 {
        emitted
    } else {
        (0..input.len()).collect()
    };
    let mut out = Vec::with_capacity(order.len());
    for i in order {
        let s = std::mem::replace(&mut points[i], StepSeries::new(Labels::empty(), false));
        if !s.is_empty() {
            out.push(s);
        }
    }
    Ok(out)
}

/// Deterministic sampling for `limit_ratio`: a series is kept when the
/// position of its label hash in [0, 1) falls within the ratio.
fn ratio_sample(labels: &Labels, ratio: f64) -> bool {
    let offset = labels.hash64() as f64 / u64::MAX as f64;
    (ratio >= 0.0 && offset < ratio) || (ratio < 0.0 && offset >= 1.0 + ratio)
}

fn count_values(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    a: &AggregateExpr,
    grouping: Grouping,
) -> Result<Evaluated, QueryError> {
    let label = match a.param.as_deref().map(unwrap_parens) {
        Some(Expr::StringLiteral(s)) => match &s.raw {
            Some(raw) => {
                return Err(QueryError::exec(format!(
                    "invalid label name {}",
                    ast::strings::quote_bytes(raw)
                )))
            }
            None => s.val.clone(),
        },
        _ => {
            return Err(QueryError::exec(
                "count_values requires a string label name",
            ))
        }
    };
    if label.is_empty() {
        return Err(QueryError::exec(format!("invalid label name {label:?}")));
    }
    let grouping = match grouping {
        Grouping::By(mut names) => {
            names.push(label.clone());
            Grouping::By(names)
        }
        w => w,
    };
    let input = ev.eval_vector(grid, &a.expr)?;
    let mut builder = OutputBuilder::new();
    let mut cursor = StepCursor::new(&input);
    let mut present = Vec::new();
    let mut counts: Vec<(Labels, f64)> = Vec::new();
    let mut pos: HashMap<Labels, usize> = HashMap::new();
    for ts in grid.timestamps() {
        ev.limits.tick()?;
        cursor.at_mixed(ts, &mut present);
        counts.clear();
        pos.clear();
        for &(i, point) in &present {
            let mut l = input[i].labels.clone();
            let value = match point {
                Point::F(v) => format_float_plain(v),
                Point::H(h) => h.to_string(),
            };
            l.set(&label, &value);
            let g = grouping.group_labels(&l);
            match pos.get(&g) {
                Some(&p) => counts[p].1 += 1.0,
                None => {
                    pos.insert(g.clone(), counts.len());
                    counts.push((g, 1.0));
                }
            }
        }
        for (l, c) in &counts {
            builder.push(l, false, ts, *c)?;
        }
    }
    ev.release_series(&input);
    let out = builder.finish();
    ev.limits.hold(total_points(&out))?;
    Ok(Evaluated::Vector(out))
}
