//! OTLP exponential histograms to native histograms. The OTLP scale is the
//! native schema; scales above 8 are downscaled to 8 by merging `2^(scale-8)`
//! neighbouring buckets, scales below -4 are refused. OTLP bucket index `i`
//! covers `(base^i, base^(i+1)]`, Prometheus' index `i+1` covers the same
//! range, so indexes shift by one. Runs of up to two empty buckets stay
//! inside a span, longer gaps start a new one (as client_golang lays them out).

use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, ExponentialHistogramDataPoint,
};

use crate::ingest::histogram_wire;
use crate::model::histogram::{
    CounterResetHint, FloatHistogram, Span, EXPONENTIAL_SCHEMA_MAX, EXPONENTIAL_SCHEMA_MIN,
};
use crate::model::sample::stale_nan;

/// The zero threshold Prometheus uses when the sender gives none.
pub const DEFAULT_ZERO_THRESHOLD: f64 = 1e-128;

/// Sparse spans and absolute counts of one side, downscaled by `scale_down`.
fn layout(b: Option<&Buckets>, scale_down: u32) -> Result<(Vec<Span>, Vec<f64>), String> {
    let Some(b) = b else {
        return Ok((Vec::new(), Vec::new()));
    };
    // (Prometheus index, count) of the merged buckets, ascending.
    let mut merged: Vec<(i64, u64)> = Vec::new();
    for (i, &c) in b.bucket_counts.iter().enumerate() {
        let otlp_index = i64::from(b.offset) + i as i64;
        let index = (otlp_index >> scale_down) + 1;
        match merged.last_mut() {
            Some((last, n)) if *last == index => *n = n.saturating_add(c),
            _ => merged.push((index, c)),
        }
    }
    let mut spans: Vec<Span> = Vec::new();
    let mut counts: Vec<f64> = Vec::new();
    let mut prev: Option<i64> = None;
    for (index, c) in merged.into_iter().filter(|(_, c)| *c > 0) {
        let as_i32 =
            |v: i64| i32::try_from(v).map_err(|_| format!("bucket index {index} is out of range"));
        match (prev, spans.last_mut()) {
            (Some(p), Some(last)) if index - p - 1 <= 2 => {
                let gap = index - p - 1;
                counts.extend(std::iter::repeat_n(0.0, gap as usize));
                last.length += gap as u32 + 1;
            }
            (Some(p), _) => spans.push(Span {
                offset: as_i32(index - p - 1)?,
                length: 1,
            }),
            (None, _) => spans.push(Span {
                offset: as_i32(index)?,
                length: 1,
            }),
        }
        counts.push(c as f64);
        prev = Some(index);
    }
    Ok((spans, counts))
}

/// Converts one data point (without its timestamp); `Err` says why it
/// cannot be stored. A point flagged "no recorded value" becomes a stale
/// marker (its sum is Prometheus' stale NaN).
pub fn to_native(p: &ExponentialHistogramDataPoint, stale: bool) -> Result<FloatHistogram, String> {
    if p.scale < EXPONENTIAL_SCHEMA_MIN {
        return Err(format!(
            "cannot convert exponential to native histogram: scale must be >= {EXPONENTIAL_SCHEMA_MIN}, was {}",
            p.scale
        ));
    }
    let scale_down = (p.scale - EXPONENTIAL_SCHEMA_MAX).max(0) as u32;
    let (positive_spans, positive_buckets) = layout(p.positive.as_ref(), scale_down)?;
    let (negative_spans, negative_buckets) = layout(p.negative.as_ref(), scale_down)?;
    let h = FloatHistogram {
        counter_reset_hint: CounterResetHint::Unknown,
        schema: p.scale.min(EXPONENTIAL_SCHEMA_MAX),
        zero_threshold: if p.zero_threshold > 0.0 {
            p.zero_threshold
        } else {
            DEFAULT_ZERO_THRESHOLD
        },
        zero_count: p.zero_count as f64,
        count: p.count as f64,
        sum: if stale {
            stale_nan()
        } else {
            p.sum.unwrap_or(0.0)
        },
        positive_spans,
        negative_spans,
        positive_buckets,
        negative_buckets,
        custom_values: Vec::new(),
    };
    histogram_wire::validate(&h, true)?;
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::is_stale_nan;

    fn buckets(offset: i32, counts: &[u64]) -> Option<Buckets> {
        Some(Buckets {
            offset,
            bucket_counts: counts.to_vec(),
        })
    }

    fn span(offset: i32, length: u32) -> Span {
        Span { offset, length }
    }

    fn point(
        scale: i32,
        pos: Option<Buckets>,
        neg: Option<Buckets>,
        zero: u64,
    ) -> ExponentialHistogramDataPoint {
        let n = |b: &Option<Buckets>| {
            b.as_ref()
                .map_or(0, |b| b.bucket_counts.iter().sum::<u64>())
        };
        ExponentialHistogramDataPoint {
            count: n(&pos) + n(&neg) + zero,
            sum: Some(10.5),
            scale,
            zero_count: zero,
            positive: pos,
            negative: neg,
            ..Default::default()
        }
    }

    #[test]
    fn indexes_shift_by_one_on_both_sides() {
        let p = point(1, buckets(1, &[1, 1]), buckets(1, &[1, 1]), 1);
        let h = to_native(&p, false).unwrap();
        assert_eq!(h.schema, 1);
        assert_eq!(h.count, 5.0);
        assert_eq!(h.sum, 10.5);
        assert_eq!(h.zero_count, 1.0);
        assert_eq!(h.zero_threshold, DEFAULT_ZERO_THRESHOLD);
        assert_eq!(h.positive_spans, vec![span(2, 2)]);
        assert_eq!(h.positive_buckets, vec![1.0, 1.0]);
        assert_eq!(h.negative_spans, vec![span(2, 2)]);
        assert_eq!(h.negative_buckets, vec![1.0, 1.0]);
        assert_eq!(h.counter_reset_hint, CounterResetHint::Unknown);
    }

    #[test]
    fn small_gaps_stay_in_a_span_large_gaps_split() {
        // OTLP indexes -2, 0 (gap 1), 4 (gap 3): Prometheus -1, 1, 5.
        let p = point(0, buckets(-2, &[3, 0, 2, 0, 0, 0, 4]), None, 0);
        let h = to_native(&p, false).unwrap();
        assert_eq!(h.positive_spans, vec![span(-1, 3), span(3, 1)]);
        assert_eq!(h.positive_buckets, vec![3.0, 0.0, 2.0, 4.0]);
        // Leading and trailing empty buckets vanish.
        let p = point(3, buckets(5, &[0, 0, 7, 0]), None, 0);
        let h = to_native(&p, false).unwrap();
        assert_eq!(h.positive_spans, vec![span(8, 1)]);
        assert_eq!(h.positive_buckets, vec![7.0]);
    }

    #[test]
    fn scales_above_8_are_downscaled() {
        // Scale 10 → schema 8: four OTLP buckets merge into one.
        // OTLP indexes -3..=1 → (-1,-1,-1,0,0) → Prometheus 0 and 1.
        let p = point(
            10,
            buckets(-3, &[1, 2, 3, 4, 5]),
            buckets(4, &[1, 1, 1, 1, 1]),
            2,
        );
        let h = to_native(&p, false).unwrap();
        assert_eq!(h.schema, 8);
        assert_eq!(h.positive_spans, vec![span(0, 2)]);
        assert_eq!(h.positive_buckets, vec![6.0, 9.0]);
        // Negative side: indexes 4..=8 → (1,1,1,1,2) → Prometheus 2 and 3.
        assert_eq!(h.negative_spans, vec![span(2, 2)]);
        assert_eq!(h.negative_buckets, vec![4.0, 1.0]);
        assert_eq!(h.count, 22.0);
    }

    #[test]
    fn scales_below_minus_4_are_refused() {
        let p = point(-5, buckets(0, &[1]), None, 0);
        assert_eq!(
            to_native(&p, false),
            Err(
                "cannot convert exponential to native histogram: scale must be >= -4, was -5"
                    .into()
            )
        );
        assert!(to_native(&point(-4, buckets(0, &[1]), None, 0), false).is_ok());
    }

    #[test]
    fn zero_threshold_is_kept_and_counts_are_checked() {
        let mut p = point(0, buckets(0, &[2]), None, 3);
        p.zero_threshold = 0.001;
        let h = to_native(&p, false).unwrap();
        assert_eq!(h.zero_threshold, 0.001);
        assert_eq!(h.zero_count, 3.0);
        p.count = 9;
        let err = to_native(&p, false).unwrap_err();
        assert!(err.contains("observation count"), "{err}");
    }

    #[test]
    fn no_recorded_value_is_a_stale_marker() {
        let p = point(0, buckets(0, &[2]), None, 0);
        let h = to_native(&p, true).unwrap();
        assert!(is_stale_nan(h.sum));
        assert_eq!(h.count, 2.0);
    }

    #[test]
    fn empty_histogram_converts() {
        let p = ExponentialHistogramDataPoint {
            scale: 2,
            ..Default::default()
        };
        let h = to_native(&p, false).unwrap();
        assert!(h.positive_spans.is_empty() && h.negative_spans.is_empty());
        assert_eq!((h.count, h.sum), (0.0, 0.0));
    }
}
