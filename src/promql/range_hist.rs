//! Range-vector functions over windows holding native histograms, as
//! Prometheus 3.x computes them: `rate`/`increase`/`delta` (counter resets via
//! `detect_reset`, schema reduction across the window, NHCB bound
//! reconciliation, extrapolation on the count), `irate`/`idelta`,
//! `changes`/`resets`, `sum_over_time`/`avg_over_time`, `last`/`first_over_time`,
//! and the float-only functions that ignore histograms (with Prometheus'
//! "ignored histograms" info). Annotations are collected in [`Notes`] and
//! emitted by the caller at the range argument's position.

use crate::model::histogram::{CounterResetHint, HistogramError};
use crate::model::{FloatHistogram, HistogramSample, Sample};

use super::util::go_quote;

/// A window function's result: a float or a histogram.
pub(crate) enum WinOut {
    F(f64),
    H(Box<FloatHistogram>),
}

/// Annotations raised while evaluating one series' windows.
#[derive(Default)]
pub(crate) struct Notes {
    pub warns: Vec<String>,
    pub infos: Vec<String>,
}

impl Notes {
    pub fn warn(&mut self, msg: String) {
        if !self.warns.contains(&msg) {
            self.warns.push(msg);
        }
    }
    /// Emits the collected annotations at the evaluator's `note_pos`.
    pub fn emit(self, ev: &mut super::eval::Evaluator<'_>) {
        for w in self.warns {
            ev.warn(w);
        }
        for i in self.infos {
            ev.info(i);
        }
    }
    pub fn info(&mut self, msg: String) {
        if !self.infos.contains(&msg) {
            self.infos.push(msg);
        }
    }
}

pub(crate) fn mixed_floats_hists(name: &str) -> String {
    format!(
        "encountered a mix of histograms and floats for metric name {}",
        go_quote(name)
    )
}

pub(crate) fn mixed_exp_custom(name: &str) -> String {
    format!(
        "vector contains a mix of histograms with exponential and custom buckets schemas for metric name {}",
        go_quote(name)
    )
}

fn not_counter(name: &str) -> String {
    format!(
        "this native histogram metric is not a counter: {}",
        go_quote(name)
    )
}

fn not_gauge(name: &str) -> String {
    format!(
        "this native histogram metric is not a gauge: {}",
        go_quote(name)
    )
}

pub(crate) fn ignored_in_mixed_range(name: &str) -> String {
    format!(
        "ignored histograms in a range containing both floats and histograms for metric name {}",
        go_quote(name)
    )
}

pub(crate) fn reconciled(op: &str) -> String {
    format!("mismatched custom buckets were reconciled during {op}")
}

pub(crate) const COUNTER_RESET_COLLISION: &str =
    "conflicting counter resets during histogram aggregation";

fn is_gauge(h: &FloatHistogram) -> bool {
    h.counter_reset_hint == CounterResetHint::Gauge
}

/// Prometheus' `histogramRate`: the (unextrapolated) increase of a counter
/// histogram (or change of a gauge histogram) over `points` (at least two).
/// `None` when the histograms cannot be combined (a warning is noted).
pub(crate) fn histogram_rate(
    points: &[HistogramSample],
    is_counter: bool,
    name: &str,
    notes: &mut Notes,
) -> Option<FloatHistogram> {
    let n = points.len();
    let first = &*points[0].h;
    let last = &*points[n - 1].h;
    let mut local = Notes::default();
    if is_counter && (is_gauge(first) || is_gauge(last)) {
        local.warn(not_counter(name));
    }
    // A reset between the 1st and 2nd sample: the 1st is not needed (its
    // layout may even be incompatible).
    let zeroed;
    let mut prev: &FloatHistogram = first;
    let mut custom = first.uses_custom_buckets();
    if is_counter && n > 1 {
        let second = &*points[1].h;
        if second.detect_reset(first) {
            zeroed = FloatHistogram {
                schema: second.schema,
                custom_values: second.custom_values.clone(),
                ..Default::default()
            };
            prev = &zeroed;
            custom = second.uses_custom_buckets();
        }
    }
    if last.uses_custom_buckets() != custom {
        notes.warns.extend(local.warns);
        notes.warn(mixed_exp_custom(name));
        return None;
    }
    let mut min_schema = last.schema.min(prev.schema);
    for p in &points[1..n - 1] {
        let curr = &*p.h;
        if !is_counter {
            continue;
        }
        if is_gauge(curr) {
            local.warn(not_counter(name));
        }
        min_schema = min_schema.min(curr.schema);
        if curr.uses_custom_buckets() != custom {
            // Prometheus returns only this warning here.
            notes.warn(mixed_exp_custom(name));
            return None;
        }
    }
    let mut h = match last.copy_to_schema(min_schema) {
        Ok(h) => h,
        Err(_) => {
            notes.warn(mixed_exp_custom(name));
            return None;
        }
    };
    match h.sub(prev) {
        Ok(o) => {
            if o.nhcb_bounds_reconciled {
                local.info(reconciled("subtraction"));
            }
        }
        Err(HistogramError::IncompatibleSchema) => {
            notes.warn(mixed_exp_custom(name));
            return None;
        }
        Err(_) => {}
    }
    if is_counter {
        let mut prev = prev;
        for p in &points[1..] {
            let curr = &*p.h;
            if curr.detect_reset(prev) {
                match h.add(prev) {
                    Ok(o) => {
                        if o.nhcb_bounds_reconciled {
                            local.info(reconciled("addition"));
                        }
                    }
                    Err(HistogramError::IncompatibleSchema) => {
                        notes.warn(mixed_exp_custom(name));
                        return None;
                    }
                    Err(_) => {}
                }
            }
            prev = curr;
        }
    } else if !is_gauge(first) || !is_gauge(last) {
        local.warn(not_gauge(name));
    }
    notes.warns.extend(local.warns);
    notes.infos.extend(local.infos);
    h.counter_reset_hint = CounterResetHint::Gauge;
    h.compact(0);
    Some(h)
}

/// `rate`/`increase`/`delta` of a histogram window: [`histogram_rate`]
/// extrapolated like the float version (using the count for the zero point).
#[allow(clippy::too_many_arguments)]
pub(crate) fn extrapolated_histogram_rate(
    points: &[HistogramSample],
    range_start: i64,
    range_end: i64,
    range_ms: i64,
    is_counter: bool,
    is_rate: bool,
    name: &str,
    notes: &mut Notes,
) -> Option<FloatHistogram> {
    if points.len() < 2 {
        return None;
    }
    let mut h = histogram_rate(points, is_counter, name, notes)?;
    let first = &points[0];
    let last = &points[points.len() - 1];
    let mut to_start = (first.t - range_start) as f64 / 1000.0;
    let mut to_end = (range_end - last.t) as f64 / 1000.0;
    let sampled = (last.t - first.t) as f64 / 1000.0;
    let avg_step = sampled / (points.len() - 1) as f64;
    let threshold = avg_step * 1.1;
    if to_start >= threshold {
        to_start = avg_step / 2.0;
    }
    if is_counter {
        let mut to_zero = to_start;
        if h.count > 0.0 && first.h.count >= 0.0 {
            to_zero = sampled * (first.h.count / h.count);
        }
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    if to_end >= threshold {
        to_end = avg_step / 2.0;
    }
    let mut factor = (sampled + to_start + to_end) / sampled;
    if is_rate {
        factor /= range_ms as f64 / 1000.0;
    }
    h.mul(factor);
    Some(h)
}

/// A point of either kind, for functions that walk both in time order.
#[derive(Clone, Copy)]
enum Pt<'a> {
    F(f64),
    H(&'a FloatHistogram),
}

/// Floats and histograms merged by time.
fn merged<'a>(floats: &'a [Sample], hists: &'a [HistogramSample]) -> Vec<(i64, Pt<'a>)> {
    let mut out = Vec::with_capacity(floats.len() + hists.len());
    let (mut i, mut j) = (0, 0);
    while i < floats.len() || j < hists.len() {
        if j >= hists.len() || (i < floats.len() && floats[i].t < hists[j].t) {
            out.push((floats[i].t, Pt::F(floats[i].v)));
            i += 1;
        } else {
            out.push((hists[j].t, Pt::H(&hists[j].h)));
            j += 1;
        }
    }
    out
}

/// `irate` / `idelta` over a window with histograms: from its last two
/// points (of either kind).
pub(crate) fn instant_value_mixed(
    floats: &[Sample],
    hists: &[HistogramSample],
    is_rate: bool,
    name: &str,
    notes: &mut Notes,
) -> Option<WinOut> {
    let all = merged(
        &floats[floats.len().saturating_sub(2)..],
        &hists[hists.len().saturating_sub(2)..],
    );
    if all.len() < 2 {
        return None;
    }
    let (t0, p0) = all[all.len() - 2];
    let (t1, p1) = all[all.len() - 1];
    let interval = t1 - t0;
    if interval == 0 {
        return None;
    }
    let secs = interval as f64 / 1000.0;
    match (p0, p1) {
        (Pt::F(a), Pt::F(b)) => {
            let mut v = if is_rate && b < a { b } else { b - a };
            if is_rate {
                v /= secs;
            }
            Some(WinOut::F(v))
        }
        (Pt::H(a), Pt::H(b)) => {
            let mut h = b.clone();
            if is_rate && (is_gauge(a) || is_gauge(b)) {
                notes.warn(not_counter(name));
            }
            if !is_rate && (!is_gauge(a) || !is_gauge(b)) {
                notes.warn(not_gauge(name));
            }
            if !is_rate || !b.detect_reset(a) {
                match h.sub(a) {
                    Ok(o) => {
                        if o.nhcb_bounds_reconciled {
                            notes.info(reconciled("subtraction"));
                        }
                    }
                    Err(HistogramError::IncompatibleSchema) => {
                        notes.warn(mixed_exp_custom(name));
                        return None;
                    }
                    Err(_) => {}
                }
            }
            h.counter_reset_hint = CounterResetHint::Gauge;
            h.compact(0);
            if is_rate {
                h.div(secs);
            }
            Some(WinOut::H(Box::new(h)))
        }
        _ => {
            notes.warn(mixed_floats_hists(name));
            None
        }
    }
}

/// `changes` (`resets` when `resets`) over floats and histograms in time order.
pub(crate) fn changes_or_resets(floats: &[Sample], hists: &[HistogramSample], resets: bool) -> f64 {
    let all = merged(floats, hists);
    let mut n = 0usize;
    for w in all.windows(2) {
        let hit = match (w[0].1, w[1].1) {
            (Pt::F(a), Pt::F(b)) => {
                if resets {
                    b < a
                } else {
                    b != a && !(a.is_nan() && b.is_nan())
                }
            }
            (Pt::H(a), Pt::H(b)) => {
                if resets {
                    b.detect_reset(a)
                } else {
                    !b.equals(a)
                }
            }
            _ => true,
        };
        if hit {
            n += 1;
        }
    }
    n as f64
}

/// `last_over_time` / `first_over_time` with histograms: the newest (oldest)
/// point of either kind.
pub(crate) fn last_or_first(
    floats: &[Sample],
    hists: &[HistogramSample],
    last: bool,
) -> Option<WinOut> {
    let (f, h) = if last {
        (floats.last(), hists.last())
    } else {
        (floats.first(), hists.first())
    };
    match (f, h) {
        (Some(f), Some(h)) => {
            let float_wins = if last { h.t < f.t } else { f.t < h.t };
            if float_wins {
                Some(WinOut::F(f.v))
            } else {
                Some(WinOut::H(h.h.clone()))
            }
        }
        (Some(f), None) => Some(WinOut::F(f.v)),
        (None, Some(h)) => Some(WinOut::H(h.h.clone())),
        (None, None) => None,
    }
}

/// Tracks hints for the "conflicting counter resets" warning of
/// `sum_over_time` / `avg_over_time`.
#[derive(Default)]
struct HintTracker {
    reset: bool,
    not_reset: bool,
    reconciled: bool,
}

impl HintTracker {
    fn see(&mut self, h: &FloatHistogram) {
        match h.counter_reset_hint {
            CounterResetHint::CounterReset => self.reset = true,
            CounterResetHint::NotCounterReset => self.not_reset = true,
            _ => {}
        }
    }
    fn finish(self, notes: &mut Notes) {
        if self.reset && self.not_reset {
            notes.warn(COUNTER_RESET_COLLISION.to_string());
        }
        if self.reconciled {
            notes.info(reconciled("aggregation"));
        }
    }
}

/// `sum_over_time` of histograms (compensated summation).
pub(crate) fn sum_hists(
    hists: &[HistogramSample],
    name: &str,
    notes: &mut Notes,
) -> Option<FloatHistogram> {
    let mut track = HintTracker::default();
    let mut sum = (*hists[0].h).clone();
    track.see(&sum);
    let mut comp = FloatHistogram::default();
    let mut failed = false;
    for p in &hists[1..] {
        track.see(&p.h);
        match sum.kahan_add(&p.h, &mut comp) {
            Ok(o) => track.reconciled |= o.nhcb_bounds_reconciled,
            Err(HistogramError::IncompatibleSchema) => {
                failed = true;
                break;
            }
            Err(_) => break,
        }
    }
    if failed {
        notes.warn(mixed_exp_custom(name));
        return None;
    }
    if hists.len() > 1 {
        sum.kahan_finish(&comp);
    }
    track.finish(notes);
    Some(sum)
}

fn overflows(h: &FloatHistogram) -> bool {
    !h.count.is_finite() && !h.count.is_nan()
        || h.sum.is_infinite()
        || h.zero_count.is_infinite()
        || h.positive_buckets.iter().any(|b| b.is_infinite())
        || h.negative_buckets.iter().any(|b| b.is_infinite())
}

/// `avg_over_time` of histograms: compensated direct mean, switching to an
/// incremental mean if the running sum would overflow.
pub(crate) fn avg_hists(
    hists: &[HistogramSample],
    name: &str,
    notes: &mut Notes,
) -> Option<FloatHistogram> {
    let mut track = HintTracker::default();
    let mut sum = (*hists[0].h).clone();
    track.see(&sum);
    let mut comp = FloatHistogram::default();
    let mut mean: Option<FloatHistogram> = None;
    let mut count = 1.0;
    for (i, p) in hists.iter().enumerate().skip(1) {
        track.see(&p.h);
        count = (i + 1) as f64;
        if mean.is_none() {
            let mut s2 = sum.clone();
            let mut c2 = comp.clone();
            match s2.kahan_add(&p.h, &mut c2) {
                Ok(o) => track.reconciled |= o.nhcb_bounds_reconciled,
                Err(HistogramError::IncompatibleSchema) => {
                    notes.warn(mixed_exp_custom(name));
                    return None;
                }
                Err(_) => {
                    sum.div(count);
                    return Some(sum);
                }
            }
            if !overflows(&s2) {
                sum = s2;
                comp = c2;
                continue;
            }
            let mut m = sum.clone();
            m.div(count - 1.0);
            comp.div(count - 1.0);
            mean = Some(m);
        }
        let q = (count - 1.0) / count;
        comp.mul(q);
        let mut to_add = (*p.h).clone();
        to_add.div(count);
        if let Some(m) = mean.as_mut() {
            m.mul(q);
            match m.kahan_add(&to_add, &mut comp) {
                Ok(o) => track.reconciled |= o.nhcb_bounds_reconciled,
                Err(HistogramError::IncompatibleSchema) => {
                    notes.warn(mixed_exp_custom(name));
                    return None;
                }
                Err(_) => return mean,
            }
        }
    }
    track.finish(notes);
    match mean {
        Some(mut m) => {
            m.kahan_finish(&comp);
            Some(m)
        }
        None => {
            sum.div(count);
            if hists.len() > 1 {
                comp.div(count);
                sum.kahan_finish(&comp);
            }
            Some(sum)
        }
    }
}

/// The hints Prometheus' `HistogramStatsIterator` gives the samples of a
/// series: an explicit hint is kept; otherwise the first sample stays
/// unknown and every later one is `CounterReset` or `NotCounterReset` by
/// comparison with its predecessor.
pub(crate) fn compute_stats_hints(hists: &mut [HistogramSample]) {
    for i in 1..hists.len() {
        if hists[i].h.counter_reset_hint != CounterResetHint::Unknown {
            continue;
        }
        let (before, rest) = hists.split_at_mut(i);
        let cur = &mut rest[0].h;
        let reset = cur.detect_reset(&before[i - 1].h);
        cur.counter_reset_hint = if reset {
            CounterResetHint::CounterReset
        } else {
            CounterResetHint::NotCounterReset
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::histogram::parse_histogram_literal;

    fn hs(points: &[(i64, &str)]) -> Vec<HistogramSample> {
        points
            .iter()
            .map(|(t, s)| HistogramSample {
                t: *t,
                h: Box::new(parse_histogram_literal(s).unwrap().0),
            })
            .collect()
    }

    #[test]
    fn rate_corrects_resets_and_marks_gauge() {
        let p = hs(&[
            (0, "{{schema:0 count:4 sum:4 buckets:[4]}}"),
            (60_000, "{{schema:0 count:8 sum:8 buckets:[8]}}"),
            (120_000, "{{schema:0 count:2 sum:2 buckets:[2]}}"),
        ]);
        let mut notes = Notes::default();
        let h = histogram_rate(&p, true, "m", &mut notes).unwrap();
        // 8 - 4 + 2 (after the reset, from zero) = 6.
        assert_eq!(h.count, 6.0);
        assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
        assert!(notes.warns.is_empty());
        // delta of non-gauge histograms warns.
        let h = histogram_rate(&p, false, "m", &mut notes).unwrap();
        assert_eq!(h.count, -2.0);
        assert_eq!(notes.warns, vec![not_gauge("m")]);
    }

    #[test]
    fn rate_refuses_mixed_schemas() {
        let p = hs(&[
            (0, "{{schema:0 count:1 sum:1 buckets:[1]}}"),
            (
                60_000,
                "{{schema:-53 count:2 sum:2 custom_values:[1] buckets:[2]}}",
            ),
            (120_000, "{{schema:0 count:3 sum:3 buckets:[3]}}"),
        ]);
        let mut notes = Notes::default();
        assert!(histogram_rate(&p, true, "m", &mut notes).is_none());
        assert_eq!(notes.warns, vec![mixed_exp_custom("m")]);
    }

    #[test]
    fn irate_and_changes_over_mixed_points() {
        let h = hs(&[(60_000, "{{count:3 sum:3 buckets:[3]}}")]);
        let f = [Sample::new(0, 1.0)];
        let mut notes = Notes::default();
        assert!(instant_value_mixed(&f, &h, true, "m", &mut notes).is_none());
        assert_eq!(notes.warns, vec![mixed_floats_hists("m")]);
        // float -> histogram counts as a change and as a reset.
        assert_eq!(changes_or_resets(&f, &h, false), 1.0);
        assert_eq!(changes_or_resets(&f, &h, true), 1.0);
        assert!(matches!(last_or_first(&f, &h, true), Some(WinOut::H(_))));
        assert!(matches!(last_or_first(&f, &h, false), Some(WinOut::F(v)) if v == 1.0));
    }

    #[test]
    fn sum_and_avg_over_time() {
        let p = hs(&[
            (0, "{{count:2 sum:2 buckets:[2]}}"),
            (60_000, "{{count:4 sum:6 buckets:[4]}}"),
        ]);
        let mut notes = Notes::default();
        let s = sum_hists(&p, "m", &mut notes).unwrap();
        assert_eq!((s.count, s.sum), (6.0, 8.0));
        let a = avg_hists(&p, "m", &mut notes).unwrap();
        assert_eq!((a.count, a.sum), (3.0, 4.0));
        assert!(notes.warns.is_empty());
    }

    #[test]
    fn stats_hints_detect_resets() {
        let mut p = hs(&[
            (0, "{{count:2 sum:2 buckets:[2]}}"),
            (1, "{{count:4 sum:4 buckets:[4]}}"),
            (2, "{{count:1 sum:1 buckets:[1]}}"),
        ]);
        compute_stats_hints(&mut p);
        let hints: Vec<_> = p.iter().map(|x| x.h.counter_reset_hint).collect();
        assert_eq!(
            hints,
            vec![
                CounterResetHint::Unknown,
                CounterResetHint::NotCounterReset,
                CounterResetHint::CounterReset
            ]
        );
    }
}
