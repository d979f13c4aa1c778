//! Rule groups evaluated against the real stores with an injectable clock:
//! recording rules write series later rules and queries see, stale markers
//! when a series stops, `ALERTS`/`ALERTS_FOR_STATE`, LogQL rules over the
//! log store, the schedule's alignment, and restoring a pending alert's
//! `for` clock after a restart.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn::config::Config;
use cairn::logs::StoredEntry;
use cairn::metrics::IncomingSeries;
use cairn::model::{Labels, Sample, TenantId};
use cairn::promql::Value;
use cairn::rules::file::{GroupSpec, QueryLanguage, RuleKind, RuleSpec};
use cairn::rules::group::Group;
use cairn::rules::manager::RuleDeps;
use cairn::rules::view::{AlertState, RuleView};
use cairn::server::state::SharedState;
use cairn::storage::clock::ManualClock;

const T0: i64 = 1_700_000_000_000;

fn state(dir: &std::path::Path, clock: Arc<ManualClock>) -> SharedState {
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.to_path_buf();
    cairn::server::build_state(Arc::new(cfg), clock)
}

async fn open(dir: &std::path::Path, clock: Arc<ManualClock>) -> SharedState {
    let st = state(dir, clock);
    cairn::server::open_stores(st.clone())
        .await
        .expect("stores open");
    st
}

fn deps(st: &SharedState) -> RuleDeps {
    RuleDeps {
        metrics: st.metrics.clone(),
        logs: st.logs.clone(),
        engine: st.engine.clone(),
        log_engine: st.log_engine.clone(),
        clock: st.clock.clone(),
        selfmon: st.selfmon.clone(),
        notifier: st.notifier.clone(),
    }
}

fn write(st: &SharedState, name: &str, labels: &[(&str, &str)], t: i64, v: f64) {
    let mut pairs = vec![("__name__", name)];
    pairs.extend_from_slice(labels);
    let db = st
        .metrics
        .tenant(&TenantId::default_tenant())
        .expect("tenant db");
    let out = db
        .write(
            &[IncomingSeries {
                labels: Labels::from_pairs(pairs).into(),
                samples: vec![Sample::new(t, v)],
                ..Default::default()
            }],
            &[],
        )
        .expect("write");
    assert!(out.errors.is_empty(), "{:?}", out.errors);
}

/// `query` at `t` as (labels rendered, value) pairs, sorted.
fn query(st: &SharedState, q: &str, t: i64) -> Vec<(String, f64)> {
    let db = st
        .metrics
        .tenant(&TenantId::default_tenant())
        .expect("tenant db");
    let r = st.engine.instant(db.as_ref(), q, t).expect("query runs");
    let mut out: Vec<(String, f64)> = match r.value {
        Value::Vector(v) => v
            .into_iter()
            .map(|s| {
                (
                    format!("{:?}", cairn::rules::alerting::label_map(&s.labels)),
                    s.v,
                )
            })
            .collect(),
        other => panic!("not a vector: {other:?}"),
    };
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn rule(kind: RuleKind, expr: &str, for_s: u64) -> RuleSpec {
    RuleSpec {
        kind,
        expr: expr.into(),
        for_: Duration::from_secs(for_s),
        keep_firing_for: Duration::ZERO,
        labels: BTreeMap::new(),
        annotations: BTreeMap::new(),
    }
}

fn group(name: &str, language: QueryLanguage, rules: Vec<RuleSpec>) -> GroupSpec {
    GroupSpec {
        name: name.into(),
        interval: Some(Duration::from_secs(30)),
        query_offset: None,
        limit: 0,
        labels: BTreeMap::new(),
        language,
        rules,
    }
}

#[tokio::test]
async fn recording_rules_feed_later_rules_and_go_stale() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let st = open(dir.path(), clock.clone()).await;
    let d = deps(&st);
    let cfg = st.cfg.rules.clone();
    let spec = group(
        "g",
        QueryLanguage::PromQL,
        vec![
            rule(
                RuleKind::Record("job:requests:sum".into()),
                "sum by (job) (requests)",
                0,
            ),
            rule(RuleKind::Alert("TooMany".into()), "job:requests:sum > 5", 0),
        ],
    );
    let g = Group::new(TenantId::default_tenant(), "r.yaml", &spec, 60_000, false);
    write(&st, "requests", &[("job", "api"), ("i", "1")], T0, 4.0);
    write(&st, "requests", &[("job", "api"), ("i", "2")], T0, 3.0);
    write(&st, "requests", &[("job", "db"), ("i", "1")], T0, 1.0);
    g.eval(T0, &d, &cfg, "http://cairn");
    assert_eq!(
        query(&st, "job:requests:sum", T0),
        vec![
            (
                r#"{"__name__": "job:requests:sum", "job": "api"}"#.into(),
                7.0
            ),
            (
                r#"{"__name__": "job:requests:sum", "job": "db"}"#.into(),
                1.0
            ),
        ]
    );
    // The alert saw the recorded series of the same evaluation.
    assert_eq!(
        query(&st, "ALERTS", T0),
        vec![(
            r#"{"__name__": "ALERTS", "alertname": "TooMany", "alertstate": "firing", "job": "api"}"#
                .into(),
            1.0
        )]
    );
    let views = g.view();
    assert_eq!(views.last_evaluation_ms, Some(T0));
    match &views.rules[1] {
        RuleView::Alerting { state, alerts, .. } => {
            assert_eq!(*state, AlertState::Firing);
            assert_eq!(alerts.len(), 1);
            assert_eq!(alerts[0].value, 7.0);
        }
        other => panic!("not an alerting rule: {other:?}"),
    }
    // The db series drops out of the result (its input went stale):
    // the recorded series and the alert's series get stale markers and
    // vanish at once instead of lingering for the 5 minute lookback.
    write(
        &st,
        "requests",
        &[("job", "db"), ("i", "1")],
        T0 + 30_000,
        f64::from_bits(cairn::model::STALE_NAN_BITS),
    );
    write(
        &st,
        "requests",
        &[("job", "api"), ("i", "1")],
        T0 + 30_000,
        1.0,
    );
    g.eval(T0 + 30_000, &d, &cfg, "http://cairn");
    assert_eq!(
        query(&st, "job:requests:sum", T0 + 31_000),
        vec![(
            r#"{"__name__": "job:requests:sum", "job": "api"}"#.into(),
            4.0
        )]
    );
    assert_eq!(query(&st, "ALERTS", T0 + 31_000), vec![]);
    st.metrics.close();
    st.logs.close();
}

#[tokio::test]
async fn logql_alert_over_the_log_store() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let st = open(dir.path(), clock.clone()).await;
    let d = deps(&st);
    let cfg = st.cfg.rules.clone();
    let lines: Vec<StoredEntry> = (0..8)
        .map(|i| StoredEntry {
            ts_ns: (T0 - 20_000 + i * 1000) * 1_000_000,
            line: if i % 4 == 3 {
                "ok".into()
            } else {
                "error: db down".into()
            },
            metadata: Box::new([]),
        })
        .collect();
    st.logs
        .push(
            &TenantId::default_tenant(),
            vec![(
                Labels::from_pairs([("namespace", "wordpress-staging"), ("app", "wp")]),
                lines,
            )],
        )
        .expect("push");
    let spec = group(
        "logs",
        QueryLanguage::LogQL,
        vec![rule(
            RuleKind::Alert("ErrorBurst".into()),
            r#"sum by (namespace) (count_over_time({namespace="wordpress-staging"} |= "error" [1m])) > 5"#,
            0,
        )],
    );
    let g = Group::new(TenantId::default_tenant(), "l.yaml", &spec, 60_000, false);
    g.eval(T0, &d, &cfg, "http://cairn");
    let v = g.view();
    match &v.rules[0] {
        RuleView::Alerting {
            state,
            alerts,
            common,
            ..
        } => {
            assert_eq!(common.last_error, "");
            assert_eq!(*state, AlertState::Firing);
            assert_eq!(alerts[0].value, 6.0);
            assert_eq!(
                alerts[0].labels,
                BTreeMap::from([
                    ("alertname".to_string(), "ErrorBurst".to_string()),
                    ("namespace".to_string(), "wordpress-staging".to_string()),
                ])
            );
        }
        other => panic!("not an alerting rule: {other:?}"),
    }
    // ALERTS of LogQL rules go to the TSDB too.
    assert_eq!(query(&st, "ALERTS", T0).len(), 1);
    st.metrics.close();
    st.logs.close();
}

#[tokio::test]
async fn schedule_is_aligned_and_counts_missed_ticks() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let st = state(dir.path(), clock);
    let spec = group("g", QueryLanguage::PromQL, vec![]);
    let g = Group::new(TenantId::default_tenant(), "r.yaml", &spec, 60_000, false);
    let first = g.next_eval_ms(T0);
    assert!(first > T0 && first <= T0 + 30_000, "first tick after load");
    assert_eq!(g.eval_timestamp(first), first, "ticks are fixed points");
    assert_eq!(g.eval_timestamp(first + 29_999), first);
    assert_eq!(g.take_due(first - 1), None);
    assert_eq!(g.take_due(first + 5_000), Some((first, 0)));
    assert_eq!(g.take_due(first + 29_999), None, "one evaluation per tick");
    // Three ticks later: evaluate at the latest, two were missed.
    assert_eq!(g.take_due(first + 95_000), Some((first + 90_000, 2)));
    st.metrics.close();
}

#[tokio::test]
async fn pending_for_clock_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let spec = group(
        "g",
        QueryLanguage::PromQL,
        vec![rule(RuleKind::Alert("Slow".into()), "latency > 1", 1800)],
    );
    {
        let st = open(dir.path(), clock.clone()).await;
        let d = deps(&st);
        let cfg = st.cfg.rules.clone();
        let g = Group::new(TenantId::default_tenant(), "r.yaml", &spec, 60_000, false);
        for i in 0..21 {
            let t = T0 + i * 30_000;
            clock.set(t);
            write(&st, "latency", &[("job", "api")], t, 2.0);
            g.eval(t, &d, &cfg, "http://cairn");
        }
        // Pending for 10 minutes when Cairn stops.
        assert_eq!(
            query(&st, "ALERTS_FOR_STATE", T0 + 600_000),
            vec![(
                r#"{"__name__": "ALERTS_FOR_STATE", "alertname": "Slow", "job": "api"}"#.into(),
                (T0 / 1000) as f64
            )]
        );
        st.metrics.close();
        st.logs.close();
    }
    // Down for 5 minutes; the data keeps coming after the restart.
    let restart = T0 + 900_000;
    clock.set(restart);
    let st = open(dir.path(), clock.clone()).await;
    let d = deps(&st);
    let cfg = st.cfg.rules.clone();
    let g = Group::new(TenantId::default_tenant(), "r.yaml", &spec, 60_000, true);
    for i in 0..2 {
        let t = restart + i * 30_000;
        clock.set(t);
        write(&st, "latency", &[("job", "api")], t, 2.0);
        g.eval(t, &d, &cfg, "http://cairn");
    }
    let RuleView::Alerting { alerts, .. } = &g.view().rules[0] else {
        panic!("alerting rule expected");
    };
    // 10 minutes were spent pending before the stop; the 5 minutes down do
    // not count: ActiveAt moves forward by the downtime.
    let down_at = T0 + 600_000;
    assert_eq!(alerts[0].active_at_ms, T0 + (restart + 30_000 - down_at));
    assert_eq!(alerts[0].state, AlertState::Pending);
    st.metrics.close();
    st.logs.close();
}

#[tokio::test]
async fn alert_resolved_before_a_restart_starts_a_fresh_for_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let spec = group(
        "g",
        QueryLanguage::PromQL,
        vec![rule(RuleKind::Alert("Slow".into()), "latency > 1", 1800)],
    );
    {
        let st = open(dir.path(), clock.clone()).await;
        let d = deps(&st);
        let cfg = st.cfg.rules.clone();
        let g = Group::new(TenantId::default_tenant(), "r.yaml", &spec, 60_000, false);
        for i in 0..10 {
            let t = T0 + i * 30_000;
            clock.set(t);
            // Above the threshold for 4.5 minutes, then below.
            write(
                &st,
                "latency",
                &[("job", "api")],
                t,
                if i < 9 { 2.0 } else { 0.5 },
            );
            g.eval(t, &d, &cfg, "http://cairn");
        }
        assert!(g.view().rules.iter().all(|r| match r {
            RuleView::Alerting { alerts, .. } => alerts.is_empty(),
            _ => false,
        }));
        // Its ALERTS_FOR_STATE series was marked stale when it resolved.
        assert_eq!(query(&st, "ALERTS_FOR_STATE", T0 + 270_000), vec![]);
        st.metrics.close();
        st.logs.close();
    }
    let restart = T0 + 400_000;
    clock.set(restart);
    let st = open(dir.path(), clock.clone()).await;
    let d = deps(&st);
    let cfg = st.cfg.rules.clone();
    let g = Group::new(TenantId::default_tenant(), "r.yaml", &spec, 60_000, true);
    for i in 0..2 {
        let t = restart + i * 30_000;
        clock.set(t);
        write(&st, "latency", &[("job", "api")], t, 2.0);
        g.eval(t, &d, &cfg, "http://cairn");
    }
    let RuleView::Alerting { alerts, .. } = &g.view().rules[0] else {
        panic!("alerting rule expected");
    };
    assert_eq!(
        (alerts[0].state, alerts[0].active_at_ms),
        (AlertState::Pending, restart),
        "the old pending period is not restored"
    );
    st.metrics.close();
    st.logs.close();
}

/// Alerts of a tenant other than the default one reach Alertmanager with a
/// `tenant` label, and with `generatorURL` pointing at Cairn's query API.
#[tokio::test]
async fn other_tenants_alerts_carry_their_tenant() {
    use axum::routing::post;
    let received: Arc<parking_lot::Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink = received.clone();
    let app = axum::Router::new().route(
        "/api/v2/alerts",
        post(move |axum::Json(v): axum::Json<serde_json::Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().push(v);
                axum::http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(T0);
    let mut cfg = Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    cfg.server.external_url = "http://cairn.example:3100".into();
    cfg.rules.alertmanager.urls = vec![format!("http://{addr}")];
    let st = cairn::server::build_state(Arc::new(cfg), clock);
    cairn::server::open_stores(st.clone()).await.expect("open");
    let sender = st.notifier.spawn();
    let d = deps(&st);
    let team = TenantId::parse("team-a").expect("tenant");
    let db = st.metrics.tenant(&team).expect("db");
    db.write(
        &[IncomingSeries {
            labels: Labels::from_pairs([("__name__", "up"), ("job", "api")]).into(),
            samples: vec![Sample::new(T0, 0.0)],
            ..Default::default()
        }],
        &[],
    )
    .expect("write");
    let spec = group(
        "g",
        QueryLanguage::PromQL,
        vec![rule(RuleKind::Alert("Down".into()), "up == 0", 0)],
    );
    let g = Group::new(team, "r.yaml", &spec, 60_000, false);
    g.eval(T0, &d, &st.cfg.rules, &st.cfg.server.external_url);
    st.notifier.flush(Duration::from_secs(5)).await;
    let got = received.lock().clone();
    assert_eq!(got.len(), 1, "one batch: {got:?}");
    let alert = &got[0][0];
    assert_eq!(
        alert["labels"],
        serde_json::json!({"alertname": "Down", "job": "api", "tenant": "team-a"})
    );
    assert_eq!(
        alert["generatorURL"],
        "http://cairn.example:3100/api/v1/query?query=up+%3D%3D+0"
    );
    sender.abort();
    st.metrics.close();
    st.logs.close();
}
