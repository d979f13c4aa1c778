//! Instant-vector functions that read native histograms and ignore floats:
//! `histogram_count`, `histogram_sum`, `histogram_avg`, `histogram_stddev`,
//! `histogram_stdvar` (Prometheus' `simpleHistogramFunc`).

use crate::model::{FloatHistogram, Sample};

use super::step::StepSeries;

/// The per-histogram statistic of `name`, if it is one of these functions.
pub(crate) fn stat_fn(name: &str) -> Option<fn(&FloatHistogram) -> f64> {
    Some(match name {
        "histogram_count" => |h| h.count,
        "histogram_sum" => |h| h.sum,
        "histogram_avg" => |h| h.sum / h.count,
        "histogram_stddev" => |h| h.stddev(),
        "histogram_stdvar" => |h| h.stdvar(),
        _ => return None,
    })
}

/// Replaces every histogram point by `f(histogram)` and drops float points
/// (and series without histograms); the metric name is dropped.
pub(crate) fn map_histograms(
    series: Vec<StepSeries>,
    f: fn(&FloatHistogram) -> f64,
) -> Vec<StepSeries> {
    series
        .into_iter()
        .filter(|s| !s.hists.is_empty())
        .map(|s| StepSeries {
            floats: s.hists.iter().map(|p| Sample::new(p.t, f(&p.h))).collect(),
            hists: Vec::new(),
            labels: s.labels,
            drop_name: true,
        })
        .collect()
}
