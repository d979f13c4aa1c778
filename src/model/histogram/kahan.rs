//! Compensated (Kahan–Neumaier) histogram summation, as PromQL's `sum`,
//! `avg`, `sum_over_time` and `avg_over_time` use it for native histograms
//! since Prometheus v3.x: adding `1e100`, `3.1`, `-1e100`, `1.3` as sums
//! gives 4.4, not 1.3.
//!
//! Usage: start with `comp = FloatHistogram::default()`, call
//! [`FloatHistogram::kahan_add`] for every addend, then
//! [`FloatHistogram::kahan_finish`] once. The compensation histogram always
//! has the receiver's layout (schema, zero threshold, custom bounds,
//! buckets): every layout change of the receiver (lower schema, wider zero
//! bucket, reconciled custom bounds) is applied to it too.

use super::arith::{custom_bounds_match, AddOutcome, HistogramError};
use super::bounds::{exp_bound, get_bound};
use super::layout::{from_pairs, pairs, reduce};
use super::stats::kahan_inc;
use super::FloatHistogram;

/// `(bucket index, count)` pairs, ascending by index.
type Pairs = Vec<(i32, f64)>;

/// Kahan-adds `other` onto `sum`/`comp` pairs (both ascending, aligned).
fn kahan_merge(sum: &[(i32, f64)], comp: &[(i32, f64)], other: &[(i32, f64)]) -> (Pairs, Pairs) {
    // `comp` has (a subset of) `sum`'s indices, ascending: walk it along.
    let mut ci = 0;
    let mut comp_at = |i: i32| {
        while ci < comp.len() && comp[ci].0 < i {
            ci += 1;
        }
        match comp.get(ci) {
            Some(&(j, c)) if j == i => c,
            _ => 0.0,
        }
    };
    let (mut s_out, mut c_out) = (Vec::new(), Vec::new());
    let (mut a, mut b) = (0, 0);
    while a < sum.len() || b < other.len() {
        let (idx, s, o) = match (sum.get(a), other.get(b)) {
            (Some(&(i, s)), Some(&(j, o))) if i == j => {
                a += 1;
                b += 1;
                (i, s, Some(o))
            }
            (Some(&(i, s)), Some(&(j, _))) if i < j => {
                a += 1;
                (i, s, None)
            }
            (Some(&(i, s)), None) => {
                a += 1;
                (i, s, None)
            }
            (_, Some(&(j, o))) => {
                b += 1;
                (j, 0.0, Some(o))
            }
            (None, None) => break,
        };
        let c = comp_at(idx);
        let (s, c) = match o {
            Some(o) => kahan_inc(o, s, c),
            None => (s, c),
        };
        s_out.push((idx, s));
        c_out.push((idx, c));
    }
    (s_out, c_out)
}

impl FloatHistogram {
    /// Adds `other` into `self` with compensated summation, keeping the
    /// running compensation in `comp` (start with the default histogram).
    /// Layout reconciliation, hints, outcome and errors are as for
    /// [`add`](Self::add); on error nothing changes.
    pub fn kahan_add(
        &mut self,
        other: &FloatHistogram,
        comp: &mut FloatHistogram,
    ) -> Result<AddOutcome, HistogramError> {
        // Validate and learn the outcome (hint, reconciled bounds) by adding
        // bucket-less copies: cheap, and leaves `self` untouched on error.
        let mut probe = FloatHistogram {
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            custom_values: self.custom_values.clone(),
            counter_reset_hint: self.counter_reset_hint,
            ..Default::default()
        };
        let other_probe = FloatHistogram {
            schema: other.schema,
            zero_threshold: other.zero_threshold,
            custom_values: other.custom_values.clone(),
            counter_reset_hint: other.counter_reset_hint,
            ..Default::default()
        };
        let outcome = probe.add(&other_probe)?;
        self.counter_reset_hint = probe.counter_reset_hint;

        // Keep `comp` in self's layout.
        comp.schema = self.schema;
        comp.zero_threshold = self.zero_threshold;
        comp.custom_values.clone_from(&self.custom_values);

        let custom = self.uses_custom_buckets();
        let other_zero = if custom {
            0.0
        } else {
            let before = self.zero_threshold;
            let z = self.reconcile_zero_buckets(other);
            if self.zero_threshold != before {
                comp.absorb_into_zero_bucket(self.zero_threshold);
            }
            z
        };
        (self.count, comp.count) = kahan_inc(other.count, self.count, comp.count);
        (self.sum, comp.sum) = kahan_inc(other.sum, self.sum, comp.sum);
        if !custom {
            (self.zero_count, comp.zero_count) =
                kahan_inc(other_zero, self.zero_count, comp.zero_count);
        }

        let hp = pairs(&self.positive_spans, &self.positive_buckets);
        let cp = pairs(&comp.positive_spans, &comp.positive_buckets);
        let op = pairs(&other.positive_spans, &other.positive_buckets);
        if custom {
            if custom_bounds_match(&self.custom_values, &other.custom_values) {
                let (s, c) = kahan_merge(&hp, &cp, &op);
                (self.positive_spans, self.positive_buckets) = from_pairs(&s);
                (comp.positive_spans, comp.positive_buckets) = from_pairs(&c);
            } else {
                let inter =
                    super::arith::intersect_bounds(&self.custom_values, &other.custom_values);
                let mut ts = vec![0.0; inter.len() + 1];
                let mut tc = vec![0.0; inter.len() + 1];
                let mut to = vec![0.0; inter.len() + 1];
                super::arith::map_to_bounds(&hp, &self.custom_values, &inter, 1.0, &mut ts);
                super::arith::map_to_bounds(&cp, &self.custom_values, &inter, 1.0, &mut tc);
                super::arith::map_to_bounds(&op, &other.custom_values, &inter, 1.0, &mut to);
                let (mut s, mut c) = (Vec::new(), Vec::new());
                for k in 0..ts.len() {
                    let (v, cv) = kahan_inc(to[k], ts[k], tc[k]);
                    if v != 0.0 || cv != 0.0 {
                        s.push((k as i32, v));
                        c.push((k as i32, cv));
                    }
                }
                (self.positive_spans, self.positive_buckets) = from_pairs(&s);
                (comp.positive_spans, comp.positive_buckets) = from_pairs(&c);
                self.custom_values.clone_from(&inter);
                comp.custom_values = inter;
            }
            return Ok(outcome);
        }

        let mut hp = hp;
        let mut cp = cp;
        let mut hn = pairs(&self.negative_spans, &self.negative_buckets);
        let mut cn = pairs(&comp.negative_spans, &comp.negative_buckets);
        let mut op = op;
        let mut on = pairs(&other.negative_spans, &other.negative_buckets);
        if other.schema < self.schema {
            hp = reduce(&hp, self.schema, other.schema);
            hn = reduce(&hn, self.schema, other.schema);
            cp = reduce(&cp, self.schema, other.schema);
            cn = reduce(&cn, self.schema, other.schema);
            self.schema = other.schema;
            comp.schema = other.schema;
        } else if other.schema > self.schema {
            op = reduce(&op, other.schema, self.schema);
            on = reduce(&on, other.schema, self.schema);
        }
        let (schema, zt) = (self.schema, self.zero_threshold);
        let skip = |p: &[(i32, f64)]| {
            p.iter()
                .take_while(|&&(i, _)| exp_bound(i, schema) <= zt)
                .count()
        };
        let (sp, cpn) = kahan_merge(&hp, &cp, &op[skip(&op)..]);
        let (sn, cnn) = kahan_merge(&hn, &cn, &on[skip(&on)..]);
        (self.positive_spans, self.positive_buckets) = from_pairs(&sp);
        (self.negative_spans, self.negative_buckets) = from_pairs(&sn);
        (comp.positive_spans, comp.positive_buckets) = from_pairs(&cpn);
        (comp.negative_spans, comp.negative_buckets) = from_pairs(&cnn);
        Ok(outcome)
    }

    /// Adds the compensation into the sum (keeping the sum's hint). Call
    /// once after the last [`kahan_add`](Self::kahan_add).
    pub fn kahan_finish(&mut self, comp: &FloatHistogram) {
        let hint = self.counter_reset_hint;
        let mut comp = comp.clone();
        comp.counter_reset_hint = hint;
        // Same layout by construction; an error cannot happen for a
        // compensation built by `kahan_add`, and leaves `self` unchanged.
        let _ = self.add(&comp);
        self.counter_reset_hint = hint;
    }

    /// Moves buckets inside the zero bucket `[-t, t]` into the zero count
    /// (used to keep a compensation histogram aligned with its sum).
    fn absorb_into_zero_bucket(&mut self, t: f64) {
        self.zero_threshold = t;
        let mut moved = 0.0;
        let schema = self.schema;
        let keep = |p: Vec<(i32, f64)>, moved: &mut f64| -> Vec<(i32, f64)> {
            p.into_iter()
                .filter(|&(i, c)| {
                    if get_bound(i.saturating_sub(1), schema, &[]) < t {
                        *moved += c;
                        false
                    } else {
                        true
                    }
                })
                .collect()
        };
        let p = keep(
            pairs(&self.positive_spans, &self.positive_buckets),
            &mut moved,
        );
        let n = keep(
            pairs(&self.negative_spans, &self.negative_buckets),
            &mut moved,
        );
        (self.positive_spans, self.positive_buckets) = from_pairs(&p);
        (self.negative_spans, self.negative_buckets) = from_pairs(&n);
        self.zero_count += moved;
    }
}

#[cfg(test)]
mod tests {
    use crate::model::histogram::literal::parse_histogram_literal;
    use crate::model::histogram::{CounterResetHint, FloatHistogram};

    fn h(s: &str) -> FloatHistogram {
        parse_histogram_literal(s).unwrap().0
    }

    fn ksum(lits: &[&str]) -> FloatHistogram {
        let mut it = lits.iter();
        let mut sum = h(it.next().unwrap());
        let mut comp = FloatHistogram::default();
        for l in it {
            sum.kahan_add(&h(l), &mut comp).unwrap();
        }
        sum.kahan_finish(&comp);
        sum
    }

    #[test]
    fn sum_aggregation_from_native_histograms_test() {
        let got = ksum(&[
            "{{schema:0 count:25 sum:3.1 z_bucket:4 z_bucket_w:0.001 buckets:[1 2 0 1 1] n_buckets:[2 4 0 0 1 9]}}",
            "{{schema:0 count:41 sum:1e100 z_bucket:5 z_bucket_w:0.001 buckets:[1 3 1 2 1 1 1] n_buckets:[0 1 4 2 7 0 0 0 0 5 5 2]}}",
            "{{schema:0 count:41 sum:-1e100 z_bucket:5 z_bucket_w:0.001 buckets:[1 3 1 2 1 1 1] n_buckets:[0 1 4 2 7 0 0 0 0 5 5 2]}}",
            "{{schema:1 count:0 sum:1.3 z_bucket:3 z_bucket_w:0.001 buckets:[2 4 2 3 2 2] n_buckets:[1 2 5 3 8 1 1 1 1 6 3]}}",
        ]);
        let want = h("{{schema:0 count:107 sum:4.4 z_bucket:17 z_bucket_w:0.001 buckets:[5 14 7 7 3 2 2] n_buckets:[3 13 19 6 17 18 0 0 0 10 10 4]}}");
        assert!(
            got.matches_expected(&want, false),
            "{}",
            got.test_expression()
        );
    }

    #[test]
    fn sum_over_time_large_magnitudes() {
        let got = ksum(&[
            "{{schema:0 count:1 sum:1}}",
            "{{schema:0 count:2 sum:1e100}}",
            "{{schema:0 count:3 sum:1}}",
            "{{schema:0 count:4 sum:-1e100}}",
        ]);
        assert!(got.matches_expected(&h("{{schema:0 count:10 sum:2}}"), false));
        let got = ksum(&[
            "{{schema:0 count:1 sum:5.3}}",
            "{{schema:0 count:2 sum:1e100}}",
            "{{schema:0 count:3 sum:1}}",
            "{{schema:0 count:4 sum:-1e100}}",
            "{{schema:0 count:5 sum:2}}",
            "{{schema:0 count:6 sum:1e50}}",
            "{{schema:0 count:7 sum:-1e50}}",
        ]);
        assert!(
            got.matches_expected(&h("{{schema:0 count:28 sum:8.3}}"), false),
            "{got}"
        );
    }

    #[test]
    fn kahan_layout_changes_and_hints() {
        // Zero threshold widening and custom bound reconciliation.
        let got = ksum(&[
            "{{schema:0 count:3 sum:1 z_bucket:1 z_bucket_w:0.5 buckets:[1 1]}}",
            "{{schema:0 count:2 sum:1 z_bucket:2 z_bucket_w:1}}",
        ]);
        assert!(
            got.matches_expected(
                &h("{{count:5 sum:2 z_bucket:4 z_bucket_w:1 buckets:[1] offset:1}}"),
                false
            ),
            "{got}"
        );
        let got = ksum(&[
            "{{schema:-53 sum:1 count:1 custom_values:[10] buckets:[1]}}",
            "{{schema:-53 sum:1 count:1 custom_values:[2 10] buckets:[1]}}",
            "{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}",
        ]);
        assert!(
            got.matches_expected(
                &h("{{schema:-53 count:3 sum:3 custom_values:[10] buckets:[3]}}"),
                false
            ),
            "{got}"
        );
        let mut a = h("{{count:1 counter_reset_hint:not_reset}}");
        let mut comp = FloatHistogram::default();
        a.kahan_add(&h("{{count:1 counter_reset_hint:not_reset}}"), &mut comp)
            .unwrap();
        a.kahan_finish(&comp);
        assert_eq!(a.counter_reset_hint, CounterResetHint::NotCounterReset);
        let mut comp = FloatHistogram::default();
        assert!(a
            .kahan_add(&h("{{schema:-53 count:1}}"), &mut comp)
            .is_err());
    }
}
