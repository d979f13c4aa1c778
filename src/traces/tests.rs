//! Store tests: pushes read back by id from the head and from partitions,
//! late spans merged, scans narrowed by the index, tags, WAL replay,
//! retention and the disk cap with a manual clock.

use std::ops::ControlFlow;
use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{span, ResourceSpans, ScopeSpans, Span, Status};

use crate::config::Config;
use crate::model::TenantId;
use crate::storage::clock::ManualClock;
use crate::units::PromDuration;

use super::model::span_count;
use super::prefilter::{AttrScope, IndexedValue, Prefilter};
use super::store::{ScanRequest, TagScope, TraceStore};

const T0_MS: i64 = 1_800_000_000_000;
const SEC: u64 = 1_000_000_000;

pub fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

pub fn s(v: &str) -> any_value::Value {
    any_value::Value::StringValue(v.into())
}

/// A span of trace `t` (a small number turned into an id).
pub fn span(t: u8, id: u8, parent: u8, name: &str, start_s: u64, dur_ms: u64) -> Span {
    let start = (T0_MS as u64 / 1000 + start_s) * SEC;
    Span {
        trace_id: vec![t; 16],
        span_id: vec![id; 8],
        parent_span_id: if parent == 0 { vec![] } else { vec![parent; 8] },
        name: name.into(),
        kind: span::SpanKind::Server as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + dur_ms * 1_000_000,
        ..Default::default()
    }
}

pub fn batch(service: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![
                kv("service.name", s(service)),
                kv("k8s.namespace.name", s("wordpress-staging")),
            ],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            spans,
            ..Default::default()
        }],
        schema_url: String::new(),
    }
}

fn store(dir: &std::path::Path, clock: Arc<ManualClock>) -> Arc<TraceStore> {
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.to_path_buf();
    cfg.traces.trace_idle_timeout = PromDuration::from_secs(10);
    let st = Arc::new(TraceStore::new(Arc::new(cfg), clock));
    st.open_existing().unwrap();
    st
}

fn tenant() -> TenantId {
    TenantId::default_tenant()
}

fn ids_of(st: &TraceStore, p: Prefilter) -> Vec<u8> {
    let mut out = Vec::new();
    st.scan(
        &tenant(),
        &ScanRequest {
            start_ns: 0,
            end_ns: u64::MAX,
            prefilter: p,
        },
        &mut |id, _| {
            out.push(id[0]);
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    out.sort_unstable();
    out
}

/// Trace 1: wp-k8s-service `POST /clone` (error) with a child; trace 2:
/// kube-apiserver `create pod` with an http.status_code.
fn push_two(st: &TraceStore) {
    let mut root = span(1, 1, 0, "POST /clone", 0, 2000);
    root.status = Some(Status {
        code: 2,
        message: "clone failed".into(),
    });
    root.attributes.push(kv("http.method", s("POST")));
    let child = span(1, 2, 1, "k8s.create_pod", 1, 500);
    let mut api = span(2, 3, 0, "create pod", 5, 30);
    api.attributes
        .push(kv("http.status_code", any_value::Value::IntValue(201)));
    assert_eq!(
        st.push(
            &tenant(),
            vec![
                batch("wp-k8s-service", vec![root, child]),
                batch("kube-apiserver", vec![api])
            ]
        )
        .unwrap(),
        3
    );
}

#[test]
fn a_trace_is_readable_by_id_from_the_head_and_after_the_seal() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0_MS);
    let st = store(dir.path(), clock.clone());
    push_two(&st);
    let t1 = st.trace_by_id(&tenant(), &[1; 16], None).unwrap().unwrap();
    assert_eq!(span_count(&t1), 2);
    assert!(st.trace_by_id(&tenant(), &[9; 16], None).unwrap().is_none());
    // Not idle yet: nothing to seal.
    assert_eq!(st.seal(false).sealed, 0);
    clock.advance(11_000);
    // Idle, but neither big nor old enough: still waiting.
    assert_eq!(st.seal(false).sealed, 0);
    clock.advance(600_000);
    assert_eq!(st.seal(false).sealed, 1);
    let x = st.tenant(&tenant()).unwrap();
    assert_eq!(x.partition_count(), 1);
    assert_eq!(x.head_spans(), 0);
    let t1 = st.trace_by_id(&tenant(), &[1; 16], None).unwrap().unwrap();
    assert_eq!(span_count(&t1), 2);
    // A late span of trace 1 lands in the head and merges with the partition.
    st.push(
        &tenant(),
        vec![batch(
            "wp-k8s-service",
            vec![span(1, 4, 1, "ingress.wait_ready", 2, 100)],
        )],
    )
    .unwrap();
    let t1 = st.trace_by_id(&tenant(), &[1; 16], None).unwrap().unwrap();
    assert_eq!(span_count(&t1), 3);
    // The window hint skips partitions outside it (the head is always read).
    let far = Some((1, 2));
    let t1 = st.trace_by_id(&tenant(), &[1; 16], far).unwrap().unwrap();
    assert_eq!(span_count(&t1), 1);
    // Another tenant sees nothing.
    let other = TenantId::parse("team-b").unwrap();
    assert!(st.trace_by_id(&other, &[1; 16], None).unwrap().is_none());
}

#[test]
fn duplicate_spans_are_returned_once() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(dir.path(), ManualClock::new(T0_MS));
    push_two(&st);
    push_two(&st);
    let t1 = st.trace_by_id(&tenant(), &[1; 16], None).unwrap().unwrap();
    assert_eq!(span_count(&t1), 2);
}

#[test]
fn scans_use_the_partition_index_and_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0_MS);
    let st = store(dir.path(), clock.clone());
    push_two(&st);
    assert_eq!(st.seal(true).sealed, 1);
    // Trace 3 stays in the head.
    st.push(
        &tenant(),
        vec![batch(
            "wp-k8s-service",
            vec![span(3, 5, 0, "GET /health", 9, 1)],
        )],
    )
    .unwrap();
    assert_eq!(ids_of(&st, Prefilter::All), vec![1, 2, 3]);
    // Partition rows are narrowed by the index; the head is always offered.
    assert_eq!(
        ids_of(&st, Prefilter::Service("kube-apiserver".into())),
        vec![2, 3]
    );
    assert_eq!(
        ids_of(&st, Prefilter::SpanName("k8s.create_pod".into())),
        vec![1, 3]
    );
    assert_eq!(ids_of(&st, Prefilter::Status(2)), vec![1, 3]);
    let attr = |scope, key: &str, value| Prefilter::Attr {
        scope,
        key: key.into(),
        value,
    };
    assert_eq!(
        ids_of(
            &st,
            attr(AttrScope::Span, "http.status_code", IndexedValue::Int(201))
        ),
        vec![2, 3]
    );
    // Ints and floats compare numerically.
    assert_eq!(
        ids_of(
            &st,
            attr(
                AttrScope::Any,
                "http.status_code",
                IndexedValue::Float(201.0)
            )
        ),
        vec![2, 3]
    );
    assert_eq!(
        ids_of(
            &st,
            attr(
                AttrScope::Resource,
                "http.status_code",
                IndexedValue::Int(201)
            )
        ),
        vec![3]
    );
    assert_eq!(ids_of(&st, Prefilter::MinSpanDuration(SEC)), vec![1, 3]);
    assert_eq!(ids_of(&st, Prefilter::MaxTraceDuration(SEC)), vec![2, 3]);
    assert_eq!(
        ids_of(
            &st,
            Prefilter::And(vec![
                Prefilter::Service("wp-k8s-service".into()),
                Prefilter::SpanName("create pod".into())
            ])
        ),
        vec![3]
    );
    assert_eq!(
        ids_of(
            &st,
            Prefilter::Or(vec![
                Prefilter::Service("wp-k8s-service".into()),
                Prefilter::SpanName("create pod".into())
            ])
        ),
        vec![1, 2, 3]
    );
    // A time range before everything finds nothing.
    let mut n = 0;
    st.scan(
        &tenant(),
        &ScanRequest {
            start_ns: 1,
            end_ns: 2,
            prefilter: Prefilter::All,
        },
        &mut |_, _| {
            n += 1;
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn tag_names_and_values_come_from_head_and_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(dir.path(), ManualClock::new(T0_MS));
    push_two(&st);
    st.seal(true);
    st.push(
        &tenant(),
        vec![batch(
            "wp-cleanup",
            vec![span(3, 5, 0, "GET /health", 9, 1)],
        )],
    )
    .unwrap();
    let names = st.tag_names(&tenant(), 0, u64::MAX, 0).unwrap();
    let res: Vec<&str> = names[&TagScope::Resource]
        .iter()
        .map(|s| s.as_str())
        .collect();
    assert_eq!(res, vec!["k8s.namespace.name", "service.name"]);
    let span_tags: Vec<&str> = names[&TagScope::Span].iter().map(|s| s.as_str()).collect();
    assert_eq!(span_tags, vec!["http.method", "http.status_code"]);
    let vals = st
        .tag_values(
            &tenant(),
            Some(TagScope::Resource),
            "service.name",
            0,
            u64::MAX,
            0,
        )
        .unwrap();
    assert_eq!(
        vals,
        vec![
            IndexedValue::Str("kube-apiserver".into()),
            IndexedValue::Str("wp-cleanup".into()),
            IndexedValue::Str("wp-k8s-service".into())
        ]
    );
    let vals = st
        .tag_values(&tenant(), None, "http.status_code", 0, u64::MAX, 0)
        .unwrap();
    assert_eq!(vals, vec![IndexedValue::Int(201)]);
    let names = st.span_names(&tenant(), 0, u64::MAX, 2).unwrap();
    assert_eq!(names, vec!["GET /health", "POST /clone"]);
}

#[test]
fn restart_replays_live_traces_and_keeps_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0_MS);
    {
        let st = store(dir.path(), clock.clone());
        push_two(&st);
        st.seal(true);
        st.push(
            &tenant(),
            vec![batch(
                "wp-k8s-service",
                vec![span(3, 5, 0, "GET /health", 9, 1)],
            )],
        )
        .unwrap();
        st.close();
    }
    let st = store(dir.path(), clock.clone());
    let x = st.tenant(&tenant()).unwrap();
    assert_eq!(x.partition_count(), 1);
    assert_eq!(x.head_spans(), 1);
    for id in [1u8, 2, 3] {
        assert!(
            st.trace_by_id(&tenant(), &[id; 16], None)
                .unwrap()
                .is_some(),
            "trace {id}"
        );
    }
    // A second seal checkpoints the WAL: after another restart nothing is
    // duplicated and nothing lost.
    st.seal(true);
    st.close();
    drop(st);
    let st = store(dir.path(), clock);
    let x = st.tenant(&tenant()).unwrap();
    assert_eq!(x.partition_count(), 2);
    assert_eq!(x.head_spans(), 0);
    assert_eq!(ids_of(&st, Prefilter::All), vec![1, 2, 3]);
}

#[test]
fn retention_and_the_disk_cap_drop_whole_partitions() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0_MS);
    let st = store(dir.path(), clock.clone());
    push_two(&st);
    st.seal(true);
    clock.advance(3_600_000);
    st.push(
        &tenant(),
        vec![batch(
            "wp-k8s-service",
            vec![span(3, 5, 0, "GET /health", 3700, 1)],
        )],
    )
    .unwrap();
    st.seal(true);
    let x = st.tenant(&tenant()).unwrap();
    assert_eq!(x.partition_count(), 2);
    // 47 h after the first traces: both kept (48 h retention).
    clock.set(T0_MS + 47 * 3_600_000);
    assert_eq!(st.apply_retention(0).deleted, 0);
    // 49 h: the first partition is gone, the second (1 h younger) stays.
    clock.set(T0_MS + 49 * 3_600_000);
    assert_eq!(st.apply_retention(0).deleted, 1);
    assert_eq!(ids_of(&st, Prefilter::All), vec![3]);
    assert!(st.trace_by_id(&tenant(), &[1; 16], None).unwrap().is_none());
    // The disk cap: other signals already use more than the cap.
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    cfg.storage.max_disk_bytes = crate::units::ByteSize(1);
    drop(x);
    st.close();
    drop(st);
    let capped = Arc::new(TraceStore::new(Arc::new(cfg), clock));
    capped.open_existing().unwrap();
    assert_eq!(capped.apply_retention(10).deleted, 1);
    assert_eq!(ids_of(&capped, Prefilter::All), Vec::<u8>::new());
}

#[test]
fn a_scan_sees_a_trace_split_between_a_partition_and_the_head_whole() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(dir.path(), ManualClock::new(T0_MS));
    push_two(&st);
    st.seal(true);
    // The root of trace 1 was sealed; a late child arrives afterwards.
    st.push(
        &tenant(),
        vec![batch(
            "wp-k8s-service",
            vec![span(1, 4, 1, "ingress.wait_ready", 2, 100)],
        )],
    )
    .unwrap();
    let mut seen = Vec::new();
    st.scan(&tenant(), &ScanRequest::everything(), &mut |id, batches| {
        let mut names: Vec<String> = batches
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .map(|s| s.name.clone())
            .collect();
        names.sort();
        seen.push((id[0], names));
        ControlFlow::Continue(())
    })
    .unwrap();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (
                1,
                vec![
                    "POST /clone".to_string(),
                    "ingress.wait_ready".to_string(),
                    "k8s.create_pod".to_string()
                ]
            ),
            (2, vec!["create pod".to_string()]),
        ]
    );
}

#[test]
fn array_attribute_elements_are_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let st = store(dir.path(), ManualClock::new(T0_MS));
    let mut sp = span(5, 1, 0, "GET /plugins", 0, 10);
    sp.attributes.push(kv(
        "wordpress.plugins",
        any_value::Value::ArrayValue(opentelemetry_proto::tonic::common::v1::ArrayValue {
            values: vec![
                AnyValue {
                    value: Some(s("akismet")),
                },
                AnyValue {
                    value: Some(s("woocommerce")),
                },
            ],
        }),
    ));
    st.push(&tenant(), vec![batch("wp-k8s-service", vec![sp])])
        .unwrap();
    push_two(&st);
    st.seal(true);
    let p = Prefilter::Attr {
        scope: AttrScope::Span,
        key: "wordpress.plugins".into(),
        value: IndexedValue::Str("woocommerce".into()),
    };
    assert_eq!(ids_of(&st, p), vec![5]);
}

#[test]
fn a_live_trace_stops_growing_at_max_trace_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    cfg.traces.max_trace_bytes = crate::units::ByteSize(1400);
    let st = TraceStore::new(Arc::new(cfg), ManualClock::new(T0_MS));
    st.open_existing().unwrap();
    let big = |id: u8| {
        let mut sp = span(7, id, 1, "chunk", 0, 1);
        sp.attributes.push(kv("payload", s(&"x".repeat(300))));
        sp
    };
    // Exports of one span (456 bytes encoded) each: three fit in 1400 bytes, the
    // fourth is refused (a whole export's spans of a trace go together, as
    // in Tempo); another trace is not affected.
    for id in 1..=3 {
        assert_eq!(
            st.push(&tenant(), vec![batch("wp", vec![big(id)])])
                .unwrap(),
            1
        );
    }
    assert_eq!(
        st.push(&tenant(), vec![batch("wp", vec![big(4)])]).unwrap(),
        0
    );
    push_two(&st);
    let t7 = st.trace_by_id(&tenant(), &[7; 16], None).unwrap().unwrap();
    assert_eq!(span_count(&t7), 3);
}
