//! Log store load driver: Loki push throughput (JSON and snappy protobuf,
//! four concurrent clients, bodies built before the clock starts), bytes on
//! disk per raw byte after sealing and indexing, and query latency over the
//! stored data through the Loki HTTP API:
//! `{namespace="wordpress-staging"} |= "<needle>"` and
//! `sum by (pod) (count_over_time({namespace=~"wordpress-.*"} |= "error" [5m]))`.
//!
//! Data: realistic Kubernetes container logs as Fluent Bit's `loki` output
//! sends them (JSON lines with time, stream, namespace, pod, container and
//! the message: nginx access lines, PHP and WordPress messages, request
//! ids), 8 namespaces × 12 pods, spread over six hours.
//!
//! `cargo bench --bench logs` (1 GiB); `CAIRN_BENCH_LOG_MB=256` for less.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn::config::Config;
use cairn::ingest::proto::logproto;
use prost::Message;

const NAMESPACES: [&str; 8] = [
    "wordpress-staging",
    "wordpress-production",
    "kube-system",
    "karpenter",
    "monitoring",
    "ingress-nginx",
    "wp-k8s-service",
    "cert-manager",
];
const PODS_PER_NS: usize = 12;
const NEEDLE: &str = "needle-7f3a9c21";
const SPAN_NS: i64 = 6 * 3600 * 1_000_000_000;

/// One line in this many carries the needle (about one per 100 MB).
const NEEDLE_EVERY: u64 = 300_000;

fn is_needle_line(i: u64) -> bool {
    i % NEEDLE_EVERY == NEEDLE_EVERY / 2
}

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Stream {
    namespace: &'static str,
    pod: String,
    container: &'static str,
}

fn streams() -> Vec<Stream> {
    let mut out = Vec::new();
    for ns in NAMESPACES {
        for p in 0..PODS_PER_NS {
            let (pod, container) = match ns {
                "wordpress-staging" | "wordpress-production" => (
                    format!("wp-clone-{:05x}-{p}", p * 7919 % 0xfffff),
                    "wordpress",
                ),
                "wp-k8s-service" => (format!("wp-k8s-service-6d9f7c-{p:02}"), "api"),
                "karpenter" => (format!("karpenter-5c8b9-{p:02}"), "controller"),
                _ => (format!("{ns}-{p:02}"), "main"),
            };
            out.push(Stream {
                namespace: ns,
                pod,
                container,
            });
        }
    }
    out
}

const PATHS: [&str; 8] = [
    "/",
    "/wp-admin/admin-ajax.php",
    "/wp-login.php",
    "/wp-json/wp/v2/posts",
    "/clone",
    "/restore",
    "/health",
    "/wp-content/uploads/2026/11/banner.jpg",
];

fn message(r: &mut Rng, s: &Stream, i: u64) -> String {
    let ip = format!("10.{}.{}.{}", r.below(256), r.below(256), r.below(256));
    let rid = format!("{:016x}", r.next());
    let kind = r.below(100);
    if is_needle_line(i) {
        return format!("lookup of {NEEDLE} failed for request {rid}");
    }
    match kind {
        0..=2 => format!(
            "PHP Fatal error:  Uncaught Error: Call to undefined function wp_{}() in /var/www/html/wp-content/plugins/plugin-{}/main.php:{}",
            r.below(50),
            r.below(30),
            r.below(900)
        ),
        3..=5 => format!(
            "error: database connection to rds-{}.cluster.local timed out after {}ms (request_id={rid})",
            r.below(4),
            r.below(5000)
        ),
        6..=20 => format!(
            "level=info msg=\"clone provisioned\" clone_id=c-{:08x} duration={}.{:03}s plugins={} request_id={rid}",
            r.next() as u32,
            r.below(180),
            r.below(1000),
            r.below(25)
        ),
        _ => format!(
            "{ip} - - [26/Nov/2026:10:{:02}:{:02} +0000] \"GET {} HTTP/1.1\" {} {} \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\" rt={}.{:03} {} {rid}",
            r.below(60),
            r.below(60),
            PATHS[r.below(8) as usize],
            [200, 200, 200, 301, 302, 404, 500][r.below(7) as usize],
            r.below(90_000),
            r.below(3),
            r.below(1000),
            s.container
        ),
    }
}

/// One Fluent-Bit-shaped JSON line.
fn line(r: &mut Rng, s: &Stream, ts_ns: i64, i: u64) -> String {
    let msg = message(r, s, i);
    let secs = ts_ns / 1_000_000_000;
    serde_json::json!({
        "time": format!("2026-11-26T{:02}:{:02}:{:02}.{:09}Z", secs / 3600 % 24, secs / 60 % 60, secs % 60, ts_ns % 1_000_000_000),
        "stream": if msg.starts_with("PHP") || msg.starts_with("error") { "stderr" } else { "stdout" },
        "namespace": s.namespace,
        "pod": s.pod,
        "container": s.container,
        "message": msg,
    })
    .to_string()
}

/// Generated lines per stream, as request batches of about `batch_bytes`.
struct Batch {
    /// (stream index, [(ts, line)])
    streams: Vec<(usize, Vec<(i64, String)>)>,
    bytes: usize,
}

fn generate(total_bytes: usize, batch_bytes: usize, t0: i64) -> (Vec<Stream>, Vec<Batch>, u64) {
    let ss = streams();
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut batches = Vec::new();
    let mut cur: Vec<Vec<(i64, String)>> = vec![Vec::new(); ss.len()];
    let mut cur_bytes = 0usize;
    let mut total = 0usize;
    let mut i = 0u64;
    while total < total_bytes {
        // Needle lines go to a wordpress-staging pod (the first streams).
        let si = if is_needle_line(i) {
            (i / NEEDLE_EVERY) as usize % PODS_PER_NS
        } else {
            r.below(ss.len() as u64) as usize
        };
        let ts = t0 + (total as i128 * i128::from(SPAN_NS) / total_bytes as i128) as i64;
        let l = line(&mut r, &ss[si], ts, i);
        cur_bytes += l.len();
        total += l.len();
        cur[si].push((ts, l));
        i += 1;
        if cur_bytes >= batch_bytes {
            batches.push(Batch {
                streams: cur
                    .iter_mut()
                    .enumerate()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(k, v)| (k, std::mem::take(v)))
                    .collect(),
                bytes: cur_bytes,
            });
            cur_bytes = 0;
        }
    }
    if cur_bytes > 0 {
        batches.push(Batch {
            streams: cur
                .into_iter()
                .enumerate()
                .filter(|(_, v)| !v.is_empty())
                .collect(),
            bytes: cur_bytes,
        });
    }
    (ss, batches, i)
}

fn json_body(ss: &[Stream], b: &Batch) -> Vec<u8> {
    let streams: Vec<serde_json::Value> = b
        .streams
        .iter()
        .map(|(si, lines)| {
            let s = &ss[*si];
            serde_json::json!({
                "stream": {"namespace": s.namespace, "pod": s.pod, "container": s.container, "job": "fluent-bit"},
                "values": lines.iter().map(|(ts, l)| serde_json::json!([ts.to_string(), l])).collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({ "streams": streams })
        .to_string()
        .into_bytes()
}

fn proto_body(ss: &[Stream], b: &Batch) -> Vec<u8> {
    let req = logproto::PushRequest {
        streams: b
            .streams
            .iter()
            .map(|(si, lines)| {
                let s = &ss[*si];
                logproto::StreamAdapter {
                    labels: format!(
                        "{{container=\"{}\", job=\"fluent-bit\", namespace=\"{}\", pod=\"{}\"}}",
                        s.container, s.namespace, s.pod
                    ),
                    entries: lines
                        .iter()
                        .map(|(ts, l)| logproto::EntryAdapter {
                            timestamp: Some(logproto::Timestamp {
                                seconds: ts / 1_000_000_000,
                                nanos: (ts % 1_000_000_000) as i32,
                            }),
                            line: l.clone(),
                            structured_metadata: vec![],
                            parsed: vec![],
                        })
                        .collect(),
                    hash: 0,
                }
            })
            .collect(),
        format: String::new(),
    };
    snap::raw::Encoder::new()
        .compress_vec(&req.encode_to_vec())
        .unwrap_or_default()
}

async fn push_all(
    client: &reqwest::Client,
    url: &str,
    bodies: Vec<Vec<u8>>,
    content_type: &'static str,
) -> Duration {
    let bodies = Arc::new(bodies);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (client, url, bodies, next) = (
            client.clone(),
            url.to_string(),
            bodies.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(b) = bodies.get(i) else { break };
                loop {
                    let r = client
                        .post(&url)
                        .header("Content-Type", content_type)
                        .body(b.clone())
                        .send()
                        .await
                        .expect("push");
                    match r.status().as_u16() {
                        204 => break,
                        429 => tokio::time::sleep(Duration::from_millis(50)).await,
                        s => panic!("push answered {s}: {}", r.text().await.unwrap_or_default()),
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("pusher");
    }
    started.elapsed()
}

async fn time_query(
    client: &reqwest::Client,
    base: &str,
    q: &str,
    start: i64,
    end: i64,
    step: &str,
) -> (Duration, serde_json::Value) {
    let url = format!("{base}/loki/api/v1/query_range");
    let mut best = Duration::MAX;
    let mut body = serde_json::Value::Null;
    for _ in 0..5 {
        let t = Instant::now();
        let r = client
            .get(&url)
            .query(&[
                ("query", q),
                ("start", &start.to_string()),
                ("end", &end.to_string()),
                ("limit", "100"),
                ("step", step),
            ])
            .send()
            .await
            .expect("query");
        let status = r.status();
        let text = r.text().await.unwrap_or_default();
        best = best.min(t.elapsed());
        assert!(status.is_success(), "{q}: {status} {text}");
        body = serde_json::from_str(&text).unwrap_or_default();
    }
    (best, body)
}

fn main() {
    let mb: usize = std::env::var("CAIRN_BENCH_LOG_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let total = mb << 20;
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    let t0 = now_ns - SPAN_NS - 60_000_000_000;
    eprintln!("generating {mb} MiB of container logs ...");
    let (ss, batches, n_lines) = generate(total, 1 << 20, t0);
    let raw_bytes: usize = batches.iter().map(|b| b.bytes).sum();
    let half = batches.len() / 2;
    let json: Vec<Vec<u8>> = batches[..half].iter().map(|b| json_body(&ss, b)).collect();
    let proto: Vec<Vec<u8>> = batches[half..].iter().map(|b| proto_body(&ss, b)).collect();
    let json_raw: usize = batches[..half].iter().map(|b| b.bytes).sum();
    let proto_raw: usize = batches[half..].iter().map(|b| b.bytes).sum();
    let json_lines: usize = batches[..half]
        .iter()
        .flat_map(|b| b.streams.iter())
        .map(|s| s.1.len())
        .sum();
    let proto_lines = n_lines as usize - json_lines;
    drop(batches);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    cfg.limits.log_ingestion_rate_bytes = cairn::units::ByteSize(0);
    cfg.server.max_request_body = cairn::units::ByteSize(256 << 20);
    let cfg = Arc::new(cfg);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let st = cairn::server::build_state(cfg, Arc::new(cairn::storage::clock::SystemClock));
        cairn::server::open_stores(st.clone()).await.expect("open");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = cairn::server::router(st.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let base = format!("http://{addr}");
        let client = reqwest::Client::new();
        let url = format!("{base}/loki/api/v1/push");

        let d_json = push_all(&client, &url, json, "application/json").await;
        let d_proto = push_all(&client, &url, proto, "application/x-protobuf").await;
        let mbps = |b: usize, d: Duration| b as f64 / 1e6 / d.as_secs_f64();
        println!("| push | lines/s | MB/s (raw lines) |");
        println!("|---|---|---|");
        println!("| JSON | {:.0} | {:.1} |", json_lines as f64 / d_json.as_secs_f64(), mbps(json_raw, d_json));
        println!("| protobuf (snappy) | {:.0} | {:.1} |", proto_lines as f64 / d_proto.as_secs_f64(), mbps(proto_raw, d_proto));

        let t = Instant::now();
        let st2 = st.clone();
        tokio::task::spawn_blocking(move || st2.logs.seal_and_index(true)).await.expect("seal");
        let sealed_in = t.elapsed();
        let st2 = st.clone();
        let disk = tokio::task::spawn_blocking(move || st2.logs.disk_bytes()).await.expect("disk");
        println!();
        println!("raw line bytes {raw_bytes}, on disk after seal+index {disk} ({:.3} bytes per raw byte); final seal+index took {:.1}s", disk as f64 / raw_bytes as f64, sealed_in.as_secs_f64());

        let (start, end) = (t0, t0 + SPAN_NS + 1);
        println!();
        println!("| query over {mb} MiB | best of 5 ms | result |");
        println!("|---|---|---|");
        let q1 = format!("{{namespace=\"wordpress-staging\"}} |= \"{NEEDLE}\"");
        let (d, body) = time_query(&client, &base, &q1, start, end, "60").await;
        let n: usize = body["data"]["result"].as_array().map(|a| a.iter().map(|s| s["values"].as_array().map_or(0, |v| v.len())).sum()).unwrap_or(0);
        println!("| `{q1}` | {:.1} | {n} lines |", d.as_secs_f64() * 1e3);
        let q2 = "sum by (pod) (count_over_time({namespace=~\"wordpress-.*\"} |= \"error\" [5m]))";
        let (d, body) = time_query(&client, &base, q2, start, end, "300").await;
        let n = body["data"]["result"].as_array().map_or(0, |a| a.len());
        println!("| `{q2}` (step 5m, 6 h) | {:.1} | {n} series |", d.as_secs_f64() * 1e3);
        st.logs.close();
    });
}
