//! In-process tests of the Tempo API: the router over a real
//! `SharedState` on a temporary directory, spans pushed into the trace
//! store, every endpoint answered with exact documents.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use axum::Router;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, TracesData};
use prost::Message;
use serde_json::{json, Value};
use tower::ServiceExt;

use super::proto::TraceByIdResponse;
use super::routes;
use crate::model::TenantId;
use crate::server::state::SharedState;

const S: u64 = 1_000_000_000;
const MS: u64 = 1_000_000;
/// 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000 * S;

struct Env {
    _dir: tempfile::TempDir,
    st: SharedState,
    app: Router,
}

fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::config::Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    let st =
        crate::server::build_state(Arc::new(cfg), Arc::new(crate::storage::clock::SystemClock));
    let app = routes().with_state(st.clone());
    Env { _dir: dir, st, app }
}

fn tid(last: u8) -> Vec<u8> {
    let mut v = vec![0u8; 16];
    v[15] = last;
    v[8] = 0x10;
    v
}

fn sid(n: u8) -> Vec<u8> {
    vec![0, 0, 0, 0, 0, 0, 0x0a, n]
}

fn str_kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn int_kv(k: &str, v: i64) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::IntValue(v)),
        }),
        ..Default::default()
    }
}

#[allow(clippy::too_many_arguments)]
fn span(
    trace: u8,
    id: u8,
    parent: Option<u8>,
    name: &str,
    start: u64,
    dur: u64,
    attrs: Vec<KeyValue>,
    error: bool,
) -> Span {
    Span {
        trace_id: tid(trace),
        span_id: sid(id),
        parent_span_id: parent.map(sid).unwrap_or_default(),
        name: name.into(),
        kind: if parent.is_none() { 2 } else { 3 },
        start_time_unix_nano: start,
        end_time_unix_nano: start + dur,
        attributes: attrs,
        status: error.then(|| Status {
            message: "failed".into(),
            code: 2,
        }),
        ..Default::default()
    }
}

fn batch(service: &str, spans: Vec<Span>) -> ResourceSpans {
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![str_kv("service.name", service)],
            ..Default::default()
        }),
        scope_spans: vec![ScopeSpans {
            scope: None,
            spans,
            schema_url: String::new(),
        }],
        schema_url: String::new(),
    }
}

/// Trace 0xa1 (`/clone`, two services, one error), 0xb2 (one span, 100 s
/// later), 0xc3 (no root received, 200 s later).
fn fixture() -> Vec<ResourceSpans> {
    vec![
        batch(
            "wp-k8s-service",
            vec![
                span(0xa1, 1, None, "POST /clone", T0, 500 * MS, vec![], false),
                span(
                    0xa1,
                    2,
                    Some(1),
                    "create pod",
                    T0 + 10 * MS,
                    300 * MS,
                    vec![str_kv("k8s.pod.name", "wp-1")],
                    false,
                ),
            ],
        ),
        batch(
            "kube",
            vec![span(
                0xa1,
                3,
                Some(2),
                "k8s api",
                T0 + 20 * MS,
                100 * MS,
                vec![int_kv("http.status_code", 500)],
                true,
            )],
        ),
        batch(
            "web",
            vec![span(
                0xb2,
                4,
                None,
                "GET /",
                T0 + 100 * S,
                20 * MS,
                vec![str_kv("http.method", "GET")],
                false,
            )],
        ),
        batch(
            "orphan",
            vec![span(
                0xc3,
                5,
                Some(9),
                "late child",
                T0 + 200 * S,
                3 * MS,
                vec![],
                false,
            )],
        ),
    ]
}

fn push(e: &Env, tenant: &str, batches: Vec<ResourceSpans>) {
    let t = TenantId::parse(tenant).unwrap();
    e.st.traces.push(&t, batches).unwrap();
}

async fn call(e: &Env, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, String, Vec<u8>) {
    let mut req = Request::builder().uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = e
        .app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    (status, ct, body)
}

async fn get_json(e: &Env, uri: &str) -> Value {
    let (status, ct, body) = call(e, uri, &[]).await;
    let text = String::from_utf8_lossy(&body).to_string();
    assert_eq!(status, StatusCode::OK, "{uri}: {text}");
    assert!(ct.starts_with("application/json"), "{uri}: {ct}");
    serde_json::from_slice(&body).unwrap()
}

async fn get_text(e: &Env, uri: &str) -> (StatusCode, String) {
    let (status, _, body) = call(e, uri, &[]).await;
    (status, String::from_utf8(body).unwrap())
}

fn enc(q: &str) -> String {
    form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

#[tokio::test]
async fn echo_and_buildinfo() {
    let e = env();
    assert_eq!(
        get_text(&e, "/api/echo").await,
        (StatusCode::OK, "echo\n".into())
    );
    assert_eq!(
        get_json(&e, "/api/status/buildinfo").await,
        json!({
            "version": "2.7.2",
            "revision": concat!("cairn-", env!("CARGO_PKG_VERSION")),
            "branch": "HEAD",
            "buildDate": "",
            "buildUser": "cairn",
            "goVersion": "none (Cairn is written in Rust)",
        })
    );
}

/// Trace 0xb2 as pushed (one batch).
fn web_trace() -> Vec<ResourceSpans> {
    vec![fixture().remove(2)]
}

#[tokio::test]
async fn trace_by_id_json_both_versions() {
    let e = env();
    push(&e, "fake", fixture());
    let batch = json!({
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "web"}}]},
        "scopeSpans": [{"spans": [{
            "traceId": "AAAAAAAAAAAQAAAAAAAAsg==",
            "spanId": "AAAAAAAACgQ=",
            "name": "GET /",
            "kind": "SPAN_KIND_SERVER",
            "startTimeUnixNano": (T0 + 100 * S).to_string(),
            "endTimeUnixNano": (T0 + 100 * S + 20 * MS).to_string(),
            "attributes": [{"key": "http.method", "value": {"stringValue": "GET"}}],
            "status": {}
        }]}]
    });
    let id = "000000000000000010000000000000b2";
    assert_eq!(
        get_json(&e, &format!("/api/traces/{id}")).await,
        json!({ "batches": [batch.clone()] })
    );
    // Leading zeros may be left out, upper case is fine.
    assert_eq!(
        get_json(&e, "/api/v2/traces/10000000000000B2").await,
        json!({ "trace": { "resourceSpans": [batch] }, "metrics": {} })
    );
}

#[tokio::test]
async fn trace_by_id_protobuf_round_trip() {
    let e = env();
    push(&e, "fake", fixture());
    let accept = [("accept", "application/protobuf")];
    let (status, ct, body) = call(&e, "/api/traces/10000000000000b2", &accept).await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::OK, "application/protobuf")
    );
    let v1 = TracesData::decode(body.as_slice()).unwrap();
    assert_eq!(v1.resource_spans, web_trace());

    let (status, ct, body) = call(
        &e,
        "/api/v2/traces/10000000000000b2?start=1700000000&end=1700000300",
        &accept,
    )
    .await;
    assert_eq!(
        (status, ct.as_str()),
        (StatusCode::OK, "application/protobuf")
    );
    let v2 = TraceByIdResponse::decode(body.as_slice()).unwrap();
    assert_eq!(v2.status, 0);
    assert_eq!(v2.trace.unwrap().resource_spans, web_trace());

    // The three batches of trace 0xa1, regrouped per trace by the store.
    let (_, _, body) = call(&e, "/api/v2/traces/10000000000000a1", &accept).await;
    let v2 = TraceByIdResponse::decode(body.as_slice()).unwrap();
    let spans: Vec<String> = v2
        .trace
        .unwrap()
        .resource_spans
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .flat_map(|ss| &ss.spans)
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(spans, ["POST /clone", "create pod", "k8s api"]);
}

#[tokio::test]
async fn trace_by_id_errors_and_tenants() {
    let e = env();
    push(&e, "fake", fixture());
    push(
        &e,
        "team-b",
        vec![batch(
            "b-svc",
            vec![span(0xd4, 1, None, "b", T0, MS, vec![], false)],
        )],
    );
    for path in ["/api/traces/ffff", "/api/v2/traces/ffff"] {
        assert_eq!(
            get_text(&e, path).await,
            (StatusCode::NOT_FOUND, "trace not found\n".into())
        );
    }
    let (status, text) = get_text(&e, "/api/traces/not-hex").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        text,
        "invalid trace id \"not-hex\": expected 1 to 32 hexadecimal digits\n"
    );
    let (status, _) = get_text(&e, &format!("/api/traces/{}", "1".repeat(33))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, text) = get_text(&e, "/api/traces/10000000000000b2?start=20&end=10").await;
    assert_eq!(
        (status, text.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "http parameter start must be before end\n"
        )
    );
    // Each tenant sees only its own traces.
    let (status, _, _) = call(&e, "/api/traces/10000000000000d4", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(
        &e,
        "/api/traces/10000000000000d4",
        &[("x-scope-orgid", "team-b")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(
        &e,
        "/api/traces/10000000000000b2",
        &[("x-scope-orgid", "team-b")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = call(
        &e,
        "/api/traces/10000000000000b2",
        &[("x-scope-orgid", "../x")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// The three fixture traces as `{}` finds them, newest first, with
/// `spss` spans per spanset.
fn all_traces(spss: usize) -> Vec<Value> {
    let a_spans = [
        json!({"spanID": "0000000000000a01", "name": "POST /clone",
               "startTimeUnixNano": T0.to_string(), "durationNanos": (500 * MS).to_string()}),
        json!({"spanID": "0000000000000a02", "name": "create pod",
               "startTimeUnixNano": (T0 + 10 * MS).to_string(), "durationNanos": (300 * MS).to_string()}),
        json!({"spanID": "0000000000000a03", "name": "k8s api",
               "startTimeUnixNano": (T0 + 20 * MS).to_string(), "durationNanos": (100 * MS).to_string()}),
    ];
    let a_set = json!({"spans": a_spans[..spss.min(3)], "matched": 3});
    let b_set = json!({"spans": [{"spanID": "0000000000000a04", "name": "GET /",
        "startTimeUnixNano": (T0 + 100 * S).to_string(), "durationNanos": (20 * MS).to_string()}],
        "matched": 1});
    let c_set = json!({"spans": [{"spanID": "0000000000000a05", "name": "late child",
        "startTimeUnixNano": (T0 + 200 * S).to_string(), "durationNanos": (3 * MS).to_string()}],
        "matched": 1});
    vec![
        json!({
            "traceID": "10000000000000c3",
            "rootServiceName": "<root span not yet received>",
            "startTimeUnixNano": (T0 + 200 * S).to_string(),
            "durationMs": 3,
            "spanSet": c_set, "spanSets": [c_set],
            "serviceStats": {"orphan": {"spanCount": 1}},
        }),
        json!({
            "traceID": "10000000000000b2",
            "rootServiceName": "web",
            "rootTraceName": "GET /",
            "startTimeUnixNano": (T0 + 100 * S).to_string(),
            "durationMs": 20,
            "spanSet": b_set, "spanSets": [b_set],
            "serviceStats": {"web": {"spanCount": 1}},
        }),
        json!({
            "traceID": "10000000000000a1",
            "rootServiceName": "wp-k8s-service",
            "rootTraceName": "POST /clone",
            "startTimeUnixNano": T0.to_string(),
            "durationMs": 500,
            "spanSet": a_set, "spanSets": [a_set],
            "serviceStats": {
                "kube": {"spanCount": 1, "errorCount": 1},
                "wp-k8s-service": {"spanCount": 2},
            },
        }),
    ]
}

/// The metrics a search reports: those of the store's scan over the
/// window, stopped after `stop_after` traces; checks that the scan
/// inspected `traces` traces and `spans` spans.
fn scan_metrics(e: &Env, window: (u64, u64), stop_after: usize, traces: u64, spans: u64) -> Value {
    let t = TenantId::parse("fake").unwrap();
    let req = crate::traces::ScanRequest {
        start_ns: window.0,
        end_ns: window.1,
        prefilter: Default::default(),
    };
    let mut seen = 0;
    let s =
        e.st.traces
            .scan(&t, &req, &mut |_, _| {
                seen += 1;
                if seen >= stop_after {
                    std::ops::ControlFlow::Break(())
                } else {
                    std::ops::ControlFlow::Continue(())
                }
            })
            .unwrap();
    assert_eq!((s.inspected_traces, s.inspected_spans), (traces, spans));
    assert!(s.inspected_bytes > 0 && s.total_block_bytes > 0 && s.total_blocks > 0);
    json!({
        "inspectedTraces": s.inspected_traces,
        "inspectedBytes": s.inspected_bytes.to_string(),
        "totalBlocks": s.total_blocks,
        "completedJobs": s.total_blocks,
        "totalJobs": s.total_blocks,
        "totalBlockBytes": s.total_block_bytes.to_string(),
        "inspectedSpans": s.inspected_spans.to_string(),
    })
}

const EVERYTHING: (u64, u64) = (0, u64::MAX);

#[tokio::test]
async fn search_match_all_newest_first() {
    let e = env();
    push(&e, "fake", fixture());
    assert_eq!(
        get_json(&e, &format!("/api/search?q={}", enc("{}"))).await,
        json!({ "traces": all_traces(3), "metrics": scan_metrics(&e, EVERYTHING, 20, 3, 5) })
    );
    // limit and spss.
    let mut two = all_traces(1);
    two.truncate(2);
    assert_eq!(
        get_json(&e, &format!("/api/search?q={}&limit=2&spss=1", enc("{ }"))).await,
        json!({ "traces": two, "metrics": scan_metrics(&e, EVERYTHING, 2, 2, 2) })
    );
    let a_only = all_traces(2).remove(2);
    assert_eq!(
        get_json(
            &e,
            &format!(
                "/api/search?q={}&spss=2&limit=1&start=1699999990&end=1700000050",
                enc("{}")
            )
        )
        .await,
        json!({ "traces": [a_only], "metrics": scan_metrics(&e, (T0 - 10 * S, T0 + 51 * S - 1), 1, 1, 3) })
    );
}

#[tokio::test]
async fn search_legacy_form_without_tags_matches_everything() {
    let e = env();
    push(&e, "fake", fixture());
    assert_eq!(
        get_json(&e, "/api/search?limit=5").await,
        json!({ "traces": all_traces(3), "metrics": scan_metrics(&e, EVERYTHING, 20, 3, 5) })
    );
    assert_eq!(
        get_json(&e, "/api/search?tags=&minDuration=0").await,
        json!({ "traces": all_traces(3), "metrics": scan_metrics(&e, EVERYTHING, 20, 3, 5) })
    );
}

#[tokio::test]
async fn search_errors_and_tenants() {
    let e = env();
    push(&e, "fake", fixture());
    let bad = "{ .a = }";
    let (status, text) = get_text(&e, &format!("/api/search?q={}", enc(bad))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let err = crate::traceql::parse(bad).unwrap_err();
    assert!(err.line == 1 && err.col > 0, "{err:?}");
    assert_eq!(text, format!("invalid TraceQL query: {err}\n"));
    assert!(text.contains(&format!("line 1, col {}", err.col)), "{text}");

    let (status, text) = get_text(&e, "/api/search?minDuration=fast").await;
    assert_eq!(
        (status, text.as_str()),
        (
            StatusCode::BAD_REQUEST,
            "invalid minDuration: invalid duration \"fast\"\n"
        )
    );
    let (status, _) = get_text(&e, "/api/search?limit=many").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Another tenant has no traces.
    let (status, _, body) = call(
        &e,
        &format!("/api/search?q={}", enc("{}")),
        &[("x-scope-orgid", "team-b")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({ "traces": [], "metrics": {} })
    );
}

#[tokio::test]
async fn tag_names_v1_and_v2() {
    let e = env();
    push(&e, "fake", fixture());
    assert_eq!(
        get_json(&e, "/api/search/tags").await,
        json!({ "tagNames": ["http.method", "http.status_code", "k8s.pod.name", "service.name"] })
    );
    assert_eq!(
        get_json(&e, "/api/search/tags?scope=resource").await,
        json!({ "tagNames": ["service.name"] })
    );
    let intrinsics: Vec<&str> = super::tags::INTRINSICS.to_vec();
    assert_eq!(
        get_json(&e, "/api/v2/search/tags").await,
        json!({ "scopes": [
            {"name": "resource", "tags": ["service.name"]},
            {"name": "span", "tags": ["http.method", "http.status_code", "k8s.pod.name"]},
            {"name": "intrinsic", "tags": intrinsics},
        ]})
    );
    assert_eq!(
        get_json(&e, "/api/v2/search/tags?scope=span&limit=2").await,
        json!({ "scopes": [{"name": "span", "tags": ["http.method", "http.status_code"]}] })
    );
    assert_eq!(
        get_json(&e, "/api/v2/search/tags?scope=event").await,
        json!({ "scopes": [{"name": "event", "tags": []}] })
    );
    assert_eq!(
        get_json(&e, "/api/v2/search/tags?scope=intrinsic&limit=3").await,
        json!({ "scopes": [{"name": "intrinsic", "tags": ["duration", "event:name", "event:timeSinceStart"]}] })
    );
    let (status, _) = get_text(&e, "/api/v2/search/tags?scope=everything").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Time range: only trace 0xb2 lies in it.
    assert_eq!(
        get_json(&e, "/api/search/tags?start=1700000090&end=1700000110").await,
        json!({ "tagNames": ["http.method", "service.name"] })
    );
}

#[tokio::test]
async fn tag_values_v1_and_v2() {
    let e = env();
    push(&e, "fake", fixture());
    push(
        &e,
        "team-b",
        vec![batch(
            "b-svc",
            vec![span(0xd4, 1, None, "b", T0, MS, vec![], false)],
        )],
    );
    assert_eq!(
        get_json(&e, "/api/search/tag/service.name/values").await,
        json!({ "tagValues": ["kube", "orphan", "web", "wp-k8s-service"] })
    );
    let (status, _, body) = call(
        &e,
        "/api/search/tag/service.name/values",
        &[("x-scope-orgid", "team-b")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap(),
        json!({ "tagValues": ["b-svc"] })
    );
    assert_eq!(
        get_json(&e, "/api/search/tag/http.status_code/values").await,
        json!({ "tagValues": ["500"] })
    );
    let s = |v: &str| json!({"type": "string", "value": v});
    assert_eq!(
        get_json(
            &e,
            "/api/v2/search/tag/resource.service.name/values?limit=2"
        )
        .await,
        json!({ "tagValues": [s("kube"), s("orphan")] })
    );
    assert_eq!(
        get_json(&e, "/api/v2/search/tag/span.http.status_code/values").await,
        json!({ "tagValues": [{"type": "int", "value": "500"}] })
    );
    // A resource attribute is not a span attribute.
    assert_eq!(
        get_json(&e, "/api/v2/search/tag/span.service.name/values").await,
        json!({ "tagValues": [] })
    );
    assert_eq!(
        get_json(&e, "/api/v2/search/tag/.k8s.pod.name/values").await,
        json!({ "tagValues": [s("wp-1")] })
    );
    assert_eq!(
        get_json(&e, "/api/v2/search/tag/name/values").await,
        json!({ "tagValues": [s("GET /"), s("POST /clone"), s("create pod"), s("k8s api"), s("late child")] })
    );
    assert_eq!(
        get_json(&e, "/api/v2/search/tag/rootServiceName/values").await,
        // The orphan's root span never arrived: it has no root service.
        json!({ "tagValues": [s("web"), s("wp-k8s-service")] })
    );
    let k = |v: &str| json!({"type": "keyword", "value": v});
    assert_eq!(
        get_json(&e, "/api/v2/search/tag/status/values").await,
        json!({ "tagValues": [k("unset"), k("ok"), k("error")] })
    );
    assert_eq!(
        get_json(&e, "/api/v2/search/tag/span:kind/values").await,
        json!({ "tagValues": [k("unspecified"), k("internal"), k("server"), k("client"), k("producer"), k("consumer")] })
    );
    // `q={}` and a `q` that does not parse filter nothing.
    for q in ["{}", "{ resource.cluster = "] {
        assert_eq!(
            get_json(
                &e,
                &format!(
                    "/api/v2/search/tag/resource.service.name/values?q={}",
                    enc(q)
                )
            )
            .await,
            json!({ "tagValues": [s("kube"), s("orphan"), s("web"), s("wp-k8s-service")] }),
            "{q}"
        );
    }
    let (status, _) = get_text(&e, "/api/v2/search/tag/1+2/values").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

/// The trace ids of a search answer, in order.
fn trace_ids(doc: &Value) -> Vec<String> {
    doc["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["traceID"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn search_traceql_filters_and_select() {
    let e = env();
    push(&e, "fake", fixture());
    let doc = get_json(
        &e,
        &format!(
            "/api/search?q={}",
            enc("{ resource.service.name = \"kube\" }")
        ),
    )
    .await;
    let set = json!({"spans": [{"spanID": "0000000000000a03", "name": "k8s api",
        "startTimeUnixNano": (T0 + 20 * MS).to_string(), "durationNanos": (100 * MS).to_string()}],
        "matched": 1});
    let mut a = all_traces(3).remove(2);
    a["spanSet"] = set.clone();
    a["spanSets"] = json!([set]);
    assert_eq!(doc["traces"], json!([a]));

    let doc = get_json(
        &e,
        &format!(
            "/api/search?q={}",
            enc("{ status = error } | select(span.http.status_code)")
        ),
    )
    .await;
    assert_eq!(
        doc["traces"][0]["spanSets"][0]["spans"][0]["attributes"],
        json!([{"key": "span.http.status_code", "value": {"intValue": "500"}}])
    );

    // Server spans: the roots of 0xa1 and 0xb2, newest first.
    let doc = get_json(&e, &format!("/api/search?q={}", enc("{ kind = server }"))).await;
    assert_eq!(trace_ids(&doc), ["10000000000000b2", "10000000000000a1"]);
    let doc = get_json(
        &e,
        &format!("/api/search?q={}&limit=1", enc("{ kind = server }")),
    )
    .await;
    assert_eq!(trace_ids(&doc), ["10000000000000b2"]);
}

#[tokio::test]
async fn search_legacy_tags_and_durations() {
    let e = env();
    push(&e, "fake", fixture());
    let search = |q: String| {
        let e = &e;
        async move { trace_ids(&get_json(e, &format!("/api/search?{q}")).await) }
    };
    assert_eq!(
        search(format!("tags={}", enc("service.name=wp-k8s-service"))).await,
        ["10000000000000a1"]
    );
    assert_eq!(
        search(format!("tags={}", enc("http.method=GET name=\"GET /\""))).await,
        ["10000000000000b2"]
    );
    assert_eq!(
        search(format!(
            "tags={}&minDuration=400ms",
            enc("http.status_code=500")
        ))
        .await,
        ["10000000000000a1"]
    );
    assert!(search(format!(
        "tags={}&maxDuration=100ms",
        enc("http.status_code=500")
    ))
    .await
    .is_empty());
    assert_eq!(
        search("tags=error%3Dtrue".into()).await,
        ["10000000000000a1"]
    );
    assert_eq!(
        search("minDuration=10ms&maxDuration=50ms".into()).await,
        ["10000000000000b2"]
    );
}

#[tokio::test]
async fn tag_values_filtered_by_a_query() {
    let e = env();
    push(&e, "fake", fixture());
    let s = |v: &str| json!({"type": "string", "value": v});
    let values = |tag: &str, q: &str| format!("/api/v2/search/tag/{tag}/values?q={}", enc(q));
    assert_eq!(
        get_json(
            &e,
            &values("resource.service.name", "{ name = \"k8s api\" }")
        )
        .await,
        json!({ "tagValues": [s("kube")] })
    );
    assert_eq!(
        get_json(
            &e,
            &values("resource.service.name", "{ span.http.method = \"GET\" }")
        )
        .await,
        json!({ "tagValues": [s("web")] })
    );
    assert_eq!(
        get_json(
            &e,
            &values("name", "{ resource.service.name = \"wp-k8s-service\" }")
        )
        .await,
        json!({ "tagValues": [s("POST /clone"), s("create pod")] })
    );
    assert_eq!(
        get_json(&e, &values(".http.status_code", "{ kind = server }")).await,
        json!({ "tagValues": [] })
    );
}
