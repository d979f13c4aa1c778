//! OTLP log records to Loki-style streams, the way Loki's native OTLP
//! endpoint maps them: chosen resource attributes become stream labels,
//! everything else structured metadata, the body the line. The result is
//! validated by the Loki push path (`logs::validate`) before it is stored.
//! `docs/otlp.md` documents the mapping.

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::ingest::loki_push::{PushEntry, PushStream};
use crate::model::Labels;
use crate::otlp::pb::collector::logs::v1::ExportLogsServiceRequest;
use crate::otlp::pb::common::v1::{any_value::Value as AV, AnyValue, KeyValue};
use crate::traces::model::trace_id_hex;

/// The stream label every OTLP stream has.
pub const SERVICE_NAME: &str = "service_name";
/// Its value when the resource has no `service.name`.
pub const UNKNOWN_SERVICE: &str = "unknown_service";

/// An attribute name as a label or metadata name: characters outside
/// `[A-Za-z0-9_]` become `_`, and a leading digit gets a `key_` prefix
/// (as Prometheus normalizes OTLP attribute names).
pub fn sanitize_name(name: &str) -> String {
    let mut out: String = name
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
    }
    out
}

/// An attribute value as text: strings as they are, numbers and booleans
/// in their usual form, bytes as base64, arrays and maps as JSON.
pub fn value_text(v: &AnyValue) -> String {
    match &v.value {
        None => String::new(),
        Some(AV::StringValue(s)) => s.clone(),
        Some(AV::BoolValue(b)) => b.to_string(),
        Some(AV::IntValue(i)) => i.to_string(),
        Some(AV::DoubleValue(d)) => d.to_string(),
        Some(AV::BytesValue(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        Some(_) => value_json(v).to_string(),
    }
}

/// An attribute value as JSON.
pub fn value_json(v: &AnyValue) -> serde_json::Value {
    use serde_json::Value as J;
    match &v.value {
        None => J::Null,
        Some(AV::StringValue(s)) => J::String(s.clone()),
        Some(AV::BoolValue(b)) => J::Bool(*b),
        Some(AV::IntValue(i)) => J::from(*i),
        Some(AV::DoubleValue(d)) => serde_json::Number::from_f64(*d)
            .map(J::Number)
            .unwrap_or_else(|| J::String(d.to_string())),
        Some(AV::BytesValue(b)) => J::String(base64::engine::general_purpose::STANDARD.encode(b)),
        // A string-table index (profiles only): nothing to resolve it against.
        Some(AV::StringValueStrindex(i)) => J::from(*i),
        Some(AV::ArrayValue(a)) => J::Array(a.values.iter().map(value_json).collect()),
        Some(AV::KvlistValue(kv)) => J::Object(
            kv.values
                .iter()
                .map(|p| {
                    (
                        p.key.clone(),
                        p.value.as_ref().map(value_json).unwrap_or(J::Null),
                    )
                })
                .collect(),
        ),
    }
}

/// The level Loki's `detected_level` would show for a record: from the
/// severity number's range, else the lower-cased severity text.
pub fn detected_level(severity_number: i32, severity_text: &str) -> Option<String> {
    let level = match severity_number {
        1..=4 => "trace",
        5..=8 => "debug",
        9..=12 => "info",
        13..=16 => "warn",
        17..=20 => "error",
        21..=24 => "fatal",
        _ if !severity_text.is_empty() => return Some(severity_text.to_ascii_lowercase()),
        _ => return None,
    };
    Some(level.to_string())
}

fn push_attrs(out: &mut Vec<(String, String)>, attrs: &[KeyValue]) {
    for kv in attrs {
        if let Some(v) = &kv.value {
            out.push((sanitize_name(&kv.key), value_text(v)));
        }
    }
}

fn to_ns(v: u64) -> i64 {
    v.min(i64::MAX as u64) as i64
}

/// Maps an export to streams (records with equal labels share a stream).
/// `label_attributes` are the resource attributes that become labels
/// (`otlp.log_label_attributes`); `now_ns` stamps records without a time.
pub fn to_push_streams(
    req: &ExportLogsServiceRequest,
    label_attributes: &[String],
    now_ns: i64,
) -> Vec<PushStream> {
    let mut streams: BTreeMap<Labels, Vec<PushEntry>> = BTreeMap::new();
    for rl in &req.resource_logs {
        let attrs: &[KeyValue] = rl
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or(&[]);
        let mut label_pairs: Vec<(String, String)> = Vec::new();
        let mut resource_md: Vec<(String, String)> = Vec::new();
        for kv in attrs {
            let Some(v) = &kv.value else { continue };
            let pair = (sanitize_name(&kv.key), value_text(v));
            if label_attributes.iter().any(|a| a == &kv.key) {
                label_pairs.push(pair);
            } else {
                resource_md.push(pair);
            }
        }
        let mut labels = Labels::from_pairs(label_pairs);
        if labels.get(SERVICE_NAME).is_none() {
            labels.set(SERVICE_NAME, UNKNOWN_SERVICE);
        }
        for sl in &rl.scope_logs {
            let mut scope_md = resource_md.clone();
            if let Some(scope) = &sl.scope {
                push_attrs(&mut scope_md, &scope.attributes);
                if !scope.name.is_empty() {
                    scope_md.push(("scope_name".into(), scope.name.clone()));
                }
                if !scope.version.is_empty() {
                    scope_md.push(("scope_version".into(), scope.version.clone()));
                }
            }
            for r in &sl.log_records {
                let mut md = scope_md.clone();
                push_attrs(&mut md, &r.attributes);
                if !r.severity_text.is_empty() {
                    md.push(("severity_text".into(), r.severity_text.clone()));
                }
                if r.severity_number != 0 {
                    md.push(("severity_number".into(), r.severity_number.to_string()));
                }
                if let Some(l) = detected_level(r.severity_number, &r.severity_text) {
                    md.push(("detected_level".into(), l));
                }
                if !r.trace_id.is_empty() {
                    md.push(("trace_id".into(), trace_id_hex(&r.trace_id)));
                }
                if !r.span_id.is_empty() {
                    md.push(("span_id".into(), trace_id_hex(&r.span_id)));
                }
                if r.flags != 0 {
                    md.push(("flags".into(), r.flags.to_string()));
                }
                let ts_ns = if r.time_unix_nano != 0 {
                    to_ns(r.time_unix_nano)
                } else if r.observed_time_unix_nano != 0 {
                    to_ns(r.observed_time_unix_nano)
                } else {
                    now_ns
                };
                let line = match &r.body {
                    Some(AnyValue {
                        value: Some(AV::StringValue(s)),
                    }) => s.clone(),
                    Some(v) if v.value.is_some() => value_json(v).to_string(),
                    _ => String::new(),
                };
                streams.entry(labels.clone()).or_default().push(PushEntry {
                    ts_ns,
                    line,
                    metadata: md,
                });
            }
        }
    }
    streams
        .into_iter()
        .map(|(labels, entries)| PushStream {
            labels: Ok(labels),
            entries,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::pb::common::v1::{ArrayValue, InstrumentationScope, KeyValueList};
    use crate::otlp::pb::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
    use crate::otlp::pb::resource::v1::Resource;

    fn kv(k: &str, v: AV) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    fn s(v: &str) -> AV {
        AV::StringValue(v.into())
    }

    fn pairs(md: &[(String, String)]) -> Vec<(&str, &str)> {
        let mut v: Vec<(&str, &str)> = md.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        v.sort();
        v
    }

    fn labels_of(st: &PushStream) -> Vec<(String, String)> {
        st.labels
            .as_ref()
            .unwrap()
            .iter()
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect()
    }

    #[test]
    fn maps_labels_metadata_line_and_time() {
        let req = ExportLogsServiceRequest {
            resource_logs: vec![ResourceLogs {
                resource: Some(Resource {
                    attributes: vec![
                        kv("service.name", s("checkout")),
                        kv("k8s.namespace.name", s("shop")),
                        kv("host.name", s("node-1")),
                        kv("process.pid", AV::IntValue(42)),
                    ],
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogs {
                    scope: Some(InstrumentationScope {
                        name: "app.logger".into(),
                        version: "2.1".into(),
                        attributes: vec![kv("lib.kind", s("slf4j"))],
                        ..Default::default()
                    }),
                    log_records: vec![
                        LogRecord {
                            time_unix_nano: 1_700_000_000_000_000_000,
                            observed_time_unix_nano: 1_700_000_000_500_000_000,
                            severity_number: 17,
                            severity_text: "ERROR".into(),
                            body: Some(AnyValue {
                                value: Some(s("payment failed")),
                            }),
                            attributes: vec![
                                kv("http.route", s("/pay")),
                                kv("retry", AV::BoolValue(true)),
                                kv(
                                    "tags",
                                    AV::ArrayValue(ArrayValue {
                                        values: vec![AnyValue {
                                            value: Some(s("a")),
                                        }],
                                    }),
                                ),
                            ],
                            trace_id: vec![0xAB; 16],
                            span_id: vec![0x0C; 8],
                            flags: 1,
                            ..Default::default()
                        },
                        LogRecord {
                            observed_time_unix_nano: 1_700_000_001_000_000_000,
                            body: Some(AnyValue {
                                value: Some(AV::KvlistValue(KeyValueList {
                                    values: vec![kv("msg", s("hi")), kv("n", AV::IntValue(2))],
                                })),
                            }),
                            severity_text: "Warning".into(),
                            ..Default::default()
                        },
                        LogRecord::default(),
                    ],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let labels = vec!["service.name".to_string(), "k8s.namespace.name".to_string()];
        let streams = to_push_streams(&req, &labels, 99);
        assert_eq!(streams.len(), 1);
        assert_eq!(
            labels_of(&streams[0]),
            vec![
                ("k8s_namespace_name".to_string(), "shop".to_string()),
                ("service_name".to_string(), "checkout".to_string())
            ]
        );
        let e = &streams[0].entries;
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].ts_ns, 1_700_000_000_000_000_000);
        assert_eq!(e[0].line, "payment failed");
        assert_eq!(
            pairs(&e[0].metadata),
            vec![
                ("detected_level", "error"),
                ("flags", "1"),
                ("host_name", "node-1"),
                ("http_route", "/pay"),
                ("lib_kind", "slf4j"),
                ("process_pid", "42"),
                ("retry", "true"),
                ("scope_name", "app.logger"),
                ("scope_version", "2.1"),
                ("severity_number", "17"),
                ("severity_text", "ERROR"),
                ("span_id", "0c0c0c0c0c0c0c0c"),
                ("tags", "[\"a\"]"),
                ("trace_id", "abababababababababababababababab"),
            ]
        );
        assert_eq!(e[1].ts_ns, 1_700_000_001_000_000_000);
        assert_eq!(e[1].line, r#"{"msg":"hi","n":2}"#);
        assert_eq!(
            pairs(&e[1].metadata),
            vec![
                ("detected_level", "warning"),
                ("host_name", "node-1"),
                ("lib_kind", "slf4j"),
                ("process_pid", "42"),
                ("scope_name", "app.logger"),
                ("scope_version", "2.1"),
                ("severity_text", "Warning"),
            ]
        );
        assert_eq!(e[2].ts_ns, 99, "no time at all: now");
        assert_eq!(e[2].line, "");
    }

    #[test]
    fn unknown_service_and_stream_grouping() {
        let rl = |ns: &str, line: &str| ResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("k8s.namespace.name", s(ns))],
                ..Default::default()
            }),
            scope_logs: vec![ScopeLogs {
                log_records: vec![LogRecord {
                    time_unix_nano: 5,
                    body: Some(AnyValue {
                        value: Some(s(line)),
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let req = ExportLogsServiceRequest {
            resource_logs: vec![rl("b", "1"), rl("a", "2"), rl("b", "3")],
        };
        let labels = vec!["service.name".to_string(), "k8s.namespace.name".to_string()];
        let streams = to_push_streams(&req, &labels, 0);
        assert_eq!(streams.len(), 2);
        assert_eq!(
            labels_of(&streams[0]),
            vec![
                ("k8s_namespace_name".to_string(), "a".to_string()),
                ("service_name".to_string(), "unknown_service".to_string())
            ]
        );
        let lines: Vec<&str> = streams[1].entries.iter().map(|e| e.line.as_str()).collect();
        assert_eq!(lines, vec!["1", "3"]);
    }

    #[test]
    fn names_and_levels() {
        assert_eq!(sanitize_name("service.name"), "service_name");
        assert_eq!(sanitize_name("http-status/code"), "http_status_code");
        assert_eq!(sanitize_name("9lives"), "key_9lives");
        assert_eq!(detected_level(9, "whatever"), Some("info".into()));
        assert_eq!(detected_level(24, ""), Some("fatal".into()));
        assert_eq!(detected_level(0, "DEBUG"), Some("debug".into()));
        assert_eq!(detected_level(0, ""), None);
        assert_eq!(trace_id_hex(&[0, 0xff, 0x1a]), "00ff1a");
    }
}
