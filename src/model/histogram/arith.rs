//! Arithmetic and structural operations, with the semantics of Prometheus'
//! `FloatHistogram` (v3.x): `Add`/`Sub` reconcile schemas (reducing to the
//! lower resolution) and zero thresholds (widening), custom-bucket
//! histograms with different bounds are reconciled to the intersection of
//! their bounds; `Mul`/`Div` scale; `Compact`, `ReduceResolution`,
//! `CopyToSchema`, `Equals` (`DetectReset` is in `reset`, `Validate` in
//! `validate`).
//!
//! All methods mutate the receiver in place like their Go counterparts (call
//! `.clone()` first where Go calls `Copy()`).

use super::bounds::{exp_bound, get_bound};
use super::layout::{self, from_pairs, merge, pairs, reduce};
use super::{is_exponential_schema, CounterResetHint, FloatHistogram, CUSTOM_BUCKETS_SCHEMA};

/// Why an operation could not be applied.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum HistogramError {
    /// One operand uses exponential buckets, the other custom buckets.
    /// PromQL reports this as the "mix of exponential and custom buckets"
    /// annotation.
    #[error("cannot apply this operation on histograms with a mix of exponential and custom bucket schemas")]
    IncompatibleSchema,
    /// Custom bounds differ where an operation needs identical bounds. (Add
    /// and Sub do not return this: since Prometheus v3.5 they reconcile
    /// the bounds, see [`AddOutcome::nhcb_bounds_reconciled`].)
    #[error(
        "cannot apply this operation on custom buckets histograms with different custom bounds"
    )]
    IncompatibleBounds,
    /// A schema that is neither -4..=8 nor -53.
    #[error("invalid histogram schema {0}")]
    InvalidSchema(i32),
    /// A zero threshold that is NaN or negative.
    #[error("invalid histogram zero threshold {0}")]
    InvalidZeroThreshold(f64),
    /// Resolution can only be reduced, and only between exponential schemas.
    #[error("cannot reduce resolution from schema {from} to {to}")]
    CannotReduceResolution { from: i32, to: i32 },
    /// [`FloatHistogram::validate`] found an inconsistency.
    #[error("{0}")]
    Invalid(String),
}

/// Side information of a successful [`FloatHistogram::add`] / `sub`, from
/// which the engine derives Prometheus' annotations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddOutcome {
    /// One operand said `CounterReset`, the other `NotCounterReset`
    /// (warning "conflicting counter resets during histogram ...").
    pub counter_reset_collision: bool,
    /// Custom bounds differed and were reconciled to their intersection
    /// (info "mismatched custom buckets were reconciled during ...").
    pub nhcb_bounds_reconciled: bool,
}

fn check_schema(schema: i32) -> Result<(), HistogramError> {
    if schema == CUSTOM_BUCKETS_SCHEMA || is_exponential_schema(schema) {
        Ok(())
    } else {
        Err(HistogramError::InvalidSchema(schema))
    }
}

fn check_threshold(t: f64) -> Result<(), HistogramError> {
    if t.is_nan() || t < 0.0 {
        Err(HistogramError::InvalidZeroThreshold(t))
    } else {
        Ok(())
    }
}

/// Whether two custom bound lists are equal (value by value).
pub fn custom_bounds_match(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The bounds present in both ascending lists.
pub(super) fn intersect_bounds(a: &[f64], b: &[f64]) -> Vec<f64> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(a[i]);
            i += 1;
            j += 1;
        } else if a[i] < b[j] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Adds `sign * count` of each bucket (in `bounds`) into `target`, whose
/// buckets are those of `inter` plus the +Inf bucket: a source bucket lands
/// in the first target bucket whose upper bound is >= its own.
pub(super) fn map_to_bounds(
    src: &[(i32, f64)],
    bounds: &[f64],
    inter: &[f64],
    sign: f64,
    target: &mut [f64],
) {
    let last = target.len() - 1;
    for &(i, c) in src {
        let t = if i < 0 {
            0
        } else {
            match bounds.get(i as usize) {
                Some(&b) => inter.iter().position(|&x| x >= b).unwrap_or(last),
                None => last,
            }
        };
        target[t] += sign * c;
    }
}

impl FloatHistogram {
    /// Adds `other` into `self` (Prometheus' `FloatHistogram.Add`). Count,
    /// sum and buckets are added; buckets missing in `self` are inserted.
    /// Schemas are reconciled by reducing to the lower resolution; zero
    /// thresholds by widening to one that contains both zero buckets (moving
    /// covered buckets into the zero bucket). Custom-bucket histograms with
    /// different bounds are mapped onto the intersection of their bounds.
    /// The result may hold empty buckets: call [`compact`](Self::compact).
    ///
    /// The counter-reset hint is combined as Prometheus does: equal hints
    /// stay; a gauge on either side wins; otherwise unknown wins; a direct
    /// `CounterReset`/`NotCounterReset` clash yields unknown and sets
    /// [`AddOutcome::counter_reset_collision`].
    ///
    /// On error `self` is unchanged.
    pub fn add(&mut self, other: &FloatHistogram) -> Result<AddOutcome, HistogramError> {
        self.combine(other, 1.0)
    }

    /// Subtracts `other` from `self`, like [`add`](Self::add). As in
    /// Prometheus, the hint is combined as for addition; the PromQL `-`
    /// operator must set the result to [`CounterResetHint::Gauge`] itself.
    pub fn sub(&mut self, other: &FloatHistogram) -> Result<AddOutcome, HistogramError> {
        self.combine(other, -1.0)
    }

    fn combine(&mut self, other: &FloatHistogram, sign: f64) -> Result<AddOutcome, HistogramError> {
        check_schema(self.schema)?;
        check_schema(other.schema)?;
        if self.uses_custom_buckets() != other.uses_custom_buckets() {
            return Err(HistogramError::IncompatibleSchema);
        }
        let custom = self.uses_custom_buckets();
        if !custom {
            check_threshold(self.zero_threshold)?;
            check_threshold(other.zero_threshold)?;
        }
        let mut out = AddOutcome {
            counter_reset_collision: self.adjust_counter_reset(other),
            nhcb_bounds_reconciled: false,
        };
        if !custom {
            let other_zero = self.reconcile_zero_buckets(other);
            self.zero_count += sign * other_zero;
        }
        self.count += sign * other.count;
        self.sum += sign * other.sum;

        let hp = pairs(&self.positive_spans, &self.positive_buckets);
        let op = pairs(&other.positive_spans, &other.positive_buckets);
        if custom {
            let merged = if custom_bounds_match(&self.custom_values, &other.custom_values) {
                merge(&hp, &op, sign)
            } else {
                out.nhcb_bounds_reconciled = true;
                let inter = intersect_bounds(&self.custom_values, &other.custom_values);
                let mut target = vec![0.0; inter.len() + 1];
                map_to_bounds(&hp, &self.custom_values, &inter, 1.0, &mut target);
                map_to_bounds(&op, &other.custom_values, &inter, sign, &mut target);
                self.custom_values = inter;
                target
                    .into_iter()
                    .enumerate()
                    .filter(|&(_, c)| c != 0.0)
                    .map(|(i, c)| (i as i32, c))
                    .collect()
            };
            (self.positive_spans, self.positive_buckets) = from_pairs(&merged);
            return Ok(out);
        }

        let mut hp = hp;
        let mut hn = pairs(&self.negative_spans, &self.negative_buckets);
        let mut op = op;
        let mut on = pairs(&other.negative_spans, &other.negative_buckets);
        if other.schema < self.schema {
            hp = reduce(&hp, self.schema, other.schema);
            hn = reduce(&hn, self.schema, other.schema);
            self.schema = other.schema;
        } else if other.schema > self.schema {
            op = reduce(&op, other.schema, self.schema);
            on = reduce(&on, other.schema, self.schema);
        }
        // Buckets of `other` inside the (reconciled) zero bucket are already
        // part of the zero count.
        let (schema, zt) = (self.schema, self.zero_threshold);
        let skip = |p: &[(i32, f64)]| {
            p.iter()
                .take_while(|&&(i, _)| exp_bound(i, schema) <= zt)
                .count()
        };
        let op = &op[skip(&op)..];
        let on = &on[skip(&on)..];
        (self.positive_spans, self.positive_buckets) = from_pairs(&merge(&hp, op, sign));
        (self.negative_spans, self.negative_buckets) = from_pairs(&merge(&hn, on, sign));
        Ok(out)
    }

    /// Combines counter-reset hints for add/sub; true on a direct collision.
    fn adjust_counter_reset(&mut self, other: &FloatHistogram) -> bool {
        use CounterResetHint::*;
        match (self.counter_reset_hint, other.counter_reset_hint) {
            (a, b) if a == b => false,
            (Gauge, _) => false,
            (_, Gauge) => {
                self.counter_reset_hint = Gauge;
                false
            }
            (Unknown, _) => false,
            (_, Unknown) => {
                self.counter_reset_hint = Unknown;
                false
            }
            _ => {
                self.counter_reset_hint = Unknown;
                true
            }
        }
    }

    /// Widens the zero buckets of `self` and (virtually) `other` to a
    /// common threshold that does not cut through a populated bucket of
    /// either; returns the zero count `other` would have.
    pub(super) fn reconcile_zero_buckets(&mut self, other: &FloatHistogram) -> f64 {
        let mut other_count = other.zero_count;
        let mut other_threshold = other.zero_threshold;
        let mut rounds = 0;
        while other_threshold != self.zero_threshold && rounds < 10_000 {
            rounds += 1;
            if self.zero_threshold > other_threshold {
                (other_count, other_threshold) =
                    other.zero_count_for_larger_threshold(self.zero_threshold);
            }
            if other_threshold > self.zero_threshold {
                (self.zero_count, self.zero_threshold) =
                    self.zero_count_for_larger_threshold(other_threshold);
                self.trim_buckets_in_zero_bucket();
            }
        }
        other_count
    }

    /// The zero count if the threshold were `larger` (>= the current one),
    /// and the threshold actually needed: if `larger` falls inside a
    /// populated bucket, it moves up to that bucket's (absolute) upper bound
    /// and the bucket is included.
    pub(super) fn zero_count_for_larger_threshold(&self, larger: f64) -> (f64, f64) {
        if larger <= self.zero_threshold {
            return (self.zero_count, self.zero_threshold.max(larger));
        }
        let mut larger = larger;
        for _ in 0..100_000 {
            let mut count = self.zero_count;
            for b in self.positive_bucket_iter() {
                if b.lower >= larger {
                    break;
                }
                count += b.count;
                if b.upper > larger {
                    if b.count != 0.0 {
                        larger = b.upper;
                    }
                    break;
                }
            }
            let mut redo = false;
            for b in self.negative_bucket_iter() {
                if b.upper <= -larger {
                    break;
                }
                count += b.count;
                if b.lower < -larger {
                    if b.count != 0.0 {
                        larger = -b.lower;
                        redo = true;
                    }
                    break;
                }
            }
            if !redo {
                return (count, larger);
            }
        }
        (self.zero_count, larger)
    }

    /// Removes the buckets now inside the zero bucket (their counts are
    /// already in the zero count), then compacts like Prometheus does.
    fn trim_buckets_in_zero_bucket(&mut self) {
        let zt = self.zero_threshold;
        let mut pos = pairs(&self.positive_spans, &self.positive_buckets);
        for (i, c) in pos.iter_mut() {
            if get_bound(i.saturating_sub(1), self.schema, &self.custom_values) >= zt {
                break;
            }
            *c = 0.0;
        }
        let mut neg = pairs(&self.negative_spans, &self.negative_buckets);
        for (i, c) in neg.iter_mut() {
            if -get_bound(i.saturating_sub(1), self.schema, &self.custom_values) <= -zt {
                break;
            }
            *c = 0.0;
        }
        (self.positive_spans, self.positive_buckets) = from_pairs(&pos);
        (self.negative_spans, self.negative_buckets) = from_pairs(&neg);
        self.compact(0);
    }

    /// Scales all counts and the sum by `factor` (Prometheus' `Mul`). A
    /// negative factor turns the histogram into a gauge.
    pub fn mul(&mut self, factor: f64) {
        self.zero_count *= factor;
        self.count *= factor;
        self.sum *= factor;
        self.positive_buckets.iter_mut().for_each(|b| *b *= factor);
        self.negative_buckets.iter_mut().for_each(|b| *b *= factor);
        if factor < 0.0 {
            self.counter_reset_hint = CounterResetHint::Gauge;
        }
    }

    /// Divides all counts and the sum by `scalar` (Prometheus' `Div`).
    /// Division by zero sets count, sum and zero count to ±Inf/NaN and
    /// removes all buckets (hint unchanged); a negative divisor turns the
    /// histogram into a gauge.
    pub fn div(&mut self, scalar: f64) {
        self.zero_count /= scalar;
        self.count /= scalar;
        self.sum /= scalar;
        if scalar == 0.0 {
            self.positive_buckets.clear();
            self.negative_buckets.clear();
            self.positive_spans.clear();
            self.negative_spans.clear();
            return;
        }
        self.positive_buckets.iter_mut().for_each(|b| *b /= scalar);
        self.negative_buckets.iter_mut().for_each(|b| *b /= scalar);
        if scalar < 0.0 {
            self.counter_reset_hint = CounterResetHint::Gauge;
        }
    }

    /// Unary minus as PromQL does it: `mul(-1)`, so the result is a gauge.
    pub fn neg(&mut self) {
        self.mul(-1.0);
    }

    /// Exact equality (Prometheus' `Equals`): same schema, zero threshold,
    /// custom bounds, bucket layout (spans may be split differently) and
    /// bit-identical count, sum, zero count and bucket counts. Empty buckets
    /// count as part of the layout. The hint is not compared.
    pub fn equals(&self, other: &FloatHistogram) -> bool {
        let bits = |a: f64, b: f64| a.to_bits() == b.to_bits();
        if self.schema != other.schema
            || !bits(self.count, other.count)
            || !bits(self.sum, other.sum)
        {
            return false;
        }
        if self.uses_custom_buckets()
            && !custom_bounds_match(&self.custom_values, &other.custom_values)
        {
            return false;
        }
        if self.zero_threshold != other.zero_threshold || !bits(self.zero_count, other.zero_count) {
            return false;
        }
        let same = |a: Vec<(i32, f64)>, b: Vec<(i32, f64)>| {
            a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x.0 == y.0 && bits(x.1, y.1))
        };
        same(
            pairs(&self.negative_spans, &self.negative_buckets),
            pairs(&other.negative_spans, &other.negative_buckets),
        ) && same(
            pairs(&self.positive_spans, &self.positive_buckets),
            pairs(&other.positive_spans, &other.positive_buckets),
        )
    }

    /// Removes empty buckets and normalizes spans (Prometheus' `Compact`):
    /// runs of at most `max_empty_buckets` empty buckets between populated
    /// ones are kept explicit so those buckets share a span. Use 0 to drop
    /// all empty buckets (what promqltest compares).
    pub fn compact(&mut self, max_empty_buckets: usize) {
        (self.positive_spans, self.positive_buckets) = layout::compact(
            &self.positive_spans,
            &self.positive_buckets,
            max_empty_buckets,
        );
        (self.negative_spans, self.negative_buckets) = layout::compact(
            &self.negative_spans,
            &self.negative_buckets,
            max_empty_buckets,
        );
    }

    /// Merges buckets into the lower resolution `target_schema` (Prometheus'
    /// `ReduceResolution`). Errors for custom buckets, a custom target, or a
    /// target that is not strictly lower than the current schema.
    pub fn reduce_resolution(&mut self, target_schema: i32) -> Result<(), HistogramError> {
        check_schema(self.schema)?;
        if self.uses_custom_buckets()
            || target_schema == CUSTOM_BUCKETS_SCHEMA
            || !is_exponential_schema(target_schema)
            || target_schema >= self.schema
        {
            return Err(HistogramError::CannotReduceResolution {
                from: self.schema,
                to: target_schema,
            });
        }
        let p = reduce(
            &pairs(&self.positive_spans, &self.positive_buckets),
            self.schema,
            target_schema,
        );
        let n = reduce(
            &pairs(&self.negative_spans, &self.negative_buckets),
            self.schema,
            target_schema,
        );
        (self.positive_spans, self.positive_buckets) = from_pairs(&p);
        (self.negative_spans, self.negative_buckets) = from_pairs(&n);
        self.schema = target_schema;
        Ok(())
    }

    /// A copy in `target_schema` (<= the current schema; Prometheus'
    /// `CopyToSchema`). Same schema: a plain clone. Otherwise, as in
    /// Prometheus, the copy has hint `Unknown`. Errors for custom buckets or
    /// a higher target schema.
    pub fn copy_to_schema(&self, target_schema: i32) -> Result<FloatHistogram, HistogramError> {
        if target_schema == self.schema {
            return Ok(self.clone());
        }
        let mut c = FloatHistogram {
            counter_reset_hint: CounterResetHint::Unknown,
            schema: self.schema,
            zero_threshold: self.zero_threshold,
            zero_count: self.zero_count,
            count: self.count,
            sum: self.sum,
            positive_spans: self.positive_spans.clone(),
            negative_spans: self.negative_spans.clone(),
            positive_buckets: self.positive_buckets.clone(),
            negative_buckets: self.negative_buckets.clone(),
            custom_values: Vec::new(),
        };
        c.reduce_resolution(target_schema)?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::histogram::literal::parse_histogram_literal;
    use crate::model::histogram::Span;

    fn h(s: &str) -> FloatHistogram {
        parse_histogram_literal(s).unwrap().0
    }

    /// Compacted copy for comparisons, as promqltest does.
    fn c(mut x: FloatHistogram) -> FloatHistogram {
        x.compact(0);
        x
    }

    fn assert_same(got: FloatHistogram, want: &str) {
        let got = c(got);
        let want = c(h(want));
        assert!(got.equals(&want), "got {got:?}\nwant {want:?}");
    }

    #[test]
    fn add_same_schema() {
        let mut a = h("{{schema:0 sum:4 count:4 buckets:[1 2 1]}}");
        let o = a.add(&h("{{sum:2 count:1 buckets:[1] offset:1}}")).unwrap();
        assert_eq!(o, AddOutcome::default());
        assert_same(a, "{{count:5 sum:6 buckets:[1 3 1]}}");
    }

    #[test]
    fn add_inserts_buckets_both_sides() {
        let mut a = h("{{schema:0 sum:4 count:4 buckets:[1 2 1]}}");
        a.add(&h(
            "{{schema:0 sum:-4 count:4 n_buckets:[1 2 1] buckets:[5] offset:-3}}",
        ))
        .unwrap();
        assert_same(
            a,
            "{{count:8 sum:0 buckets:[5 0 0 1 2 1] offset:-3 n_buckets:[1 2 1]}}",
        );
    }

    #[test]
    fn add_reduces_to_lower_schema() {
        // Receiver has the lower resolution.
        let mut a = h("{{schema:-1 sum:4 count:1 buckets:[1] offset:1}}");
        a.add(&h("{{schema:0 sum:4 count:4 buckets:[2 2] offset:1}}"))
            .unwrap();
        assert_same(a, "{{schema:-1 count:5 sum:8 offset:1 buckets:[5]}}");
        // Receiver has the higher resolution: it is reduced.
        let mut a = h("{{schema:1 count:11 sum:1234.5 z_bucket:3 z_bucket_w:0.001 buckets:[0 2 1] n_buckets:[0 0 3 2]}}");
        a.sub(&h("{{schema:0 count:41 sum:2345.6 z_bucket:5 z_bucket_w:0.001 buckets:[1 3 1 2 1 1 1] n_buckets:[0 1 4 2 7 0 0 0 0 5 5 2]}}")).unwrap();
        assert_same(
            a,
            "{{schema:0 count:-30 sum:-1111.1 z_bucket:-2 z_bucket_w:0.001 buckets:[-1 0 -1 -2 -1 -1 -1] n_buckets:[0 2 -2 -2 -7 0 0 0 0 -5 -5 -2]}}",
        );
    }

    #[test]
    fn sub_from_native_histograms_test() {
        let mut a = h("{{schema:0 count:41 sum:2345.6 z_bucket:5 z_bucket_w:0.001 buckets:[1 3 1 2 1 1 1] n_buckets:[0 1 4 2 7 0 0 0 0 5 5 2]}}");
        a.sub(&h("{{schema:1 count:11 sum:1234.5 z_bucket:3 z_bucket_w:0.001 buckets:[0 2 1] n_buckets:[0 0 3 2]}}")).unwrap();
        let mut want = h("{{schema:0 count:30 sum:1111.1 z_bucket:2 z_bucket_w:0.001 buckets:[1 0 1 2 1 1 1] n_buckets:[0 -2 2 2 7 0 0 0 0 5 5 2]}}");
        want.sum = a.sum; // 2345.6 - 1234.5 is not exactly 1111.1
        assert!((a.sum - 1111.1).abs() < 1e-9);
        assert!(c(a).equals(&c(want)));
    }

    #[test]
    fn zero_threshold_widening() {
        // Other has the wider zero bucket: self's bucket (0.5,1] moves in.
        let mut a =
            h("{{schema:0 count:3 sum:1 z_bucket:1 z_bucket_w:0.5 buckets:[1 1] offset:0}}");
        let b = h("{{schema:0 count:2 sum:1 z_bucket:2 z_bucket_w:1}}");
        a.add(&b).unwrap();
        assert_eq!(a.zero_threshold, 1.0);
        assert_same(
            a,
            "{{count:5 sum:2 z_bucket:4 z_bucket_w:1 buckets:[1] offset:1}}",
        );
        // Self has the wider zero bucket: other's covered buckets are added
        // to the zero count, not as buckets.
        let mut a = h("{{schema:0 count:2 sum:1 z_bucket:2 z_bucket_w:1}}");
        a.add(&h("{{schema:0 count:4 sum:1 z_bucket:1 z_bucket_w:0.5 buckets:[1 2] offset:0 n_buckets:[1]}}")).unwrap();
        assert_same(
            a,
            "{{count:6 sum:2 z_bucket:5 z_bucket_w:1 buckets:[2] offset:1}}",
        );
        // A threshold inside a populated bucket widens to its upper bound.
        let mut a = h("{{schema:0 count:2 sum:1 z_bucket:2 z_bucket_w:0.7}}");
        a.add(&h("{{schema:0 count:1 sum:1 buckets:[1]}}")).unwrap();
        assert_same(a, "{{count:3 sum:2 z_bucket:3 z_bucket_w:1}}");
    }

    #[test]
    fn nan_threshold_is_an_error_not_a_hang() {
        let mut a = h("{{schema:0 count:2 sum:1 z_bucket:2 z_bucket_w:0.7}}");
        let mut b = a.clone();
        b.zero_threshold = f64::NAN;
        assert!(matches!(
            a.add(&b),
            Err(HistogramError::InvalidZeroThreshold(_))
        ));
        assert_eq!(a.count, 2.0);
    }

    #[test]
    fn custom_buckets_add() {
        let mut a = h("{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}");
        let o = a
            .add(&h(
                "{{schema:-53 sum:15 count:2 custom_values:[5 10] buckets:[0 2]}}",
            ))
            .unwrap();
        assert!(!o.nhcb_bounds_reconciled);
        assert_same(
            a,
            "{{schema:-53 sum:16 count:3 custom_values:[5 10] buckets:[1 2]}}",
        );
        // Different bounds: intersection.
        let mut a = h("{{schema:-53 sum:1 count:1 custom_values:[10] buckets:[1]}}");
        let o = a
            .add(&h(
                "{{schema:-53 sum:1 count:1 custom_values:[2 10] buckets:[1]}}",
            ))
            .unwrap();
        assert!(o.nhcb_bounds_reconciled);
        assert_same(
            a,
            "{{schema:-53 count:2 sum:2 custom_values:[10] buckets:[2]}}",
        );
        let mut a = h("{{schema:-53 sum:1 count:1 custom_values:[5] buckets:[1]}}");
        a.sub(&h(
            "{{schema:-53 sum:1 count:1 custom_values:[5 10] buckets:[1]}}",
        ))
        .unwrap();
        assert_same(a, "{{schema:-53 custom_values:[5]}}");
        // irate example from native_histograms.test (before scaling).
        let mut a = h("{{schema:-53 sum:555 count:450 custom_values:[1 2 3 4 5 6 7 8] buckets:[10 20 30 40 50 60 70 80 90]}}");
        a.sub(&h(
            "{{schema:-53 sum:55 count:15 custom_values:[2 4 6] buckets:[1 2 5 7]}}",
        ))
        .unwrap();
        assert_same(
            a,
            "{{schema:-53 sum:500 count:435 custom_values:[2 4 6] buckets:[29 68 105 233]}}",
        );
        // Disjoint bounds: everything ends in the +Inf bucket.
        let mut a = h("{{schema:-53 count:1 sum:1 custom_values:[1] buckets:[1]}}");
        a.add(&h(
            "{{schema:-53 count:1 sum:1 custom_values:[2] buckets:[0 1]}}",
        ))
        .unwrap();
        assert_same(a.clone(), "{{schema:-53 count:2 sum:2 buckets:[2]}}");
        assert!(a.custom_values.is_empty());
    }

    #[test]
    fn mixing_schemas_is_an_error() {
        let mut a = h("{{schema:0 count:1 sum:1 buckets:[1]}}");
        let before = a.clone();
        let e = a.add(&h(
            "{{schema:-53 count:1 sum:1 custom_values:[1] buckets:[1]}}",
        ));
        assert_eq!(e, Err(HistogramError::IncompatibleSchema));
        assert_eq!(a, before);
        let mut a = h("{{schema:9 count:1}}");
        assert_eq!(a.add(&before), Err(HistogramError::InvalidSchema(9)));
    }

    #[test]
    fn hints_combine() {
        use CounterResetHint::*;
        let cases = [
            (Unknown, Unknown, Unknown, false),
            (Gauge, NotCounterReset, Gauge, false),
            (NotCounterReset, Gauge, Gauge, false),
            (Unknown, NotCounterReset, Unknown, false),
            (NotCounterReset, Unknown, Unknown, false),
            (NotCounterReset, NotCounterReset, NotCounterReset, false),
            (CounterReset, NotCounterReset, Unknown, true),
            (NotCounterReset, CounterReset, Unknown, true),
        ];
        for (a, b, want, coll) in cases {
            let mut x = h("{{count:1}}");
            x.counter_reset_hint = a;
            let mut y = h("{{count:1}}");
            y.counter_reset_hint = b;
            let o = x.add(&y).unwrap();
            assert_eq!(
                (x.counter_reset_hint, o.counter_reset_collision),
                (want, coll),
                "{a:?}+{b:?}"
            );
        }
    }

    #[test]
    fn mul_div_neg() {
        let base = h("{{schema:0 count:30 sum:33 z_bucket:3 z_bucket_w:0.001 buckets:[3 3 3] n_buckets:[6 6 6]}}");
        let mut a = base.clone();
        a.mul(3.0);
        assert_same(a.clone(), "{{schema:0 count:90 sum:99 z_bucket:9 z_bucket_w:0.001 buckets:[9 9 9] n_buckets:[18 18 18]}}");
        assert_eq!(a.counter_reset_hint, CounterResetHint::Unknown);
        let mut a = base.clone();
        a.div(-3.0);
        assert_same(a.clone(), "{{schema:0 count:-10 sum:-11 z_bucket:-1 z_bucket_w:0.001 buckets:[-1 -1 -1] n_buckets:[-2 -2 -2]}}");
        assert_eq!(a.counter_reset_hint, CounterResetHint::Gauge);
        let mut a = base.clone();
        a.div(0.0);
        assert_eq!(
            (a.count, a.sum, a.zero_count),
            (f64::INFINITY, f64::INFINITY, f64::INFINITY)
        );
        assert!(a.positive_buckets.is_empty() && a.negative_spans.is_empty());
        let mut a = base.clone();
        a.mul(0.0);
        a.div(0.0);
        assert!(a.count.is_nan() && a.sum.is_nan() && a.zero_count.is_nan());
        let mut a = base.clone();
        a.neg();
        assert_eq!(a.counter_reset_hint, CounterResetHint::Gauge);
        assert_eq!(a.negative_buckets, vec![-6.0; 3]);
        let mut a = base;
        a.mul(0.0);
        assert_eq!(a.positive_buckets, vec![0.0; 3]);
    }

    #[test]
    fn equals_semantics() {
        let a = h("{{schema:0 count:3 sum:3 buckets:[1 2]}}");
        let mut b = a.clone();
        b.positive_spans = vec![
            Span {
                offset: 0,
                length: 1,
            },
            Span {
                offset: 0,
                length: 1,
            },
        ];
        assert!(a.equals(&b));
        b.counter_reset_hint = CounterResetHint::Gauge;
        assert!(a.equals(&b));
        let nan = h("{{count:1 sum:NaN}}");
        assert!(nan.equals(&nan.clone()));
        let with_empty = h("{{schema:0 count:3 sum:3 buckets:[1 2 0]}}");
        assert!(!a.equals(&with_empty));
        assert!(
            !h("{{schema:-53 custom_values:[1]}}").equals(&h("{{schema:-53 custom_values:[2]}}"))
        );
    }

    #[test]
    fn reduce_and_copy_to_schema() {
        let mut a = h("{{schema:1 count:5 sum:4 z_bucket:0 buckets:[1 1 1 1 1] offset:-1 n_buckets:[2] n_offset:3}}");
        a.counter_reset_hint = CounterResetHint::Gauge;
        let c0 = a.copy_to_schema(0).unwrap();
        assert_eq!(c0.counter_reset_hint, CounterResetHint::Unknown);
        // schema 1 indices -1,0,1,2,3 -> schema 0 indices 0,0,1,1,2.
        assert_eq!(
            pairs(&c0.positive_spans, &c0.positive_buckets),
            vec![(0, 2.0), (1, 2.0), (2, 1.0)]
        );
        assert_eq!(
            pairs(&c0.negative_spans, &c0.negative_buckets),
            vec![(2, 2.0)]
        );
        assert_eq!(a.copy_to_schema(1).unwrap(), a);
        assert!(a.copy_to_schema(2).is_err());
        a.reduce_resolution(-2).unwrap();
        assert_eq!(a.schema, -2);
        assert_eq!(
            pairs(&a.positive_spans, &a.positive_buckets),
            vec![(0, 2.0), (1, 3.0)]
        );
        assert!(a.reduce_resolution(-2).is_err());
        assert!(h("{{schema:-53 custom_values:[1]}}")
            .copy_to_schema(0)
            .is_err());
    }
}
