//! `anchored` / `smoothed` range windows over native histograms (Prometheus'
//! `extendedHistogramRate` and the anchored `changes`/`resets`): the window's
//! boundary values are picked (anchored) or linearly interpolated (smoothed)
//! from the raw samples around the window, a counter restarting from zero
//! across a reset.

use crate::model::histogram::{CounterResetHint, HistogramError};
use crate::model::{FloatHistogram, HistogramSample, Sample};

use super::range_hist::{mixed_exp_custom, reconciled, Notes};
use super::util::go_quote;

/// `h1 + (h2 - h1) * fraction` at `t`; for a counter reset between them,
/// `h2 * fraction` (the counter restarted from zero).
fn interpolate(
    a: &HistogramSample,
    b: &HistogramSample,
    t: i64,
    is_counter: bool,
    notes: &mut Notes,
) -> Result<FloatHistogram, HistogramError> {
    if t == a.t {
        return Ok((*a.h).clone());
    }
    if t == b.t {
        return Ok((*b.h).clone());
    }
    if a.h.uses_custom_buckets() != b.h.uses_custom_buckets() {
        return Err(HistogramError::IncompatibleSchema);
    }
    let fraction = (t - a.t) as f64 / (b.t - a.t) as f64;
    if is_counter && b.h.detect_reset(&a.h) {
        let mut r = (*b.h).clone();
        r.mul(fraction);
        return Ok(r);
    }
    let mut r = (*b.h).clone();
    if r.sub(&a.h)?.nhcb_bounds_reconciled {
        notes.info(reconciled("subtraction"));
    }
    r.mul(fraction);
    if r.add(&a.h)?.nhcb_bounds_reconciled {
        notes.info(reconciled("addition"));
    }
    Ok(r)
}

/// `a += b` (or `-=`), noting reconciled bounds; false (with the mixed-schema
/// warning where it applies) if the histograms cannot be combined.
fn combine(
    a: &mut FloatHistogram,
    b: &FloatHistogram,
    sub: bool,
    name: &str,
    notes: &mut Notes,
) -> bool {
    let r = if sub { a.sub(b) } else { a.add(b) };
    match r {
        Ok(o) => {
            if o.nhcb_bounds_reconciled {
                notes.info(reconciled(if sub { "subtraction" } else { "addition" }));
            }
            true
        }
        Err(HistogramError::IncompatibleSchema) => {
            notes.warn(mixed_exp_custom(name));
            false
        }
        Err(_) => false,
    }
}

/// The correction for counter resets strictly inside the window (the
/// boundary values already account for resets they were interpolated across).
#[allow(clippy::too_many_arguments)]
fn reset_correction(
    h: &[HistogramSample],
    first: usize,
    last: usize,
    left: &FloatHistogram,
    right: &FloatHistogram,
    range_start: i64,
    smoothed: bool,
    name: &str,
    notes: &mut Notes,
) -> Result<Option<FloatHistogram>, ()> {
    let mut first_to_check = first + 1;
    let mut prev: &FloatHistogram = left;
    if smoothed && h[first].t < range_start {
        if let Some(next) = h.get(first + 1) {
            if next.h.detect_reset(&h[first].h) {
                prev = &next.h;
                first_to_check += 1;
            }
        }
    }
    // `last` is represented by `right`.
    if first_to_check > last {
        return Ok(None);
    }
    let mut correction: Option<FloatHistogram> = None;
    let add = |c: &mut Option<FloatHistogram>, p: &FloatHistogram, notes: &mut Notes| -> bool {
        match c {
            None => {
                *c = Some(p.clone());
                true
            }
            Some(c) => combine(c, p, false, name, notes),
        }
    };
    for p in &h[first_to_check..last] {
        if p.h.detect_reset(prev) && !add(&mut correction, prev, notes) {
            return Err(());
        }
        prev = &p.h;
    }
    if right.detect_reset(prev) && !add(&mut correction, prev, notes) {
        return Err(());
    }
    Ok(correction)
}

/// `rate`/`increase`/`delta` of an `anchored`/`smoothed` histogram window;
/// `h` holds the samples loaded around the window `(range_start, range_end]`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn extended_histogram_rate(
    h: &[HistogramSample],
    range_start: i64,
    range_end: i64,
    range_ms: i64,
    is_counter: bool,
    is_rate: bool,
    smoothed: bool,
    name: &str,
    notes: &mut Notes,
) -> Option<FloatHistogram> {
    let mut last = h.len().checked_sub(1)?;
    let first = h[..last]
        .partition_point(|p| p.t <= range_start)
        .saturating_sub(1);
    if smoothed {
        last = h[..last].partition_point(|p| p.t < range_end);
    }
    if h[last].t <= range_start || (smoothed && h[first].t > range_end) {
        return None;
    }
    // Validate the window: one kind of schema; gauges are not counters.
    let custom = h[first].h.uses_custom_buckets();
    for p in &h[first..=last] {
        if p.h.uses_custom_buckets() != custom {
            notes.warn(mixed_exp_custom(name));
            return None;
        }
        if is_counter && p.h.counter_reset_hint == CounterResetHint::Gauge {
            notes.warn(format!(
                "this native histogram metric is not a counter: {}",
                go_quote(name)
            ));
        }
    }
    let left = if smoothed && h[first].t < range_start {
        interpolate(&h[first], h.get(first + 1)?, range_start, is_counter, notes)
    } else {
        Ok((*h[first].h).clone())
    };
    let right = if smoothed && last > 0 && h[last].t > range_end {
        interpolate(&h[last - 1], &h[last], range_end, is_counter, notes)
    } else {
        Ok((*h[last].h).clone())
    };
    let (left, right) = match (left, right) {
        (Ok(l), Ok(r)) => (l, r),
        (Err(e), _) | (_, Err(e)) => {
            if e == HistogramError::IncompatibleSchema {
                notes.warn(mixed_exp_custom(name));
            }
            return None;
        }
    };
    let gauge = |x: &FloatHistogram| x.counter_reset_hint == CounterResetHint::Gauge;
    if !is_counter && (!gauge(&left) || !gauge(&right)) {
        notes.warn(format!(
            "this native histogram metric is not a gauge: {}",
            go_quote(name)
        ));
    }
    let mut result = right.clone();
    if !combine(&mut result, &left, true, name, notes) {
        return None;
    }
    if is_counter {
        let correction = reset_correction(
            h,
            first,
            last,
            &left,
            &right,
            range_start,
            smoothed,
            name,
            notes,
        )
        .ok()?;
        if let Some(c) = correction {
            if !combine(&mut result, &c, false, name, notes) {
                return None;
            }
        }
    }
    if is_rate {
        result.div(range_ms as f64 / 1000.0);
    }
    result.counter_reset_hint = CounterResetHint::Gauge;
    result.compact(0);
    Some(result)
}

/// Anchored `changes` / `resets` over floats and histograms: from the last
/// sample at or before the window start (the anchor) to the window end.
/// `None` when no sample falls inside the window.
pub(crate) fn anchored_changes_or_resets(
    floats: &[Sample],
    hists: &[HistogramSample],
    range_start: i64,
    resets: bool,
) -> Option<f64> {
    let last_t = floats
        .last()
        .map(|p| p.t)
        .into_iter()
        .chain(hists.last().map(|p| p.t))
        .max()?;
    if last_t <= range_start {
        return None;
    }
    let anchor_t = floats
        .iter()
        .map(|p| p.t)
        .chain(hists.iter().map(|p| p.t))
        .filter(|&t| t <= range_start)
        .max();
    let (fl, hs) = match anchor_t {
        Some(t) => (
            &floats[floats.partition_point(|p| p.t < t)..],
            &hists[hists.partition_point(|p| p.t < t)..],
        ),
        None => (floats, hists),
    };
    Some(super::range_hist::changes_or_resets(fl, hs, resets))
}

/// A `smoothed` instant selector over a series holding histograms: per step
/// (reference time `refs[i]`), the samples in `(ref - lookback, ref +
/// lookback]` must be of one kind; the value is the sample at `ref`, else
/// interpolated between its neighbours (histograms as counters unless both
/// are gauges), else the last one carried forward (its hint dropped).
pub(crate) fn smoothed_series(
    floats: &[Sample],
    hists: &[HistogramSample],
    steps: &[(i64, i64)],
    lookback: i64,
    name: &str,
    notes: &mut Notes,
) -> (Vec<Sample>, Vec<HistogramSample>) {
    let (mut fo, mut ho) = (Vec::new(), Vec::new());
    for &(ts, r) in steps {
        let (lo, hi) = (r.saturating_sub(lookback), r.saturating_add(lookback));
        let f =
            &floats[floats.partition_point(|p| p.t <= lo)..floats.partition_point(|p| p.t <= hi)];
        let h = &hists[hists.partition_point(|p| p.t <= lo)..hists.partition_point(|p| p.t <= hi)];
        if f.is_empty() && h.is_empty() {
            continue;
        }
        if !f.is_empty() && !h.is_empty() {
            notes.warn(super::range_hist::mixed_floats_hists(name));
            continue;
        }
        if !h.is_empty() {
            let i = h.partition_point(|p| p.t < r);
            match (i.checked_sub(1).and_then(|k| h.get(k)), h.get(i)) {
                (_, Some(next)) if next.t == r => ho.push(HistogramSample {
                    t: ts,
                    h: next.h.clone(),
                }),
                (Some(prev), Some(next)) => {
                    if prev.h.uses_custom_buckets() != next.h.uses_custom_buckets() {
                        notes.warn(mixed_exp_custom(name));
                        continue;
                    }
                    let is_counter = prev.h.counter_reset_hint != CounterResetHint::Gauge
                        || next.h.counter_reset_hint != CounterResetHint::Gauge;
                    match interpolate(prev, next, r, is_counter, notes) {
                        Ok(v) => ho.push(HistogramSample {
                            t: ts,
                            h: Box::new(v),
                        }),
                        Err(e) => {
                            if e == HistogramError::IncompatibleSchema {
                                notes.warn(mixed_exp_custom(name));
                            }
                        }
                    }
                }
                (Some(prev), None) => {
                    let mut c = (*prev.h).clone();
                    c.counter_reset_hint = CounterResetHint::Unknown;
                    ho.push(HistogramSample {
                        t: ts,
                        h: Box::new(c),
                    });
                }
                (None, _) => {}
            }
        } else {
            let i = f.partition_point(|p| p.t < r);
            match (i.checked_sub(1).and_then(|k| f.get(k)), f.get(i)) {
                (_, Some(next)) if next.t == r => fo.push(Sample::new(ts, next.v)),
                (Some(prev), Some(next)) => {
                    let frac = (r - prev.t) as f64 / (next.t - prev.t) as f64;
                    fo.push(Sample::new(ts, prev.v + (next.v - prev.v) * frac));
                }
                (Some(prev), None) => fo.push(Sample::new(ts, prev.v)),
                (None, _) => {}
            }
        }
    }
    (fo, ho)
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
    fn anchored_increase_with_reset_at_end() {
        let p = hs(&[
            (0, "{{schema:0 sum:5 count:5 buckets:[5]}}"),
            (30_000, "{{schema:0 sum:10 count:10 buckets:[10]}}"),
            (
                60_000,
                "{{schema:0 sum:3 count:3 buckets:[3] counter_reset_hint:reset}}",
            ),
        ]);
        let mut notes = Notes::default();
        let h = extended_histogram_rate(&p, 0, 70_000, 70_000, true, false, false, "m", &mut notes)
            .unwrap();
        assert_eq!(h.count, 8.0);
        assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
    }

    #[test]
    fn smoothed_interpolates_and_carries_forward() {
        let p = hs(&[
            (0, "{{schema:0 sum:1 count:1 buckets:[1]}}"),
            (15_000, "{{schema:0 sum:2 count:2 buckets:[2]}}"),
        ]);
        let mut notes = Notes::default();
        let (f, h) = smoothed_series(
            &[],
            &p,
            &[(5_000, 5_000), (20_000, 20_000)],
            300_000,
            "m",
            &mut notes,
        );
        assert!(f.is_empty());
        assert_eq!(h.len(), 2);
        assert!((h[0].h.count - 4.0 / 3.0).abs() < 1e-12);
        assert_eq!(h[1].h.count, 2.0);
        assert_eq!(h[1].h.counter_reset_hint, CounterResetHint::Unknown);
    }

    #[test]
    fn anchored_changes_use_the_anchor() {
        let f = [Sample::new(120_000, 5.0), Sample::new(180_000, 2.0)];
        let h = hs(&[(0, "{{count:1 sum:1}}"), (60_000, "{{count:2 sum:2}}")]);
        assert_eq!(anchored_changes_or_resets(&f, &h, 120_000, true), Some(1.0));
        assert_eq!(anchored_changes_or_resets(&f, &h, 180_000, true), None);
    }
}
