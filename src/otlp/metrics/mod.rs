//! OTLP metrics to Prometheus series, the way Prometheus' own OTLP
//! receiver translates them (Prometheus 3 defaults: underscore escaping
//! with unit and type suffixes). This module walks an export (resources,
//! scopes, metrics), refuses what cannot be stored and collects the rest:
//!
//! * [`naming`] – metric and label names;
//! * [`attrs`] – attribute values and attribute lists as labels;
//! * [`resource`] – `job`/`instance`, scope labels, `target_info`;
//! * [`points`] – gauges, sums, histograms, summaries;
//! * [`exp_histogram`] – exponential histograms to native histograms;
//! * [`exemplars`] – exemplars;
//! * [`series`] – series merging and problem reporting.
//!
//! Delta temporality is refused (see `docs/otlp-metrics.md`): Cairn stores
//! cumulative series only, like Prometheus without its experimental
//! delta ingestion.

pub mod attrs;
pub mod exemplars;
pub mod exp_histogram;
pub mod naming;
pub mod points;
pub mod resource;
pub mod series;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::{metric::Data, AggregationTemporality, Metric};

use crate::metrics::db::IncomingSeries;
use crate::metrics::walrec::MetricMetadata;
use crate::model::Sample;
use naming::MetricKind;
use points::{Family, Out};
use resource::{PointCtx, ResourceCtx, ScopeCtx};
use series::{Problems, SeriesSet};

/// The series, metadata and problems of one export.
#[derive(Debug, Default)]
pub struct Translated {
    pub series: Vec<IncomingSeries<'static>>,
    pub metadata: Vec<MetricMetadata>,
    /// Data points that could not be translated (reported to the client
    /// as `rejected_data_points` of a partial success).
    pub rejected_points: u64,
    /// Why, one message per kind of problem.
    pub errors: Vec<String>,
}

/// OTLP nanoseconds to Prometheus milliseconds.
pub(crate) fn ns_to_ms(ns: u64) -> i64 {
    (ns / 1_000_000) as i64
}

/// The message for a refused delta metric.
pub fn delta_message(name: &str) -> String {
    format!(
        "metric {name:?}: delta temporality is not supported; configure the exporter for \
         cumulative temporality (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative) \
         or use the Collector's deltatocumulative processor"
    )
}

/// Kind, temporality (for kinds that have one), data point count and
/// the data point time range (ns) of a metric.
struct Shape {
    kind: MetricKind,
    temporality: Option<i32>,
    points: u64,
    span: Option<(u64, u64)>,
}

fn span_of(times: impl Iterator<Item = u64>) -> Option<(u64, u64)> {
    times.fold(None, |acc, t| match acc {
        None => Some((t, t)),
        Some((lo, hi)) => Some((lo.min(t), hi.max(t))),
    })
}

fn shape(data: &Data) -> Shape {
    let n = |len: usize| len as u64;
    match data {
        Data::Gauge(g) => Shape {
            kind: MetricKind::Gauge,
            temporality: None,
            points: n(g.data_points.len()),
            span: span_of(g.data_points.iter().map(|p| p.time_unix_nano)),
        },
        Data::Sum(s) => Shape {
            kind: if s.is_monotonic {
                MetricKind::MonotonicCounter
            } else {
                MetricKind::NonMonotonicCounter
            },
            temporality: Some(s.aggregation_temporality),
            points: n(s.data_points.len()),
            span: span_of(s.data_points.iter().map(|p| p.time_unix_nano)),
        },
        Data::Histogram(h) => Shape {
            kind: MetricKind::Histogram,
            temporality: Some(h.aggregation_temporality),
            points: n(h.data_points.len()),
            span: span_of(h.data_points.iter().map(|p| p.time_unix_nano)),
        },
        Data::ExponentialHistogram(h) => Shape {
            kind: MetricKind::ExponentialHistogram,
            temporality: Some(h.aggregation_temporality),
            points: n(h.data_points.len()),
            span: span_of(h.data_points.iter().map(|p| p.time_unix_nano)),
        },
        Data::Summary(s) => Shape {
            kind: MetricKind::Summary,
            temporality: None,
            points: n(s.data_points.len()),
            span: span_of(s.data_points.iter().map(|p| p.time_unix_nano)),
        },
    }
}

/// Accumulates one export.
#[derive(Default)]
struct Translator {
    set: SeriesSet,
    problems: Problems,
    metadata: Vec<MetricMetadata>,
}

impl Translator {
    fn add_metadata(&mut self, md: MetricMetadata) {
        if !self
            .metadata
            .iter()
            .any(|m| m.metric_family == md.metric_family)
        {
            self.metadata.push(md);
        }
    }

    /// Translates one metric; returns the time range of its points when
    /// it was accepted.
    fn metric(&mut self, ctx: &PointCtx<'_>, m: &Metric) -> Option<(u64, u64)> {
        let Some(data) = &m.data else {
            self.problems.reject(
                "no_data",
                1,
                format!("metric {:?}: no data or unknown metric kind", m.name),
            );
            return None;
        };
        let sh = shape(data);
        match sh.temporality {
            Some(t) if t == AggregationTemporality::Delta as i32 => {
                self.problems
                    .reject("delta", sh.points, delta_message(&m.name));
                return None;
            }
            Some(t) if t != AggregationTemporality::Cumulative as i32 => {
                self.problems.reject(
                    "temporality",
                    sh.points,
                    format!(
                        "metric {:?}: invalid temporality and type combination (temporality {t})",
                        m.name
                    ),
                );
                return None;
            }
            _ => {}
        }
        let family = match naming::metric_name(&m.name, &m.unit, sh.kind) {
            Ok(f) => f,
            Err(e) => {
                self.problems.reject("metric_name", sh.points, e);
                return None;
            }
        };
        self.add_metadata(MetricMetadata {
            metric_family: family.clone(),
            kind: sh.kind.prometheus_type().into(),
            help: m.description.clone(),
            unit: m.unit.clone(),
        });
        let fam = Family {
            otlp_name: &m.name,
            name: &family,
        };
        let mut out = Out {
            set: &mut self.set,
            problems: &mut self.problems,
        };
        match data {
            Data::Gauge(g) => points::numbers(ctx, &fam, &g.data_points, false, false, &mut out),
            Data::Sum(s) => {
                points::numbers(ctx, &fam, &s.data_points, true, s.is_monotonic, &mut out)
            }
            Data::Histogram(h) => points::histograms(ctx, &fam, &h.data_points, &mut out),
            Data::ExponentialHistogram(h) => {
                points::exp_histograms(ctx, &fam, &h.data_points, &mut out)
            }
            Data::Summary(s) => points::summaries(ctx, &fam, &s.data_points, &mut out),
        }
        sh.span
    }

    fn target_info(&mut self, res: &ResourceCtx<'_>, span: (u64, u64)) {
        match res.target_info_labels() {
            Ok(Some(labels)) => {
                for t in resource::target_info_times(span.0, span.1) {
                    self.set
                        .add_sample(labels.clone(), Sample::new(t, 1.0), None);
                }
                self.add_metadata(MetricMetadata {
                    metric_family: resource::TARGET_INFO.into(),
                    kind: "gauge".into(),
                    help: "Target metadata".into(),
                    unit: String::new(),
                });
            }
            Ok(None) => {}
            Err(e) => self
                .problems
                .note("target_info", format!("target_info not written: {e}")),
        }
    }
}

/// Translates an export.
pub fn translate(req: &ExportMetricsServiceRequest) -> Translated {
    let mut tr = Translator::default();
    for rm in &req.resource_metrics {
        let res = ResourceCtx::new(rm.resource.as_ref());
        let mut span: Option<(u64, u64)> = None;
        for sm in &rm.scope_metrics {
            let scope = match ScopeCtx::new(sm) {
                Ok(s) => s,
                Err(e) => {
                    let points: u64 = sm
                        .metrics
                        .iter()
                        .map(|m| m.data.as_ref().map_or(1, |d| shape(d).points))
                        .sum();
                    tr.problems
                        .reject("scope", points, format!("scope dropped: {e}"));
                    continue;
                }
            };
            let ctx = PointCtx {
                resource: &res,
                scope: &scope,
            };
            for m in &sm.metrics {
                if let Some((lo, hi)) = tr.metric(&ctx, m) {
                    span = Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
                }
            }
        }
        if let Some(span) = span {
            tr.target_info(&res, span);
        }
    }
    Translated {
        series: tr.set.finish(),
        metadata: tr.metadata,
        rejected_points: tr.problems.rejected,
        errors: tr.problems.messages(),
    }
}

#[cfg(test)]
mod tests;
