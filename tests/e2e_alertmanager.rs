//! End to end with the real Alertmanager (Debian package
//! `prometheus-alertmanager`): a `cairn` child process evaluates a PromQL
//! and a LogQL alerting rule, sends the alerts to an Alertmanager child
//! process, and Alertmanager delivers them to a webhook receiver inside
//! this test; the firing and then the resolved notifications must arrive
//! with the expected labels and annotations. Ignored in the plain test run
//! because it needs the binary; `.ci/run` runs it with `--ignored`, and it
//! fails (never skips) when Alertmanager is missing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use serde_json::{json, Value};

use common::{get_json, now_ms, series, write_v1};

/// How long each notification may take to arrive.
const WAIT: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A child process killed when the test ends, however it ends.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The webhook receiver Alertmanager notifies: every body it got, in order.
#[derive(Clone, Default)]
struct Webhook(Arc<Mutex<Vec<Value>>>);

impl Webhook {
    async fn start(&self) -> String {
        let seen = self.0.clone();
        let app = axum::Router::new().route(
            "/hook",
            post(move |axum::Json(v): axum::Json<Value>| {
                let seen = seen.clone();
                async move {
                    seen.lock().expect("webhook lock").push(v);
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind webhook");
        let addr = listener.local_addr().expect("webhook addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}/hook")
    }

    /// Waits for a notification with this `status` whose first alert is
    /// named `alertname`, and returns it.
    async fn wait_for(&self, status: &str, alertname: &str, what: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            {
                let seen = self.0.lock().expect("webhook lock");
                if let Some(v) = seen.iter().find(|v| {
                    v["status"] == status && v["alerts"][0]["labels"]["alertname"] == alertname
                }) {
                    return v.clone();
                }
                assert!(
                    Instant::now() < deadline,
                    "no {status} notification for {alertname} within {WAIT:?} ({what}); got: {}",
                    Value::Array(seen.clone())
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Alertmanager, Cairn and the webhook, wired together.
struct Stack {
    cairn: String,
    client: reqwest::Client,
    webhook: Webhook,
    _am: Proc,
    _cairn: Proc,
    _dir: tempfile::TempDir,
}

fn alertmanager_bin() -> PathBuf {
    let bin = PathBuf::from(
        std::env::var("ALERTMANAGER_BIN")
            .unwrap_or_else(|_| "/usr/bin/prometheus-alertmanager".into()),
    );
    assert!(
        bin.exists(),
        "{} not found: install the Debian package prometheus-alertmanager (or set ALERTMANAGER_BIN)",
        bin.display()
    );
    bin
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Starts Alertmanager with a webhook receiver at `hook_url` (group wait
/// and interval 1 s, resolved notifications on); returns it and its port.
async fn start_alertmanager(dir: &Path, hook_url: &str, client: &reqwest::Client) -> (Proc, u16) {
    let am_bin = alertmanager_bin();
    let am_port = free_port();
    let am_cfg = dir.join("alertmanager.yml");
    write(
        &am_cfg,
        &format!(
            r#"route:
  receiver: sink
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs:
      - url: "{hook_url}"
        send_resolved: true
"#
        ),
    );
    let am = Proc(
        Command::new(&am_bin)
            .arg(format!("--config.file={}", am_cfg.display()))
            .arg(format!("--storage.path={}", dir.join("am-data").display()))
            .arg("--cluster.listen-address=")
            .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", am_bin.display())),
    );
    common::wait_http_ok(
        client,
        &format!("http://127.0.0.1:{am_port}/-/ready"),
        "Alertmanager",
    )
    .await;
    (am, am_port)
}

impl Stack {
    /// Starts everything with these rule files (Prometheus' format; the
    /// second is a log rule file, LogQL).
    async fn start(metric_rules: &str, log_rules: &str) -> Stack {
        let dir = tempfile::tempdir().expect("tempdir");
        let client = reqwest::Client::new();
        let webhook = Webhook::default();
        let hook_url = webhook.start().await;

        let (am, am_port) = start_alertmanager(dir.path(), &hook_url, &client).await;

        let rules = dir.path().join("rules.yml");
        write(&rules, metric_rules);
        let log_rules_path = dir.path().join("log-rules.yml");
        write(&log_rules_path, log_rules);
        let port = free_port();
        let cfg = dir.path().join("cairn.yml");
        write(
            &cfg,
            &format!(
                r#"server:
  http_listen_address: "127.0.0.1:{port}"
  log_level: warn
storage:
  data_dir: "{data}"
otlp:
  grpc_listen_address: ""
  http_listen_address: ""
rules:
  files: ["{rules}"]
  log_files: ["{log_rules}"]
  evaluation_interval: 1s
  resend_delay: 1s
  external_labels:
    cluster: e2e
  alertmanager:
    urls: ["http://127.0.0.1:{am_port}"]
"#,
                data = dir.path().join("data").display(),
                rules = rules.display(),
                log_rules = log_rules_path.display(),
            ),
        );
        let cairn = Proc(
            Command::new(env!("CARGO_BIN_EXE_cairn"))
                .arg("--config")
                .arg(&cfg)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("spawn cairn"),
        );
        let base = format!("http://127.0.0.1:{port}");
        common::wait_http_ok(&client, &format!("{base}/ready"), "Cairn").await;
        Stack {
            cairn: base,
            client,
            webhook,
            _am: am,
            _cairn: cairn,
            _dir: dir,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.cairn)
    }

    async fn push_disk_usage(&self, v: f64) {
        let (status, body) = write_v1(
            &self.client,
            &self.url("/api/v1/write"),
            vec![series(
                "test_disk_usage_ratio",
                &[("device", "sda"), ("instance", "host-1")],
                &[(now_ms(), v)],
            )],
            None,
        )
        .await;
        assert_eq!(status, 204, "remote write: {body}");
    }

    async fn push_error_lines(&self, n: usize) {
        let ns = now_ms() as i128 * 1_000_000;
        let values: Vec<Value> = (0..n)
            .map(|i| {
                json!([
                    (ns + i as i128).to_string(),
                    format!("PHP error: database connection lost #{i}")
                ])
            })
            .collect();
        let body = json!({"streams": [{
            "stream": {"namespace": "wordpress-staging", "app": "wordpress"},
            "values": values
        }]});
        let r = self
            .client
            .post(self.url("/loki/api/v1/push"))
            .json(&body)
            .send()
            .await
            .expect("loki push");
        assert_eq!(r.status().as_u16(), 204, "loki push: {:?}", r.text().await);
    }

    /// The rule named `name` in `/api/v1/rules`.
    async fn rule(&self, name: &str) -> Value {
        let (status, v) = get_json(&self.client, &self.url("/api/v1/rules")).await;
        assert_eq!(status, 200, "{v}");
        v["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no rule {name} in /api/v1/rules: {v}"))
    }

    async fn active_alerts(&self) -> Vec<Value> {
        let (status, v) = get_json(&self.client, &self.url("/api/v1/alerts")).await;
        assert_eq!(status, 200, "{v}");
        v["data"]["alerts"].as_array().cloned().unwrap_or_default()
    }
}

const DISK_RULES: &str = r#"groups:
  - name: disk
    interval: 1s
    rules:
      - alert: DiskAlmostFull
        expr: test_disk_usage_ratio > 0.8
        for: 0s
        labels:
          severity: critical
        annotations:
          summary: "Disk {{ $labels.device }} at {{ $value | humanizePercentage }}"
"#;

const LOG_RULES: &str = r#"groups:
  - name: wordpress
    interval: 1s
    rules:
      - alert: WordpressErrors
        expr: sum by (namespace) (count_over_time({namespace="wordpress-staging"} |= "error" [10s])) > 5
        labels:
          severity: warning
        annotations:
          summary: "{{ $labels.namespace }}: {{ $value }} errors in 10s"
"#;

const NO_RULES: &str = "groups: []\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs prometheus-alertmanager (Debian); run by .ci/run"]
async fn promql_alert_fires_and_resolves_through_alertmanager() {
    let s = Stack::start(DISK_RULES, NO_RULES).await;
    s.push_disk_usage(0.91).await;

    let firing = s
        .webhook
        .wait_for("firing", "DiskAlmostFull", "disk usage 0.91 > 0.8")
        .await;
    let alerts = firing["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 1, "{firing}");
    assert_eq!(
        alerts[0]["labels"],
        json!({
            "alertname": "DiskAlmostFull",
            "cluster": "e2e",
            "device": "sda",
            "instance": "host-1",
            "severity": "critical"
        })
    );
    assert_eq!(
        alerts[0]["annotations"],
        json!({"summary": "Disk sda at 91%"})
    );
    assert_eq!(alerts[0]["status"], "firing");

    // The API shows the firing alert (without external labels, as Prometheus).
    let rule = s.rule("DiskAlmostFull").await;
    assert_eq!(rule["state"], "firing", "{rule}");
    assert_eq!(rule["health"], "ok", "{rule}");
    assert_eq!(rule["alerts"][0]["labels"]["device"], "sda", "{rule}");
    assert_eq!(rule["alerts"][0]["value"], "9.1e-01", "{rule}");
    let active = s.active_alerts().await;
    assert_eq!(active.len(), 1, "{active:?}");
    assert_eq!(active[0]["state"], "firing");
    assert_eq!(
        active[0]["annotations"]["summary"], "Disk sda at 91%",
        "{active:?}"
    );

    s.push_disk_usage(0.5).await;
    let resolved = s
        .webhook
        .wait_for("resolved", "DiskAlmostFull", "disk usage back to 0.5")
        .await;
    assert_eq!(resolved["alerts"][0]["labels"], alerts[0]["labels"]);
    assert_eq!(resolved["alerts"][0]["status"], "resolved");
    assert!(s.active_alerts().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs prometheus-alertmanager (Debian); run by .ci/run"]
async fn logql_alert_fires_and_resolves_through_alertmanager() {
    let s = Stack::start(NO_RULES, LOG_RULES).await;
    s.push_error_lines(10).await;

    let firing = s
        .webhook
        .wait_for("firing", "WordpressErrors", "10 error lines in 10s")
        .await;
    let alerts = firing["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 1, "{firing}");
    assert_eq!(
        alerts[0]["labels"],
        json!({
            "alertname": "WordpressErrors",
            "cluster": "e2e",
            "namespace": "wordpress-staging",
            "severity": "warning"
        })
    );
    assert_eq!(
        alerts[0]["annotations"],
        json!({"summary": "wordpress-staging: 10 errors in 10s"})
    );

    let rule = s.rule("WordpressErrors").await;
    assert_eq!(rule["state"], "firing", "{rule}");
    assert_eq!(rule["alerts"][0]["value"], "1e+01", "{rule}");

    // The lines leave the 10 s window; the alert resolves.
    let resolved = s
        .webhook
        .wait_for(
            "resolved",
            "WordpressErrors",
            "error lines out of the 10s window",
        )
        .await;
    assert_eq!(resolved["alerts"][0]["labels"], alerts[0]["labels"]);
    assert!(s.active_alerts().await.is_empty());
}

/// Cairn's notifier alone against the real Alertmanager: the body it sends
/// is accepted, and a firing then a resolved alert reach the webhook. This
/// checks the wire format independently of rule evaluation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs prometheus-alertmanager (Debian); run by .ci/run"]
async fn notifier_alerts_reach_alertmanager_webhook() {
    use cairn::rules::{Notifier, PostableAlert};

    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::Client::new();
    let webhook = Webhook::default();
    let hook_url = webhook.start().await;
    let (_am, am_port) = start_alertmanager(dir.path(), &hook_url, &client).await;

    let mut cfg = cairn::config::RulesConfig::default();
    cfg.alertmanager.urls = vec![format!("http://127.0.0.1:{am_port}")];
    cfg.external_labels = [("cluster".to_string(), "e2e".to_string())].into();
    let selfmon = Arc::new(cairn::selfmon::SelfMetrics::new());
    let notifier = Notifier::new(&cfg, selfmon.clone());
    let task = notifier.spawn();

    let now = now_ms();
    let mut alert = PostableAlert {
        labels: [
            ("alertname".to_string(), "NotifierE2E".to_string()),
            ("severity".to_string(), "critical".to_string()),
        ]
        .into(),
        annotations: [("summary".to_string(), "sent by the notifier".to_string())].into(),
        starts_at_ms: now,
        ends_at_ms: now + 60_000,
        generator_url: "http://cairn.example/graph?g0.expr=up&g0.tab=1".into(),
    };
    notifier.send(vec![alert.clone()]);
    let firing = webhook
        .wait_for("firing", "NotifierE2E", "a firing alert sent directly")
        .await;
    let a = &firing["alerts"][0];
    assert_eq!(
        a["labels"],
        json!({"alertname": "NotifierE2E", "cluster": "e2e", "severity": "critical"})
    );
    assert_eq!(a["annotations"], json!({"summary": "sent by the notifier"}));
    assert_eq!(
        a["generatorURL"],
        "http://cairn.example/graph?g0.expr=up&g0.tab=1"
    );
    let url = format!("http://127.0.0.1:{am_port}/api/v2/alerts");
    assert_eq!(selfmon.notifications_sent.with(&[&url]).get(), 1);
    assert_eq!(selfmon.notification_errors.with(&[&url]).get(), 0);

    // Resolved: endsAt in the past.
    alert.ends_at_ms = now_ms();
    notifier.send(vec![alert]);
    let resolved = webhook
        .wait_for("resolved", "NotifierE2E", "the same alert with endsAt now")
        .await;
    assert_eq!(resolved["alerts"][0]["labels"], a["labels"]);
    assert_eq!(selfmon.notifications_sent.with(&[&url]).get(), 2);
    task.abort();
}
