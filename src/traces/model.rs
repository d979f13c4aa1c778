//! Trace identifiers and small helpers over OTLP trace data shared by the
//! store, the TraceQL engine and the Tempo API.

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use super::prefilter::IndexedValue;

/// A 128-bit trace id, big-endian as on the wire.
pub type TraceId = [u8; 16];

/// Parses a trace id as Tempo accepts it: 1 to 32 hex digits (either case),
/// left-padded with zeros to 128 bits.
pub fn parse_trace_id(s: &str) -> Result<TraceId, String> {
    let s = s.trim();
    if s.is_empty() || s.len() > 32 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "invalid trace id {s:?}: expected 1 to 32 hexadecimal digits"
        ));
    }
    let padded = format!("{s:0>32}");
    let mut id = [0u8; 16];
    for (i, out) in id.iter_mut().enumerate() {
        *out = u8::from_str_radix(&padded[2 * i..2 * i + 2], 16)
            .map_err(|e| format!("invalid trace id {s:?}: {e}"))?;
    }
    Ok(id)
}

/// Lower-case hex of an id (trace or span).
pub fn trace_id_hex(id: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(id.len() * 2);
    for b in id {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// A trace id from the bytes of an OTLP span (`None` unless 16 bytes).
pub fn trace_id_of(bytes: &[u8]) -> Option<TraceId> {
    bytes.try_into().ok()
}

/// Earliest span start and latest span end (ns) of trace data; `(0, 0)`
/// without spans.
pub fn time_bounds(batches: &[ResourceSpans]) -> (u64, u64) {
    let mut lo = u64::MAX;
    let mut hi = 0u64;
    for rs in batches {
        for ss in &rs.scope_spans {
            for s in &ss.spans {
                lo = lo.min(s.start_time_unix_nano);
                hi = hi.max(s.end_time_unix_nano.max(s.start_time_unix_nano));
            }
        }
    }
    if lo == u64::MAX {
        (0, 0)
    } else {
        (lo, hi)
    }
}

/// Number of spans in trace data.
pub fn span_count(batches: &[ResourceSpans]) -> usize {
    batches
        .iter()
        .flat_map(|rs| &rs.scope_spans)
        .map(|ss| ss.spans.len())
        .sum()
}

/// The string value of attribute `key`, if present and a string.
pub fn string_attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a str> {
    attrs.iter().find(|kv| kv.key == key).and_then(|kv| {
        match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => Some(s.as_str()),
            _ => None,
        }
    })
}

/// The service name of a batch's resource (`service.name`), if any.
pub fn service_name(rs: &ResourceSpans) -> Option<&str> {
    rs.resource
        .as_ref()
        .and_then(|r| string_attr(&r.attributes, "service.name"))
}

/// A string `AnyValue`.
pub fn string_value(s: impl Into<String>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(s.into())),
    }
}

/// The indexable values of an attribute: its value, or each scalar element
/// of an array (TraceQL compares arrays element by element).
pub fn indexed_values(kv: &KeyValue) -> Vec<IndexedValue> {
    match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
        Some(any_value::Value::ArrayValue(a)) => a
            .values
            .iter()
            .filter_map(|v| scalar(v.value.as_ref()?))
            .collect(),
        _ => indexed_value(kv).into_iter().collect(),
    }
}

fn scalar(v: &any_value::Value) -> Option<IndexedValue> {
    match v {
        any_value::Value::StringValue(s) => Some(IndexedValue::Str(s.clone())),
        any_value::Value::IntValue(i) => Some(IndexedValue::Int(*i)),
        any_value::Value::DoubleValue(f) => Some(IndexedValue::Float(*f)),
        any_value::Value::BoolValue(b) => Some(IndexedValue::Bool(*b)),
        _ => None,
    }
}

/// The indexable value of an attribute (arrays and maps are not indexed).
pub fn indexed_value(kv: &KeyValue) -> Option<IndexedValue> {
    match kv.value.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(IndexedValue::Str(s.clone())),
        any_value::Value::IntValue(i) => Some(IndexedValue::Int(*i)),
        any_value::Value::DoubleValue(f) => Some(IndexedValue::Float(*f)),
        any_value::Value::BoolValue(b) => Some(IndexedValue::Bool(*b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_ids_parse_padded_and_print_lower_case() {
        let id = parse_trace_id("ABC").unwrap();
        assert_eq!(trace_id_hex(&id), "00000000000000000000000000000abc");
        let full = "0123456789abcdef0123456789ABCDEF";
        assert_eq!(
            trace_id_hex(&parse_trace_id(full).unwrap()),
            full.to_lowercase()
        );
        assert!(parse_trace_id("").is_err());
        assert!(parse_trace_id("xyz").is_err());
        assert!(parse_trace_id(&"1".repeat(33)).is_err());
    }
}
