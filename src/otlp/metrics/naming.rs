//! Metric and label names: OTLP names to Prometheus names the way
//! Prometheus 3's OTLP receiver does by default (`UnderscoreEscapingWithSuffixes`):
//! invalid characters become `_`, repeated underscores collapse, the UCUM
//! unit becomes a suffix (`s` → `_seconds`, `By/s` → `_bytes_per_second`),
//! monotonic sums get `_total` and gauges of unit `1` get `_ratio`, never
//! twice. Label names: invalid characters become `_`, a leading digit gets
//! `key_`, a single leading underscore gets `key`, `__` names are kept.

/// The OTLP metric kind as far as naming and metadata care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Gauge,
    MonotonicCounter,
    NonMonotonicCounter,
    Histogram,
    ExponentialHistogram,
    Summary,
}

impl MetricKind {
    /// The Prometheus metadata type name.
    pub fn prometheus_type(self) -> &'static str {
        match self {
            MetricKind::Gauge | MetricKind::NonMonotonicCounter => "gauge",
            MetricKind::MonotonicCounter => "counter",
            MetricKind::Histogram | MetricKind::ExponentialHistogram => "histogram",
            MetricKind::Summary => "summary",
        }
    }
}

/// UCUM main units to Prometheus unit words.
fn unit_word(unit: &str) -> &str {
    match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        other => other,
    }
}

/// UCUM "per" units (after the `/`) to singular words.
fn per_unit_word(unit: &str) -> &str {
    match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        other => other,
    }
}

fn is_metric_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// The main and `per_` suffix of a unit, before character clean-up.
/// Units in curly braces (UCUM annotations such as `{request}`) give none.
fn unit_suffixes(unit: &str) -> (String, String) {
    let mut parts = unit.splitn(2, '/');
    let main = parts.next().unwrap_or("").trim();
    let main = if main.is_empty() || main.contains(['{', '}']) {
        String::new()
    } else {
        unit_word(main).to_string()
    };
    let per = match parts.next().map(str::trim) {
        Some(p) if !p.is_empty() && !p.contains(['{', '}']) => {
            let w = per_unit_word(p);
            if w.is_empty() {
                String::new()
            } else {
                format!("per_{w}")
            }
        }
        _ => String::new(),
    };
    (main, per)
}

/// Invalid characters to `_`, underscores collapsed, no leading `_`.
fn clean_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if is_metric_char(c) { c } else { '_' };
        if c == '_' && out.ends_with('_') {
            continue;
        }
        out.push(c);
    }
    out.trim_start_matches('_').to_string()
}

/// The Prometheus metric family name of an OTLP metric, or why there is none.
pub fn metric_name(name: &str, unit: &str, kind: MetricKind) -> Result<String, String> {
    let mut tokens: Vec<String> = name
        .split(|c: char| !is_metric_char(c))
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect();
    let (main, per) = unit_suffixes(unit);
    let mut main = clean_unit(&main);
    let mut per = clean_unit(&per);
    if tokens.contains(&main) {
        main.clear();
    }
    if per == "per_" {
        per.clear();
    } else {
        if per.ends_with('_') {
            per.pop();
        }
        if tokens.contains(&per) {
            per.clear();
        }
    }
    if !per.is_empty() && main.ends_with('_') {
        main.pop();
    }
    if !main.is_empty() {
        tokens.push(main);
    }
    if !per.is_empty() {
        tokens.push(per);
    }
    if kind == MetricKind::MonotonicCounter {
        tokens.retain(|t| t != "total");
        tokens.push("total".into());
    }
    if unit == "1" && kind == MetricKind::Gauge {
        tokens.retain(|t| t != "ratio");
        tokens.push("ratio".into());
    }
    let mut out = tokens.join("_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    if out.is_empty() {
        return Err(format!(
            "normalization for metric {name:?} resulted in empty name"
        ));
    }
    if out != name && out.chars().all(|c| c == '_') {
        return Err(format!(
            "normalization for metric {name:?} resulted in invalid name {out:?}"
        ));
    }
    Ok(out)
}

/// The Prometheus label name of an attribute key, or why there is none.
pub fn label_name(key: &str) -> Result<String, String> {
    if key.is_empty() {
        return Err("normalization for label name \"\" resulted in empty name".into());
    }
    let mut out: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    } else if out.starts_with('_') && !out.starts_with("__") {
        out.insert_str(0, "key");
    }
    if out != key && out.chars().all(|c| c == '_') {
        return Err(format!(
            "normalization for label name {key:?} resulted in invalid name {out:?}"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::MetricKind::*;
    use super::*;

    /// Name, unit, kind, expected family name: the semantics of Prometheus'
    /// translator tests (our own cases).
    #[test]
    fn metric_names_with_unit_and_type_suffixes() {
        let cases: &[(&str, &str, MetricKind, &str)] = &[
            ("requests", "", MonotonicCounter, "requests_total"),
            ("requests_total", "", MonotonicCounter, "requests_total"),
            ("total_requests", "", MonotonicCounter, "requests_total"),
            ("cpu_usage", "1", Gauge, "cpu_usage_ratio"),
            ("cpu_usage_ratio", "1", Gauge, "cpu_usage_ratio"),
            ("items", "1", MonotonicCounter, "items_total"),
            ("queue.depth", "1", NonMonotonicCounter, "queue_depth"),
            ("response_time", "ms", Gauge, "response_time_milliseconds"),
            ("memory.usage", "By", Gauge, "memory_usage_bytes"),
            ("requests", "1/s", Gauge, "requests_per_second"),
            ("throughput", "By/s", Gauge, "throughput_bytes_per_second"),
            (
                "custom_metric",
                "custom_unit",
                Gauge,
                "custom_metric_custom_unit",
            ),
            ("custom_metric", "{custom}", Gauge, "custom_metric"),
            ("custom_metric", "By/{custom}", Gauge, "custom_metric_bytes"),
            ("response_time_seconds", "s", Gauge, "response_time_seconds"),
            (
                "http.server.request.duration",
                "s",
                Histogram,
                "http_server_request_duration_seconds",
            ),
            (
                "request_size",
                "By",
                ExponentialHistogram,
                "request_size_bytes",
            ),
            ("rpc.latency", "ms", Summary, "rpc_latency_milliseconds"),
            (
                "http.server.active_requests",
                "{request}",
                NonMonotonicCounter,
                "http_server_active_requests",
            ),
            (
                "http.server.requests",
                "{request}",
                MonotonicCounter,
                "http_server_requests_total",
            ),
            (
                "metric__with__multiple__underscores",
                "unit__multiple__underscores",
                Gauge,
                "metric_with_multiple_underscores_unit_multiple_underscores",
            ),
            (
                "custom_metric",
                "unit@with#special/chars",
                Gauge,
                "custom_metric_unit_with_special_per_chars",
            ),
            ("uptime", "d", Gauge, "uptime_days"),
            ("duration", "h", Gauge, "duration_hours"),
            ("heap", "KiBy", Gauge, "heap_kibibytes"),
            ("disk", "TiBy", Gauge, "disk_tibibytes"),
            ("temperature", "Cel", Gauge, "temperature_celsius"),
            ("utilization", "%", Gauge, "utilization_percent"),
            ("123_requests", "", MonotonicCounter, "_123_requests_total"),
            (
                "metric@with#special$chars",
                "",
                Gauge,
                "metric_with_special_chars",
            ),
            (
                "system.network.io",
                "By",
                MonotonicCounter,
                "system_network_io_bytes_total",
            ),
            (
                "cpu_seconds_total",
                "s",
                MonotonicCounter,
                "cpu_seconds_total",
            ),
            (
                "requests",
                "1/s",
                MonotonicCounter,
                "requests_per_second_total",
            ),
            (
                "clone.provisioning.duration",
                "s",
                Histogram,
                "clone_provisioning_duration_seconds",
            ),
            ("ns:metric", "", Gauge, "ns:metric"),
            (
                "__leading.and.trailing__",
                "",
                Gauge,
                "leading_and_trailing",
            ),
        ];
        for (name, unit, kind, want) in cases {
            assert_eq!(
                metric_name(name, unit, *kind).as_deref(),
                Ok(*want),
                "{name} [{unit}] {kind:?}"
            );
        }
        assert!(cases.len() >= 20);
    }

    #[test]
    fn names_without_any_valid_character_are_refused() {
        assert_eq!(
            metric_name("@#$%", "", Gauge),
            Err("normalization for metric \"@#$%\" resulted in empty name".into())
        );
        assert_eq!(
            metric_name("", "", Gauge),
            Err("normalization for metric \"\" resulted in empty name".into())
        );
        // A unit alone still names the metric.
        assert_eq!(metric_name("...", "s", Gauge).as_deref(), Ok("seconds"));
    }

    #[test]
    fn label_names_are_sanitized() {
        let cases: &[(&str, &str)] = &[
            ("http.method", "http_method"),
            ("k8s.pod.name", "k8s_pod_name"),
            ("123invalid", "key_123invalid"),
            ("_private", "key_private"),
            ("__reserved__", "__reserved__"),
            ("__meta.x", "__meta_x"),
            ("plain", "plain"),
            ("a-b c", "a_b_c"),
            ("grüße", "gr__e"),
            (".", "key_"),
            ("0", "key_0"),
        ];
        for (key, want) in cases {
            assert_eq!(label_name(key).as_deref(), Ok(*want), "{key}");
        }
        assert_eq!(
            label_name(".."),
            Err("normalization for label name \"..\" resulted in invalid name \"__\"".into())
        );
        assert!(label_name("").is_err());
    }

    #[test]
    fn metadata_types() {
        assert_eq!(MonotonicCounter.prometheus_type(), "counter");
        assert_eq!(NonMonotonicCounter.prometheus_type(), "gauge");
        assert_eq!(Gauge.prometheus_type(), "gauge");
        assert_eq!(Histogram.prometheus_type(), "histogram");
        assert_eq!(ExponentialHistogram.prometheus_type(), "histogram");
        assert_eq!(Summary.prometheus_type(), "summary");
    }
}
