//! One alerting rule and the state machine of its alerts: pending →
//! firing → inactive, `for`, `keep_firing_for`, templated labels and
//! annotations, and when each alert is (re)sent to Alertmanager. The
//! semantics are Prometheus' (`rules/alerting.go`) and the alert generator
//! compliance specification's.

use std::collections::BTreeMap;

use parking_lot::Mutex;

use crate::model::labels::METRIC_NAME;
use crate::model::Labels;

use super::notifier::PostableAlert;
use super::template::{AlertTemplate, QueryFn, TemplateData};
use super::view::{AlertState, AlertView, EvalRecord, RuleView};

/// Resolved alerts are kept (and resent) this long (Prometheus' `resolvedRetention`).
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// One alert of a rule, identified by its labels.
#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    pub value: f64,
    pub active_at_ms: i64,
    pub fired_at_ms: Option<i64>,
    pub resolved_at_ms: Option<i64>,
    pub last_sent_at_ms: Option<i64>,
    pub valid_until_ms: i64,
    pub keep_firing_since_ms: Option<i64>,
}

impl Alert {
    /// Pending alerts are never sent; an alert resolved since its last send
    /// is; otherwise it is resent once `resend_delay` has passed.
    fn needs_sending(&self, ts_ms: i64, resend_delay_ms: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        if let Some(r) = self.resolved_at_ms {
            if self.last_sent_at_ms.is_none_or(|s| r > s) {
                return true;
            }
        }
        match self.last_sent_at_ms {
            None => true,
            Some(s) => s.saturating_add(resend_delay_ms) <= ts_ms,
        }
    }
}

/// The template environment of one evaluation.
pub struct TemplateEnv<'a> {
    pub external_labels: &'a BTreeMap<String, String>,
    pub external_url: &'a str,
    pub query: &'a QueryFn<'a>,
}

#[derive(Debug)]
struct State {
    /// Pending, firing, and recently resolved alerts, by labels.
    active: BTreeMap<Labels, Alert>,
    eval: EvalRecord,
    /// False until `for` state has been restored after a start: until then
    /// no `ALERTS`/`ALERTS_FOR_STATE` samples are written (as Prometheus).
    restored: bool,
}

/// An alerting rule.
#[derive(Debug)]
pub struct AlertingRule {
    pub name: String,
    pub expr: String,
    pub for_ms: i64,
    pub keep_firing_for_ms: i64,
    /// Label templates (group labels merged in, rule labels winning).
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The label and annotation templates, parsed once.
    label_tmpls: Vec<(String, Result<AlertTemplate, String>)>,
    annotation_tmpls: Vec<(String, Result<AlertTemplate, String>)>,
    state: Mutex<State>,
}

/// A sample the rule wants written: `ALERTS` or `ALERTS_FOR_STATE`.
pub type OutSample = (Labels, f64);

impl AlertingRule {
    pub fn new(
        name: String,
        expr: String,
        for_ms: i64,
        keep_firing_for_ms: i64,
        labels: BTreeMap<String, String>,
        annotations: BTreeMap<String, String>,
        restored: bool,
    ) -> Self {
        let parse_all = |m: &BTreeMap<String, String>| {
            m.iter()
                .map(|(k, v)| (k.clone(), AlertTemplate::parse(&name, v)))
                .collect::<Vec<_>>()
        };
        let label_tmpls = parse_all(&labels);
        let annotation_tmpls = parse_all(&annotations);
        AlertingRule {
            name,
            expr,
            for_ms,
            keep_firing_for_ms,
            labels,
            annotations,
            label_tmpls,
            annotation_tmpls,
            state: Mutex::new(State {
                active: BTreeMap::new(),
                eval: EvalRecord::default(),
                restored,
            }),
        }
    }

    /// Applies one evaluation's query result (`samples`, evaluated at
    /// `ts_ms`) to the alerts and returns the `ALERTS` and
    /// `ALERTS_FOR_STATE` samples to write. `limit` > 0 bounds the active
    /// alerts (more clears them and fails the rule).
    pub fn eval(
        &self,
        ts_ms: i64,
        samples: Vec<(Labels, f64)>,
        env: &TemplateEnv<'_>,
        limit: usize,
    ) -> Result<Vec<OutSample>, String> {
        let mut fresh: BTreeMap<Labels, Alert> = BTreeMap::new();
        for (metric, value) in samples {
            let tmpl_labels = label_map(&metric);
            let data = TemplateData {
                labels: &tmpl_labels,
                value,
                external_labels: env.external_labels,
                external_url: env.external_url,
            };
            let expand = |t: &Result<AlertTemplate, String>| -> String {
                t.as_ref()
                    .map_err(|e| e.clone())
                    .and_then(|t| t.expand(&data, env.query))
                    .unwrap_or_else(|e| format!("<error expanding template: {e}>"))
            };
            let mut labels = metric.clone();
            labels.remove(METRIC_NAME);
            for (k, t) in &self.label_tmpls {
                labels.set(k, &expand(t));
            }
            labels.set("alertname", &self.name);
            let annotations: BTreeMap<String, String> = self
                .annotation_tmpls
                .iter()
                .map(|(k, t)| (k.clone(), expand(t)))
                .collect();
            if fresh.contains_key(&labels) {
                let err =
                    "vector contains metrics with the same labelset after applying alert labels"
                        .to_string();
                self.state.lock().eval.fail(err.clone());
                return Err(err);
            }
            fresh.insert(
                labels.clone(),
                Alert {
                    labels,
                    annotations,
                    state: AlertState::Pending,
                    value,
                    active_at_ms: ts_ms,
                    fired_at_ms: None,
                    resolved_at_ms: None,
                    last_sent_at_ms: None,
                    valid_until_ms: 0,
                    keep_firing_since_ms: None,
                },
            );
        }

        let mut st = self.state.lock();
        for (key, a) in fresh.iter() {
            match st.active.get_mut(key) {
                Some(existing) if existing.state != AlertState::Inactive => {
                    existing.value = a.value;
                    existing.annotations = a.annotations.clone();
                }
                _ => {
                    st.active.insert(key.clone(), a.clone());
                }
            }
        }

        let mut out = Vec::new();
        let mut active_count = 0usize;
        let restored = st.restored;
        let mut remove = Vec::new();
        for (key, a) in st.active.iter_mut() {
            if !fresh.contains_key(key) {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && self.keep_firing_for_ms > 0 {
                    let since = *a.keep_firing_since_ms.get_or_insert(ts_ms);
                    if ts_ms - since < self.keep_firing_for_ms {
                        keep_firing = true;
                    }
                }
                if a.state == AlertState::Pending
                    || a.resolved_at_ms
                        .is_some_and(|r| ts_ms - r >= RESOLVED_RETENTION_MS)
                {
                    remove.push(key.clone());
                }
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at_ms = Some(ts_ms);
                }
                if !keep_firing {
                    continue;
                }
            } else {
                a.keep_firing_since_ms = None;
            }
            active_count += 1;
            if a.state == AlertState::Pending && ts_ms - a.active_at_ms >= self.for_ms {
                a.state = AlertState::Firing;
                a.fired_at_ms = Some(ts_ms);
            }
            if restored {
                out.push((alerts_series(&a.labels, a.state), 1.0));
                out.push((
                    for_state_series(&a.labels),
                    a.active_at_ms.div_euclid(1000) as f64,
                ));
            }
        }
        for k in remove {
            st.active.remove(&k);
        }
        if limit > 0 && active_count > limit {
            st.active.clear();
            let err = format!("exceeded limit of {limit} with {active_count} alerts");
            st.eval.fail(err.clone());
            return Err(err);
        }
        Ok(out)
    }

    /// The alerts due to be (re)sent after an evaluation at `ts_ms`, marked
    /// as sent; `interval_ms` is the group's.
    pub fn alerts_to_send(
        &self,
        ts_ms: i64,
        resend_delay_ms: i64,
        interval_ms: i64,
        generator_url: &str,
    ) -> Vec<PostableAlert> {
        let mut st = self.state.lock();
        let delta = resend_delay_ms.max(interval_ms);
        let mut out = Vec::new();
        for a in st.active.values_mut() {
            if !a.needs_sending(ts_ms, resend_delay_ms) {
                continue;
            }
            a.last_sent_at_ms = Some(ts_ms);
            a.valid_until_ms = ts_ms.saturating_add(delta.saturating_mul(4));
            out.push(PostableAlert {
                labels: label_map(&a.labels),
                annotations: a.annotations.clone(),
                starts_at_ms: a.fired_at_ms.unwrap_or(a.active_at_ms),
                ends_at_ms: a.resolved_at_ms.unwrap_or(a.valid_until_ms),
                generator_url: generator_url.to_string(),
            });
        }
        out
    }

    /// Records the outcome of an evaluation.
    pub fn set_health(&self, ts_ms: i64, took_s: f64, err: Option<String>) {
        self.state.lock().eval.record(ts_ms, took_s, err);
    }

    pub fn is_restored(&self) -> bool {
        self.state.lock().restored
    }

    pub fn set_restored(&self) {
        self.state.lock().restored = true;
    }

    /// Labels of the active (pending or firing) alerts, for restoring.
    pub fn active_labels(&self) -> Vec<Labels> {
        self.state
            .lock()
            .active
            .values()
            .filter(|a| a.state != AlertState::Inactive)
            .map(|a| a.labels.clone())
            .collect()
    }

    /// Moves an alert's `ActiveAt` (restoring `for` state after a restart).
    pub fn set_active_at(&self, labels: &Labels, active_at_ms: i64) {
        if let Some(a) = self.state.lock().active.get_mut(labels) {
            a.active_at_ms = active_at_ms;
        }
    }

    /// Takes over the alerts and evaluation state of the same rule in the
    /// previous version of the group (reload).
    pub fn copy_state_from(&self, old: &AlertingRule) {
        let old_st = old.state.lock();
        let mut st = self.state.lock();
        st.active = old_st.active.clone();
        st.eval = old_st.eval.clone();
        // `restored` stays as constructed: the group decides whether the
        // new version still has to restore.
    }

    /// A snapshot for the API. `config_error` (a failed reload of the
    /// rule's file) is shown as the rule's error.
    pub fn view(&self, config_error: Option<&str>) -> RuleView {
        let st = self.state.lock();
        let alerts: Vec<AlertView> = st
            .active
            .values()
            .filter(|a| a.state != AlertState::Inactive)
            .map(|a| AlertView {
                labels: label_map(&a.labels),
                annotations: a.annotations.clone(),
                state: a.state,
                active_at_ms: a.active_at_ms,
                keep_firing_since_ms: a.keep_firing_since_ms,
                value: a.value,
            })
            .collect();
        let state = alerts
            .iter()
            .map(|a| a.state)
            .max()
            .unwrap_or(AlertState::Inactive);
        RuleView::Alerting {
            common: st
                .eval
                .common(&self.name, &self.expr, &self.labels, config_error),
            duration_s: self.for_ms as f64 / 1000.0,
            keep_firing_for_s: self.keep_firing_for_ms as f64 / 1000.0,
            annotations: self.annotations.clone(),
            state,
            alerts,
        }
    }

    /// All alerts, inactive ones included (tests, debugging).
    pub fn alerts(&self) -> Vec<Alert> {
        self.state.lock().active.values().cloned().collect()
    }
}

/// Labels as a map (templates, the API, Alertmanager).
pub fn label_map(l: &Labels) -> BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

/// `ALERTS{alertstate=..., <alert labels>}`.
pub fn alerts_series(labels: &Labels, state: AlertState) -> Labels {
    let mut l = labels.clone();
    l.set(METRIC_NAME, "ALERTS");
    l.set("alertstate", state.as_str());
    l
}

/// `ALERTS_FOR_STATE{<alert labels>}` (value: `ActiveAt` in Unix seconds).
pub fn for_state_series(labels: &Labels) -> Labels {
    let mut l = labels.clone();
    l.set(METRIC_NAME, "ALERTS_FOR_STATE");
    l
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(for_s: i64, keep_s: i64) -> AlertingRule {
        AlertingRule::new(
            "HighLatency".into(),
            "latency > 1".into(),
            for_s * 1000,
            keep_s * 1000,
            BTreeMap::from([("severity".to_string(), "page".to_string())]),
            BTreeMap::from([(
                "summary".to_string(),
                "{{ $labels.job }} is slow".to_string(),
            )]),
            true,
        )
    }

    fn no_query(_: &str) -> Result<Vec<crate::rules::template::QuerySample>, String> {
        Err("no queries in this test".into())
    }

    fn eval(r: &AlertingRule, t_s: i64, firing: &[(&str, f64)]) -> Vec<OutSample> {
        let ext = BTreeMap::new();
        let env = TemplateEnv {
            external_labels: &ext,
            external_url: "http://cairn",
            query: &no_query,
        };
        let samples = firing
            .iter()
            .map(|(job, v)| {
                (
                    Labels::from_pairs([("__name__", "latency"), ("job", job)]),
                    *v,
                )
            })
            .collect();
        r.eval(t_s * 1000, samples, &env, 0)
            .expect("evaluation succeeds")
    }

    /// Evaluates `samples` at time 0 without templates' external data.
    fn eval_raw(
        r: &AlertingRule,
        samples: Vec<(Labels, f64)>,
        limit: usize,
    ) -> Result<Vec<OutSample>, String> {
        let ext = BTreeMap::new();
        let env = TemplateEnv {
            external_labels: &ext,
            external_url: "",
            query: &no_query,
        };
        r.eval(0, samples, &env, limit)
    }

    fn states(r: &AlertingRule) -> Vec<(String, AlertState)> {
        r.alerts()
            .into_iter()
            .map(|a| (a.labels.get("job").unwrap_or("").to_string(), a.state))
            .collect()
    }

    fn send(r: &AlertingRule, t_s: i64) -> Vec<PostableAlert> {
        r.alerts_to_send(t_s * 1000, 60_000, 30_000, "http://cairn/graph")
    }

    #[test]
    fn pending_then_firing_after_for_then_resolved() {
        let r = rule(60, 0);
        let out = eval(&r, 0, &[("api", 2.0)]);
        assert_eq!(states(&r), vec![("api".into(), AlertState::Pending)]);
        let alerts_labels = Labels::from_pairs([
            ("__name__", "ALERTS"),
            ("alertname", "HighLatency"),
            ("alertstate", "pending"),
            ("job", "api"),
            ("severity", "page"),
        ]);
        assert_eq!(out[0], (alerts_labels, 1.0));
        assert_eq!(out[1].1, 0.0, "ALERTS_FOR_STATE holds ActiveAt in seconds");
        assert!(send(&r, 0).is_empty(), "pending alerts are never sent");
        eval(&r, 30, &[("api", 3.0)]);
        assert_eq!(states(&r), vec![("api".into(), AlertState::Pending)]);
        eval(&r, 60, &[("api", 3.0)]);
        assert_eq!(states(&r), vec![("api".into(), AlertState::Firing)]);
        let sent = send(&r, 60);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].starts_at_ms, 60_000);
        assert_eq!(sent[0].ends_at_ms, 60_000 + 4 * 60_000);
        assert_eq!(sent[0].annotations["summary"], "api is slow");
        assert_eq!(sent[0].labels["alertname"], "HighLatency");
        assert!(!sent[0].labels.contains_key("__name__"));
        // Resent once the resend delay has passed, not before.
        eval(&r, 90, &[("api", 3.0)]);
        assert!(send(&r, 90).is_empty());
        eval(&r, 120, &[("api", 3.0)]);
        assert_eq!(send(&r, 120).len(), 1);
        // Gone from the result: inactive at once, sent as resolved.
        let out = eval(&r, 150, &[]);
        assert!(out.is_empty(), "no ALERTS for inactive alerts");
        assert_eq!(states(&r), vec![("api".into(), AlertState::Inactive)]);
        let sent = send(&r, 150);
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].ends_at_ms, 150_000);
        assert_eq!(sent[0].starts_at_ms, 60_000);
        // Resolved alerts are resent for 15 minutes, then forgotten.
        eval(&r, 180, &[]);
        assert!(send(&r, 180).is_empty());
        eval(&r, 210, &[]);
        assert_eq!(send(&r, 210).len(), 1);
        eval(&r, 150 + 15 * 60 - 30, &[]);
        assert_eq!(states(&r).len(), 1);
        assert_eq!(send(&r, 150 + 15 * 60 - 30).len(), 1, "last resend");
        // Sent while less than 15 minutes have passed (the specification).
        eval(&r, 150 + 15 * 60, &[]);
        assert!(states(&r).is_empty());
        assert!(send(&r, 150 + 15 * 60).is_empty());
    }

    #[test]
    fn zero_for_fires_at_once() {
        let r = rule(0, 0);
        let out = eval(&r, 10, &[("api", 2.0)]);
        assert_eq!(states(&r), vec![("api".into(), AlertState::Firing)]);
        assert_eq!(out[0].0.get("alertstate"), Some("firing"));
        let sent = send(&r, 10);
        assert_eq!(sent[0].starts_at_ms, 10_000);
    }

    #[test]
    fn pending_alert_that_disappears_is_dropped_and_not_sent() {
        let r = rule(60, 0);
        eval(&r, 0, &[("api", 2.0)]);
        eval(&r, 30, &[]);
        assert!(states(&r).is_empty());
        assert!(send(&r, 30).is_empty());
        // Coming back starts a new pending period.
        eval(&r, 60, &[("api", 2.0)]);
        let a = &r.alerts()[0];
        assert_eq!((a.state, a.active_at_ms), (AlertState::Pending, 60_000));
    }

    #[test]
    fn flapping_alert_starts_over_after_resolving() {
        let r = rule(30, 0);
        eval(&r, 0, &[("api", 2.0)]);
        eval(&r, 30, &[("api", 2.0)]);
        assert_eq!(states(&r), vec![("api".into(), AlertState::Firing)]);
        eval(&r, 60, &[]);
        assert_eq!(states(&r), vec![("api".into(), AlertState::Inactive)]);
        eval(&r, 90, &[("api", 2.0)]);
        let a = &r.alerts()[0];
        assert_eq!(
            (a.state, a.active_at_ms, a.resolved_at_ms),
            (AlertState::Pending, 90_000, None),
            "a new alert replaces the resolved one"
        );
    }

    #[test]
    fn keep_firing_for_holds_firing_then_resolves() {
        let r = rule(0, 60);
        eval(&r, 0, &[("api", 2.0)]);
        let out = eval(&r, 30, &[]);
        let a = &r.alerts()[0];
        assert_eq!(
            (a.state, a.keep_firing_since_ms),
            (AlertState::Firing, Some(30_000))
        );
        assert_eq!(out.len(), 2, "still written as firing");
        eval(&r, 60, &[]);
        assert_eq!(states(&r), vec![("api".into(), AlertState::Firing)]);
        eval(&r, 90, &[]);
        assert_eq!(states(&r), vec![("api".into(), AlertState::Inactive)]);
        // Back in the result while kept firing resets the keep clock.
        let r = rule(0, 60);
        eval(&r, 0, &[("api", 2.0)]);
        eval(&r, 30, &[]);
        eval(&r, 60, &[("api", 2.0)]);
        assert_eq!(r.alerts()[0].keep_firing_since_ms, None);
    }

    #[test]
    fn duplicate_labelsets_fail_the_rule() {
        let r = AlertingRule::new(
            "A".into(),
            "x".into(),
            0,
            0,
            BTreeMap::new(),
            BTreeMap::new(),
            true,
        );
        let samples = vec![
            (Labels::from_pairs([("__name__", "a"), ("x", "1")]), 1.0),
            (Labels::from_pairs([("__name__", "b"), ("x", "1")]), 1.0),
        ];
        let err = eval_raw(&r, samples, 0).unwrap_err();
        assert_eq!(
            err,
            "vector contains metrics with the same labelset after applying alert labels"
        );
    }

    #[test]
    fn limit_clears_alerts_and_fails() {
        let r = rule(0, 0);
        let samples = vec![
            (Labels::from_pairs([("job", "a")]), 1.0),
            (Labels::from_pairs([("job", "b")]), 1.0),
        ];
        let err = eval_raw(&r, samples, 1).unwrap_err();
        assert_eq!(err, "exceeded limit of 1 with 2 alerts");
        assert!(r.alerts().is_empty());
    }

    #[test]
    fn unrestored_rule_writes_no_series() {
        let r = AlertingRule::new(
            "A".into(),
            "x".into(),
            0,
            0,
            BTreeMap::new(),
            BTreeMap::new(),
            false,
        );
        let out = eval_raw(&r, vec![(Labels::from_pairs([("job", "a")]), 1.0)], 0).expect("ok");
        assert!(out.is_empty());
        assert_eq!(r.alerts().len(), 1);
    }
}
