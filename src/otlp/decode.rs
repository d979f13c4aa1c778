//! OTLP/HTTP bodies: the request's format from `Content-Type`
//! (`application/x-protobuf` or `application/json`), `Content-Encoding`
//! undone within the body limit, the export request decoded (OTLP/JSON
//! normalized first where the generated serde mapping falls short), and
//! responses and `google.rpc.Status` errors encoded in the request's format.

use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::server::body::{decode_body, BodyError};

/// The two OTLP/HTTP encodings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Protobuf,
    Json,
}

impl Format {
    /// The `Content-Type` of responses in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Protobuf => "application/x-protobuf",
            Format::Json => "application/json",
        }
    }
}

/// Why a body could not be decoded, with its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// 415: a content type or encoding OTLP does not define.
    Unsupported(String),
    /// 413: larger than `server.max_request_body` (after decompression).
    TooLarge(String),
    /// 400: not a valid export request.
    Malformed(String),
}

impl DecodeError {
    pub fn status(&self) -> StatusCode {
        match self {
            DecodeError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            DecodeError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            DecodeError::Malformed(_) => StatusCode::BAD_REQUEST,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            DecodeError::Unsupported(m) | DecodeError::TooLarge(m) | DecodeError::Malformed(m) => m,
        }
    }
}

/// The request's format from its `Content-Type` (parameters ignored).
pub fn format_of(headers: &HeaderMap) -> Result<Format, DecodeError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/x-protobuf" | "application/protobuf" => Ok(Format::Protobuf),
        "application/json" => Ok(Format::Json),
        "" => Err(DecodeError::Unsupported(
            "missing Content-Type: OTLP/HTTP accepts application/x-protobuf or application/json"
                .into(),
        )),
        other => Err(DecodeError::Unsupported(format!(
            "unsupported Content-Type {other:?}: OTLP/HTTP accepts application/x-protobuf or application/json"
        ))),
    }
}

/// Decodes an export request of either format; `limit` bounds the body
/// after decompression.
pub fn decode_request<T>(
    headers: &HeaderMap,
    body: &[u8],
    limit: usize,
) -> Result<(T, Format), DecodeError>
where
    T: prost::Message + Default + DeserializeOwned,
{
    let format = format_of(headers)?;
    let raw = decode_body(headers, body, limit, &[]).map_err(|e| match e {
        BodyError::UnsupportedEncoding(_) => DecodeError::Unsupported(e.message()),
        BodyError::Corrupt(_) => DecodeError::Malformed(e.message()),
        BodyError::TooLarge(_) => DecodeError::TooLarge(e.message()),
    })?;
    let msg = match format {
        Format::Protobuf => T::decode(raw.as_slice())
            .map_err(|e| DecodeError::Malformed(format!("invalid protobuf: {e}")))?,
        Format::Json => decode_json(&raw)?,
    };
    Ok((msg, format))
}

/// Decodes OTLP/JSON into the generated types.
pub fn decode_json<T: DeserializeOwned + Default>(raw: &[u8]) -> Result<T, DecodeError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        // An empty body is an empty request.
        return Ok(T::default());
    }
    let mut v: Value = serde_json::from_slice(raw)
        .map_err(|e| DecodeError::Malformed(format!("invalid JSON: {e}")))?;
    normalize(&mut v);
    serde_json::from_value(v).map_err(|e| DecodeError::Malformed(format!("invalid OTLP/JSON: {e}")))
}

/// Keys whose values are `double`s: protobuf JSON may write them as the
/// strings `"NaN"`, `"Infinity"`, `"-Infinity"` (or any number as a
/// string), which the generated types do not read.
const DOUBLE_KEYS: &[&str] = &[
    "asDouble",
    "doubleValue",
    "sum",
    "min",
    "max",
    "value",
    "zeroThreshold",
];

/// Keys of 32-bit integers, enums and bools that protobuf JSON may quote.
const QUOTED_INT_KEYS: &[&str] = &[
    "droppedAttributesCount",
    "droppedEventsCount",
    "droppedLinksCount",
    "flags",
    "kind",
    "code",
    "severityNumber",
    "aggregationTemporality",
    "scale",
];

/// Fixes up what the generated serde mapping gets wrong about OTLP/JSON:
/// `null` values (protobuf JSON: the default), doubles as strings
/// (`"NaN"`, `"Infinity"`), 32-bit integers as strings, and
/// `{"key": ..., "value": null}` attributes.
fn normalize(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, val| !val.is_null());
            for (k, val) in map.iter_mut() {
                if let Value::String(s) = val {
                    if DOUBLE_KEYS.contains(&k.as_str()) {
                        if let Some(n) = parse_double(s) {
                            *val = n;
                        }
                    } else if QUOTED_INT_KEYS.contains(&k.as_str()) {
                        if let Ok(n) = s.trim().parse::<i64>() {
                            *val = Value::from(n);
                        }
                    }
                } else {
                    normalize(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

/// A protobuf-JSON double written as a string. Non-finite values have no
/// JSON number: they become the largest finite magnitudes (NaN becomes 0).
fn parse_double(s: &str) -> Option<Value> {
    let f = match s.trim() {
        "NaN" => return Some(Value::from(0.0)),
        "Infinity" => f64::MAX,
        "-Infinity" => f64::MIN,
        other => other.parse::<f64>().ok()?,
    };
    serde_json::Number::from_f64(f).map(Value::Number)
}

/// Encodes a response message in `format`.
pub fn encode_message<T: prost::Message + Serialize>(msg: &T, format: Format) -> Vec<u8> {
    match format {
        Format::Protobuf => msg.encode_to_vec(),
        Format::Json => {
            // Unset fields are left out rather than written as `null`.
            let mut v =
                serde_json::to_value(msg).unwrap_or_else(|_| Value::Object(Default::default()));
            drop_nulls(&mut v);
            serde_json::to_vec(&v).unwrap_or_else(|_| b"{}".to_vec())
        }
    }
}

fn drop_nulls(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, val| !val.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Any {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.Status`: the body of OTLP/HTTP errors and gRPC status details.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<Any>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoDuration {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RetryInfo {
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

pub const RETRY_INFO_TYPE: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// gRPC status codes used by the receivers.
pub mod code {
    pub const INVALID_ARGUMENT: i32 = 3;
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    pub const INTERNAL: i32 = 13;
    pub const UNAVAILABLE: i32 = 14;
}

/// A `google.rpc.Status`, with `RetryInfo` when the client should retry
/// after `retry_after_s` seconds.
pub fn rpc_status(code: i32, message: &str, retry_after_s: Option<u64>) -> RpcStatus {
    let details = retry_after_s
        .map(|s| Any {
            type_url: RETRY_INFO_TYPE.into(),
            value: prost::Message::encode_to_vec(&RetryInfo {
                retry_delay: Some(ProtoDuration {
                    seconds: s.min(i64::MAX as u64) as i64,
                    nanos: 0,
                }),
            }),
        })
        .into_iter()
        .collect();
    RpcStatus {
        code,
        message: message.to_string(),
        details,
    }
}

/// Encodes an error body in `format` (protobuf JSON of `google.rpc.Status`,
/// where `Any` carries its `@type` inline).
pub fn encode_status(
    code: i32,
    message: &str,
    retry_after_s: Option<u64>,
    format: Format,
) -> Vec<u8> {
    match format {
        Format::Protobuf => {
            prost::Message::encode_to_vec(&rpc_status(code, message, retry_after_s))
        }
        Format::Json => {
            let details: Vec<Value> = retry_after_s
                .map(|s| {
                    serde_json::json!({
                        "@type": RETRY_INFO_TYPE,
                        "retryDelay": format!("{s}s"),
                    })
                })
                .into_iter()
                .collect();
            let v = serde_json::json!({
                "code": code,
                "message": message,
                "details": details,
            });
            serde_json::to_vec(&v).unwrap_or_else(|_| b"{}".to_vec())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::pb::collector::logs::v1::ExportLogsServiceRequest;
    use crate::otlp::pb::collector::metrics::v1::ExportMetricsServiceRequest;
    use crate::otlp::pb::collector::trace::v1::ExportTraceServiceRequest;
    use crate::otlp::pb::common::v1::any_value::Value as AV;
    use crate::otlp::pb::metrics::v1::{metric::Data, number_data_point::Value as NV};
    use prost::Message;
    use std::io::Write;

    fn headers(ct: &str, enc: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
        if let Some(e) = enc {
            h.insert(header::CONTENT_ENCODING, e.parse().unwrap());
        }
        h
    }

    fn gzip(b: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b).unwrap();
        enc.finish().unwrap()
    }

    const TRACE_JSON: &str = r#"{
      "resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "checkout"}}]},
        "unknownTopLevel": {"x": 1},
        "scopeSpans": [{
          "scope": {"name": "lib", "version": "1.0"},
          "spans": [{
            "traceId": "5B8EFFF798038103D269B633813FC60C",
            "spanId": "eee19b7ec3c1b174",
            "parentSpanId": "",
            "name": "GET /cart",
            "kind": 2,
            "startTimeUnixNano": "1544712660000000000",
            "endTimeUnixNano": 1544712661000000000,
            "droppedAttributesCount": "3",
            "attributes": [
              {"key": "http.status_code", "value": {"intValue": "200"}},
              {"key": "ratio", "value": {"doubleValue": "NaN"}},
              {"key": "nothing", "value": null}
            ],
            "status": {"code": 2, "message": "boom"},
            "links": [{"traceId": "00000000000000000000000000000001", "spanId": "0000000000000002"}],
            "someFutureField": [1, 2, 3]
          }]
        }]
      }]
    }"#;

    #[test]
    fn json_traces_hex_ids_int64_strings_enums_and_unknown_fields() {
        let (req, f): (ExportTraceServiceRequest, _) = decode_request(
            &headers("application/json", None),
            TRACE_JSON.as_bytes(),
            1 << 20,
        )
        .unwrap();
        assert_eq!(f, Format::Json);
        let span = &req.resource_spans[0].scope_spans[0].spans[0];
        assert_eq!(
            span.trace_id,
            vec![
                0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f,
                0xc6, 0x0c
            ]
        );
        assert_eq!(
            span.span_id,
            vec![0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74]
        );
        assert!(span.parent_span_id.is_empty());
        assert_eq!(span.kind, 2);
        assert_eq!(span.start_time_unix_nano, 1_544_712_660_000_000_000);
        assert_eq!(span.end_time_unix_nano, 1_544_712_661_000_000_000);
        assert_eq!(span.dropped_attributes_count, 3);
        assert_eq!(span.attributes[0].key, "http.status_code");
        assert_eq!(
            span.attributes[0]
                .value
                .as_ref()
                .and_then(|v| v.value.clone()),
            Some(AV::IntValue(200))
        );
        assert_eq!(
            span.attributes[1]
                .value
                .as_ref()
                .and_then(|v| v.value.clone()),
            Some(AV::DoubleValue(0.0))
        );
        assert_eq!(span.attributes[2].key, "nothing");
        assert_eq!(span.attributes[2].value, None);
        let status = span.status.as_ref().unwrap();
        assert_eq!((status.code, status.message.as_str()), (2, "boom"));
        assert_eq!(span.links[0].span_id, vec![0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(
            req.resource_spans[0].scope_spans[0]
                .scope
                .as_ref()
                .unwrap()
                .name,
            "lib"
        );
    }

    #[test]
    fn json_logs_and_metrics() {
        let logs = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{
            "timeUnixNano":"1700000000000000000","observedTimeUnixNano":"1700000000000000001",
            "severityNumber":9,"severityText":"INFO","body":{"kvlistValue":{"values":[{"key":"a","value":{"boolValue":true}}]}},
            "traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","flags":1}]}]}]}"#;
        let req: ExportLogsServiceRequest = decode_json(logs.as_bytes()).unwrap();
        let r = &req.resource_logs[0].scope_logs[0].log_records[0];
        assert_eq!(r.time_unix_nano, 1_700_000_000_000_000_000);
        assert_eq!(r.observed_time_unix_nano, 1_700_000_000_000_000_001);
        assert_eq!(
            (r.severity_number, r.severity_text.as_str(), r.flags),
            (9, "INFO", 1)
        );
        assert_eq!(r.trace_id, (1..=16).collect::<Vec<u8>>());
        assert_eq!(r.span_id, (1..=8).collect::<Vec<u8>>());
        assert!(matches!(
            r.body.as_ref().and_then(|b| b.value.as_ref()),
            Some(AV::KvlistValue(kv)) if kv.values[0].key == "a"
        ));

        let metrics = r#"{"resourceMetrics":[{"scopeMetrics":[{"metrics":[
            {"name":"requests","sum":{"aggregationTemporality":2,"isMonotonic":true,
              "dataPoints":[{"asInt":"42","timeUnixNano":"1700000000000000000"},{"asDouble":"Infinity"}]}},
            {"name":"latency","histogram":{"aggregationTemporality":"2","dataPoints":[{
              "count":"3","sum":1.5,"bucketCounts":["1","2"],"explicitBounds":[0.5],"timeUnixNano":"1"}]}}]}]}]}"#;
        let req: ExportMetricsServiceRequest = decode_json(metrics.as_bytes()).unwrap();
        let ms = &req.resource_metrics[0].scope_metrics[0].metrics;
        let Some(Data::Sum(sum)) = &ms[0].data else {
            panic!("sum expected: {:?}", ms[0].data)
        };
        assert_eq!(sum.aggregation_temporality, 2);
        assert!(sum.is_monotonic);
        assert_eq!(sum.data_points[0].value, Some(NV::AsInt(42)));
        assert_eq!(sum.data_points[0].time_unix_nano, 1_700_000_000_000_000_000);
        assert_eq!(sum.data_points[1].value, Some(NV::AsDouble(f64::MAX)));
        let Some(Data::Histogram(h)) = &ms[1].data else {
            panic!("histogram expected: {:?}", ms[1].data)
        };
        assert_eq!(h.aggregation_temporality, 2);
        assert_eq!(h.data_points[0].count, 3);
        assert_eq!(h.data_points[0].sum, Some(1.5));
        assert_eq!(h.data_points[0].bucket_counts, vec![1, 2]);
        assert_eq!(h.data_points[0].explicit_bounds, vec![0.5]);
    }

    #[test]
    fn protobuf_gzip_and_errors() {
        let (json_req, _): (ExportTraceServiceRequest, _) = decode_request(
            &headers("application/json", None),
            TRACE_JSON.as_bytes(),
            1 << 20,
        )
        .unwrap();
        let pb = json_req.encode_to_vec();
        let (req, f): (ExportTraceServiceRequest, _) = decode_request(
            &headers("application/x-protobuf", Some("gzip")),
            &gzip(&pb),
            1 << 20,
        )
        .unwrap();
        assert_eq!(f, Format::Protobuf);
        assert_eq!(req, json_req);
        // The limit applies after decompression.
        let err = decode_request::<ExportTraceServiceRequest>(
            &headers("application/x-protobuf", Some("gzip")),
            &gzip(&pb),
            pb.len() - 1,
        )
        .unwrap_err();
        assert_eq!(err.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let err =
            decode_request::<ExportTraceServiceRequest>(&headers("text/plain", None), &pb, 1 << 20)
                .unwrap_err();
        assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let err = decode_request::<ExportTraceServiceRequest>(
            &headers("application/x-protobuf", Some("br")),
            &pb,
            1 << 20,
        )
        .unwrap_err();
        assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let err = decode_request::<ExportTraceServiceRequest>(
            &headers("application/x-protobuf", None),
            &[0x0a, 0xff, 0xff],
            1 << 20,
        )
        .unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        assert!(
            err.message().starts_with("invalid protobuf"),
            "{}",
            err.message()
        );
        let err = decode_request::<ExportTraceServiceRequest>(
            &headers("application/json; charset=utf-8", None),
            b"{\"resourceSpans\": [",
            1 << 20,
        )
        .unwrap_err();
        assert!(
            err.message().starts_with("invalid JSON"),
            "{}",
            err.message()
        );
        let err = decode_json::<ExportTraceServiceRequest>(
            br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#,
        )
        .unwrap_err();
        assert!(
            err.message().starts_with("invalid OTLP/JSON"),
            "{}",
            err.message()
        );
        let empty: ExportTraceServiceRequest = decode_json(b"").unwrap();
        assert!(empty.resource_spans.is_empty());
    }

    #[test]
    fn status_bodies() {
        let b = encode_status(
            code::RESOURCE_EXHAUSTED,
            "slow down",
            Some(7),
            Format::Protobuf,
        );
        let s = RpcStatus::decode(b.as_slice()).unwrap();
        assert_eq!((s.code, s.message.as_str()), (8, "slow down"));
        assert_eq!(s.details.len(), 1);
        assert_eq!(s.details[0].type_url, RETRY_INFO_TYPE);
        let ri = RetryInfo::decode(s.details[0].value.as_slice()).unwrap();
        assert_eq!(
            ri.retry_delay,
            Some(ProtoDuration {
                seconds: 7,
                nanos: 0
            })
        );
        let j: Value = serde_json::from_slice(&encode_status(
            code::INVALID_ARGUMENT,
            "bad",
            None,
            Format::Json,
        ))
        .unwrap();
        assert_eq!(
            j,
            serde_json::json!({"code": 3, "message": "bad", "details": []})
        );
    }
}
