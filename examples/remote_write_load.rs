//! A remote-write load driver: sends a Prometheus-like load (N active series,
//! one sample per series per round, rounds 15 s apart in sample time) to any
//! remote-write 1.0 URL — Cairn, Prometheus (`--web.enable-remote-write-receiver`)
//! or VictoriaMetrics — and reports samples/s and request latency.
//!
//! Request bodies are encoded before the clock starts, so the figure measures
//! the receiver, not this driver's protobuf and snappy work.
//!
//! ```sh
//! cargo run --release --example remote_write_load -- \
//!     --url http://127.0.0.1:3100/api/v1/write --series 100000 --rounds 40 --concurrency 8
//! ```

use std::time::{Duration, Instant};

use cairn::ingest::proto::prometheus as pb;
use prost::Message;

struct Args {
    url: String,
    series: usize,
    rounds: usize,
    batch: usize,
    concurrency: usize,
    tenant: Option<String>,
    /// Round number to start at, so runs can continue each other's series.
    first_round: usize,
    /// Sample time of round 0, in ms (default: three hours ago).
    start_ms: Option<i64>,
}

fn parse_args() -> Args {
    let mut a = Args {
        url: "http://127.0.0.1:3100/api/v1/write".into(),
        series: 100_000,
        rounds: 40,
        batch: 2000,
        concurrency: 8,
        tenant: None,
        first_round: 0,
        start_ms: None,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i + 1 < argv.len() + 1 {
        let Some(k) = argv.get(i) else { break };
        let v = argv.get(i + 1).cloned().unwrap_or_default();
        match k.as_str() {
            "--url" => a.url = v,
            "--series" => a.series = v.parse().unwrap_or(a.series),
            "--rounds" => a.rounds = v.parse().unwrap_or(a.rounds),
            "--batch" => a.batch = v.parse().unwrap_or(a.batch),
            "--concurrency" => a.concurrency = v.parse().unwrap_or(a.concurrency),
            "--tenant" => a.tenant = Some(v),
            "--first-round" => a.first_round = v.parse().unwrap_or(0),
            "--start-ms" => a.start_ms = v.parse().ok(),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    a
}

fn labels_for(i: usize) -> Vec<pb::Label> {
    let l = |n: &str, v: String| pb::Label {
        name: n.into(),
        value: v,
    };
    vec![
        l("__name__", format!("load_metric_{}_total", i % 50)),
        l("container", format!("c{}", i % 7)),
        l(
            "instance",
            format!("10.0.{}.{}:9100", (i / 250) % 256, i % 250),
        ),
        l("job", format!("job-{}", i % 10)),
        l(
            "namespace",
            if i.is_multiple_of(2) {
                "wordpress-staging".into()
            } else {
                "wordpress-production".into()
            },
        ),
        l("pod", format!("wp-clone-{}", i / 50)),
        l("series", i.to_string()),
    ]
}

fn main() {
    let a = parse_args();
    let labels: Vec<Vec<pb::Label>> = (0..a.series).map(labels_for).collect();
    let t0 = a.start_ms.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
            - 3 * 3_600_000
    });
    // Shard series over workers (as Prometheus' queue shards do), so each
    // series' samples arrive in order.
    let mut per_worker: Vec<Vec<Vec<u8>>> = vec![Vec::new(); a.concurrency];
    eprintln!("encoding {} rounds x {} series ...", a.rounds, a.series);
    let mut raw_bytes = 0usize;
    for r in a.first_round..a.first_round + a.rounds {
        let t = t0 + r as i64 * 15_000;
        for (w, bodies) in per_worker.iter_mut().enumerate() {
            let ids: Vec<usize> = (w..a.series).step_by(a.concurrency).collect();
            for chunk in ids.chunks(a.batch) {
                let ts: Vec<pb::TimeSeries> = chunk
                    .iter()
                    .map(|&i| pb::TimeSeries {
                        labels: labels[i].clone(),
                        samples: vec![pb::Sample {
                            value: (r * 10 + i % 10) as f64,
                            timestamp: t,
                        }],
                        ..Default::default()
                    })
                    .collect();
                let raw = pb::WriteRequest {
                    timeseries: ts,
                    metadata: vec![],
                }
                .encode_to_vec();
                raw_bytes += raw.len();
                bodies.push(
                    snap::raw::Encoder::new()
                        .compress_vec(&raw)
                        .unwrap_or_default(),
                );
            }
        }
    }
    let total_samples = a.series * a.rounds;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let client = reqwest::Client::new();
    let started = Instant::now();
    let results: Vec<(Vec<Duration>, usize)> = rt.block_on(async {
        let mut handles = Vec::new();
        for bodies in per_worker {
            let client = client.clone();
            let url = a.url.clone();
            let tenant = a.tenant.clone();
            handles.push(tokio::spawn(async move {
                let mut lat = Vec::with_capacity(bodies.len());
                let mut failures = 0;
                for b in bodies {
                    let s = Instant::now();
                    let mut rb = client
                        .post(&url)
                        .header("Content-Encoding", "snappy")
                        .header("Content-Type", "application/x-protobuf")
                        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
                        .body(b);
                    if let Some(t) = &tenant {
                        rb = rb.header("X-Scope-OrgID", t);
                    }
                    match rb.send().await {
                        Ok(r) if r.status().is_success() => {}
                        Ok(r) => {
                            failures += 1;
                            if failures <= 3 {
                                eprintln!(
                                    "status {}: {}",
                                    r.status(),
                                    r.text().await.unwrap_or_default()
                                );
                            }
                        }
                        Err(e) => {
                            failures += 1;
                            if failures <= 3 {
                                eprintln!("error: {e}");
                            }
                        }
                    }
                    lat.push(s.elapsed());
                }
                (lat, failures)
            }));
        }
        let mut out = Vec::new();
        for h in handles {
            if let Ok(r) = h.await {
                out.push(r);
            }
        }
        out
    });
    let elapsed = started.elapsed();
    let mut lat: Vec<Duration> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    let failures: usize = results.iter().map(|r| r.1).sum();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "sent {total_samples} samples in {} requests ({:.1} MB protobuf) in {:.2}s: {:.0} samples/s; latency p50 {:?} p99 {:?}; failures {failures}",
        lat.len(),
        raw_bytes as f64 / 1e6,
        elapsed.as_secs_f64(),
        total_samples as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
    );
}
