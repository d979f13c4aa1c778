//! Statistics PromQL derives from one histogram: `histogram_quantile`,
//! `histogram_fraction`, `histogram_stddev`/`stdvar`, `histogram_avg`
//! (`histogram_count`/`histogram_sum` are the `count`/`sum` fields).
//!
//! Interpolation within a bucket follows Prometheus: exponential buckets are
//! interpolated exponentially (the quantile half-way through the population
//! of `(1,2]` is `sqrt(2)`), custom buckets and the zero bucket linearly.
//! The zero bucket is taken as `[0, threshold]` if there are only positive
//! buckets and `[-threshold, 0]` if there are only negative ones.
//!
//! NaN observations (recognisable by a NaN sum) count in `count` but in no
//! bucket: quantiles are then computed from the low end, and a quantile whose
//! rank lies beyond the bucketed observations is NaN; fractions exclude them
//! (but still divide by `count`). The engine emits the matching info
//! annotations by checking `sum.is_nan()`.

use super::FloatHistogram;

/// Neumaier-compensated `sum + inc` (Prometheus' `kahansum.Inc`); returns
/// the new sum and compensation.
pub fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

impl FloatHistogram {
    /// `histogram_avg`: `sum / count` (NaN for an empty histogram).
    pub fn avg(&self) -> f64 {
        self.sum / self.count
    }

    /// `histogram_quantile(q, h)` for a native histogram (Prometheus'
    /// `HistogramQuantile`). `q < 0` → -Inf, `q > 1` → +Inf, NaN `q` or a
    /// zero count → NaN. Custom buckets: the lowest bucket is taken to
    /// start at 0 if its upper bound is positive (else its upper bound is
    /// returned), and a quantile in the +Inf bucket returns its lower bound.
    pub fn quantile(&self, q: f64) -> f64 {
        if q < 0.0 {
            return f64::NEG_INFINITY;
        }
        if q > 1.0 {
            return f64::INFINITY;
        }
        if self.count == 0.0 || q.is_nan() {
            return f64::NAN;
        }
        let forward = self.sum.is_nan() || q < 0.5;
        let (buckets, mut rank) = if forward {
            (self.all_buckets(), q * self.count)
        } else {
            (self.all_buckets_rev(), (1.0 - q) * self.count)
        };
        let mut count = 0.0;
        let mut bucket = None;
        for b in buckets {
            bucket = Some(b);
            if b.count == 0.0 {
                continue;
            }
            count += b.count;
            if count >= rank {
                break;
            }
        }
        let Some(mut bucket) = bucket else {
            // No buckets at all: only NaN observations.
            return f64::NAN;
        };
        let custom = self.uses_custom_buckets();
        if !custom && bucket.lower < 0.0 && bucket.upper > 0.0 {
            if self.negative_buckets.is_empty() && !self.positive_buckets.is_empty() {
                bucket.lower = 0.0;
            } else if self.positive_buckets.is_empty() && !self.negative_buckets.is_empty() {
                bucket.upper = 0.0;
            }
        } else if custom {
            if bucket.lower == f64::NEG_INFINITY {
                if bucket.upper <= 0.0 {
                    return bucket.upper;
                }
                bucket.lower = 0.0;
            } else if bucket.upper == f64::INFINITY {
                return bucket.lower;
            }
        }
        if count > self.count {
            count = self.count;
        }
        if count < rank {
            // The rank lies among the NaN observations.
            return f64::NAN;
        }
        if forward {
            rank -= count - bucket.count;
        } else {
            rank = count - rank;
        }
        let fraction = rank / bucket.count;
        if custom || (bucket.lower <= 0.0 && bucket.upper >= 0.0) {
            return bucket.lower + (bucket.upper - bucket.lower) * fraction;
        }
        let log_lower = bucket.lower.abs().log2();
        let log_upper = bucket.upper.abs().log2();
        if bucket.lower > 0.0 {
            return (log_lower + (log_upper - log_lower) * fraction).exp2();
        }
        -(log_upper + (log_lower - log_upper) * (1.0 - fraction)).exp2()
    }

    /// `histogram_fraction(lower, upper, h)`: the estimated fraction of
    /// observations in `[lower, upper]` (Prometheus' `HistogramFraction`),
    /// the inverse of [`quantile`](Self::quantile). NaN for a zero count or
    /// a NaN bound; 0 if `lower >= upper`. Buckets of infinite width (the
    /// custom `(-Inf, u]` with `u < 0` and `(l, +Inf]`) are not
    /// interpolated: their observations count as lying at -Inf / +Inf
    /// (`histograms.test`); a first custom bucket with `u >= 0` is `[0, u]`.
    pub fn fraction(&self, lower: f64, upper: f64) -> f64 {
        if self.count == 0.0 || lower.is_nan() || upper.is_nan() {
            return f64::NAN;
        }
        if lower >= upper {
            return 0.0;
        }
        let custom = self.uses_custom_buckets();
        let only_pos = self.negative_buckets.is_empty() && !self.positive_buckets.is_empty();
        let only_neg = self.positive_buckets.is_empty() && !self.negative_buckets.is_empty();
        let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
        let (mut lower_set, mut upper_set) = (false, false);
        for mut b in self.all_buckets() {
            let mut zero_bucket = false;
            if b.lower <= 0.0 && b.upper >= 0.0 {
                zero_bucket = true;
                if only_pos {
                    b.lower = 0.0;
                } else if only_neg {
                    b.upper = 0.0;
                }
            }
            let linear = |v: f64| rank + b.count * (v - b.lower) / (b.upper - b.lower);
            let exponential = |v: f64| {
                let (ll, lu, lv) = (b.lower.abs().log2(), b.upper.abs().log2(), v.abs().log2());
                let f = if v > 0.0 {
                    (lv - ll) / (lu - ll)
                } else {
                    1.0 - ((lv - lu) / (ll - lu))
                };
                rank + b.count * f
            };
            let interpolate = |v: f64| {
                // No interpolation in buckets of infinite width: their
                // observations count as being at -Inf / +Inf respectively.
                if b.lower == f64::NEG_INFINITY {
                    rank + b.count
                } else if b.upper == f64::INFINITY {
                    rank
                } else if custom || zero_bucket {
                    linear(v)
                } else {
                    exponential(v)
                }
            };
            if !lower_set && b.lower >= lower {
                lower_rank = rank;
                lower_set = true;
            }
            if !upper_set && b.lower >= upper {
                upper_rank = rank;
                upper_set = true;
            }
            if lower_set && upper_set {
                break;
            }
            if !lower_set && b.lower < lower && b.upper > lower {
                lower_rank = interpolate(lower);
                lower_set = true;
            }
            if !upper_set && b.lower < upper && b.upper > upper {
                upper_rank = interpolate(upper);
                upper_set = true;
            }
            if lower_set && upper_set {
                break;
            }
            rank += b.count;
        }
        // Unreached bounds lie above all buckets: everything bucketed (NaN
        // observations are in no bucket and thus in no fraction).
        if !lower_set {
            lower_rank = rank;
        }
        if !upper_set {
            upper_rank = rank;
        }
        lower_rank = lower_rank.min(self.count);
        upper_rank = upper_rank.min(self.count);
        (upper_rank - lower_rank) / self.count
    }

    /// `histogram_stdvar`: the variance estimated from bucket midpoints —
    /// geometric mean for exponential buckets (negated on the negative
    /// side), 0 for the zero bucket, arithmetic mean for custom buckets —
    /// around `sum / count`, Kahan-summed, divided by `count`.
    pub fn stdvar(&self) -> f64 {
        let mean = self.sum / self.count;
        let custom = self.uses_custom_buckets();
        let (mut var, mut c) = (0.0, 0.0);
        for b in self.all_buckets() {
            if b.count == 0.0 {
                continue;
            }
            let val = if custom {
                (b.upper + b.lower) / 2.0
            } else if b.lower <= 0.0 && b.upper >= 0.0 {
                0.0
            } else {
                let v = (b.upper * b.lower).sqrt();
                if b.upper < 0.0 {
                    -v
                } else {
                    v
                }
            };
            let delta = val - mean;
            (var, c) = kahan_inc(b.count * delta * delta, var, c);
        }
        (var + c) / self.count
    }

    /// `histogram_stddev`: the square root of [`stdvar`](Self::stdvar).
    pub fn stddev(&self) -> f64 {
        self.stdvar().sqrt()
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

    /// promqltest's tolerance.
    fn close(a: f64, b: f64) -> bool {
        if a.is_nan() || b.is_nan() {
            return a.is_nan() && b.is_nan();
        }
        if a == b {
            return true;
        }
        (a - b).abs() <= 1e-6 * a.abs().max(b.abs()) || (a - b).abs() < 1e-300
    }

    fn check(h: &FloatHistogram, cases: &[(f64, f64)]) {
        for &(q, want) in cases {
            let got = h.quantile(q);
            assert!(close(got, want), "quantile({q}) = {got}, want {want}");
        }
    }

    #[test]
    fn quantile_basic() {
        let s = h("{{schema:0 sum:5 count:4 buckets:[1 2 1]}}");
        check(&s, &[(0.5, 1.414213562373095)]);
        let s = h("{{schema:0 sum:-5 count:4 n_buckets:[1 2 1]}}");
        check(&s, &[(0.5, -1.414213562373095)]);
        let z = h("{{schema:0 z_bucket:1 z_bucket_w:0.5 sum:0.25 count:1}}");
        check(&z, &[(0.5, 0.0)]);
        let bal = h("{{schema:0 sum:0 count:8 buckets:[1 2 1] n_buckets:[1 2 1]}}");
        check(&bal, &[(0.5, 0.5)]);
        let c = h("{{schema:-53 sum:5 count:4 custom_values:[5 10] buckets:[1 2 1]}}");
        check(&c, &[(0.5, 7.5), (0.1, 2.0), (1.0, 10.0), (0.9, 10.0)]);
        let neg_first = h("{{schema:-53 sum:5 count:4 custom_values:[-2 10] buckets:[2 2]}}");
        check(&neg_first, &[(0.2, -2.0)]);
    }

    #[test]
    fn quantile_with_zero_bucket() {
        let p = h("{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}");
        check(
            &p,
            &[
                (1.001, f64::INFINITY),
                (1.0, 16.0),
                (0.99, 15.67072476139083),
                (0.9, 12.99603834169977),
                (0.6, 4.594793419988138),
                (0.5, 1.5874010519681994),
                (0.1, 0.0006),
                (0.0, 0.0),
                (-1.0, f64::NEG_INFINITY),
                (0.08333333333333333, 0.0005),
                (0.6320802083934297, 6.0),
            ],
        );
        let n =
            h("{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}");
        check(
            &n,
            &[
                (1.0, 0.0),
                (0.99, -0.00006),
                (0.9, -0.0006),
                (0.5, -1.5874010519681996),
                (0.1, -12.996038341699768),
                (0.0, -16.0),
                (0.9166666666666666, -0.0005),
                (0.36791979160657035, -6.0),
            ],
        );
        let b = h("{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}");
        check(
            &b,
            &[
                (1.0, 16.0),
                (0.99, 15.34822590920423),
                (0.9, 10.556063286183155),
                (0.7, 1.2030250360821164),
                (0.55, 0.0006),
                (0.5, 0.0),
                (0.45, -0.0006),
                (0.3, -1.2030250360821169),
                (0.1, -10.556063286183155),
                (0.01, -15.34822590920423),
                (0.0, -16.0),
            ],
        );
    }

    #[test]
    fn quantile_schemas() {
        check(
            &h("{{schema:-1 sum:6 count:5 buckets:[0 5]}}"),
            &[(0.5, 2.0)],
        );
        check(
            &h("{{schema:1 sum:4 count:5 buckets:[0 5]}}"),
            &[(0.5, 1.189207)],
        );
        check(
            &h("{{schema:1 sum:4 count:5 buckets:[0 0 5]}}"),
            &[(0.5, 1.6817928305074292)],
        );
        check(
            &h("{{schema:-1 sum:6 count:5 n_buckets:[0 0 5]}}"),
            &[(0.5, -8.0)],
        );
        check(
            &h("{{schema:0 count:10 sum:50 counter_reset_hint:gauge buckets:[1 2 3 4]}}"),
            &[(0.5, 3.1748021039363987)],
        );
    }

    #[test]
    fn quantile_nan_and_empty() {
        let e = h("{{}}");
        assert!(e.quantile(0.5).is_nan());
        assert!(h("{{schema:0 sum:0 count:0}}").quantile(1.0).is_nan());
        let all_nan = h("{{schema:0 count:3 sum:NaN}}");
        for q in [1.0, 0.81, 0.4] {
            assert!(all_nan.quantile(q).is_nan());
        }
        let some_nan = h("{{schema:0 count:15 sum:NaN buckets:[12]}}");
        check(
            &some_nan,
            &[
                (1.0, f64::NAN),
                (0.81, f64::NAN),
                (0.8, 1.0),
                (0.4, 0.7071067811865475),
            ],
        );
        assert!(h("{{count:1 buckets:[1]}}").quantile(f64::NAN).is_nan());
    }

    fn fcheck(h: &FloatHistogram, cases: &[(f64, f64, f64)]) {
        for &(lo, hi, want) in cases {
            let got = h.fraction(lo, hi);
            assert!(
                close(got, want),
                "fraction({lo}, {hi}) = {got}, want {want}"
            );
        }
    }

    #[test]
    fn fraction_cases() {
        let inf = f64::INFINITY;
        let nan = f64::NAN;
        fcheck(
            &h("{{schema:0 sum:5 count:4 buckets:[1 2 1]}}"),
            &[(1.0, 2.0, 0.5), (0.0, 8.0, 1.0)],
        );
        fcheck(&h("{{}}"), &[(-inf, inf, nan), (0.0, 8.0, nan)]);
        fcheck(
            &h("{{schema:-53 custom_values:[-2 3]}}"),
            &[(-inf, inf, nan)],
        );
        let p = h("{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 buckets:[2 3 0 1 4]}}");
        fcheck(
            &p,
            &[
                (0.0, inf, 1.0),
                (-inf, 0.0, 0.0),
                (-0.001, 0.0, 0.0),
                (0.0, 0.001, 0.16666666666666666),
                (0.001, inf, 0.8333333333333334),
                (0.0, 0.0005, 0.08333333333333333),
                (1.0, 2.0, 0.25),
                (0.0, 1.5, 0.4795739585136224),
                (1.5, 2.0, 0.10375937481971091),
                (1.0, 8.0, 0.3333333333333333),
                (0.0, 6.0, 0.6320802083934297),
                (1.0, 6.0, 0.29874687506009634),
                (1.5, 6.0, 0.15250624987980724),
                (-2.0, -1.0, 0.0),
                (42.0, 3.1415, 0.0),
                (0.000001, 0.000001, 0.0),
                (3.1415, nan, nan),
                (-inf, inf, 1.0),
            ],
        );
        let n =
            h("{{schema:0 count:12 sum:100 z_bucket:2 z_bucket_w:0.001 n_buckets:[2 3 0 1 4]}}");
        fcheck(
            &n,
            &[
                (0.0, inf, 0.0),
                (-inf, 0.0, 1.0),
                (-0.001, 0.0, 0.16666666666666666),
                (-0.0005, 0.0, 0.08333333333333333),
                (-inf, -0.0005, 0.9166666666666666),
                (-2.0, -1.5, 0.10375937481971091),
                (-inf, -6.0, 0.36791979160657035),
                (-6.0, -1.5, 0.15250624987980724),
            ],
        );
        let b = h("{{schema:0 count:24 sum:100 z_bucket:4 z_bucket_w:0.001 buckets:[2 3 0 1 4] n_buckets:[2 3 0 1 4]}}");
        fcheck(
            &b,
            &[
                (-0.0005, 0.0005, 0.08333333333333333),
                (-inf, 0.0005, 0.5416666666666666),
                (-inf, -0.0005, 0.4583333333333333),
                (1.5, 2.0, 0.051879687409855414),
                (-6.0, -1.0, 0.14937343753004817),
                (-6.0, -1.5, 0.07625312493990362),
            ],
        );
        fcheck(
            &h("{{schema:-53 sum:5 count:4 custom_values:[5 10] buckets:[1 2 1]}}"),
            &[(5.0, 10.0, 0.5), (0.0, 2.5, 0.125)],
        );
        fcheck(
            &h("{{schema:-1 sum:6 count:5 buckets:[0 5]}}"),
            &[(0.0, 2.0, 0.5)],
        );
        fcheck(
            &h("{{schema:0 sum:4 count:5 n_buckets:[0 0 5]}}"),
            &[(-2.82842712474619, 0.0, 0.5)],
        );
    }

    #[test]
    fn fraction_custom_infinite_buckets() {
        let inf = f64::INFINITY;
        // NHCB equivalents of the classic histograms in histograms.test.
        let pos = h("{{schema:-53 count:100 sum:0 custom_values:[1 2 3] buckets:[1 2 3 94]}}");
        fcheck(
            &pos,
            &[
                (0.0, 1.5, 0.02),
                (-inf, inf, 1.0),
                (4.0, 5.0, 0.0),
                (2.0, 5.0, 0.03),
                (400.0, inf, 0.94),
                (2.0, 2.0, 0.0),
                (3.0, 2.0, 0.0),
                (2.0, 3.5, 0.03),
                (0.5, 2.0, 0.025),
                (1.0, 3.0, 0.05),
            ],
        );
        let neg = h("{{schema:-53 count:100 sum:0 custom_values:[-3 -2 -1] buckets:[10 2 3 85]}}");
        fcheck(
            &neg,
            &[
                (-4.0, -2.0, 0.02),
                (-inf, -1.5, 0.135),
                (-inf, inf, 1.0),
                (0.0, 1.0, 0.0),
            ],
        );
        fcheck(
            &h("{{schema:-53 count:100 sum:0 buckets:[100]}}"),
            &[(0.0, 1.0, 0.0)],
        );
        fcheck(
            &h("{{schema:-53 count:0 sum:0 custom_values:[1 2 3] buckets:[0 0 0 0]}}"),
            &[(0.0, 5.0, f64::NAN)],
        );
    }

    #[test]
    fn fraction_nan_observations() {
        let all_nan = h("{{schema:0 count:3 sum:NaN}}");
        fcheck(
            &all_nan,
            &[
                (f64::NEG_INFINITY, 0.7071067811865475, 0.0),
                (f64::NEG_INFINITY, f64::INFINITY, 0.0),
            ],
        );
        let some_nan = h("{{schema:0 count:15 sum:NaN buckets:[12]}}");
        fcheck(
            &some_nan,
            &[
                (f64::NEG_INFINITY, 0.7071067811865475, 0.4),
                (f64::NEG_INFINITY, f64::INFINITY, 0.8),
            ],
        );
    }

    #[test]
    fn stddev_stdvar() {
        let cases = [
            ("{{schema:2 count:4 sum:10 buckets:[1 0 0 0 1 0 0 1 1]}}", 1.0787993180043811, 1.163807968526718),
            ("{{schema:8 count:10 sum:10 buckets:[1 2 3 4]}}", 0.0048960313898237465, 2.3971123370139447e-05),
            (
                "{{schema:3 count:7 sum:62 z_bucket:1 buckets:[0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 1 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 ] n_buckets:[0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1 ]}}",
                42.94723640026,
                1844.4651144196398,
            ),
            (
                "{{schema:0 count:10 sum:-112946 z_bucket:0 n_buckets:[0 0 1 1 1 0 1 1 0 0 3 0 0 0 1 0 0 1]}}",
                27556.344499842,
                759352122.1939945,
            ),
            ("{{schema:0 count:10 sum:-100 z_bucket:0 n_buckets:[0 0 0 0 10]}}", 1.3137084989848, 1.725830020304794),
        ];
        for (lit, sd, sv) in cases {
            let x = h(lit);
            assert!(close(x.stddev(), sd), "{lit}: stddev {}", x.stddev());
            assert!(close(x.stdvar(), sv), "{lit}: stdvar {}", x.stdvar());
        }
        let nan = h("{{schema:0 count:7 sum:NaN z_bucket:1 buckets:[1]}}");
        assert!(nan.stddev().is_nan());
        let inf = h("{{schema:0 count:7 sum:Inf z_bucket:1 buckets:[1]}}");
        assert_eq!(inf.stdvar(), f64::INFINITY);
        assert!(h("{{schema:0 sum:0 count:0}}").stddev().is_nan());
        // NHCB from histograms.test (testhistogram3 at 50m).
        let pos = h(
            "{{schema:-53 count:110 sum:330 custom_values:[0 0.1 0.2 1] buckets:[0 50 20 40 0]}}",
        );
        assert!(close(pos.stddev(), 2.7435461458749795) && close(pos.stdvar(), 7.527045454545455));
        assert!(close(pos.fraction(0.0, 0.2), 0.6363636363636364));
        let neg = h("{{schema:-53 count:20 sum:80 custom_values:[-0.25 -0.2 -0.1 0.3] buckets:[0 10 10 0 0]}}");
        assert!(close(neg.stddev(), 4.187667907081458) && close(neg.stdvar(), 17.5365625));
        assert_eq!(neg.fraction(0.0, 0.2), 0.0);
        assert_eq!((pos.avg(), neg.avg()), (3.0, 4.0));
        // Custom buckets use the arithmetic midpoint: values 7.5 and 12.5.
        let c = h("{{schema:-53 count:2 sum:20 custom_values:[5 10 15] buckets:[0 1 1]}}");
        assert!(close(c.stdvar(), 6.25));
    }

    #[test]
    fn avg_count_sum() {
        let x = h("{{schema:0 sum:5 count:4 buckets:[1 2 1]}}");
        assert_eq!((x.count, x.sum, x.avg()), (4.0, 5.0, 1.25));
        assert!(h("{{}}").avg().is_nan());
    }

    #[test]
    fn kahan() {
        let (mut s, mut c) = (0.0, 0.0);
        for v in [1e100, 1.0, -1e100] {
            (s, c) = super::kahan_inc(v, s, c);
        }
        assert_eq!(s + c, 1.0);
    }
}
