//! The deploy bundle against a real Cairn: a `cairn` child process loads
//! `deploy/cairn/rules/*.yaml` (the recording rules and the seven alerts),
//! `cairn demo` fills it over remote write, Loki push and OTLP, and then
//! every query of every panel of the four dashboards in
//! `deploy/grafana/dashboards/` — PromQL and LogQL, with the dashboard
//! variables resolved the way Grafana resolves them (query variables are
//! asked of Cairn) — must return data. Every rule must evaluate without
//! error and every recording rule must produce series. With the recording
//! rules evaluated over the backfill (`cairn demo --record-rules`), every
//! range panel must show data across the history.
//!
//! Annotation queries must succeed; the LogQL ones (error logs) must find
//! lines, the firing-alerts ones may be empty: whether an alert fires
//! depends on the moment.
//!
//! A second test checks the demo's script against the seven alerts: with
//! the whole script backfilled, each alert's condition (its `expr` over a
//! range) must hold for at least its `for` during the incident written to
//! trigger it, end afterwards (the alert resolves), and never hold that
//! long outside it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{repo, KillOnDrop as Proc};

fn rule_files() -> Vec<PathBuf> {
    let dir = repo().join("deploy/cairn/rules");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("deploy/cairn/rules")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "rule files in {dir:?}: {files:?}");
    files
}

fn dashboards() -> Vec<(String, Value)> {
    let dir = repo().join("deploy/grafana/dashboards");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).expect("deploy/grafana/dashboards") {
        let p = e.expect("entry").path();
        if p.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&p).expect("read dashboard");
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not JSON: {e}", p.display()));
            out.push((p.file_name().unwrap().to_string_lossy().into_owned(), v));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Panels, rows' nested panels included.
fn panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for p in list.as_array().into_iter().flatten() {
            if p["type"] == "row" {
                walk(&p["panels"], out);
            } else {
                out.push(p);
            }
        }
    }
    walk(&d["panels"], &mut out);
    out
}

/// The datasource uid of a target, falling back to its panel's.
fn datasource_uid<'a>(target: &'a Value, panel: &'a Value) -> &'a str {
    target["datasource"]["uid"]
        .as_str()
        .or_else(|| panel["datasource"]["uid"].as_str())
        .unwrap_or("")
}

/// Grafana's interpolation of `$var`, `${var}`, `${var:fmt}` and `[[var]]`
/// plus the built-in interval variables.
fn interpolate(expr: &str, vars: &BTreeMap<String, String>) -> String {
    let mut all: Vec<(String, String)> = vec![
        ("__rate_interval".into(), "1m".into()),
        ("__interval".into(), "30s".into()),
        ("__range".into(), "1h".into()),
        ("__range_s".into(), "3600".into()),
        ("__auto".into(), "1m".into()),
    ];
    all.extend(vars.iter().map(|(k, v)| (k.clone(), v.clone())));
    // Longest names first so `$__range_s` is not read as `$__range` + `_s`.
    all.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
    let mut s = expr.to_string();
    for (name, value) in &all {
        for fmt in ["regex", "pipe", "raw", "text"] {
            s = s.replace(&format!("${{{name}:{fmt}}}"), value);
        }
        s = s.replace(&format!("${{{name}}}"), value);
        s = s.replace(&format!("[[{name}]]"), value);
        s = s.replace(&format!("${name}"), value);
    }
    s
}

struct Cairn {
    client: reqwest::Client,
    base: String,
    /// X-Scope-OrgID, when not the default tenant.
    tenant: Option<&'static str>,
}

impl Cairn {
    async fn get(&self, path: &str, params: &[(&str, String)]) -> Value {
        let mut req = self
            .client
            .get(format!("{}{path}", self.base))
            .query(params);
        if let Some(t) = self.tenant {
            req = req.header("X-Scope-OrgID", t);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert!(
            status.is_success(),
            "GET {path} {params:?} answered {status}: {body}"
        );
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: {e}: {body}"))
    }

    /// Values of a Grafana Prometheus query variable.
    async fn variable_values(&self, query: &str) -> Vec<String> {
        let q = query.trim();
        let inner = q
            .strip_prefix("label_values(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or_else(|| panic!("unsupported variable query {q:?}"));
        let (matcher, label) = match inner.rsplit_once(',') {
            Some((m, l)) => (Some(m.trim().to_string()), l.trim().to_string()),
            None => (None, inner.trim().to_string()),
        };
        let mut params = Vec::new();
        if let Some(m) = matcher {
            params.push(("match[]", m));
        }
        let v = self
            .get(&format!("/api/v1/label/{label}/values"), &params)
            .await;
        v["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    }
}

/// The value Grafana substitutes for each template variable on first load.
async fn resolve_variables(cairn: &Cairn, d: &Value) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for v in d["templating"]["list"].as_array().into_iter().flatten() {
        let name = v["name"].as_str().unwrap_or_default().to_string();
        let options: Vec<String> = match v["type"].as_str() {
            Some("query") => {
                let q = v["query"]["query"]
                    .as_str()
                    .or_else(|| v["query"].as_str())
                    .or_else(|| v["definition"].as_str())
                    .unwrap_or_default();
                let q = interpolate(q, &vars);
                cairn.variable_values(&q).await
            }
            Some("custom") => v["query"]
                .as_str()
                .unwrap_or_default()
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            Some("constant") | Some("textbox") => {
                vec![v["query"].as_str().unwrap_or_default().to_string()]
            }
            Some("interval") => vec!["5m".to_string()],
            Some("datasource") => continue,
            other => panic!("variable {name}: unhandled type {other:?}"),
        };
        assert!(
            !options.is_empty(),
            "variable {name} has no values against the demo's data"
        );
        let current = v["current"]["value"].clone();
        let chosen = match &current {
            Value::String(s) if s == "$__all" => None,
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Array(a) if a.len() == 1 && a[0] != "$__all" => {
                a[0].as_str().map(str::to_string)
            }
            _ => None,
        };
        let value = match chosen {
            Some(s) => s,
            None if v["includeAll"] == true => match v["allValue"].as_str() {
                Some(all) if !all.is_empty() => all.to_string(),
                _ => options.join("|"),
            },
            None => options[0].clone(),
        };
        vars.insert(name, value);
    }
    vars
}

fn result_len(v: &Value) -> usize {
    v["data"]["result"].as_array().map(Vec::len).unwrap_or(0)
}

/// The demo's backfilled history in the dashboard test, in seconds.
const HISTORY_S: f64 = 50.0 * 60.0;
/// The range queries' step, in seconds.
const STEP_S: f64 = 60.0;

/// How many range-query steps of the history have a value (any series).
fn covered_steps(v: &Value) -> usize {
    steps_with_data(v).len()
}

/// The distinct times of a range query's result that have a value in any
/// series, in order.
fn steps_with_data(v: &Value) -> Vec<i64> {
    let mut ts: Vec<i64> = v["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["values"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p[0].as_f64().map(|t| t as i64))
        .collect();
    ts.sort_unstable();
    ts.dedup();
    ts
}

async fn run_query(cairn: &Cairn, uid: &str, expr: &str, instant: bool) -> Value {
    let now = common::now_ms() as f64 / 1000.0;
    let start = (now - HISTORY_S).to_string();
    let end = now.to_string();
    match (uid, instant) {
        ("cairn-prometheus", false) => {
            cairn
                .get(
                    "/api/v1/query_range",
                    &[
                        ("query", expr.to_string()),
                        ("start", start),
                        ("end", end),
                        ("step", STEP_S.to_string()),
                    ],
                )
                .await
        }
        ("cairn-prometheus", true) => {
            cairn
                .get(
                    "/api/v1/query",
                    &[("query", expr.to_string()), ("time", end)],
                )
                .await
        }
        ("cairn-loki", _) => {
            cairn
                .get(
                    "/loki/api/v1/query_range",
                    &[
                        ("query", expr.to_string()),
                        (
                            "start",
                            format!("{}", (now - HISTORY_S) as i64 * 1_000_000_000),
                        ),
                        ("end", format!("{}", now as i64 * 1_000_000_000)),
                        ("step", "60".into()),
                        ("limit", "100".into()),
                    ],
                )
                .await
        }
        (other, _) => panic!("query {expr:?} on unknown datasource uid {other:?}"),
    }
}

fn write_config(dir: &Path) -> PathBuf {
    let files: Vec<String> = rule_files()
        .iter()
        .map(|p| format!("    - {}", p.display()))
        .collect();
    let cfg = format!(
        "metrics:\n  out_of_order_window: 1h\nrules:\n  evaluation_interval: 1s\n  files:\n{}\n",
        files.join("\n")
    );
    let path = dir.join("cairn.yaml");
    std::fs::write(&path, cfg).expect("write config");
    path
}

/// A `cairn` child process with the deploy rules, on a free port.
async fn start_cairn(dir: &Path) -> (Proc, String) {
    let port = common::free_port();
    let cfg = write_config(dir);
    let server = common::spawn_cairn(Some(&cfg), &dir.join("data"), port);
    common::wait_ready(&reqwest::Client::new(), port).await;
    (server, format!("http://127.0.0.1:{port}"))
}

/// Runs `cairn demo` to completion with the given extra arguments.
fn run_demo(base: &str, args: &[&str]) {
    let demo = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args(["demo", "--url", base])
        .args(args)
        .output()
        .expect("run cairn demo");
    let demo_log = String::from_utf8_lossy(&demo.stderr);
    assert!(demo.status.success(), "cairn demo failed:\n{demo_log}");
    assert!(
        demo_log.contains(" 0 write errors"),
        "the demo's writes failed:\n{demo_log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_panel_answers_with_the_demo_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, base) = start_cairn(dir.path()).await;
    let client = reqwest::Client::new();

    // 50 minutes of history with the recording rules evaluated over it,
    // then a live failure spike at one scrape a second.
    let recording = repo().join("deploy/cairn/rules/recording.yaml");
    run_demo(
        &base,
        &[
            "--record-rules",
            recording.to_str().expect("utf-8 path"),
            "--backfill",
            "50m",
            "--interval",
            "1s",
            "--duration",
            "15s",
            "--calm",
            "0s",
            "--incident-length",
            "1h",
            "--incidents",
            "failure-spike",
            "--seed",
            "7",
        ],
    );
    let cairn = Cairn {
        client,
        base,
        tenant: None,
    };

    // Every rule loaded and evaluated cleanly at least once.
    let deadline = Instant::now() + Duration::from_secs(30);
    let groups = loop {
        let v = cairn.get("/api/v1/rules", &[]).await;
        let groups = v["data"]["groups"].as_array().cloned().unwrap_or_default();
        let evaluated = groups.iter().all(|g| {
            g["rules"].as_array().into_iter().flatten().all(|r| {
                r["lastEvaluation"]
                    .as_str()
                    .is_some_and(|t| !t.starts_with("0001-"))
            })
        });
        if !groups.is_empty() && evaluated {
            break groups;
        }
        assert!(Instant::now() < deadline, "rules never evaluated: {v}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut alerts = 0;
    let mut records = Vec::new();
    for g in &groups {
        for r in g["rules"].as_array().into_iter().flatten() {
            assert_eq!(
                r["health"], "ok",
                "rule {} in {}: {}",
                r["name"], g["file"], r["lastError"]
            );
            match r["type"].as_str() {
                Some("alerting") => alerts += 1,
                Some("recording") => records.push(r["name"].as_str().unwrap_or("").to_string()),
                other => panic!("rule type {other:?}"),
            }
        }
    }
    assert_eq!(alerts, 7, "the seven alerts of issue 7");
    for record in &records {
        let v = run_query(&cairn, "cairn-prometheus", record, true).await;
        assert!(
            result_len(&v) > 0,
            "recording rule {record} produced nothing from the demo's data"
        );
    }

    let boards = dashboards();
    assert_eq!(
        boards.len(),
        4,
        "four dashboards: {:?}",
        boards.iter().map(|b| &b.0).collect::<Vec<_>>()
    );
    let mut checked = 0;
    let mut with_history = 0;
    let mut log_annotations = 0;
    for (file, d) in &boards {
        let vars = resolve_variables(&cairn, d).await;
        for panel in panels(d) {
            let title = panel["title"].as_str().unwrap_or("?");
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            assert!(
                !targets.is_empty(),
                "{file}: panel {title:?} has no queries"
            );
            for t in &targets {
                if t["hide"] == true {
                    continue;
                }
                let Some(raw) = t["expr"].as_str() else {
                    panic!("{file}: panel {title:?}: a target without expr: {t}");
                };
                let expr = interpolate(raw, &vars);
                assert!(
                    !expr.contains('$'),
                    "{file}: panel {title:?}: unresolved variable in {expr}"
                );
                let uid = datasource_uid(t, panel);
                let instant = t["instant"] == true && t["range"] != true;
                let v = run_query(&cairn, uid, &expr, instant).await;
                assert!(
                    result_len(&v) > 0,
                    "{file}: panel {title:?}: no data for {expr}\n{v}"
                );
                // Every range panel shows the demo's history, the ones on
                // recording rules too (`--record-rules`).
                if uid == "cairn-prometheus" && !instant {
                    let steps = (HISTORY_S / STEP_S) as usize;
                    let covered = covered_steps(&v);
                    assert!(
                        covered * 10 >= steps * 8,
                        "{file}: panel {title:?}: data at only {covered} of {steps} steps \
                         of the history for {expr}"
                    );
                    with_history += 1;
                }
                checked += 1;
            }
        }
        for a in d["annotations"]["list"].as_array().into_iter().flatten() {
            let Some(raw) = a["expr"].as_str() else {
                continue;
            };
            let uid = a["datasource"]["uid"].as_str().unwrap_or("");
            let expr = interpolate(raw, &vars);
            let v = run_query(&cairn, uid, &expr, false).await;
            assert_eq!(v["status"], "success", "{file}: annotation {expr}: {v}");
            // The history is one long failure spike: its error lines must
            // be there. (Whether an alert is firing depends on the moment.)
            if uid == "cairn-loki" {
                assert!(
                    result_len(&v) > 0,
                    "{file}: log annotation found nothing: {expr}"
                );
                log_annotations += 1;
            }
        }
    }
    assert!(checked >= 16, "only {checked} panel queries checked");
    assert_eq!(log_annotations, 2, "the two LogQL annotations");
    assert!(
        with_history >= 16,
        "only {with_history} panel queries were checked for history"
    );
}

/// The alerts of a rule file: name, expression and `for` in seconds.
fn alerts() -> Vec<(String, String, u64)> {
    let text = std::fs::read_to_string(repo().join("deploy/cairn/rules/alerts.yaml"))
        .expect("alerts.yaml");
    let v: Value = serde_saphyr::from_str(&text).expect("alerts.yaml is YAML");
    let mut out = Vec::new();
    for g in v["groups"].as_array().into_iter().flatten() {
        for r in g["rules"].as_array().into_iter().flatten() {
            let (Some(name), Some(expr)) = (r["alert"].as_str(), r["expr"].as_str()) else {
                continue;
            };
            let for_s = r["for"]
                .as_str()
                .map(|f| cairn::units::parse_duration(f).expect("for").as_secs())
                .unwrap_or(0);
            out.push((name.to_string(), expr.to_string(), for_s));
        }
    }
    out
}

/// Where each alert's trigger is in the demo's default script (minutes
/// from the script's start: calm 5m, failure-spike 10m, calm 5m,
/// slow-provisioning 30m, calm 5m, crash-loop 15m, calm 5m, disk-pressure
/// 25m, then round again at minute 100).
fn incident_window(alert: &str) -> (u64, u64) {
    match alert {
        "WordPressCloneFailureRateHigh" | "RDSConnectionFailures" => (5, 15),
        "KarpenterCannotProvisionNodes"
        | "WordPressCloneProvisioningSlow"
        | "WordPressActiveClonesHigh" => (20, 50),
        "WpK8sServiceCrashLooping" => (55, 70),
        "NodeDiskUsageHigh" => (75, 100),
        other => panic!("alert {other} has no incident in the demo"),
    }
}

const TENANT: &str = "demo-incidents";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_demo_incident_trips_its_alerts_and_only_those() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_server, base) = start_cairn(dir.path()).await;
    // The whole default script (100 minutes) as history, plus 10 minutes,
    // for a tenant of its own: in the default tenant Cairn's own metrics
    // keep the head's newest sample at "now", and a head takes new series
    // only up to an hour behind its newest sample (as Prometheus' does).
    let origin_s = common::now_ms() / 1000 - 110 * 60;
    run_demo(
        &base,
        &[
            "--tenant",
            TENANT,
            "--backfill",
            "110m",
            "--interval",
            "15s",
            "--duration",
            "1s",
            "--seed",
            "5",
        ],
    );
    let cairn = Cairn {
        client: reqwest::Client::new(),
        base,
        tenant: Some(TENANT),
    };
    let step = 30i64;
    let end_s = common::now_ms() / 1000;
    for (name, expr, for_s) in alerts() {
        let v = cairn
            .get(
                "/api/v1/query_range",
                &[
                    ("query", expr.clone()),
                    ("start", origin_s.to_string()),
                    ("end", end_s.to_string()),
                    ("step", step.to_string()),
                ],
            )
            .await;
        // Every evaluation time at which the condition held (any series).
        let held = steps_with_data(&v);
        // Runs of consecutive evaluations, as (first, last) times.
        let mut runs: Vec<(i64, i64)> = Vec::new();
        for t in held {
            match runs.last_mut() {
                Some((_, last)) if t - *last <= step => *last = t,
                _ => runs.push((t, t)),
            }
        }
        let firing: Vec<(i64, i64)> = runs
            .into_iter()
            .filter(|(a, b)| (b - a) as u64 >= for_s)
            .collect();
        let (from_m, to_m) = incident_window(&name);
        let minute = |t: i64| (t - origin_s) as f64 / 60.0;
        assert!(
            !firing.is_empty(),
            "{name}: its condition never held for {for_s}s; the demo's incident does not trip it"
        );
        for (a, b) in &firing {
            let (start, stop) = (minute(*a), minute(*b));
            // The second lap of the script starts at minute 100.
            let first_lap = start >= from_m as f64 - 1.0 && start < to_m as f64;
            let second_lap = start >= (from_m + 100) as f64 - 1.0 && start < (to_m + 100) as f64;
            assert!(
                first_lap || second_lap,
                "{name}: would fire from minute {start:.1} to {stop:.1}, outside its incident \
                 (minutes {from_m}-{to_m})"
            );
        }
        let (_, last_end) = firing[0];
        assert!(
            last_end + step < end_s,
            "{name}: its first firing never resolved (minute {:.1})",
            minute(last_end)
        );
        eprintln!(
            "{name}: fires {:?} (minutes), for {for_s}s",
            firing
                .iter()
                .map(|(a, b)| format!("{:.1}-{:.1}", minute(*a), minute(*b)))
                .collect::<Vec<_>>()
        );
    }
}

#[test]
fn cairn_check_rules_accepts_every_deploy_rule_file() {
    let mut out = Vec::new();
    let code = cairn::rules::check::check_rules(&rule_files(), false, &mut out);
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
}

#[test]
fn interpolation_follows_grafana() {
    let vars = BTreeMap::from([
        ("namespace".to_string(), "a|b".to_string()),
        ("nodepool".to_string(), "spot".to_string()),
    ]);
    assert_eq!(
        interpolate(
            r#"rate(x{ns=~"$namespace",p="${nodepool}"}[$__rate_interval]) / $__range_s"#,
            &vars
        ),
        r#"rate(x{ns=~"a|b",p="spot"}[1m]) / 3600"#
    );
}
