//! End to end for the instrumentation guide
//! (`docs/instrumenting-wp-k8s-service.md`): the example FastAPI service
//! under `docs/wp-k8s-service/`, driven by
//! `tests/e2e/wp_k8s_service/drive.py` over real HTTP with its OTLP
//! exporters pointed at a real `cairn` binary (OTLP/HTTP on the main
//! port), must produce exactly what `docs/metrics-contract.md` promises:
//! every wp-k8s-service metric under its Prometheus name, labels and
//! buckets, with the counts of the requests driven; every counter series
//! of the contract's label values present at 0 from start-up, so that
//! `increase()` counts the first failure; the active-clones gauge equal to
//! the clones that exist; the contract's log levels; the span names and
//! their parent/child order; JSON log lines (as Fluent Bit ships them) and
//! OTLP log records found by LogQL with the trace id, linked to the span
//! that wrote them.
//!
//! Run with `cargo test --test e2e_instrumentation -- --ignored`. It needs
//! Python 3 with `docs/wp-k8s-service/requirements.txt` installed (done by
//! `.ci/run`) and fails, never skips, when they are missing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const TENANT: &str = "wp-e2e";
const JOB: &str = "wp-k8s-service";

/// The contract's bucket boundaries, as Prometheus `le` values.
const PROVISIONING_LE: &[&str] = &[
    "10", "20", "30", "45", "60", "90", "120", "180", "240", "300", "420", "600", "+Inf",
];
const PLUGIN_LE: &[&str] = &["1", "2", "5", "10", "20", "30", "60", "120", "+Inf"];
const TTL_LE: &[&str] = &[
    "3600", "14400", "43200", "86400", "259200", "604800", "+Inf",
];
const K8S_API_LE: &[&str] = &[
    "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf",
];
const HTTP_LE: &[&str] = &[
    "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5", "5",
    "7.5", "10", "30", "60", "120", "300", "600", "+Inf",
];

struct Cairn {
    _child: common::KillOnDrop,
    port: u16,
    _dir: tempfile::TempDir,
}

fn start_cairn() -> Cairn {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    // OTLP/HTTP goes to the main port.
    let child = common::spawn_cairn(None, dir.path(), port);
    Cairn {
        _child: child,
        port,
        _dir: dir,
    }
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// GET with the tenant header; the JSON body on a 2xx, else None.
async fn get(client: &reqwest::Client, url: &str) -> Option<Value> {
    let resp = client
        .get(url)
        .header("X-Scope-OrgID", TENANT)
        .header("Accept", "application/json")
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json::<Value>().await.ok()
}

/// Polls an expression that yields `Option<T>` until it is `Some` (the
/// exporters have flushed before drive.py exits, so this normally returns
/// at once).
macro_rules! eventually {
    ($what:expr, $body:expr) => {{
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(x) = $body {
                break x;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {}", $what);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }};
}

/// An instant PromQL query; the result vector when it is not empty.
async fn prom(client: &reqwest::Client, base: &str, q: &str) -> Option<Vec<Value>> {
    let v = get(client, &format!("{base}/api/v1/query?query={}", enc(q))).await?;
    let r = v["data"]["result"].as_array()?.clone();
    (!r.is_empty()).then_some(r)
}

/// An instant PromQL query evaluated at `time` (Unix seconds, as text).
async fn prom_at(client: &reqwest::Client, base: &str, q: &str, time: &str) -> Option<Vec<Value>> {
    let v = get(
        client,
        &format!("{base}/api/v1/query?query={}&time={}", enc(q), enc(time)),
    )
    .await?;
    let r = v["data"]["result"].as_array()?.clone();
    (!r.is_empty()).then_some(r)
}

/// The contract's label values (docs/metrics-contract.md).
const OPERATIONS: &[&str] = &["clone", "restore"];
const TARGET_NAMESPACES: &[&str] = &["wordpress-staging", "wordpress-production"];
const FAILURE_REASONS: &[&str] = &[
    "rds_unavailable",
    "k8s_api_error",
    "timeout",
    "plugin_install_failed",
];
const RDS_ERRORS: &[&str] = &["timeout", "refused", "auth", "too_many_connections"];
const CLEANUP_RESULTS: &[&str] = &["success", "failure"];
/// The labels of `wp_clones_failed_total`, in the order of its keys here.
const FAILED_LABELS: &[&str] = &["operation", "target_namespace", "reason"];

/// Sample values keyed by their label values joined by ",".
type Counts = BTreeMap<String, f64>;

/// Every combination of the given label values, joined by "," in the
/// order given (the keys `by_labels` makes), each with the value 0.
fn all_zero(values: &[&[&str]]) -> Counts {
    let mut keys = vec![String::new()];
    for (i, list) in values.iter().enumerate() {
        keys = keys
            .iter()
            .flat_map(|k| {
                list.iter().map(move |v| {
                    if i == 0 {
                        v.to_string()
                    } else {
                        format!("{k},{v}")
                    }
                })
            })
            .collect();
    }
    keys.into_iter().map(|k| (k, 0.0)).collect()
}

/// `all_zero(values)` with the given series set to their counts.
fn zeros_and(values: &[&[&str]], counts: &[(&str, f64)]) -> Counts {
    let mut want = all_zero(values);
    for (k, v) in counts {
        assert!(want.contains_key(*k), "{k} is not a known label set");
        want.insert(k.to_string(), *v);
    }
    want
}

/// `{label values joined by ","} -> sample value` of a PromQL result.
fn by_labels(result: &[Value], labels: &[&str]) -> Counts {
    result
        .iter()
        .map(|s| {
            let key = labels
                .iter()
                .map(|l| s["metric"][*l].as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
                .join(",");
            let value: f64 = s["value"][1].as_str().unwrap().parse().unwrap();
            (key, value)
        })
        .collect()
}

fn expect(pairs: &[(&str, f64)]) -> Counts {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The label names of every series, without the ones every OTLP metric
/// gets (`__name__`, `job`, `instance`, `otel_scope_*`) and `le`.
fn label_names(result: &[Value]) -> BTreeSet<String> {
    result
        .iter()
        .flat_map(|s| s["metric"].as_object().unwrap().keys().cloned())
        .filter(|k| {
            !matches!(k.as_str(), "__name__" | "job" | "instance" | "le")
                && !k.starts_with("otel_scope_")
        })
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The `le` values of a histogram's `_bucket` series, in bucket order.
async fn buckets(client: &reqwest::Client, base: &str, metric: &str) -> Vec<String> {
    let q = format!(r#"count by (le) ({metric}_bucket{{job="{JOB}"}})"#);
    let r = eventually!(q.clone(), prom(client, base, &q).await);
    let mut les: Vec<(f64, String)> = r
        .iter()
        .map(|s| {
            let le = s["metric"]["le"].as_str().unwrap().to_string();
            let n = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            (n, le)
        })
        .collect();
    les.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    les.into_iter().map(|(_, le)| le).collect()
}

/// Cairn's Prometheus API as the metric checks use it.
struct PromApi<'a> {
    client: &'a reqwest::Client,
    base: &'a str,
}

impl PromApi<'_> {
    /// The series an instant query returns, polled until there are some.
    async fn series(&self, query: &str) -> Vec<Value> {
        eventually!(query, prom(self.client, self.base, query).await)
    }

    /// Checks `query`'s value for each label set, keyed as `by_labels`
    /// keys them by `labels`; returns the series for further checks.
    async fn assert_values(&self, query: &str, labels: &[&str], want: Counts) -> Vec<Value> {
        let result = self.series(query).await;
        let got = by_labels(&result, labels);
        assert_eq!(got, want, "{query}: value by {labels:?}");
        result
    }

    /// `assert_values`, and that the series carry exactly `labels`
    /// (besides the ones `label_names` leaves out).
    async fn assert_series(&self, query: &str, labels: &[&str], want: Counts) -> Vec<Value> {
        let result = self.assert_values(query, labels, want).await;
        assert_eq!(label_names(&result), names(labels), "{query}: label names");
        result
    }

    /// A histogram of the service: its `_count` series checked by
    /// `assert_series`, then its bucket boundaries against `le`.
    async fn assert_histogram(&self, metric: &str, labels: &[&str], want: Counts, le: &[&str]) {
        let count = format!(r#"{metric}_count{{job="{JOB}"}}"#);
        self.assert_series(&count, labels, want).await;
        let got = buckets(self.client, self.base, metric).await;
        assert_eq!(got, le, "{metric}: le values");
    }

    /// The value of the first series `query` returns, as Prometheus
    /// writes it.
    async fn first_value(&self, query: &str) -> String {
        let result = self.series(query).await;
        result[0]["value"][1]
            .as_str()
            .unwrap_or_else(|| panic!("{query}: no sample value in {result:?}"))
            .to_string()
    }

    /// Checks the value of the first series `query` returns.
    async fn assert_value(&self, query: &str, want: &str) {
        assert_eq!(self.first_value(query).await, want, "{query}");
    }
}

/// One span of a Tempo JSON trace.
#[derive(Debug, Clone)]
struct Span {
    name: String,
    id: String,
    parent: String,
    kind: String,
    error: bool,
    start: u64,
    attrs: BTreeMap<String, String>,
}

async fn trace_spans(client: &reqwest::Client, base: &str, id: &str) -> Vec<Span> {
    let trace = eventually!(
        format!("trace {id}"),
        get(client, &format!("{base}/api/traces/{id}")).await
    );
    let mut spans = Vec::new();
    for batch in trace["batches"].as_array().expect("batches") {
        assert_eq!(
            resource_attr(batch, "service.name").as_deref(),
            Some(JOB),
            "resource of trace {id}"
        );
        for scope in batch["scopeSpans"].as_array().expect("scopeSpans") {
            for s in scope["spans"].as_array().expect("spans") {
                let attrs: BTreeMap<String, String> = s["attributes"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|kv| {
                                (
                                    kv["key"].as_str().unwrap().to_string(),
                                    any_value(&kv["value"]),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                spans.push(Span {
                    name: s["name"].as_str().unwrap().to_string(),
                    id: s["spanId"].as_str().unwrap().to_string(),
                    parent: s["parentSpanId"].as_str().unwrap_or("").to_string(),
                    kind: s["kind"].as_str().unwrap_or("").to_string(),
                    error: s["status"]["code"].as_str() == Some("STATUS_CODE_ERROR"),
                    start: s["startTimeUnixNano"]
                        .as_str()
                        .map(|t| t.parse().unwrap())
                        .or_else(|| s["startTimeUnixNano"].as_u64())
                        .unwrap(),
                    attrs,
                });
            }
        }
    }
    spans.sort_by_key(|s| s.start);
    spans
}

fn any_value(v: &Value) -> String {
    if let Some(s) = v["stringValue"].as_str() {
        return s.to_string();
    }
    match &v["intValue"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => v.to_string(),
    }
}

fn resource_attr(batch: &Value, key: &str) -> Option<String> {
    batch["resource"]["attributes"]
        .as_array()?
        .iter()
        .find(|kv| kv["key"] == key)
        .map(|kv| any_value(&kv["value"]))
}

/// The steps of a workflow that reaches the ingress, in start order.
const ALL_STEPS: &[&str] = &[
    "rds.connect",
    "k8s.api create_pod",
    "pod.create",
    "wp.plugins.install",
    "ingress.wait_ready",
];

/// Checks the workflow shape: server span at the root, the workflow span
/// its only child, the steps children of the workflow span in this order.
fn assert_workflow(spans: &[Span], server: &str, workflow: &str, steps: &[&str]) {
    let got: Vec<&str> = spans.iter().map(|s| s.name.as_str()).collect();
    let mut want = vec![server, workflow];
    want.extend_from_slice(steps);
    assert_eq!(got, want, "span names in start order");
    let root = &spans[0];
    assert_eq!(root.parent, "", "{server} is the root");
    assert_eq!(root.kind, "SPAN_KIND_SERVER");
    let wf = &spans[1];
    assert_eq!(wf.parent, root.id, "{workflow} is a child of {server}");
    assert_eq!(wf.kind, "SPAN_KIND_INTERNAL");
    for s in &spans[2..] {
        assert_eq!(s.parent, wf.id, "{} is a child of {workflow}", s.name);
        let kind = match s.name.as_str() {
            "rds.connect" | "k8s.api create_pod" => "SPAN_KIND_CLIENT",
            _ => "SPAN_KIND_INTERNAL",
        };
        assert_eq!(s.kind, kind, "kind of {}", s.name);
    }
}

fn span<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no span {name}"))
}

fn has_attrs(s: &Span, keys: &[&str]) {
    for k in keys {
        assert!(
            s.attrs.contains_key(*k),
            "{} lacks {k}: {:?}",
            s.name,
            s.attrs
        );
    }
}

/// A TraceQL search; `(traceID, [(span name, spanID)])` per trace found.
async fn traceql(
    client: &reqwest::Client,
    base: &str,
    q: &str,
) -> Option<Vec<(String, Vec<(String, String)>)>> {
    let v = get(
        client,
        &format!("{base}/api/search?q={}&start=0&end=4000000000", enc(q)),
    )
    .await?;
    let traces: Vec<(String, Vec<(String, String)>)> = v["traces"]
        .as_array()?
        .iter()
        .map(|t| {
            let id = t["traceID"].as_str().unwrap().to_string();
            let spans = t["spanSets"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|set| set["spans"].as_array().cloned().unwrap_or_default())
                .map(|s| {
                    (
                        s["name"].as_str().unwrap_or("").to_string(),
                        s["spanID"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            (id, spans)
        })
        .collect();
    (!traces.is_empty()).then_some(traces)
}

/// A LogQL range query over all time; the lines with their stream labels.
async fn logql(
    client: &reqwest::Client,
    base: &str,
    q: &str,
    at_least: usize,
) -> Option<Vec<(BTreeMap<String, String>, String)>> {
    let v = get(
        client,
        &format!(
            "{base}/loki/api/v1/query_range?query={}&start=0&limit=1000&direction=forward",
            enc(q)
        ),
    )
    .await?;
    let mut lines = Vec::new();
    for stream in v["data"]["result"].as_array()? {
        let labels: BTreeMap<String, String> = stream["stream"]
            .as_object()?
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
            .collect();
        for e in stream["values"].as_array()? {
            lines.push((labels.clone(), e[1].as_str()?.to_string()));
        }
    }
    (lines.len() >= at_least).then_some(lines)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python 3 with docs/wp-k8s-service/requirements.txt (run by .ci/run)"]
async fn the_example_service_produces_the_metrics_contract() {
    let cairn = start_cairn();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    common::wait_ready(&client, cairn.port).await;
    let base = format!("http://127.0.0.1:{}", cairn.port);

    // Drive the example: fixed plan (drive.py's PLAN), telemetry to Cairn.
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/e2e/wp_k8s_service/drive.py"
    );
    let url = base.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &url)
            .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .env(
                "OTEL_EXPORTER_OTLP_HEADERS",
                format!("x-scope-orgid={TENANT}"),
            )
            .env("CAIRN_URL", &url)
            .env("CAIRN_TENANT", TENANT)
            .env_remove("OTEL_SERVICE_NAME")
            .env_remove("OTEL_RESOURCE_ATTRIBUTES")
            .env_remove("OTEL_TRACES_SAMPLER")
            .env_remove("OTEL_TRACES_SAMPLER_ARG")
            .env_remove("OTEL_SDK_DISABLED")
            .stderr(Stdio::inherit())
            .output()
            .expect("python3 must be installed for this test")
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "drive.py failed (are docs/wp-k8s-service/requirements.txt installed?)"
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("drive.py prints JSON");
    let pod = summary["pod"].as_str().unwrap().to_string();
    let trace_id = |key: &str| -> String {
        summary["traces"][key]
            .as_str()
            .unwrap_or_else(|| panic!("drive.py gave no trace id for {key}: {summary}"))
            .to_string()
    };

    // ---- Metrics: names, labels, values, buckets ----------------------
    let sel = format!(r#"job="{JOB}""#);
    let api = PromApi {
        client: &client,
        base: &base,
    };

    // Every operation x namespace series exists (created at 0 at start-up).
    let created = api
        .assert_series(
            &format!("wp_clones_created_total{{{sel}}}"),
            &["operation", "target_namespace"],
            zeros_and(
                &[OPERATIONS, TARGET_NAMESPACES],
                &[
                    ("clone,wordpress-staging", 3.0),
                    ("restore,wordpress-production", 2.0),
                ],
            ),
        )
        .await;
    for s in &created {
        assert_eq!(s["metric"]["job"], JOB, "job is service.name alone");
        assert_eq!(s["metric"]["instance"], pod.as_str(), "instance is the pod");
    }
    // The contract's example selector.
    api.assert_value(
        r#"wp_clones_created_total{job="wp-k8s-service",operation="clone",target_namespace="wordpress-staging"}"#,
        "3",
    )
    .await;

    // All 16 series; the reasons and label sets that never failed are at 0.
    let failures = zeros_and(
        &[OPERATIONS, TARGET_NAMESPACES, FAILURE_REASONS],
        &[
            ("clone,wordpress-production,plugin_install_failed", 1.0),
            ("clone,wordpress-staging,k8s_api_error", 1.0),
            ("clone,wordpress-staging,rds_unavailable", 2.0),
            ("restore,wordpress-production,timeout", 1.0),
        ],
    );
    api.assert_series(
        &format!("wp_clones_failed_total{{{sel}}}"),
        FAILED_LABELS,
        failures.clone(),
    )
    .await;
    // Failures by reason.
    api.assert_value(
        r#"sum(wp_clones_failed_total{job="wp-k8s-service",reason="rds_unavailable"})"#,
        "2",
    )
    .await;

    // drive.py exported once before the first request (series at 0) and
    // once at the end, so increase() sees every failure, the first of each
    // label set included. Evaluated at the last sample, nothing is
    // extrapolated: the increase is exactly the count.
    let last = api
        .first_value(r#"max(timestamp(wp_clones_failed_total{job="wp-k8s-service"}))"#)
        .await;
    let increase = prom_at(
        &client,
        &base,
        r#"increase(wp_clones_failed_total{job="wp-k8s-service"}[1h])"#,
        &last,
    )
    .await
    .expect("increase of wp_clones_failed_total");
    assert_eq!(
        by_labels(&increase, FAILED_LABELS),
        failures,
        "increase() over the run counts every failure"
    );

    // The clones that exist in the (simulated) cluster: 3 staging clones,
    // 2 of them expired and deleted by the second cleanup (the first one
    // failed and left them); 2 production restores.
    let active = expect(&[("wordpress-production", 2.0), ("wordpress-staging", 1.0)]);
    api.assert_series(
        &format!("wp_clones_active{{{sel}}}"),
        &["target_namespace"],
        active.clone(),
    )
    .await;
    // The contract's query: every replica reports the cluster's count.
    api.assert_values(
        r#"max by (target_namespace) (wp_clones_active{job="wp-k8s-service"})"#,
        &["target_namespace"],
        active,
    )
    .await;

    api.assert_series(
        &format!("wp_clone_cleanups_total{{{sel}}}"),
        &["target_namespace", "result"],
        zeros_and(
            &[TARGET_NAMESPACES, CLEANUP_RESULTS],
            &[
                ("wordpress-staging,failure", 2.0),
                ("wordpress-staging,success", 2.0),
            ],
        ),
    )
    .await;

    api.assert_series(
        &format!("wp_rds_connection_errors_total{{{sel}}}"),
        &["db_instance", "error"],
        zeros_and(
            &[&["wp-clones-db"], RDS_ERRORS],
            &[("wp-clones-db,refused", 2.0)],
        ),
    )
    .await;

    // Start-up, before the first request (drive.py read the Prometheus
    // endpoint then): every counter series of the contract's label values
    // at 0, and the gauge at 0 for both namespaces.
    let startup = summary["startup"].as_object().expect("start-up samples");
    // (metric, its label names, the values of each label)
    type ZeroSeries<'a> = (&'a str, &'a [&'a str], &'a [&'a [&'a str]]);
    let startup_zeros: [ZeroSeries; 5] = [
        (
            "wp_clones_created_total",
            &["operation", "target_namespace"],
            &[OPERATIONS, TARGET_NAMESPACES],
        ),
        (
            "wp_clones_failed_total",
            FAILED_LABELS,
            &[OPERATIONS, TARGET_NAMESPACES, FAILURE_REASONS],
        ),
        (
            "wp_rds_connection_errors_total",
            &["db_instance", "error"],
            &[&["wp-clones-db"], RDS_ERRORS],
        ),
        (
            "wp_clone_cleanups_total",
            &["target_namespace", "result"],
            &[TARGET_NAMESPACES, CLEANUP_RESULTS],
        ),
        (
            "wp_clones_active",
            &["target_namespace"],
            &[TARGET_NAMESPACES],
        ),
    ];
    assert_eq!(
        startup.keys().cloned().collect::<BTreeSet<String>>(),
        startup_zeros
            .iter()
            .map(|(name, ..)| name.to_string())
            .collect(),
        "the metrics on the endpoint at start-up"
    );
    for (name, labels, values) in startup_zeros {
        let got: Counts = startup
            .get(name)
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("{name} is not on the endpoint at start-up"))
            .iter()
            .map(|pair| {
                let key = labels
                    .iter()
                    .map(|l| pair[0][*l].as_str().unwrap_or("").to_string())
                    .collect::<Vec<_>>()
                    .join(",");
                (key, pair[1].as_f64().unwrap())
            })
            .collect();
        assert_eq!(got, all_zero(values), "{name} at start-up");
    }

    // The service's own histograms: the `_count` of each label set, and
    // the contract's bucket boundaries.
    let histograms: [(&str, &[&str], Counts, &[&str]); 4] = [
        (
            "wp_clone_provisioning_duration_seconds",
            &["operation", "target_namespace"],
            expect(&[
                ("clone,wordpress-staging", 3.0),
                ("restore,wordpress-production", 2.0),
            ]),
            PROVISIONING_LE,
        ),
        // 3 plugins in each of the 5 successful workflows and the timed-out
        // restore; the plugin failure installs 2 and fails on the third.
        (
            "wp_plugin_installation_duration_seconds",
            &["plugin"],
            expect(&[
                ("woocommerce", 7.0),
                ("wordfence", 7.0),
                ("wp-super-cache", 6.0),
            ]),
            PLUGIN_LE,
        ),
        (
            "wp_clone_ttl_seconds",
            &["target_namespace"],
            expect(&[("wordpress-production", 2.0), ("wordpress-staging", 3.0)]),
            TTL_LE,
        ),
        (
            "wp_k8s_api_request_duration_seconds",
            &["verb", "resource", "code"],
            expect(&[
                ("create,pods,201", 7.0),
                ("create,pods,500", 1.0),
                ("delete,pods,200", 2.0),
                ("delete,pods,500", 2.0),
                // three polls in each of the 6 workflows that reach the ingress
                ("get,ingresses,200", 18.0),
            ]),
            K8S_API_LE,
        ),
    ];
    for (metric, labels, want, le) in histograms {
        api.assert_histogram(metric, labels, want, le).await;
    }
    // Workflows take well under 10 s here: all in the first bucket.
    api.assert_value(
        r#"sum(wp_clone_provisioning_duration_seconds_bucket{job="wp-k8s-service",le="10"})"#,
        "5",
    )
    .await;
    // Two staging clones had a 1 s TTL, the others the default day.
    api.assert_value(
        r#"sum(wp_clone_ttl_seconds_bucket{job="wp-k8s-service",le="3600"})"#,
        "2",
    )
    .await;

    let http = format!(
        "sum by (http_request_method, http_route, http_response_status_code) (http_server_request_duration_seconds_count{{{sel}}})"
    );
    api.assert_values(
        &http,
        &[
            "http_request_method",
            "http_route",
            "http_response_status_code",
        ],
        expect(&[
            ("GET,/health,200", 2.0),
            ("POST,/clone,201", 3.0),
            ("POST,/clone,500", 1.0),
            ("POST,/clone,502", 1.0),
            ("POST,/clone,503", 2.0),
            ("POST,/restore,201", 2.0),
            ("POST,/restore,504", 1.0),
        ]),
    )
    .await;
    // Requests to /clone.
    api.assert_value(
        r#"sum(http_server_request_duration_seconds_count{job="wp-k8s-service",http_route="/clone"})"#,
        "7",
    )
    .await;
    assert_eq!(
        buckets(&client, &base, "http_server_request_duration_seconds").await,
        HTTP_LE,
        "http_server_request_duration_seconds: le values"
    );

    let info = api.series(&format!("target_info{{{sel}}}")).await;
    assert_eq!(info.len(), 1, "{info:?}");
    assert_eq!(info[0]["metric"]["k8s_namespace_name"], "wp-system");
    assert_eq!(info[0]["metric"]["deployment_environment"], "e2e");
    assert!(
        info[0]["metric"].get("service_namespace").is_none(),
        "service.namespace must stay unset"
    );

    // The same names and labels from the SDK's Prometheus endpoint, the
    // in-cluster path (Prometheus scrapes it and remote-writes to Cairn).
    let scraped = summary["scraped"].as_object().expect("scraped label names");
    let mut want_names: BTreeSet<String> = [
        "wp_clones_active",
        "wp_clones_created_total",
        "wp_clones_failed_total",
        "wp_clone_cleanups_total",
        "wp_rds_connection_errors_total",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for histogram in [
        "http_server_request_duration_seconds",
        "wp_clone_provisioning_duration_seconds",
        "wp_plugin_installation_duration_seconds",
        "wp_clone_ttl_seconds",
        "wp_k8s_api_request_duration_seconds",
    ] {
        for suffix in ["_bucket", "_count", "_sum"] {
            want_names.insert(format!("{histogram}{suffix}"));
        }
    }
    assert_eq!(
        scraped.keys().cloned().collect::<BTreeSet<String>>(),
        want_names,
        "metric names on the Prometheus endpoint"
    );
    for (name, labels) in scraped {
        let want: BTreeSet<String> = labels
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().to_string())
            .collect();
        let got = prom(&client, &base, &format!("{name}{{{sel}}}"))
            .await
            .unwrap_or_else(|| panic!("{name} is not in Cairn"));
        assert_eq!(
            label_names(&got),
            want,
            "labels of {name}: OTLP into Cairn vs the Prometheus endpoint"
        );
    }

    // ---- Traces: span names, parent/child order, attributes ----------
    let timeout_id = trace_id("timeout");
    let spans = trace_spans(&client, &base, &timeout_id).await;
    assert_workflow(&spans, "POST /restore", "wp.restore", ALL_STEPS);
    let errors: Vec<&str> = spans
        .iter()
        .filter(|s| s.error)
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        errors,
        vec!["POST /restore", "wp.restore", "ingress.wait_ready"]
    );
    let root = span(&spans, "POST /restore");
    assert_eq!(root.attrs["http.request.method"], "POST");
    assert_eq!(root.attrs["http.route"], "/restore");
    assert_eq!(root.attrs["http.response.status_code"], "504");
    let wf = span(&spans, "wp.restore");
    has_attrs(wf, &["wp.clone.id", "wp.source_site"]);
    assert_eq!(wf.attrs["wp.target_namespace"], "wordpress-production");
    let rds_span = span(&spans, "rds.connect");
    assert_eq!(rds_span.attrs["db.system"], "mysql");
    has_attrs(rds_span, &["server.address"]);
    let create = span(&spans, "k8s.api create_pod");
    assert_eq!(create.attrs["k8s.namespace.name"], "wordpress-production");
    assert_eq!(create.attrs["http.response.status_code"], "201");
    has_attrs(create, &["k8s.pod.name"]);
    let pod_span = span(&spans, "pod.create");
    has_attrs(pod_span, &["k8s.namespace.name", "k8s.pod.name"]);
    assert_eq!(
        span(&spans, "wp.plugins.install").attrs["wp.plugin.count"],
        "3"
    );
    has_attrs(
        span(&spans, "ingress.wait_ready"),
        &["k8s.ingress.name", "url.full"],
    );

    let k8s_error_id = trace_id("k8s_api_error");
    let spans = trace_spans(&client, &base, &k8s_error_id).await;
    assert_workflow(
        &spans,
        "POST /clone",
        "wp.clone",
        &["rds.connect", "k8s.api create_pod"],
    );
    let create = span(&spans, "k8s.api create_pod");
    assert!(create.error, "the failed API call is an error");
    assert_eq!(create.attrs["http.response.status_code"], "500");
    assert!(!span(&spans, "rds.connect").error);
    assert!(span(&spans, "wp.clone").error && span(&spans, "POST /clone").error);

    let rds_id = trace_id("rds_unavailable");
    let spans = trace_spans(&client, &base, &rds_id).await;
    assert_workflow(&spans, "POST /clone", "wp.clone", &["rds.connect"]);
    assert!(span(&spans, "rds.connect").error);

    let ok_id = trace_id("success");
    let spans = trace_spans(&client, &base, &ok_id).await;
    assert_workflow(&spans, "POST /clone", "wp.clone", ALL_STEPS);
    assert!(
        spans.iter().all(|s| !s.error),
        "a successful clone has no error"
    );
    assert_eq!(
        span(&spans, "POST /clone").attrs["http.response.status_code"],
        "201"
    );

    // TraceQL: the failed Kubernetes API call, and the structure.
    let q = r#"{ resource.service.name = "wp-k8s-service" && name = "k8s.api create_pod" && status = error }"#;
    let found = eventually!("TraceQL k8s.api", traceql(&client, &base, q).await);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].0.trim_start_matches('0'),
        k8s_error_id.trim_start_matches('0')
    );
    let q = r#"{ name = "POST /restore" } > { name = "wp.restore" } > { name = "ingress.wait_ready" && status = error }"#;
    let found = eventually!("TraceQL structure", traceql(&client, &base, q).await);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0].0.trim_start_matches('0'),
        timeout_id.trim_start_matches('0')
    );

    // ---- Logs: the JSON lines (Fluent Bit) and the OTLP records ------
    let q = format!(
        r#"{{job="fluent-bit", namespace="wp-system", app="wp-k8s-service"}} | json | trace_id="{k8s_error_id}""#
    );
    let lines = eventually!("JSON logs by trace id", logql(&client, &base, &q, 2).await);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let mut levels = Vec::new();
    let first: Value = serde_json::from_str(&lines[0].1).expect("a JSON line");
    let clone_id = first["clone_id"].as_str().unwrap().to_string();
    let span_id = first["span_id"].as_str().unwrap().to_string();
    for (labels, line) in &lines {
        assert_eq!(labels["container"], "wp-k8s-service");
        let rec: Value = serde_json::from_str(line).expect("a JSON line");
        let keys: BTreeSet<String> = rec.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            names(&[
                "timestamp",
                "namespace",
                "pod",
                "container",
                "level",
                "message",
                "trace_id",
                "span_id",
                "clone_id",
                "target_namespace",
            ]),
            "{line}"
        );
        assert_eq!(rec["trace_id"], k8s_error_id.as_str());
        assert_eq!(rec["pod"], pod.as_str());
        assert_eq!(rec["target_namespace"], "wordpress-staging");
        let ts = rec["timestamp"].as_str().unwrap();
        assert!(ts.len() == 24 && ts.ends_with('Z'), "timestamp {ts}");
        levels.push(rec["level"].as_str().unwrap().to_string());
        assert_eq!(rec["clone_id"], clone_id.as_str(), "one clone");
        assert_eq!(
            rec["span_id"],
            span_id.as_str(),
            "both lines in the workflow span"
        );
        if rec["level"] == "error" {
            assert!(
                rec["message"]
                    .as_str()
                    .unwrap()
                    .contains("Kubernetes API returned 500"),
                "{line}"
            );
        }
    }
    levels.sort();
    assert_eq!(levels, vec!["error", "info"]);

    // Levels: the contract's set, in lower case, from Python's names.
    assert_eq!(
        summary["levels"],
        serde_json::json!({
            "DEBUG": "debug",
            "INFO": "info",
            "WARNING": "warn",
            "ERROR": "error",
            "CRITICAL": "fatal",
        }),
        "JsonLineFormatter's level for each Python level"
    );
    let all = eventually!(
        "all JSON lines",
        logql(
            &client,
            &base,
            r#"{job="fluent-bit", app="wp-k8s-service"}"#,
            summary["log_lines"].as_u64().unwrap() as usize
        )
        .await
    );
    for (_, line) in &all {
        let rec: Value = serde_json::from_str(line).expect("a JSON line");
        let level = rec["level"].as_str().unwrap_or("");
        assert!(
            ["debug", "info", "warn", "error", "fatal"].contains(&level),
            "level outside the contract: {line}"
        );
    }
    // Errors: the 5 failed workflows and the 2 clones the failing cleanup
    // could not delete.
    let q = r#"{job="fluent-bit", app="wp-k8s-service"} | json | level="error""#;
    let errors = eventually!("error lines", logql(&client, &base, q, 7).await);
    assert_eq!(errors.len(), 7, "{errors:?}");
    let not_deleted = errors
        .iter()
        .filter(|(_, line)| {
            let rec: Value = serde_json::from_str(line).unwrap();
            let message = rec["message"].as_str().unwrap();
            message.starts_with("expired clone ") && message.contains("not deleted")
        })
        .count();
    assert_eq!(not_deleted, 2, "cleanup failures are logged at error");

    // The log line's span is the workflow span of its trace (logs -> trace).
    let q = format!(r#"{{ name = "wp.clone" && span.wp.clone.id = "{clone_id}" }}"#);
    let found = eventually!("the span of a log line", traceql(&client, &base, &q).await);
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].0.trim_start_matches('0'),
        k8s_error_id.trim_start_matches('0')
    );
    assert_eq!(found[0].1, vec![("wp.clone".to_string(), span_id)]);

    // The same records over OTLP (OTEL_LOGS_EXPORTER=otlp).
    let q = format!(r#"{{service_name="wp-k8s-service"}} | trace_id="{k8s_error_id}""#);
    let records = eventually!("OTLP logs by trace id", logql(&client, &base, &q, 2).await);
    let mut messages: Vec<String> = records.iter().map(|(_, l)| l.clone()).collect();
    messages.sort();
    assert_eq!(
        messages,
        vec![
            format!(
                "clone {clone_id} failed: Kubernetes API returned 500 creating pod wp-{clone_id}"
            ),
            format!("clone {clone_id} of www.example.com requested"),
        ]
    );
    for (labels, _) in &records {
        assert_eq!(labels["k8s_namespace_name"], "wp-system");
        assert_eq!(labels["clone_id"], clone_id.as_str());
    }
}
