//! The experimental `anchored` and `smoothed` selector modifiers: a range
//! window gets a point exactly at each boundary (`anchored`: the nearest
//! sample at or before it; `smoothed`: linearly interpolated from the
//! samples around it), and a `smoothed` instant selector interpolates the
//! value at the evaluation time.

use crate::model::Sample;

/// How a matrix selector's windows are extended.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Extension {
    pub smoothed: bool,
    /// Interpolate as a counter (`rate`, `increase`): across a drop, the
    /// counter restarted from zero.
    pub counter: bool,
    /// How far outside the window samples are looked for (the lookback delta).
    pub lookback: i64,
}

impl Extension {
    /// The sample range to load for a window `(mint, maxt]`.
    pub fn load_range(&self, mint: i64, maxt: i64) -> (i64, i64) {
        let after = if self.smoothed { self.lookback } else { 0 };
        (
            mint.saturating_sub(self.lookback),
            maxt.saturating_add(after),
        )
    }
}

/// Linear interpolation between two samples at `t`; for a counter that
/// dropped, from zero (where it restarted) to the later value.
fn interpolate(a: Sample, b: Sample, t: i64, counter: bool) -> f64 {
    if b.t == a.t {
        return b.v;
    }
    let frac = (t - a.t) as f64 / (b.t - a.t) as f64;
    if counter && b.v < a.v {
        return b.v * frac;
    }
    a.v + (b.v - a.v) * frac
}

/// The points of window `[mint, maxt]` with boundary points added, from
/// `pts`: the samples in `(mint - lookback, maxt]` (`anchored`) or
/// `(mint - lookback, maxt + lookback]` (`smoothed`). Empty when no sample
/// falls after `mint`.
pub(crate) fn extend_window(pts: &[Sample], mint: i64, maxt: i64, ext: Extension) -> Vec<Sample> {
    let smoothed = ext.smoothed;
    let Some(last_idx) = pts.len().checked_sub(1) else {
        return Vec::new();
    };
    // Nothing to interpolate from when all samples come after the window.
    if smoothed && pts[0].t > maxt {
        return Vec::new();
    }
    // The sample at or before `mint` (or the first one).
    let mut first = pts[..last_idx]
        .partition_point(|p| p.t <= mint)
        .saturating_sub(1);
    // `anchored`: the last sample; `smoothed`: the first at or after `maxt`.
    let mut last = if smoothed {
        pts[..last_idx].partition_point(|p| p.t < maxt)
    } else {
        last_idx
    };
    if pts[last].t <= mint {
        return Vec::new();
    }
    let left = match pts.get(first + 1) {
        Some(&next) if smoothed && pts[first].t < mint && next.t > mint => {
            interpolate(pts[first], next, mint, ext.counter)
        }
        _ => pts[first].v,
    };
    let right = match last.checked_sub(1).and_then(|i| pts.get(i)) {
        Some(&prev) if smoothed && pts[last].t > maxt && prev.t < maxt => {
            interpolate(prev, pts[last], maxt, ext.counter)
        }
        _ => pts[last].v,
    };
    if pts[first].t <= mint {
        first += 1;
    }
    if pts[last].t >= maxt {
        last = last.wrapping_sub(1);
    }
    let mut out = Vec::with_capacity(last.wrapping_sub(first).wrapping_add(3).min(pts.len() + 2));
    out.push(Sample::new(mint, left));
    if last != usize::MAX && first <= last {
        out.extend_from_slice(&pts[first..=last]);
    }
    out.push(Sample::new(maxt, right));
    out
}

/// A `smoothed` instant selector's value at `t`: interpolated between the
/// newest sample at or before `t` and the next one, each within `lookback`.
pub(crate) fn smoothed_value(pts: &[Sample], t: i64, lookback: i64) -> Option<f64> {
    let idx = pts.partition_point(|p| p.t <= t);
    let prev = *pts.get(idx.checked_sub(1)?)?;
    if prev.t <= t.saturating_sub(lookback) {
        return None;
    }
    match pts.get(idx) {
        Some(&next) if prev.t < t && next.t < t.saturating_add(lookback) => {
            Some(interpolate(prev, next, t, false))
        }
        _ => Some(prev.v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(i64, f64)]) -> Vec<Sample> {
        v.iter().map(|&(t, v)| Sample::new(t, v)).collect()
    }

    const ANCHORED: Extension = Extension {
        smoothed: false,
        counter: false,
        lookback: 300,
    };
    const SMOOTHED: Extension = Extension {
        smoothed: true,
        counter: false,
        lookback: 300,
    };

    #[test]
    fn anchored_picks_boundary_samples() {
        let p = pts(&[(0, 1.0), (15, 2.0), (30, 3.0)]);
        let w = extend_window(&p, 20, 40, ANCHORED);
        assert_eq!(w, pts(&[(20, 2.0), (30, 3.0), (40, 3.0)]));
        let w = extend_window(&p[..2], -40, 20, ANCHORED);
        assert_eq!(w, pts(&[(-40, 1.0), (0, 1.0), (15, 2.0), (20, 2.0)]));
        assert!(extend_window(&p, 30, 90, ANCHORED).is_empty());
    }

    #[test]
    fn counters_restart_from_zero() {
        let p = pts(&[(0, 100.0), (15, 10.0)]);
        let counter = Extension {
            counter: true,
            ..SMOOTHED
        };
        let w = extend_window(&p, 3, 12, counter);
        assert_eq!(w, pts(&[(3, 2.0), (12, 8.0)]));
        assert!(extend_window(&p[1..], 0, 5, SMOOTHED).is_empty());
    }

    #[test]
    fn smoothed_interpolates() {
        let p = pts(&[(0, 1.0), (15, 2.0), (60, 5.0), (75, 9.0)]);
        let w = extend_window(&p, 5, 65, SMOOTHED);
        assert_eq!(w.first().map(|s| s.t), Some(5));
        assert!((w[0].v - 4.0 / 3.0).abs() < 1e-9);
        let l = w[w.len() - 1];
        assert_eq!(l.t, 65);
        assert!((l.v - (5.0 + 4.0 / 3.0)).abs() < 1e-9);
        assert_eq!(smoothed_value(&p, 5, 300), Some(1.0 + 1.0 / 3.0));
        assert_eq!(smoothed_value(&p, 80, 300), Some(9.0));
        assert_eq!(smoothed_value(&p, -1, 300), None);
    }
}
