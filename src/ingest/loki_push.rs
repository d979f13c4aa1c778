//! Loki push request decoding (`POST /loki/api/v1/push`): JSON bodies
//! (`{"streams":[{"stream":{..},"values":[["<ns>","<line>",{..}]]}]}`) and
//! protobuf bodies (`logproto.PushRequest`, always snappy block-compressed
//! whatever `Content-Encoding` says), into streams of entries with their
//! structured metadata. Stream labels come as a label map (JSON) or in
//! Prometheus' text form `{a="b"}` (protobuf) and end up as sorted
//! [`Labels`]. Validation against tenant limits belongs to the log store.

use std::collections::BTreeMap;
use std::fmt;

use prost::Message;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use crate::ingest::proto::logproto;
use crate::model::{Labels, MatchOp};
use crate::promql::parser;

/// How the body is encoded, from `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushFormat {
    Json,
    Protobuf,
}

/// One log line: nanosecond timestamp, the line, structured metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushEntry {
    pub ts_ns: i64,
    pub line: String,
    pub metadata: Vec<(String, String)>,
}

/// One stream of a push request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushStream {
    /// The stream's labels, or why its label string did not parse (that
    /// stream alone is rejected, as Loki does).
    pub labels: Result<Labels, String>,
    pub entries: Vec<PushEntry>,
}

/// Picks the body format as Loki does: `application/json` is JSON, any
/// other media type protobuf; a missing or unparsable header is an error.
pub fn format_of(content_type: Option<&str>) -> Result<PushFormat, String> {
    let ct = content_type.map(str::trim).unwrap_or("");
    let media = ct.split(';').next().unwrap_or("").trim();
    if media.is_empty() || !media.contains('/') {
        return Err(format!(
            "error parsing content type {ct:?}: mime: no media type"
        ));
    }
    if media.eq_ignore_ascii_case("application/json") {
        Ok(PushFormat::Json)
    } else {
        Ok(PushFormat::Protobuf)
    }
}

/// Decodes a (decompressed, for gzip/deflate) body. `max_bytes` bounds the
/// snappy-decompressed size of protobuf bodies.
pub fn decode(
    body: &[u8],
    format: PushFormat,
    max_bytes: usize,
) -> Result<Vec<PushStream>, String> {
    match format {
        PushFormat::Json => decode_json(body),
        PushFormat::Protobuf => decode_protobuf(body, max_bytes),
    }
}

fn decode_protobuf(body: &[u8], max_bytes: usize) -> Result<Vec<PushStream>, String> {
    let len = snap::raw::decompress_len(body).map_err(|e| format!("snappy: {e}"))?;
    if len > max_bytes {
        return Err(format!(
            "decompressed request of {len} bytes exceeds the limit of {max_bytes} bytes"
        ));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| format!("snappy: {e}"))?;
    let req =
        logproto::PushRequest::decode(raw.as_slice()).map_err(|e| format!("protobuf: {e}"))?;
    req.streams
        .into_iter()
        .map(|s| {
            let labels = parse_label_string(&s.labels);
            let entries = s
                .entries
                .into_iter()
                .map(|e| {
                    let ts = e.timestamp.unwrap_or_default();
                    PushEntry {
                        ts_ns: ts
                            .seconds
                            .saturating_mul(1_000_000_000)
                            .saturating_add(i64::from(ts.nanos)),
                        line: e.line,
                        metadata: e
                            .structured_metadata
                            .into_iter()
                            .map(|p| (p.name, p.value))
                            .collect(),
                    }
                })
                .collect();
            Ok(PushStream { labels, entries })
        })
        .collect()
}

/// Parses a stream's labels in Prometheus' text form (`{a="b", c="d"}`),
/// with Loki's wording for errors.
pub fn parse_label_string(s: &str) -> Result<Labels, String> {
    let vs = parser::parse_selector(s).map_err(|e| format!("error parsing labels '{s}': {e}"))?;
    let mut pairs = Vec::with_capacity(vs.matchers.len());
    for m in vs.matchers {
        if m.op != MatchOp::Equal {
            return Err(format!(
                "error parsing labels '{s}': only label=\"value\" pairs are allowed"
            ));
        }
        if pairs.iter().any(|(n, _): &(String, String)| *n == m.name) {
            return Err(format!(
                "error parsing labels '{s}': duplicate label name {:?}",
                m.name
            ));
        }
        pairs.push((m.name, m.value));
    }
    Ok(Labels::from_pairs(pairs))
}

#[derive(Deserialize)]
struct JsonPush {
    #[serde(default)]
    streams: Vec<JsonStream>,
}

#[derive(Deserialize)]
struct JsonStream {
    #[serde(default)]
    stream: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<JsonEntry>,
}

/// `["<ns timestamp>", "<line>"]` or with a third element of structured
/// metadata: a flat string map, or `{"structuredMetadata": {..}, "parsed": {..}}`.
struct JsonEntry(PushEntry);

/// Tried in order: a flat map of strings first (a nested form has object
/// values, so it cannot match), then the nested form.
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonMetadata {
    Flat(BTreeMap<String, String>),
    Nested {
        #[serde(rename = "structuredMetadata", default)]
        structured_metadata: BTreeMap<String, String>,
        #[serde(default)]
        #[allow(dead_code)]
        parsed: BTreeMap<String, String>,
    },
}

impl<'de> Deserialize<'de> for JsonEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonEntry;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an entry [\"<unix epoch in nanoseconds>\", \"<log line>\"]")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonEntry, A::Error> {
                let ts: String = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("entry without a timestamp"))?;
                let ts_ns = ts.parse::<i64>().map_err(|_| {
                    de::Error::custom(format!(
                        "invalid timestamp {ts:?}: must be nanoseconds since the epoch as a string"
                    ))
                })?;
                let line: String = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::custom("entry without a log line"))?;
                let metadata = match seq.next_element::<JsonMetadata>()? {
                    None => Vec::new(),
                    Some(JsonMetadata::Flat(m)) => m.into_iter().collect(),
                    Some(JsonMetadata::Nested {
                        structured_metadata,
                        ..
                    }) => structured_metadata.into_iter().collect(),
                };
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(JsonEntry(PushEntry {
                    ts_ns,
                    line,
                    metadata,
                }))
            }
        }
        d.deserialize_seq(V)
    }
}

fn decode_json(body: &[u8]) -> Result<Vec<PushStream>, String> {
    let req: JsonPush =
        serde_json::from_slice(body).map_err(|e| format!("invalid JSON push request: {e}"))?;
    Ok(req
        .streams
        .into_iter()
        .map(|s| PushStream {
            labels: Ok(Labels::from_pairs(s.stream)),
            entries: s.values.into_iter().map(|e| e.0).collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert_eq!(format_of(Some("application/json")), Ok(PushFormat::Json));
        assert_eq!(
            format_of(Some("application/json; charset=utf-8")),
            Ok(PushFormat::Json)
        );
        assert_eq!(
            format_of(Some("application/x-protobuf")),
            Ok(PushFormat::Protobuf)
        );
        assert!(format_of(None).is_err());
        assert!(format_of(Some("")).is_err());
    }

    #[test]
    fn json_entries_with_and_without_metadata() {
        let body = br#"{"streams":[{"stream":{"namespace":"wordpress-staging","pod":"wp-1"},
            "values":[["1700000000000000001","hello"],
                      ["1700000000000000002","with meta",{"trace_id":"abc"}],
                      ["1700000000000000003","nested",{"structuredMetadata":{"user":"u1"},"parsed":{"x":"y"}}]]}]}"#;
        let s = decode(body, PushFormat::Json, 1 << 20).unwrap();
        assert_eq!(s.len(), 1);
        assert_eq!(
            s[0].labels.as_ref().unwrap().get("namespace"),
            Some("wordpress-staging")
        );
        let e = &s[0].entries;
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].ts_ns, 1_700_000_000_000_000_001);
        assert_eq!(e[0].line, "hello");
        assert!(e[0].metadata.is_empty());
        assert_eq!(e[1].metadata, vec![("trace_id".into(), "abc".into())]);
        assert_eq!(e[2].metadata, vec![("user".into(), "u1".into())]);
    }

    #[test]
    fn json_timestamps_must_be_strings() {
        let body = br#"{"streams":[{"stream":{"a":"b"},"values":[[1700000000000000001,"x"]]}]}"#;
        assert!(decode(body, PushFormat::Json, 1 << 20).is_err());
        let body = br#"{"streams":[{"stream":{"a":"b"},"values":[["soon","x"]]}]}"#;
        let err = decode(body, PushFormat::Json, 1 << 20).unwrap_err();
        assert!(err.contains("invalid timestamp"), "{err}");
        assert!(decode(b"{not json", PushFormat::Json, 1 << 20).is_err());
    }

    fn proto_body(labels: &str) -> Vec<u8> {
        let req = logproto::PushRequest {
            streams: vec![logproto::StreamAdapter {
                labels: labels.into(),
                entries: vec![logproto::EntryAdapter {
                    timestamp: Some(logproto::Timestamp {
                        seconds: 1_700_000_000,
                        nanos: 5,
                    }),
                    line: "GET /clone 200".into(),
                    structured_metadata: vec![logproto::LabelPairAdapter {
                        name: "trace_id".into(),
                        value: "0af7651916cd43dd8448eb211c80319c".into(),
                    }],
                    parsed: vec![],
                }],
                hash: 0,
            }],
            format: String::new(),
        };
        snap::raw::Encoder::new()
            .compress_vec(&req.encode_to_vec())
            .unwrap()
    }

    #[test]
    fn protobuf_snappy_streams() {
        let s = decode(
            &proto_body(r#"{namespace="wordpress-production", app="wp-k8s-service"}"#),
            PushFormat::Protobuf,
            1 << 20,
        )
        .unwrap();
        assert_eq!(
            s[0].labels.as_ref().unwrap().get("app"),
            Some("wp-k8s-service")
        );
        assert_eq!(s[0].entries[0].ts_ns, 1_700_000_000_000_000_005);
        assert_eq!(s[0].entries[0].line, "GET /clone 200");
        assert_eq!(s[0].entries[0].metadata[0].0, "trace_id");
        // Not snappy, too large, bad labels.
        assert!(decode(b"\xff\xff\xff", PushFormat::Protobuf, 1 << 20).is_err());
        assert!(decode(&proto_body("{a=\"b\"}"), PushFormat::Protobuf, 4).is_err());
        let stream_err = |labels: &str| {
            let s = decode(&proto_body(labels), PushFormat::Protobuf, 1 << 20).unwrap();
            s[0].labels.clone().unwrap_err()
        };
        let err = stream_err("{a=}");
        assert!(err.starts_with("error parsing labels '{a=}'"), "{err}");
        let err = stream_err(r#"{a=~"b"}"#);
        assert!(err.contains("only label=\"value\" pairs"), "{err}");
        let err = stream_err(r#"{a="b", a="c"}"#);
        assert!(err.contains("duplicate label name"), "{err}");
    }
}
