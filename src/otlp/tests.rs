//! In-process tests of both receivers (HTTP through the main router, gRPC
//! through a real listener and the generated tonic clients) for all three
//! signals.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Request, StatusCode};
use prost::Message;
use tower::ServiceExt;

use super::decode::{code, RetryInfo, RpcStatus, RETRY_INFO_TYPE};
use super::pb::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use super::pb::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use super::pb::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use super::pb::common::v1::{any_value::Value as AV, AnyValue, KeyValue};
use super::pb::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use super::pb::metrics::v1::{
    metric::Data, number_data_point, Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics,
};
use super::pb::resource::v1::Resource;
use super::pb::trace::v1::{ResourceSpans, ScopeSpans, Span};
use crate::config::{Config, PartialLimits, TenantOverrides};
use crate::model::TenantId;
use crate::server::state::SharedState;

async fn state_with(edit: impl FnOnce(&mut Config)) -> (tempfile::TempDir, SharedState) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    edit(&mut cfg);
    let st =
        crate::server::build_state(Arc::new(cfg), Arc::new(crate::storage::clock::SystemClock));
    crate::server::open_stores(st.clone()).await.unwrap();
    (dir, st)
}

async fn state() -> (tempfile::TempDir, SharedState) {
    state_with(|_| {}).await
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(AV::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn span(trace_id: &[u8], span_id: &[u8], name: &str) -> Span {
    let now = now_ns();
    Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        name: name.into(),
        start_time_unix_nano: now - 1_000_000,
        end_time_unix_nano: now,
        ..Default::default()
    }
}

fn traces_req(spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "checkout")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn logs_req(line: &str, trace_id: &[u8]) -> ExportLogsServiceRequest {
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("service.name", "checkout"), kv("host.name", "node-1")],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: now_ns() - 1_000_000_000,
                    severity_number: 9,
                    severity_text: "INFO".into(),
                    body: Some(AnyValue {
                        value: Some(AV::StringValue(line.into())),
                    }),
                    trace_id: trace_id.to_vec(),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn metrics_req() -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: "queue_depth".into(),
                    data: Some(Data::Gauge(Gauge {
                        data_points: vec![
                            NumberDataPoint {
                                time_unix_nano: now_ns(),
                                value: Some(number_data_point::Value::AsInt(3)),
                                attributes: vec![kv("queue", "clones")],
                                ..Default::default()
                            },
                            NumberDataPoint {
                                time_unix_nano: now_ns(),
                                value: Some(number_data_point::Value::AsDouble(4.5)),
                                attributes: vec![kv("queue", "restores")],
                                ..Default::default()
                            },
                        ],
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(b).unwrap();
    enc.finish().unwrap()
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

async fn post(
    st: &SharedState,
    path: &str,
    ct: &str,
    enc: Option<&str>,
    tenant: Option<&str>,
    body: Vec<u8>,
) -> Resp {
    let mut req = Request::post(path).header(header::CONTENT_TYPE, ct);
    if let Some(e) = enc {
        req = req.header(header::CONTENT_ENCODING, e);
    }
    if let Some(t) = tenant {
        req = req.header("X-Scope-OrgID", t);
    }
    let resp = crate::server::router(st.clone())
        .oneshot(req.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    Resp {
        status,
        headers,
        body,
    }
}

fn ct(r: &Resp) -> &str {
    r.headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn tenant(s: &str) -> TenantId {
    TenantId::parse(s).unwrap()
}

fn spans_of(st: &SharedState, t: &str, id: [u8; 16]) -> Vec<String> {
    let found = st.traces.trace_by_id(&tenant(t), &id, None).unwrap();
    let mut names: Vec<String> = found
        .unwrap_or_default()
        .iter()
        .flat_map(|r| r.scope_spans.iter())
        .flat_map(|s| s.spans.iter())
        .map(|s| s.name.clone())
        .collect();
    names.sort();
    names
}

const TRACE_A: [u8; 16] = [0xA1; 16];
const TRACE_B: [u8; 16] = [0xB2; 16];

#[tokio::test]
async fn http_traces_protobuf_and_json_per_tenant() {
    let (_d, st) = state().await;
    let req = traces_req(vec![
        span(&TRACE_A, &[1; 8], "root"),
        span(&TRACE_A, &[2; 8], "child"),
    ]);
    let r = post(
        &st,
        "/v1/traces",
        "application/x-protobuf",
        None,
        Some("team-a"),
        req.encode_to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(ct(&r), "application/x-protobuf");
    assert_eq!(
        ExportTraceServiceResponse::decode(r.body.as_slice()).unwrap(),
        ExportTraceServiceResponse {
            partial_success: None
        }
    );

    // OTLP/JSON with upper-case hex ids, gzip, for another tenant.
    let json = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"traceId":"{}","spanId":"0A0B0C0D0E0F0102","name":"json-span","startTimeUnixNano":"{}","endTimeUnixNano":"{}","kind":2}}]}}]}}]}}"#,
        "B2".repeat(16),
        now_ns() - 5,
        now_ns()
    );
    let r = post(
        &st,
        "/v1/traces",
        "application/json",
        Some("gzip"),
        Some("team-b"),
        gzip(json.as_bytes()),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(ct(&r), "application/json");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap(),
        serde_json::json!({})
    );

    assert_eq!(spans_of(&st, "team-a", TRACE_A), vec!["child", "root"]);
    assert!(
        spans_of(&st, "team-b", TRACE_A).is_empty(),
        "tenants are isolated"
    );
    assert_eq!(spans_of(&st, "team-b", TRACE_B), vec!["json-span"]);
    assert!(spans_of(&st, "team-a", TRACE_B).is_empty());
    assert_eq!(st.selfmon.otlp_received.with(&["traces", "http"]).get(), 3);
}

#[tokio::test]
async fn http_partial_success_for_bad_ids() {
    let (_d, st) = state().await;
    let req = traces_req(vec![
        span(&TRACE_A, &[1; 8], "good"),
        span(&[1; 8], &[2; 8], "short trace id"),
        span(&TRACE_A, &[0; 8], "zero span id"),
    ]);
    let r = post(
        &st,
        "/v1/traces",
        "application/x-protobuf",
        None,
        None,
        req.encode_to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let resp = ExportTraceServiceResponse::decode(r.body.as_slice()).unwrap();
    assert_eq!(
        resp.partial_success,
        Some(ExportTracePartialSuccess {
            rejected_spans: 2,
            error_message: "2 spans without a valid trace id (16 bytes, not all zero) or span id (8 bytes, not all zero)".into(),
        })
    );
    assert_eq!(spans_of(&st, "fake", TRACE_A), vec!["good"]);
    assert_eq!(
        st.selfmon
            .otlp_rejected
            .with(&["traces", "http", "invalid"])
            .get(),
        2
    );
    // The same in OTLP/JSON.
    let json = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"abcd","spanId":"0102030405060708","name":"short"}]}]}]}"#;
    let r = post(
        &st,
        "/v1/traces",
        "application/json",
        None,
        None,
        json.into(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap(),
        serde_json::json!({"partialSuccess": {
            "rejectedSpans": 1,
            "errorMessage": "1 spans without a valid trace id (16 bytes, not all zero) or span id (8 bytes, not all zero)"
        }})
    );
}

#[tokio::test]
async fn http_errors_in_the_request_format() {
    let (_d, st) = state_with(|c| c.server.max_request_body = crate::units::ByteSize(4096)).await;
    // Wrong content type: 415.
    let r = post(&st, "/v1/traces", "text/plain", None, None, b"x".to_vec()).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["code"], code::INVALID_ARGUMENT);
    assert_eq!(
        j["message"],
        "unsupported Content-Type \"text/plain\": OTLP/HTTP accepts application/x-protobuf or application/json"
    );
    // Unknown Content-Encoding: 415.
    let r = post(
        &st,
        "/v1/logs",
        "application/x-protobuf",
        Some("zstd"),
        None,
        b"x".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Malformed protobuf: 400 with a protobuf Status.
    let r = post(
        &st,
        "/v1/logs",
        "application/x-protobuf",
        None,
        None,
        vec![0x0a, 0xff],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(ct(&r), "application/x-protobuf");
    let s = RpcStatus::decode(r.body.as_slice()).unwrap();
    assert_eq!(s.code, code::INVALID_ARGUMENT);
    assert!(s.message.starts_with("invalid protobuf:"), "{}", s.message);
    // Malformed JSON: 400 with a JSON Status.
    let r = post(
        &st,
        "/v1/metrics",
        "application/json",
        None,
        None,
        b"{\"resourceMetrics\":".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(ct(&r), "application/json");
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["code"], code::INVALID_ARGUMENT);
    assert!(j["message"].as_str().unwrap().starts_with("invalid JSON:"));
    // Larger than the limit once decompressed: 413.
    let big = traces_req(
        (0..200u8)
            .map(|i| span(&TRACE_A, &[i.max(1); 8], &"x".repeat(40)))
            .collect(),
    )
    .encode_to_vec();
    let packed = gzip(&big);
    assert!(packed.len() < 4096 && big.len() > 4096);
    let r = post(
        &st,
        "/v1/traces",
        "application/x-protobuf",
        Some("gzip"),
        None,
        packed,
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    // A bad tenant: 400.
    let r = post(
        &st,
        "/v1/traces",
        "application/json",
        None,
        Some("../x"),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // While the WALs replay: 503 with Retry-After.
    st.ready.store(false, Ordering::SeqCst);
    let r = post(
        &st,
        "/v1/traces",
        "application/json",
        None,
        None,
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers.get(header::RETRY_AFTER).unwrap(), "5");
    let j: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(j["code"], code::UNAVAILABLE);
    assert_eq!(j["details"][0]["@type"], RETRY_INFO_TYPE);
    assert_eq!(j["details"][0]["retryDelay"], "5s");
}

#[tokio::test]
async fn http_rate_limit_is_429_with_retry_after() {
    let (_d, st) = state_with(|c| {
        c.tenants.insert(
            "slow".into(),
            TenantOverrides {
                limits: PartialLimits {
                    trace_ingestion_rate_spans: Some(1),
                    trace_ingestion_burst_spans: Some(1),
                    ..Default::default()
                },
                ..Default::default()
            },
        );
    })
    .await;
    let body = traces_req(vec![
        span(&TRACE_A, &[1; 8], "a"),
        span(&TRACE_A, &[2; 8], "b"),
    ])
    .encode_to_vec();
    let first = post(
        &st,
        "/v1/traces",
        "application/x-protobuf",
        None,
        Some("slow"),
        body.clone(),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK);
    let second = post(
        &st,
        "/v1/traces",
        "application/x-protobuf",
        None,
        Some("slow"),
        body.clone(),
    )
    .await;
    assert_eq!(second.status, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = second.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1);
    let s = RpcStatus::decode(second.body.as_slice()).unwrap();
    assert_eq!(s.code, code::RESOURCE_EXHAUSTED);
    assert_eq!(s.details[0].type_url, RETRY_INFO_TYPE);
    let ri = RetryInfo::decode(s.details[0].value.as_slice()).unwrap();
    assert_eq!(ri.retry_delay.map(|d| d.seconds), Some(retry as i64));
    // Other tenants have their own budget.
    let other = post(
        &st,
        "/v1/traces",
        "application/x-protobuf",
        None,
        Some("fast"),
        body,
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn http_logs_are_queryable_by_trace_id() {
    let (_d, st) = state().await;
    let tid = [0x4b; 16];
    let r = post(
        &st,
        "/otlp/v1/logs",
        "application/x-protobuf",
        None,
        Some("team-a"),
        logs_req("order placed", &tid).encode_to_vec(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&r.body)
    );
    assert_eq!(
        ExportLogsServiceResponse::decode(r.body.as_slice()).unwrap(),
        ExportLogsServiceResponse {
            partial_success: None
        }
    );
    let q = format!(
        "{{service_name=\"checkout\"}} | trace_id=\"{}\"",
        "4b".repeat(16)
    );
    let url = format!(
        "/loki/api/v1/query_range?query={}&since=1h",
        form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
    );
    let get = |tenant: &'static str| {
        let st = st.clone();
        let url = url.clone();
        async move {
            let resp = crate::server::router(st)
                .oneshot(
                    Request::get(url)
                        .header("X-Scope-OrgID", tenant)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let b = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap();
            serde_json::from_slice::<serde_json::Value>(&b).unwrap()
        }
    };
    let j = get("team-a").await;
    let result = &j["data"]["result"];
    assert_eq!(result.as_array().map(Vec::len), Some(1), "{j}");
    assert_eq!(result[0]["stream"]["service_name"], "checkout");
    assert_eq!(result[0]["values"][0][1], "order placed");
    let j = get("team-b").await;
    assert_eq!(j["data"]["result"].as_array().map(Vec::len), Some(0), "{j}");
}

#[tokio::test]
async fn http_metrics_on_both_paths() {
    let (_d, st) = state().await;
    for path in ["/v1/metrics", "/api/v1/otlp/v1/metrics"] {
        let r = post(
            &st,
            path,
            "application/x-protobuf",
            None,
            None,
            metrics_req().encode_to_vec(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            ExportMetricsServiceResponse::decode(r.body.as_slice()).unwrap(),
            ExportMetricsServiceResponse {
                partial_success: None
            }
        );
    }
    assert_eq!(st.selfmon.otlp_received.with(&["metrics", "http"]).get(), 4);
}

mod grpc {
    use super::*;
    use crate::otlp::pb::collector::logs::v1::logs_service_client::LogsServiceClient;
    use crate::otlp::pb::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
    use crate::otlp::pb::collector::trace::v1::trace_service_client::TraceServiceClient;
    use tonic::codec::CompressionEncoding;
    use tonic::Code;

    async fn serve(
        st: &SharedState,
    ) -> (
        String,
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<()>,
    ) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = format!("http://{}", l.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let st = st.clone();
        let task = tokio::spawn(async move {
            crate::otlp::grpc::serve_grpc(st, l, async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        (addr, tx, task)
    }

    fn with_tenant<T>(msg: T, tenant: &str) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.metadata_mut()
            .insert("x-scope-orgid", tenant.parse().unwrap());
        r
    }

    #[tokio::test]
    async fn round_trip_all_signals_with_gzip_and_tenants() {
        let (_d, st) = state_with(|c| {
            c.tenants.insert(
                "slow".into(),
                TenantOverrides {
                    limits: PartialLimits {
                        trace_ingestion_rate_spans: Some(1),
                        trace_ingestion_burst_spans: Some(1),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            );
        })
        .await;
        let (addr, stop, task) = serve(&st).await;
        let mut traces = TraceServiceClient::connect(addr.clone())
            .await
            .unwrap()
            .send_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Gzip);
        let resp = traces
            .export(with_tenant(
                traces_req(vec![
                    span(&TRACE_A, &[1; 8], "grpc-root"),
                    span(&[0; 16], &[2; 8], "zero trace id"),
                ]),
                "team-a",
            ))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(resp.partial_success.map(|p| p.rejected_spans), Some(1));
        assert_eq!(spans_of(&st, "team-a", TRACE_A), vec!["grpc-root"]);
        assert!(spans_of(&st, "fake", TRACE_A).is_empty());

        // Without metadata: the default tenant.
        traces
            .export(traces_req(vec![span(&TRACE_B, &[3; 8], "default")]))
            .await
            .unwrap();
        assert_eq!(spans_of(&st, "fake", TRACE_B), vec!["default"]);

        // A bad tenant: INVALID_ARGUMENT.
        let err = traces
            .export(with_tenant(traces_req(vec![]), "a|b"))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);

        // Over the rate: RESOURCE_EXHAUSTED with RetryInfo.
        let two = || {
            traces_req(vec![
                span(&TRACE_A, &[1; 8], "a"),
                span(&TRACE_A, &[2; 8], "b"),
            ])
        };
        traces.export(with_tenant(two(), "slow")).await.unwrap();
        let err = traces.export(with_tenant(two(), "slow")).await.unwrap_err();
        assert_eq!(err.code(), Code::ResourceExhausted);
        let details = RpcStatus::decode(err.details()).unwrap();
        assert_eq!(details.code, code::RESOURCE_EXHAUSTED);
        assert_eq!(details.details[0].type_url, RETRY_INFO_TYPE);

        let mut logs = LogsServiceClient::connect(addr.clone())
            .await
            .unwrap()
            .send_compressed(CompressionEncoding::Gzip);
        let resp = logs
            .export(with_tenant(logs_req("via grpc", &[7; 16]), "team-a"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(resp.partial_success, None);
        assert_eq!(st.selfmon.otlp_received.with(&["logs", "grpc"]).get(), 1);
        assert_eq!(st.selfmon.ingested_samples.with(&["logs"]).get(), 1);

        let mut metrics = MetricsServiceClient::connect(addr.clone()).await.unwrap();
        let resp = metrics.export(metrics_req()).await.unwrap().into_inner();
        assert_eq!(resp.partial_success, None);
        assert_eq!(st.selfmon.otlp_received.with(&["metrics", "grpc"]).get(), 2);

        // While the WALs replay: UNAVAILABLE (retryable).
        st.ready.store(false, Ordering::SeqCst);
        let err = metrics.export(metrics_req()).await.unwrap_err();
        assert_eq!(err.code(), Code::Unavailable);
        st.ready.store(true, Ordering::SeqCst);

        assert_eq!(st.selfmon.otlp_received.with(&["traces", "grpc"]).get(), 7);
        let _ = stop.send(());
        tokio::time::timeout(std::time::Duration::from_secs(10), task)
            .await
            .expect("the gRPC server stops on shutdown")
            .unwrap();
    }
}

#[tokio::test]
async fn self_metrics_count_live_spans_and_received_spans() {
    let (_d, st) = state().await;
    let r = post(
        &st,
        "/v1/traces",
        "application/x-protobuf",
        None,
        None,
        traces_req(vec![
            span(&TRACE_A, &[1; 8], "a"),
            span(&TRACE_A, &[2; 8], "b"),
        ])
        .encode_to_vec(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let resp = crate::server::router(st.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let text = String::from_utf8(
        axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(
        text.lines().any(|l| l == "cairn_trace_head_spans 2"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l == "cairn_trace_partitions 0"),
        "{text}"
    );
}
