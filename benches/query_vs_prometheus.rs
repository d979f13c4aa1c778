//! Query latency, Cairn against the real Prometheus, on identical data.
//!
//! Starts the `cairn` binary (built by cargo for this bench; `CAIRN_BIN`
//! overrides) and, when `prometheus` is on PATH (`PROMETHEUS_BIN` overrides,
//! `PROMETHEUS_BIN=none` skips it), a Prometheus with
//! `--web.enable-remote-write-receiver` and no scrape targets, each with a
//! temporary data directory and a free port. It remote-writes the same
//! request bodies (same series, samples and timestamps) to both: 10,000
//! series of a Kubernetes-like mix at 15 s over the query range plus 30 min,
//! ending two minutes ago, in timestamp order. Once both heads have been cut
//! into blocks as they would be in steady state, it times dashboard-style
//! range queries (6 h at a 30 s and a 60 s step) on both, one system at a
//! time, compares the results, and prints a table with the ratio and the
//! peak resident memory of each server during each query (VmHWM, reset per
//! query through `/proc/<pid>/clear_refs`).
//!
//! ```sh
//! cargo bench --bench query_vs_prometheus
//! ```
//!
//! Environment: `CAIRN_BENCH_HOURS` (query range, default 6),
//! `CAIRN_BENCH_RUNS` (timed runs per query after one warm-up, default 5),
//! `CAIRN_BENCH_QUERY` (run only queries whose name contains this).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cairn::ingest::proto::prometheus as pb;
use prost::Message;

/// Scrape interval of the generated data.
const INTERVAL_MS: i64 = 15_000;
/// Samples sit 7.3 s off the 15 s grid, so no sample lies exactly on a
/// window boundary of a query step (where Prometheus 2.x's closed windows
/// and 3.x's left-open ones, which Cairn follows, would legitimately differ).
const SAMPLE_OFFSET_MS: i64 = 7_300;
/// Data before the query range, so the first steps' `[30m]` windows are full.
const LEAD_MS: i64 = 30 * 60_000;
/// Time slices (of all series) per remote-write request.
const SLICES_PER_REQUEST: usize = 4;
/// Relative tolerance when comparing values.
const TOLERANCE: f64 = 1e-6;

const NAMESPACES: usize = 25;
const PODS: usize = 1500;
const CONTAINERS: [&str; 3] = ["app", "sidecar", "istio-proxy"];
const NODES: usize = 50;
const ROUTES: [&str; 12] = [
    "/api/v1/users",
    "/api/v1/users/{id}",
    "/api/v1/orders",
    "/api/v1/orders/{id}",
    "/api/v1/cart",
    "/api/v1/checkout",
    "/api/v1/search",
    "/api/v1/products",
    "/api/v1/products/{id}",
    "/api/v1/login",
    "/healthz",
    "/metrics",
];
const API_INSTANCES: usize = 5;
const BUCKETS: [f64; 12] = [
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    f64::INFINITY,
];
const UP_TARGETS: usize = 160;

/// The dashboard queries: (name, PromQL).
const QUERIES: [(&str, &str); 11] = [
    (
        "cpu by namespace",
        "sum by (namespace) (rate(container_cpu_usage_seconds_total[5m]))",
    ),
    (
        "cpu total",
        "sum(rate(container_cpu_usage_seconds_total[5m]))",
    ),
    (
        "p99 latency by route",
        "histogram_quantile(0.99, sum by (le, route) (rate(http_server_request_duration_seconds_bucket[5m])))",
    ),
    (
        "topk pods by cpu",
        "topk(10, sum by (namespace, pod) (rate(container_cpu_usage_seconds_total[5m])))",
    ),
    (
        "cpu by node (group_left)",
        "sum by (node) (rate(container_cpu_usage_seconds_total[5m]) * on (namespace, pod) group_left (node) kube_pod_info)",
    ),
    (
        "cpu / requests",
        "sum by (namespace) (rate(container_cpu_usage_seconds_total[5m])) / sum by (namespace) (kube_pod_container_resource_requests{resource=\"cpu\"})",
    ),
    (
        "memory avg_over_time",
        "sum by (namespace) (avg_over_time(container_memory_working_set_bytes[10m]))",
    ),
    (
        "memory quantile_over_time",
        "max by (namespace) (quantile_over_time(0.9, container_memory_working_set_bytes[30m]))",
    ),
    ("pods per node", "count by (node) (kube_pod_info)"),
    (
        "cpu one namespace",
        "rate(container_cpu_usage_seconds_total{namespace=\"ns-07\"}[5m])",
    ),
    (
        "requests by route",
        "sum by (route) (rate(http_server_request_duration_seconds_count[5m]))",
    ),
];

const STEPS_S: [i64; 2] = [30, 60];

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn free_port() -> u16 {
    match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(a) => a.port(),
        Err(e) => panic!("no free port: {e}"),
    }
}

fn on_path(bin: &str) -> Option<PathBuf> {
    if bin.contains('/') {
        let p = PathBuf::from(bin);
        return p.is_file().then_some(p);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(bin))
            .find(|p| p.is_file())
    })
}

// ---------------------------------------------------------------- servers

/// A server child process, killed (by its pid) when dropped.
struct Server {
    name: &'static str,
    child: Child,
    base: String,
    log: PathBuf,
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_cairn(bin: &Path, dir: &Path) -> Server {
    let port = free_port();
    let log = dir.join("cairn.log");
    let mut cmd = Command::new(bin);
    // Every CAIRN_* variable is a config override for the server: keep this
    // program's own settings away from it.
    for (k, _) in std::env::vars() {
        if k.starts_with("CAIRN_BENCH_") || k == "CAIRN_BIN" {
            cmd.env_remove(k);
        }
    }
    let child = cmd
        .args(["serve", "--data-dir"])
        .arg(dir.join("data"))
        .args([
            "--http-listen-address",
            &format!("127.0.0.1:{port}"),
            "--log-level",
            "warn",
        ])
        // Prometheus does not fsync its WAL per request either.
        .env("CAIRN_STORAGE__FSYNC", "never")
        // Seal the head into blocks soon after loading, as a long-running
        // server would have done by then.
        .env("CAIRN_STORAGE__MAINTENANCE_INTERVAL", "10s")
        .stdout(Stdio::null())
        .stderr(open_log(&log))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    Server {
        name: "cairn",
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    }
}

fn start_prometheus(bin: &Path, dir: &Path) -> Server {
    let port = free_port();
    let cfg = dir.join("prometheus.yml");
    if let Err(e) = std::fs::write(
        &cfg,
        "global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\nscrape_configs: []\n",
    ) {
        panic!("write {}: {e}", cfg.display());
    }
    let log = dir.join("prometheus.log");
    let child = Command::new(bin)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .stdout(Stdio::null())
        .stderr(open_log(&log))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    Server {
        name: "prometheus",
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    }
}

fn open_log(path: &Path) -> Stdio {
    match std::fs::File::create(path) {
        Ok(f) => Stdio::from(f),
        Err(_) => Stdio::null(),
    }
}

async fn wait_ready(client: &reqwest::Client, s: &mut Server, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client.get(format!("{}{path}", s.base)).send().await {
            if r.status().is_success() {
                return;
            }
        }
        if let Ok(Some(st)) = s.child.try_wait() {
            panic!("{} exited ({st}); log: {}", s.name, s.log.display());
        }
        assert!(
            Instant::now() < deadline,
            "{} did not become ready; log: {}",
            s.name,
            s.log.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A `kB` line of `/proc/<pid>/status` (VmRSS, VmHWM), in MiB.
fn proc_mib(pid: u32, key: &str) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resets the peak RSS (VmHWM) of a process to its current RSS.
fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

// ---------------------------------------------------------------- data

#[derive(Clone, Copy)]
enum Kind {
    /// A CPU-seconds counter: per-series rate in cores.
    Cpu(f64),
    /// A memory gauge doing a random walk in pages.
    Mem,
    Const,
    Up,
    Bucket(usize, usize),
    HistSum(usize),
    HistCount(usize),
}

struct Hist {
    /// Typical latency of the route, seconds.
    scale: f64,
    buckets: [f64; 12],
    sum: f64,
    count: f64,
}

/// Deterministic data: labels per series, and a state advanced one scrape at
/// a time.
struct Gen {
    rng: u64,
    labels: Vec<Vec<pb::Label>>,
    kinds: Vec<Kind>,
    values: Vec<f64>,
    hists: Vec<Hist>,
}

fn label(n: &str, v: impl Into<String>) -> pb::Label {
    pb::Label {
        name: n.into(),
        value: v.into(),
    }
}

/// Labels sorted by name, as Prometheus' remote write sends them.
fn sorted(mut l: Vec<pb::Label>) -> Vec<pb::Label> {
    l.sort_by(|a, b| a.name.cmp(&b.name));
    l
}

impl Gen {
    fn new() -> Gen {
        let mut g = Gen {
            rng: 0x9E37_79B9_7F4A_7C15,
            labels: Vec::new(),
            kinds: Vec::new(),
            values: Vec::new(),
            hists: Vec::new(),
        };
        let pod_name =
            |p: usize| format!("svc-{:03}-{:08x}", p / 4, (p as u64 * 2_654_435_761) as u32);
        let ns = |p: usize| format!("ns-{:02}", p % NAMESPACES);
        let node = |p: usize| format!("node-{:02}", (p * 7) % NODES);
        let node_ip = |p: usize| format!("10.0.{}.1:10250", (p * 7) % NODES);
        for p in 0..PODS {
            for c in CONTAINERS {
                let r = g.uniform();
                let cores = 0.002 + r * r * 1.5;
                let start = g.uniform() * 1e5;
                g.push(
                    vec![
                        label("__name__", "container_cpu_usage_seconds_total"),
                        label("container", c),
                        label("instance", node_ip(p)),
                        label("job", "kubelet"),
                        label("namespace", ns(p)),
                        label("pod", pod_name(p)),
                    ],
                    Kind::Cpu(cores),
                    start,
                );
            }
        }
        for p in 0..PODS {
            let start = 2e7 + g.uniform() * 2e9;
            g.push(
                vec![
                    label("__name__", "container_memory_working_set_bytes"),
                    label("container", "app"),
                    label("instance", node_ip(p)),
                    label("job", "kubelet"),
                    label("namespace", ns(p)),
                    label("pod", pod_name(p)),
                ],
                Kind::Mem,
                (start / 4096.0).round() * 4096.0,
            );
        }
        for p in 0..PODS {
            g.push(
                vec![
                    label("__name__", "kube_pod_info"),
                    label("created_by_kind", "ReplicaSet"),
                    label("job", "kube-state-metrics"),
                    label("namespace", ns(p)),
                    label("node", node(p)),
                    label("pod", pod_name(p)),
                    label("pod_ip", format!("10.1.{}.{}", p / 250, p % 250)),
                ],
                Kind::Const,
                1.0,
            );
        }
        for p in 0..PODS {
            let req = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0][(g.next() % 6) as usize];
            g.push(
                vec![
                    label("__name__", "kube_pod_container_resource_requests"),
                    label("container", "app"),
                    label("job", "kube-state-metrics"),
                    label("namespace", ns(p)),
                    label("node", node(p)),
                    label("pod", pod_name(p)),
                    label("resource", "cpu"),
                    label("unit", "core"),
                ],
                Kind::Const,
                req,
            );
        }
        for (ri, route) in ROUTES.iter().enumerate() {
            for inst in 0..API_INSTANCES {
                let h = g.hists.len();
                let scale = 0.004 + 0.05 * (ri as f64 / 3.0).powi(2) * (1.0 + g.uniform());
                g.hists.push(Hist {
                    scale,
                    buckets: [0.0; 12],
                    sum: 0.0,
                    count: 0.0,
                });
                let method = if ri % 3 == 2 { "POST" } else { "GET" };
                let base = |name: &str| {
                    vec![
                        label("__name__", name),
                        label("instance", format!("10.2.0.{inst}:8080")),
                        label("job", "api"),
                        label("method", method),
                        label("route", *route),
                    ]
                };
                for (b, le) in BUCKETS.iter().enumerate() {
                    let mut l = base("http_server_request_duration_seconds_bucket");
                    let le = if le.is_infinite() {
                        "+Inf".to_string()
                    } else {
                        le.to_string()
                    };
                    l.push(label("le", le));
                    g.push(l, Kind::Bucket(h, b), 0.0);
                }
                g.push(
                    base("http_server_request_duration_seconds_sum"),
                    Kind::HistSum(h),
                    0.0,
                );
                g.push(
                    base("http_server_request_duration_seconds_count"),
                    Kind::HistCount(h),
                    0.0,
                );
            }
        }
        for t in 0..UP_TARGETS {
            g.push(
                vec![
                    label("__name__", "up"),
                    label("instance", format!("10.3.{}.{}:9100", t / 100, t % 100)),
                    label("job", format!("job-{}", t % 8)),
                ],
                Kind::Up,
                1.0,
            );
        }
        g
    }

    fn push(&mut self, l: Vec<pb::Label>, k: Kind, v: f64) {
        self.labels.push(sorted(l));
        self.kinds.push(k);
        self.values.push(v);
    }

    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Advances every series by one scrape interval.
    fn advance(&mut self) {
        for h in 0..self.hists.len() {
            let n = 20 + self.next() % 80;
            let scale = self.hists[h].scale;
            let mut sum = 0.0;
            let mut counts = [0.0; 12];
            for _ in 0..n {
                let lat = -scale * self.uniform().ln();
                sum += lat;
                for (b, le) in BUCKETS.iter().enumerate() {
                    if lat <= *le {
                        counts[b] += 1.0;
                    }
                }
            }
            let hist = &mut self.hists[h];
            hist.sum += sum;
            hist.count += n as f64;
            for (b, c) in counts.iter().enumerate() {
                hist.buckets[b] += c;
            }
        }
        for i in 0..self.kinds.len() {
            let v = match self.kinds[i] {
                Kind::Cpu(cores) => {
                    if self.next().is_multiple_of(20_000) {
                        0.0 // container restart: counter reset
                    } else {
                        self.values[i] + cores * 15.0 * (0.5 + self.uniform())
                    }
                }
                Kind::Mem => {
                    if self.next().is_multiple_of(2) {
                        let pages = (self.next() % 2048) as f64 - 1024.0;
                        (self.values[i] + pages * 4096.0).max(1e7)
                    } else {
                        self.values[i]
                    }
                }
                Kind::Const => self.values[i],
                Kind::Up => {
                    if self.next().is_multiple_of(5_000) {
                        0.0
                    } else {
                        1.0
                    }
                }
                Kind::Bucket(h, b) => self.hists[h].buckets[b],
                Kind::HistSum(h) => self.hists[h].sum,
                Kind::HistCount(h) => self.hists[h].count,
            };
            self.values[i] = v;
        }
    }

    /// The next request: `slices` scrapes of every series starting at `t0`,
    /// snappy-compressed remote-write 1.0 protobuf.
    fn request(&mut self, t0: i64, slices: usize) -> Vec<u8> {
        let mut samples: Vec<Vec<pb::Sample>> = vec![Vec::with_capacity(slices); self.labels.len()];
        for k in 0..slices {
            self.advance();
            let t = t0 + k as i64 * INTERVAL_MS;
            for (i, s) in samples.iter_mut().enumerate() {
                s.push(pb::Sample {
                    value: self.values[i],
                    timestamp: t,
                });
            }
        }
        let timeseries = self
            .labels
            .iter()
            .zip(samples)
            .map(|(l, samples)| pb::TimeSeries {
                labels: l.clone(),
                samples,
                ..Default::default()
            })
            .collect();
        let raw = pb::WriteRequest {
            timeseries,
            metadata: vec![],
        }
        .encode_to_vec();
        match snap::raw::Encoder::new().compress_vec(&raw) {
            Ok(b) => b,
            Err(e) => panic!("snappy: {e}"),
        }
    }
}

async fn send(client: &reqwest::Client, s: &Server, body: Vec<u8>) -> Result<(), String> {
    let r = client
        .post(format!("{}/api/v1/write", s.base))
        .header("Content-Encoding", "snappy")
        .header("Content-Type", "application/x-protobuf")
        .header("X-Prometheus-Remote-Write-Version", "0.1.0")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("{}: {e}", s.name))?;
    if r.status().is_success() {
        return Ok(());
    }
    let st = r.status();
    let text = r.text().await.unwrap_or_default();
    Err(format!(
        "{}: {st}: {}",
        s.name,
        text.chars().take(300).collect::<String>()
    ))
}

/// `headStats` min and max time of a server, in ms.
async fn head_span(client: &reqwest::Client, s: &Server) -> Option<(i64, i64)> {
    let v: serde_json::Value = client
        .get(format!("{}/api/v1/status/tsdb", s.base))
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    let h = &v["data"]["headStats"];
    Some((h["minTime"].as_i64()?, h["maxTime"].as_i64()?))
}

// ---------------------------------------------------------------- queries

/// Series (labels rendered canonically) → points.
type Matrix = BTreeMap<String, Vec<(f64, f64)>>;

fn parse_matrix(body: &[u8]) -> Result<Matrix, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("bad JSON: {e}"))?;
    if v["status"] != "success" {
        return Err(format!(
            "{}: {}",
            v["errorType"].as_str().unwrap_or("?"),
            v["error"].as_str().unwrap_or("?")
        ));
    }
    let mut out = Matrix::new();
    for s in v["data"]["result"].as_array().into_iter().flatten() {
        let labels: BTreeMap<String, String> = s["metric"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        let key = format!("{labels:?}");
        let pts = s["values"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    p[0].as_f64().unwrap_or(f64::NAN),
                    p[1].as_str()
                        .and_then(|x| x.parse().ok())
                        .unwrap_or(f64::NAN),
                )
            })
            .collect();
        out.insert(key, pts);
    }
    Ok(out)
}

fn points(m: &Matrix) -> usize {
    m.values().map(Vec::len).sum()
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan())
        || a == b
        || (a - b).abs() <= TOLERANCE * a.abs().max(b.abs()).max(1e-9)
}

/// "ok", or what differs between Cairn's and Prometheus' answers.
fn compare(cairn: &Matrix, prom: &Matrix) -> (String, Option<String>) {
    let only_c = cairn.keys().filter(|k| !prom.contains_key(*k)).count();
    let only_p = prom.keys().filter(|k| !cairn.contains_key(*k)).count();
    let mut point_diff = 0usize;
    let mut value_diff = 0usize;
    let mut max_rel = 0f64;
    let mut example = None;
    for (k, c) in cairn {
        let Some(p) = prom.get(k) else { continue };
        let pm: BTreeMap<i64, f64> = p.iter().map(|(t, v)| ((t * 1000.0) as i64, *v)).collect();
        let cm: BTreeMap<i64, f64> = c.iter().map(|(t, v)| ((t * 1000.0) as i64, *v)).collect();
        point_diff += cm.keys().filter(|t| !pm.contains_key(t)).count()
            + pm.keys().filter(|t| !cm.contains_key(t)).count();
        for (t, cv) in &cm {
            let Some(pv) = pm.get(t) else { continue };
            if !close(*cv, *pv) {
                value_diff += 1;
                let rel = (cv - pv).abs() / cv.abs().max(pv.abs()).max(1e-9);
                if rel > max_rel || example.is_none() {
                    max_rel = max_rel.max(rel);
                    example = Some(format!("{k} @{}: cairn {cv} vs prometheus {pv}", t / 1000));
                }
            }
        }
    }
    if only_c + only_p + point_diff + value_diff == 0 {
        return ("ok".into(), None);
    }
    let mut s = String::from("DIFF:");
    if only_c + only_p > 0 {
        let _ = write!(s, " series +{only_c}/-{only_p}");
    }
    if point_diff > 0 {
        let _ = write!(s, " points {point_diff}");
    }
    if value_diff > 0 {
        let _ = write!(s, " values {value_diff} (max rel {max_rel:.1e})");
    }
    let detail = example.or_else(|| {
        cairn
            .keys()
            .find(|k| !prom.contains_key(*k))
            .map(|k| format!("only in cairn: {k}"))
            .or_else(|| {
                prom.keys()
                    .find(|k| !cairn.contains_key(*k))
                    .map(|k| format!("only in prometheus: {k}"))
            })
    });
    (s, detail)
}

struct Timing {
    median_ms: f64,
    min_ms: f64,
    peak_mib: Option<f64>,
    result: Result<Matrix, String>,
}

/// One warm-up (whose answer is kept for the comparison), then `runs` timed
/// runs; the peak RSS is over all of them.
async fn time_query(
    client: &reqwest::Client,
    s: &Server,
    q: &str,
    start: i64,
    end: i64,
    step: i64,
    runs: usize,
) -> Timing {
    let can_reset = reset_peak(s.pid());
    let form = [
        ("query", q.to_string()),
        ("start", start.to_string()),
        ("end", end.to_string()),
        ("step", step.to_string()),
    ];
    let mut times = Vec::new();
    let mut result = Err("no run".to_string());
    for run in 0..=runs {
        let t = Instant::now();
        let body = match client
            .post(format!("{}/api/v1/query_range", s.base))
            .form(&form)
            .send()
            .await
        {
            Ok(r) => r.bytes().await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let ms = t.elapsed().as_secs_f64() * 1e3;
        if run == 0 {
            result = body.and_then(|b| parse_matrix(&b));
            if result.is_err() {
                break;
            }
        } else {
            times.push(ms);
        }
    }
    times.sort_by(f64::total_cmp);
    Timing {
        median_ms: times.get(times.len() / 2).copied().unwrap_or(f64::NAN),
        min_ms: times.first().copied().unwrap_or(f64::NAN),
        peak_mib: if can_reset {
            proc_mib(s.pid(), "VmHWM:")
        } else {
            None
        },
        result,
    }
}

/// The 1-minute load average.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

fn mib(v: Option<f64>) -> String {
    v.map(|m| format!("{m:.0}")).unwrap_or_else(|| "?".into())
}

// ---------------------------------------------------------------- main

fn main() {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    rt.block_on(run());
}

async fn run() {
    let hours: f64 = env_num("CAIRN_BENCH_HOURS", 6.0);
    let runs: usize = env_num("CAIRN_BENCH_RUNS", 5);
    let only = std::env::var("CAIRN_BENCH_QUERY").ok();
    let cairn_bin = std::env::var("CAIRN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_BIN_EXE_cairn")));
    let prom_bin = match std::env::var("PROMETHEUS_BIN") {
        Ok(v) if v == "none" || v.is_empty() => None,
        Ok(v) => on_path(&v),
        Err(_) => on_path("prometheus"),
    };
    let work = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let client = reqwest::Client::new();

    let cairn_dir = work.path().join("cairn");
    let prom_dir = work.path().join("prometheus");
    for d in [&cairn_dir, &prom_dir] {
        if let Err(e) = std::fs::create_dir_all(d) {
            panic!("mkdir {}: {e}", d.display());
        }
    }
    let mut cairn = start_cairn(&cairn_bin, &cairn_dir);
    wait_ready(&client, &mut cairn, "/ready").await;
    let mut prom = match &prom_bin {
        Some(bin) => {
            let mut p = start_prometheus(bin, &prom_dir);
            wait_ready(&client, &mut p, "/-/ready").await;
            Some(p)
        }
        None => {
            println!(
                "NOTE: prometheus not found on PATH (install the Debian package `prometheus`, \
                 or set PROMETHEUS_BIN): timing Cairn alone"
            );
            None
        }
    };
    let prom_version = match &prom_bin {
        Some(b) => Command::new(b)
            .arg("--version")
            .output()
            .ok()
            .and_then(|o| {
                let all = [o.stdout, o.stderr].concat();
                String::from_utf8_lossy(&all)
                    .lines()
                    .next()
                    .map(str::to_string)
            })
            .unwrap_or_default(),
        None => String::new(),
    };

    // Time layout: queries end on a whole minute two minutes ago; data starts
    // LEAD_MS before the query range, off the step grid by SAMPLE_OFFSET_MS.
    let range_ms = (hours * 3_600_000.0) as i64;
    let q_end = (now_ms() - 120_000) / 60_000 * 60_000;
    let q_start = q_end - range_ms;
    let data_start = q_start - LEAD_MS + SAMPLE_OFFSET_MS;
    let scrapes = ((q_end - data_start) / INTERVAL_MS + 1) as usize;

    let mut gen = Gen::new();
    let series = gen.labels.len();
    println!(
        "data: {series} series x {scrapes} scrapes at 15 s ({:.1} h, {} samples per system), {} per request",
        scrapes as f64 * 15.0 / 3600.0,
        series * scrapes,
        SLICES_PER_REQUEST
    );
    println!("cairn: {}", cairn_bin.display());
    if let Some(p) = &prom {
        println!("prometheus: {} ({prom_version})", p.base);
    }

    // ---- load: the same bytes to both, in timestamp order.
    let load_start = Instant::now();
    let mut failures: BTreeMap<&'static str, (usize, String)> = BTreeMap::new();
    let mut sent = 0usize;
    let mut encode_s = 0.0;
    while sent < scrapes {
        let n = SLICES_PER_REQUEST.min(scrapes - sent);
        let t0 = data_start + sent as i64 * INTERVAL_MS;
        let e = Instant::now();
        let body = gen.request(t0, n);
        encode_s += e.elapsed().as_secs_f64();
        let (a, b) = tokio::join!(send(&client, &cairn, body.clone()), async {
            match &prom {
                Some(p) => send(&client, p, body).await,
                None => Ok(()),
            }
        });
        for (name, r) in [("cairn", a), ("prometheus", b)] {
            if let Err(msg) = r {
                let f = failures.entry(name).or_insert((0, msg));
                f.0 += 1;
            }
        }
        sent += n;
        if (sent / SLICES_PER_REQUEST).is_multiple_of(60) {
            eprintln!(
                "  loaded {sent}/{scrapes} scrapes in {:.0}s",
                load_start.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "load: {:.1}s for both in parallel ({:.1}s of it encoding), {:.0} samples/s per system",
        load_start.elapsed().as_secs_f64(),
        encode_s,
        (series * scrapes) as f64 / load_start.elapsed().as_secs_f64()
    );
    for (name, (n, first)) in &failures {
        println!("WARNING: {n} write requests to {name} failed; first: {first}");
    }

    // ---- settle: wait until both heads are cut into blocks (span <= 1.5 blocks).
    let settle_start = Instant::now();
    loop {
        let mut spans = Vec::new();
        for s in std::iter::once(&cairn).chain(prom.as_ref()) {
            spans.push((s.name, head_span(&client, s).await));
        }
        let settled = spans
            .iter()
            .all(|(_, s)| s.is_some_and(|(lo, hi)| hi - lo <= 3 * 3_600_000 + 60_000));
        if settled || settle_start.elapsed() > Duration::from_secs(300) {
            let desc: Vec<String> = spans
                .iter()
                .map(|(n, s)| match s {
                    Some((lo, hi)) => format!("{n} head {:.1} h", (hi - lo) as f64 / 3.6e6),
                    None => format!("{n} head ?"),
                })
                .collect();
            println!(
                "settle: {} after {:.0}s{}",
                desc.join(", "),
                settle_start.elapsed().as_secs_f64(),
                if settled { "" } else { " (gave up waiting)" }
            );
            break;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    // Give both a moment to finish post-compaction work (WAL checkpoint, GC).
    tokio::time::sleep(Duration::from_secs(5)).await;

    // Sanity: the same number of series at the end of the range.
    for s in std::iter::once(&cairn).chain(prom.as_ref()) {
        let v: Option<serde_json::Value> = async {
            client
                .post(format!("{}/api/v1/query", s.base))
                .form(&[
                    ("query", "count({__name__=~\".+\"})".to_string()),
                    ("time", (q_end / 1000).to_string()),
                ])
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()
        }
        .await;
        let n = v
            .as_ref()
            .and_then(|v| v["data"]["result"][0]["value"][1].as_str())
            .unwrap_or("?")
            .to_string();
        println!("{}: {n} series at the end of the range", s.name);
    }

    // ---- query phase.
    let load_before = loadavg();
    let rss_before = proc_mib(cairn.pid(), "VmRSS:");
    let hwm_before = proc_mib(cairn.pid(), "VmHWM:");
    let prom_rss_before = prom.as_ref().and_then(|p| proc_mib(p.pid(), "VmRSS:"));
    let mut rows = Vec::new();
    let mut details = Vec::new();
    let mut ratios = Vec::new();
    for (name, q) in QUERIES {
        if only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        for step in STEPS_S {
            let (start, end) = (q_start / 1000, q_end / 1000);
            let c = time_query(&client, &cairn, q, start, end, step, runs).await;
            let p = match &prom {
                Some(p) => Some(time_query(&client, p, q, start, end, step, runs).await),
                None => None,
            };
            let shape = match &c.result {
                Ok(m) => format!("{} / {}", m.len(), points(m)),
                Err(_) => "error".into(),
            };
            let (prom_ms, ratio, prom_peak, check) = match &p {
                Some(p) => {
                    let ratio = c.median_ms / p.median_ms;
                    let check = match (&c.result, &p.result) {
                        (Ok(cm), Ok(pm)) => {
                            let (s, d) = compare(cm, pm);
                            if let Some(d) = d {
                                details.push(format!("{name} ({step}s): {d}"));
                            }
                            s
                        }
                        (Err(e), _) => {
                            details.push(format!("{name} ({step}s): cairn error: {e}"));
                            "cairn error".into()
                        }
                        (_, Err(e)) => {
                            details.push(format!("{name} ({step}s): prometheus error: {e}"));
                            "prometheus error".into()
                        }
                    };
                    if ratio.is_finite() {
                        ratios.push(ratio);
                    }
                    (
                        format!("{:.0} ({:.0})", p.median_ms, p.min_ms),
                        format!("{ratio:.2}{}", if ratio <= 0.5 { "" } else { " !" }),
                        mib(p.peak_mib),
                        check,
                    )
                }
                None => ("-".into(), "-".into(), "-".into(), "-".into()),
            };
            let row = format!(
                "| {name} | {step}s | {shape} | {:.0} ({:.0}) | {prom_ms} | {ratio} | {} | {prom_peak} | {check} |",
                c.median_ms,
                c.min_ms,
                mib(c.peak_mib),
            );
            eprintln!("{row}");
            rows.push(row);
        }
    }
    let rss_after = proc_mib(cairn.pid(), "VmRSS:");
    println!(
        "machine load average (1 min) {load_before} before the query phase, {} after \
         (other processes share the CPU: compare rows, not runs)",
        loadavg()
    );
    let prom_rss_after = prom.as_ref().and_then(|p| proc_mib(p.pid(), "VmRSS:"));

    println!();
    println!(
        "{} h range, {} timed runs per query after one warm-up; times in ms: median (min); \
         peak = VmHWM MiB during that query's runs \
         (reset at its start, so it includes what the allocator still held from the previous query)",
        hours, runs
    );
    println!();
    println!("| query | step | series / points | cairn ms | prometheus ms | ratio cairn/prom | cairn peak MiB | prom peak MiB | check |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in &rows {
        println!("{r}");
    }
    println!();
    if !ratios.is_empty() {
        ratios.sort_by(f64::total_cmp);
        let geo = (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp();
        let met = ratios.iter().filter(|r| **r <= 0.5).count();
        println!(
            "ratio: geometric mean {geo:.2}, worst {:.2}; target (<= 0.5) met by {met} of {} rows",
            ratios.last().copied().unwrap_or(f64::NAN),
            ratios.len()
        );
    }
    println!(
        "cairn RSS: {} MiB before the query phase (peak {} MiB during load), {} MiB after",
        mib(rss_before),
        mib(hwm_before),
        mib(rss_after)
    );
    if prom.is_some() {
        println!(
            "prometheus RSS: {} MiB before the query phase, {} MiB after",
            mib(prom_rss_before),
            mib(prom_rss_after)
        );
    }
    for d in &details {
        println!("  {d}");
    }
    drop(prom.take());
    drop(cairn);
}
