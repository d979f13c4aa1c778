//! A rule group: its rules evaluated in order at one timestamp, each
//! rule's output (recorded series, `ALERTS`, `ALERTS_FOR_STATE`) written to
//! the tenant's TSDB before the next rule runs, stale markers for series a
//! rule stopped producing, alerts handed to the notifier, and restoring
//! alerts' `for` state after a start. Semantics of Prometheus'
//! `rules/group.go`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;

use crate::config::RulesConfig;
use crate::metrics::db::IncomingSeries;
use crate::model::matcher::Matcher;
use crate::model::{is_stale_nan, Labels, Sample, TenantId, STALE_NAN_BITS};
use crate::promql::source::{MemorySource, SampleSource};
use crate::promql::Value;

use super::alerting::{for_state_series, label_map, AlertingRule, TemplateEnv};
use super::file::{GroupSpec, QueryLanguage, RuleKind};
use super::manager::RuleDeps;
use super::recording::RecordingRule;
use super::template::QuerySample;
use super::view::{GroupView, RuleView};

/// A rule of a group.
#[derive(Debug)]
pub enum Rule {
    Recording(RecordingRule),
    Alerting(AlertingRule),
}

impl Rule {
    fn name(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.name,
            Rule::Alerting(r) => &r.name,
        }
    }

    fn labels(&self) -> &std::collections::BTreeMap<String, String> {
        match self {
            Rule::Recording(r) => &r.labels,
            Rule::Alerting(r) => &r.labels,
        }
    }

    fn set_health(&self, ts_ms: i64, took_s: f64, err: Option<String>) {
        match self {
            Rule::Recording(r) => r.set_health(ts_ms, took_s, err),
            Rule::Alerting(r) => r.set_health(ts_ms, took_s, err),
        }
    }

    fn kind_eq(&self, other: &Rule) -> bool {
        matches!(
            (self, other),
            (Rule::Recording(_), Rule::Recording(_)) | (Rule::Alerting(_), Rule::Alerting(_))
        )
    }

    fn expr(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.expr,
            Rule::Alerting(r) => &r.expr,
        }
    }
}

#[derive(Debug, Default)]
struct GroupState {
    last_eval_ms: Option<i64>,
    eval_time_s: f64,
    /// Per rule: the series its last successful evaluation wrote.
    series_in_prev: Vec<HashSet<Labels>>,
    /// Evaluations since the group was created (restoring waits for two).
    evaluations: u64,
    /// The next tick to evaluate at.
    next_eval_ms: Option<i64>,
    /// Set while the group's file fails to reload: shown on every rule.
    config_error: Option<String>,
}

/// A rule group of one tenant.
#[derive(Debug)]
pub struct Group {
    pub tenant: TenantId,
    pub file: String,
    pub name: String,
    pub interval_ms: i64,
    pub query_offset_ms: i64,
    pub limit: usize,
    pub language: QueryLanguage,
    pub rules: Vec<Rule>,
    /// Restore `for` state from `ALERTS_FOR_STATE` after the second
    /// evaluation (true for groups loaded at start).
    should_restore: bool,
    state: Mutex<GroupState>,
    /// Held while evaluating: one evaluation of a group at a time.
    running: Mutex<()>,
}

/// Where alerts' `generatorURL` points: Cairn's query API for the
/// expression, in the group's language (Cairn has no graph page).
fn generator_url(external_url: &str, language: QueryLanguage, expr: &str) -> String {
    let path = match language {
        QueryLanguage::PromQL => "/api/v1/query",
        QueryLanguage::LogQL => "/loki/api/v1/query",
    };
    format!(
        "{}{path}?query={}",
        external_url.trim_end_matches('/'),
        crate::template::query_escape(expr)
    )
}

/// Milliseconds of a duration, saturating (durations beyond ~292 million
/// years do not wrap negative).
fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Group {
    /// Builds a group from its file spec. `restore` is true for groups
    /// loaded at start (their alerts' `for` state is restored).
    pub fn new(
        tenant: TenantId,
        file: &str,
        spec: &GroupSpec,
        default_interval_ms: i64,
        restore: bool,
    ) -> Group {
        let rules: Vec<Rule> = spec
            .rules
            .iter()
            .map(|r| {
                let mut labels = spec.labels.clone();
                labels.extend(r.labels.clone());
                match &r.kind {
                    RuleKind::Record(name) => {
                        Rule::Recording(RecordingRule::new(name.clone(), r.expr.clone(), labels))
                    }
                    RuleKind::Alert(name) => Rule::Alerting(AlertingRule::new(
                        name.clone(),
                        r.expr.clone(),
                        millis(r.for_),
                        millis(r.keep_firing_for),
                        labels,
                        r.annotations.clone(),
                        !restore,
                    )),
                }
            })
            .collect();
        let n = rules.len();
        Group {
            tenant,
            file: file.to_string(),
            name: spec.name.clone(),
            interval_ms: spec
                .interval
                .map(millis)
                .unwrap_or(default_interval_ms)
                .max(1),
            query_offset_ms: spec.query_offset.map(millis).unwrap_or(0),
            limit: spec.limit,
            language: spec.language,
            rules,
            should_restore: restore,
            state: Mutex::new(GroupState {
                series_in_prev: vec![HashSet::new(); n],
                ..Default::default()
            }),
            running: Mutex::new(()),
        }
    }

    /// `file;group`, the group's name in metrics.
    pub fn key(&self) -> String {
        format!("{};{}", self.file, self.name)
    }

    /// A stable offset spreading groups over their interval.
    fn offset_ms(&self) -> i64 {
        let mut h = crc32fast::Hasher::new();
        h.update(self.tenant.as_str().as_bytes());
        h.update(&[0xff]);
        h.update(self.file.as_bytes());
        h.update(&[0xff]);
        h.update(self.name.as_bytes());
        (h.finalize() as i64) % self.interval_ms
    }

    /// The latest tick at or before `now_ms`.
    pub fn eval_timestamp(&self, now_ms: i64) -> i64 {
        let offset = self.offset_ms();
        let adj = now_ms - offset;
        adj - adj.rem_euclid(self.interval_ms) + offset
    }

    /// The next tick to evaluate at (the first tick after `now_ms` for a
    /// group that has not run yet).
    pub fn next_eval_ms(&self, now_ms: i64) -> i64 {
        let mut st = self.state.lock();
        *st.next_eval_ms
            .get_or_insert_with(|| self.eval_timestamp(now_ms) + self.interval_ms)
    }

    /// If the group is due at `now_ms`: the tick to evaluate at and how many
    /// earlier ticks were missed; advances the schedule.
    pub fn take_due(&self, now_ms: i64) -> Option<(i64, u64)> {
        let next = self.next_eval_ms(now_ms);
        if next > now_ms {
            return None;
        }
        let ts = self.eval_timestamp(now_ms);
        let missed = ((ts - next) / self.interval_ms).max(0) as u64;
        self.state.lock().next_eval_ms = Some(ts + self.interval_ms);
        Some((ts, missed))
    }

    /// Whether this group still has to restore `for` state (loaded at
    /// start and not yet evaluated twice): a reload in that window passes
    /// the duty on to the new version.
    pub fn restore_pending(&self) -> bool {
        self.should_restore && self.state.lock().evaluations < 2
    }

    /// Whether an evaluation is running now.
    pub fn is_running(&self) -> bool {
        self.running.is_locked()
    }

    /// Sets or clears the reload error shown on the group's rules.
    pub fn set_config_error(&self, err: Option<String>) {
        self.state.lock().config_error = err;
    }

    /// Takes over the state of the previous version of this group: rules
    /// matched by kind, name and labels in order (as Prometheus matches
    /// them, so editing a threshold keeps an alert's state), the schedule,
    /// stale-marker bookkeeping and the evaluation times. Waits for an
    /// evaluation of the old group in flight. Returns the series the old
    /// group's unmatched rules wrote, which the caller marks stale.
    pub fn copy_state_from(&self, old: &Group) -> Vec<Labels> {
        let _old_running = old.running.lock();
        let old_st = old.state.lock();
        let mut st = self.state.lock();
        st.last_eval_ms = old_st.last_eval_ms;
        st.eval_time_s = old_st.eval_time_s;
        st.evaluations = old_st.evaluations;
        if self.interval_ms == old.interval_ms {
            st.next_eval_ms = old_st.next_eval_ms;
        }
        let mut used = vec![false; old.rules.len()];
        for (i, r) in self.rules.iter().enumerate() {
            let found = old.rules.iter().enumerate().find(|(j, o)| {
                !used[*j] && o.name() == r.name() && o.labels() == r.labels() && o.kind_eq(r)
            });
            if let Some((j, o)) = found {
                used[j] = true;
                if let Some(prev) = old_st.series_in_prev.get(j) {
                    st.series_in_prev[i] = prev.clone();
                }
                match (o, r) {
                    (Rule::Recording(o), Rule::Recording(n)) => n.copy_state_from(o),
                    (Rule::Alerting(o), Rule::Alerting(n)) => n.copy_state_from(o),
                    _ => {}
                }
            }
        }
        used.iter()
            .enumerate()
            .filter(|(_, u)| !**u)
            .filter_map(|(j, _)| old_st.series_in_prev.get(j))
            .flat_map(|s| s.iter().cloned())
            .collect()
    }

    /// Series the group wrote last (for stale markers when it is removed).
    pub fn written_series(&self) -> Vec<Labels> {
        self.state
            .lock()
            .series_in_prev
            .iter()
            .flat_map(|s| s.iter().cloned())
            .collect()
    }

    /// Evaluates every rule in order at `ts_ms`.
    pub fn eval(&self, ts_ms: i64, deps: &RuleDeps, cfg: &RulesConfig, external_url: &str) {
        let _running = self.running.lock();
        let started = Instant::now();
        let key = self.key();
        let tenant = self.tenant.as_str();
        deps.selfmon
            .rule_group_evaluations
            .with(&[tenant, &key])
            .inc();
        let query_ts = ts_ms - self.query_offset_ms;
        let resend_delay_ms = cfg.resend_delay.as_millis_i64();
        for (i, rule) in self.rules.iter().enumerate() {
            let rule_started = Instant::now();
            let result = self.query(deps, rule.expr(), query_ts);
            let outcome = result.and_then(|samples| match rule {
                Rule::Recording(r) => r.eval(samples, self.limit),
                Rule::Alerting(r) => {
                    let query_fn = |q: &str| -> Result<Vec<QuerySample>, String> {
                        self.query(deps, q, query_ts).map(|v| {
                            v.into_iter()
                                .map(|(l, value)| QuerySample {
                                    labels: label_map(&l),
                                    value,
                                })
                                .collect()
                        })
                    };
                    let env = TemplateEnv {
                        external_labels: &cfg.external_labels,
                        external_url,
                        query: &query_fn,
                    };
                    r.eval(ts_ms, samples, &env, self.limit)
                }
            });
            let took = rule_started.elapsed().as_secs_f64();
            let out = match outcome {
                Ok(out) => {
                    rule.set_health(ts_ms, took, None);
                    out
                }
                Err(e) => {
                    tracing::warn!(tenant, group = %key, rule = rule.name(), error = %e, "rule evaluation failed");
                    deps.selfmon
                        .rule_evaluation_failures
                        .with(&[tenant, &key])
                        .inc();
                    rule.set_health(ts_ms, took, Some(e));
                    continue;
                }
            };
            if let Rule::Alerting(r) = rule {
                let mut alerts = r.alerts_to_send(
                    ts_ms,
                    resend_delay_ms,
                    self.interval_ms,
                    &generator_url(external_url, self.language, &r.expr),
                );
                // Alerts of other tenants than the default one say whose
                // they are, or Alertmanager would merge equal alerts of two
                // tenants.
                if self.tenant != TenantId::default_tenant() {
                    for a in &mut alerts {
                        a.labels
                            .entry("tenant".to_string())
                            .or_insert_with(|| self.tenant.as_str().to_string());
                    }
                }
                if !alerts.is_empty() {
                    deps.notifier.send(alerts);
                }
            }
            self.write(deps, i, query_ts, out);
        }
        let evaluations = {
            let mut st = self.state.lock();
            st.last_eval_ms = Some(ts_ms);
            st.eval_time_s = started.elapsed().as_secs_f64();
            st.evaluations += 1;
            st.evaluations
        };
        if self.should_restore && evaluations == 2 {
            self.restore_for_state(deps, cfg, deps.clock.now_ms());
        }
        deps.selfmon
            .rule_group_duration
            .with(&[tenant, &key])
            .observe(started.elapsed());
    }

    /// Runs one query of the group's language at `ts_ms`: a vector or a
    /// scalar (one sample without labels).
    fn query(&self, deps: &RuleDeps, expr: &str, ts_ms: i64) -> Result<Vec<(Labels, f64)>, String> {
        match self.language {
            QueryLanguage::PromQL => {
                let src: Arc<dyn SampleSource> = match deps.metrics.existing(&self.tenant) {
                    Some(db) => db,
                    None => Arc::new(MemorySource::new()),
                };
                let r = deps
                    .engine
                    .instant(src.as_ref(), expr, ts_ms)
                    .map_err(|e| e.to_string())?;
                match r.value {
                    Value::Vector(v) => Ok(v.into_iter().map(|s| (s.labels, s.v)).collect()),
                    Value::Scalar { v, .. } => Ok(vec![(Labels::empty(), v)]),
                    _ => Err("rule result is not a vector or scalar".into()),
                }
            }
            QueryLanguage::LogQL => {
                use crate::logql::eval::{Direction, QueryOutput, QueryParams};
                let parsed = crate::logql::parse(expr).map_err(|e| e.to_string())?;
                let src = deps.logs.source(&self.tenant);
                let ts_ns = ts_ms.saturating_mul(1_000_000);
                let params = QueryParams {
                    start_ns: ts_ns,
                    end_ns: ts_ns,
                    step_ns: 0,
                    interval_ns: 0,
                    limit: 100,
                    direction: Direction::Backward,
                    instant: true,
                };
                let (out, _) = deps
                    .log_engine
                    .exec(src.as_ref(), &parsed, &params)
                    .map_err(|e| e.to_string())?;
                match out {
                    QueryOutput::Vector(v) => {
                        Ok(v.into_iter().map(|s| (s.labels, s.value)).collect())
                    }
                    QueryOutput::Scalar { value, .. } => Ok(vec![(Labels::empty(), value)]),
                    _ => Err(
                        "rule result is not a vector or scalar: log queries cannot be rules".into(),
                    ),
                }
            }
        }
    }

    /// Writes rule `i`'s output at `ts_ms`, and stale markers for the
    /// series it wrote last time but not now.
    fn write(&self, deps: &RuleDeps, i: usize, ts_ms: i64, out: Vec<(Labels, f64)>) {
        let now: HashSet<Labels> = out.iter().map(|(l, _)| l.clone()).collect();
        let stale: Vec<Labels> = {
            let st = self.state.lock();
            st.series_in_prev
                .get(i)
                .map(|prev| prev.difference(&now).cloned().collect())
                .unwrap_or_default()
        };
        let mut series: Vec<IncomingSeries<'_>> = out
            .into_iter()
            .map(|(l, v)| IncomingSeries {
                labels: l.into(),
                samples: vec![Sample::new(ts_ms, v)],
                ..Default::default()
            })
            .collect();
        series.extend(stale.into_iter().map(|l| IncomingSeries {
            labels: l.into(),
            samples: vec![Sample::new(ts_ms, f64::from_bits(STALE_NAN_BITS))],
            ..Default::default()
        }));
        if !series.is_empty() {
            let db = match deps.metrics.tenant(&self.tenant) {
                Ok(db) => db,
                Err(e) => {
                    tracing::error!(tenant = %self.tenant, error = %e, "cannot open the TSDB for rule results");
                    return;
                }
            };
            match db.write(&series, &[]) {
                Ok(o) if !o.errors.is_empty() => {
                    tracing::warn!(group = %self.key(), errors = ?o.errors, "some rule results were not stored")
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(group = %self.key(), error = %e, "storing rule results failed")
                }
            }
        }
        if let Some(prev) = self.state.lock().series_in_prev.get_mut(i) {
            *prev = now;
        }
    }

    /// Writes stale markers for every series the group wrote last (when the
    /// group is removed by a reload).
    pub fn mark_all_stale(&self, deps: &RuleDeps, ts_ms: i64) {
        let _running = self.running.lock();
        self.write_stale(deps, self.written_series(), ts_ms);
    }

    /// Writes stale markers for `series` at `ts_ms` in the group's tenant.
    pub fn write_stale(&self, deps: &RuleDeps, series: Vec<Labels>, ts_ms: i64) {
        let series: Vec<IncomingSeries<'_>> = series
            .into_iter()
            .map(|l| IncomingSeries {
                labels: l.into(),
                samples: vec![Sample::new(ts_ms, f64::from_bits(STALE_NAN_BITS))],
                ..Default::default()
            })
            .collect();
        if series.is_empty() {
            return;
        }
        if let Ok(db) = deps.metrics.tenant(&self.tenant) {
            if let Err(e) = db.write(&series, &[]) {
                tracing::warn!(group = %self.key(), error = %e, "writing stale markers failed");
            }
        }
    }

    /// Restores active alerts' `ActiveAt` from `ALERTS_FOR_STATE` written
    /// before a restart (Prometheus' `RestoreForState`): an alert pending
    /// when Cairn stopped keeps the time it had already spent pending; the
    /// time Cairn was down does not count, and at least `for_grace_period`
    /// remains. Alerts resolved before the restart (a stale last sample)
    /// are not restored.
    pub fn restore_for_state(&self, deps: &RuleDeps, cfg: &RulesConfig, now_ms: i64) {
        let mint = now_ms - cfg.outage_tolerance.as_millis_i64();
        let grace = cfg.for_grace_period.as_millis_i64();
        let db = deps.metrics.existing(&self.tenant);
        for rule in &self.rules {
            let Rule::Alerting(r) = rule else { continue };
            if r.for_ms < grace {
                r.set_restored();
                continue;
            }
            let Some(db) = db.as_ref() else {
                r.set_restored();
                continue;
            };
            for labels in r.active_labels() {
                let want = for_state_series(&labels);
                let matchers: Vec<Matcher> = want
                    .iter()
                    .map(|l| Matcher::equal(l.name.clone(), l.value.clone()))
                    .collect();
                let Ok(found) = db.select(&matchers, mint, now_ms) else {
                    continue;
                };
                let Some(series) = found.into_iter().find(|s| s.labels == want) else {
                    continue;
                };
                let Some(last) = series.samples.last() else {
                    continue;
                };
                if is_stale_nan(last.v) {
                    continue;
                }
                let down_at = last.t.div_euclid(1000) * 1000;
                let mut active_at = (last.v as i64).saturating_mul(1000);
                let remaining = r.for_ms - (down_at - active_at);
                if remaining <= 0 {
                    // It was firing: it fires again at the next evaluation.
                } else if remaining < grace {
                    active_at = now_ms + grace - r.for_ms;
                } else {
                    active_at += now_ms - down_at;
                }
                r.set_active_at(&labels, active_at);
            }
            r.set_restored();
        }
    }

    /// A snapshot for the API.
    pub fn view(&self) -> GroupView {
        let st = self.state.lock();
        let err = st.config_error.as_deref();
        GroupView {
            name: self.name.clone(),
            file: self.file.clone(),
            interval_s: self.interval_ms as f64 / 1000.0,
            limit: self.limit,
            last_evaluation_ms: st.last_eval_ms,
            evaluation_time_s: st.eval_time_s,
            rules: self
                .rules
                .iter()
                .map(|r| match r {
                    Rule::Recording(r) => r.view(err),
                    Rule::Alerting(r) => r.view(err),
                })
                .collect::<Vec<RuleView>>(),
        }
    }
}
