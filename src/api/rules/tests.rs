//! `/api/v1/rules` and `/api/v1/alerts` rendered from hand-built views and
//! compared with the exact JSON Prometheus gives for the same state.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::filter::group_token;
use super::*;
use crate::rules::view::{AlertState, AlertView, Health, RuleCommon};

fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn common(name: &str, query: &str, labels: &[(&str, &str)]) -> RuleCommon {
    RuleCommon {
        name: name.into(),
        query: query.into(),
        labels: map(labels),
        health: Health::Ok,
        last_error: String::new(),
        last_evaluation_ms: Some(1_700_000_000_500),
        evaluation_time_s: 0.001,
    }
}

/// Three groups over two files: an alerting rule with a firing alert and a
/// failing recording rule; a never-evaluated alerting rule; a recording rule.
fn groups() -> Vec<GroupView> {
    let disk_alert = RuleView::Alerting {
        common: common(
            "DiskAlmostFull",
            "test_disk_usage_ratio > 0.8",
            &[("severity", "critical")],
        ),
        duration_s: 300.0,
        keep_firing_for_s: 0.0,
        annotations: map(&[("summary", "Disk {{ $labels.device }} full")]),
        state: AlertState::Firing,
        alerts: vec![AlertView {
            labels: map(&[
                ("alertname", "DiskAlmostFull"),
                ("device", "sda"),
                ("severity", "critical"),
            ]),
            annotations: map(&[("summary", "Disk sda full")]),
            state: AlertState::Firing,
            active_at_ms: 1_699_999_700_000,
            keep_firing_since_ms: None,
            value: 0.95,
        }],
    };
    let mut failing = common("job:up:sum", "sum by (job) (up)", &[]);
    failing.health = Health::Err;
    failing.last_error = "query timed out".into();
    let mut never = common(
        "TooManyErrors",
        "sum by (namespace) (count_over_time({namespace=\"web\"} |= \"error\" [1m])) > 5",
        &[("team", "web")],
    );
    never.health = Health::Unknown;
    never.last_evaluation_ms = None;
    never.evaluation_time_s = 0.0;
    vec![
        GroupView {
            name: "disk".into(),
            file: "/etc/cairn/a.yml".into(),
            interval_s: 60.0,
            limit: 0,
            last_evaluation_ms: Some(1_700_000_000_500),
            evaluation_time_s: 0.0125,
            rules: vec![disk_alert, RuleView::Recording(failing)],
        },
        GroupView {
            name: "logs".into(),
            file: "/etc/cairn/b.yml".into(),
            interval_s: 10.0,
            limit: 5,
            last_evaluation_ms: None,
            evaluation_time_s: 0.0,
            rules: vec![RuleView::Alerting {
                common: never,
                duration_s: 0.0,
                keep_firing_for_s: 90.0,
                annotations: BTreeMap::new(),
                state: AlertState::Inactive,
                alerts: vec![],
            }],
        },
        GroupView {
            name: "rec".into(),
            file: "/etc/cairn/b.yml".into(),
            interval_s: 1.5,
            limit: 0,
            last_evaluation_ms: Some(1_700_000_001_000),
            evaluation_time_s: 0.5,
            rules: vec![RuleView::Recording(common(
                "x:y",
                "sum(x)",
                &[("team", "db")],
            ))],
        },
    ]
}

fn disk_alert_json() -> Value {
    json!({
        "state": "firing",
        "name": "DiskAlmostFull",
        "query": "test_disk_usage_ratio > 0.8",
        "duration": 300,
        "keepFiringFor": 0,
        "labels": {"severity": "critical"},
        "annotations": {"summary": "Disk {{ $labels.device }} full"},
        "alerts": [{
            "labels": {"alertname": "DiskAlmostFull", "device": "sda", "severity": "critical"},
            "annotations": {"summary": "Disk sda full"},
            "state": "firing",
            "activeAt": "2023-11-14T22:08:20Z",
            "value": "9.5e-01"
        }],
        "health": "ok",
        "evaluationTime": 0.001,
        "lastEvaluation": "2023-11-14T22:13:20.5Z",
        "type": "alerting"
    })
}

fn failing_recording_json() -> Value {
    json!({
        "name": "job:up:sum",
        "query": "sum by (job) (up)",
        "labels": {},
        "health": "err",
        "lastError": "query timed out",
        "evaluationTime": 0.001,
        "lastEvaluation": "2023-11-14T22:13:20.5Z",
        "type": "recording"
    })
}

fn never_evaluated_json() -> Value {
    json!({
        "state": "inactive",
        "name": "TooManyErrors",
        "query": "sum by (namespace) (count_over_time({namespace=\"web\"} |= \"error\" [1m])) > 5",
        "duration": 0,
        "keepFiringFor": 90,
        "labels": {"team": "web"},
        "annotations": {},
        "alerts": [],
        "health": "unknown",
        "evaluationTime": 0,
        "lastEvaluation": "0001-01-01T00:00:00Z",
        "type": "alerting"
    })
}

fn rec_json() -> Value {
    json!({
        "name": "x:y",
        "query": "sum(x)",
        "labels": {"team": "db"},
        "health": "ok",
        "evaluationTime": 0.001,
        "lastEvaluation": "2023-11-14T22:13:20.5Z",
        "type": "recording"
    })
}

fn group_json(i: usize, rules: Vec<Value>) -> Value {
    let heads = [
        json!({"name": "disk", "file": "/etc/cairn/a.yml", "interval": 60, "limit": 0,
               "evaluationTime": 0.0125, "lastEvaluation": "2023-11-14T22:13:20.5Z"}),
        json!({"name": "logs", "file": "/etc/cairn/b.yml", "interval": 10, "limit": 5,
               "evaluationTime": 0, "lastEvaluation": "0001-01-01T00:00:00Z"}),
        json!({"name": "rec", "file": "/etc/cairn/b.yml", "interval": 1.5, "limit": 0,
               "evaluationTime": 0.5, "lastEvaluation": "2023-11-14T22:13:21Z"}),
    ];
    let mut g = heads[i].clone();
    g["rules"] = Value::Array(rules);
    g
}

fn ok(groups: Vec<Value>) -> Value {
    json!({"status": "success", "data": {"groups": groups}})
}

fn run(query: &str) -> Result<Value, PromError> {
    rules_json(&groups(), &Params::from_parts(Some(query), None))
}

fn bad(query: &str) -> String {
    match run(query) {
        Ok(v) => panic!("{query}: expected an error, got {v}"),
        Err(e) => {
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(e.error_type, "bad_data", "{query}");
            e.message
        }
    }
}

#[test]
fn everything_without_filters() {
    assert_eq!(
        run("").unwrap(),
        ok(vec![
            group_json(0, vec![disk_alert_json(), failing_recording_json()]),
            group_json(1, vec![never_evaluated_json()]),
            group_json(2, vec![rec_json()]),
        ])
    );
}

#[test]
fn type_filter_omits_emptied_groups() {
    let alerts = ok(vec![
        group_json(0, vec![disk_alert_json()]),
        group_json(1, vec![never_evaluated_json()]),
    ]);
    assert_eq!(run("type=alert").unwrap(), alerts);
    assert_eq!(run("type=ALERT").unwrap(), alerts);
    assert_eq!(
        run("type=record").unwrap(),
        ok(vec![
            group_json(0, vec![failing_recording_json()]),
            group_json(2, vec![rec_json()]),
        ])
    );
    assert_eq!(
        bad("type=recording"),
        "invalid parameter \"type\": not supported value \"recording\""
    );
}

#[test]
fn name_group_and_file_filters() {
    assert_eq!(
        run("rule_name[]=x:y&rule_name[]=DiskAlmostFull").unwrap(),
        ok(vec![
            group_json(0, vec![disk_alert_json()]),
            group_json(2, vec![rec_json()]),
        ])
    );
    assert_eq!(
        run("rule_group[]=logs&rule_group[]=rec").unwrap(),
        ok(vec![
            group_json(1, vec![never_evaluated_json()]),
            group_json(2, vec![rec_json()]),
        ])
    );
    assert_eq!(
        run("file[]=/etc/cairn/b.yml&rule_group[]=rec&rule_group[]=disk").unwrap(),
        ok(vec![group_json(2, vec![rec_json()])])
    );
    assert_eq!(run("rule_name[]=Nope").unwrap(), ok(vec![]));
}

#[test]
fn match_selects_on_rule_labels() {
    assert_eq!(
        run("match[]=%7Bseverity%3D%22critical%22%7D").unwrap(),
        ok(vec![group_json(0, vec![disk_alert_json()])])
    );
    // Any of several selectors; regexes fully anchored.
    assert_eq!(
        run("match[]={team=~\"w.*\"}&match[]={team=\"db\"}").unwrap(),
        ok(vec![
            group_json(1, vec![never_evaluated_json()]),
            group_json(2, vec![rec_json()]),
        ])
    );
    // The metric name is not a rule label, so it matches nothing.
    assert_eq!(run("match[]=up").unwrap(), ok(vec![]));
    assert_eq!(
        bad("match[]={team=~\".*\"}"),
        "invalid parameter \"match[]\": 1:1: parse error: vector selector must contain at least one non-empty matcher"
    );
    assert!(bad("match[]={team=").starts_with("invalid parameter \"match[]\": "));
}

#[test]
fn exclude_alerts_nulls_the_alerts() {
    let mut disk = disk_alert_json();
    disk["alerts"] = Value::Null;
    let mut never = never_evaluated_json();
    never["alerts"] = Value::Null;
    let want = ok(vec![
        group_json(0, vec![disk, failing_recording_json()]),
        group_json(1, vec![never]),
        group_json(2, vec![rec_json()]),
    ]);
    assert_eq!(run("exclude_alerts=true").unwrap(), want);
    assert_eq!(run("exclude_alerts=1").unwrap(), want);
    assert_eq!(run("exclude_alerts=false").unwrap(), run("").unwrap());
    assert_eq!(
        bad("exclude_alerts=yes"),
        "invalid parameter \"exclude_alerts\": error converting exclude_alerts: strconv.ParseBool: parsing \"yes\": invalid syntax"
    );
}

#[test]
fn pagination_with_tokens() {
    let g = groups();
    let t1 = group_token(&g[1]);
    let t2 = group_token(&g[2]);
    assert_eq!(
        group_token(&g[0]),
        super::sha1::sha1_hex(b"/etc/cairn/a.yml;disk")
    );
    let mut page1 = ok(vec![group_json(
        0,
        vec![disk_alert_json(), failing_recording_json()],
    )]);
    page1["data"]["groupNextToken"] = json!(t1);
    assert_eq!(run("group_limit=1").unwrap(), page1);

    let mut page2 = ok(vec![group_json(1, vec![never_evaluated_json()])]);
    page2["data"]["groupNextToken"] = json!(t2);
    assert_eq!(
        run(&format!("group_limit=1&group_next_token={t1}")).unwrap(),
        page2
    );
    // The last page has no token.
    assert_eq!(
        run(&format!("group_limit=5&group_next_token={t2}")).unwrap(),
        ok(vec![group_json(2, vec![rec_json()])])
    );
    // Filters apply within pages: the token skips to `logs`, the type
    // filter empties `logs`, the page holds `rec` only.
    assert_eq!(
        run(&format!("type=record&group_limit=1&group_next_token={t1}")).unwrap(),
        ok(vec![group_json(2, vec![rec_json()])])
    );
    assert_eq!(
        bad("group_limit=1&group_next_token=abc"),
        "invalid parameter \"group_next_token\": invalid group_next_token 'abc'. were rule groups changed?"
    );
    assert_eq!(
        bad(&format!("group_next_token={t1}")),
        "invalid parameter \"group_next_token\": group_limit needs to be present in order to paginate over the groups"
    );
    assert_eq!(
        bad("group_limit=0"),
        "invalid parameter \"group_limit\": group_limit needs to be greater than 0"
    );
    assert_eq!(
        bad("group_limit=x"),
        "invalid parameter \"group_limit\": group_limit needs to be a valid number: strconv.ParseInt: parsing \"x\": invalid syntax"
    );
}

#[test]
fn no_groups_renders_an_empty_list() {
    assert_eq!(
        rules_json(&[], &Params::default()).unwrap(),
        json!({"status": "success", "data": {"groups": []}})
    );
    assert_eq!(
        alerts_json(&[]),
        json!({"status": "success", "data": {"alerts": []}})
    );
}

#[test]
fn alerts_lists_every_active_alert() {
    let mut g = groups();
    if let RuleView::Alerting { alerts, state, .. } = &mut g[1].rules[0] {
        *state = AlertState::Pending;
        alerts.push(AlertView {
            labels: map(&[("alertname", "TooManyErrors"), ("namespace", "web")]),
            annotations: BTreeMap::new(),
            state: AlertState::Pending,
            active_at_ms: 1_700_000_000_250,
            keep_firing_since_ms: Some(1_700_000_005_000),
            value: 12.0,
        });
    }
    assert_eq!(
        alerts_json(&g),
        json!({"status": "success", "data": {"alerts": [
            {
                "labels": {"alertname": "DiskAlmostFull", "device": "sda", "severity": "critical"},
                "annotations": {"summary": "Disk sda full"},
                "state": "firing",
                "activeAt": "2023-11-14T22:08:20Z",
                "value": "9.5e-01"
            },
            {
                "labels": {"alertname": "TooManyErrors", "namespace": "web"},
                "annotations": {},
                "state": "pending",
                "activeAt": "2023-11-14T22:13:20.25Z",
                "keepFiringSince": "2023-11-14T22:13:25Z",
                "value": "1.2e+01"
            }
        ]}})
    );
}

/// Which handler [`call`] runs.
#[derive(Clone, Copy)]
enum Endpoint {
    Rules,
    Alerts,
}

/// Runs a handler against a fresh server state (no rules loaded).
async fn call(ep: Endpoint, tenant: Option<&str>, query: Option<&str>) -> (StatusCode, Value) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = crate::config::Config::default();
    cfg.storage.data_dir = dir.path().to_path_buf();
    let st = crate::server::build_state(
        std::sync::Arc::new(cfg),
        std::sync::Arc::new(crate::storage::clock::SystemClock),
    );
    let mut headers = axum::http::HeaderMap::new();
    if let Some(t) = tenant {
        headers.insert("X-Scope-OrgID", t.parse().unwrap());
    }
    let (state, raw) = (
        axum::extract::State(st),
        axum::extract::RawQuery(query.map(str::to_string)),
    );
    let resp = match ep {
        Endpoint::Rules => rules(state, headers, raw).await,
        Endpoint::Alerts => alerts(state, headers, raw).await,
    };
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn handlers_answer_in_prometheus_envelopes() {
    assert_eq!(
        call(Endpoint::Rules, None, None).await,
        (
            StatusCode::OK,
            json!({"status": "success", "data": {"groups": []}})
        )
    );
    assert_eq!(
        call(Endpoint::Alerts, Some("team-a"), None).await,
        (
            StatusCode::OK,
            json!({"status": "success", "data": {"alerts": []}})
        )
    );
    assert_eq!(
        call(Endpoint::Rules, Some("team-a"), Some("type=bogus")).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"status": "error", "errorType": "bad_data",
                   "error": "invalid parameter \"type\": not supported value \"bogus\""})
        )
    );
    let (status, body) = call(Endpoint::Rules, Some("a|b"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["errorType"], "bad_data");
    let (status, body) = call(Endpoint::Alerts, Some("a|b"), None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["status"], "error");
}
