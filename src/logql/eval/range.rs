//! Range aggregations (`count_over_time({..} |= "x" [5m])`, unwrapped
//! `*_over_time`, `rate`, `rate_counter`, `absent_over_time`, ...): one scan
//! of the store over the union of all windows, the pipeline run once per
//! line, each sample added to its series' segment accumulator (or kept raw
//! for the functions that need every value), then every step's window
//! evaluated per series.

use std::collections::HashMap;
use std::ops::ControlFlow;

use super::aggregate::group_key;
use super::value::Series;
use super::windows::{quantile, rate_counter, Acc, SlidingAcc, WindowGrid};
use super::{Ctx, QueryError};
use crate::logql::ast::{Grouping, RangeAggregation, RangeOp};
use crate::logql::pipeline::Pipeline;
use crate::logs::SelectRequest;
use crate::model::{Labels, MatchOp, Matcher};

/// The label a pipeline sets on a line it could not process.
pub(crate) const ERROR_LABEL: &str = "__error__";
const PRESERVE_ERROR_LABEL: &str = "__preserve_error__";

/// Loki's error for a sample that still carries `__error__`.
pub(crate) fn pipeline_error(err_type: &str, series: &Labels) -> QueryError {
    QueryError::Bad(format!(
        "pipeline error: '{err_type}' for series: '{series}'.\n\
         Use a label filter to intentionally skip this error. (e.g | __error__!=\"{err_type}\").\n\
         To skip all potential errors you can match empty errors.(e.g __error__=\"\")\n\
         The label filter can also be specified after unwrap. (e.g | unwrap latency | __error__=\"\" )\n"
    ))
}

/// What one line contributes as a sample.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Extract {
    One,
    Bytes,
    Unwrapped,
}

fn extract_kind(agg: &RangeAggregation) -> Extract {
    match agg.op {
        RangeOp::BytesOverTime | RangeOp::BytesRate => Extract::Bytes,
        _ if agg.range.unwrap.is_some() => Extract::Unwrapped,
        _ => Extract::One,
    }
}

/// The samples of one series.
struct SeriesData {
    labels: Labels,
    /// `(segment, accumulator)`, per stream in segment order.
    segs: Vec<(usize, Acc)>,
    /// `(ts, value)` for the raw-sample functions.
    raw: Vec<(i64, f64)>,
}

/// Series labels after a range aggregation's own `by` / `without`.
fn group_labels(all: &Labels, g: &Grouping) -> Labels {
    if g.without {
        all.drop_names(&g.labels)
    } else {
        all.keep_only(&g.labels)
    }
}

/// Can `sum by (..) (op(..))` group lines before the windows (the sum of
/// per-series window values equals the window value of the merged lines)?
pub(crate) fn sums_early(op: RangeOp) -> bool {
    matches!(
        op,
        RangeOp::CountOverTime
            | RangeOp::Rate
            | RangeOp::BytesOverTime
            | RangeOp::BytesRate
            | RangeOp::SumOverTime
    )
}

/// Evaluates a range aggregation at every step of the query.
pub(crate) fn eval_range(
    ctx: &mut Ctx<'_>,
    agg: &RangeAggregation,
) -> Result<Vec<Series>, QueryError> {
    eval_range_grouped(ctx, agg, None)
}

/// Evaluates a range aggregation; with `outer`, the series of an enclosing
/// `sum` (see [`sums_early`]) are formed directly: each line goes to its
/// group's series, so only the groups are kept in memory.
pub(crate) fn eval_range_grouped(
    ctx: &mut Ctx<'_>,
    agg: &RangeAggregation,
    outer: Option<Option<&Grouping>>,
) -> Result<Vec<Series>, QueryError> {
    let range = agg.range.range_ns;
    if range <= 0 {
        return Err(QueryError::Bad("range must be positive".into()));
    }
    let offset = agg.range.offset_ns;
    let bounds: Vec<(i64, i64)> = ctx
        .steps
        .iter()
        .map(|&t| {
            let hi = t.saturating_sub(offset);
            (hi.saturating_sub(range), hi)
        })
        .collect();
    let (Some(&(first_lo, _)), Some(&(_, last_hi))) = (bounds.first(), bounds.last()) else {
        return Ok(Vec::new());
    };
    let grid = WindowGrid::new(&bounds);
    let (pushdown, pipeline) = Pipeline::with_pushdown(&agg.range.selector.stages)
        .map_err(|e| QueryError::Bad(e.to_string()))?;
    let pipeline = match &agg.range.unwrap {
        Some(u) => pipeline
            .with_unwrap(u)
            .map_err(|e| QueryError::Bad(e.to_string()))?,
        None => pipeline,
    };
    let kind = extract_kind(agg);
    let raw = matches!(agg.op, RangeOp::QuantileOverTime | RangeOp::RateCounter);
    let grouping = agg.grouping.as_ref();

    let req = SelectRequest {
        matchers: &agg.range.selector.matchers,
        start_ns: first_lo.saturating_add(1),
        end_ns: last_hi.saturating_add(1),
        filter: pushdown.as_deref(),
    };
    let mut meter = ctx.meter();
    let mut failure: Option<QueryError> = None;
    let mut index: HashMap<Labels, usize> = HashMap::new();
    let mut series: Vec<SeriesData> = Vec::new();
    ctx.src.select(&req, &mut |stream, entries| {
        let mut sp = pipeline.for_stream(stream);
        let mut last: Option<usize> = None;
        for e in entries {
            if let Err(err) = meter.line(e.line) {
                failure = Some(err);
                return ControlFlow::Break(());
            }
            let Some(seg) = grid.segment_of(e.ts_ns) else {
                continue;
            };
            let Some(res) = sp.process(e.ts_ns, e.line, e.metadata) else {
                continue;
            };
            let all = res.labels.all();
            if let Some(err_type) = all.get(ERROR_LABEL) {
                if all.get(PRESERVE_ERROR_LABEL) != Some("true") {
                    failure = Some(pipeline_error(err_type, all));
                    return ControlFlow::Break(());
                }
            }
            let v = match kind {
                Extract::One => 1.0,
                Extract::Bytes => res.line.len() as f64,
                Extract::Unwrapped => match res.value {
                    Some(v) => v,
                    None => continue,
                },
            };
            let grouped;
            let key = match (grouping, outer) {
                (None, None) => all,
                (Some(g), None) => {
                    grouped = group_labels(all, g);
                    &grouped
                }
                (g, Some(o)) => {
                    grouped = match g {
                        Some(g) => group_key(&group_labels(all, g), o),
                        None => group_key(all, o),
                    };
                    &grouped
                }
            };
            let idx = match last {
                Some(i) if series[i].labels == *key => i,
                _ => match index.get(key) {
                    Some(&i) => i,
                    None => {
                        series.push(SeriesData {
                            labels: key.clone(),
                            segs: Vec::new(),
                            raw: Vec::new(),
                        });
                        index.insert(key.clone(), series.len() - 1);
                        series.len() - 1
                    }
                },
            };
            last = Some(idx);
            let s = &mut series[idx];
            if raw {
                s.raw.push((e.ts_ns, v));
            } else {
                match s.segs.last_mut() {
                    Some((g, acc)) if *g == seg => acc.add(e.ts_ns, v),
                    _ => s.segs.push((seg, Acc::of(e.ts_ns, v))),
                }
            }
        }
        ControlFlow::Continue(())
    })?;
    ctx.absorb(meter);
    if let Some(err) = failure {
        return Err(err);
    }

    let range_secs = range as f64 / 1e9;
    let mut out = Vec::with_capacity(series.len());
    for s in series {
        ctx.check_deadline()?;
        let points = if raw {
            raw_windows(agg.op, agg.param, s.raw, &bounds, range)
        } else {
            segment_windows(agg.op, kind, s.segs, &grid, range_secs)
        };
        if !points.is_empty() {
            out.push(Series {
                labels: s.labels,
                points,
            });
        }
    }
    if agg.op == RangeOp::AbsentOverTime {
        return Ok(absent(&out, ctx.steps.len(), &agg.range.selector.matchers));
    }
    Ok(out)
}

/// The value of a combinable range function over one window.
fn finish(op: RangeOp, kind: Extract, acc: &Acc, range_secs: f64) -> f64 {
    match op {
        RangeOp::CountOverTime => acc.n as f64,
        RangeOp::Rate if kind == Extract::One => acc.n as f64 / range_secs,
        RangeOp::Rate | RangeOp::BytesRate => acc.sum / range_secs,
        RangeOp::BytesOverTime | RangeOp::SumOverTime => acc.sum,
        RangeOp::AvgOverTime => acc.sum / acc.n as f64,
        RangeOp::MaxOverTime => acc.max,
        RangeOp::MinOverTime => acc.min,
        RangeOp::StdvarOverTime => acc.variance(),
        RangeOp::StddevOverTime => acc.variance().sqrt(),
        RangeOp::FirstOverTime => acc.first,
        RangeOp::LastOverTime => acc.last,
        RangeOp::AbsentOverTime | RangeOp::QuantileOverTime | RangeOp::RateCounter => 1.0,
    }
}

fn segment_windows(
    op: RangeOp,
    kind: Extract,
    mut segs: Vec<(usize, Acc)>,
    grid: &WindowGrid,
    range_secs: f64,
) -> Vec<(usize, f64)> {
    // Streams of one series interleave: order by segment, merge equal ones.
    segs.sort_by_key(|s| s.0);
    let mut merged: Vec<(usize, Acc)> = Vec::with_capacity(segs.len());
    for (seg, acc) in segs {
        match merged.last_mut() {
            Some((g, a)) if *g == seg => *a = a.merge(&acc),
            _ => merged.push((seg, acc)),
        }
    }
    let mut points = Vec::new();
    let mut sliding = SlidingAcc::default();
    let mut next = 0;
    for k in 0..grid.len() {
        let (a, b) = grid.window(k);
        while next < merged.len() && merged[next].0 <= b {
            sliding.push(merged[next].0, merged[next].1);
            next += 1;
        }
        sliding.pop_before(a);
        if a > b {
            continue;
        }
        if let Some(acc) = sliding.value() {
            points.push((k, finish(op, kind, &acc, range_secs)));
        }
    }
    points
}

fn raw_windows(
    op: RangeOp,
    param: Option<f64>,
    mut samples: Vec<(i64, f64)>,
    bounds: &[(i64, i64)],
    range_ns: i64,
) -> Vec<(usize, f64)> {
    samples.sort_by_key(|s| s.0);
    let q = param.unwrap_or(f64::NAN);
    let mut points = Vec::new();
    let (mut lo, mut hi) = (0, 0);
    let mut buf = Vec::new();
    for (k, &(start, end)) in bounds.iter().enumerate() {
        while hi < samples.len() && samples[hi].0 <= end {
            hi += 1;
        }
        while lo < hi && samples[lo].0 <= start {
            lo += 1;
        }
        let window = &samples[lo.min(hi)..hi];
        if window.is_empty() {
            continue;
        }
        let v = if op == RangeOp::RateCounter {
            rate_counter(window, range_ns)
        } else {
            buf.clear();
            buf.extend(window.iter().map(|s| s.1));
            quantile(q, &mut buf)
        };
        points.push((k, v));
    }
    points
}

/// The labels `absent_over_time` reports: the selector's equality matchers,
/// without any name that also has another matcher or a second one.
pub(crate) fn absent_labels(matchers: &[Matcher]) -> Labels {
    let mut set: Vec<(&str, &str)> = Vec::new();
    let mut drop: Vec<&str> = Vec::new();
    for m in matchers {
        if m.name == crate::model::labels::METRIC_NAME {
            continue;
        }
        if m.op == MatchOp::Equal && !set.iter().any(|(n, _)| *n == m.name) {
            set.push((&m.name, &m.value));
        } else {
            drop.push(&m.name);
        }
    }
    Labels::from_pairs(set.into_iter().filter(|(n, _)| !drop.contains(n)))
}

/// `absent_over_time`: 1 at the steps where no series has a sample.
fn absent(present: &[Series], steps: usize, matchers: &[Matcher]) -> Vec<Series> {
    let mut seen = vec![false; steps];
    for s in present {
        for &(k, _) in &s.points {
            seen[k] = true;
        }
    }
    let points: Vec<(usize, f64)> = seen
        .iter()
        .enumerate()
        .filter(|(_, &p)| !p)
        .map(|(k, _)| (k, 1.0))
        .collect();
    if points.is_empty() {
        return Vec::new();
    }
    vec![Series {
        labels: absent_labels(matchers),
        points,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    /// Windows of 30s at steps 30s, 45s, 60s over unwrapped samples.
    fn run(op: RangeOp, param: Option<f64>, samples: &[(i64, f64)]) -> Vec<(usize, f64)> {
        let bounds: Vec<(i64, i64)> = [30, 45, 60].iter().map(|t| ((t - 30) * S, t * S)).collect();
        if matches!(op, RangeOp::QuantileOverTime | RangeOp::RateCounter) {
            return raw_windows(op, param, samples.to_vec(), &bounds, 30 * S);
        }
        let grid = WindowGrid::new(&bounds);
        let mut segs: Vec<(usize, Acc)> = Vec::new();
        for &(ts, v) in samples {
            let Some(seg) = grid.segment_of(ts) else {
                continue;
            };
            match segs.last_mut() {
                Some((g, a)) if *g == seg => a.add(ts, v),
                _ => segs.push((seg, Acc::of(ts, v))),
            }
        }
        segment_windows(op, Extract::Unwrapped, segs, &grid, 30.0)
    }

    // (0,30]: 2, 4 ; (15,45]: 4, 8, 1 ; (30,60]: 8, 1, 7
    const DATA: [(i64, f64); 5] = [
        (10 * S, 2.0),
        (20 * S, 4.0),
        (40 * S, 8.0),
        (45 * S, 1.0),
        (60 * S, 7.0),
    ];

    #[test]
    fn unwrapped_functions_per_window() {
        let cases: [(RangeOp, [f64; 3]); 10] = [
            (RangeOp::SumOverTime, [6.0, 13.0, 16.0]),
            (RangeOp::Rate, [0.2, 13.0 / 30.0, 16.0 / 30.0]),
            (RangeOp::AvgOverTime, [3.0, 13.0 / 3.0, 16.0 / 3.0]),
            (RangeOp::MinOverTime, [2.0, 1.0, 1.0]),
            (RangeOp::MaxOverTime, [4.0, 8.0, 8.0]),
            (RangeOp::FirstOverTime, [2.0, 4.0, 8.0]),
            (RangeOp::LastOverTime, [4.0, 1.0, 7.0]),
            (RangeOp::CountOverTime, [2.0, 3.0, 3.0]),
            (RangeOp::StdvarOverTime, [1.0, 74.0 / 9.0, 86.0 / 9.0]),
            (
                RangeOp::StddevOverTime,
                [1.0, (74.0f64 / 9.0).sqrt(), (86.0f64 / 9.0).sqrt()],
            ),
        ];
        for (op, want) in cases {
            let got = run(op, None, &DATA);
            assert_eq!(got.len(), 3, "{op:?}");
            for (k, (step, v)) in got.iter().enumerate() {
                assert_eq!(*step, k);
                assert!(
                    (v - want[k]).abs() < 1e-12,
                    "{op:?} step {k}: {v} != {}",
                    want[k]
                );
            }
        }
    }

    #[test]
    fn raw_functions_per_window() {
        assert_eq!(
            run(RangeOp::QuantileOverTime, Some(0.5), &DATA),
            vec![(0, 3.0), (1, 4.0), (2, 7.0)]
        );
        // A window with one sample has no counter rate.
        let one = run(RangeOp::RateCounter, None, &[(10 * S, 5.0)]);
        assert_eq!(one, vec![(0, 0.0)]);
    }

    #[test]
    fn empty_windows_have_no_point() {
        let got = run(RangeOp::SumOverTime, None, &[(5 * S, 1.0)]);
        assert_eq!(got, vec![(0, 1.0)]);
    }

    #[test]
    fn absent_labels_keep_unique_equalities() {
        let ms = [
            Matcher::equal("a", "x"),
            Matcher::equal("a", "y"),
            Matcher::equal("b", "z"),
            Matcher::new(MatchOp::Regex, "c", ".+").unwrap(),
            Matcher::equal("d", "w"),
            Matcher::new(MatchOp::NotEqual, "d", "v").unwrap(),
        ];
        assert_eq!(absent_labels(&ms), Labels::from_pairs([("b", "z")]));
    }
}
