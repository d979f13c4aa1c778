//! Window arithmetic of range aggregations. Step `t` aggregates the samples
//! with `t - offset - range < ts <= t - offset` (start exclusive, end
//! inclusive, as Loki's range iterators). The window bounds of all steps cut
//! the time line into segments; a sample is added to the accumulator of its
//! segment once, and each window combines its segments with a two-stack
//! sliding aggregation, so a query costs one pass over the lines plus
//! amortised O(1) work per step and series, whatever the range/step ratio.
//! Also the per-window functions that need raw samples (`quantile_over_time`,
//! `rate_counter`).

use std::cmp::Ordering;

/// The segments cut by the window bounds of every step.
pub(crate) struct WindowGrid {
    /// Sorted distinct window bounds; segment `i` (from 1) is
    /// `(edges[i-1], edges[i]]`.
    edges: Vec<i64>,
    /// Per step, the inclusive segment range of its window (`a > b` when
    /// the window is empty).
    windows: Vec<(usize, usize)>,
    /// Per segment: is it inside at least one window?
    covered: Vec<bool>,
}

impl WindowGrid {
    /// `bounds[k] = (lo, hi)`: window `k` is `(lo, hi]`; both ends must not
    /// decrease with `k`.
    pub fn new(bounds: &[(i64, i64)]) -> WindowGrid {
        let mut edges: Vec<i64> = bounds.iter().flat_map(|&(lo, hi)| [lo, hi]).collect();
        edges.sort_unstable();
        edges.dedup();
        let pos = |x: i64| edges.partition_point(|&e| e < x);
        let windows: Vec<(usize, usize)> = bounds
            .iter()
            .map(|&(lo, hi)| (pos(lo) + 1, pos(hi)))
            .collect();
        let mut diff = vec![0i64; edges.len() + 1];
        for &(a, b) in &windows {
            if a <= b {
                diff[a] += 1;
                diff[b + 1] -= 1;
            }
        }
        let mut covered = vec![false; edges.len()];
        let mut run = 0;
        for (i, c) in covered.iter_mut().enumerate() {
            run += diff[i];
            *c = run > 0;
        }
        WindowGrid {
            edges,
            windows,
            covered,
        }
    }

    /// The segment holding `ts`, if some window contains it.
    pub fn segment_of(&self, ts: i64) -> Option<usize> {
        let i = self.edges.partition_point(|&e| e < ts);
        if i == 0 || i >= self.edges.len() || !self.covered[i] {
            return None;
        }
        Some(i)
    }

    /// Window `k`'s inclusive segment range.
    pub fn window(&self, k: usize) -> (usize, usize) {
        self.windows[k]
    }

    pub fn len(&self) -> usize {
        self.windows.len()
    }
}

/// Everything a combinable range function needs from a set of samples.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Acc {
    pub n: u64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    pub first_ts: i64,
    pub first: f64,
    pub last_ts: i64,
    pub last: f64,
    /// Mean and sum of squared deviations (Welford / Chan).
    pub mean: f64,
    pub m2: f64,
}

fn pick_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b < a {
        b
    } else {
        a
    }
}

fn pick_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b > a {
        b
    } else {
        a
    }
}

impl Acc {
    pub fn of(ts: i64, v: f64) -> Acc {
        Acc {
            n: 1,
            sum: v,
            min: v,
            max: v,
            first_ts: ts,
            first: v,
            last_ts: ts,
            last: v,
            mean: v,
            m2: 0.0,
        }
    }

    /// Adds one sample that comes after those already held.
    pub fn add(&mut self, ts: i64, v: f64) {
        *self = self.merge(&Acc::of(ts, v));
    }

    /// Combines with `later` (samples that come after this one's).
    pub fn merge(&self, later: &Acc) -> Acc {
        let n = self.n + later.n;
        let (na, nb, nf) = (self.n as f64, later.n as f64, n as f64);
        let delta = later.mean - self.mean;
        let (first_ts, first) = if later.first_ts < self.first_ts {
            (later.first_ts, later.first)
        } else {
            (self.first_ts, self.first)
        };
        let (last_ts, last) = if later.last_ts >= self.last_ts {
            (later.last_ts, later.last)
        } else {
            (self.last_ts, self.last)
        };
        Acc {
            n,
            sum: self.sum + later.sum,
            min: pick_min(self.min, later.min),
            max: pick_max(self.max, later.max),
            first_ts,
            first,
            last_ts,
            last,
            mean: self.mean + delta * nb / nf,
            m2: self.m2 + later.m2 + delta * delta * na * nb / nf,
        }
    }

    pub fn variance(&self) -> f64 {
        self.m2 / self.n as f64
    }
}

/// A FIFO of `(segment, accumulator)` with the combined value of what it
/// holds in amortised O(1) (two stacks: the front one stores suffix
/// aggregates).
#[derive(Default)]
pub(crate) struct SlidingAcc {
    front: Vec<(usize, Acc)>,
    back: Vec<(usize, Acc)>,
    back_agg: Option<Acc>,
}

impl SlidingAcc {
    pub fn push(&mut self, seg: usize, acc: Acc) {
        self.back_agg = Some(match &self.back_agg {
            Some(b) => b.merge(&acc),
            None => acc,
        });
        self.back.push((seg, acc));
    }

    /// Drops the segments before `seg`.
    pub fn pop_before(&mut self, seg: usize) {
        loop {
            if self.front.is_empty() {
                if self.back.is_empty() {
                    return;
                }
                let mut agg: Option<Acc> = None;
                for &(s, a) in self.back.iter().rev() {
                    let combined = match &agg {
                        Some(newer) => a.merge(newer),
                        None => a,
                    };
                    self.front.push((s, combined));
                    agg = Some(combined);
                }
                self.back.clear();
                self.back_agg = None;
            }
            match self.front.last() {
                Some(&(s, _)) if s < seg => {
                    self.front.pop();
                }
                _ => return,
            }
        }
    }

    /// The combination of everything held.
    pub fn value(&self) -> Option<Acc> {
        match (self.front.last(), &self.back_agg) {
            (Some((_, f)), Some(b)) => Some(f.merge(b)),
            (Some((_, f)), None) => Some(*f),
            (None, Some(b)) => Some(*b),
            (None, None) => None,
        }
    }
}

/// NaN sorts first, as Loki's value heap does.
fn nan_first(a: &f64, b: &f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        _ => a.partial_cmp(b).unwrap_or(Ordering::Equal),
    }
}

/// The `q` quantile of `values` (sorted in place), interpolating between
/// neighbours: NaN without values, -Inf / +Inf for `q` below 0 / above 1.
pub(crate) fn quantile(q: f64, values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(nan_first);
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    values[lower as usize] * (1.0 - weight) + values[upper as usize] * weight
}

/// Loki's `rate_counter`: the counter increase over the window (resets add
/// the value before the drop), extrapolated as Loki 3 computes it on
/// nanosecond timestamps, per second of `range_ns`. Zero with fewer than
/// two samples.
pub(crate) fn rate_counter(samples: &[(i64, f64)], range_ns: i64) -> f64 {
    let (Some(&(t0, v0)), Some(&(tn, vn))) = (samples.first(), samples.last()) else {
        return 0.0;
    };
    if samples.len() < 2 {
        return 0.0;
    }
    let mut result = vn - v0;
    let mut last = 0.0;
    for &(_, v) in samples {
        if v < last {
            result += last;
        }
        last = v;
    }
    // Loki subtracts the range in milliseconds from nanosecond timestamps
    // and divides the distances by 1000; the same arithmetic here keeps the
    // results equal.
    let range_ms = range_ns / 1_000_000;
    let range_start = t0 - range_ms;
    let mut to_start = (t0 - range_start) as f64 / 1000.0;
    let to_end = 0.0;
    let sampled = (tn - t0) as f64 / 1000.0;
    let avg = sampled / (samples.len() - 1) as f64;
    if result > 0.0 && v0 >= 0.0 {
        let to_zero = sampled * (v0 / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = avg * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        avg / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        avg / 2.0
    };
    result * (interval / sampled) / (range_ns as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_segments_and_coverage() {
        // Windows (0,10], (20,30]: the gap (10,20] is not covered.
        let g = WindowGrid::new(&[(0, 10), (20, 30)]);
        assert_eq!(g.len(), 2);
        assert_eq!(g.segment_of(0), None);
        assert_eq!(g.segment_of(1), Some(1));
        assert_eq!(g.segment_of(10), Some(1));
        assert_eq!(g.segment_of(11), None);
        assert_eq!(g.segment_of(20), None);
        assert_eq!(g.segment_of(21), Some(3));
        assert_eq!(g.segment_of(30), Some(3));
        assert_eq!(g.segment_of(31), None);
        assert_eq!(g.window(0), (1, 1));
        assert_eq!(g.window(1), (3, 3));
        // Overlapping windows (0,20], (10,30]: segments (0,10], (10,20], (20,30].
        let g = WindowGrid::new(&[(0, 20), (10, 30)]);
        assert_eq!(g.window(0), (1, 2));
        assert_eq!(g.window(1), (2, 3));
    }

    #[test]
    fn sliding_matches_direct_combination() {
        let vals = [3.0, -1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0];
        let mut s = SlidingAcc::default();
        for (i, v) in vals.iter().enumerate() {
            s.push(i, Acc::of(i as i64, *v));
            if i >= 3 {
                s.pop_before(i - 2);
            }
            let lo = i.saturating_sub(2);
            let w = &vals[lo..=i];
            let got = s.value().unwrap();
            assert_eq!(got.n as usize, w.len());
            assert_eq!(got.sum, w.iter().sum::<f64>());
            assert_eq!(got.min, w.iter().cloned().fold(f64::INFINITY, f64::min));
            assert_eq!(got.max, w.iter().cloned().fold(f64::NEG_INFINITY, f64::max));
            assert_eq!(got.first, w[0]);
            assert_eq!(got.last, w[w.len() - 1]);
        }
    }

    #[test]
    fn variance_and_nan_handling() {
        let mut a = Acc::of(1, 1.0);
        for (t, v) in [(2, 2.0), (3, 3.0), (4, 4.0)] {
            a.add(t, v);
        }
        assert_eq!(a.variance(), 1.25);
        let b = Acc::of(1, f64::NAN).merge(&Acc::of(2, 7.0));
        assert_eq!(b.max, 7.0);
        assert_eq!(b.min, 7.0);
    }

    #[test]
    fn quantiles() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(quantile(0.5, &mut v), 2.5);
        assert_eq!(quantile(0.0, &mut v), 1.0);
        assert_eq!(quantile(1.0, &mut v), 4.0);
        assert_eq!(quantile(-1.0, &mut v), f64::NEG_INFINITY);
        assert_eq!(quantile(2.0, &mut v), f64::INFINITY);
        assert!(quantile(0.5, &mut []).is_nan());
    }

    #[test]
    fn counter_rate() {
        // 10s apart: 1, 5, 2 (reset), 6 over a 60s range.
        let s = [
            (10_000_000_000, 1.0),
            (20_000_000_000, 5.0),
            (30_000_000_000, 2.0),
            (40_000_000_000, 6.0),
        ];
        // increase = 6 - 1 + 5 = 10; sampled = 3e7 (ns/1000); to_start =
        // 60 (ms/1000); to_zero = 3e7 * 0.1 = 3e6 > 60; both ends are
        // within the threshold: interval = 3e7 + 60.
        let want = 10.0 * ((3e7 + 60.0) / 3e7) / 60.0;
        assert_eq!(rate_counter(&s, 60_000_000_000), want);
        assert_eq!(rate_counter(&s[..1], 60_000_000_000), 0.0);
    }
}
