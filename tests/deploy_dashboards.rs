//! The deploy bundle against a real Cairn: a `cairn` child process loads
//! `deploy/cairn/rules/*.yaml` (the recording rules and the seven alerts),
//! `cairn demo` fills it over remote write, Loki push and OTLP, and then
//! every query of every panel of the four dashboards in
//! `deploy/grafana/dashboards/` — PromQL and LogQL, with the dashboard
//! variables resolved the way Grafana resolves them (query variables are
//! asked of Cairn) — must return data. Every rule must evaluate without
//! error and every recording rule must produce series.
//!
//! Annotation queries (firing alerts, error logs) must succeed but may be
//! empty: whether an alert fires depends on the moment.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

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
}

impl Cairn {
    async fn get(&self, path: &str, params: &[(&str, String)]) -> Value {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .query(params)
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

async fn run_query(cairn: &Cairn, uid: &str, expr: &str, instant: bool) -> Value {
    let now = common::now_ms() as f64 / 1000.0;
    let start = (now - 3600.0).to_string();
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
                        ("step", "60".into()),
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
                            format!("{}", (now - 3600.0) as i64 * 1_000_000_000),
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
        "rules:\n  evaluation_interval: 1s\n  files:\n{}\n",
        files.join("\n")
    );
    let path = dir.join("cairn.yaml");
    std::fs::write(&path, cfg).expect("write config");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_panel_answers_with_the_demo_running() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = common::free_port();
    let cfg = write_config(dir.path());
    let _server = Proc(
        Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args(["serve", "--config"])
            .arg(&cfg)
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args([
                "--http-listen-address",
                &format!("127.0.0.1:{port}"),
                "--otlp-grpc-listen-address",
                "",
                "--otlp-http-listen-address",
                "",
                "--log-level",
                "warn",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("start cairn"),
    );
    let client = reqwest::Client::new();
    common::wait_ready(&client, port).await;
    let base = format!("http://127.0.0.1:{port}");

    // An hour of history, then a live failure spike at one scrape a second.
    let demo = Command::new(env!("CARGO_BIN_EXE_cairn"))
        .args([
            "demo",
            "--url",
            &base,
            "--backfill",
            "1h",
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
        ])
        .output()
        .expect("run cairn demo");
    let demo_log = String::from_utf8_lossy(&demo.stderr);
    assert!(demo.status.success(), "cairn demo failed:\n{demo_log}");
    assert!(
        demo_log.contains("0 write errors"),
        "the demo's writes failed:\n{demo_log}"
    );
    let cairn = Cairn {
        client,
        base: base.clone(),
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
        }
    }
    assert!(checked >= 16, "only {checked} panel queries checked");
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
