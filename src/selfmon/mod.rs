//! Cairn's own metrics, exposed in Prometheus text format on `/metrics`:
//! counters, gauges and histograms with labels, all lock-free on the hot
//! path once a label combination exists.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;

/// A monotonically increasing counter.
#[derive(Default, Debug)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.add(1);
    }
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A histogram with fixed upper bounds (seconds for latencies).
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    counts: Vec<AtomicU64>,
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// Latency buckets from 0.1 ms to 60 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    30.0, 60.0,
];

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Histogram {
            bounds,
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            count: AtomicU64::new(0),
            sum_micros: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = self.bounds.iter().position(|b| secs <= *b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// A family of metrics of one kind keyed by label values.
pub struct Family<T> {
    name: &'static str,
    help: &'static str,
    label_names: &'static [&'static str],
    make: fn() -> T,
    children: RwLock<BTreeMap<Vec<String>, Arc<T>>>,
}

impl<T> Family<T> {
    pub fn new(
        name: &'static str,
        help: &'static str,
        label_names: &'static [&'static str],
        make: fn() -> T,
    ) -> Self {
        Family {
            name,
            help,
            label_names,
            make,
            children: RwLock::new(BTreeMap::new()),
        }
    }

    /// The child for these label values (created on first use).
    pub fn with(&self, values: &[&str]) -> Arc<T> {
        let key: Vec<String> = values.iter().map(|s| s.to_string()).collect();
        if let Some(c) = self.children.read().get(&key) {
            return c.clone();
        }
        self.children
            .write()
            .entry(key)
            .or_insert_with(|| Arc::new((self.make)()))
            .clone()
    }

    fn label_str(&self, values: &[String], extra: Option<(&str, &str)>) -> String {
        let mut parts: Vec<String> = self
            .label_names
            .iter()
            .zip(values)
            .map(|(n, v)| format!("{n}=\"{}\"", escape(v)))
            .collect();
        if let Some((n, v)) = extra {
            parts.push(format!("{n}=\"{v}\""));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("{{{}}}", parts.join(","))
        }
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn fmt_f64(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

impl Family<Counter> {
    fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP {} {}\n# TYPE {} counter",
            self.name, self.help, self.name
        );
        for (k, c) in self.children.read().iter() {
            let _ = writeln!(out, "{}{} {}", self.name, self.label_str(k, None), c.get());
        }
    }
}

impl Family<Histogram> {
    fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP {} {}\n# TYPE {} histogram",
            self.name, self.help, self.name
        );
        for (k, h) in self.children.read().iter() {
            let mut cum = 0;
            for (b, c) in h.bounds.iter().zip(&h.counts) {
                cum += c.load(Ordering::Relaxed);
                let le = fmt_f64(*b);
                let _ = writeln!(
                    out,
                    "{}_bucket{} {}",
                    self.name,
                    self.label_str(k, Some(("le", &le))),
                    cum
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "{}_bucket{} {}",
                self.name,
                self.label_str(k, Some(("le", "+Inf"))),
                count
            );
            let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "{}_sum{} {}",
                self.name,
                self.label_str(k, None),
                fmt_f64(sum)
            );
            let _ = writeln!(
                out,
                "{}_count{} {}",
                self.name,
                self.label_str(k, None),
                count
            );
        }
    }
}

/// Every metric Cairn exports about itself.
pub struct SelfMetrics {
    pub ingested_samples: Family<Counter>,
    pub rejected_samples: Family<Counter>,
    pub histograms_ingested: Counter,
    pub exemplars_ingested: Counter,
    pub wal_fsync: Family<Histogram>,
    pub query_duration: Family<Histogram>,
    pub http_requests: Family<Counter>,
    pub http_duration: Family<Histogram>,
    pub queries_rejected: Counter,
    /// Rule group evaluations, by tenant and group (`file;group`).
    pub rule_group_evaluations: Family<Counter>,
    /// Rule evaluations that failed (query error, limit, template data).
    pub rule_evaluation_failures: Family<Counter>,
    /// Group evaluations skipped because the previous one overran.
    pub rule_group_iterations_missed: Family<Counter>,
    /// Time one group evaluation took.
    pub rule_group_duration: Family<Histogram>,
    /// Alert batches delivered, by Alertmanager URL.
    pub notifications_sent: Family<Counter>,
    /// Alert sends that failed, by Alertmanager URL.
    pub notification_errors: Family<Counter>,
    /// Alerts dropped: queue full (oldest first) or no Alertmanager took the batch.
    pub notifications_dropped: Counter,
    /// Latency of alert sends, by Alertmanager URL.
    pub notification_latency: Family<Histogram>,
    /// Rule file (re)loads that failed.
    pub rule_reload_failures: Counter,
    /// OTLP items received (spans, log records, data points), by signal
    /// and transport (`grpc`, `http`).
    pub otlp_received: Family<Counter>,
    /// OTLP items refused, by signal, transport and reason.
    pub otlp_rejected: Family<Counter>,
    started: std::time::Instant,
}

impl Default for SelfMetrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Point-in-time gauges the server computes at scrape time.
#[derive(Default)]
pub struct Gauges {
    pub active_series: u64,
    pub blocks: u64,
    pub disk_bytes: u64,
    pub head_memory_bytes: u64,
    pub log_head_bytes: u64,
    pub log_partitions: u64,
    pub log_disk_bytes: u64,
    pub trace_head_bytes: u64,
    pub trace_head_spans: u64,
    pub trace_partitions: u64,
    pub trace_disk_bytes: u64,
    pub tenants: u64,
    pub ready: bool,
    /// Alerts waiting in the notifier's queue, and its capacity.
    pub notification_queue_length: u64,
    pub notification_queue_capacity: u64,
    /// Whether the last rule (re)load succeeded.
    pub rule_reload_successful: bool,
    /// Groups loaded, over all tenants.
    pub rule_groups: u64,
}

impl SelfMetrics {
    pub fn new() -> Self {
        SelfMetrics {
            ingested_samples: Family::new(
                "cairn_ingested_samples_total",
                "Samples accepted and written, by signal.",
                &["signal"],
                Counter::default,
            ),
            rejected_samples: Family::new(
                "cairn_rejected_samples_total",
                "Samples refused, by reason.",
                &["reason"],
                Counter::default,
            ),
            histograms_ingested: Counter::default(),
            exemplars_ingested: Counter::default(),
            wal_fsync: Family::new(
                "cairn_wal_fsync_duration_seconds",
                "Latency of WAL fsyncs.",
                &[],
                || Histogram::new(LATENCY_BUCKETS),
            ),
            query_duration: Family::new(
                "cairn_query_duration_seconds",
                "Query evaluation time, by query language and kind.",
                &["language", "kind"],
                || Histogram::new(LATENCY_BUCKETS),
            ),
            http_requests: Family::new(
                "cairn_http_requests_total",
                "HTTP requests, by route, method and status code.",
                &["route", "method", "code"],
                Counter::default,
            ),
            http_duration: Family::new(
                "cairn_http_request_duration_seconds",
                "HTTP request latency, by route.",
                &["route"],
                || Histogram::new(LATENCY_BUCKETS),
            ),
            queries_rejected: Counter::default(),
            rule_group_evaluations: Family::new(
                "cairn_rule_group_evaluations_total",
                "Rule group evaluations, by tenant and group (file;group).",
                &["tenant", "rule_group"],
                Counter::default,
            ),
            rule_evaluation_failures: Family::new(
                "cairn_rule_evaluation_failures_total",
                "Rule evaluations that failed, by tenant and group.",
                &["tenant", "rule_group"],
                Counter::default,
            ),
            rule_group_iterations_missed: Family::new(
                "cairn_rule_group_iterations_missed_total",
                "Group evaluations skipped because the previous one took longer than the interval.",
                &["tenant", "rule_group"],
                Counter::default,
            ),
            rule_group_duration: Family::new(
                "cairn_rule_group_duration_seconds",
                "Time one evaluation of a rule group took.",
                &["tenant", "rule_group"],
                || Histogram::new(LATENCY_BUCKETS),
            ),
            notifications_sent: Family::new(
                "cairn_notifications_sent_total",
                "Alerts delivered to an Alertmanager.",
                &["alertmanager"],
                Counter::default,
            ),
            notification_errors: Family::new(
                "cairn_notifications_errors_total",
                "Alerts whose delivery to an Alertmanager failed.",
                &["alertmanager"],
                Counter::default,
            ),
            notifications_dropped: Counter::default(),
            notification_latency: Family::new(
                "cairn_notifications_latency_seconds",
                "Latency of sending a batch of alerts to an Alertmanager.",
                &["alertmanager"],
                || Histogram::new(LATENCY_BUCKETS),
            ),
            rule_reload_failures: Counter::default(),
            otlp_received: Family::new(
                "cairn_otlp_received_total",
                "OTLP spans, log records and data points received, by signal and transport.",
                &["signal", "transport"],
                Counter::default,
            ),
            otlp_rejected: Family::new(
                "cairn_otlp_rejected_total",
                "OTLP spans, log records and data points refused, by signal, transport and reason.",
                &["signal", "transport", "reason"],
                Counter::default,
            ),
            started: std::time::Instant::now(),
        }
    }

    /// Renders everything in the Prometheus text exposition format.
    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::with_capacity(8192);
        self.ingested_samples.render(&mut out);
        self.rejected_samples.render(&mut out);
        self.otlp_received.render(&mut out);
        self.otlp_rejected.render(&mut out);
        let simple = [
            (
                "cairn_histograms_ingested_total",
                "Native histogram samples stored.",
                "counter",
                self.histograms_ingested.get() as f64,
            ),
            (
                "cairn_exemplars_ingested_total",
                "Exemplars stored.",
                "counter",
                self.exemplars_ingested.get() as f64,
            ),
            (
                "cairn_queries_rejected_total",
                "Queries refused because too many were running or queued.",
                "counter",
                self.queries_rejected.get() as f64,
            ),
            (
                "cairn_active_series",
                "Series in the heads of all tenants.",
                "gauge",
                g.active_series as f64,
            ),
            (
                "cairn_blocks",
                "Sealed TSDB blocks on disk.",
                "gauge",
                g.blocks as f64,
            ),
            (
                "cairn_disk_bytes",
                "Bytes used on disk by the metrics store (blocks and WAL).",
                "gauge",
                g.disk_bytes as f64,
            ),
            (
                "cairn_head_memory_bytes",
                "Estimated bytes held by the heads' series and chunks.",
                "gauge",
                g.head_memory_bytes as f64,
            ),
            (
                "cairn_log_head_bytes",
                "Line bytes in the log heads (not yet sealed).",
                "gauge",
                g.log_head_bytes as f64,
            ),
            (
                "cairn_log_partitions",
                "Sealed log partitions on disk.",
                "gauge",
                g.log_partitions as f64,
            ),
            (
                "cairn_log_disk_bytes",
                "Bytes used on disk by the log store (partitions, indexes and WAL).",
                "gauge",
                g.log_disk_bytes as f64,
            ),
            (
                "cairn_trace_head_bytes",
                "Encoded bytes of the live traces in the trace heads (not yet sealed).",
                "gauge",
                g.trace_head_bytes as f64,
            ),
            (
                "cairn_trace_head_spans",
                "Spans of the live traces in the trace heads.",
                "gauge",
                g.trace_head_spans as f64,
            ),
            (
                "cairn_trace_partitions",
                "Sealed trace partitions on disk.",
                "gauge",
                g.trace_partitions as f64,
            ),
            (
                "cairn_trace_disk_bytes",
                "Bytes used on disk by the trace store (partitions, indexes and WAL).",
                "gauge",
                g.trace_disk_bytes as f64,
            ),
            (
                "cairn_tenants",
                "Tenants with a metrics store.",
                "gauge",
                g.tenants as f64,
            ),
            (
                "cairn_ready",
                "1 once the WAL replay finished.",
                "gauge",
                if g.ready { 1.0 } else { 0.0 },
            ),
            (
                "cairn_notifications_dropped_total",
                "Alerts dropped: the notification queue was full (oldest first), or no Alertmanager accepted their batch.",
                "counter",
                self.notifications_dropped.get() as f64,
            ),
            (
                "cairn_notifications_queue_length",
                "Alerts waiting to be sent to the Alertmanagers.",
                "gauge",
                g.notification_queue_length as f64,
            ),
            (
                "cairn_notifications_queue_capacity",
                "Capacity of the notification queue.",
                "gauge",
                g.notification_queue_capacity as f64,
            ),
            (
                "cairn_rule_config_last_reload_successful",
                "1 if the last load of the rule files succeeded.",
                "gauge",
                if g.rule_reload_successful { 1.0 } else { 0.0 },
            ),
            (
                "cairn_rule_config_reload_failures_total",
                "Rule file loads that failed (the previous rules stay in force).",
                "counter",
                self.rule_reload_failures.get() as f64,
            ),
            (
                "cairn_rule_groups",
                "Rule groups loaded, over all tenants.",
                "gauge",
                g.rule_groups as f64,
            ),
            (
                "cairn_uptime_seconds",
                "Seconds since the process started.",
                "gauge",
                self.started.elapsed().as_secs_f64(),
            ),
        ];
        for (name, help, kind, v) in simple {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {}",
                fmt_f64(v)
            );
        }
        self.wal_fsync.render(&mut out);
        self.query_duration.render(&mut out);
        self.http_requests.render(&mut out);
        self.http_duration.render(&mut out);
        self.rule_group_evaluations.render(&mut out);
        self.rule_evaluation_failures.render(&mut out);
        self.rule_group_iterations_missed.render(&mut out);
        self.rule_group_duration.render(&mut out);
        self.notifications_sent.render(&mut out);
        self.notification_errors.render(&mut out);
        self.notification_latency.render(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_text_format() {
        let m = SelfMetrics::new();
        m.ingested_samples.with(&["metrics"]).add(5);
        m.http_requests.with(&["/api/v1/query", "GET", "200"]).inc();
        m.wal_fsync.with(&[]).observe(Duration::from_millis(2));
        let text = m.render(&Gauges {
            active_series: 3,
            ..Default::default()
        });
        assert!(text.contains("cairn_ingested_samples_total{signal=\"metrics\"} 5"));
        assert!(text.contains(
            "cairn_http_requests_total{route=\"/api/v1/query\",method=\"GET\",code=\"200\"} 1"
        ));
        assert!(text.contains("cairn_wal_fsync_duration_seconds_bucket{le=\"0.0025\"} 1"));
        assert!(text.contains("cairn_wal_fsync_duration_seconds_count 1"));
        assert!(text.contains("cairn_active_series 3"));
    }
}
