//! `histogram_quantile()`, `histogram_quantiles()` and `histogram_fraction()`:
//! over classic (`le`-bucket) series, with Prometheus' handling of unsorted
//! and duplicate bounds, float-precision noise and non-monotonic counts, and
//! over native histograms (with the NaN-observation infos); a native
//! histogram sharing its labels with a classic bucket group at a step is a
//! conflict (warning, neither is used).

use std::collections::HashMap;

use crate::model::labels::METRIC_NAME;
use crate::model::{FloatHistogram, Labels};

use super::eval::Evaluator;
use super::step::{Grid, OutputBuilder, StepCursor, StepSeries};
use super::util::{format_float_go, go_quote};
use super::value::QueryError;

const BUCKET_LABEL: &str = "le";

/// One classic bucket: inclusive upper bound and cumulative count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Bucket {
    pub upper: f64,
    pub count: f64,
}

/// Sorts by bound, merges equal bounds, smooths float noise and forces the
/// counts monotonic. Returns whether monotonicity had to be forced.
fn normalize(buckets: &mut Vec<Bucket>) -> bool {
    buckets.sort_by(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    // Coalesce buckets with the same upper bound.
    let mut merged: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match merged.last_mut() {
            Some(last) if last.upper == b.upper => last.count += b.count,
            _ => merged.push(*b),
        }
    }
    *buckets = merged;
    // Differences of a trillionth are float noise, not real decreases.
    if let Some(first) = buckets.first() {
        let mut prev = first.count;
        for b in buckets.iter_mut().skip(1) {
            let delta = (b.count - prev).abs();
            if delta == 0.0 {
                continue;
            }
            if delta / b.count <= 1e-12 {
                b.count = prev;
            } else {
                prev = b.count;
            }
        }
    }
    let mut forced = false;
    if let Some(first) = buckets.first() {
        let mut max = first.count;
        for b in buckets.iter_mut().skip(1) {
            if b.count > max {
                max = b.count;
            } else if b.count < max {
                b.count = max;
                forced = true;
            }
        }
    }
    forced
}

/// The φ-quantile of classic buckets, interpolating linearly inside a bucket
/// (0 is the lower bound of a first bucket with a positive bound). Returns
/// the value and whether monotonicity had to be forced.
pub(crate) fn bucket_quantile(q: f64, buckets: &mut Vec<Bucket>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    if buckets.is_empty() {
        return (f64::NAN, false);
    }
    let forced = normalize(buckets);
    let n = buckets.len();
    if buckets[n - 1].upper != f64::INFINITY || n < 2 {
        return (f64::NAN, false);
    }
    let observations = buckets[n - 1].count;
    if observations == 0.0 || observations.is_nan() {
        return (f64::NAN, false);
    }
    let mut rank = q * observations;
    let b = buckets[..n - 1]
        .iter()
        .position(|x| x.count >= rank)
        .unwrap_or(n - 1);
    if b == n - 1 {
        return (buckets[n - 2].upper, forced);
    }
    if b == 0 && buckets[0].upper <= 0.0 {
        return (buckets[0].upper, forced);
    }
    let mut start = 0.0;
    let end = buckets[b].upper;
    let mut count = buckets[b].count;
    if b > 0 {
        start = buckets[b - 1].upper;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    (start + (end - start) * (rank / count), forced)
}

/// The fraction of observations between `lower` and `upper`. Observations in
/// a bucket are spread evenly over it; those in a bucket of infinite width
/// sit at its infinite end (so only an infinite bound takes them in).
pub(crate) fn bucket_fraction(lower: f64, upper: f64, buckets: &mut Vec<Bucket>) -> f64 {
    if lower.is_nan() || upper.is_nan() || buckets.is_empty() {
        return f64::NAN;
    }
    normalize(buckets);
    let n = buckets.len();
    if buckets[n - 1].upper != f64::INFINITY {
        return f64::NAN;
    }
    let total = buckets[n - 1].count;
    if total == 0.0 || total.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let rank = |x: f64| -> f64 {
        if x == f64::NEG_INFINITY {
            return 0.0;
        }
        if x == f64::INFINITY {
            return total;
        }
        let mut prev_count = 0.0;
        for (i, b) in buckets.iter().enumerate() {
            let lo = if i == 0 {
                if b.upper > 0.0 {
                    0.0
                } else {
                    f64::NEG_INFINITY
                }
            } else {
                buckets[i - 1].upper
            };
            if x <= lo {
                return prev_count;
            }
            if x >= b.upper {
                prev_count = b.count;
                continue;
            }
            // x lies inside (lo, upper).
            if lo == f64::NEG_INFINITY {
                return b.count;
            }
            if b.upper == f64::INFINITY {
                return prev_count;
            }
            return prev_count + (b.count - prev_count) * (x - lo) / (b.upper - lo);
        }
        prev_count
    };
    (rank(upper) - rank(lower)) / total
}

/// Which classic-histogram function to compute per group.
pub(crate) enum HistFn {
    Quantile(Vec<f64>),
    /// `histogram_quantiles`: several quantiles, told apart by a label.
    Quantiles(String, Vec<Vec<f64>>),
    Fraction(Vec<f64>, Vec<f64>),
}

/// Evaluates `histogram_quantile` / `histogram_fraction` over bucket series:
/// series are grouped by their labels without `le`; each group yields one
/// output series labelled without `le` and `__name__`.
pub(crate) fn eval_classic(
    ev: &mut Evaluator<'_>,
    grid: Grid,
    func: HistFn,
    input: &[StepSeries],
    quantile_pos: usize,
    vector_pos: usize,
) -> Result<Vec<StepSeries>, QueryError> {
    ev.note_pos = quantile_pos;
    let all_qs: Vec<&Vec<f64>> = match &func {
        HistFn::Quantile(qs) => vec![qs],
        HistFn::Quantiles(_, qss) => qss.iter().collect(),
        HistFn::Fraction(..) => Vec::new(),
    };
    for qs in all_qs {
        for &q in qs {
            if q.is_nan() || !(0.0..=1.0).contains(&q) {
                ev.warn(format!(
                    "quantile value should be between 0 and 1, got {}",
                    format_float_go(q)
                ));
            }
        }
    }
    ev.note_pos = vector_pos;
    // Per input series: its group and bucket bound (None: bad `le`).
    let mut groups: HashMap<Labels, usize> = HashMap::new();
    let mut group_labels: Vec<Labels> = Vec::new();
    let mut group_name: Vec<String> = Vec::new();
    let mut member: Vec<Option<(usize, f64)>> = Vec::with_capacity(input.len());
    for s in input {
        let le = s.labels.get(BUCKET_LABEL).unwrap_or("");
        let Some(upper) = parse_bound(le) else {
            member.push(None);
            continue;
        };
        let sig = s.labels.drop_names(&[BUCKET_LABEL.to_string()]);
        let next = groups.len();
        let g = *groups.entry(sig).or_insert(next);
        if g == next {
            group_labels.push(
                s.labels
                    .drop_names(&[BUCKET_LABEL.to_string(), METRIC_NAME.to_string()]),
            );
            group_name.push(s.labels.metric_name().unwrap_or("").to_string());
        }
        member.push(Some((g, upper)));
    }
    let mut buckets: Vec<Vec<Bucket>> = vec![Vec::new(); group_labels.len()];
    let mut builder = OutputBuilder::new();
    let slots: Vec<usize> = match &func {
        HistFn::Quantiles(..) => Vec::new(),
        _ => group_labels.iter().map(|l| builder.slot(l)).collect(),
    };
    let mut cursor = StepCursor::new(input);
    let mut present = Vec::new();
    let mut hpos = vec![0usize; input.len()];
    for (step, ts) in grid.timestamps().enumerate() {
        ev.limits.tick()?;
        cursor.at(ts, &mut present);
        for b in buckets.iter_mut() {
            b.clear();
        }
        for &(i, v) in &present {
            match member[i] {
                Some((g, upper)) => buckets[g].push(Bucket { upper, count: v }),
                None => ev.warn(format!(
                    "bucket label {} is missing or has a malformed value of {} for metric name {}",
                    go_quote(BUCKET_LABEL),
                    go_quote(input[i].labels.get(BUCKET_LABEL).unwrap_or("")),
                    go_quote(input[i].labels.metric_name().unwrap_or(""))
                )),
            }
        }
        // Native histograms at this step; one sharing its labels with a
        // classic group that has buckets here conflicts: neither is used.
        for (i, s) in input.iter().enumerate() {
            let p = &mut hpos[i];
            while *p < s.hists.len() && s.hists[*p].t < ts {
                *p += 1;
            }
            let Some(hp) = s.hists.get(*p).filter(|hp| hp.t == ts) else {
                continue;
            };
            *p += 1;
            if let Some(&g) = groups.get(&s.labels) {
                if !buckets[g].is_empty() {
                    ev.warn(format!(
                        "vector contains a mix of classic and native histograms for metric name {}",
                        go_quote(s.labels.metric_name().unwrap_or(""))
                    ));
                    buckets[g].clear();
                    continue;
                }
            }
            native_point(ev, &func, step, ts, &s.labels, &hp.h, &mut builder)?;
        }
        for (g, b) in buckets.iter_mut().enumerate() {
            if b.is_empty() {
                continue;
            }
            match &func {
                HistFn::Quantile(qs) => {
                    let q = qs.get(step).copied().unwrap_or(f64::NAN);
                    let v = quantile_noting(ev, q, b, &group_name[g]);
                    builder.push_to(slots[g], true, ts, v)?;
                }
                HistFn::Quantiles(label, qss) => {
                    for qs in qss {
                        let q = qs.get(step).copied().unwrap_or(f64::NAN);
                        let mut copy = b.clone();
                        let v = quantile_noting(ev, q, &mut copy, &group_name[g]);
                        let mut l = group_labels[g].clone();
                        l.set(label, &format_openmetrics_float(q));
                        builder.push(&l, true, ts, v)?;
                    }
                }
                HistFn::Fraction(lo, hi) => {
                    let lo = lo.get(step).copied().unwrap_or(f64::NAN);
                    let hi = hi.get(step).copied().unwrap_or(f64::NAN);
                    let v = bucket_fraction(lo, hi, b);
                    builder.push_to(slots[g], true, ts, v)?;
                }
            }
        }
    }
    Ok(builder.finish())
}

/// `histogram_quantile(s)` / `histogram_fraction` of one native histogram
/// (labels kept, name dropped), with the NaN-observation infos.
fn native_point(
    ev: &mut Evaluator<'_>,
    func: &HistFn,
    step: usize,
    ts: i64,
    labels: &Labels,
    h: &FloatHistogram,
    builder: &mut OutputBuilder,
) -> Result<(), QueryError> {
    let name = labels.metric_name().unwrap_or("");
    // A NaN sum with fewer bucketed observations than the count means NaN
    // observations (a NaN sum alone may come from ±Inf observations).
    let bucketed: f64 = h.zero_count
        + h.positive_buckets.iter().sum::<f64>()
        + h.negative_buckets.iter().sum::<f64>();
    let nan_obs = h.sum.is_nan() && h.count > 0.0 && bucketed < h.count;
    let quantile = |ev: &mut Evaluator<'_>, q: f64| -> f64 {
        let v = h.quantile(q);
        if nan_obs && (0.0..=1.0).contains(&q) {
            let what = if v.is_nan() {
                "result is NaN"
            } else {
                "result is skewed higher"
            };
            ev.info(format!(
                "input to histogram_quantile has NaN observations, {what}{}",
                metric_suffix(name)
            ));
        }
        v
    };
    match func {
        HistFn::Quantile(qs) => {
            let q = qs.get(step).copied().unwrap_or(f64::NAN);
            let v = quantile(ev, q);
            builder.push(labels, true, ts, v)?;
        }
        HistFn::Quantiles(label, qss) => {
            for qs in qss {
                let q = qs.get(step).copied().unwrap_or(f64::NAN);
                let v = quantile(ev, q);
                let mut l = labels.clone();
                l.set(label, &format_openmetrics_float(q));
                builder.push(&l, true, ts, v)?;
            }
        }
        HistFn::Fraction(lo, hi) => {
            let lo = lo.get(step).copied().unwrap_or(f64::NAN);
            let hi = hi.get(step).copied().unwrap_or(f64::NAN);
            if nan_obs {
                ev.info(format!(
                    "input to histogram_fraction has NaN observations, which are excluded from all fractions{}",
                    metric_suffix(name)
                ));
            }
            builder.push(labels, true, ts, h.fraction(lo, hi))?;
        }
    }
    Ok(())
}

/// Prometheus' `maybeAddMetricName`.
fn metric_suffix(name: &str) -> String {
    if name.is_empty() {
        String::new()
    } else {
        format!(" for metric name {}", go_quote(name))
    }
}

fn quantile_noting(ev: &mut Evaluator<'_>, q: f64, b: &mut Vec<Bucket>, name: &str) -> f64 {
    let (v, forced) = bucket_quantile(q, b);
    if forced {
        ev.info(format!(
            "input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {}",
            go_quote(name)
        ));
    }
    v
}

/// Formats a float as OpenMetrics does (`1.0`, `0.25`, `NaN`, `+Inf`).
pub(crate) fn format_openmetrics_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let s = format_float_g(f);
    if s.contains(['e', '.']) {
        s
    } else {
        format!("{s}.0")
    }
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
fn format_float_g(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e6).contains(&abs) {
        let s = format!("{f:e}");
        if let Some((mant, exp)) = s.split_once('e') {
            let (sign, digits) = match exp.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', exp),
            };
            return format!("{mant}e{sign}{digits:0>2}");
        }
        return s;
    }
    format!("{f}")
}

/// Parses an `le` value like Go's `strconv.ParseFloat`.
fn parse_bound(s: &str) -> Option<f64> {
    if s.is_empty() {
        return None;
    }
    s.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(pairs: &[(f64, f64)]) -> Vec<Bucket> {
        pairs
            .iter()
            .map(|&(upper, count)| Bucket { upper, count })
            .collect()
    }

    #[test]
    fn quantile_interpolates() {
        let mut x = b(&[
            (0.0, 0.0),
            (2.0, 1.0),
            (4.0, 2.0),
            (6.0, 3.0),
            (f64::INFINITY, 3.0),
        ]);
        assert_eq!(bucket_quantile(0.5, &mut x).0, 3.0);
        assert!(bucket_quantile(f64::NAN, &mut x).0.is_nan());
        assert_eq!(bucket_quantile(2.0, &mut x).0, f64::INFINITY);
        // Falls into +Inf: upper bound of the second highest bucket.
        let mut y = b(&[(1.0, 1.0), (f64::INFINITY, 10.0)]);
        assert_eq!(bucket_quantile(0.9, &mut y).0, 1.0);
        // No +Inf bucket.
        let mut z = b(&[(1.0, 1.0), (2.0, 2.0)]);
        assert!(bucket_quantile(0.5, &mut z).0.is_nan());
    }

    #[test]
    fn quantile_forces_monotonicity() {
        let mut x = b(&[(1.0, 5.0), (2.0, 3.0), (f64::INFINITY, 10.0)]);
        let (v, forced) = bucket_quantile(0.5, &mut x);
        assert!(forced);
        assert_eq!(v, 1.0);
    }

    #[test]
    fn fraction_matches_prometheus_examples() {
        let mut x = b(&[(1.0, 1.0), (2.0, 3.0), (3.0, 6.0), (f64::INFINITY, 100.0)]);
        assert!((bucket_fraction(0.0, 1.5, &mut x) - 0.02).abs() < 1e-12);
        assert!((bucket_fraction(400.0, f64::INFINITY, &mut x) - 0.94).abs() < 1e-12);
        assert_eq!(bucket_fraction(4.0, 5.0, &mut x), 0.0);
        let mut n = b(&[
            (-3.0, 10.0),
            (-2.0, 12.0),
            (-1.0, 15.0),
            (f64::INFINITY, 100.0),
        ]);
        assert!((bucket_fraction(-4.0, -2.0, &mut n) - 0.02).abs() < 1e-12);
        assert!((bucket_fraction(f64::NEG_INFINITY, -1.5, &mut n) - 0.135).abs() < 1e-12);
    }
}
