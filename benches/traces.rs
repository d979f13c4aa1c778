//! Trace store load driver: ingest throughput (spans/s, straight into the
//! store and over OTLP/HTTP and OTLP/gRPC with four concurrent exporters,
//! requests built before the clock starts), trace-by-id latency (p50/p99
//! over random ids) with 10 million spans stored, and the latency of
//! selective TraceQL searches over 24 hours of data.
//!
//! Data: `wp-k8s-service`-like traces of 10 spans (root `POST /clone`
//! server span, Kubernetes API client spans, pod and ingress waits) from
//! 20 services, 1 in 1,000 traces failing with a 503, spread evenly over
//! 24 hours; the store seals partitions as it would in production (10 s
//! idle timeout, 10 min head age, 64 MiB heads) with a simulated clock.
//!
//! `cargo bench --bench traces` (10 M spans); `CAIRN_BENCH_SPANS=1000000`
//! for a quicker run.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn::config::Config;
use cairn::model::TenantId;
use cairn::storage::clock::ManualClock;
use cairn::traceql::data::TraceData;
use cairn::traces::{prefilter, ScanRequest, TraceStore};
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};

const SPANS_PER_TRACE: u64 = 10;
const SERVICES: u64 = 20;
const DAY_NS: u64 = 24 * 3600 * 1_000_000_000;
const T0_NS: u64 = 1_800_000_000 * 1_000_000_000;
const TRACES_PER_BATCH: u64 = 100;

fn kv(k: &str, v: any_value::Value) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue { value: Some(v) }),
        ..Default::default()
    }
}

fn sv(s: String) -> any_value::Value {
    any_value::Value::StringValue(s)
}

pub fn trace_id(i: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&i.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_be_bytes());
    id[8..].copy_from_slice(&(i + 1).to_be_bytes());
    id
}

fn failing(i: u64) -> bool {
    i % 1000 == 517
}

/// The `i`-th trace of `n`, starting at its place in the day.
pub fn make_trace(i: u64, n: u64) -> ResourceSpans {
    let start = T0_NS + i * (DAY_NS / n.max(1));
    let tid = trace_id(i).to_vec();
    let service = i % SERVICES;
    let names = [
        "POST /clone",
        "k8s.api create_namespace",
        "k8s.api create_pod",
        "k8s.api create_service",
        "k8s.api create_ingress",
        "pod.wait_ready",
        "wordpress.install_plugins",
        "rds.create_database",
        "ingress.wait_ready",
        "notify.slack",
    ];
    let spans = (0..SPANS_PER_TRACE)
        .map(|j| {
            let s = start + j * 1_000_000;
            let err = failing(i) && (j == 0 || j == 8);
            let mut attributes = vec![
                kv("k8s.pod.name", sv(format!("wp-clone-{}", i % 5000))),
                kv(
                    "http.response.status_code",
                    any_value::Value::IntValue(if err { 503 } else { 200 }),
                ),
            ];
            if j == 0 {
                attributes.push(kv("http.route", sv("/clone".into())));
                attributes.push(kv("clone.id", sv(format!("clone-{i}"))));
            }
            Span {
                trace_id: tid.clone(),
                span_id: (i * 16 + j + 1).to_be_bytes().to_vec(),
                parent_span_id: if j == 0 {
                    vec![]
                } else {
                    (i * 16 + 1).to_be_bytes().to_vec()
                },
                name: names[j as usize].into(),
                kind: if j == 0 { 2 } else { 3 },
                start_time_unix_nano: s,
                end_time_unix_nano: s + 50_000_000 + (i % 7) * 10_000_000,
                attributes,
                status: err.then(|| Status {
                    code: 2,
                    message: "upstream unavailable".into(),
                }),
                ..Default::default()
            }
        })
        .collect();
    ResourceSpans {
        resource: Some(Resource {
            attributes: vec![
                kv("service.name", sv(format!("svc-{service}"))),
                kv("k8s.namespace.name", sv("wordpress-production".into())),
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

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn fmt(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

/// Spans per OTLP export in the ingest runs (100 traces of 10 spans).
const EXPORT_TRACES: u64 = 100;
const CLIENTS: usize = 4;

/// OTLP ingest through the real receivers: a server on loopback (main
/// port for HTTP, the gRPC listener), four concurrent exporters sending
/// protobuf exports of 1,000 spans, each acknowledged (WAL fsync) before
/// the next. Returns (HTTP spans/s, gRPC spans/s).
fn otlp_ingest(total_spans: u64) -> (f64, f64) {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use prost::Message;

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut cfg = Config::default();
        cfg.storage.data_dir = dir.path().to_path_buf();
        cfg.limits.trace_ingestion_rate_spans = u64::MAX / 4;
        cfg.limits.trace_ingestion_burst_spans = u64::MAX / 4;
        let st =
            cairn::server::build_state(Arc::new(cfg), Arc::new(cairn::storage::clock::SystemClock));
        cairn::server::open_stores(st.clone()).await.expect("open");
        let http = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let http_addr = http.local_addr().expect("addr");
        let app = cairn::server::router(st.clone());
        tokio::spawn(async move { axum::serve(http, app).await });
        let grpc = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let grpc_addr = grpc.local_addr().expect("addr");
        let st2 = st.clone();
        tokio::spawn(cairn::otlp::grpc::serve_grpc(
            st2,
            grpc,
            std::future::pending(),
        ));

        let exports = total_spans / (EXPORT_TRACES * SPANS_PER_TRACE);
        let build = |offset: u64| -> Vec<Vec<ExportTraceServiceRequest>> {
            let mut per_client = vec![Vec::new(); CLIENTS];
            for e in 0..exports {
                let first = offset + e * EXPORT_TRACES;
                let req = ExportTraceServiceRequest {
                    resource_spans: (first..first + EXPORT_TRACES)
                        .map(|i| make_trace(i, 1_000_000_000))
                        .collect(),
                };
                per_client[e as usize % CLIENTS].push(req);
            }
            per_client
        };
        let sent = exports * EXPORT_TRACES * SPANS_PER_TRACE;

        // HTTP: bodies encoded before the clock starts.
        let bodies: Vec<Vec<Vec<u8>>> = build(0)
            .into_iter()
            .map(|reqs| reqs.iter().map(|r| r.encode_to_vec()).collect())
            .collect();
        let client = reqwest::Client::new();
        let url = format!("http://{http_addr}/v1/traces");
        let started = Instant::now();
        let mut tasks = Vec::new();
        for bodies in bodies {
            let client = client.clone();
            let url = url.clone();
            tasks.push(tokio::spawn(async move {
                for b in bodies {
                    let r = client
                        .post(&url)
                        .header("Content-Type", "application/x-protobuf")
                        .body(b)
                        .send()
                        .await
                        .expect("send");
                    assert_eq!(r.status().as_u16(), 200);
                }
            }));
        }
        for t in tasks {
            t.await.expect("client");
        }
        let http_rate = sent as f64 / started.elapsed().as_secs_f64();

        // gRPC: one channel per exporter, as SDKs have.
        let reqs = build(exports * EXPORT_TRACES);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for reqs in reqs {
            let addr = format!("http://{grpc_addr}");
            tasks.push(tokio::spawn(async move {
                let mut c = TraceServiceClient::connect(addr).await.expect("connect");
                for r in reqs {
                    c.export(r).await.expect("export");
                }
            }));
        }
        for t in tasks {
            t.await.expect("client");
        }
        let grpc_rate = sent as f64 / started.elapsed().as_secs_f64();
        st.traces.close();
        (http_rate, grpc_rate)
    })
}

fn main() {
    let ingest_spans: u64 = std::env::var("CAIRN_BENCH_INGEST_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let (http_rate, grpc_rate) = otlp_ingest(ingest_spans);
    println!(
        "OTLP ingest, {CLIENTS} exporters, 1,000-span protobuf exports, WAL fsync before each answer: HTTP {http_rate:.0} spans/s, gRPC {grpc_rate:.0} spans/s"
    );
    let spans: u64 = std::env::var("CAIRN_BENCH_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let traces = spans / SPANS_PER_TRACE;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    let clock = ManualClock::new((T0_NS / 1_000_000) as i64);
    let store = TraceStore::new(Arc::new(cfg), clock.clone());
    store.open_existing().expect("open");
    let tenant = TenantId::default_tenant();

    // 1. Fill: pushes of 100 traces (1,000 spans), the clock following the
    // data so that sealing happens as in production.
    println!("filling {traces} traces ({spans} spans) over 24 h ...");
    let mut push_time = Duration::ZERO;
    let mut seal_time = Duration::ZERO;
    let mut i = 0;
    while i < traces {
        let batch: Vec<ResourceSpans> = (i..(i + TRACES_PER_BATCH).min(traces))
            .map(|k| make_trace(k, traces))
            .collect();
        let t = Instant::now();
        store.push(&tenant, batch).expect("push");
        push_time += t.elapsed();
        i += TRACES_PER_BATCH;
        let now_ns = T0_NS + i * (DAY_NS / traces.max(1));
        clock.set((now_ns / 1_000_000) as i64);
        if i % (TRACES_PER_BATCH * 50) == 0 {
            let t = Instant::now();
            store.seal(false);
            seal_time += t.elapsed();
        }
    }
    clock.advance(3_600_000);
    let t = Instant::now();
    store.seal(true);
    seal_time += t.elapsed();
    let x = store.tenant(&tenant).expect("tenant");
    println!(
        "store ingest (one writer, WAL fsync per push): {:.0} spans/s; sealing and indexing {:.1} s in total ({:.0} spans/s); {} partitions, {:.1} MiB on disk",
        spans as f64 / push_time.as_secs_f64(),
        seal_time.as_secs_f64(),
        spans as f64 / seal_time.as_secs_f64(),
        x.partition_count(),
        store.disk_bytes() as f64 / (1 << 20) as f64
    );

    // 2. Trace by id over random ids.
    let mut lat = Vec::new();
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    for _ in 0..10_000 {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let id = trace_id(rng % traces);
        let t = Instant::now();
        let found = store.trace_by_id(&tenant, &id, None).expect("read");
        lat.push(t.elapsed());
        assert_eq!(
            found.map(|b| cairn::traces::model::span_count(&b) as u64),
            Some(SPANS_PER_TRACE)
        );
    }
    lat.sort();
    println!(
        "trace by id ({} spans stored, 10,000 random ids): p50 {} p99 {} max {}",
        spans,
        fmt(percentile(&lat, 0.5)),
        fmt(percentile(&lat, 0.99)),
        fmt(lat[lat.len() - 1])
    );

    // 3. Selective TraceQL searches over the whole 24 h, as /api/search runs
    // them (prefilter, scan, engine), stopping at Tempo's default limit 20.
    let queries = [
        r#"{ resource.service.name = "svc-17" && span.http.response.status_code = 503 }"#
            .to_string(),
        r#"{ status = error && name = "ingress.wait_ready" }"#.to_string(),
        format!(r#"{{ span.clone.id = "clone-{}" }}"#, traces / 3),
        r#"{ name = "POST /clone" && status = error } >> { name = "ingress.wait_ready" }"#
            .to_string(),
    ];
    for q in &queries {
        let query = cairn::traceql::parse(q).expect("query parses");
        let compiled = cairn::traceql::eval::compile(&query).expect("compiles");
        let req = ScanRequest {
            start_ns: T0_NS,
            end_ns: T0_NS + DAY_NS,
            prefilter: prefilter::from_query(&query),
        };
        let mut lat = Vec::new();
        let mut matched = 0;
        for _ in 0..20 {
            let t = Instant::now();
            matched = 0;
            store
                .scan(&tenant, &req, &mut |_, batches| {
                    let data = TraceData::new(batches);
                    if compiled.matches(&data) {
                        matched += 1;
                    }
                    if matched >= 20 {
                        ControlFlow::Break(())
                    } else {
                        ControlFlow::Continue(())
                    }
                })
                .expect("scan");
            lat.push(t.elapsed());
        }
        lat.sort();
        println!(
            "TraceQL over 24 h: {q}: {matched} traces, p50 {} p99 {}",
            fmt(percentile(&lat, 0.5)),
            fmt(percentile(&lat, 0.99))
        );
    }
    store.close();
}
