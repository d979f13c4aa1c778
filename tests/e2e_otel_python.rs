//! End to end with the real OpenTelemetry Python SDK (PyPI
//! `opentelemetry-sdk` and the OTLP gRPC and HTTP exporters, installed by
//! `.ci/run`): `tests/e2e/otel_python/wp_k8s_service.py` runs two `/clone`
//! workflows against a real `cairn` binary — traces over gRPC and over
//! HTTP, logs over gRPC, metrics over HTTP, all for one tenant — and the
//! test then finds each trace by id (Tempo protobuf) and by TraceQL, the
//! logs by LogQL with the trace id, and the metrics by PromQL.
//!
//! Run with `cargo test --test e2e_otel_python -- --ignored`; it fails
//! (never skips) when Python or the SDK is missing.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::trace::v1::TracesData;
use prost::Message;
use serde_json::Value;

const TENANT: &str = "wp-platform";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

struct Server {
    child: Child,
    http: u16,
    grpc: u16,
    otlp_http: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (http, grpc, otlp_http) = (free_port(), free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["serve", "--data-dir"])
        .arg(dir.path())
        .args([
            "--http-listen-address",
            &format!("127.0.0.1:{http}"),
            "--log-level",
            "warn",
        ])
        .env(
            "CAIRN_OTLP__GRPC_LISTEN_ADDRESS",
            format!("127.0.0.1:{grpc}"),
        )
        .env(
            "CAIRN_OTLP__HTTP_LISTEN_ADDRESS",
            format!("127.0.0.1:{otlp_http}"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn cairn");
    Server {
        child,
        http,
        grpc,
        otlp_http,
        _dir: dir,
    }
}

fn get(client: &reqwest::blocking::Client, url: &str, accept: &str) -> (u16, Vec<u8>) {
    match client
        .get(url)
        .header("X-Scope-OrgID", TENANT)
        .header("Accept", accept)
        .send()
    {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.bytes().map(|b| b.to_vec()).unwrap_or_default())
        }
        Err(_) => (0, Vec::new()),
    }
}

/// Polls `f` until it returns `Some` (data becomes visible as soon as it
/// is acknowledged, but the exporters batch in the background).
fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(x) = f() {
            return x;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn url_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[test]
#[ignore = "needs Python 3 with opentelemetry-sdk and the OTLP exporters (run by .ci/run)"]
fn python_sdk_traces_logs_and_metrics_are_found_by_every_query_language() {
    let srv = start();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{}", srv.http);
    eventually("cairn ready", || {
        (get(&client, &format!("{base}/ready"), "*/*").0 == 200).then_some(())
    });

    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/e2e/otel_python/wp_k8s_service.py"
    );
    let run = format!("run{}", std::process::id());
    let out = Command::new("python3")
        .arg(script)
        .args(["--grpc", &format!("127.0.0.1:{}", srv.grpc)])
        .args(["--http", &format!("http://127.0.0.1:{}", srv.otlp_http)])
        .args(["--tenant", TENANT, "--run", &run])
        .stderr(Stdio::inherit())
        .output()
        .expect("python3 must be installed for this test");
    assert!(out.status.success(), "the Python SDK script failed");
    let ids: Value = serde_json::from_slice(&out.stdout).expect("trace ids as JSON");
    let grpc_id = ids["grpc"].as_str().unwrap().to_string();
    let http_id = ids["http"].as_str().unwrap().to_string();
    assert_ne!(grpc_id, http_id);

    // 1. Each trace by id, as Grafana asks for it (protobuf).
    for (id, transport) in [(&grpc_id, "grpc"), (&http_id, "http")] {
        let trace = eventually(&format!("trace {id}"), || {
            let (status, body) = get(
                &client,
                &format!("{base}/api/traces/{id}"),
                "application/protobuf",
            );
            (status == 200).then_some(body)
        });
        let trace = TracesData::decode(trace.as_slice()).expect("tempopb.Trace");
        let mut names: Vec<(String, i32)> = trace
            .resource_spans
            .iter()
            .flat_map(|rs| &rs.scope_spans)
            .flat_map(|ss| &ss.spans)
            .map(|s| {
                (
                    s.name.clone(),
                    s.status.as_ref().map(|x| x.code).unwrap_or(0),
                )
            })
            .collect();
        names.sort();
        let error = if transport == "http" { 2 } else { 0 };
        assert_eq!(
            names,
            vec![
                ("POST /clone".to_string(), error),
                ("ingress.wait_ready".to_string(), error),
                ("k8s.api create_pod".to_string(), 0),
                ("pod.create".to_string(), 0),
            ],
            "spans of the {transport} trace"
        );
    }

    // 2. TraceQL: the failed clone by its attributes and the structure.
    let q = format!(
        r#"{{ resource.service.name = "wp-k8s-service" && span.clone.id = "{run}-http" }} >> {{ name = "ingress.wait_ready" && status = error }}"#
    );
    let found = eventually("TraceQL search", || {
        let (status, body) = get(
            &client,
            &format!(
                "{base}/api/search?q={}&start=0&end=4000000000",
                url_encode(&q)
            ),
            "application/json",
        );
        if status != 200 {
            return None;
        }
        let v: Value = serde_json::from_slice(&body).ok()?;
        let traces = v["traces"].as_array()?.clone();
        (!traces.is_empty()).then_some(traces)
    });
    assert_eq!(found.len(), 1, "only the failed clone matches: {found:?}");
    assert_eq!(
        found[0]["traceID"]
            .as_str()
            .unwrap()
            .trim_start_matches('0'),
        http_id.trim_start_matches('0')
    );
    assert_eq!(found[0]["rootServiceName"], "wp-k8s-service");
    assert_eq!(found[0]["rootTraceName"], "POST /clone");

    // 3. LogQL: the logs of the failed clone by its trace id.
    let logql = format!(r#"{{service_name="wp-k8s-service"}} | trace_id="{http_id}""#);
    let lines = eventually("logs by trace id", || {
        let (status, body) = get(
            &client,
            &format!(
                "{base}/loki/api/v1/query_range?query={}&start=0&limit=100",
                url_encode(&logql)
            ),
            "application/json",
        );
        if status != 200 {
            return None;
        }
        let v: Value = serde_json::from_slice(&body).ok()?;
        let mut lines: Vec<String> = v["data"]["result"]
            .as_array()?
            .iter()
            .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
            .filter_map(|e| e[1].as_str().map(String::from))
            .collect();
        lines.sort();
        (lines.len() >= 3).then_some(lines)
    });
    assert_eq!(
        lines,
        vec![
            format!("clone {run}-http failed: ingress not ready"),
            format!("clone {run}-http requested"),
            format!("pod wp-{run}-http created"),
        ]
    );

    // 4. PromQL: the counter and the histogram, with job/instance from the
    // resource.
    let prom = |q: &str| -> Option<Vec<Value>> {
        let (status, body) = get(
            &client,
            &format!("{base}/api/v1/query?query={}", url_encode(q)),
            "application/json",
        );
        if status != 200 {
            return None;
        }
        let v: Value = serde_json::from_slice(&body).ok()?;
        let r = v["data"]["result"].as_array()?.clone();
        (!r.is_empty()).then_some(r)
    };
    let counter = eventually("clones_created_total", || prom("clones_created_total"));
    assert_eq!(counter.len(), 1, "{counter:?}");
    assert_eq!(counter[0]["value"][1], "2");
    assert_eq!(counter[0]["metric"]["job"], "wp-platform/wp-k8s-service");
    assert_eq!(
        counter[0]["metric"]["instance"],
        "wp-k8s-service-7d9f-abcde"
    );
    let count = eventually("histogram count", || {
        prom("sum(clone_provisioning_duration_seconds_count)")
    });
    assert_eq!(count[0]["value"][1], "2");
    let p95 = eventually("histogram quantile", || {
        prom("histogram_quantile(0.95, sum by (le) (clone_provisioning_duration_seconds_bucket))")
    });
    let v: f64 = p95[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(v > 0.0 && v < 10.0, "p95 provisioning time {v}");
    let info = eventually("target_info", || prom("target_info"));
    assert_eq!(info[0]["metric"]["k8s_namespace_name"], "wordpress-staging");
}
