//! Bucket boundaries and bucket iteration.
//!
//! [`get_bound`] gives the upper bound of bucket `idx` in a schema; the
//! lower bound of bucket `idx` is `get_bound(idx - 1, ..)`. Negative buckets
//! mirror positive ones: negative bucket `idx` covers `[-bound(idx),
//! -bound(idx-1))`. Iterators yield [`Bucket`]s exactly as Prometheus'
//! `BucketIterator`s do, including the inclusiveness flags the API reports.

use super::layout::pairs;
use super::table::FRACS;
use super::{is_exponential_schema, FloatHistogram, CUSTOM_BUCKETS_SCHEMA};

/// One bucket with its bounds and (absolute) count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bucket {
    pub lower: f64,
    pub upper: f64,
    pub lower_inclusive: bool,
    pub upper_inclusive: bool,
    pub count: f64,
    /// Index within the schema (meaningless for the zero bucket, where it is 0).
    pub index: i32,
}

/// `2^e` for `e` in the normal range `-1022..=1023`.
fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

/// `x * 2^e` with a single rounding (Go's `math.Ldexp`), for `x` in `[0.5, 1]`.
fn ldexp(x: f64, e: i64) -> f64 {
    if e > 1100 {
        return x * f64::INFINITY;
    }
    if e < -1200 {
        return x * 0.0;
    }
    let mut x = x;
    let mut e = e as i32;
    while e > 1023 {
        x *= pow2(1023);
        e -= 1023;
    }
    if e < -1022 {
        // Scale exactly into the normal range first, then round once.
        x *= pow2(e + 1022);
        return x * pow2(-1022);
    }
    x * pow2(e)
}

/// Upper bound of bucket `idx` in an exponential schema (-4..=8), as
/// Prometheus' `getBoundExponential`: the last finite bucket ends at
/// `f64::MAX`, the one after it (for ±Inf observations) at +Inf. Returns NaN
/// for schemas outside -4..=8.
fn bound_exponential(idx: i32, schema: i32) -> f64 {
    if !is_exponential_schema(schema) {
        return f64::NAN;
    }
    if schema < 0 {
        let exp = i64::from(idx) << (-schema);
        if exp == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exp);
    }
    let frac_idx = (idx & ((1 << schema) - 1)) as usize;
    let frac = FRACS[frac_idx << (8 - schema)];
    let exp = i64::from(idx >> schema) + 1;
    if frac == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(frac, exp)
}

/// Upper bound of bucket `idx` in `schema`. For custom buckets (schema -53)
/// index `-1` gives -Inf, `custom_values.len()` gives +Inf; indices beyond
/// that (only in invalid histograms) are clamped to ±Inf rather than
/// panicking. Unknown schemas give NaN.
pub fn get_bound(idx: i32, schema: i32, custom_values: &[f64]) -> f64 {
    if schema == CUSTOM_BUCKETS_SCHEMA {
        if idx < 0 {
            return f64::NEG_INFINITY;
        }
        return custom_values
            .get(idx as usize)
            .copied()
            .unwrap_or(f64::INFINITY);
    }
    bound_exponential(idx, schema)
}

/// Upper bound of exponential bucket `idx` (used for zero-threshold checks).
pub(super) fn exp_bound(idx: i32, schema: i32) -> f64 {
    bound_exponential(idx, schema)
}

/// Builds the [`Bucket`] of index `idx` on the positive or negative side.
pub(super) fn make_bucket(
    idx: i32,
    count: f64,
    positive: bool,
    schema: i32,
    custom_values: &[f64],
) -> Bucket {
    let hi = get_bound(idx, schema, custom_values);
    let lo = get_bound(idx.saturating_sub(1), schema, custom_values);
    let (lower, upper) = if positive { (lo, hi) } else { (-hi, -lo) };
    if schema == CUSTOM_BUCKETS_SCHEMA {
        Bucket {
            lower,
            upper,
            lower_inclusive: idx == 0,
            upper_inclusive: true,
            count,
            index: idx,
        }
    } else {
        Bucket {
            lower,
            upper,
            lower_inclusive: lower < 0.0,
            upper_inclusive: upper > 0.0,
            count,
            index: idx,
        }
    }
}

impl FloatHistogram {
    /// Positive buckets in ascending order (starting next to the zero bucket).
    /// Includes present buckets with a zero count.
    pub fn positive_bucket_iter(&self) -> impl Iterator<Item = Bucket> + '_ {
        pairs(&self.positive_spans, &self.positive_buckets)
            .into_iter()
            .map(move |(i, c)| make_bucket(i, c, true, self.schema, &self.custom_values))
    }

    /// Negative buckets in descending order of value (starting next to the
    /// zero bucket and going down), like Prometheus' `NegativeBucketIterator`.
    pub fn negative_bucket_iter(&self) -> impl Iterator<Item = Bucket> + '_ {
        pairs(&self.negative_spans, &self.negative_buckets)
            .into_iter()
            .map(move |(i, c)| make_bucket(i, c, false, self.schema, &self.custom_values))
    }

    /// The zero bucket `[-threshold, threshold]`; `None` for custom buckets.
    pub fn zero_bucket(&self) -> Option<Bucket> {
        if self.uses_custom_buckets() {
            return None;
        }
        Some(Bucket {
            lower: -self.zero_threshold,
            upper: self.zero_threshold,
            lower_inclusive: true,
            upper_inclusive: true,
            count: self.zero_count,
            index: 0,
        })
    }

    /// All buckets in ascending order of value: negative buckets, the zero
    /// bucket (only if its count is > 0), positive buckets. As in
    /// Prometheus' `AllBucketIterator`, a negative or positive bucket that
    /// overlaps the zero bucket has its bound clamped to the zero threshold.
    /// Empty buckets are included (callers skip them where Prometheus does).
    pub fn all_buckets(&self) -> Vec<Bucket> {
        let mut out: Vec<Bucket> = self.negative_bucket_iter().collect();
        out.reverse();
        for b in &mut out {
            self.clamp_to_zero_bucket(b);
        }
        if self.zero_count > 0.0 {
            if let Some(z) = self.zero_bucket() {
                out.push(z);
            }
        }
        for mut b in self.positive_bucket_iter() {
            self.clamp_to_zero_bucket(&mut b);
            out.push(b);
        }
        out
    }

    /// All buckets in descending order of value (Prometheus'
    /// `AllReverseBucketIterator`): positive buckets from the highest, the
    /// zero bucket (if its count is > 0), then negative buckets.
    pub fn all_buckets_rev(&self) -> Vec<Bucket> {
        let mut out: Vec<Bucket> = self.positive_bucket_iter().collect();
        out.reverse();
        for b in &mut out {
            self.clamp_to_zero_bucket(b);
        }
        if self.zero_count > 0.0 {
            if let Some(z) = self.zero_bucket() {
                out.push(z);
            }
        }
        for mut b in self.negative_bucket_iter() {
            self.clamp_to_zero_bucket(&mut b);
            out.push(b);
        }
        out
    }

    pub(super) fn clamp_to_zero_bucket(&self, b: &mut Bucket) {
        let zt = self.zero_threshold;
        if b.upper < 0.0 && b.upper > -zt {
            b.upper = -zt;
        } else if b.lower > 0.0 && b.lower < zt {
            b.lower = zt;
        }
    }
}

#[cfg(test)]
#[allow(clippy::approx_constant)]
mod tests {
    use super::*;
    use crate::model::histogram::Span;

    #[test]
    fn exponential_bounds() {
        assert_eq!(get_bound(0, 0, &[]), 1.0);
        assert_eq!(get_bound(1, 0, &[]), 2.0);
        assert_eq!(get_bound(-1, 0, &[]), 0.5);
        assert_eq!(get_bound(1, -1, &[]), 4.0);
        assert_eq!(get_bound(2, -2, &[]), 256.0);
        assert_eq!(get_bound(1, 1, &[]), 1.414213562373095);
        // Prometheus' table value for 2^(1/2)/2 (not correctly rounded).
        assert_eq!(get_bound(-1, 1, &[]), 0.7071067811865475);
        assert_eq!(get_bound(3, 2, &[]), 1.6817928305074288);
        assert_eq!(get_bound(-5, 3, &[]), 0.6484197773255048);
        // Last finite bucket ends at MAX, the next one at +Inf.
        assert_eq!(get_bound(1024, 0, &[]), f64::MAX);
        assert_eq!(get_bound(1025, 0, &[]), f64::INFINITY);
        assert_eq!(get_bound(256, -2, &[]), f64::MAX);
        assert_eq!(get_bound(1024 << 8, 8, &[]), f64::MAX);
        // Tiny and extreme indices do not panic.
        assert_eq!(get_bound(-1074, 0, &[]), f64::from_bits(1));
        assert_eq!(get_bound(-1080, 0, &[]), 0.0);
        assert_eq!(get_bound(i32::MIN, 8, &[]), 0.0);
        assert_eq!(get_bound(i32::MAX, -4, &[]), f64::INFINITY);
        assert!(get_bound(0, 9, &[]).is_nan());
    }

    #[test]
    fn custom_bounds() {
        let cv = [5.0, 10.0];
        assert_eq!(get_bound(-1, -53, &cv), f64::NEG_INFINITY);
        assert_eq!(get_bound(0, -53, &cv), 5.0);
        assert_eq!(get_bound(1, -53, &cv), 10.0);
        assert_eq!(get_bound(2, -53, &cv), f64::INFINITY);
        assert_eq!(get_bound(7, -53, &cv), f64::INFINITY);
        assert_eq!(get_bound(-7, -53, &cv), f64::NEG_INFINITY);
    }

    fn h() -> FloatHistogram {
        FloatHistogram {
            schema: 0,
            zero_threshold: 0.001,
            zero_count: 2.0,
            count: 10.0,
            sum: 3.0,
            positive_spans: vec![
                Span {
                    offset: -1,
                    length: 2,
                },
                Span {
                    offset: 1,
                    length: 1,
                },
            ],
            positive_buckets: vec![1.0, 0.0, 3.0],
            negative_spans: vec![Span {
                offset: 0,
                length: 2,
            }],
            negative_buckets: vec![2.0, 2.0],
            ..Default::default()
        }
    }

    #[test]
    fn iterate_sides() {
        let h = h();
        let pos: Vec<_> = h
            .positive_bucket_iter()
            .map(|b| (b.index, b.lower, b.upper, b.count))
            .collect();
        assert_eq!(
            pos,
            vec![(-1, 0.25, 0.5, 1.0), (0, 0.5, 1.0, 0.0), (2, 2.0, 4.0, 3.0)]
        );
        let neg: Vec<_> = h
            .negative_bucket_iter()
            .map(|b| (b.index, b.lower, b.upper))
            .collect();
        assert_eq!(neg, vec![(0, -1.0, -0.5), (1, -2.0, -1.0)]);
        let b = h.negative_bucket_iter().next().unwrap();
        assert!(b.lower_inclusive && !b.upper_inclusive);
        let b = h.positive_bucket_iter().next().unwrap();
        assert!(!b.lower_inclusive && b.upper_inclusive);
    }

    #[test]
    fn iterate_all() {
        let h = h();
        let all: Vec<_> = h
            .all_buckets()
            .iter()
            .map(|b| (b.lower, b.upper, b.count))
            .collect();
        assert_eq!(
            all,
            vec![
                (-2.0, -1.0, 2.0),
                (-1.0, -0.5, 2.0),
                (-0.001, 0.001, 2.0),
                (0.25, 0.5, 1.0),
                (0.5, 1.0, 0.0),
                (2.0, 4.0, 3.0),
            ]
        );
        let rev: Vec<_> = h.all_buckets_rev().iter().map(|b| b.upper).collect();
        assert_eq!(rev, vec![4.0, 1.0, 0.5, 0.001, -0.5, -1.0]);
        // Zero bucket omitted when empty; overlapping buckets clamped.
        let mut h2 = h.clone();
        h2.zero_count = 0.0;
        h2.zero_threshold = 0.3;
        let all = h2.all_buckets();
        assert_eq!(all.len(), 5);
        assert_eq!(all[2].lower, 0.3);
    }

    #[test]
    fn iterate_custom() {
        let h = FloatHistogram {
            schema: -53,
            custom_values: vec![5.0, 10.0],
            positive_spans: vec![Span {
                offset: 0,
                length: 3,
            }],
            positive_buckets: vec![1.0, 2.0, 1.0],
            ..Default::default()
        };
        let all = h.all_buckets();
        assert_eq!(all.len(), 3);
        assert_eq!((all[0].lower, all[0].upper), (f64::NEG_INFINITY, 5.0));
        assert!(all[0].lower_inclusive && all[0].upper_inclusive);
        assert!(!all[1].lower_inclusive && all[1].upper_inclusive);
        assert_eq!((all[2].lower, all[2].upper), (10.0, f64::INFINITY));
        assert!(h.zero_bucket().is_none());
    }

    #[test]
    fn invalid_layouts_do_not_panic() {
        let h = FloatHistogram {
            schema: 0,
            positive_spans: vec![
                Span {
                    offset: i32::MAX,
                    length: 5,
                },
                Span {
                    offset: -7,
                    length: 2,
                },
            ],
            positive_buckets: vec![1.0],
            negative_spans: vec![Span {
                offset: 0,
                length: 1,
            }],
            negative_buckets: vec![1.0, 2.0, 3.0],
            ..Default::default()
        };
        assert_eq!(h.positive_bucket_iter().count(), 1);
        assert_eq!(h.negative_bucket_iter().count(), 1);
        let _ = h.all_buckets_rev();
    }
}
