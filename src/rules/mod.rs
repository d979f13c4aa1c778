//! Recording and alerting rules, in Prometheus' rule file format, over
//! PromQL (metrics) and LogQL (logs), and the alerts they send to
//! Alertmanager.
//!
//! - [`file`]: rule files: parsing, validation (`cairn check-rules`), globs.
//! - [`template`]: Prometheus' alert templates (`$labels`, `humanize`, `query`, ...)
//!   on the shared Go template engine.
//! - [`alerting`]: one alerting rule and its alerts' state machine
//!   (pending → firing → inactive, `for`, `keep_firing_for`).
//! - [`recording`]: one recording rule.
//! - [`group`]: a group of rules evaluated in order at one timestamp, writing
//!   results, `ALERTS` and `ALERTS_FOR_STATE` to the TSDB.
//! - [`manager`]: every tenant's groups, loading and reloading the files,
//!   the schedule, and restoring `for` state after a restart.
//! - [`notifier`]: the queue and the HTTP client sending alerts to Alertmanagers.
//! - [`view`]: read-only snapshots of groups, rules and alerts for the API.

pub mod alerting;
pub mod check;
pub mod file;
pub mod group;
pub mod manager;
pub mod notifier;
pub mod recording;
pub mod template;
pub mod view;

pub use file::{QueryLanguage, RuleFile, RuleFileError};
pub use manager::RuleManager;
pub use notifier::{Notifier, PostableAlert};
