//! Crash safety of the trace store: a child `cairn` is killed with SIGKILL
//! while four writers export traces over OTLP/HTTP (and idle traces are
//! sealed into partitions meanwhile); after a restart every span of every
//! acknowledged export is there.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use cairn::model::TenantId;
use cairn::traces::TraceStore;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;

const SPANS_PER_TRACE: usize = 5;

fn spawn(dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args([
            "--http-listen-address",
            &format!("127.0.0.1:{port}"),
            "--log-level",
            "warn",
        ])
        .env("CAIRN_OTLP__GRPC_LISTEN_ADDRESS", "127.0.0.1:0")
        .env("CAIRN_OTLP__HTTP_LISTEN_ADDRESS", "127.0.0.1:0")
        // Traces are complete after 1 s and sealed at once: partitions are
        // written while the writers run.
        .env("CAIRN_TRACES__TRACE_IDLE_TIMEOUT", "1s")
        .env("CAIRN_TRACES__MAX_HEAD_AGE", "0s")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn cairn")
}

fn trace_id(w: u64, k: u64) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&(w + 1).to_be_bytes());
    id[8..].copy_from_slice(&(k + 1).to_be_bytes());
    id
}

fn export(w: u64, k: u64, now_ns: u64) -> Vec<u8> {
    let tid = trace_id(w, k);
    let spans = (0..SPANS_PER_TRACE as u64)
        .map(|j| Span {
            trace_id: tid.to_vec(),
            span_id: (j + 1).to_be_bytes().to_vec(),
            parent_span_id: if j == 0 {
                vec![]
            } else {
                1u64.to_be_bytes().to_vec()
            },
            name: if j == 0 {
                "POST /clone".into()
            } else {
                format!("step-{j}")
            },
            kind: 2,
            start_time_unix_nano: now_ns + j * 1000,
            end_time_unix_nano: now_ns + j * 1000 + 500_000,
            attributes: vec![KeyValue {
                key: "padding".into(),
                value: Some(AnyValue {
                    value: Some(any_value::Value::StringValue("p".repeat(200))),
                }),
                ..Default::default()
            }],
            ..Default::default()
        })
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![KeyValue {
                    key: "service.name".into(),
                    value: Some(AnyValue {
                        value: Some(any_value::Value::StringValue("wp-k8s-service".into())),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                spans,
                ..Default::default()
            }],
            schema_url: String::new(),
        }],
    }
    .encode_to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_spans_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let client = reqwest::Client::new();
    let mut child = spawn(dir.path(), port);
    common::wait_ready(&client, port).await;
    let url = format!("http://127.0.0.1:{port}/v1/traces");
    let now_ns = (common::now_ms() as u64) * 1_000_000;
    let mut writers = Vec::new();
    for w in 0..4u64 {
        let client = client.clone();
        let url = url.clone();
        writers.push(tokio::spawn(async move {
            let mut acked: Vec<(u64, u64)> = Vec::new();
            for k in 0..1_000_000u64 {
                let res = client
                    .post(&url)
                    .header("Content-Type", "application/x-protobuf")
                    .body(export(w, k, now_ns + k * 1_000_000))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().as_u16() == 200 => acked.push((w, k)),
                    Ok(r) if r.status().as_u16() == 429 || r.status().as_u16() == 503 => {
                        tokio::time::sleep(Duration::from_millis(100)).await
                    }
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => break, // the server died mid-request: not acknowledged
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(4000)).await;
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.unwrap());
    }
    assert!(
        acked.len() > 200,
        "writers got acknowledgements before the kill ({})",
        acked.len()
    );

    // Reopen the store on the same directory and read every trace back.
    let mut cfg = cairn::config::Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    let store = TraceStore::new(Arc::new(cfg), Arc::new(cairn::storage::clock::SystemClock));
    store.open_existing().unwrap();
    let tenant = TenantId::default_tenant();
    let x = store.tenant(&tenant).unwrap();
    assert!(
        x.partition_count() >= 1,
        "the run sealed partitions before the kill"
    );
    for (w, k) in &acked {
        let t = store
            .trace_by_id(&tenant, &trace_id(*w, *k), None)
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged trace {w}/{k} lost"));
        assert_eq!(
            cairn::traces::model::span_count(&t),
            SPANS_PER_TRACE,
            "acknowledged trace {w}/{k} incomplete"
        );
    }
    store.close();
}
