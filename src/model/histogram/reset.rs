//! Counter-reset detection between two consecutive histogram samples
//! (Prometheus' `FloatHistogram.DetectReset`), used by `rate`, `increase`,
//! `resets` and the storage layer's counter-reset hints.

use super::arith::{custom_bounds_match, intersect_bounds};
use super::bounds::exp_bound;
use super::layout::{pairs, reduce};
use super::{CounterResetHint, FloatHistogram};

impl FloatHistogram {
    /// Whether a counter reset happened between `previous` and `self`
    /// (Prometheus' `DetectReset`). Hint `CounterReset` → true,
    /// `NotCounterReset` → false; otherwise (also for gauges) compare:
    /// a smaller count, a smaller bucket or zero count, a populated bucket
    /// that disappeared, a higher schema, a smaller zero threshold, a switch
    /// to custom buckets, or a new zero threshold that cuts a populated
    /// bucket of `previous` all mean a reset. The sum is not considered.
    /// A lower schema / wider zero bucket in `self` is handled by merging
    /// `previous` accordingly; NHCBs with different bounds are compared on
    /// the bounds they share.
    /// The hint this sample carries when read back from storage, as
    /// Prometheus' TSDB produces it: gauges and stated hints stay; an
    /// `Unknown` sample that continues the previous counter histogram of
    /// the series (no reset) reads back as `NotCounterReset`. After a reset
    /// Prometheus starts a new chunk and the hint stays `Unknown` for the
    /// reader to decide, as it does for the first sample of a series.
    pub fn stored_hint(&self, previous: Option<&FloatHistogram>) -> CounterResetHint {
        match (self.counter_reset_hint, previous) {
            (CounterResetHint::Unknown, Some(p))
                if p.counter_reset_hint != CounterResetHint::Gauge && !self.detect_reset(p) =>
            {
                CounterResetHint::NotCounterReset
            }
            (h, _) => h,
        }
    }

    pub fn detect_reset(&self, previous: &FloatHistogram) -> bool {
        match self.counter_reset_hint {
            CounterResetHint::CounterReset => return true,
            CounterResetHint::NotCounterReset => return false,
            _ => {}
        }
        if self.count < previous.count {
            return true;
        }
        if self.uses_custom_buckets() {
            if !previous.uses_custom_buckets() {
                return true;
            }
            if !custom_bounds_match(&self.custom_values, &previous.custom_values) {
                return self.detect_reset_mismatched_bounds(previous);
            }
        }
        if self.schema > previous.schema {
            return true;
        }
        if previous.uses_custom_buckets() && !self.uses_custom_buckets() {
            // Unreachable in Prometheus (schema -53 < any exponential one
            // returns above); kept for safety.
            return true;
        }
        if self.zero_threshold < previous.zero_threshold {
            return true;
        }
        let (prev_zero, new_threshold) =
            previous.zero_count_for_larger_threshold(self.zero_threshold);
        if new_threshold != self.zero_threshold {
            return true;
        }
        if self.zero_count < prev_zero {
            return true;
        }
        let side = |cur: Vec<(i32, f64)>, prev: Vec<(i32, f64)>| -> bool {
            let prev = if previous.schema > self.schema {
                reduce(&prev, previous.schema, self.schema)
            } else {
                prev
            };
            let skip = |p: &[(i32, f64)]| {
                if self.uses_custom_buckets() {
                    0
                } else {
                    p.iter()
                        .take_while(|&&(i, _)| exp_bound(i, self.schema) <= self.zero_threshold)
                        .count()
                }
            };
            let cur = &cur[skip(&cur)..];
            let prev = &prev[skip(&prev)..];
            let mut j = 0;
            for &(i, pc) in prev {
                while j < cur.len() && cur[j].0 < i {
                    j += 1;
                }
                match cur.get(j) {
                    Some(&(ci, cc)) if ci == i => {
                        if cc < pc {
                            return true;
                        }
                    }
                    _ => {
                        if pc != 0.0 {
                            return true;
                        }
                    }
                }
            }
            false
        };
        side(
            pairs(&self.positive_spans, &self.positive_buckets),
            pairs(&previous.positive_spans, &previous.positive_buckets),
        ) || side(
            pairs(&self.negative_spans, &self.negative_buckets),
            pairs(&previous.negative_spans, &previous.negative_buckets),
        )
    }

    /// Reset detection between NHCBs with different bounds: at every bound
    /// both share (and +Inf), the buckets rolled up since the previous
    /// shared bound must not have decreased.
    fn detect_reset_mismatched_bounds(&self, previous: &FloatHistogram) -> bool {
        let uppers = |h: &FloatHistogram| -> Vec<(f64, f64)> {
            h.positive_bucket_iter()
                .map(|b| (b.upper, b.count))
                .collect()
        };
        let cur = uppers(self);
        let prev = uppers(previous);
        let mut shared = intersect_bounds(&self.custom_values, &previous.custom_values);
        shared.push(f64::INFINITY);
        let (mut ci, mut pi) = (0, 0);
        for bound in shared {
            let mut cs = 0.0;
            while ci < cur.len() && cur[ci].0 <= bound {
                cs += cur[ci].1;
                ci += 1;
            }
            let mut ps = 0.0;
            while pi < prev.len() && prev[pi].0 <= bound {
                ps += prev[pi].1;
                pi += 1;
            }
            if cs < ps {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::histogram::literal::parse_histogram_literal;

    fn h(s: &str) -> FloatHistogram {
        parse_histogram_literal(s).unwrap().0
    }

    #[test]
    fn detect_reset_cases() {
        let prev = h("{{schema:0 count:4 sum:5 buckets:[1 2 1]}}");
        assert!(!h("{{schema:0 count:5 sum:6 buckets:[1 2 2]}}").detect_reset(&prev));
        // Count up but one bucket down.
        assert!(h("{{schema:0 count:5 sum:6 buckets:[1 1 3]}}").detect_reset(&prev));
        // Count down.
        assert!(h("{{schema:0 count:3 sum:6 buckets:[1 2 1]}}").detect_reset(&prev));
        // Sum down is fine.
        assert!(!h("{{schema:0 count:4 sum:-6 buckets:[1 2 1]}}").detect_reset(&prev));
        // Populated bucket missing.
        assert!(h("{{schema:0 count:9 sum:6 buckets:[1 2] n_buckets:[5]}}").detect_reset(&prev));
        // Unpopulated bucket missing is fine.
        let prev0 = h("{{schema:0 count:3 sum:5 buckets:[1 2 0]}}");
        assert!(!h("{{schema:0 count:3 sum:5 buckets:[1 2]}}").detect_reset(&prev0));
        // Hints short-cut.
        let mut cur = h("{{schema:0 count:1}}");
        cur.counter_reset_hint = CounterResetHint::NotCounterReset;
        assert!(!cur.detect_reset(&prev));
        let mut cur = h("{{schema:0 count:9 sum:6 buckets:[1 2 2]}}");
        cur.counter_reset_hint = CounterResetHint::CounterReset;
        assert!(cur.detect_reset(&prev));
        // Schema increase = reset; decrease merges previous.
        assert!(h("{{schema:1 count:9 sum:6 buckets:[1 2 2]}}").detect_reset(&prev));
        assert!(!h("{{schema:-1 count:4 sum:6 buckets:[1 3]}}").detect_reset(&prev));
        assert!(h("{{schema:-1 count:4 sum:6 buckets:[1 2]}}").detect_reset(&prev));
        // Zero threshold: decrease = reset; increase absorbs buckets.
        let zprev =
            h("{{schema:0 count:4 sum:5 z_bucket:1 z_bucket_w:0.5 buckets:[1 2] offset:0}}");
        assert!(
            h("{{schema:0 count:4 sum:5 z_bucket:1 z_bucket_w:0.25 buckets:[1 2]}}")
                .detect_reset(&zprev)
        );
        assert!(
            !h("{{schema:0 count:4 sum:5 z_bucket:2 z_bucket_w:1 buckets:[2] offset:1}}")
                .detect_reset(&zprev)
        );
        assert!(
            h("{{schema:0 count:4 sum:5 z_bucket:1 z_bucket_w:1 buckets:[3] offset:1}}")
                .detect_reset(&zprev)
        );
        // New threshold inside a populated bucket of previous.
        assert!(h("{{schema:0 count:4 sum:5 z_bucket:4 z_bucket_w:1.5}}").detect_reset(&zprev));
        // Exponential <-> custom.
        let nhcb = h("{{schema:-53 count:1 sum:1 custom_values:[5 10] buckets:[1]}}");
        assert!(nhcb.detect_reset(&prev));
        assert!(h("{{schema:0 count:5 buckets:[1 2 2]}}").detect_reset(&nhcb));
    }

    #[test]
    fn detect_reset_custom_mismatched() {
        let prev = h("{{schema:-53 sum:55 count:15 custom_values:[2 4 6] buckets:[1 2 5 7]}}");
        // Bucket (2,3] appears and (3,4] is 1 < 2 on its own, but (2,4]
        // rolled up is 0+1=1 < 2: reset.
        let cur = h("{{schema:-53 sum:56 count:15 custom_values:[2 3 4 6] buckets:[1 0 1 5 8]}}");
        assert!(cur.detect_reset(&prev));
        let cur = h("{{schema:-53 sum:56 count:16 custom_values:[2 3 4 6] buckets:[1 1 1 5 8]}}");
        assert!(!cur.detect_reset(&prev));
        let prev = h("{{schema:-53 sum:1 count:1 custom_values:[5] buckets:[1]}}");
        assert!(
            !h("{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}").detect_reset(&prev)
        );
    }
}
