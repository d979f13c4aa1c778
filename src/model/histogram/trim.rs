//! The histogram trim operators of PromQL (Prometheus v3.x): `h </ x`
//! keeps the observations <= x, `h >/ x` those >= x.
//!
//! Semantics, as pinned down by `native_histograms.test`:
//!
//! * A bucket entirely on the kept side stays, one entirely on the other
//!   side is emptied (layout kept; counts set to 0). A bucket the cut goes
//!   through keeps the interpolated share of its count: exponential
//!   interpolation in exponential buckets, linear in the zero bucket and in
//!   custom buckets. The zero bucket is `[0, t]` if there are only positive
//!   buckets, `[-t, 0]` if only negative ones, else `[-t, t]`.
//! * Custom buckets: a first bucket `(-Inf, u]` with `u > 0` counts as
//!   `[0, u]`; with `u <= 0` it is kept whole by `</ x` (its observations
//!   taken to be at `min(x, u)`) and emptied by `>/ x` unless nothing is
//!   trimmed. The last bucket `(l, +Inf]` is emptied if the cut lies in it,
//!   and kept whole by `>/ x` for `x <= l` (observations taken at `l`).
//! * If nothing is trimmed the histogram is returned unchanged. Otherwise
//!   the count becomes the sum of the kept counts and the sum is
//!   re-estimated as Σ kept count × midpoint of the kept range (geometric
//!   midpoint for exponential buckets, arithmetic otherwise).
//! * A NaN cut returns the histogram unchanged.

use super::bounds::{make_bucket, Bucket};
use super::layout::{from_pairs, pairs};
use super::FloatHistogram;

/// How to interpolate inside a bucket.
#[derive(Clone, Copy, PartialEq)]
enum Interp {
    Exponential,
    Linear,
}

/// Share of bucket `b` (with bounds `lo < hi`) below `v`, `lo < v < hi`.
fn share_below(lo: f64, hi: f64, v: f64, interp: Interp) -> f64 {
    match interp {
        Interp::Linear => (v - lo) / (hi - lo),
        Interp::Exponential => {
            if v > 0.0 {
                (v.log2() - lo.log2()) / (hi.log2() - lo.log2())
            } else {
                (lo.abs().log2() - v.abs().log2()) / (lo.abs().log2() - hi.abs().log2())
            }
        }
    }
}

fn midpoint(lo: f64, hi: f64, interp: Interp) -> f64 {
    match interp {
        Interp::Linear => (lo + hi) / 2.0,
        Interp::Exponential => {
            let m = (lo * hi).sqrt();
            if hi <= 0.0 {
                -m
            } else {
                m
            }
        }
    }
}

/// The kept count and its midpoint for bucket `[lo, hi]` with `count`.
/// `keep_below`: `</` (keep <= x) when true, `>/` otherwise.
fn cut(lo: f64, hi: f64, count: f64, x: f64, keep_below: bool, interp: Interp) -> (f64, f64) {
    if keep_below {
        if hi <= x {
            (count, midpoint(lo, hi, interp))
        } else if lo >= x {
            (0.0, 0.0)
        } else {
            (
                count * share_below(lo, hi, x, interp),
                midpoint(lo, x, interp),
            )
        }
    } else if lo >= x {
        (count, midpoint(lo, hi, interp))
    } else if hi <= x {
        (0.0, 0.0)
    } else {
        (
            count * (1.0 - share_below(lo, hi, x, interp)),
            midpoint(x, hi, interp),
        )
    }
}

impl FloatHistogram {
    /// `h </ x`: keeps the observations <= `x` (see the module docs).
    pub fn trim_upper(&self, x: f64) -> FloatHistogram {
        self.trim(x, true)
    }

    /// `h >/ x`: keeps the observations >= `x` (see the module docs).
    pub fn trim_lower(&self, x: f64) -> FloatHistogram {
        self.trim(x, false)
    }

    fn trim(&self, x: f64, keep_below: bool) -> FloatHistogram {
        if x.is_nan() {
            return self.clone();
        }
        let custom = self.uses_custom_buckets();
        let mut out = self.clone();
        let (mut count, mut sum, mut trimmed) = (0.0, 0.0, false);
        let mut account = |orig: f64, kept: f64, mid: f64| {
            if kept != orig {
                trimmed = true;
            }
            if kept != 0.0 {
                count += kept;
                sum += kept * mid;
            }
            kept
        };

        // Buckets of one side: cut each, return the new pairs.
        let interp = if custom {
            Interp::Linear
        } else {
            Interp::Exponential
        };
        let side = |positive: bool, account: &mut dyn FnMut(f64, f64, f64) -> f64| {
            let (spans, buckets) = if positive {
                (&self.positive_spans, &self.positive_buckets)
            } else {
                (&self.negative_spans, &self.negative_buckets)
            };
            let mut p = pairs(spans, buckets);
            for (i, c) in p.iter_mut() {
                let mut b: Bucket = make_bucket(*i, *c, positive, self.schema, &self.custom_values);
                self.clamp_to_zero_bucket(&mut b);
                let (kept, mid) = if custom {
                    self.cut_custom(&b, x, keep_below)
                } else {
                    cut(b.lower, b.upper, b.count, x, keep_below, interp)
                };
                *c = account(b.count, kept, mid);
            }
            p
        };
        let neg = side(false, &mut account);
        if !custom {
            let only_pos = self.negative_buckets.is_empty() && !self.positive_buckets.is_empty();
            let only_neg = self.positive_buckets.is_empty() && !self.negative_buckets.is_empty();
            let zt = self.zero_threshold;
            let (lo, hi) = if only_pos {
                (0.0, zt)
            } else if only_neg {
                (-zt, 0.0)
            } else {
                (-zt, zt)
            };
            let (kept, mid) = if lo < hi {
                cut(lo, hi, self.zero_count, x, keep_below, Interp::Linear)
            } else {
                // Zero-width zero bucket: all observations are at 0.
                let keep = if keep_below { 0.0 <= x } else { 0.0 >= x };
                (if keep { self.zero_count } else { 0.0 }, 0.0)
            };
            out.zero_count = account(self.zero_count, kept, mid);
        }
        let pos = side(true, &mut account);
        if !trimmed {
            return self.clone();
        }
        (out.negative_spans, out.negative_buckets) = from_pairs(&neg);
        (out.positive_spans, out.positive_buckets) = from_pairs(&pos);
        out.count = count;
        out.sum = sum;
        out
    }

    /// Cut of one custom bucket, with the special first and last buckets.
    fn cut_custom(&self, b: &Bucket, x: f64, keep_below: bool) -> (f64, f64) {
        let (mut lo, hi) = (b.lower, b.upper);
        if lo == f64::NEG_INFINITY {
            if hi > 0.0 {
                lo = 0.0;
            } else if keep_below {
                return (b.count, x.min(hi));
            } else if x == f64::NEG_INFINITY {
                return (b.count, hi);
            } else {
                return (0.0, 0.0);
            }
        }
        if hi == f64::INFINITY {
            if keep_below {
                return if x == f64::INFINITY {
                    (b.count, lo)
                } else {
                    (0.0, 0.0)
                };
            }
            return if x <= lo { (b.count, lo) } else { (0.0, 0.0) };
        }
        cut(lo, hi, b.count, x, keep_below, Interp::Linear)
    }
}

#[cfg(test)]
#[allow(clippy::approx_constant)]
mod tests {
    use crate::model::histogram::literal::parse_histogram_literal;
    use crate::model::histogram::FloatHistogram;

    fn h(s: &str) -> FloatHistogram {
        parse_histogram_literal(s).unwrap().0
    }

    /// (histogram, operator "</" or ">/", cut, expected) from native_histograms.test.
    fn run(base: &str, cases: &[(&str, f64, &str)]) {
        let b = h(base);
        for &(op, x, want) in cases {
            let got = if op == "</" {
                b.trim_upper(x)
            } else {
                b.trim_lower(x)
            };
            assert!(
                got.matches_expected(&h(want), false),
                "{op} {x}: got {} want {want}",
                got.test_expression()
            );
        }
    }

    #[test]
    fn exponential() {
        let inf = f64::INFINITY;
        run(
            "{{schema:0 sum:123.75 count:34 z_bucket:1 z_bucket_w:0.001 buckets:[2 4 8 16] n_buckets:[1 2]}}",
            &[
                (">/", -inf, "{{schema:0 sum:123.75 count:34 z_bucket:1 z_bucket_w:0.001 buckets:[2 4 8 16] n_buckets:[1 2]}}"),
                ("</", inf, "{{schema:0 sum:123.75 count:34 z_bucket:1 z_bucket_w:0.001 buckets:[2 4 8 16] n_buckets:[1 2]}}"),
                (">/", inf, "{{schema:0 z_bucket_w:0.001}}"),
                ("</", -inf, "{{schema:0 z_bucket_w:0.001}}"),
                (">/", 0.0, "{{schema:0 sum:120.20840280171308 count:30.5 z_bucket:0.5 z_bucket_w:0.001 buckets:[2 4 8 16]}}"),
                ("</", 0.0, "{{schema:0 sum:-3.53578390593273768 count:3.5 z_bucket:0.5 z_bucket_w:0.001 n_buckets:[1 2]}}"),
                ("</", 1.4142135624, "{{count:8 sum:0.2570938865989847 z_bucket:1 z_bucket_w:0.001 buckets:[2 2] n_buckets:[1 2]}}"),
                (">/", 1.4142135624, "{{count:26 sum:116.50067065070982 z_bucket_w:0.001 buckets:[0 2 8 16]}}"),
                ("</", 2.0, "{{count:10 sum:3.5355339059327373 z_bucket:1 z_bucket_w:0.001 buckets:[2 4] n_buckets:[1 2]}}"),
                (">/", 2.0, "{{count:24 sum:113.13708498984761 z_bucket_w:0.001 offset:2 buckets:[8 16]}}"),
                (">/", -1.0, "{{count:32 sum:119.50104602052653 z_bucket:1 z_bucket_w:0.001 buckets:[2 4 8 16] n_buckets:[1]}}"),
                ("</", -1.0, "{{count:2 sum:-2.8284271247461903 z_bucket_w:0.001 n_offset:1 n_buckets:[2]}}"),
            ],
        );
        run(
            "{{schema:2 sum:12.8286080906 count:28 z_bucket:1 z_bucket_w:0.001 buckets:[1 2 4 7 3] n_buckets:[1 5 3 1]}}",
            &[
                ("</", 1.13, "{{schema:2 count:13.410582181123704 sum:-9.385798726068233 z_bucket:1 z_bucket_w:0.001 buckets:[1 1.410582181123704] n_buckets:[1 5 3 1]}}"),
                (">/", 1.13, "{{schema:2 count:14.589417818876296 sum:22.168126492693734 z_bucket_w:0.001 offset:1 buckets:[0.589417818876296 4 7 3]}}"),
                (">/", -1.3, "{{schema:2 count:25.54213947904476 sum:16.29588491217537 z_bucket:1 z_bucket_w:0.001 buckets:[1 2 4 7 3] n_buckets:[1 5 1.54213947904476]}}"),
                ("</", -1.3, "{{schema:2 count:2.45786052095524 sum:-3.5189307983595066 z_bucket_w:0.001 n_offset:2 n_buckets:[1.45786052095524 1]}}"),
            ],
        );
    }

    #[test]
    fn zero_bucket() {
        run(
            "{{schema:0 sum:8.0210678118654755 count:12 z_bucket:2 z_bucket_w:0.5 buckets:[10]}}",
            &[
                (">/", 0.5, "{{schema:0 count:10 sum:7.0710678118654755 z_bucket:0 z_bucket_w:0.5 buckets:[10]}}"),
                (">/", 0.1, "{{schema:0 count:11.6 sum:7.551067811865476 z_bucket:1.6 z_bucket_w:0.5 buckets:[10]}}"),
                (">/", 0.0, "{{schema:0 sum:8.0210678118654755 count:12 z_bucket:2 z_bucket_w:0.5 buckets:[10]}}"),
                ("</", 0.5, "{{schema:0 count:2 sum:0.5 z_bucket:2 z_bucket_w:0.5}}"),
                ("</", 0.1, "{{schema:0 count:0.4 sum:0.02 z_bucket:0.4 z_bucket_w:0.5}}"),
                ("</", 0.0, "{{schema:0 z_bucket_w:0.5}}"),
            ],
        );
        run(
            "{{schema:0 sum:-8.0210678118654755 count:12 z_bucket:2 z_bucket_w:0.5 n_buckets:[10]}}",
            &[
                ("</", -0.5, "{{schema:0 count:10 sum:-7.0710678118654755 z_bucket:0 z_bucket_w:0.5 n_buckets:[10]}}"),
                ("</", -0.1, "{{schema:0 count:11.6 sum:-7.551067811865476 z_bucket:1.6 z_bucket_w:0.5 n_buckets:[10]}}"),
                ("</", 0.0, "{{schema:0 sum:-8.0210678118654755 count:12 z_bucket:2 z_bucket_w:0.5 n_buckets:[10]}}"),
                (">/", -0.5, "{{schema:0 count:2 sum:-0.5 z_bucket:2 z_bucket_w:0.5}}"),
                (">/", -0.1, "{{schema:0 count:0.4 sum:-0.02 z_bucket:0.4 z_bucket_w:0.5}}"),
                (">/", 0.0, "{{schema:0 z_bucket_w:0.5}}"),
            ],
        );
        run(
            "{{schema:0 count:5 sum:0 z_bucket:5 z_bucket_w:0.1 }}",
            &[
                (
                    ">/",
                    0.1,
                    "{{schema:0 count:0 sum:0 z_bucket:0 z_bucket_w:0.1 }}",
                ),
                (
                    "</",
                    0.1,
                    "{{schema:0 count:5 sum:0 z_bucket:5 z_bucket_w:0.1 }}",
                ),
                (
                    ">/",
                    0.05,
                    "{{schema:0 count:1.25 sum:0.09375 z_bucket:1.25 z_bucket_w:0.1 }}",
                ),
                (
                    "</",
                    0.05,
                    "{{schema:0 count:3.75 sum:-0.09375 z_bucket:3.75 z_bucket_w:0.1 }}",
                ),
                (
                    ">/",
                    0.0,
                    "{{schema:0 count:2.5 sum:0.125 z_bucket:2.5 z_bucket_w:0.1 }}",
                ),
                (
                    "</",
                    0.0,
                    "{{schema:0 count:2.5 sum:-0.125 z_bucket:2.5 z_bucket_w:0.1 }}",
                ),
                (
                    ">/",
                    -0.05,
                    "{{schema:0 count:3.75 sum:0.09375 z_bucket:3.75 z_bucket_w:0.1 }}",
                ),
                (
                    "</",
                    -0.05,
                    "{{schema:0 count:1.25 sum:-0.09375 z_bucket:1.25 z_bucket_w:0.1 }}",
                ),
                (
                    "</",
                    -0.1,
                    "{{schema:0 count:0 sum:0 z_bucket:0 z_bucket_w:0.1 }}",
                ),
                (
                    ">/",
                    -0.1,
                    "{{schema:0 count:5 sum:0 z_bucket:5 z_bucket_w:0.1 }}",
                ),
            ],
        );
        run(
            "{{schema:0 sum:-6.75 z_bucket:5 z_bucket_w:0.01 buckets:[2 3] n_buckets:[1 2 3]}}",
            &[
                ("</", -0.005, "{{count:7.25 sum:-12.03019028017131 z_bucket:1.25 z_bucket_w:0.01 n_buckets:[1 2 3]}}"),
                (">/", 0.0, "{{count:7.5 sum:5.669354249492381 z_bucket:2.5 z_bucket_w:0.01 buckets:[2 3]}}"),
            ],
        );
    }

    #[test]
    fn custom() {
        let inf = f64::INFINITY;
        let full =
            "{{schema:-53 sum:172.5 count:15 custom_values:[5 10 15 20] buckets:[1 6 4 3 1]}}";
        run(
            full,
            &[
                ("</", 15.0, "{{schema:-53 count:11 sum:97.5 custom_values:[5 10 15 20] buckets:[1 6 4]}}"),
                (">/", 15.0, "{{schema:-53 count:4 sum:72.5 custom_values:[5 10 15 20] offset:3 buckets:[3 1]}}"),
                ("</", 13.0, "{{schema:-53 count:9.4 sum:75.1 custom_values:[5 10 15 20] buckets:[1 6 2.4]}}"),
                (">/", 13.0, "{{schema:-53 count:5.6 sum:94.9 custom_values:[5 10 15 20] offset:2 buckets:[1.6 3 1]}}"),
                ("</", 7.5, "{{schema:-53 count:4 sum:21.25 custom_values:[5 10 15 20] buckets:[1 3]}}"),
                ("</", 50.0, "{{schema:-53 count:14 sum:150.0 custom_values:[5 10 15 20] buckets:[1 6 4 3]}}"),
                ("</", -inf, "{{schema:-53 custom_values:[5 10 15 20]}}"),
                (">/", inf, "{{schema:-53 custom_values:[5 10 15 20]}}"),
                ("</", inf, full),
                (">/", -inf, full),
                (">/", 0.0, full),
                ("</", 0.0, "{{schema:-53 custom_values:[5 10 15 20]}}"),
            ],
        );
        run(
            "{{schema:-53 sum:172.5 count:15 custom_values:[-10 5 10 15 20] buckets:[2 1 6 4 3 1]}}",
            &[
                ("</", 2.0, "{{schema:-53 count:2.8 sum:-23.2 custom_values:[-10 5 10 15 20] buckets:[2 0.8]}}"),
                ("</", -4.0, "{{schema:-53 count:2.4 sum:-22.8 custom_values:[-10 5 10 15 20] buckets:[2 0.4]}}"),
                ("</", -15.0, "{{schema:-53 count:2 sum:-30 custom_values:[-10 5 10 15 20] buckets:[2]}}"),
            ],
        );
        run(
            "{{schema:-53 sum:100.0 count:100 buckets:[100]}}",
            &[
                ("</", 10.0, "{{schema:-53 sum:0.0 count:0 buckets:[0]}}"),
                (">/", 10.0, "{{schema:-53 sum:0.0 count:0 buckets:[0]}}"),
                ("</", inf, "{{schema:-53 sum:100 count:100 buckets:[100]}}"),
                (">/", inf, "{{schema:-53 sum:0 count:0 buckets:[0]}}"),
                (">/", -inf, "{{schema:-53 sum:100 count:100 buckets:[100]}}"),
                ("</", -inf, "{{schema:-53 sum:0 count:0 buckets:[0]}}"),
            ],
        );
        run(
            "{{schema:-53 sum:33.0 count:100 custom_values:[0] buckets:[1 100]}}",
            &[
                (
                    "</",
                    10.0,
                    "{{schema:-53 sum:0.0 count:1 custom_values:[0] buckets:[1 0]}}",
                ),
                (
                    "</",
                    0.0,
                    "{{schema:-53 sum:0.0 count:1 custom_values:[0] buckets:[1 0]}}",
                ),
                (
                    "</",
                    -10.0,
                    "{{schema:-53 sum:-10.0 count:1 custom_values:[0] buckets:[1 0]}}",
                ),
                (
                    ">/",
                    -10.0,
                    "{{schema:-53 sum:0.0 count:100 custom_values:[0] buckets:[0 100]}}",
                ),
                (
                    ">/",
                    0.0,
                    "{{schema:-53 sum:0.0 count:100 custom_values:[0] buckets:[0 100]}}",
                ),
            ],
        );
        assert_eq!(h(full).trim_upper(f64::NAN), h(full));
    }
}
