//! In-process HTTP tests of the Loki query API's routing and request
//! handling: GET and form POST parameters, Loki's plain-text 400s, 404 for
//! unknown paths, and the `tail` websocket handshake. (Endpoints with data
//! are covered by the unit tests over an in-memory source.)

use std::sync::Arc;

use cairn::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Server {
    addr: std::net::SocketAddr,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

async fn start() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    let state =
        cairn::server::build_state(Arc::new(cfg), Arc::new(cairn::storage::clock::SystemClock));
    let app = cairn::api::loki::routes().with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    Server {
        addr,
        client: reqwest::Client::new(),
        _dir: dir,
        _stop: tx,
    }
}

async fn get(s: &Server, path: &str) -> (u16, String, String) {
    let r = s.client.get(s.url(path)).send().await.expect("send");
    let code = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    (code, ct, r.text().await.unwrap_or_default())
}

#[tokio::test]
async fn buildinfo_and_empty_metadata() {
    let s = start().await;
    let (code, ct, body) = get(&s, "/loki/api/v1/status/buildinfo").await;
    assert_eq!(
        (code, ct.as_str()),
        (200, "application/json; charset=UTF-8")
    );
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["version"], "3.5.0");
    assert_eq!(
        get(&s, "/loki/api/v1/labels").await.2,
        "{\"status\":\"success\"}\n"
    );
    assert_eq!(
        get(&s, "/loki/api/v1/label/app/values?start=0").await.2,
        "{\"status\":\"success\"}\n"
    );
    assert_eq!(
        get(
            &s,
            "/loki/api/v1/index/stats?query=%7Bapp%3D%22a%22%7D&start=0&end=10"
        )
        .await
        .2,
        "{\"streams\":0,\"chunks\":0,\"bytes\":0,\"entries\":0}\n"
    );
    assert_eq!(
        get(&s, "/loki/api/v1/patterns?query=%7Bapp%3D%22a%22%7D")
            .await
            .2,
        "{\"status\":\"success\",\"data\":[]}\n"
    );
    assert_eq!(get(&s, "/api/prom/label").await.2, "{\"values\":[]}\n");
}

#[tokio::test]
async fn bad_parameters_are_plain_text_400s() {
    let s = start().await;
    let (code, ct, body) = get(
        &s,
        "/loki/api/v1/query_range?query=%7Ba%3D%22b%22%7D&start=soon",
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(ct, "text/plain; charset=utf-8");
    assert_eq!(
        body,
        "could not parse 'start' parameter: strconv.ParseInt: parsing \"soon\": invalid syntax\n"
    );
    let (code, _, body) = get(&s, "/loki/api/v1/query_range?query=%7Ba%3D").await;
    assert_eq!(code, 400);
    assert!(body.starts_with("parse error at line 1, col "), "{body}");
    // Form-encoded POST: the body's parameters count.
    let r = s
        .client
        .post(s.url("/loki/api/v1/query"))
        .form(&[("query", "vector(1)"), ("direction", "up")])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(
        r.text().await.unwrap_or_default(),
        "invalid direction 'up'\n"
    );
    let r = s
        .client
        .post(s.url("/loki/api/v1/series"))
        .form(&[("match[]", "{app=\"x\"}"), ("start", "0"), ("end", "1")])
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.text().await.unwrap_or_default(),
        "{\"status\":\"success\",\"data\":[]}\n"
    );
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let s = start().await;
    let (code, _, body) = get(&s, "/loki/api/v1/no_such_thing").await;
    assert_eq!((code, body.as_str()), (404, "404 page not found\n"));
}

/// A raw websocket handshake (no client library): the 101 and its headers.
async fn ws_handshake(s: &Server, path: &str) -> String {
    let mut sock = tokio::net::TcpStream::connect(s.addr)
        .await
        .expect("connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        s.addr
    );
    sock.write_all(req.as_bytes()).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = sock.read(&mut buf).await.expect("read");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[tokio::test]
async fn tail_upgrades_to_a_websocket() {
    let s = start().await;
    let head = ws_handshake(&s, "/loki/api/v1/tail?query=%7Bapp%3D%22a%22%7D").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // The accept key for the RFC 6455 sample nonce.
    assert!(head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), "{head}");
    let head = ws_handshake(
        &s,
        "/loki/api/v1/tail?query=%7Bapp%3D%22a%22%7D&delay_for=9",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
    assert!(
        head.ends_with("delay_for can't be greater than 5\n"),
        "{head}"
    );
}
