//! Hand-made traces shaped like `wp-k8s-service` for the engine tests, and
//! helpers that run a query over all of them and report the span names of
//! each spanset.
//!
//! * `ok`: `POST /clone` (server, 1s) → `k8s.create_pod` (client, 300ms)
//!   → `pod.wait_ready` (internal, ok, 200ms) → `ingress.wait_ready`
//!   (internal, ok, 100ms); `kube-apiserver` `POST /api/v1/pods` (server,
//!   50ms) under `k8s.create_pod`.
//! * `err`: `POST /clone` (server, error, 5s) → `k8s.create_pod` (client,
//!   error, 4.4s) → `pod.wait_ready` (internal, error, 4.2s, an
//!   `exception` event); `kube-apiserver` `POST /api/v1/pods` and
//!   `GET /api/v1/pods/wp-def` under `k8s.create_pod`; a link to `ok`.
//! * `health`: `GET /healthz` (server, 2ms) → `db.ping` (client) and
//!   `queue.publish` (producer) → `queue.consume` (consumer, service
//!   `worker`).

use opentelemetry_proto::tonic::common::v1::{
    any_value, AnyValue, ArrayValue, InstrumentationScope, KeyValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link, SpanKind};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

use super::{evaluate, Spanset, Value};
use crate::traceql::data::TraceData;
use crate::traceql::parse;

pub(super) const BASE_NS: u64 = 1_700_000_000_000_000_000;

pub(super) fn s(k: &str, v: &str) -> KeyValue {
    kv(k, any_value::Value::StringValue(v.into()))
}
pub(super) fn i(k: &str, v: i64) -> KeyValue {
    kv(k, any_value::Value::IntValue(v))
}
pub(super) fn f(k: &str, v: f64) -> KeyValue {
    kv(k, any_value::Value::DoubleValue(v))
}
pub(super) fn b(k: &str, v: bool) -> KeyValue {
    kv(k, any_value::Value::BoolValue(v))
}
pub(super) fn arr(k: &str, items: &[&str]) -> KeyValue {
    let values = items
        .iter()
        .map(|x| AnyValue {
            value: Some(any_value::Value::StringValue(x.to_string())),
        })
        .collect();
    kv(k, any_value::Value::ArrayValue(ArrayValue { values }))
}
fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

pub(super) fn trace_id(t: u8) -> Vec<u8> {
    let mut id = vec![0u8; 16];
    id[15] = t;
    id[0] = 0xab;
    id
}

pub(super) fn span_id(t: u8, n: u8) -> Vec<u8> {
    vec![0, 0, 0, 0, 0, 0, t, n]
}

/// A span of trace `t`, number `n` (parent number `p`, 0 for none), times
/// in microseconds after [`BASE_NS`].
pub(super) fn span(t: u8, n: u8, p: u8, name: &str, kind: SpanKind, us: (u64, u64)) -> Span {
    Span {
        trace_id: trace_id(t),
        span_id: span_id(t, n),
        parent_span_id: if p == 0 { Vec::new() } else { span_id(t, p) },
        name: name.into(),
        kind: kind as i32,
        start_time_unix_nano: BASE_NS + us.0 * 1000,
        end_time_unix_nano: BASE_NS + us.1 * 1000,
        ..Default::default()
    }
}

fn status(mut sp: Span, code: i32, msg: &str) -> Span {
    sp.status = Some(Status {
        message: msg.into(),
        code,
    });
    sp
}

fn attrs(mut sp: Span, a: Vec<KeyValue>) -> Span {
    sp.attributes = a;
    sp
}

pub(super) fn batch(service: &str, extra: Vec<KeyValue>, spans: Vec<Span>) -> ResourceSpans {
    let mut attributes = vec![s("service.name", service)];
    attributes.extend(extra);
    ResourceSpans {
        resource: Some(Resource {
            attributes,
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            scope: Some(InstrumentationScope {
                name: format!("{service}.tracer"),
                version: "1.2.0".into(),
                attributes: vec![s("lib.lang", "python")],
                ..Default::default()
            }),
            spans,
            ..Default::default()
        }],
        ..Default::default()
    }
}

const MS: u64 = 1000;

fn wp() -> Vec<KeyValue> {
    vec![s("k8s.namespace.name", "wp"), i("replicas", 2)]
}

pub(super) fn trace_ok() -> Vec<ResourceSpans> {
    let mut create = attrs(
        span(
            1,
            2,
            1,
            "k8s.create_pod",
            SpanKind::Client,
            (100 * MS, 400 * MS),
        ),
        vec![s("k8s.pod.name", "wp-abc"), i("attempt", 1)],
    );
    create.events = vec![Event {
        time_unix_nano: BASE_NS + 110 * MS * 1000,
        name: "request.sent".into(),
        attributes: vec![i("bytes", 512)],
        ..Default::default()
    }];
    vec![
        batch(
            "wp-k8s-service",
            wp(),
            vec![
                attrs(
                    span(1, 1, 0, "POST /clone", SpanKind::Server, (0, 1000 * MS)),
                    vec![
                        s("http.method", "POST"),
                        i("http.status_code", 201),
                        f("retry.ratio", 0.5),
                        b("cached", false),
                    ],
                ),
                create,
                status(
                    span(
                        1,
                        3,
                        2,
                        "pod.wait_ready",
                        SpanKind::Internal,
                        (150 * MS, 350 * MS),
                    ),
                    1,
                    "",
                ),
                status(
                    span(
                        1,
                        4,
                        3,
                        "ingress.wait_ready",
                        SpanKind::Internal,
                        (200 * MS, 300 * MS),
                    ),
                    1,
                    "",
                ),
            ],
        ),
        batch(
            "kube-apiserver",
            vec![],
            vec![attrs(
                span(
                    1,
                    5,
                    2,
                    "POST /api/v1/pods",
                    SpanKind::Server,
                    (110 * MS, 160 * MS),
                ),
                vec![i("http.status_code", 201), s("http.method", "POST")],
            )],
        ),
    ]
}

pub(super) fn trace_err() -> Vec<ResourceSpans> {
    let mut wait = status(
        span(
            2,
            3,
            2,
            "pod.wait_ready",
            SpanKind::Internal,
            (200 * MS, 4400 * MS),
        ),
        2,
        "timeout",
    );
    wait.events = vec![Event {
        time_unix_nano: BASE_NS + 4200 * MS * 1000,
        name: "exception".into(),
        attributes: vec![s("exception.message", "deadline exceeded")],
        ..Default::default()
    }];
    wait.links = vec![Link {
        trace_id: trace_id(1),
        span_id: span_id(1, 3),
        attributes: vec![s("link.reason", "retry-of")],
        ..Default::default()
    }];
    vec![
        batch(
            "wp-k8s-service",
            wp(),
            vec![
                status(
                    attrs(
                        span(2, 1, 0, "POST /clone", SpanKind::Server, (0, 5000 * MS)),
                        vec![
                            s("http.method", "POST"),
                            i("http.status_code", 500),
                            f("retry.ratio", 1.5),
                            b("cached", true),
                        ],
                    ),
                    2,
                    "pod never became ready",
                ),
                status(
                    attrs(
                        span(
                            2,
                            2,
                            1,
                            "k8s.create_pod",
                            SpanKind::Client,
                            (100 * MS, 4500 * MS),
                        ),
                        vec![s("k8s.pod.name", "wp-def"), i("attempt", 3)],
                    ),
                    2,
                    "timeout",
                ),
                wait,
            ],
        ),
        batch(
            "kube-apiserver",
            vec![],
            vec![
                attrs(
                    span(
                        2,
                        4,
                        2,
                        "POST /api/v1/pods",
                        SpanKind::Server,
                        (150 * MS, 250 * MS),
                    ),
                    vec![i("http.status_code", 201), s("http.method", "POST")],
                ),
                attrs(
                    span(
                        2,
                        5,
                        2,
                        "GET /api/v1/pods/wp-def",
                        SpanKind::Server,
                        (300 * MS, 320 * MS),
                    ),
                    vec![i("http.status_code", 200), s("http.method", "GET")],
                ),
            ],
        ),
    ]
}

pub(super) fn trace_health() -> Vec<ResourceSpans> {
    vec![
        batch(
            "wp-k8s-service",
            wp(),
            vec![
                attrs(
                    span(3, 1, 0, "GET /healthz", SpanKind::Server, (0, 2 * MS)),
                    vec![s("http.method", "GET"), i("http.status_code", 200)],
                ),
                attrs(
                    span(3, 2, 1, "db.ping", SpanKind::Client, (500, 1500)),
                    vec![
                        s("db.system", "postgres"),
                        s("http.method", "PING"),
                        arr("db.hosts", &["pg-1", "pg-2"]),
                    ],
                ),
                span(3, 3, 1, "queue.publish", SpanKind::Producer, (1500, 1800)),
            ],
        ),
        batch(
            "worker",
            vec![],
            vec![span(
                3,
                4,
                3,
                "queue.consume",
                SpanKind::Consumer,
                (1900, 1950),
            )],
        ),
    ]
}

/// The fixtures by name.
pub(super) fn traces() -> Vec<(&'static str, Vec<ResourceSpans>)> {
    vec![
        ("ok", trace_ok()),
        ("err", trace_err()),
        ("health", trace_health()),
    ]
}

/// Evaluates `q` on one trace.
pub(super) fn eval_on(q: &str, batches: &[ResourceSpans]) -> Vec<Spanset> {
    let query = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
    let trace = TraceData::new(batches);
    evaluate(&query, &trace).unwrap_or_else(|e| panic!("{q}: {e}"))
}

/// Span names of each spanset `q` yields on one trace.
pub(super) fn names_on(q: &str, batches: &[ResourceSpans]) -> Vec<Vec<String>> {
    let trace = TraceData::new(batches);
    eval_on(q, batches)
        .iter()
        .map(|ss| {
            ss.spans
                .iter()
                .map(|&i| trace.spans[i].span.name.clone())
                .collect()
        })
        .collect()
}

/// The fixtures `q` matches.
pub(super) fn matching(q: &str) -> Vec<&'static str> {
    traces()
        .into_iter()
        .filter(|(_, t)| !eval_on(q, t).is_empty())
        .map(|(n, _)| n)
        .collect()
}

/// For each matching fixture, the span names of each spanset.
pub(super) fn names(q: &str) -> Vec<(&'static str, Vec<Vec<String>>)> {
    traces()
        .into_iter()
        .map(|(n, t)| (n, names_on(q, &t)))
        .filter(|(_, r)| !r.is_empty())
        .collect()
}

/// Span names of the single spanset `q` yields on the named fixture.
pub(super) fn one(q: &str, fixture: &str) -> Vec<String> {
    let t = traces()
        .into_iter()
        .find(|(n, _)| *n == fixture)
        .map(|(_, t)| t)
        .unwrap_or_default();
    let mut r = names_on(q, &t);
    assert!(r.len() <= 1, "{q}: {} spansets on {fixture}", r.len());
    r.pop().unwrap_or_default()
}

/// The spanset attributes of each spanset on the named fixture.
pub(super) fn attrs_on(q: &str, fixture: &str) -> Vec<Vec<(String, Value)>> {
    let t = traces()
        .into_iter()
        .find(|(n, _)| *n == fixture)
        .map(|(_, t)| t)
        .unwrap_or_default();
    eval_on(q, &t).into_iter().map(|s| s.attributes).collect()
}

pub(super) fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}
