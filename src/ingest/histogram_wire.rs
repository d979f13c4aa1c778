//! Native histograms as remote write carries them (1.0 `prometheus.Histogram`
//! and 2.0 `io.prometheus.write.v2.Histogram`, the same fields): integer
//! histograms with delta-encoded bucket counts or float histograms with
//! absolute counts, exponential or custom-bucket schemas. Converts them to
//! the shared [`FloatHistogram`] and validates them as Prometheus does
//! before it appends (`histogram.Validate`), with its error wording.

use crate::ingest::proto::{prometheus as v1, write_v2 as v2};
use crate::model::histogram::{
    CounterResetHint, FloatHistogram, HistogramSample, Span, CUSTOM_BUCKETS_SCHEMA,
};

/// Exponential schemas Prometheus accepts (finer ones are refused).
const MIN_SCHEMA: i32 = -4;
const MAX_SCHEMA: i32 = 8;

/// The fields common to both protocol versions.
struct Wire<'a> {
    count_int: Option<u64>,
    count_float: f64,
    sum: f64,
    schema: i32,
    zero_threshold: f64,
    zero_count_int: Option<u64>,
    zero_count_float: f64,
    negative_spans: Vec<Span>,
    negative_deltas: &'a [i64],
    negative_counts: &'a [f64],
    positive_spans: Vec<Span>,
    positive_deltas: &'a [i64],
    positive_counts: &'a [f64],
    reset_hint: i32,
    timestamp: i64,
    custom_values: &'a [f64],
}

macro_rules! wire_of {
    ($h:expr, $m:ident) => {{
        let h = $h;
        let spans = |s: &[$m::BucketSpan]| -> Vec<Span> {
            s.iter()
                .map(|s| Span {
                    offset: s.offset,
                    length: s.length,
                })
                .collect()
        };
        Wire {
            count_int: match h.count {
                Some($m::histogram::Count::CountInt(c)) => Some(c),
                _ => None,
            },
            count_float: match h.count {
                Some($m::histogram::Count::CountFloat(c)) => c,
                _ => 0.0,
            },
            sum: h.sum,
            schema: h.schema,
            zero_threshold: h.zero_threshold,
            zero_count_int: match h.zero_count {
                Some($m::histogram::ZeroCount::ZeroCountInt(c)) => Some(c),
                _ => None,
            },
            zero_count_float: match h.zero_count {
                Some($m::histogram::ZeroCount::ZeroCountFloat(c)) => c,
                _ => 0.0,
            },
            negative_spans: spans(&h.negative_spans),
            negative_deltas: &h.negative_deltas,
            negative_counts: &h.negative_counts,
            positive_spans: spans(&h.positive_spans),
            positive_deltas: &h.positive_deltas,
            positive_counts: &h.positive_counts,
            reset_hint: h.reset_hint,
            timestamp: h.timestamp,
            custom_values: &h.custom_values,
        }
    }};
}

/// Converts and validates a remote-write 1.0 histogram.
pub fn from_v1(h: &v1::Histogram) -> Result<HistogramSample, String> {
    convert(wire_of!(h, v1))
}

/// Converts and validates a remote-write 2.0 histogram.
pub fn from_v2(h: &v2::Histogram) -> Result<HistogramSample, String> {
    convert(wire_of!(h, v2))
}

/// Absolute counts from Prometheus' delta encoding (each count is the
/// previous one plus the delta); negative results are refused.
fn absolute(deltas: &[i64]) -> Result<Vec<f64>, String> {
    let mut cur: i64 = 0;
    deltas
        .iter()
        .map(|d| {
            cur = cur
                .checked_add(*d)
                .ok_or_else(|| "histogram bucket count overflows".to_string())?;
            if cur < 0 {
                return Err(
                    "histogram has a bucket whose observation count is negative".to_string()
                );
            }
            Ok(cur as f64)
        })
        .collect()
}

fn convert(w: Wire<'_>) -> Result<HistogramSample, String> {
    let integer = w.count_int.is_some();
    let (positive_buckets, negative_buckets) = if integer {
        if !w.positive_counts.is_empty() || !w.negative_counts.is_empty() {
            return Err("integer histogram carries float bucket counts".into());
        }
        (absolute(w.positive_deltas)?, absolute(w.negative_deltas)?)
    } else {
        if !w.positive_deltas.is_empty() || !w.negative_deltas.is_empty() {
            return Err("float histogram carries integer bucket deltas".into());
        }
        (w.positive_counts.to_vec(), w.negative_counts.to_vec())
    };
    let h = FloatHistogram {
        counter_reset_hint: match w.reset_hint {
            1 => CounterResetHint::CounterReset,
            2 => CounterResetHint::NotCounterReset,
            3 => CounterResetHint::Gauge,
            _ => CounterResetHint::Unknown,
        },
        schema: w.schema,
        zero_threshold: w.zero_threshold,
        zero_count: w.zero_count_int.map_or(w.zero_count_float, |c| c as f64),
        count: w.count_int.map_or(w.count_float, |c| c as f64),
        sum: w.sum,
        positive_spans: w.positive_spans,
        negative_spans: w.negative_spans,
        positive_buckets,
        negative_buckets,
        custom_values: w.custom_values.to_vec(),
    };
    validate(&h, integer)?;
    Ok(HistogramSample {
        t: w.timestamp,
        h: Box::new(h),
    })
}

fn check_spans(spans: &[Span], buckets: usize, side: &str) -> Result<(), String> {
    for (i, s) in spans.iter().enumerate() {
        if i > 0 && s.offset < 0 {
            return Err(format!(
                "{side} side: span number {} with offset {}: histogram has a span whose offset is negative",
                i + 1,
                s.offset
            ));
        }
    }
    let n: u64 = spans.iter().map(|s| u64::from(s.length)).sum();
    if n != buckets as u64 {
        return Err(format!(
            "{side} side: spans need {n} buckets, have {buckets} buckets: histogram spans specify different number of buckets than provided"
        ));
    }
    Ok(())
}

/// Prometheus' checks before a histogram is appended.
pub fn validate(h: &FloatHistogram, integer: bool) -> Result<(), String> {
    if h.uses_custom_buckets() {
        if !h.negative_spans.is_empty() || !h.negative_buckets.is_empty() {
            return Err(
                "custom buckets: histogram with custom buckets must not have negative buckets"
                    .into(),
            );
        }
        if h.zero_count != 0.0 || h.zero_threshold != 0.0 {
            return Err(
                "custom buckets: histogram with custom buckets must not have a zero bucket".into(),
            );
        }
        if h.custom_values.windows(2).any(|w| w[0] >= w[1])
            || h.custom_values.iter().any(|v| v.is_nan())
        {
            return Err(
                "custom buckets: histogram custom bounds must be in strictly increasing order"
                    .into(),
            );
        }
        if h.custom_values.last().is_some_and(|v| v.is_infinite()) {
            return Err("custom buckets: last +Inf bound must not be explicitly defined".into());
        }
        // Bucket indexes run from 0 to len(custom_values) (the +Inf bucket).
        let mut idx: i64 = -1;
        for s in &h.positive_spans {
            idx += i64::from(s.offset) + i64::from(s.length);
        }
        if idx > h.custom_values.len() as i64 {
            return Err(format!(
                "custom buckets: bucket index {idx} out of range for {} bounds",
                h.custom_values.len()
            ));
        }
    } else {
        if !(MIN_SCHEMA..=MAX_SCHEMA).contains(&h.schema) {
            return Err(format!(
                "histogram has an invalid schema, which must be between {MIN_SCHEMA} and {MAX_SCHEMA}, or {CUSTOM_BUCKETS_SCHEMA} for custom buckets: got schema {}",
                h.schema
            ));
        }
        if !h.custom_values.is_empty() {
            return Err("histogram with exponential schema must not have custom bounds".into());
        }
        if h.zero_threshold < 0.0 || h.zero_threshold.is_nan() {
            return Err("histogram zero threshold must be a non-negative number".into());
        }
    }
    check_spans(&h.negative_spans, h.negative_buckets.len(), "negative")?;
    check_spans(&h.positive_spans, h.positive_buckets.len(), "positive")?;
    let buckets = h.positive_buckets.iter().chain(&h.negative_buckets);
    if buckets.clone().any(|c| *c < 0.0) || h.zero_count < 0.0 || h.count < 0.0 {
        return Err("histogram has a bucket whose observation count is negative".into());
    }
    let observed: f64 = buckets.sum::<f64>() + h.zero_count;
    // Integer histograms must account for every bucket observation; a NaN
    // sum allows more (NaN observations land in no bucket).
    if integer {
        if h.sum.is_nan() {
            if observed > h.count {
                return Err(format!(
                    "{} observations found in buckets, but the Count field is {}: histogram's observation count should be at least the number of observations found in the buckets",
                    observed, h.count
                ));
            }
        } else if observed != h.count {
            return Err(format!(
                "{} observations found in buckets, but the Count field is {}: histogram's observation count should equal the number of observations found in the buckets (in absence of NaN)",
                observed, h.count
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(offset: i32, length: u32) -> v1::BucketSpan {
        v1::BucketSpan { offset, length }
    }

    #[test]
    fn integer_histogram_deltas_become_absolute_counts() {
        let h = v1::Histogram {
            count: Some(v1::histogram::Count::CountInt(8)),
            sum: 12.5,
            schema: 1,
            zero_threshold: 0.001,
            zero_count: Some(v1::histogram::ZeroCount::ZeroCountInt(1)),
            positive_spans: vec![span(-1, 2), span(1, 1)],
            positive_deltas: vec![2, 1, -2],
            negative_spans: vec![span(0, 1)],
            negative_deltas: vec![1],
            timestamp: 1234,
            reset_hint: 2,
            ..Default::default()
        };
        let s = from_v1(&h).unwrap();
        assert_eq!(s.t, 1234);
        assert_eq!(s.h.positive_buckets, vec![2.0, 3.0, 1.0]);
        assert_eq!(s.h.negative_buckets, vec![1.0]);
        assert_eq!(s.h.count, 8.0);
        assert_eq!(s.h.zero_count, 1.0);
        assert_eq!(s.h.counter_reset_hint, CounterResetHint::NotCounterReset);
    }

    #[test]
    fn float_and_custom_bucket_histograms() {
        let h = v2::Histogram {
            count: Some(v2::histogram::Count::CountFloat(4.5)),
            sum: 3.0,
            schema: CUSTOM_BUCKETS_SCHEMA,
            positive_spans: vec![v2::BucketSpan {
                offset: 0,
                length: 3,
            }],
            positive_counts: vec![1.5, 2.0, 1.0],
            custom_values: vec![0.1, 0.5],
            timestamp: 7,
            ..Default::default()
        };
        let s = from_v2(&h).unwrap();
        assert!(s.h.uses_custom_buckets());
        assert_eq!(s.h.positive_buckets, vec![1.5, 2.0, 1.0]);
        assert_eq!(s.h.custom_values, vec![0.1, 0.5]);
    }

    #[test]
    fn invalid_histograms_are_refused_with_prometheus_wording() {
        let base = v1::Histogram {
            count: Some(v1::histogram::Count::CountInt(3)),
            schema: 0,
            positive_spans: vec![span(0, 2)],
            positive_deltas: vec![1, 1],
            ..Default::default()
        };
        assert!(from_v1(&base).is_ok());
        let mut h = base.clone();
        h.positive_deltas = vec![1];
        assert!(from_v1(&h)
            .unwrap_err()
            .contains("histogram spans specify different number of buckets than provided"));
        let mut h = base.clone();
        h.positive_deltas = vec![1, -3];
        assert!(from_v1(&h).unwrap_err().contains("count is negative"));
        let mut h = base.clone();
        h.schema = 9;
        assert!(from_v1(&h).unwrap_err().contains("invalid schema"));
        let mut h = base.clone();
        h.count = Some(v1::histogram::Count::CountInt(5));
        assert!(from_v1(&h).unwrap_err().contains("observation count"));
        let mut h = base;
        h.positive_spans = vec![span(0, 1), span(-2, 1)];
        assert!(from_v1(&h).unwrap_err().contains("offset is negative"));
    }
}
