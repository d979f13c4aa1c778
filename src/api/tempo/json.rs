//! Trace data as Tempo writes it in JSON (golang jsonpb over the OTLP
//! types): camelCase names, ids in base64, 64-bit integers as strings,
//! enums by name, fields at their default value left out. The v1 trace
//! answer keeps Tempo's historical top-level `batches`; v2 nests
//! `resourceSpans` under `trace`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::{Event, Link};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status};
use serde_json::{json, Map, Value};

/// `/api/traces/<id>` in JSON: `{"batches":[...]}`.
pub fn trace_v1(batches: &[ResourceSpans]) -> Value {
    let mut m = Map::new();
    put_list(&mut m, "batches", batches.iter().map(resource_spans));
    Value::Object(m)
}

/// `/api/v2/traces/<id>` in JSON: `{"trace":{"resourceSpans":[...]},"metrics":{}}`.
pub fn trace_v2(batches: &[ResourceSpans]) -> Value {
    let mut t = Map::new();
    put_list(&mut t, "resourceSpans", batches.iter().map(resource_spans));
    json!({ "trace": t, "metrics": {} })
}

fn put_str(m: &mut Map<String, Value>, k: &str, v: &str) {
    if !v.is_empty() {
        m.insert(k.into(), Value::String(v.to_string()));
    }
}

fn put_bytes(m: &mut Map<String, Value>, k: &str, v: &[u8]) {
    if !v.is_empty() {
        m.insert(k.into(), Value::String(B64.encode(v)));
    }
}

fn put_u64(m: &mut Map<String, Value>, k: &str, v: u64) {
    if v != 0 {
        m.insert(k.into(), Value::String(v.to_string()));
    }
}

fn put_u32(m: &mut Map<String, Value>, k: &str, v: u32) {
    if v != 0 {
        m.insert(k.into(), json!(v));
    }
}

fn put_list(m: &mut Map<String, Value>, k: &str, it: impl Iterator<Item = Value>) {
    let v: Vec<Value> = it.collect();
    if !v.is_empty() {
        m.insert(k.into(), Value::Array(v));
    }
}

fn put_attrs(m: &mut Map<String, Value>, attrs: &[KeyValue], dropped: u32) {
    put_list(m, "attributes", attrs.iter().map(key_value));
    put_u32(m, "droppedAttributesCount", dropped);
}

pub fn resource_spans(rs: &ResourceSpans) -> Value {
    let mut m = Map::new();
    if let Some(r) = &rs.resource {
        m.insert("resource".into(), resource(r));
    }
    put_list(&mut m, "scopeSpans", rs.scope_spans.iter().map(scope_spans));
    put_str(&mut m, "schemaUrl", &rs.schema_url);
    Value::Object(m)
}

fn resource(r: &Resource) -> Value {
    let mut m = Map::new();
    put_attrs(&mut m, &r.attributes, r.dropped_attributes_count);
    Value::Object(m)
}

fn scope_spans(ss: &ScopeSpans) -> Value {
    let mut m = Map::new();
    if let Some(s) = &ss.scope {
        m.insert("scope".into(), scope(s));
    }
    put_list(&mut m, "spans", ss.spans.iter().map(span));
    put_str(&mut m, "schemaUrl", &ss.schema_url);
    Value::Object(m)
}

fn scope(s: &InstrumentationScope) -> Value {
    let mut m = Map::new();
    put_str(&mut m, "name", &s.name);
    put_str(&mut m, "version", &s.version);
    put_attrs(&mut m, &s.attributes, s.dropped_attributes_count);
    Value::Object(m)
}

/// OTLP `SpanKind` names.
pub fn kind_name(k: i32) -> Option<&'static str> {
    Some(match k {
        0 => "SPAN_KIND_UNSPECIFIED",
        1 => "SPAN_KIND_INTERNAL",
        2 => "SPAN_KIND_SERVER",
        3 => "SPAN_KIND_CLIENT",
        4 => "SPAN_KIND_PRODUCER",
        5 => "SPAN_KIND_CONSUMER",
        _ => return None,
    })
}

fn status_code_name(c: i32) -> Option<&'static str> {
    Some(match c {
        0 => "STATUS_CODE_UNSET",
        1 => "STATUS_CODE_OK",
        2 => "STATUS_CODE_ERROR",
        _ => return None,
    })
}

/// An enum by name; unknown numbers as numbers; 0 left out.
fn put_enum(m: &mut Map<String, Value>, k: &str, v: i32, name: fn(i32) -> Option<&'static str>) {
    if v != 0 {
        let value = name(v).map_or_else(|| json!(v), |n| json!(n));
        m.insert(k.into(), value);
    }
}

fn span(s: &Span) -> Value {
    let mut m = Map::new();
    put_bytes(&mut m, "traceId", &s.trace_id);
    put_bytes(&mut m, "spanId", &s.span_id);
    put_str(&mut m, "traceState", &s.trace_state);
    put_bytes(&mut m, "parentSpanId", &s.parent_span_id);
    put_u32(&mut m, "flags", s.flags);
    put_str(&mut m, "name", &s.name);
    put_enum(&mut m, "kind", s.kind, kind_name);
    put_u64(&mut m, "startTimeUnixNano", s.start_time_unix_nano);
    put_u64(&mut m, "endTimeUnixNano", s.end_time_unix_nano);
    put_attrs(&mut m, &s.attributes, s.dropped_attributes_count);
    put_list(&mut m, "events", s.events.iter().map(event));
    put_u32(&mut m, "droppedEventsCount", s.dropped_events_count);
    put_list(&mut m, "links", s.links.iter().map(link));
    put_u32(&mut m, "droppedLinksCount", s.dropped_links_count);
    // Tempo always writes the status, `{}` when unset.
    m.insert(
        "status".into(),
        status(s.status.as_ref().unwrap_or(&Status::default())),
    );
    Value::Object(m)
}

fn status(s: &Status) -> Value {
    let mut m = Map::new();
    put_str(&mut m, "message", &s.message);
    put_enum(&mut m, "code", s.code, status_code_name);
    Value::Object(m)
}

fn event(e: &Event) -> Value {
    let mut m = Map::new();
    put_u64(&mut m, "timeUnixNano", e.time_unix_nano);
    put_str(&mut m, "name", &e.name);
    put_attrs(&mut m, &e.attributes, e.dropped_attributes_count);
    Value::Object(m)
}

fn link(l: &Link) -> Value {
    let mut m = Map::new();
    put_bytes(&mut m, "traceId", &l.trace_id);
    put_bytes(&mut m, "spanId", &l.span_id);
    put_str(&mut m, "traceState", &l.trace_state);
    put_attrs(&mut m, &l.attributes, l.dropped_attributes_count);
    put_u32(&mut m, "flags", l.flags);
    Value::Object(m)
}

/// An OTLP `KeyValue`: `{"key":..,"value":{..}}`.
pub fn key_value(kv: &KeyValue) -> Value {
    let mut m = Map::new();
    put_str(&mut m, "key", &kv.key);
    m.insert(
        "value".into(),
        kv.value.as_ref().map_or_else(|| json!({}), any_value_json),
    );
    Value::Object(m)
}

/// A double as jsonpb writes it (non-finite values as strings).
pub fn double(f: f64) -> Value {
    if f.is_nan() {
        json!("NaN")
    } else if f.is_infinite() {
        json!(if f > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        json!(f)
    }
}

/// An OTLP `AnyValue` (`{}` when empty).
pub fn any_value_json(v: &AnyValue) -> Value {
    use any_value::Value as V;
    match &v.value {
        None => json!({}),
        Some(V::StringValue(s)) => json!({ "stringValue": s }),
        Some(V::BoolValue(b)) => json!({ "boolValue": b }),
        Some(V::IntValue(i)) => json!({ "intValue": i.to_string() }),
        Some(V::DoubleValue(f)) => json!({ "doubleValue": double(*f) }),
        Some(V::BytesValue(b)) => json!({ "bytesValue": B64.encode(b) }),
        Some(V::ArrayValue(a)) => {
            let mut m = Map::new();
            put_list(&mut m, "values", a.values.iter().map(any_value_json));
            json!({ "arrayValue": m })
        }
        // An index into a profile's string table: nothing to show here.
        Some(V::StringValueStrindex(_)) => json!({}),
        Some(V::KvlistValue(l)) => {
            let mut m = Map::new();
            put_list(&mut m, "values", l.values.iter().map(key_value));
            json!({ "kvlistValue": m })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    fn kv(k: &str, v: any_value::Value) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    #[test]
    fn spans_in_tempo_jsonpb_form() {
        use any_value::Value as V;
        let rs = ResourceSpans {
            resource: Some(Resource {
                attributes: vec![kv("service.name", V::StringValue("api".into()))],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "lib".into(),
                    version: "1.0".into(),
                    ..Default::default()
                }),
                spans: vec![Span {
                    trace_id: vec![0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34],
                    span_id: vec![0, 0, 0, 0, 0, 0, 0x12, 0x34],
                    parent_span_id: vec![],
                    name: "GET /".into(),
                    kind: 2,
                    start_time_unix_nano: 1_600_000_000_000_000_000,
                    end_time_unix_nano: 1_600_000_000_100_000_000,
                    attributes: vec![
                        kv("code", V::IntValue(500)),
                        kv("ratio", V::DoubleValue(0.5)),
                        kv("ok", V::BoolValue(false)),
                        kv(
                            "list",
                            V::ArrayValue(ArrayValue {
                                values: vec![AnyValue {
                                    value: Some(V::StringValue("a".into())),
                                }],
                            }),
                        ),
                        kv(
                            "map",
                            V::KvlistValue(KeyValueList {
                                values: vec![kv("x", V::BytesValue(vec![1, 2]))],
                            }),
                        ),
                    ],
                    events: vec![Event {
                        time_unix_nano: 1_600_000_000_050_000_000,
                        name: "exception".into(),
                        ..Default::default()
                    }],
                    status: Some(Status {
                        message: "boom".into(),
                        code: 2,
                    }),
                    ..Default::default()
                }],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        };
        let span = json!({
            "traceId": "AAAAAAAAAAAAAAAAAAASNA==",
            "spanId": "AAAAAAAAEjQ=",
            "name": "GET /",
            "kind": "SPAN_KIND_SERVER",
            "startTimeUnixNano": "1600000000000000000",
            "endTimeUnixNano": "1600000000100000000",
            "attributes": [
                {"key": "code", "value": {"intValue": "500"}},
                {"key": "ratio", "value": {"doubleValue": 0.5}},
                {"key": "ok", "value": {"boolValue": false}},
                {"key": "list", "value": {"arrayValue": {"values": [{"stringValue": "a"}]}}},
                {"key": "map", "value": {"kvlistValue": {"values": [
                    {"key": "x", "value": {"bytesValue": "AQI="}}
                ]}}}
            ],
            "events": [{"timeUnixNano": "1600000000050000000", "name": "exception"}],
            "status": {"message": "boom", "code": "STATUS_CODE_ERROR"}
        });
        let batch = json!({
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "api"}}]},
            "scopeSpans": [{"scope": {"name": "lib", "version": "1.0"}, "spans": [span]}]
        });
        assert_eq!(
            trace_v1(std::slice::from_ref(&rs)),
            json!({ "batches": [batch.clone()] })
        );
        assert_eq!(
            trace_v2(std::slice::from_ref(&rs)),
            json!({ "trace": { "resourceSpans": [batch] }, "metrics": {} })
        );
    }

    #[test]
    fn unset_status_and_odd_doubles() {
        let s = Span {
            name: "x".into(),
            kind: 9,
            ..Default::default()
        };
        assert_eq!(span(&s), json!({"name": "x", "kind": 9, "status": {}}));
        assert_eq!(double(f64::NAN), json!("NaN"));
        assert_eq!(double(f64::NEG_INFINITY), json!("-Infinity"));
    }
}
