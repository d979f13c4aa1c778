//! The `cairn` command line as a user runs it: `check-config` on good and
//! bad files, and a graceful SIGTERM that flushes the WAL and exits 0.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn cairn() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
}

#[test]
fn check_config_prints_effective_config_or_names_the_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.yaml");
    std::fs::write(
        &good,
        "retention:\n  metrics: 30d\nstorage:\n  fsync: interval\n",
    )
    .unwrap();
    let out = cairn().arg("check-config").arg(&good).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("metrics: 30d"), "{text}");
    assert!(
        text.contains("logs: 7d"),
        "defaults are printed too: {text}"
    );
    assert!(text.contains("fsync: interval"), "{text}");

    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "storage:\n  data_dri: /x\n").unwrap();
    let out = cairn().arg("check-config").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("storage") && err.contains("data_dri"), "{err}");

    let out = cairn()
        .arg("check-config")
        .arg(dir.path().join("missing.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let mut child = cairn()
        .args(["--data-dir"])
        .arg(dir.path())
        .args([
            "--http-listen-address",
            &format!("127.0.0.1:{port}"),
            "--log-format",
            "json",
            // Parallel tests must not collide on the OTLP ports.
            "--otlp-grpc-listen-address",
            "",
            "--otlp-http-listen-address",
            "",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "cairn did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "cairn did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(exit.success(), "exit {exit:?}: {stderr}");
    assert!(
        stderr.contains("write-ahead logs flushed and closed"),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .all(|l| l.trim().is_empty() || l.starts_with('{')),
        "JSON logs: {stderr}"
    );
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// One HTTP/1.1 request; returns the status line.
fn post_status(port: u16, path: &str, content_type: &str, body: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.lines().next().map(str::to_string)
}

#[test]
fn otlp_ports_from_flags_and_a_taken_port_is_a_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let (http, otlp_http, otlp_grpc) = (free_port(), free_port(), free_port());
    let mut child = cairn()
        .args(["--data-dir"])
        .arg(dir.path())
        .args([
            "--http-listen-address",
            &format!("127.0.0.1:{http}"),
            "--otlp-http-listen-address",
            &format!("127.0.0.1:{otlp_http}"),
            "--otlp-grpc-listen-address",
            &format!("127.0.0.1:{otlp_grpc}"),
            "--log-level",
            "warn",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    // 503 while the stores open, then 200 with an empty export response.
    let status = loop {
        let s = post_status(otlp_http, "/v1/traces", "application/json", "{}");
        if s.as_deref() == Some("HTTP/1.1 200 OK") || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.as_deref(), Some("HTTP/1.1 200 OK"));
    assert_eq!(
        post_status(otlp_http, "/v1/traces", "text/plain", "x").as_deref(),
        Some("HTTP/1.1 415 Unsupported Media Type")
    );
    assert_eq!(
        post_status(http, "/v1/logs", "application/json", "{}").as_deref(),
        Some("HTTP/1.1 200 OK"),
        "the main port serves OTLP too"
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", otlp_grpc)).is_ok());
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "cairn did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");

    // A port already taken stops the start with the setting's name.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = cairn()
        .args(["--data-dir"])
        .arg(dir.path())
        .args([
            "--http-listen-address",
            &format!("127.0.0.1:{}", free_port()),
            "--otlp-http-listen-address",
            "",
            "--otlp-grpc-listen-address",
            &addr,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "cannot listen on {addr} (otlp.grpc_listen_address)"
        )),
        "{err}"
    );
}
