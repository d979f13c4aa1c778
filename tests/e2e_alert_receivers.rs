//! End to end, the deploy bundle's alerting path with real peers: a `cairn`
//! child process evaluating `deploy/cairn/rules/*.yaml`, the real
//! Alertmanager (Debian `prometheus-alertmanager`) running
//! `deploy/alertmanager/alertmanager.yaml`, and `cairn demo` playing the
//! `failure-spike` incident. The Slack webhook URL and the SMTP relay of that
//! config are pointed at local sinks — an HTTP server in this test and an
//! SMTP server from PyPI `aiosmtpd` (`tests/e2e/alert_receivers/smtp_sink.py`,
//! which requires the configured login) — and the test waits for the
//! incident's critical alert to arrive as a Slack message and as an email,
//! with the rule's summary and runbook link.
//!
//! Only the receivers' endpoints and secret files are rewritten; routes,
//! receivers and templates are the file's own.
//!
//! Run with `cargo test --test e2e_alert_receivers -- --ignored`; it fails
//! (never skips) when Alertmanager, Python or aiosmtpd is missing.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::Value;

/// The alerts the failure-spike incident is written to trigger.
const INCIDENT_ALERTS: [&str; 2] = ["WordPressCloneFailureRateHigh", "RDSConnectionFailures"];
const SMTP_USER: &str = "alertmanager@example.com";
const SMTP_PASSWORD: &str = "e2e-smtp-secret";

use common::{repo, KillOnDrop as Proc};

/// Points every receiver endpoint and secret file of the config at the test.
fn rewrite(v: &mut Value, slack_url_file: &Path, smtp: &str, password_file: &Path) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match k.as_str() {
                    "api_url_file" => *x = Value::from(slack_url_file.display().to_string()),
                    "auth_password_file" => *x = Value::from(password_file.display().to_string()),
                    "smtp_smarthost" | "smarthost" => *x = Value::from(smtp),
                    "smtp_require_tls" | "require_tls" => *x = Value::from(false),
                    "auth_username" | "smtp_auth_username" => *x = Value::from(SMTP_USER),
                    _ => rewrite(x, slack_url_file, smtp, password_file),
                }
            }
            m.remove("templates");
        }
        Value::Array(a) => {
            for x in a {
                rewrite(x, slack_url_file, smtp, password_file);
            }
        }
        _ => {}
    }
}

async fn slack_sink(received: Arc<Mutex<Vec<Value>>>) -> u16 {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/slack",
        post(move |body: String| {
            let received = received.clone();
            async move {
                let v: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
                received.lock().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind slack sink");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port
}

fn which(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {cmd}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs prometheus-alertmanager and PyPI aiosmtpd; run by .ci/run"]
async fn demo_incident_reaches_slack_and_email_through_alertmanager() {
    assert!(
        which("prometheus-alertmanager"),
        "prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"
    );
    let aiosmtpd = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .expect("python3");
    assert!(
        aiosmtpd.success(),
        "PyPI aiosmtpd is missing: pip install -r tests/e2e/alert_receivers/requirements.txt"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::Client::new();

    // The sinks.
    let slack = Arc::new(Mutex::new(Vec::new()));
    let slack_port = slack_sink(slack.clone()).await;
    let smtp_port = common::free_port();
    let mail_file = dir.path().join("mail.jsonl");
    let _smtp = Proc(
        Command::new("python3")
            .arg(repo().join("tests/e2e/alert_receivers/smtp_sink.py"))
            .args([
                smtp_port.to_string(),
                mail_file.display().to_string(),
                SMTP_USER.to_string(),
                SMTP_PASSWORD.to_string(),
            ])
            .spawn()
            .expect("start the SMTP sink"),
    );

    // The deploy bundle's Alertmanager config, receivers pointed at the sinks.
    let slack_url_file = dir.path().join("slack-webhook-url");
    std::fs::write(
        &slack_url_file,
        format!("http://127.0.0.1:{slack_port}/slack"),
    )
    .expect("write slack url");
    let password_file = dir.path().join("smtp-password");
    std::fs::write(&password_file, SMTP_PASSWORD).expect("write password");
    let text = std::fs::read_to_string(repo().join("deploy/alertmanager/alertmanager.yaml"))
        .expect("deploy/alertmanager/alertmanager.yaml");
    let mut am_cfg: Value = serde_saphyr::from_str(&text).expect("Alertmanager config is YAML");
    rewrite(
        &mut am_cfg,
        &slack_url_file,
        &format!("127.0.0.1:{smtp_port}"),
        &password_file,
    );
    let am_cfg_file = dir.path().join("alertmanager.yaml");
    std::fs::write(&am_cfg_file, am_cfg.to_string()).expect("write am config");
    let am_port = common::free_port();
    let _am = Proc(
        Command::new("prometheus-alertmanager")
            .arg(format!("--config.file={}", am_cfg_file.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join("am").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
            .arg("--cluster.listen-address=")
            .arg("--log.level=warn")
            .spawn()
            .expect("start prometheus-alertmanager"),
    );
    common::wait_http_ok(
        &client,
        &format!("http://127.0.0.1:{am_port}/-/ready"),
        "Alertmanager",
    )
    .await;

    // Cairn with the deploy rules, sending to that Alertmanager.
    let rules: Vec<String> = ["recording.yaml", "alerts.yaml"]
        .iter()
        .map(|f| {
            format!(
                "    - {}",
                repo().join("deploy/cairn/rules").join(f).display()
            )
        })
        .collect();
    let cairn_cfg = dir.path().join("cairn.yaml");
    std::fs::write(
        &cairn_cfg,
        format!(
            "rules:\n  evaluation_interval: 1s\n  files:\n{}\n  alertmanager:\n    urls: [\"http://127.0.0.1:{am_port}\"]\n",
            rules.join("\n")
        ),
    )
    .expect("write cairn config");
    let port = common::free_port();
    let _cairn = common::spawn_cairn(Some(&cairn_cfg), &dir.path().join("data"), port);
    common::wait_ready(&client, port).await;

    // The demo: ten calm minutes of history, then the failure spike live.
    let _demo = Proc(
        Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args([
                "demo",
                "--url",
                &format!("http://127.0.0.1:{port}"),
                "--backfill",
                "10m",
                "--interval",
                "2s",
                "--calm",
                "0s",
                "--incident-length",
                "1h",
                "--incidents",
                "failure-spike",
                "--seed",
                "11",
            ])
            .spawn()
            .expect("start cairn demo"),
    );

    let started = Instant::now();
    let deadline = started + Duration::from_secs(420);
    let mentions = |s: &str| INCIDENT_ALERTS.iter().find(|a| s.contains(*a)).copied();
    let (slack_msg, mail) = loop {
        let slack_hit = slack
            .lock()
            .iter()
            .find(|m| mentions(&m.to_string()).is_some())
            .cloned();
        let mail_hit = std::fs::read_to_string(&mail_file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|m| mentions(m["data"].as_str().unwrap_or("")).is_some());
        if let (Some(s), Some(m)) = (&slack_hit, &mail_hit) {
            break (s.clone(), m.clone());
        }
        if Instant::now() > deadline {
            let alerts = client
                .get(format!("http://127.0.0.1:{port}/api/v1/alerts"))
                .send()
                .await
                .map(|r| r.status().to_string())
                .unwrap_or_default();
            panic!(
                "no Slack message and email for {INCIDENT_ALERTS:?} within 7 minutes \
                 (slack: {:?}, mail: {:?}, cairn alerts: {alerts})",
                slack.lock(),
                std::fs::read_to_string(&mail_file).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    eprintln!(
        "incident reached Slack and email after {:.0}s",
        started.elapsed().as_secs_f64()
    );

    // Slack: the deploy config's title and text, rendered by Alertmanager.
    let slack_text = slack_msg.to_string();
    let alert = mentions(&slack_text).expect("alert name");
    assert_eq!(slack_msg["channel"], "#alerts", "{slack_msg}");
    let attachment = &slack_msg["attachments"][0];
    let title = attachment["title"].as_str().unwrap_or_default();
    assert!(
        title.starts_with("[FIRING:") && title.contains(alert) && title.contains("(critical)"),
        "slack title: {title}"
    );
    let body = attachment["text"].as_str().unwrap_or_default();
    assert!(
        body.contains(&format!("docs/runbooks/{alert}.md")),
        "slack text has the runbook link: {body}"
    );

    // Email: sent after logging in with the secret file's password.
    assert_eq!(mail["authenticated"], true, "{mail}");
    assert_eq!(mail["to"][0], "oncall@example.com", "{mail}");
    // The body is quoted-printable: undo the soft line breaks and `=3D`.
    let data = mail["data"]
        .as_str()
        .unwrap_or_default()
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    let data = data.as_str();
    assert!(
        data.contains(&format!(
            "Subject: [FIRING] {}",
            mentions(data).unwrap_or(alert)
        )),
        "email subject: {data}"
    );
    assert!(data.contains("docs/runbooks/"), "email body: {data}");
}
