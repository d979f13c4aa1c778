//! Rule files through the manager: loading per tenant from globs,
//! evaluation on the schedule with an injectable clock, `POST /-/reload`,
//! and a broken file on reload keeping the previous rules with the error
//! shown as the rules' `lastError`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use cairn::config::{Config, TenantOverrides};
use cairn::metrics::IncomingSeries;
use cairn::model::{Labels, Sample, TenantId};
use cairn::rules::view::{Health, RuleView};
use cairn::server::state::SharedState;
use cairn::storage::clock::ManualClock;
use tower::ServiceExt;

const T0: i64 = 1_700_000_000_000;

const GOOD: &str = r#"
groups:
  - name: api
    interval: 10s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: JobDown
        expr: job:up:sum == 0
        labels:
          severity: critical
"#;

const BROKEN: &str = r#"
groups:
  - name: api
    interval: 10s
    rules:
      - record: job:up:sum
        expr: sum by (job) (up
"#;

fn write(st: &SharedState, tenant: &str, job: &str, t: i64, v: f64) {
    let db = st
        .metrics
        .tenant(&TenantId::parse(tenant).expect("tenant"))
        .expect("db");
    let out = db
        .write(
            &[IncomingSeries {
                labels: Labels::from_pairs([("__name__", "up"), ("job", job)]).into(),
                samples: vec![Sample::new(t, v)],
                ..Default::default()
            }],
            &[],
        )
        .expect("write");
    assert!(out.errors.is_empty(), "{:?}", out.errors);
}

async fn setup(dir: &std::path::Path, clock: Arc<ManualClock>) -> SharedState {
    let rules_dir = dir.join("rules");
    std::fs::create_dir_all(rules_dir.join("team-a")).expect("mkdir");
    std::fs::write(rules_dir.join("api.yaml"), GOOD).expect("write rules");
    std::fs::write(rules_dir.join("team-a/api.yaml"), GOOD).expect("write rules");
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.join("data");
    cfg.rules.files = vec![format!("{}/*.yaml", rules_dir.display())];
    cfg.tenants.insert(
        "team-a".into(),
        TenantOverrides {
            rule_files: vec![format!("{}/team-a/*.yaml", rules_dir.display())],
            ..Default::default()
        },
    );
    let st = cairn::server::build_state(Arc::new(cfg), clock);
    cairn::server::open_stores(st.clone())
        .await
        .expect("stores open (and rules load)");
    st
}

fn rule_health(st: &SharedState, tenant: &str) -> Vec<(String, Health, String)> {
    st.rules
        .groups(tenant)
        .iter()
        .flat_map(|g| g.rules.iter())
        .map(|r| {
            let c = r.common();
            (c.name.clone(), c.health, c.last_error.clone())
        })
        .collect()
}

async fn post_reload(st: &SharedState) -> (StatusCode, String) {
    let app = cairn::server::router(st.clone());
    let resp = app
        .oneshot(
            Request::post("/-/reload")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("response");
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn tenants_rules_evaluate_on_their_own_data() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let st = setup(dir.path(), clock.clone()).await;
    assert_eq!(st.rules.group_count(), 2);
    assert!(st.rules.reload_ok());
    write(&st, "fake", "api", T0, 1.0);
    write(&st, "team-a", "api", T0, 0.0);
    // Step the clock past the first tick of both groups.
    let mut ran = 0;
    for s in 1..=10 {
        clock.set(T0 + s * 1000);
        ran += st.rules.eval_due(T0 + s * 1000);
    }
    assert_eq!(ran, 2, "each group once in its first 10 s interval");
    let alerts_of = |tenant: &str| -> Vec<String> {
        st.rules
            .groups(tenant)
            .iter()
            .flat_map(|g| g.rules.iter())
            .filter_map(|r| match r {
                RuleView::Alerting { alerts, .. } => Some(alerts.clone()),
                _ => None,
            })
            .flatten()
            .map(|a| a.labels["job"].clone())
            .collect()
    };
    assert_eq!(alerts_of("fake"), Vec::<String>::new(), "api is up in fake");
    assert_eq!(
        alerts_of("team-a"),
        vec!["api".to_string()],
        "down in team-a"
    );
    let groups = st.rules.groups("team-a");
    assert!(groups[0].file.ends_with("rules/team-a/api.yaml"));
    assert_eq!(groups[0].interval_s, 10.0);
    st.metrics.close();
    st.logs.close();
}

#[tokio::test]
async fn broken_file_on_reload_keeps_the_previous_rules() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let st = setup(dir.path(), clock.clone()).await;
    let (code, body) = post_reload(&st).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body, "reloaded 2 rule groups\n");
    write(&st, "fake", "api", T0, 0.0);
    for s in 1..=10 {
        st.rules.eval_due(T0 + s * 1000);
    }
    std::fs::write(dir.path().join("rules/api.yaml"), BROKEN).expect("break the file");
    let (code, body) = post_reload(&st).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.starts_with("failed to reload config: "), "{body}");
    assert!(body.contains("rules/api.yaml"), "names the file: {body}");
    assert!(!st.rules.reload_ok());
    // The old group is still there, still evaluating, with its alert.
    assert_eq!(st.rules.group_count(), 2);
    let health = rule_health(&st, "fake");
    assert_eq!(health.len(), 2);
    for (name, h, err) in &health {
        assert_eq!(*h, Health::Err, "{name}");
        assert!(
            err.starts_with("rule file failed to reload, still evaluating the previous version: "),
            "{name}: {err}"
        );
    }
    let before = st.rules.groups("fake")[0].last_evaluation_ms;
    for s in 11..=20 {
        st.rules.eval_due(T0 + s * 1000);
    }
    assert!(st.rules.groups("fake")[0].last_evaluation_ms > before);
    // The other tenant's file was fine and is unaffected.
    assert!(rule_health(&st, "team-a")
        .iter()
        .all(|(_, _, e)| e.is_empty()));
    let metrics = st.selfmon.render(&Default::default());
    assert!(
        metrics.contains("cairn_rule_config_reload_failures_total 1"),
        "{metrics}"
    );
    // Fixing the file clears the error and keeps the alert's state.
    std::fs::write(dir.path().join("rules/api.yaml"), GOOD).expect("fix the file");
    let (code, _) = post_reload(&st).await;
    assert_eq!(code, StatusCode::OK);
    assert!(st.rules.reload_ok());
    let health = rule_health(&st, "fake");
    assert!(
        health
            .iter()
            .all(|(_, h, e)| *h == Health::Ok && e.is_empty()),
        "{health:?}"
    );
    let firing: usize = st
        .rules
        .groups("fake")
        .iter()
        .flat_map(|g| g.rules.iter())
        .map(|r| match r {
            RuleView::Alerting { alerts, .. } => alerts.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(firing, 1, "alerts survive a reload");
    st.metrics.close();
    st.logs.close();
}

const OTHER: &str = r#"
groups:
  - name: other
    interval: 10s
    rules:
      - record: job:up:count
        expr: count by (job) (up)
"#;

#[tokio::test]
async fn a_broken_file_leaves_its_glob_siblings_running_and_edits_keep_alert_state() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let rules_dir = dir.path().join("rules");
    std::fs::create_dir_all(&rules_dir).expect("mkdir");
    std::fs::write(rules_dir.join("a.yaml"), GOOD).expect("write");
    std::fs::write(rules_dir.join("b.yaml"), OTHER).expect("write");
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.path().join("data");
    // a.yaml is matched by both patterns: loaded once.
    cfg.rules.files = vec![
        format!("{}/*.yaml", rules_dir.display()),
        format!("{}/a.yaml", rules_dir.display()),
    ];
    let st = cairn::server::build_state(Arc::new(cfg), clock.clone());
    cairn::server::open_stores(st.clone()).await.expect("open");
    assert_eq!(st.rules.group_count(), 2, "each file once");
    write(&st, "fake", "api", T0, 0.0);
    for s in 1..=10 {
        st.rules.eval_due(T0 + s * 1000);
    }
    let active_at = |st: &SharedState| -> Vec<i64> {
        st.rules
            .groups("fake")
            .iter()
            .flat_map(|g| g.rules.iter())
            .filter_map(|r| match r {
                RuleView::Alerting { alerts, .. } => Some(alerts.clone()),
                _ => None,
            })
            .flatten()
            .map(|a| a.active_at_ms)
            .collect()
    };
    let before = active_at(&st);
    assert_eq!(before.len(), 1);
    // b.yaml breaks: a.yaml (same glob) keeps running without an error.
    std::fs::write(rules_dir.join("b.yaml"), BROKEN).expect("break b");
    assert!(st.rules.reload(None).is_err());
    let health: Vec<(String, String, Health)> = st
        .rules
        .groups("fake")
        .iter()
        .flat_map(|g| {
            g.rules
                .iter()
                .map(|r| (g.name.clone(), r.common().name.clone(), r.common().health))
        })
        .collect();
    assert_eq!(
        health,
        vec![
            ("api".to_string(), "job:up:sum".to_string(), Health::Ok),
            ("api".to_string(), "JobDown".to_string(), Health::Ok),
            ("other".to_string(), "job:up:count".to_string(), Health::Err),
        ]
    );
    // Editing the alert's threshold keeps its state (rules are matched by
    // name and labels, as Prometheus matches them).
    std::fs::write(
        rules_dir.join("a.yaml"),
        GOOD.replace("job:up:sum == 0", "job:up:sum < 1"),
    )
    .expect("edit a");
    std::fs::write(rules_dir.join("b.yaml"), OTHER).expect("fix b");
    assert_eq!(st.rules.reload(None), Ok(2));
    assert_eq!(active_at(&st), before);
    st.metrics.close();
    st.logs.close();
}
