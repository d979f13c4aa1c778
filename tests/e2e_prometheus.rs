//! End to end with the real Prometheus (Debian package `prometheus`, started
//! by this test, installed by `.ci/run`): Prometheus scrapes itself and
//! remote-writes to Cairn; the same range queries asked of both must return
//! the same series and values. Ignored in the plain test run because it
//! needs the binary; `.ci/run` runs it with `--ignored`, and it fails (never
//! skips) when Prometheus is missing.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

type SeriesMap = BTreeMap<String, Vec<(f64, f64)>>;

async fn range(
    client: &reqwest::Client,
    base: &str,
    q: &str,
    start: f64,
    end: f64,
    step: f64,
) -> SeriesMap {
    let resp = client
        .post(format!("{base}/api/v1/query_range"))
        .form(&[
            ("query", q.to_string()),
            ("start", start.to_string()),
            ("end", end.to_string()),
            ("step", step.to_string()),
        ])
        .send()
        .await
        .expect("query");
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["status"], "success", "{base} {q}: {v}");
    let mut out = SeriesMap::new();
    for s in v["data"]["result"].as_array().expect("matrix") {
        let key = s["metric"].to_string();
        let pts = s["values"]
            .as_array()
            .expect("values")
            .iter()
            .map(|p| {
                (
                    p[0].as_f64().expect("ts"),
                    p[1].as_str().expect("val").parse::<f64>().expect("float"),
                )
            })
            .collect();
        out.insert(key, pts);
    }
    out
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the prometheus binary; run by .ci/run with --ignored"]
async fn prometheus_remote_write_matches_prometheus_queries() {
    let bin = std::env::var("PROMETHEUS_BIN").unwrap_or_else(|_| "prometheus".into());
    let cairn = start(|_| {}).await;
    let prom_port = free_port();
    let work = tempfile::tempdir().unwrap();
    let cfg = format!(
        r#"global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:{prom_port}"]
remote_write:
  - url: "http://{}/api/v1/write"
    queue_config:
      batch_send_deadline: 500ms
      max_samples_per_send: 2000
"#,
        cairn.addr
    );
    std::fs::write(work.path().join("prometheus.yml"), cfg).unwrap();
    let mut prom = Command::new(&bin)
        .arg(format!(
            "--config.file={}",
            work.path().join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            work.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {bin} (install the Debian package `prometheus`): {e}")
        });
    let client = reqwest::Client::new();
    let prom_url = format!("http://127.0.0.1:{prom_port}");

    // Wait for Prometheus to be up, so the window below starts well after its
    // first scrape even on a slow machine.
    let up_deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{prom_url}/-/ready")).send().await {
            if r.status().is_success() {
                break;
            }
        }
        assert!(
            Instant::now() < up_deadline,
            "Prometheus did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let a window of scrapes accumulate and be remote-written.
    let started = Instant::now();
    // The window (minus the longest range below, 10s) starts well after
    // Prometheus' own series begin: where a counter starts inside a rate's
    // range, Prometheus 2.x (the Debian package) and 3.x (whose semantics
    // Cairn follows) extrapolate differently, by design of 3.0.
    tokio::time::sleep(Duration::from_secs(32)).await;
    let end = (now_ms() - 4_000) as f64 / 1000.0;
    let end = end.floor() + 0.001; // off the whole second, away from scrape timestamps
    let start = end - 12.0;
    // Wait until Cairn has everything up to the window's end.
    loop {
        let v = get_json(
            &client,
            &cairn.url(&format!(
                "/api/v1/query?query=timestamp(up)&time={}",
                end + 3.0
            )),
        )
        .await
        .1;
        let latest = v["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .unwrap_or(0.0);
        if latest >= end {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "remote write did not catch up: {v}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let queries = [
        "up",
        "prometheus_http_requests_total",
        "rate(prometheus_http_requests_total[5s])",
        "sum by (handler) (rate(prometheus_http_requests_total[5s]))",
        "histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[10s])))",
        "sum(prometheus_tsdb_head_series)",
        "max_over_time(scrape_duration_seconds[5s])",
        "topk(3, prometheus_http_requests_total)",
    ];
    let mut compared = 0;
    for q in queries {
        let want = range(&client, &prom_url, q, start, end, 1.0).await;
        let got = range(&client, &cairn.url(""), q, start, end, 1.0).await;
        assert!(!want.is_empty(), "Prometheus returned nothing for {q}");
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>(),
            "series differ for {q}"
        );
        for (k, w) in &want {
            let g = &got[k];
            assert_eq!(
                g.len(),
                w.len(),
                "{q} {k}: point count {} vs Prometheus {}",
                g.len(),
                w.len()
            );
            for (a, b) in g.iter().zip(w) {
                if !(a.0 == b.0 && close(a.1, b.1)) {
                    // Show the raw samples both sides hold around the point.
                    let raw_q = "prometheus_http_requests_total{handler=\"/metrics\"}[12s]";
                    let url =
                        |base: &str| format!("{base}/api/v1/query?query={}&time={}", raw_q, a.0);
                    let pr = get_json(&client, &url(&prom_url)).await.1;
                    let cr = get_json(&client, &url(&cairn.url(""))).await.1;
                    panic!("{q} {k}: Cairn {a:?} vs Prometheus {b:?}\nraw Prometheus: {pr}\nraw Cairn: {cr}");
                }
                compared += 1;
            }
        }
    }
    assert!(compared > 100, "compared {compared} points");
    let _ = prom.kill();
    let _ = prom.wait();
}
