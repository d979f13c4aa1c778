//! Shared helpers for the in-process and child-process server tests:
//! start a server on an ephemeral port, build and send remote-write requests.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn::config::Config;
use cairn::ingest::proto::prometheus as pb;
use cairn::server::state::SharedState;
use prost::Message;

pub struct TestServer {
    pub addr: SocketAddr,
    pub state: SharedState,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.state.metrics.close();
        self.state.logs.close();
        self.state.traces.close();
    }
}

/// Starts Cairn in-process with a temporary data dir; `tweak` edits the config.
pub async fn start(tweak: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().expect("tempdir");
    start_in(dir, tweak).await
}

pub async fn start_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Config)) -> TestServer {
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    tweak(&mut cfg);
    let state =
        cairn::server::build_state(Arc::new(cfg), Arc::new(cairn::storage::clock::SystemClock));
    cairn::server::open_stores(state.clone())
        .await
        .expect("open stores");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = cairn::server::router(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    TestServer {
        addr,
        state,
        dir,
        client: reqwest::Client::new(),
        shutdown: Some(tx),
    }
}

pub fn series(name: &str, labels: &[(&str, &str)], samples: &[(i64, f64)]) -> pb::TimeSeries {
    let mut l = vec![pb::Label {
        name: "__name__".into(),
        value: name.into(),
    }];
    l.extend(labels.iter().map(|(n, v)| pb::Label {
        name: n.to_string(),
        value: v.to_string(),
    }));
    pb::TimeSeries {
        labels: l,
        samples: samples
            .iter()
            .map(|(t, v)| pb::Sample {
                timestamp: *t,
                value: *v,
            })
            .collect(),
        ..Default::default()
    }
}

pub fn encode_v1(ts: Vec<pb::TimeSeries>) -> Vec<u8> {
    let req = pb::WriteRequest {
        timeseries: ts,
        metadata: vec![],
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .expect("snappy")
}

/// Sends a remote-write 1.0 request; returns status and body.
pub async fn write_v1(
    client: &reqwest::Client,
    url: &str,
    ts: Vec<pb::TimeSeries>,
    tenant: Option<&str>,
) -> (u16, String) {
    let mut rb = client
        .post(url)
        .header("Content-Type", "application/x-protobuf")
        .header("Content-Encoding", "snappy")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(encode_v1(ts));
    if let Some(t) = tenant {
        rb = rb.header("X-Scope-OrgID", t);
    }
    let resp = rb.send().await.expect("send");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

/// GET a JSON endpoint; returns status and parsed body.
pub async fn get_json(client: &reqwest::Client, url: &str) -> (u16, serde_json::Value) {
    let resp = client.get(url).send().await.expect("send");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A TCP port that was free a moment ago (for child processes).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Waits (up to a minute) until a child `cairn` on `port` answers `/ready` with 200.
pub async fn wait_ready(client: &reqwest::Client, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{port}/ready"))
            .send()
            .await
        {
            if r.status() == 200 {
                return;
            }
        }
        assert!(Instant::now() < deadline, "cairn did not become ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A child process killed (and reaped) when dropped.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The repository's root (where `deploy/` and `docs/` are).
pub fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Starts the `cairn` binary on `127.0.0.1:port` with data in `data_dir`
/// (and `config`, if any), without the OTLP ports so that parallel tests
/// cannot collide on 4317/4318; stdout is dropped, stderr kept.
pub fn spawn_cairn(
    config: Option<&std::path::Path>,
    data_dir: &std::path::Path,
    port: u16,
) -> KillOnDrop {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cairn"));
    cmd.arg("serve");
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    let child = cmd
        .arg("--data-dir")
        .arg(data_dir)
        .args([
            "--http-listen-address",
            &format!("127.0.0.1:{port}"),
            "--otlp-grpc-listen-address",
            "",
            "--otlp-http-listen-address",
            "",
            "--log-level",
            "warn",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start cairn");
    KillOnDrop(child)
}

/// Waits (up to a minute) until `url` answers a 2xx; `what` names it in
/// the failure.
pub async fn wait_http_ok(client: &reqwest::Client, url: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(url).send().await {
            if r.status().is_success() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not become ready at {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
