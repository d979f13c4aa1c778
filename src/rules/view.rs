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
