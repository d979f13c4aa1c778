//! The simulated cluster behind `cairn demo`: Karpenter nodes, the pods of
//! `wp-system`, `wordpress-staging` and `wordpress-production`, the
//! `wp-k8s-service` clone and restore workflows, and what the exporters of
//! `docs/metrics-contract.md` would publish about them. One [`World::step`]
//! advances the simulation by one scrape interval and returns the log lines
//! and spans written during it; the metrics are read from the registry.

use crate::demo::registry::{Exemplar, Registry};
use crate::demo::rng::Rng;
use crate::demo::schedule::Incident;
use crate::traces::model::trace_id_hex;

/// Buckets of the contract (`docs/metrics-contract.md`).
pub static PROVISIONING_BUCKETS: [f64; 12] = [
    10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0, 240.0, 300.0, 420.0, 600.0,
];
pub static PLUGIN_BUCKETS: [f64; 8] = [1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0];
pub static TTL_BUCKETS: [f64; 6] = [3600.0, 14400.0, 43200.0, 86400.0, 259200.0, 604800.0];
pub static K8S_API_BUCKETS: [f64; 10] = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
pub static HTTP_BUCKETS: [f64; 19] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0, 60.0,
    120.0, 300.0, 600.0,
];
static SCHEDULING_BUCKETS: [f64; 8] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

const NAMESPACES: [&str; 2] = ["wordpress-staging", "wordpress-production"];
const PLUGINS: [&str; 5] = [
    "woocommerce",
    "yoast-seo",
    "wordfence",
    "akismet",
    "w3-total-cache",
];
const SOURCE_SITES: [&str; 4] = ["shop", "blog", "docs", "careers"];
const NODE_CORES: u32 = 4;
const NODE_MEMORY: f64 = 16.0 * 1024.0 * 1024.0 * 1024.0;
const NODE_DISK: f64 = 80.0 * 1024.0 * 1024.0 * 1024.0;
/// Clone pods one Karpenter node holds (0.5 CPU each, system pods aside).
const PODS_PER_NODE: usize = 6;
const MIN_KARPENTER_NODES: usize = 2;
const RDS_INSTANCE: &str = "wp-clones-db";

/// One stored log line and its stream labels (the contract's four).
#[derive(Clone, Debug)]
pub struct LogLine {
    pub namespace: String,
    pub app: String,
    pub container: String,
    pub t_ns: i64,
    pub line: String,
}

/// A span attribute value.
#[derive(Clone, Debug, PartialEq)]
pub enum Attr {
    Str(String),
    Int(i64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanKind {
    Server,
    Client,
    Internal,
}

/// One finished span of a workflow trace.
#[derive(Clone, Debug)]
pub struct SpanOut {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub parent: Option<[u8; 8]>,
    pub name: String,
    pub kind: SpanKind,
    pub start_ns: i64,
    pub end_ns: i64,
    pub attrs: Vec<(String, Attr)>,
    /// The status message when the span ended in error.
    pub error: Option<String>,
}

/// What one step produced besides metrics.
#[derive(Default)]
pub struct StepOutput {
    pub logs: Vec<LogLine>,
    pub spans: Vec<SpanOut>,
}

/// Running totals for the progress line.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub clones_ok: u64,
    pub clones_failed: u64,
    pub restores: u64,
    pub nodes_created: u64,
    pub nodes_terminated: u64,
}

struct Node {
    name: String,
    ip: String,
    nodepool: &'static str,
    capacity_type: &'static str,
    karpenter: bool,
    disk_used: f64,
}

struct Site {
    id: String,
    pod: String,
    namespace: &'static str,
    expires_ms: i64,
}

pub struct World {
    rng: Rng,
    pub reg: Registry,
    nodes: Vec<Node>,
    next_ip: u32,
    sites: Vec<Site>,
    next_clone: u64,
    service_pods: [String; 2],
    /// Whole restarts of the crash-looping replica.
    pub totals: Totals,
    /// Set while the last step ran the crash-loop incident.
    crash_looping: bool,
    /// Recent pod start-up times behind Karpenter's summary quantiles.
    recent_startups: Vec<f64>,
    /// How long pods have been waiting for a node Karpenter cannot launch.
    pods_waiting_s: f64,
}

/// RFC 3339 with milliseconds, as Python's JSON loggers write it.
fn rfc3339(t_ns: i64) -> String {
    let millis = t_ns.rem_euclid(1_000_000_000) / 1_000_000;
    format!(
        "{}.{millis:03}Z",
        crate::calendar::format_date_time(t_ns.div_euclid(1_000_000_000))
    )
}

/// The JSON record Fluent Bit ships for one container line (the contract's
/// log format): Kubernetes metadata lifted to the top, the application's
/// own JSON fields merged in.
fn json_line(
    t_ns: i64,
    namespace: &str,
    pod: &str,
    container: &str,
    level: &str,
    message: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut m = serde_json::Map::new();
    m.insert("timestamp".into(), rfc3339(t_ns).into());
    m.insert("namespace".into(), namespace.into());
    m.insert("pod".into(), pod.into());
    m.insert("container".into(), container.into());
    m.insert("level".into(), level.into());
    m.insert("message".into(), message.into());
    for (k, v) in extra {
        m.insert((*k).into(), (*v).into());
    }
    serde_json::Value::Object(m).to_string()
}

/// A line of `wp-k8s-service` (namespace `wp-system`) from `pod`.
fn service_line(
    pod: &str,
    t_ns: i64,
    level: &str,
    message: &str,
    extra: &[(&str, &str)],
) -> LogLine {
    LogLine {
        namespace: "wp-system".into(),
        app: "wp-k8s-service".into(),
        container: "wp-k8s-service".into(),
        t_ns,
        line: json_line(
            t_ns,
            "wp-system",
            pod,
            "wp-k8s-service",
            level,
            message,
            extra,
        ),
    }
}

/// Builds the spans of one workflow trace, parent first.
struct TraceBuilder<'a> {
    rng: &'a mut Rng,
    trace_id: [u8; 16],
    spans: Vec<SpanOut>,
}

impl TraceBuilder<'_> {
    #[allow(clippy::too_many_arguments)]
    fn span(
        &mut self,
        parent: Option<[u8; 8]>,
        name: &str,
        kind: SpanKind,
        start_ns: i64,
        end_ns: i64,
        attrs: Vec<(&str, Attr)>,
        error: Option<&str>,
    ) -> [u8; 8] {
        let span_id = self.rng.bytes::<8>();
        self.spans.push(SpanOut {
            trace_id: self.trace_id,
            span_id,
            parent,
            name: name.to_string(),
            kind,
            start_ns,
            end_ns,
            attrs: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            error: error.map(str::to_string),
        });
        span_id
    }
}

fn s(v: &str) -> Attr {
    Attr::Str(v.to_string())
}

/// How one workflow ended.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Outcome {
    Ok,
    Failed(&'static str),
}

impl World {
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let service_pods = [
            format!("wp-k8s-service-6c9f7d5b8-{}", rng.suffix(5)),
            format!("wp-k8s-service-6c9f7d5b8-{}", rng.suffix(5)),
        ];
        let mut w = World {
            rng,
            reg: Registry::default(),
            nodes: Vec::new(),
            next_ip: 10,
            sites: Vec::new(),
            next_clone: 1000,
            service_pods,
            totals: Totals::default(),
            crash_looping: false,
            recent_startups: Vec::new(),
            pods_waiting_s: 0.0,
        };
        // Two system nodes from the EKS managed node group, then Karpenter's.
        for _ in 0..2 {
            w.add_node("system", "on-demand", false);
        }
        for _ in 0..MIN_KARPENTER_NODES {
            w.add_node("general", "on-demand", true);
        }
        w.touch_known_series();
        w
    }

    /// One scrape of every target: the registry's series plus the target
    /// labels Prometheus attaches (`job`, `instance`, and for the service
    /// the `namespace` and `pod` its ServiceMonitor adds), where the
    /// exporter did not set them itself.
    pub fn scrape(&mut self) -> Vec<crate::demo::registry::Point> {
        let service_pod = self.service_pods[0].clone();
        let mut points = self.reg.scrape();
        for p in &mut points {
            let name = p.labels[0].1.as_str();
            let target: Vec<(&str, &str)> = if name.starts_with("wp_") || name.starts_with("http_")
            {
                vec![
                    ("job", "wp-k8s-service"),
                    ("instance", "10.0.5.21:8000"),
                    ("namespace", "wp-system"),
                    ("pod", service_pod.as_str()),
                ]
            } else if name.starts_with("karpenter_") {
                vec![("job", "karpenter"), ("instance", "10.0.4.30:8080")]
            } else if name.starts_with("kube_") {
                vec![
                    ("job", "kube-state-metrics"),
                    ("instance", "10.0.4.12:8080"),
                ]
            } else if name.starts_with("apiserver_") {
                vec![("job", "apiserver"), ("instance", "10.0.0.1:443")]
            } else if name.starts_with("node_") {
                vec![("job", "node-exporter")]
            } else {
                Vec::new()
            };
            let mut added = false;
            for (k, v) in target {
                if !p.labels.iter().any(|(n, _)| n == k) {
                    p.labels.push((k.to_string(), v.to_string()));
                    added = true;
                }
            }
            if added {
                p.labels.sort();
            }
        }
        points
    }

    pub fn active_clones(&self) -> usize {
        self.sites.len()
    }

    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    fn add_node(&mut self, nodepool: &'static str, capacity_type: &'static str, karpenter: bool) {
        let n = self.next_ip;
        self.next_ip += 1;
        let ip = format!("10.0.{}.{}", 1 + n / 200, 10 + n % 200);
        let name = format!("ip-{}.ec2.internal", ip.replace('.', "-"));
        let disk_used = self.rng.range(0.35, 0.55);
        self.nodes.push(Node {
            name,
            ip,
            nodepool,
            capacity_type,
            karpenter,
            disk_used,
        });
    }

    /// Counters and histograms that exist before their first event, as the
    /// real exporters create them for known label values.
    fn touch_known_series(&mut self) {
        let r = &mut self.reg;
        for ns in NAMESPACES {
            for op in ["clone", "restore"] {
                r.touch(
                    "wp_clones_created_total",
                    &[("operation", op), ("target_namespace", ns)],
                );
                for reason in [
                    "k8s_api_error",
                    "timeout",
                    "rds_unavailable",
                    "plugin_install_failed",
                ] {
                    r.touch(
                        "wp_clones_failed_total",
                        &[
                            ("operation", op),
                            ("reason", reason),
                            ("target_namespace", ns),
                        ],
                    );
                }
                r.touch_histogram(
                    "wp_clone_provisioning_duration_seconds",
                    &[("operation", op), ("target_namespace", ns)],
                    &PROVISIONING_BUCKETS,
                );
            }
            for result in ["success", "failure"] {
                r.touch(
                    "wp_clone_cleanups_total",
                    &[("result", result), ("target_namespace", ns)],
                );
            }
        }
        for error in ["timeout", "refused", "auth", "too_many_connections"] {
            r.touch(
                "wp_rds_connection_errors_total",
                &[("db_instance", RDS_INSTANCE), ("error", error)],
            );
        }
        for nodepool in ["general", "spot"] {
            for m in [
                "karpenter_nodes_created_total",
                "karpenter_nodes_terminated_total",
                "karpenter_nodeclaims_terminated_total",
            ] {
                r.touch(m, &[("nodepool", nodepool)]);
            }
            r.touch(
                "karpenter_nodeclaims_created_total",
                &[("nodepool", nodepool), ("reason", "provisioned")],
            );
            r.touch(
                "karpenter_nodeclaims_disrupted_total",
                &[("nodepool", nodepool), ("reason", "underutilized")],
            );
        }
        for t in [
            "spot_interrupted",
            "scheduled_change",
            "instance_stopped",
            "instance_terminated",
            "rebalance_recommendation",
        ] {
            r.touch(
                "karpenter_interruption_received_messages_total",
                &[("message_type", t)],
            );
        }
        r.touch(
            "karpenter_cloudprovider_errors_total",
            &[
                ("controller", "nodeclaim.lifecycle"),
                ("error", "InsufficientCapacityError"),
                ("method", "Create"),
                ("provider", "aws"),
            ],
        );
        r.touch("karpenter_pods_startup_duration_seconds_sum", &[]);
        r.touch("karpenter_pods_startup_duration_seconds_count", &[]);
    }

    /// Advances the world by `dt_s` seconds ending at `t_ms` under the given
    /// incident.
    pub fn step(&mut self, t_ms: i64, dt_s: f64, incident: Option<Incident>) -> StepOutput {
        let mut out = StepOutput::default();
        let t_ns = t_ms * 1_000_000;
        let slow = incident == Some(Incident::SlowProvisioning);

        // Clone and restore requests.
        let clone_rate = if slow { 0.4 } else { 0.1 };
        for _ in 0..self.rng.poisson(clone_rate * dt_s) {
            self.workflow("clone", t_ns, dt_s, incident, &mut out);
        }
        for _ in 0..self.rng.poisson(0.02 * dt_s) {
            self.workflow("restore", t_ns, dt_s, incident, &mut out);
        }
        self.health_checks(t_ns, dt_s, &mut out);
        self.cleanups(t_ms, t_ns, dt_s, &mut out);
        self.karpenter(dt_s, incident);
        self.crash_loop(t_ns, dt_s, incident == Some(Incident::CrashLoop), &mut out);
        self.wordpress_logs(t_ns, dt_s, &mut out);
        self.cluster_metrics(dt_s, incident);
        out
    }

    /// One `/clone` or `/restore` request, end to end: the trace, the log
    /// lines and every metric it moves.
    fn workflow(
        &mut self,
        operation: &'static str,
        t_ns: i64,
        dt_s: f64,
        incident: Option<Incident>,
        out: &mut StepOutput,
    ) {
        let rng = &mut self.rng;
        let ns: &'static str = if rng.chance(0.7) {
            NAMESPACES[0]
        } else {
            NAMESPACES[1]
        };
        let r = rng.f64();
        let outcome = if incident == Some(Incident::FailureSpike) && r < 0.4 {
            Outcome::Failed("rds_unavailable")
        } else if r > 0.995 {
            Outcome::Failed("k8s_api_error")
        } else if r > 0.992 {
            Outcome::Failed("timeout")
        } else if r > 0.99 {
            Outcome::Failed("plugin_install_failed")
        } else {
            Outcome::Ok
        };
        let slow = incident == Some(Incident::SlowProvisioning);
        let duration_s = match outcome {
            Outcome::Failed("rds_unavailable") => rng.range(5.0, 15.0),
            Outcome::Failed("k8s_api_error") => rng.range(0.5, 3.0),
            Outcome::Failed("timeout") => 600.0,
            _ if slow => rng.range(200.0, 420.0),
            _ => rng.range(35.0, 100.0) + if rng.chance(0.1) { 60.0 } else { 0.0 },
        };
        let end_ns = t_ns - (rng.range(0.0, dt_s.max(0.001)) * 1e9) as i64;
        let start_ns = end_ns - (duration_s * 1e9) as i64;
        self.next_clone += 1;
        let clone_id = format!("c-{}", self.next_clone);
        let pod = format!("wp-{}-{}", clone_id, self.rng.suffix(5));
        let source = *self.rng.pick(&SOURCE_SITES);
        let trace_id = self.rng.bytes::<16>();
        let status: i64 = match outcome {
            Outcome::Ok => 201,
            Outcome::Failed("rds_unavailable") => 503,
            Outcome::Failed("timeout") => 504,
            Outcome::Failed(_) => 500,
        };
        let route = format!("/{operation}");
        let error_msg = match outcome {
            Outcome::Ok => None,
            Outcome::Failed("rds_unavailable") => {
                Some(format!("RDS connection refused: {RDS_INSTANCE}"))
            }
            Outcome::Failed("k8s_api_error") => {
                Some("Kubernetes API error: 500 Internal Server Error creating pod".to_string())
            }
            Outcome::Failed("timeout") => Some("ingress not ready after 600s".to_string()),
            Outcome::Failed(_) => Some("plugin installation failed: woocommerce".to_string()),
        };

        // The trace, following the contract's span names.
        let mut tb = TraceBuilder {
            rng: &mut self.rng,
            trace_id,
            spans: Vec::new(),
        };
        let err = error_msg.as_deref();
        let server = tb.span(
            None,
            &format!("POST {route}"),
            SpanKind::Server,
            start_ns,
            end_ns,
            vec![
                ("http.request.method", s("POST")),
                ("http.route", s(&route)),
                ("http.response.status_code", Attr::Int(status)),
            ],
            err,
        );
        let wf = tb.span(
            Some(server),
            &format!("wp.{operation}"),
            SpanKind::Internal,
            start_ns + 2_000_000,
            end_ns - 1_000_000,
            vec![
                ("wp.clone.id", s(&clone_id)),
                ("wp.target_namespace", s(ns)),
                ("wp.source_site", s(source)),
            ],
            err,
        );
        let mut cursor = start_ns + 3_000_000;
        let rds_end = if outcome == Outcome::Failed("rds_unavailable") {
            end_ns - 2_000_000
        } else {
            cursor + 25_000_000
        };
        tb.span(
            Some(wf),
            "rds.connect",
            SpanKind::Client,
            cursor,
            rds_end,
            vec![
                ("db.system", s("mysql")),
                (
                    "server.address",
                    s("wp-clones-db.cluster-c9x2.eu-west-1.rds.amazonaws.com"),
                ),
            ],
            if outcome == Outcome::Failed("rds_unavailable") {
                err
            } else {
                None
            },
        );
        let mut k8s_calls: Vec<(&str, &str, &str, f64)> = Vec::new();
        if outcome != Outcome::Failed("rds_unavailable") {
            cursor = rds_end + 1_000_000;
            let api_s = tb.rng.range(0.04, 0.3);
            let api_end = cursor + (api_s * 1e9) as i64;
            let api_failed = outcome == Outcome::Failed("k8s_api_error");
            tb.span(
                Some(wf),
                "k8s.api create_pod",
                SpanKind::Client,
                cursor,
                api_end,
                vec![
                    ("k8s.namespace.name", s(ns)),
                    ("k8s.pod.name", s(&pod)),
                    (
                        "http.response.status_code",
                        Attr::Int(if api_failed { 500 } else { 201 }),
                    ),
                ],
                if api_failed { err } else { None },
            );
            k8s_calls.push((
                "create",
                "pods",
                if api_failed { "500" } else { "201" },
                api_s,
            ));
            if !api_failed {
                let remaining = (end_ns - 2_000_000 - api_end).max(3_000_000);
                let pod_end = api_end + remaining * 5 / 10;
                let plugins_end = api_end + remaining * 8 / 10;
                tb.span(
                    Some(wf),
                    "pod.create",
                    SpanKind::Internal,
                    api_end,
                    pod_end,
                    vec![("k8s.namespace.name", s(ns)), ("k8s.pod.name", s(&pod))],
                    None,
                );
                let plugin_failed = outcome == Outcome::Failed("plugin_install_failed");
                let count = 2 + tb.rng.below(3) as i64;
                tb.span(
                    Some(wf),
                    "wp.plugins.install",
                    SpanKind::Internal,
                    pod_end,
                    plugins_end,
                    vec![("wp.plugin.count", Attr::Int(count))],
                    if plugin_failed { err } else { None },
                );
                if !plugin_failed {
                    tb.span(
                        Some(wf),
                        "ingress.wait_ready",
                        SpanKind::Internal,
                        plugins_end,
                        end_ns - 2_000_000,
                        vec![
                            ("k8s.ingress.name", s(&pod)),
                            (
                                "url.full",
                                s(&format!("https://{clone_id}.{ns}.clones.example.com/")),
                            ),
                        ],
                        if outcome == Outcome::Failed("timeout") {
                            err
                        } else {
                            None
                        },
                    );
                }
                for _ in 0..3 {
                    let g = tb.rng.range(0.005, 0.05);
                    k8s_calls.push(("get", "pods", "200", g));
                }
                k8s_calls.push(("create", "ingresses", "201", tb.rng.range(0.03, 0.2)));
                k8s_calls.push(("get", "ingresses", "200", tb.rng.range(0.005, 0.04)));
            }
        }
        let spans = std::mem::take(&mut tb.spans);
        let wf_span_id = spans[1].span_id;
        out.spans.extend(spans);

        // Logs, as the service writes them (JSON to stdout, via Fluent Bit).
        let trace_hex = trace_id_hex(&trace_id);
        let span_hex = trace_id_hex(&wf_span_id);
        let service_pod = self.service_pods[0].clone();
        let log = |t: i64, level: &str, message: &str| {
            service_line(
                &service_pod,
                t,
                level,
                message,
                &[
                    ("trace_id", &trace_hex),
                    ("span_id", &span_hex),
                    ("clone_id", &clone_id),
                    ("target_namespace", ns),
                    ("operation", operation),
                ],
            )
        };
        out.logs.push(log(
            start_ns + 1_000_000,
            "info",
            &format!("{operation} requested from site {source}"),
        ));
        match (outcome, &error_msg) {
            (Outcome::Ok, _) => {
                out.logs.push(log(
                    start_ns + (duration_s * 0.5e9) as i64,
                    "info",
                    &format!("pod {pod} running"),
                ));
                out.logs.push(log(
                    end_ns,
                    "info",
                    &format!("{operation} ready in {duration_s:.1}s"),
                ));
            }
            (Outcome::Failed(reason), Some(msg)) => {
                if reason == "rds_unavailable" {
                    for attempt in 1..=3 {
                        out.logs.push(log(
                            start_ns + attempt * 3_000_000_000,
                            "warn",
                            &format!(
                                "RDS connection attempt {attempt}/3 failed: connection refused"
                            ),
                        ));
                    }
                }
                out.logs.push(log(
                    end_ns,
                    "error",
                    &format!("{operation} failed ({reason}): {msg}"),
                ));
            }
            (Outcome::Failed(_), None) => {}
        }

        // Metrics.
        let ex = Exemplar {
            trace_id: trace_hex.clone(),
            value: duration_s,
            t_ms: end_ns / 1_000_000,
        };
        let status_s = status.to_string();
        self.reg.observe(
            "http_server_request_duration_seconds",
            &[
                ("http_request_method", "POST"),
                ("http_response_status_code", &status_s),
                ("http_route", &route),
            ],
            &HTTP_BUCKETS,
            duration_s,
            Some(ex.clone()),
        );
        for (verb, resource, code, secs) in k8s_calls {
            self.reg.observe(
                "wp_k8s_api_request_duration_seconds",
                &[("code", code), ("resource", resource), ("verb", verb)],
                &K8S_API_BUCKETS,
                secs,
                None,
            );
        }
        match outcome {
            Outcome::Ok => {
                self.reg.inc(
                    "wp_clones_created_total",
                    &[("operation", operation), ("target_namespace", ns)],
                    1.0,
                );
                self.reg.observe(
                    "wp_clone_provisioning_duration_seconds",
                    &[("operation", operation), ("target_namespace", ns)],
                    &PROVISIONING_BUCKETS,
                    duration_s,
                    Some(ex),
                );
                let n_plugins = 2 + self.rng.below(3);
                for _ in 0..n_plugins {
                    let plugin = *self.rng.pick(&PLUGINS);
                    let secs = if slow {
                        self.rng.range(10.0, 60.0)
                    } else {
                        self.rng.range(1.5, 15.0)
                    };
                    self.reg.observe(
                        "wp_plugin_installation_duration_seconds",
                        &[("plugin", plugin)],
                        &PLUGIN_BUCKETS,
                        secs,
                        None,
                    );
                }
                if operation == "clone" {
                    let ttl = *self
                        .rng
                        .pick(&[14400.0, 43200.0, 86400.0, 86400.0, 259200.0]);
                    self.reg.observe(
                        "wp_clone_ttl_seconds",
                        &[("target_namespace", ns)],
                        &TTL_BUCKETS,
                        ttl,
                        None,
                    );
                    // Clone lifetimes are compressed (minutes, not the TTL's
                    // hours) so that a short demo shows clones come and go.
                    let life_s = self.rng.range(180.0, 420.0);
                    self.sites.push(Site {
                        id: clone_id.clone(),
                        pod: pod.clone(),
                        namespace: ns,
                        expires_ms: end_ns / 1_000_000 + (life_s * 1000.0) as i64,
                    });
                    self.totals.clones_ok += 1;
                } else {
                    self.totals.restores += 1;
                }
            }
            Outcome::Failed(reason) => {
                self.reg.inc(
                    "wp_clones_failed_total",
                    &[
                        ("operation", operation),
                        ("reason", reason),
                        ("target_namespace", ns),
                    ],
                    1.0,
                );
                if reason == "rds_unavailable" {
                    let error = if self.rng.chance(0.7) {
                        "refused"
                    } else {
                        "timeout"
                    };
                    self.reg.inc(
                        "wp_rds_connection_errors_total",
                        &[("db_instance", RDS_INSTANCE), ("error", error)],
                        3.0,
                    );
                }
                self.totals.clones_failed += 1;
            }
        }
    }

    /// Kubelet probes of both replicas (`GET /health`).
    fn health_checks(&mut self, t_ns: i64, dt_s: f64, out: &mut StepOutput) {
        let n = self.rng.poisson(0.4 * dt_s);
        for _ in 0..n {
            let secs = self.rng.range(0.001, 0.006);
            self.reg.observe(
                "http_server_request_duration_seconds",
                &[
                    ("http_request_method", "GET"),
                    ("http_response_status_code", "200"),
                    ("http_route", "/health"),
                ],
                &HTTP_BUCKETS,
                secs,
                None,
            );
        }
        if n > 0 {
            let t = t_ns - (self.rng.range(0.0, dt_s) * 1e9) as i64;
            out.logs.push(service_line(
                &self.service_pods[0],
                t,
                "info",
                "\"GET /health HTTP/1.1\" 200",
                &[],
            ));
        }
    }

    /// Expired clones are deleted; the cleanup counter moves.
    fn cleanups(&mut self, t_ms: i64, t_ns: i64, dt_s: f64, out: &mut StepOutput) {
        let mut kept = Vec::with_capacity(self.sites.len());
        for site in std::mem::take(&mut self.sites) {
            if site.expires_ms > t_ms {
                kept.push(site);
                continue;
            }
            let ok = self.rng.chance(0.98);
            self.reg.inc(
                "wp_clone_cleanups_total",
                &[
                    ("result", if ok { "success" } else { "failure" }),
                    ("target_namespace", site.namespace),
                ],
                1.0,
            );
            let secs = self.rng.range(0.02, 0.15);
            self.reg.observe(
                "wp_k8s_api_request_duration_seconds",
                &[
                    ("code", if ok { "200" } else { "409" }),
                    ("resource", "pods"),
                    ("verb", "delete"),
                ],
                &K8S_API_BUCKETS,
                secs,
                None,
            );
            let t = t_ns - (self.rng.range(0.0, dt_s) * 1e9) as i64;
            out.logs.push(service_line(
                &self.service_pods[0],
                t,
                if ok { "info" } else { "error" },
                &if ok {
                    format!("clone {} expired and deleted", site.id)
                } else {
                    format!("cleanup of clone {} failed: conflict", site.id)
                },
                &[("clone_id", &site.id), ("target_namespace", site.namespace)],
            ));
            if !ok {
                // Retried at the next step.
                kept.push(Site {
                    expires_ms: t_ms + 1,
                    ..site
                });
            }
        }
        self.sites = kept;
    }

    fn karpenter_nodes(&self) -> usize {
        self.nodes.iter().filter(|n| n.karpenter).count()
    }

    /// Karpenter: launches nodes for pending clone pods, consolidates idle
    /// ones, and reacts to spot interruptions.
    fn karpenter(&mut self, dt_s: f64, incident: Option<Incident>) {
        let needed = self
            .sites
            .len()
            .div_ceil(PODS_PER_NODE)
            .max(MIN_KARPENTER_NODES);
        let have = self.karpenter_nodes();
        let slow = incident == Some(Incident::SlowProvisioning);
        let per_step = |rate_per_s: f64| 1.0 - (-rate_per_s * dt_s).exp();
        if have < needed {
            if slow {
                // Spot and on-demand capacity are exhausted in the zones the
                // node pools allow: every launch fails and pods wait.
                let attempts = self.rng.poisson(0.2 * dt_s).max(1);
                self.reg.inc(
                    "karpenter_cloudprovider_errors_total",
                    &[
                        ("controller", "nodeclaim.lifecycle"),
                        ("error", "InsufficientCapacityError"),
                        ("method", "Create"),
                        ("provider", "aws"),
                    ],
                    attempts as f64,
                );
                self.pods_waiting_s += dt_s;
            } else {
                let waited = std::mem::take(&mut self.pods_waiting_s);
                for i in 0..(needed - have) {
                    if i % 2 == 0 {
                        self.launch("spot", "spot", waited);
                    } else {
                        self.launch("general", "on-demand", waited);
                    }
                }
            }
        } else if have > needed + 1 && self.rng.chance(per_step(1.0 / 90.0)) {
            if let Some(i) = self.nodes.iter().rposition(|n| n.karpenter) {
                self.terminate(i, "underutilized");
            }
        }
        let spot_nodes: Vec<usize> = (0..self.nodes.len())
            .filter(|i| self.nodes[*i].capacity_type == "spot")
            .collect();
        if !spot_nodes.is_empty() && self.rng.chance(per_step(1.0 / 1800.0)) {
            self.reg.inc(
                "karpenter_interruption_received_messages_total",
                &[("message_type", "spot_interrupted")],
                1.0,
            );
            let i = spot_nodes[self.rng.below(spot_nodes.len())];
            self.terminate(i, "interrupted");
        }
        let secs = self.rng.range(0.01, 0.3);
        self.reg.observe(
            "karpenter_scheduler_scheduling_duration_seconds",
            &[("controller", "provisioner")],
            &SCHEDULING_BUCKETS,
            secs,
            None,
        );
    }

    /// A new node; the pods it takes had been pending for `waited_s`.
    fn launch(&mut self, nodepool: &'static str, capacity_type: &'static str, waited_s: f64) {
        self.add_node(nodepool, capacity_type, true);
        self.reg.inc(
            "karpenter_nodes_created_total",
            &[("nodepool", nodepool)],
            1.0,
        );
        self.reg.inc(
            "karpenter_nodeclaims_created_total",
            &[("nodepool", nodepool), ("reason", "provisioned")],
            1.0,
        );
        let pods = PODS_PER_NODE.min(3);
        for _ in 0..pods {
            let secs = self.rng.range(35.0, 75.0) + waited_s.min(1800.0);
            self.observe_pod_startup(secs);
        }
        self.totals.nodes_created += 1;
    }

    /// Karpenter publishes pod start-up time as a summary: quantiles over
    /// recent observations plus `_sum` and `_count`.
    fn observe_pod_startup(&mut self, secs: f64) {
        self.reg
            .inc("karpenter_pods_startup_duration_seconds_sum", &[], secs);
        self.reg
            .inc("karpenter_pods_startup_duration_seconds_count", &[], 1.0);
        self.recent_startups.push(secs);
        if self.recent_startups.len() > 100 {
            self.recent_startups.remove(0);
        }
    }

    fn startup_quantiles(&mut self) {
        let mut v = self.recent_startups.clone();
        if v.is_empty() {
            v.push(45.0);
        }
        v.sort_by(f64::total_cmp);
        for (q, label) in [
            (0.0, "0"),
            (0.5, "0.5"),
            (0.9, "0.9"),
            (0.99, "0.99"),
            (1.0, "1"),
        ] {
            let idx = ((v.len() - 1) as f64 * q).round() as usize;
            self.reg.set(
                "karpenter_pods_startup_duration_seconds",
                &[("quantile", label)],
                v[idx],
            );
        }
    }

    fn terminate(&mut self, i: usize, reason: &str) {
        let node = self.nodes.remove(i);
        let nodepool = node.nodepool;
        self.reg.inc(
            "karpenter_nodes_terminated_total",
            &[("nodepool", nodepool)],
            1.0,
        );
        self.reg.inc(
            "karpenter_nodeclaims_terminated_total",
            &[("nodepool", nodepool)],
            1.0,
        );
        self.reg.inc(
            "karpenter_nodeclaims_disrupted_total",
            &[("nodepool", nodepool), ("reason", reason)],
            1.0,
        );
        self.reg.forget("instance", &node.name);
        self.totals.nodes_terminated += 1;
    }

    /// The second replica crash-loops during the incident: restarts climb,
    /// the waiting reason is CrashLoopBackOff and the start-up error is
    /// logged at each restart.
    fn crash_loop(&mut self, t_ns: i64, dt_s: f64, active: bool, out: &mut StepOutput) {
        let pod = self.service_pods[1].clone();
        let labels = [
            ("container", "wp-k8s-service"),
            ("namespace", "wp-system"),
            ("pod", pod.as_str()),
        ];
        self.reg
            .touch("kube_pod_container_status_restarts_total", &labels);
        self.crash_looping = active;
        if !active {
            return;
        }
        let restarts = self.rng.poisson(dt_s / 40.0);
        if restarts > 0 {
            self.reg.inc(
                "kube_pod_container_status_restarts_total",
                &labels,
                restarts as f64,
            );
        }
        for _ in 0..restarts.max(u32::from(self.rng.chance(dt_s / 20.0))) {
            let t = t_ns - (self.rng.range(0.0, dt_s) * 1e9) as i64;
            out.logs.push(service_line(
                &pod,
                t,
                "fatal",
                "startup failed: RuntimeError: cannot load in-cluster Kubernetes config: token file missing",
                &[],
            ));
        }
    }

    /// Access lines from the WordPress clones themselves.
    fn wordpress_logs(&mut self, t_ns: i64, dt_s: f64, out: &mut StepOutput) {
        for i in 0..self.sites.len() {
            let n = self.rng.poisson(0.05 * dt_s);
            for _ in 0..n {
                let t = t_ns - (self.rng.range(0.0, dt_s) * 1e9) as i64;
                let path =
                    *self
                        .rng
                        .pick(&["/", "/wp-admin/", "/wp-login.php", "/shop/", "/feed/"]);
                let code = if self.rng.chance(0.03) { 404 } else { 200 };
                let site = &self.sites[i];
                let message = format!(
                    "10.0.{}.{} - - \"GET {path} HTTP/1.1\" {code} {}",
                    self.rng.below(4),
                    self.rng.below(250),
                    self.rng.below(40_000) + 512
                );
                out.logs.push(LogLine {
                    namespace: site.namespace.to_string(),
                    app: "wordpress".into(),
                    container: "wordpress".into(),
                    t_ns: t,
                    line: json_line(
                        t,
                        site.namespace,
                        &site.pod,
                        "wordpress",
                        if code == 200 { "info" } else { "warn" },
                        &message,
                        &[],
                    ),
                });
            }
        }
    }

    /// What kube-state-metrics, node-exporter, the API server and Karpenter
    /// expose about the current state.
    fn cluster_metrics(&mut self, dt_s: f64, incident: Option<Incident>) {
        let karpenter_capacity = self.karpenter_nodes() * PODS_PER_NODE;
        let karpenter_names: Vec<(String, &'static str)> = self
            .nodes
            .iter()
            .filter(|n| n.karpenter)
            .map(|n| (n.name.clone(), n.nodepool))
            .collect();
        let mut pods_per_node: Vec<usize> = vec![0; self.nodes.len()];
        let mut clone_pods: Vec<(String, &'static str, Option<String>)> = Vec::new();
        for (i, site) in self.sites.iter().enumerate() {
            let node = if i < karpenter_capacity && !karpenter_names.is_empty() {
                Some(karpenter_names[i / PODS_PER_NODE].0.clone())
            } else {
                None
            };
            clone_pods.push((site.pod.clone(), site.namespace, node));
        }
        for (_, _, node) in &clone_pods {
            if let Some(n) = node {
                if let Some(idx) = self.nodes.iter().position(|x| &x.name == n) {
                    pods_per_node[idx] += 1;
                }
            }
        }

        // kube-state-metrics.
        let system = self
            .nodes
            .first()
            .map(|n| n.name.clone())
            .unwrap_or_default();
        let mut all_pods: Vec<(String, String, Option<String>, &str)> = Vec::new();
        for (pod, ns, node) in &clone_pods {
            let phase = if node.is_some() { "Running" } else { "Pending" };
            all_pods.push((pod.clone(), ns.to_string(), node.clone(), phase));
        }
        for pod in &self.service_pods {
            all_pods.push((
                pod.clone(),
                "wp-system".into(),
                Some(system.clone()),
                "Running",
            ));
        }
        all_pods.push((
            "karpenter-7b9d8c6f5-h2x4z".into(),
            "kube-system".into(),
            Some(system.clone()),
            "Running",
        ));
        for (i, node) in self.nodes.iter().enumerate() {
            let short: String = node.name.chars().skip(3).take(11).collect();
            for ds in ["aws-node", "kube-proxy", "fluent-bit", "node-exporter"] {
                let ns = if ds == "fluent-bit" || ds == "node-exporter" {
                    "monitoring"
                } else {
                    "kube-system"
                };
                all_pods.push((
                    format!("{ds}-{short}-{i}"),
                    ns.into(),
                    Some(node.name.clone()),
                    "Running",
                ));
            }
        }
        for (pod, ns, node, phase) in &all_pods {
            let node_s = node.clone().unwrap_or_default();
            self.reg.set(
                "kube_pod_info",
                &[
                    ("job", "kube-state-metrics"),
                    ("namespace", ns),
                    ("node", &node_s),
                    ("pod", pod),
                ],
                1.0,
            );
            for p in ["Pending", "Running", "Succeeded", "Failed", "Unknown"] {
                self.reg.set(
                    "kube_pod_status_phase",
                    &[
                        ("job", "kube-state-metrics"),
                        ("namespace", ns),
                        ("phase", p),
                        ("pod", pod),
                    ],
                    if p == *phase { 1.0 } else { 0.0 },
                );
            }
        }
        if self.crash_looping {
            let pod = self.service_pods[1].clone();
            self.reg.set(
                "kube_pod_container_status_waiting_reason",
                &[
                    ("container", "wp-k8s-service"),
                    ("job", "kube-state-metrics"),
                    ("namespace", "wp-system"),
                    ("pod", &pod),
                    ("reason", "CrashLoopBackOff"),
                ],
                1.0,
            );
        }
        for (pod, ns, node) in &clone_pods {
            if node.is_none() {
                self.reg.set(
                    "kube_pod_container_status_waiting_reason",
                    &[
                        ("container", "wordpress"),
                        ("job", "kube-state-metrics"),
                        ("namespace", ns),
                        ("pod", pod),
                        ("reason", "ContainerCreating"),
                    ],
                    1.0,
                );
            }
        }
        for ns in NAMESPACES {
            let n = self.sites.iter().filter(|s| s.namespace == ns).count();
            self.reg
                .set("wp_clones_active", &[("target_namespace", ns)], n as f64);
        }

        // Nodes: kube-state-metrics, node-exporter and Karpenter's view.
        // The first system node (never consolidated away) fills up.
        let disk_node = 0;
        for (i, node) in self.nodes.iter_mut().enumerate() {
            let name = node.name.clone();
            self.reg.set(
                "kube_node_info",
                &[
                    ("internal_ip", &node.ip),
                    ("job", "kube-state-metrics"),
                    ("kubelet_version", "v1.31.4-eks-aeac579"),
                    ("node", &name),
                ],
                1.0,
            );
            self.reg.set(
                "kube_node_labels",
                &[
                    ("job", "kube-state-metrics"),
                    ("label_karpenter_sh_capacity_type", node.capacity_type),
                    ("label_karpenter_sh_nodepool", node.nodepool),
                    ("node", &name),
                ],
                1.0,
            );
            let busy = (0.12 + 0.11 * pods_per_node[i] as f64 + self.rng.range(-0.03, 0.03))
                .clamp(0.02, 0.97);
            for cpu in 0..NODE_CORES {
                let cpu_s = cpu.to_string();
                for (mode, share) in [
                    ("idle", 1.0 - busy),
                    ("user", busy * 0.7),
                    ("system", busy * 0.25),
                    ("iowait", busy * 0.05),
                ] {
                    self.reg.inc(
                        "node_cpu_seconds_total",
                        &[
                            ("cpu", &cpu_s),
                            ("instance", &name),
                            ("job", "node-exporter"),
                            ("mode", mode),
                        ],
                        share * dt_s,
                    );
                }
            }
            let used_mem = (0.25 + 0.1 * pods_per_node[i] as f64).min(0.92);
            let inst = [("instance", name.as_str()), ("job", "node-exporter")];
            self.reg
                .set("node_memory_MemTotal_bytes", &inst, NODE_MEMORY);
            self.reg.set(
                "node_memory_MemAvailable_bytes",
                &inst,
                NODE_MEMORY * (1.0 - used_mem),
            );
            let target = if incident == Some(Incident::DiskPressure) && i == disk_node {
                0.88
            } else {
                0.45
            };
            // Disks fill and drain gradually.
            node.disk_used += (target - node.disk_used) * (1.0 - (-dt_s / 60.0).exp());
            let fs = [
                ("device", "/dev/nvme0n1p1"),
                ("fstype", "xfs"),
                ("instance", name.as_str()),
                ("job", "node-exporter"),
                ("mountpoint", "/"),
            ];
            self.reg.set("node_filesystem_size_bytes", &fs, NODE_DISK);
            self.reg.set(
                "node_filesystem_avail_bytes",
                &fs,
                NODE_DISK * (1.0 - node.disk_used),
            );
            if node.karpenter {
                for (rt, alloc, pod_req, daemon) in [
                    (
                        "cpu",
                        NODE_CORES as f64 - 0.2,
                        0.5 * pods_per_node[i] as f64,
                        0.35,
                    ),
                    (
                        "memory",
                        NODE_MEMORY * 0.9,
                        1.5 * 1024.0 * 1024.0 * 1024.0 * pods_per_node[i] as f64,
                        0.6 * 1024.0 * 1024.0 * 1024.0,
                    ),
                ] {
                    let l = [
                        ("job", "karpenter"),
                        ("node_name", name.as_str()),
                        ("nodepool", node.nodepool),
                        ("resource_type", rt),
                    ];
                    self.reg.set("karpenter_nodes_allocatable", &l, alloc);
                    self.reg
                        .set("karpenter_nodes_total_pod_requests", &l, pod_req);
                    self.reg
                        .set("karpenter_nodes_total_daemon_requests", &l, daemon);
                }
            }
        }
        self.startup_quantiles();
        self.reg.set(
            "karpenter_cluster_state_node_count",
            &[("job", "karpenter")],
            self.nodes.len() as f64,
        );
        for (pod, ns, node) in &clone_pods {
            let nodepool = node
                .as_ref()
                .and_then(|n| karpenter_names.iter().find(|(k, _)| k == n))
                .map(|(_, p)| *p)
                .unwrap_or("");
            self.reg.set(
                "karpenter_pods_state",
                &[
                    ("job", "karpenter"),
                    ("namespace", ns),
                    ("nodepool", nodepool),
                    ("phase", if node.is_some() { "Running" } else { "Pending" }),
                    ("name", pod),
                ],
                1.0,
            );
        }

        // The API server: background traffic plus the service's own calls.
        let pods_churn = self.sites.len() as f64 * 0.01;
        for (verb, resource, code, rate) in [
            ("GET", "pods", "200", 3.0 + pods_churn),
            ("LIST", "pods", "200", 0.8),
            ("WATCH", "pods", "200", 0.2),
            ("POST", "pods", "201", 0.12),
            ("DELETE", "pods", "200", 0.1),
            ("GET", "nodes", "200", 1.0),
            ("LIST", "nodes", "200", 0.3),
            ("PATCH", "nodes", "200", 0.5),
            ("POST", "ingresses", "201", 0.1),
            ("GET", "leases", "200", 2.0),
            ("PUT", "leases", "200", 2.0),
            ("GET", "configmaps", "404", 0.05),
        ] {
            let n = self.rng.poisson(rate * dt_s);
            self.reg.inc(
                "apiserver_request_total",
                &[
                    ("code", code),
                    ("job", "apiserver"),
                    ("resource", resource),
                    ("verb", verb),
                ],
                n as f64,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(w: &mut World, name: &str, label: (&str, &str)) -> f64 {
        w.reg
            .scrape()
            .iter()
            .filter(|p| {
                p.labels.iter().any(|(n, v)| n == "__name__" && v == name)
                    && p.labels.iter().any(|(n, v)| n == label.0 && v == label.1)
                    && !p.value.is_nan()
            })
            .map(|p| p.value)
            .sum()
    }

    fn run(w: &mut World, incident: Option<Incident>, seconds: i64) -> StepOutput {
        let mut all = StepOutput::default();
        for i in 0..seconds / 10 {
            let o = w.step(1_700_000_000_000 + i * 10_000, 10.0, incident);
            all.logs.extend(o.logs);
            all.spans.extend(o.spans);
            w.reg.scrape();
        }
        all
    }

    #[test]
    fn calm_hour_is_mostly_successful_with_traces_and_logs() {
        let mut w = World::new(42);
        let out = run(&mut w, None, 3600);
        assert!(w.totals.clones_ok > 250, "{:?}", w.totals);
        assert!(
            w.totals.clones_failed < w.totals.clones_ok / 20,
            "{:?}",
            w.totals
        );
        assert!(w.active_clones() > 10 && w.active_clones() < 50);
        let names: std::collections::BTreeSet<&str> =
            out.spans.iter().map(|s| s.name.as_str()).collect();
        for n in [
            "POST /clone",
            "wp.clone",
            "rds.connect",
            "k8s.api create_pod",
            "pod.create",
            "wp.plugins.install",
            "ingress.wait_ready",
        ] {
            assert!(names.contains(n), "missing span {n}: {names:?}");
        }
        assert!(out.logs.iter().any(|l| l.app == "wordpress"));
        let line: serde_json::Value =
            serde_json::from_str(&out.logs[0].line).expect("log lines are JSON");
        for k in [
            "timestamp",
            "namespace",
            "pod",
            "container",
            "level",
            "message",
        ] {
            assert!(line.get(k).is_some(), "missing {k} in {line}");
        }
    }

    #[test]
    fn failure_spike_fails_clones_on_rds() {
        let mut w = World::new(1);
        run(&mut w, Some(Incident::FailureSpike), 1200);
        let ok = w.totals.clones_ok as f64;
        let failed = w.totals.clones_failed as f64;
        assert!(failed / (ok + failed) > 0.25, "{:?}", w.totals);
        assert!(
            value(
                &mut w,
                "wp_rds_connection_errors_total",
                ("db_instance", RDS_INSTANCE)
            ) > 10.0
        );
    }

    #[test]
    fn slow_provisioning_piles_up_clones_and_karpenter_errors() {
        let mut w = World::new(2);
        run(&mut w, Some(Incident::SlowProvisioning), 900);
        assert!(w.active_clones() > 50, "active {}", w.active_clones());
        assert!(
            value(
                &mut w,
                "karpenter_cloudprovider_errors_total",
                ("error", "InsufficientCapacityError")
            ) > 5.0
        );
    }

    #[test]
    fn crash_loop_sets_the_waiting_reason_and_restarts() {
        let mut w = World::new(3);
        run(&mut w, Some(Incident::CrashLoop), 600);
        w.step(1_800_000_000_000, 10.0, Some(Incident::CrashLoop));
        assert_eq!(
            value(
                &mut w,
                "kube_pod_container_status_waiting_reason",
                ("reason", "CrashLoopBackOff")
            ),
            1.0
        );
        w.step(1_800_000_010_000, 10.0, None);
        assert_eq!(
            value(
                &mut w,
                "kube_pod_container_status_waiting_reason",
                ("reason", "CrashLoopBackOff")
            ),
            0.0,
            "the series goes stale when the incident ends"
        );
    }

    #[test]
    fn disk_pressure_fills_one_node_above_80_percent() {
        let mut w = World::new(4);
        run(&mut w, Some(Incident::DiskPressure), 600);
        w.step(1_800_000_000_000, 10.0, Some(Incident::DiskPressure));
        let pts = w.reg.scrape();
        let worst = pts
            .iter()
            .filter(|p| {
                p.labels
                    .iter()
                    .any(|(_, v)| v == "node_filesystem_avail_bytes")
            })
            .map(|p| 1.0 - p.value / NODE_DISK)
            .fold(0.0, f64::max);
        assert!(worst > 0.8, "worst disk usage {worst}");
    }

    #[test]
    fn timestamps_format_as_rfc3339() {
        assert_eq!(
            rfc3339(1_700_000_000_123_000_000),
            "2023-11-14T22:13:20.123Z"
        );
    }
}
