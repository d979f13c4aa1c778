//! Read-only snapshots of rule groups, rules and alerts: what
//! `/api/v1/rules` and `/api/v1/alerts` render. Taken under the groups'
//! locks, then rendered without them.

use std::collections::BTreeMap;

/// One group as the API shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupView {
    pub name: String,
    /// The rule file the group came from.
    pub file: String,
    /// Evaluation interval in seconds.
    pub interval_s: f64,
    /// The group's `limit` (0: none).
    pub limit: usize,
    /// Start of the last evaluation (ms since the epoch), `None` if never.
    pub last_evaluation_ms: Option<i64>,
    /// How long the last evaluation took, in seconds.
    pub evaluation_time_s: f64,
    pub rules: Vec<RuleView>,
}

/// Evaluation health of a rule, as Prometheus names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    Unknown,
    Ok,
    Err,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

/// State of one alert (and, summarised, of a rule).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// How a rule's last evaluation went: kept by every rule, shown by the API.
#[derive(Clone, Debug, PartialEq)]
pub struct EvalRecord {
    pub health: Health,
    pub last_error: String,
    pub last_eval_ms: Option<i64>,
    pub eval_time_s: f64,
}

impl Default for EvalRecord {
    fn default() -> Self {
        EvalRecord {
            health: Health::Unknown,
            last_error: String::new(),
            last_eval_ms: None,
            eval_time_s: 0.0,
        }
    }
}

impl EvalRecord {
    /// Records an evaluation at `ts_ms` that took `took_s` seconds.
    pub fn record(&mut self, ts_ms: i64, took_s: f64, err: Option<String>) {
        self.last_eval_ms = Some(ts_ms);
        self.eval_time_s = took_s;
        match err {
            Some(e) => self.fail(e),
            None => {
                self.health = Health::Ok;
                self.last_error.clear();
            }
        }
    }

    /// Marks the rule failed.
    pub fn fail(&mut self, err: String) {
        self.health = Health::Err;
        self.last_error = err;
    }

    /// The API's view; `config_error` (a failed reload of the rule's file)
    /// overrides the evaluation's health.
    pub fn common(
        &self,
        name: &str,
        query: &str,
        labels: &BTreeMap<String, String>,
        config_error: Option<&str>,
    ) -> RuleCommon {
        let (health, last_error) = match config_error {
            Some(e) => (Health::Err, e.to_string()),
            None => (self.health, self.last_error.clone()),
        };
        RuleCommon {
            name: name.to_string(),
            query: query.to_string(),
            labels: labels.clone(),
            health,
            last_error,
            last_evaluation_ms: self.last_eval_ms,
            evaluation_time_s: self.eval_time_s,
        }
    }
}

/// What every rule shows.
#[derive(Clone, Debug, PartialEq)]
pub struct RuleCommon {
    pub name: String,
    pub query: String,
    pub labels: BTreeMap<String, String>,
    pub health: Health,
    /// Empty when `health` is `Ok`.
    pub last_error: String,
    pub last_evaluation_ms: Option<i64>,
    pub evaluation_time_s: f64,
}

/// One rule as the API shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleView {
    Recording(RuleCommon),
    Alerting {
        common: RuleCommon,
        /// `for`, in seconds.
        duration_s: f64,
        /// `keep_firing_for`, in seconds.
        keep_firing_for_s: f64,
        annotations: BTreeMap<String, String>,
        /// Firing if any alert fires, pending if any is pending, else inactive.
        state: AlertState,
        /// The pending and firing alerts.
        alerts: Vec<AlertView>,
    },
}

impl RuleView {
    pub fn common(&self) -> &RuleCommon {
        match self {
            RuleView::Recording(c) => c,
            RuleView::Alerting { common, .. } => common,
        }
    }
}

/// One pending or firing alert.
#[derive(Clone, Debug, PartialEq)]
pub struct AlertView {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    pub active_at_ms: i64,
    /// Set while the alert is kept firing by `keep_firing_for`.
    pub keep_firing_since_ms: Option<i64>,
    /// The sample value that produced the alert.
    pub value: f64,
}
