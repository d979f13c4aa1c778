//! Data points to samples: gauges and sums (one series per point),
//! explicit-bucket histograms (`_bucket{le}` with cumulative counts and a
//! `+Inf` bucket, `_sum`, `_count`), summaries (`{quantile}`, `_sum`,
//! `_count`) and exponential histograms (one native histogram series).
//! Points flagged "no recorded value" become stale markers.

use std::collections::BTreeMap;

use opentelemetry_proto::tonic::metrics::v1::{
    number_data_point, DataPointFlags, ExponentialHistogramDataPoint, HistogramDataPoint,
    NumberDataPoint, SummaryDataPoint,
};

use super::exemplars;
use super::exp_histogram::to_native;
use super::ns_to_ms;
use super::resource::{series_labels, PointCtx};
use super::series::{Problems, SeriesSet};
use crate::model::sample::stale_nan;
use crate::model::{HistogramSample, Sample};

/// Where translated points go.
pub struct Out<'a> {
    pub set: &'a mut SeriesSet,
    pub problems: &'a mut Problems,
}

/// One metric's identity: its OTLP name (for messages) and family name.
pub struct Family<'a> {
    pub otlp_name: &'a str,
    pub name: &'a str,
}

fn is_stale(flags: u32) -> bool {
    flags & DataPointFlags::NoRecordedValueMask as u32 != 0
}

/// A float as Prometheus prints `le` and `quantile` values.
pub fn format_bound(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f == f64::INFINITY {
        "+Inf".into()
    } else if f == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{f}")
    }
}

/// A cumulative point's created timestamp (ms), when it has a start time.
fn created(start_ns: u64) -> Option<i64> {
    (start_ns != 0).then(|| ns_to_ms(start_ns))
}

fn bad_attributes(out: &mut Out<'_>, fam: &Family<'_>, why: String) {
    out.problems.reject(
        "label_name",
        1,
        format!("metric {:?}: data point dropped: {why}", fam.otlp_name),
    );
}

/// Gauges and sums. Monotonic sums are counters: they carry the created
/// timestamp; every sum keeps its exemplars.
pub fn numbers(
    ctx: &PointCtx<'_>,
    fam: &Family<'_>,
    pts: &[NumberDataPoint],
    is_sum: bool,
    monotonic: bool,
    out: &mut Out<'_>,
) {
    for p in pts {
        let base = match ctx.base_labels(&p.attributes) {
            Ok(b) => b,
            Err(e) => {
                bad_attributes(out, fam, e);
                continue;
            }
        };
        let t = ns_to_ms(p.time_unix_nano);
        let v = if is_stale(p.flags) {
            stale_nan()
        } else {
            match p.value {
                Some(number_data_point::Value::AsDouble(v)) => v,
                Some(number_data_point::Value::AsInt(v)) => v as f64,
                None => {
                    out.problems.reject(
                        "no_value",
                        1,
                        format!(
                            "metric {:?}: data point without a value dropped",
                            fam.otlp_name
                        ),
                    );
                    continue;
                }
            }
        };
        let labels = series_labels(&base, fam.name, &[]);
        if is_sum {
            let ex = exemplars::convert(&p.exemplars, t, out.problems);
            if !ex.is_empty() {
                out.set.add_exemplars(labels.clone(), ex);
            }
        }
        let ct = if monotonic {
            created(p.start_time_unix_nano)
        } else {
            None
        };
        out.set.add_sample(labels, Sample::new(t, v), ct);
    }
}

/// The `_sum` (when the point has one) and `_count` series of a histogram
/// or summary point; `names` from [`sum_count_names`].
#[allow(clippy::too_many_arguments)]
fn sum_and_count(
    base: &BTreeMap<String, String>,
    names: &(String, String),
    sum: Option<f64>,
    count: u64,
    t: i64,
    ct: Option<i64>,
    val: impl Fn(f64) -> f64,
    out: &mut Out<'_>,
) {
    if let Some(sum) = sum {
        let l = series_labels(base, &names.0, &[]);
        out.set.add_sample(l, Sample::new(t, val(sum)), ct);
    }
    let l = series_labels(base, &names.1, &[]);
    out.set.add_sample(l, Sample::new(t, val(count as f64)), ct);
}

/// A family's `_sum` and `_count` names, built once per family.
fn sum_count_names(fam: &Family<'_>) -> (String, String) {
    (format!("{}_sum", fam.name), format!("{}_count", fam.name))
}

/// Explicit-bucket histograms as classic histograms. Exemplars go to the
/// lowest bucket whose bound holds their value.
pub fn histograms(
    ctx: &PointCtx<'_>,
    fam: &Family<'_>,
    pts: &[HistogramDataPoint],
    out: &mut Out<'_>,
) {
    let bucket = format!("{}_bucket", fam.name);
    let sum_count = sum_count_names(fam);
    for p in pts {
        let base = match ctx.base_labels(&p.attributes) {
            Ok(b) => b,
            Err(e) => {
                bad_attributes(out, fam, e);
                continue;
            }
        };
        let t = ns_to_ms(p.time_unix_nano);
        let ct = created(p.start_time_unix_nano);
        let stale = is_stale(p.flags);
        let val = |v: f64| if stale { stale_nan() } else { v };
        sum_and_count(&base, &sum_count, p.sum, p.count, t, ct, val, out);

        let mut ex = exemplars::convert(&p.exemplars, t, out.problems);
        ex.sort_by(|a, b| a.value.total_cmp(&b.value));
        let mut ex = ex.into_iter().peekable();
        let mut cumulative: u64 = 0;
        for (bound, c) in p.explicit_bounds.iter().zip(&p.bucket_counts) {
            cumulative = cumulative.saturating_add(*c);
            let le = format_bound(*bound);
            let l = series_labels(&base, &bucket, &[("le", &le)]);
            let mine: Vec<_> = std::iter::from_fn(|| ex.next_if(|e| e.value <= *bound)).collect();
            if !mine.is_empty() {
                out.set.add_exemplars(l.clone(), mine);
            }
            out.set
                .add_sample(l, Sample::new(t, val(cumulative as f64)), ct);
        }
        let l = series_labels(&base, &bucket, &[("le", "+Inf")]);
        let rest: Vec<_> = ex.collect();
        if !rest.is_empty() {
            out.set.add_exemplars(l.clone(), rest);
        }
        out.set
            .add_sample(l, Sample::new(t, val(p.count as f64)), ct);
    }
}

/// Summaries: one series per quantile, plus `_sum` and `_count`.
pub fn summaries(
    ctx: &PointCtx<'_>,
    fam: &Family<'_>,
    pts: &[SummaryDataPoint],
    out: &mut Out<'_>,
) {
    let sum_count = sum_count_names(fam);
    for p in pts {
        let base = match ctx.base_labels(&p.attributes) {
            Ok(b) => b,
            Err(e) => {
                bad_attributes(out, fam, e);
                continue;
            }
        };
        let t = ns_to_ms(p.time_unix_nano);
        let ct = created(p.start_time_unix_nano);
        let stale = is_stale(p.flags);
        let val = |v: f64| if stale { stale_nan() } else { v };
        sum_and_count(&base, &sum_count, Some(p.sum), p.count, t, ct, val, out);
        for q in &p.quantile_values {
            let quantile = format_bound(q.quantile);
            let l = series_labels(&base, fam.name, &[("quantile", &quantile)]);
            out.set.add_sample(l, Sample::new(t, val(q.value)), None);
        }
    }
}

/// Exponential histograms as native histograms.
pub fn exp_histograms(
    ctx: &PointCtx<'_>,
    fam: &Family<'_>,
    pts: &[ExponentialHistogramDataPoint],
    out: &mut Out<'_>,
) {
    for p in pts {
        let base = match ctx.base_labels(&p.attributes) {
            Ok(b) => b,
            Err(e) => {
                bad_attributes(out, fam, e);
                continue;
            }
        };
        let h = match to_native(p, is_stale(p.flags)) {
            Ok(h) => h,
            Err(e) => {
                out.problems.reject(
                    "exp_histogram",
                    1,
                    format!("metric {:?}: data point dropped: {e}", fam.otlp_name),
                );
                continue;
            }
        };
        let t = ns_to_ms(p.time_unix_nano);
        let labels = series_labels(&base, fam.name, &[]);
        let ex = exemplars::convert(&p.exemplars, t, out.problems);
        if !ex.is_empty() {
            out.set.add_exemplars(labels.clone(), ex);
        }
        out.set
            .add_histogram(labels, HistogramSample { t, h: Box::new(h) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_print_like_go_shortest_decimal() {
        assert_eq!(format_bound(0.005), "0.005");
        assert_eq!(format_bound(1.0), "1");
        assert_eq!(format_bound(2.5), "2.5");
        assert_eq!(format_bound(1e-10), "0.0000000001");
        assert_eq!(format_bound(f64::INFINITY), "+Inf");
        assert_eq!(format_bound(0.99), "0.99");
    }
}
