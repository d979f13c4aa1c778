//! Cairn's configuration: one YAML file, every setting defaulted, then
//! overridden by `CAIRN_*` environment variables and command-line flags.
//!
//! Overrides address any key by its path: `CAIRN_STORAGE__DATA_DIR=/var/lib/cairn`
//! sets `storage.data_dir` (sections joined by a double underscore). Unknown
//! keys are rejected with their full path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::units::{ByteSize, PromDuration};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub retention: RetentionConfig,
    pub metrics: MetricsConfig,
    pub logs: LogsConfig,
    pub traces: TracesConfig,
    pub otlp: OtlpConfig,
    pub limits: Limits,
    pub query: QueryConfig,
    pub rules: RulesConfig,
    /// Per-tenant overrides of retention and limits, keyed by tenant id.
    pub tenants: BTreeMap<String, TenantOverrides>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address of the one HTTP port serving every API.
    pub http_listen_address: String,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// A tracing filter: `info`, `debug`, `cairn=debug,tower=warn`, ...
    pub log_level: String,
    /// Largest accepted request body, after decompression.
    pub max_request_body: ByteSize,
    /// How long shutdown waits for in-flight requests before closing the WALs.
    pub graceful_shutdown_timeout: PromDuration,
    /// Base URL under which users reach Cairn (used in links).
    pub external_url: String,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FsyncMode {
    /// fsync the WAL before acknowledging each write (group commit).
    Always,
    /// fsync every `fsync_interval`; a crash can lose that much acknowledged data.
    Interval,
    /// Leave flushing to the OS.
    Never,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    pub data_dir: PathBuf,
    pub fsync: FsyncMode,
    pub fsync_interval: PromDuration,
    pub wal_segment_size: ByteSize,
    /// Cap on the bytes all signals of all tenants may use on disk; when
    /// exceeded the oldest partitions are deleted first. 0 = no cap.
    pub max_disk_bytes: ByteSize,
    /// How often retention, sealing and compaction run.
    pub maintenance_interval: PromDuration,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    pub metrics: PromDuration,
    pub logs: PromDuration,
    pub traces: PromDuration,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PartialRetention {
    pub metrics: Option<PromDuration>,
    pub logs: Option<PromDuration>,
    pub traces: Option<PromDuration>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Length of the time partitions (blocks) the head is cut into.
    pub block_duration: PromDuration,
    /// How far behind a series' newest sample a sample may arrive and still
    /// be accepted (Prometheus' `out_of_order_time_window`). 0 = in order only.
    pub out_of_order_window: PromDuration,
    /// Exemplars kept in memory per tenant (a ring buffer).
    pub max_exemplars: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct TracesConfig {
    /// A live trace that received no span for this long is complete: it
    /// leaves the in-memory head at the next seal.
    pub trace_idle_timeout: PromDuration,
    /// The head is sealed into a partition once its spans reach this size
    /// (encoded protobuf bytes) ...
    pub max_head_bytes: ByteSize,
    /// ... or once its oldest complete trace has waited this long.
    pub max_head_age: PromDuration,
    /// Build the tantivy search index of sealed partitions.
    pub index: bool,
    /// Largest size (encoded protobuf) one live trace may reach; spans
    /// beyond it are refused (reported as rejected spans), as Tempo's
    /// `max_bytes_per_trace` does.
    pub max_trace_bytes: ByteSize,
}

/// The OTLP receivers. The main HTTP port serves `/v1/traces`, `/v1/logs`
/// and `/v1/metrics` as well; these are the standard OTLP ports.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OtlpConfig {
    /// OTLP/gRPC (the trace, logs and metrics services); empty disables.
    pub grpc_listen_address: String,
    /// OTLP/HTTP; empty disables (the main port still accepts OTLP).
    pub http_listen_address: String,
    /// OTLP logs: resource attributes that become stream labels (dots turn
    /// into underscores); every other attribute is structured metadata.
    pub log_label_attributes: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogsConfig {
    /// The head is sealed into a partition once its lines reach this size.
    pub max_head_bytes: ByteSize,
    /// ... or once its oldest line arrived this long ago.
    pub max_head_age: PromDuration,
    /// Raw (uncompressed) size a sealed chunk of one stream aims at.
    pub chunk_target_bytes: ByteSize,
    /// Build the tantivy n-gram index of sealed partitions (in the background).
    pub index: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Samples per second a tenant may write (0 = unlimited); over it, 429.
    pub ingestion_rate_samples: u64,
    /// Burst size of the sample rate limiter.
    pub ingestion_burst_samples: u64,
    /// Active series per tenant (0 = unlimited).
    pub max_series: u64,
    /// Label pairs per series.
    pub max_label_names_per_series: usize,
    pub max_label_name_length: usize,
    pub max_label_value_length: usize,
    /// Samples more than this far past the server's clock are refused (400).
    pub creation_grace_period: PromDuration,
    /// Log bytes (lines) per second a tenant may push (0 = unlimited); over it, 429.
    pub log_ingestion_rate_bytes: ByteSize,
    /// Burst size of the log byte rate limiter.
    pub log_ingestion_burst_bytes: ByteSize,
    /// Longest accepted log line (Loki's `max_line_size`).
    pub log_max_line_size: ByteSize,
    /// Label pairs per log stream (Loki's `max_label_names_per_series`).
    pub log_max_label_names_per_stream: usize,
    /// Lines older than this are refused (Loki's `reject_old_samples_max_age`);
    /// unset = the tenant's log retention.
    pub log_reject_older_than: Option<PromDuration>,
    /// Spans per second a tenant may push over OTLP (0 = unlimited); over
    /// it, 429 / `RESOURCE_EXHAUSTED`.
    pub trace_ingestion_rate_spans: u64,
    /// Burst size of the span rate limiter.
    pub trace_ingestion_burst_spans: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PartialLimits {
    pub ingestion_rate_samples: Option<u64>,
    pub ingestion_burst_samples: Option<u64>,
    pub max_series: Option<u64>,
    pub max_label_names_per_series: Option<usize>,
    pub max_label_name_length: Option<usize>,
    pub max_label_value_length: Option<usize>,
    pub creation_grace_period: Option<PromDuration>,
    pub log_ingestion_rate_bytes: Option<ByteSize>,
    pub log_ingestion_burst_bytes: Option<ByteSize>,
    pub log_max_line_size: Option<ByteSize>,
    pub log_max_label_names_per_stream: Option<usize>,
    pub log_reject_older_than: Option<PromDuration>,
    pub trace_ingestion_rate_spans: Option<u64>,
    pub trace_ingestion_burst_spans: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct QueryConfig {
    pub timeout: PromDuration,
    /// Samples one query may hold in memory (Prometheus' `--query.max-samples`).
    pub max_samples: usize,
    pub max_concurrent: usize,
    pub lookback_delta: PromDuration,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct TenantOverrides {
    pub retention: PartialRetention,
    pub limits: PartialLimits,
    /// Rule files (globs) of this tenant, PromQL groups by default.
    pub rule_files: Vec<String>,
    /// Rule files (globs) of this tenant in the Loki ruler's format: every
    /// group holds LogQL rules.
    pub log_rule_files: Vec<String>,
}

/// Recording and alerting rules, and where alerts go.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    /// Rule files (globs) of the default tenant. Groups hold PromQL rules
    /// unless they say `language: logql`.
    pub files: Vec<String>,
    /// Rule files (globs) of the default tenant in the Loki ruler's format:
    /// every group holds LogQL rules.
    pub log_files: Vec<String>,
    /// Interval of groups that do not set their own.
    pub evaluation_interval: PromDuration,
    /// Least time between two sends of the same firing or resolved alert.
    pub resend_delay: PromDuration,
    /// How long Cairn may have been down for pending alerts' `for` clocks to
    /// be restored from `ALERTS_FOR_STATE` (Prometheus' `rules.alert.for-outage-tolerance`).
    pub outage_tolerance: PromDuration,
    /// Least time left on a restored `for` clock (`rules.alert.for-grace-period`).
    pub for_grace_period: PromDuration,
    /// Labels added to every alert sent and available to templates as
    /// `$externalLabels`.
    pub external_labels: BTreeMap<String, String>,
    pub alertmanager: AlertmanagerConfig,
}

/// The Alertmanagers alerts are sent to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AlertmanagerConfig {
    /// Base URLs, e.g. `http://alertmanager:9093` (alerts go to
    /// `<url>/api/v2/alerts`). Empty: alerts are evaluated but not sent.
    pub urls: Vec<String>,
    pub timeout: PromDuration,
    pub basic_auth: Option<BasicAuth>,
    /// Sent as `Authorization: Bearer <token>`.
    pub bearer_token: Option<String>,
    /// Read at start and on reload, instead of `bearer_token`.
    pub bearer_token_file: Option<PathBuf>,
    /// Alerts waiting to be sent; the oldest are dropped (and counted) when full.
    pub queue_capacity: usize,
    /// Most alerts in one request.
    pub max_batch_size: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct BasicAuth {
    pub username: String,
    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            files: Vec::new(),
            log_files: Vec::new(),
            evaluation_interval: PromDuration::from_secs(60),
            resend_delay: PromDuration::from_secs(60),
            outage_tolerance: PromDuration::from_secs(3600),
            for_grace_period: PromDuration::from_secs(600),
            external_labels: BTreeMap::new(),
            alertmanager: AlertmanagerConfig::default(),
        }
    }
}

impl RulesConfig {
    /// Checks what cannot be checked by types alone.
    pub fn validate(&self) -> Result<(), String> {
        if self.evaluation_interval.0.is_zero() {
            return Err("rules.evaluation_interval must be greater than 0".into());
        }
        for (k, v) in &self.external_labels {
            if !crate::model::labels::is_valid_label_name(k) {
                return Err(format!("rules.external_labels: invalid label name {k:?}"));
            }
            if v.is_empty() {
                return Err(format!("rules.external_labels.{k}: empty value"));
            }
        }
        let am = &self.alertmanager;
        for u in &am.urls {
            if u.starts_with("https://") {
                return Err(format!(
                    "rules.alertmanager.urls: {u:?}: https Alertmanagers are not supported yet; use http:// (in-cluster) or a TLS-terminating proxy"
                ));
            }
            let ok = u
                .strip_prefix("http://")
                .is_some_and(|rest| !rest.is_empty());
            if !ok {
                return Err(format!(
                    "rules.alertmanager.urls: {u:?} is not an http:// URL"
                ));
            }
        }
        if am.queue_capacity == 0 || am.max_batch_size == 0 {
            return Err(
                "rules.alertmanager.queue_capacity and max_batch_size must be greater than 0"
                    .into(),
            );
        }
        if am.bearer_token.is_some() && am.bearer_token_file.is_some() {
            return Err(
                "rules.alertmanager: set bearer_token or bearer_token_file, not both".into(),
            );
        }
        if let Some(b) = &am.basic_auth {
            if b.username.is_empty() {
                return Err("rules.alertmanager.basic_auth.username must not be empty".into());
            }
            if b.password.is_some() && b.password_file.is_some() {
                return Err(
                    "rules.alertmanager.basic_auth: set password or password_file, not both".into(),
                );
            }
            if (am.bearer_token.is_some() || am.bearer_token_file.is_some())
                && !b.username.is_empty()
            {
                return Err(
                    "rules.alertmanager: basic_auth and a bearer token are exclusive".into(),
                );
            }
        }
        Ok(())
    }
}

impl Default for AlertmanagerConfig {
    fn default() -> Self {
        AlertmanagerConfig {
            urls: Vec::new(),
            timeout: PromDuration::from_secs(10),
            basic_auth: None,
            bearer_token: None,
            bearer_token_file: None,
            queue_capacity: 10_000,
            max_batch_size: 256,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            http_listen_address: "0.0.0.0:3100".into(),
            log_format: LogFormat::Text,
            log_level: "info".into(),
            max_request_body: ByteSize(64 << 20),
            graceful_shutdown_timeout: PromDuration::from_secs(30),
            external_url: "http://localhost:3100".into(),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("./data"),
            fsync: FsyncMode::Always,
            fsync_interval: PromDuration::from_secs(1),
            wal_segment_size: ByteSize(128 << 20),
            max_disk_bytes: ByteSize(0),
            maintenance_interval: PromDuration::from_secs(60),
        }
    }
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            metrics: PromDuration::from_secs(15 * 86400),
            logs: PromDuration::from_secs(7 * 86400),
            traces: PromDuration::from_secs(48 * 3600),
        }
    }
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            block_duration: PromDuration::from_secs(2 * 3600),
            out_of_order_window: PromDuration::from_secs(0),
            max_exemplars: 100_000,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ingestion_rate_samples: 0,
            ingestion_burst_samples: 0,
            max_series: 0,
            max_label_names_per_series: 64,
            max_label_name_length: 1024,
            max_label_value_length: 16 * 1024,
            creation_grace_period: PromDuration::from_secs(600),
            log_ingestion_rate_bytes: ByteSize(32 << 20),
            log_ingestion_burst_bytes: ByteSize(64 << 20),
            log_max_line_size: ByteSize(256 << 10),
            log_max_label_names_per_stream: 15,
            log_reject_older_than: None,
            trace_ingestion_rate_spans: 100_000,
            trace_ingestion_burst_spans: 200_000,
        }
    }
}

impl Default for TracesConfig {
    fn default() -> Self {
        TracesConfig {
            trace_idle_timeout: PromDuration::from_secs(10),
            max_head_bytes: ByteSize(64 << 20),
            max_head_age: PromDuration::from_secs(600),
            index: true,
            max_trace_bytes: ByteSize(5 << 20),
        }
    }
}

impl Default for OtlpConfig {
    fn default() -> Self {
        OtlpConfig {
            grpc_listen_address: "0.0.0.0:4317".into(),
            http_listen_address: "0.0.0.0:4318".into(),
            log_label_attributes: [
                "service.name",
                "service.namespace",
                "service.instance.id",
                "deployment.environment",
                "deployment.environment.name",
                "cloud.region",
                "cloud.availability_zone",
                "k8s.cluster.name",
                "k8s.namespace.name",
                "k8s.pod.name",
                "k8s.container.name",
                "k8s.deployment.name",
                "k8s.statefulset.name",
                "k8s.daemonset.name",
                "k8s.cronjob.name",
                "k8s.job.name",
                "container.name",
            ]
            .into_iter()
            .map(String::from)
            .collect(),
        }
    }
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            max_head_bytes: ByteSize(128 << 20),
            max_head_age: PromDuration::from_secs(3600),
            chunk_target_bytes: ByteSize(1 << 20),
            index: true,
        }
    }
}

impl Default for QueryConfig {
    fn default() -> Self {
        QueryConfig {
            timeout: PromDuration::from_secs(120),
            max_samples: 50_000_000,
            max_concurrent: 20,
            lookback_delta: PromDuration::from_secs(300),
        }
    }
}

impl Limits {
    fn apply(&self, p: &PartialLimits) -> Limits {
        Limits {
            ingestion_rate_samples: p
                .ingestion_rate_samples
                .unwrap_or(self.ingestion_rate_samples),
            ingestion_burst_samples: p
                .ingestion_burst_samples
                .unwrap_or(self.ingestion_burst_samples),
            max_series: p.max_series.unwrap_or(self.max_series),
            max_label_names_per_series: p
                .max_label_names_per_series
                .unwrap_or(self.max_label_names_per_series),
            max_label_name_length: p
                .max_label_name_length
                .unwrap_or(self.max_label_name_length),
            max_label_value_length: p
                .max_label_value_length
                .unwrap_or(self.max_label_value_length),
            creation_grace_period: p
                .creation_grace_period
                .unwrap_or(self.creation_grace_period),
            log_ingestion_rate_bytes: p
                .log_ingestion_rate_bytes
                .unwrap_or(self.log_ingestion_rate_bytes),
            log_ingestion_burst_bytes: p
                .log_ingestion_burst_bytes
                .unwrap_or(self.log_ingestion_burst_bytes),
            log_max_line_size: p.log_max_line_size.unwrap_or(self.log_max_line_size),
            log_max_label_names_per_stream: p
                .log_max_label_names_per_stream
                .unwrap_or(self.log_max_label_names_per_stream),
            log_reject_older_than: p.log_reject_older_than.or(self.log_reject_older_than),
            trace_ingestion_rate_spans: p
                .trace_ingestion_rate_spans
                .unwrap_or(self.trace_ingestion_rate_spans),
            trace_ingestion_burst_spans: p
                .trace_ingestion_burst_spans
                .unwrap_or(self.trace_ingestion_burst_spans),
        }
    }
}

/// Things a user sets on the command line; they win over file and environment.
#[derive(Clone, Debug, Default)]
pub struct FlagOverrides {
    pub data_dir: Option<PathBuf>,
    pub http_listen_address: Option<String>,
    pub log_level: Option<String>,
    pub log_format: Option<String>,
    /// `otlp.grpc_listen_address` (empty disables).
    pub otlp_grpc_listen_address: Option<String>,
    /// `otlp.http_listen_address` (empty disables).
    pub otlp_http_listen_address: Option<String>,
}

impl Config {
    /// Loads the effective config: defaults, then the file (if any), then
    /// `CAIRN_*` environment variables (`vars`), then flags.
    pub fn load(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
        flags: &FlagOverrides,
    ) -> Result<Config, String> {
        let mut tree = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
                parse_yaml_tree(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => serde_json::Value::Object(Default::default()),
        };
        if tree.is_null() {
            tree = serde_json::Value::Object(Default::default());
        }
        for (k, v) in vars {
            let Some(rest) = k.strip_prefix("CAIRN_") else {
                continue;
            };
            if rest == "CONFIG" || rest.is_empty() {
                continue;
            }
            let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            set_path(&mut tree, &path, scalar_from_str(&v))
                .map_err(|e| format!("environment variable {k}: {e}"))?;
        }
        let flag_sets: [(&[&str], Option<String>); 6] = [
            (
                &["storage", "data_dir"],
                flags.data_dir.as_ref().map(|p| p.display().to_string()),
            ),
            (
                &["server", "http_listen_address"],
                flags.http_listen_address.clone(),
            ),
            (&["server", "log_level"], flags.log_level.clone()),
            (&["server", "log_format"], flags.log_format.clone()),
            (
                &["otlp", "grpc_listen_address"],
                flags.otlp_grpc_listen_address.clone(),
            ),
            (
                &["otlp", "http_listen_address"],
                flags.otlp_http_listen_address.clone(),
            ),
        ];
        for (path, value) in flag_sets {
            if let Some(v) = value {
                let path: Vec<String> = path.iter().map(|s| s.to_string()).collect();
                set_path(&mut tree, &path, serde_json::Value::String(v))?;
            }
        }
        let cfg: Config = serde_path_to_error::deserialize(tree).map_err(|e| {
            let path = e.path().to_string();
            format!("invalid config at `{path}`: {}", e.into_inner())
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks relations between settings that types alone cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.metrics.block_duration.0 < Duration::from_secs(60) {
            return Err("metrics.block_duration must be at least 1m".into());
        }
        if !self
            .metrics
            .block_duration
            .0
            .as_millis()
            .is_multiple_of(60_000)
        {
            return Err("metrics.block_duration must be a whole number of minutes".into());
        }
        for (name, r) in [
            ("metrics", self.retention.metrics),
            ("logs", self.retention.logs),
            ("traces", self.retention.traces),
        ] {
            if r.0.is_zero() {
                return Err(format!("retention.{name} must be greater than 0"));
            }
        }
        if self.metrics.block_duration.0 > Duration::from_secs(31 * 86400) {
            return Err("metrics.block_duration must be at most 31d".into());
        }
        if self.storage.wal_segment_size.0 < 1 << 20 {
            return Err("storage.wal_segment_size must be at least 1MiB".into());
        }
        self.rules.validate()?;
        for (id, t) in &self.tenants {
            for (name, r) in [
                ("metrics", t.retention.metrics),
                ("logs", t.retention.logs),
                ("traces", t.retention.traces),
            ] {
                if r.is_some_and(|r| r.0.is_zero()) {
                    return Err(format!(
                        "tenants.{id}.retention.{name} must be greater than 0"
                    ));
                }
            }
        }
        if self.logs.max_head_bytes.0 < 1 << 20 {
            return Err("logs.max_head_bytes must be at least 1MiB".into());
        }
        if self.logs.chunk_target_bytes.0 < 4 << 10 {
            return Err("logs.chunk_target_bytes must be at least 4KiB".into());
        }
        if self.logs.max_head_age.0 < Duration::from_secs(1) {
            return Err("logs.max_head_age must be at least 1s".into());
        }
        if self.query.max_concurrent == 0 {
            return Err("query.max_concurrent must be at least 1".into());
        }
        if self.storage.fsync == FsyncMode::Interval && self.storage.fsync_interval.0.is_zero() {
            return Err(
                "storage.fsync_interval must be greater than 0 when storage.fsync is interval"
                    .into(),
            );
        }
        for id in self.tenants.keys() {
            crate::model::TenantId::parse(id).map_err(|e| format!("tenants.{id}: {e}"))?;
        }
        Ok(())
    }

    /// Retention of metrics for a tenant, after its overrides.
    pub fn metrics_retention(&self, tenant: &str) -> Duration {
        self.tenants
            .get(tenant)
            .and_then(|t| t.retention.metrics)
            .unwrap_or(self.retention.metrics)
            .0
    }

    /// Retention of logs for a tenant, after its overrides.
    pub fn logs_retention(&self, tenant: &str) -> Duration {
        self.tenants
            .get(tenant)
            .and_then(|t| t.retention.logs)
            .unwrap_or(self.retention.logs)
            .0
    }

    /// Retention of traces for a tenant, after its overrides.
    pub fn traces_retention(&self, tenant: &str) -> Duration {
        self.tenants
            .get(tenant)
            .and_then(|t| t.retention.traces)
            .unwrap_or(self.retention.traces)
            .0
    }

    /// Limits for a tenant, after its overrides.
    pub fn limits_for(&self, tenant: &str) -> Limits {
        match self.tenants.get(tenant) {
            Some(t) => self.limits.apply(&t.limits),
            None => self.limits.clone(),
        }
    }

    /// The effective config as YAML (for `cairn check-config`).
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self).unwrap_or_else(|e| format!("# cannot print config: {e}\n"))
    }
}

/// Parses YAML into a generic tree so that unknown keys can be reported by path.
fn parse_yaml_tree(text: &str) -> Result<serde_json::Value, String> {
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Object(Default::default()));
    }
    serde_saphyr::from_str::<serde_json::Value>(text).map_err(|e| e.to_string())
}

/// Interprets an environment value as a YAML scalar (numbers, booleans,
/// strings), so `CAIRN_QUERY__MAX_CONCURRENT=8` yields a number.
fn scalar_from_str(v: &str) -> serde_json::Value {
    match serde_saphyr::from_str::<serde_json::Value>(v) {
        Ok(val @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => val,
        _ => serde_json::Value::String(v.to_string()),
    }
}

fn set_path(
    tree: &mut serde_json::Value,
    path: &[String],
    value: serde_json::Value,
) -> Result<(), String> {
    let mut node = tree;
    for (i, key) in path.iter().enumerate() {
        let obj = match node {
            serde_json::Value::Object(o) => o,
            _ => return Err(format!("`{}` is not a section", path[..i].join("."))),
        };
        if i + 1 == path.len() {
            obj.insert(key.clone(), value);
            return Ok(());
        }
        node = obj
            .entry(key.clone())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(yaml: &str, vars: Vec<(&str, &str)>) -> Result<Config, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let p = dir.path().join("c.yaml");
        std::fs::write(&p, yaml).map_err(|e| e.to_string())?;
        Config::load(
            Some(&p),
            vars.into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string())),
            &FlagOverrides::default(),
        )
    }

    #[test]
    fn defaults_without_file() {
        let c = Config::load(None, Vec::new(), &FlagOverrides::default()).unwrap();
        assert_eq!(c.storage.data_dir, PathBuf::from("./data"));
        assert_eq!(c.server.http_listen_address, "0.0.0.0:3100");
        assert_eq!(c.retention.metrics.0, Duration::from_secs(15 * 86400));
        assert_eq!(c.retention.logs.0, Duration::from_secs(7 * 86400));
        assert_eq!(c.retention.traces.0, Duration::from_secs(48 * 3600));
        assert_eq!(c.storage.fsync, FsyncMode::Always);
    }

    #[test]
    fn unknown_key_reports_its_path() {
        let err = load_str("storage:\n  data_dirr: /x\n", vec![]).unwrap_err();
        assert!(
            err.contains("storage.data_dirr") || err.contains("data_dirr"),
            "{err}"
        );
        assert!(err.contains("storage"), "{err}");
    }

    #[test]
    fn file_env_and_flags_precedence() {
        let yaml = "storage:\n  data_dir: /from/file\nretention:\n  metrics: 30d\nquery:\n  max_concurrent: 4\n";
        let c = load_str(
            yaml,
            vec![("CAIRN_QUERY__MAX_CONCURRENT", "8"), ("OTHER", "x")],
        )
        .unwrap();
        assert_eq!(c.storage.data_dir, PathBuf::from("/from/file"));
        assert_eq!(c.retention.metrics.0, Duration::from_secs(30 * 86400));
        assert_eq!(c.query.max_concurrent, 8);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yaml");
        std::fs::write(&p, yaml).unwrap();
        let flags = FlagOverrides {
            data_dir: Some("/from/flag".into()),
            ..Default::default()
        };
        let c = Config::load(
            Some(&p),
            vec![("CAIRN_STORAGE__DATA_DIR".into(), "/from/env".into())],
            &flags,
        )
        .unwrap();
        assert_eq!(c.storage.data_dir, PathBuf::from("/from/flag"));
    }

    #[test]
    fn otlp_flags_and_span_limits() {
        let flags = FlagOverrides {
            otlp_grpc_listen_address: Some(String::new()),
            otlp_http_listen_address: Some("127.0.0.1:14318".into()),
            ..Default::default()
        };
        let c = Config::load(None, Vec::new(), &flags).unwrap();
        assert_eq!(c.otlp.grpc_listen_address, "");
        assert_eq!(c.otlp.http_listen_address, "127.0.0.1:14318");
        let d = Config::default();
        assert_eq!(d.otlp.grpc_listen_address, "0.0.0.0:4317");
        assert_eq!(d.limits.trace_ingestion_rate_spans, 100_000);
        assert_eq!(d.limits.trace_ingestion_burst_spans, 200_000);
        let c = load_str(
            "limits:\n  trace_ingestion_rate_spans: 50\ntenants:\n  a:\n    limits:\n      trace_ingestion_burst_spans: 7\n",
            vec![],
        )
        .unwrap();
        assert_eq!(c.limits_for("a").trace_ingestion_rate_spans, 50);
        assert_eq!(c.limits_for("a").trace_ingestion_burst_spans, 7);
        assert_eq!(c.limits_for("b").trace_ingestion_burst_spans, 200_000);
    }

    #[test]
    fn tenant_overrides() {
        let yaml = "tenants:\n  team-a:\n    retention:\n      metrics: 90d\n    limits:\n      max_series: 10\n";
        let c = load_str(yaml, vec![]).unwrap();
        assert_eq!(
            c.metrics_retention("team-a"),
            Duration::from_secs(90 * 86400)
        );
        assert_eq!(
            c.metrics_retention("other"),
            Duration::from_secs(15 * 86400)
        );
        assert_eq!(c.limits_for("team-a").max_series, 10);
        assert_eq!(c.limits_for("team-a").max_label_names_per_series, 64);
    }

    #[test]
    fn invalid_values_are_errors() {
        assert!(load_str("retention:\n  metrics: 15x\n", vec![])
            .unwrap_err()
            .contains("retention.metrics"));
        assert!(load_str("storage:\n  fsync: sometimes\n", vec![]).is_err());
        assert!(load_str("metrics:\n  block_duration: 10s\n", vec![]).is_err());
    }

    #[test]
    fn rules_section() {
        let yaml = "rules:\n  files: [/etc/cairn/rules/*.yaml]\n  log_files: [/etc/cairn/loki/*.yaml]\n  evaluation_interval: 30s\n  external_labels: {cluster: eks-prod}\n  alertmanager:\n    urls: [http://alertmanager:9093]\n    basic_auth: {username: cairn, password: s3cret}\ntenants:\n  team-a:\n    rule_files: [/rules/team-a/*.yaml]\n";
        let c = load_str(yaml, vec![]).unwrap();
        assert_eq!(c.rules.files, vec!["/etc/cairn/rules/*.yaml".to_string()]);
        assert_eq!(
            c.rules.log_files,
            vec!["/etc/cairn/loki/*.yaml".to_string()]
        );
        assert_eq!(c.rules.evaluation_interval.0, Duration::from_secs(30));
        assert_eq!(c.rules.resend_delay.0, Duration::from_secs(60));
        assert_eq!(c.rules.external_labels["cluster"], "eks-prod");
        assert_eq!(
            c.rules.alertmanager.urls,
            vec!["http://alertmanager:9093".to_string()]
        );
        assert_eq!(c.rules.alertmanager.timeout.0, Duration::from_secs(10));
        assert_eq!(
            c.rules
                .alertmanager
                .basic_auth
                .as_ref()
                .map(|b| b.username.as_str()),
            Some("cairn")
        );
        assert_eq!(
            c.tenants["team-a"].rule_files,
            vec!["/rules/team-a/*.yaml".to_string()]
        );
        let bad = [
            (
                "rules:\n  alertmanager:\n    urls: [alertmanager:9093]\n",
                "not an http",
            ),
            ("rules:\n  evaluation_interval: 0s\n", "evaluation_interval"),
            (
                "rules:\n  alertmanager:\n    urls: [https://am:9093]\n",
                "https Alertmanagers are not supported",
            ),
            (
                "rules:\n  alertmanager:\n    basic_auth: {username: \"\", password: x}\n",
                "username must not be empty",
            ),
            (
                "rules:\n  external_labels: {\"bad-name\": x}\n",
                "invalid label name",
            ),
            (
                "rules:\n  alertmanager:\n    bearer_token: a\n    bearer_token_file: /b\n",
                "not both",
            ),
        ];
        for (yaml, want) in bad {
            let err = load_str(yaml, vec![]).unwrap_err();
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }

    #[test]
    fn effective_config_round_trips_through_yaml() {
        let c = Config::default();
        let y = c.to_yaml();
        let back: Config = serde_path_to_error::deserialize(parse_yaml_tree(&y).unwrap()).unwrap();
        assert_eq!(back, c);
    }
}
