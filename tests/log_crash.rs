//! Crash safety of the log store: a child `cairn` is killed with SIGKILL
//! while four writers push lines (and small heads are being sealed into
//! partitions meanwhile); after a restart every acknowledged line is there
//! exactly once.

mod common;

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use cairn::logs::{LogStore, SelectRequest};
use cairn::model::{MatchOp, Matcher, TenantId};

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
        // Small heads: partitions are sealed while the writers run.
        .env("CAIRN_LOGS__MAX_HEAD_BYTES", "1MiB")
        .env("CAIRN_LOGS__CHUNK_TARGET_BYTES", "64KiB")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn cairn")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_lines_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let client = reqwest::Client::new();
    let mut child = spawn(dir.path(), port);
    common::wait_ready(&client, port).await;
    let url = format!("http://127.0.0.1:{port}/loki/api/v1/push");
    let base_ns = common::now_ms() * 1_000_000;
    let padding = "p".repeat(400);
    let mut writers = Vec::new();
    for w in 0..4 {
        let client = client.clone();
        let url = url.clone();
        let padding = padding.clone();
        writers.push(tokio::spawn(async move {
            let mut acked: Vec<String> = Vec::new();
            for k in 0..1_000_000u64 {
                let ids: Vec<String> = (0..20).map(|j| format!("w{w}-{k}-{j}")).collect();
                let values: Vec<serde_json::Value> = ids
                    .iter()
                    .enumerate()
                    .map(|(j, id)| {
                        serde_json::json!([
                            (base_ns + (k * 20 + j as u64) as i64).to_string(),
                            format!("id={id} {padding}")
                        ])
                    })
                    .collect();
                let body = serde_json::json!({"streams": [{
                    "stream": {"namespace": "wordpress-staging", "writer": w.to_string()},
                    "values": values
                }]});
                let res = client
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .body(body.to_string())
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().as_u16() == 204 => acked.extend(ids),
                    Ok(r) if r.status().as_u16() == 429 => {
                        tokio::time::sleep(Duration::from_millis(100)).await
                    }
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => break, // the server died mid-request: not acknowledged
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(3000)).await;
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let mut acked = Vec::new();
    for w in writers {
        acked.extend(w.await.unwrap());
    }
    assert!(
        acked.len() > 1000,
        "writers got acknowledgements before the kill ({})",
        acked.len()
    );

    // Restart the store on the same directory and read everything back.
    let mut cfg = cairn::config::Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    let store = LogStore::new(Arc::new(cfg), Arc::new(cairn::storage::clock::SystemClock));
    store.open_existing().unwrap();
    let m = vec![Matcher::new(MatchOp::Equal, "namespace", "wordpress-staging").unwrap()];
    let mut count: HashMap<String, usize> = HashMap::new();
    store
        .source(&TenantId::default_tenant())
        .select(
            &SelectRequest {
                matchers: &m,
                start_ns: 0,
                end_ns: i64::MAX,
                filter: None,
            },
            &mut |_, es| {
                for e in es {
                    let id = e
                        .line
                        .split(' ')
                        .next()
                        .unwrap_or("")
                        .trim_start_matches("id=");
                    *count.entry(id.to_string()).or_default() += 1;
                }
                ControlFlow::Continue(())
            },
        )
        .unwrap();
    let partitions: usize = store.all().iter().map(|x| x.partition_count()).sum();
    assert!(partitions >= 1, "the run sealed partitions before the kill");
    for id in &acked {
        assert_eq!(
            count.get(id),
            Some(&1),
            "acknowledged line {id} lost or duplicated"
        );
    }
    store.close();
}
