//! Whole-export tests of [`translate`]: every point kind, with exact label
//! sets and values.

use opentelemetry_proto::tonic::common::v1::InstrumentationScope;
use opentelemetry_proto::tonic::metrics::v1::{
    exponential_histogram_data_point::Buckets, metric::Data, number_data_point,
    summary_data_point::ValueAtQuantile, AggregationTemporality, ExponentialHistogram,
    ExponentialHistogramDataPoint, Gauge, Histogram, HistogramDataPoint, Metric, NumberDataPoint,
    ResourceMetrics, ScopeMetrics, Sum, Summary, SummaryDataPoint,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::attrs::tests::s;
use super::exemplars::tests::exemplar;
use super::*;
use crate::metrics::exemplars::Exemplar;
use crate::model::histogram::Span;
use crate::model::{is_stale_nan, Labels};

const SEC: u64 = 1_000_000_000;
const CUMULATIVE: i32 = AggregationTemporality::Cumulative as i32;
const DELTA: i32 = AggregationTemporality::Delta as i32;

fn request(resource_attrs: Vec<(&str, &str)>, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource_attrs.iter().map(|(k, v)| s(k, v)).collect(),
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: None,
                metrics,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn svc() -> Vec<(&'static str, &'static str)> {
    vec![("service.name", "api"), ("service.instance.id", "i-1")]
}

fn metric(name: &str, unit: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        description: format!("{name} help"),
        unit: unit.into(),
        metadata: vec![],
        data: Some(data),
    }
}

fn number(t_s: u64, v: f64, attrs: &[(&str, &str)]) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attrs.iter().map(|(k, v)| s(k, v)).collect(),
        time_unix_nano: t_s * SEC,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

/// (labels, float samples) of every series.
fn floats(t: &Translated) -> Vec<(Labels, Vec<(i64, f64)>)> {
    t.series
        .iter()
        .map(|s| {
            (
                Labels::from_pairs(s.labels.pairs()),
                s.samples.iter().map(|x| (x.t, x.v)).collect(),
            )
        })
        .collect()
}

fn find<'a>(t: &'a Translated, l: &Labels) -> &'a IncomingSeries<'static> {
    t.series
        .iter()
        .find(|s| Labels::from_pairs(s.labels.pairs()) == *l)
        .unwrap_or_else(|| panic!("no series {l}"))
}

#[test]
fn gauge_with_job_instance_and_ratio_suffix() {
    let req = request(
        svc(),
        vec![metric(
            "system.cpu.utilization",
            "1",
            Data::Gauge(Gauge {
                data_points: vec![
                    number(20, 0.5, &[("cpu", "0")]),
                    number(10, 0.25, &[("cpu", "0")]),
                ],
            }),
        )],
    );
    let t = translate(&req);
    assert_eq!(
        floats(&t),
        vec![(
            labels(&[
                ("__name__", "system_cpu_utilization_ratio"),
                ("cpu", "0"),
                ("instance", "i-1"),
                ("job", "api"),
            ]),
            vec![(10_000, 0.25), (20_000, 0.5)],
        )]
    );
    assert_eq!(
        t.metadata,
        vec![MetricMetadata {
            metric_family: "system_cpu_utilization_ratio".into(),
            kind: "gauge".into(),
            help: "system.cpu.utilization help".into(),
            unit: "1".into(),
        }]
    );
    assert_eq!((t.rejected_points, t.errors.len()), (0, 0));
}

#[test]
fn monotonic_sum_is_a_counter_with_created_timestamp_and_exemplars() {
    let mut p = number(60, 42.0, &[("http.route", "/clone")]);
    p.start_time_unix_nano = 5 * SEC;
    p.exemplars = vec![exemplar(1.0, 59 * SEC, 0x0f)];
    let req = request(
        svc(),
        vec![metric(
            "http.requests",
            "{request}",
            Data::Sum(Sum {
                data_points: vec![p],
                aggregation_temporality: CUMULATIVE,
                is_monotonic: true,
            }),
        )],
    );
    let t = translate(&req);
    let s = find(
        &t,
        &labels(&[
            ("__name__", "http_requests_total"),
            ("http_route", "/clone"),
            ("instance", "i-1"),
            ("job", "api"),
        ]),
    );
    assert_eq!(s.samples, vec![Sample::new(60_000, 42.0)]);
    assert_eq!(s.created_t, Some(5_000));
    assert_eq!(
        s.exemplars,
        vec![Exemplar {
            labels: labels(&[
                ("span_id", "abababababababab"),
                ("trace_id", "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f"),
                ("user", "u1"),
            ]),
            value: 1.0,
            t: 59_000,
        }]
    );
    assert_eq!(t.metadata[0].kind, "counter");
    assert_eq!(t.metadata[0].unit, "{request}");
}

#[test]
fn non_monotonic_sum_is_a_gauge() {
    let mut p = number(1, 3.0, &[]);
    p.start_time_unix_nano = SEC / 2;
    p.value = Some(number_data_point::Value::AsInt(-3));
    let req = request(
        vec![("service.name", "api")],
        vec![metric(
            "queue.size",
            "{item}",
            Data::Sum(Sum {
                data_points: vec![p],
                aggregation_temporality: CUMULATIVE,
                is_monotonic: false,
            }),
        )],
    );
    let t = translate(&req);
    assert_eq!(
        floats(&t),
        vec![(
            labels(&[("__name__", "queue_size"), ("job", "api")]),
            vec![(1_000, -3.0)]
        )]
    );
    assert_eq!(t.series[0].created_t, None);
    assert_eq!(t.metadata[0].kind, "gauge");
}

#[test]
fn histogram_becomes_cumulative_buckets_sum_and_count() {
    let p = HistogramDataPoint {
        attributes: vec![s("image", "pg16")],
        start_time_unix_nano: SEC,
        time_unix_nano: 30 * SEC,
        count: 10,
        sum: Some(37.5),
        bucket_counts: vec![2, 5, 3],
        explicit_bounds: vec![1.0, 5.0],
        exemplars: vec![exemplar(7.0, 0, 0x01), exemplar(0.5, 0, 0x02)],
        ..Default::default()
    };
    let req = request(
        vec![("service.name", "wp-k8s-service")],
        vec![metric(
            "clone_provisioning_duration",
            "s",
            Data::Histogram(Histogram {
                data_points: vec![p],
                aggregation_temporality: CUMULATIVE,
            }),
        )],
    );
    let t = translate(&req);
    let base = [("image", "pg16"), ("job", "wp-k8s-service")];
    let with = |name: &str, extra: &[(&'static str, &'static str)]| {
        let mut v: Vec<(&str, &str)> = base.to_vec();
        v.push(("__name__", name));
        v.extend_from_slice(extra);
        labels(&v)
    };
    let want = vec![
        (
            with("clone_provisioning_duration_seconds_sum", &[]),
            vec![(30_000, 37.5)],
        ),
        (
            with("clone_provisioning_duration_seconds_count", &[]),
            vec![(30_000, 10.0)],
        ),
        (
            with("clone_provisioning_duration_seconds_bucket", &[("le", "1")]),
            vec![(30_000, 2.0)],
        ),
        (
            with("clone_provisioning_duration_seconds_bucket", &[("le", "5")]),
            vec![(30_000, 7.0)],
        ),
        (
            with(
                "clone_provisioning_duration_seconds_bucket",
                &[("le", "+Inf")],
            ),
            vec![(30_000, 10.0)],
        ),
    ];
    assert_eq!(floats(&t), want);
    assert!(t.series.iter().all(|s| s.created_t == Some(1_000)));
    // Exemplars land in the lowest bucket holding their value.
    let le1 = find(&t, &want[2].0);
    assert_eq!(
        le1.exemplars.iter().map(|e| e.value).collect::<Vec<_>>(),
        vec![0.5]
    );
    assert_eq!(le1.exemplars[0].t, 30_000);
    let inf = find(&t, &want[4].0);
    assert_eq!(
        inf.exemplars.iter().map(|e| e.value).collect::<Vec<_>>(),
        vec![7.0]
    );
    assert!(find(&t, &want[3].0).exemplars.is_empty());
    assert_eq!(
        t.metadata[0].metric_family,
        "clone_provisioning_duration_seconds"
    );
    assert_eq!(t.metadata[0].kind, "histogram");
}

#[test]
fn histogram_without_sum_or_buckets() {
    let p = HistogramDataPoint {
        time_unix_nano: SEC,
        count: 4,
        ..Default::default()
    };
    let req = request(
        vec![],
        vec![metric(
            "h",
            "",
            Data::Histogram(Histogram {
                data_points: vec![p],
                aggregation_temporality: CUMULATIVE,
            }),
        )],
    );
    let t = translate(&req);
    assert_eq!(
        floats(&t),
        vec![
            (labels(&[("__name__", "h_count")]), vec![(1_000, 4.0)]),
            (
                labels(&[("__name__", "h_bucket"), ("le", "+Inf")]),
                vec![(1_000, 4.0)]
            ),
        ]
    );
}

#[test]
fn summary_becomes_quantiles_sum_and_count() {
    let p = SummaryDataPoint {
        time_unix_nano: 2 * SEC,
        start_time_unix_nano: SEC,
        count: 100,
        sum: 12.5,
        quantile_values: vec![
            ValueAtQuantile {
                quantile: 0.5,
                value: 0.1,
            },
            ValueAtQuantile {
                quantile: 0.99,
                value: 0.9,
            },
        ],
        ..Default::default()
    };
    let req = request(
        vec![],
        vec![metric(
            "rpc.duration",
            "ms",
            Data::Summary(Summary {
                data_points: vec![p],
            }),
        )],
    );
    let t = translate(&req);
    assert_eq!(
        floats(&t),
        vec![
            (
                labels(&[("__name__", "rpc_duration_milliseconds_sum")]),
                vec![(2_000, 12.5)]
            ),
            (
                labels(&[("__name__", "rpc_duration_milliseconds_count")]),
                vec![(2_000, 100.0)]
            ),
            (
                labels(&[
                    ("__name__", "rpc_duration_milliseconds"),
                    ("quantile", "0.5")
                ]),
                vec![(2_000, 0.1)]
            ),
            (
                labels(&[
                    ("__name__", "rpc_duration_milliseconds"),
                    ("quantile", "0.99")
                ]),
                vec![(2_000, 0.9)]
            ),
        ]
    );
    assert_eq!(t.series[0].created_t, Some(1_000));
    assert_eq!(t.series[2].created_t, None);
    assert_eq!(t.metadata[0].kind, "summary");
}

#[test]
fn exponential_histogram_becomes_a_native_histogram() {
    let p = ExponentialHistogramDataPoint {
        time_unix_nano: 3 * SEC,
        count: 6,
        sum: Some(-1.5),
        scale: 9,
        zero_count: 1,
        positive: Some(Buckets {
            offset: 0,
            bucket_counts: vec![1, 1, 1],
        }),
        negative: Some(Buckets {
            offset: -1,
            bucket_counts: vec![2],
        }),
        exemplars: vec![exemplar(0.5, 0, 0x03)],
        ..Default::default()
    };
    let req = request(
        svc(),
        vec![metric(
            "latency",
            "s",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![p],
                aggregation_temporality: CUMULATIVE,
            }),
        )],
    );
    let t = translate(&req);
    let s = find(
        &t,
        &labels(&[
            ("__name__", "latency_seconds"),
            ("instance", "i-1"),
            ("job", "api"),
        ]),
    );
    assert!(s.samples.is_empty());
    assert_eq!(s.histograms.len(), 1);
    let h = &s.histograms[0];
    assert_eq!(h.t, 3_000);
    assert_eq!(h.h.schema, 8);
    // OTLP 0,1,2 at scale 9 → 0,0,1 at scale 8 → Prometheus 1 and 2.
    assert_eq!(
        h.h.positive_spans,
        vec![Span {
            offset: 1,
            length: 2
        }]
    );
    assert_eq!(h.h.positive_buckets, vec![2.0, 1.0]);
    // OTLP -1 at scale 9 → -1 at scale 8 → Prometheus 0.
    assert_eq!(
        h.h.negative_spans,
        vec![Span {
            offset: 0,
            length: 1
        }]
    );
    assert_eq!(h.h.negative_buckets, vec![2.0]);
    assert_eq!((h.h.count, h.h.sum, h.h.zero_count), (6.0, -1.5, 1.0));
    assert_eq!(s.exemplars.len(), 1);
    assert_eq!(t.metadata[0].kind, "histogram");
}

#[test]
fn exponential_histogram_with_too_small_scale_is_rejected() {
    let p = ExponentialHistogramDataPoint {
        time_unix_nano: SEC,
        scale: -6,
        ..Default::default()
    };
    let req = request(
        vec![],
        vec![metric(
            "x",
            "",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![p],
                aggregation_temporality: CUMULATIVE,
            }),
        )],
    );
    let t = translate(&req);
    assert!(t.series.is_empty());
    assert_eq!(t.rejected_points, 1);
    assert_eq!(
        t.errors,
        vec!["metric \"x\": data point dropped: cannot convert exponential to native histogram: scale must be >= -4, was -6".to_string()]
    );
}

#[test]
fn no_recorded_value_flag_writes_stale_markers() {
    let mut g = number(5, 0.0, &[]);
    g.flags = 1;
    g.value = None;
    let h = HistogramDataPoint {
        time_unix_nano: 5 * SEC,
        count: 2,
        sum: Some(1.0),
        bucket_counts: vec![1, 1],
        explicit_bounds: vec![0.5],
        flags: 1,
        ..Default::default()
    };
    let req = request(
        vec![],
        vec![
            metric(
                "g",
                "",
                Data::Gauge(Gauge {
                    data_points: vec![g],
                }),
            ),
            metric(
                "h",
                "",
                Data::Histogram(Histogram {
                    data_points: vec![h],
                    aggregation_temporality: CUMULATIVE,
                }),
            ),
        ],
    );
    let t = translate(&req);
    assert_eq!(t.series.len(), 5);
    for s in &t.series {
        assert_eq!(s.samples.len(), 1);
        assert_eq!(s.samples[0].t, 5_000);
        assert!(is_stale_nan(s.samples[0].v), "{}", s.labels);
    }
    assert_eq!(t.rejected_points, 0);
}

#[test]
fn delta_temporality_is_rejected_with_advice() {
    let req = request(
        svc(),
        vec![
            metric(
                "requests",
                "",
                Data::Sum(Sum {
                    data_points: vec![number(1, 1.0, &[]), number(2, 1.0, &[])],
                    aggregation_temporality: DELTA,
                    is_monotonic: true,
                }),
            ),
            metric(
                "sizes",
                "By",
                Data::Histogram(Histogram {
                    data_points: vec![HistogramDataPoint::default()],
                    aggregation_temporality: DELTA,
                }),
            ),
            metric(
                "ok",
                "",
                Data::Gauge(Gauge {
                    data_points: vec![number(1, 1.0, &[])],
                }),
            ),
        ],
    );
    let t = translate(&req);
    assert_eq!(t.rejected_points, 3);
    assert_eq!(
        t.errors,
        vec![format!(
            "{} (and 1 more like it)",
            delta_message("requests")
        )]
    );
    assert!(t.errors[0].contains("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative"));
    assert_eq!(
        floats(&t),
        vec![(
            labels(&[("__name__", "ok"), ("instance", "i-1"), ("job", "api")]),
            vec![(1_000, 1.0)]
        )]
    );
    assert_eq!(t.metadata.len(), 1);
}

#[test]
fn unspecified_temporality_and_missing_data_are_rejected() {
    let mut empty = metric("nodata", "", Data::Gauge(Gauge::default()));
    empty.data = None;
    let req = request(
        vec![],
        vec![
            metric(
                "s",
                "",
                Data::Sum(Sum {
                    data_points: vec![number(1, 1.0, &[])],
                    aggregation_temporality: 0,
                    is_monotonic: true,
                }),
            ),
            empty,
        ],
    );
    let t = translate(&req);
    assert_eq!(t.rejected_points, 2);
    assert_eq!(
        t.errors,
        vec![
            "metric \"s\": invalid temporality and type combination (temporality 0)".to_string(),
            "metric \"nodata\": no data or unknown metric kind".to_string(),
        ]
    );
}

#[test]
fn invalid_names_reject_points() {
    let req = request(
        vec![],
        vec![
            metric(
                "@@",
                "",
                Data::Gauge(Gauge {
                    data_points: vec![number(1, 1.0, &[])],
                }),
            ),
            metric(
                "fine",
                "",
                Data::Gauge(Gauge {
                    data_points: vec![number(1, 1.0, &[("..", "x")]), number(2, 2.0, &[])],
                }),
            ),
        ],
    );
    let t = translate(&req);
    assert_eq!(t.rejected_points, 2);
    assert_eq!(t.errors.len(), 2);
    assert_eq!(
        floats(&t),
        vec![(labels(&[("__name__", "fine")]), vec![(2_000, 2.0)])]
    );
}

#[test]
fn label_sanitization_and_reserved_labels() {
    let req = request(
        vec![],
        vec![metric(
            "m",
            "",
            Data::Gauge(Gauge {
                data_points: vec![number(
                    1,
                    1.0,
                    &[
                        ("http.method", "GET"),
                        ("1st", "a"),
                        ("_hidden", "b"),
                        ("__keep", "c"),
                        ("__name__", "evil"),
                        ("empty", ""),
                    ],
                )],
            }),
        )],
    );
    let t = translate(&req);
    assert_eq!(
        floats(&t)[0].0,
        labels(&[
            ("__keep", "c"),
            ("__name__", "m"),
            ("http_method", "GET"),
            ("key_1st", "a"),
            ("key_hidden", "b"),
        ])
    );
}

#[test]
fn target_info_per_resource_and_scope_labels() {
    let mut req = request(
        vec![
            ("service.name", "api"),
            ("service.namespace", "shop"),
            ("service.instance.id", "i-1"),
            ("host.name", "node-a"),
        ],
        vec![metric(
            "up",
            "",
            Data::Gauge(Gauge {
                data_points: vec![number(100, 1.0, &[]), number(500, 1.0, &[])],
            }),
        )],
    );
    req.resource_metrics[0].scope_metrics[0].scope = Some(InstrumentationScope {
        name: "meter".into(),
        version: "2.0".into(),
        ..Default::default()
    });
    let t = translate(&req);
    assert_eq!(
        floats(&t),
        vec![
            (
                labels(&[
                    ("__name__", "up"),
                    ("instance", "i-1"),
                    ("job", "shop/api"),
                    ("otel_scope_name", "meter"),
                    ("otel_scope_version", "2.0"),
                ]),
                vec![(100_000, 1.0), (500_000, 1.0)]
            ),
            (
                labels(&[
                    ("__name__", "target_info"),
                    ("host_name", "node-a"),
                    ("instance", "i-1"),
                    ("job", "shop/api"),
                ]),
                vec![
                    (100_000, 1.0),
                    (250_000, 1.0),
                    (400_000, 1.0),
                    (500_000, 1.0)
                ]
            ),
        ]
    );
    assert_eq!(
        t.metadata
            .iter()
            .map(|m| (m.metric_family.as_str(), m.kind.as_str()))
            .collect::<Vec<_>>(),
        vec![("up", "gauge"), ("target_info", "gauge")]
    );
}

#[test]
fn identical_series_from_two_resources_merge() {
    let one = request(
        vec![("service.name", "api")],
        vec![metric(
            "g",
            "",
            Data::Gauge(Gauge {
                data_points: vec![number(2, 2.0, &[])],
            }),
        )],
    );
    let two = request(
        vec![("service.name", "api")],
        vec![metric(
            "g",
            "",
            Data::Gauge(Gauge {
                data_points: vec![number(1, 1.0, &[])],
            }),
        )],
    );
    let req = ExportMetricsServiceRequest {
        resource_metrics: [one.resource_metrics, two.resource_metrics].concat(),
    };
    let t = translate(&req);
    assert_eq!(
        floats(&t),
        vec![(
            labels(&[("__name__", "g"), ("job", "api")]),
            vec![(1_000, 1.0), (2_000, 2.0)]
        )]
    );
    assert_eq!(t.metadata.len(), 1);
}

#[test]
fn empty_export_translates_to_nothing() {
    let t = translate(&ExportMetricsServiceRequest::default());
    assert!(t.series.is_empty() && t.metadata.is_empty() && t.errors.is_empty());
    assert_eq!(t.rejected_points, 0);
}
