//! Crash safety: a child `cairn` is killed with SIGKILL while writes stream
//! in; after a restart every sample that got a 2xx is returned by queries.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::*;

fn spawn(dir: &std::path::Path, port: u16) -> Child {
    Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["serve", "--data-dir"])
        .arg(dir)
        .args([
            "--http-listen-address",
            &format!("127.0.0.1:{port}"),
            "--log-level",
            "warn",
            // Parallel tests must not collide on the OTLP ports.
            "--otlp-grpc-listen-address",
            "",
            "--otlp-http-listen-address",
            "",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn cairn")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_samples_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let client = reqwest::Client::new();
    let mut child = spawn(dir.path(), port);
    common::wait_ready(&client, port).await;

    const SERIES: usize = 20;
    let base = now_ms() - 600_000;
    let url = format!("http://127.0.0.1:{port}/api/v1/write");
    // Stream batches: batch k holds one sample per series at base + k ms with value k.
    let writer = {
        let client = client.clone();
        let url = url.clone();
        tokio::spawn(async move {
            let mut acked: Vec<i64> = Vec::new();
            for k in 0..100_000i64 {
                let ts: Vec<_> = (0..SERIES)
                    .map(|i| {
                        series(
                            "crash_test",
                            &[("series", &i.to_string())],
                            &[(base + k, k as f64)],
                        )
                    })
                    .collect();
                let res = client
                    .post(&url)
                    .header("Content-Encoding", "snappy")
                    .header("Content-Type", "application/x-protobuf")
                    .body(encode_v1(ts))
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().as_u16() == 204 => acked.push(k),
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => break, // the server died mid-request: not acknowledged
                }
            }
            acked
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().expect("SIGKILL"); // std's kill() sends SIGKILL on Unix
    let _ = child.wait();
    let acked = writer.await.unwrap();
    assert!(
        acked.len() > 10,
        "the writer got some acknowledgements before the kill ({})",
        acked.len()
    );

    let mut child = spawn(dir.path(), port);
    common::wait_ready(&client, port).await;
    let last = *acked.last().unwrap();
    let q = format!(
        "http://127.0.0.1:{port}/api/v1/query?query=crash_test[1h]&time={}",
        (base + last + 1) as f64 / 1000.0
    );
    let v: serde_json::Value = client.get(&q).send().await.unwrap().json().await.unwrap();
    let result = v["data"]["result"]
        .as_array()
        .expect("matrix result")
        .clone();
    assert_eq!(result.len(), SERIES, "{v}");
    for s in &result {
        let values = s["values"].as_array().unwrap();
        let got: std::collections::HashSet<i64> = values
            .iter()
            .map(|p| p[1].as_str().unwrap().parse::<f64>().unwrap() as i64)
            .collect();
        for k in &acked {
            assert!(
                got.contains(k),
                "acknowledged sample {k} of series {} lost after SIGKILL",
                s["metric"]["series"]
            );
        }
    }
    child.kill().ok();
    let _ = child.wait();
}
