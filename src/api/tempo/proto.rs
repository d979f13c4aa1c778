//! The protobuf answers of the trace-by-id endpoints, as Tempo's
//! `tempopb` defines them: `Trace` (v1) and `TraceByIDResponse` (v2),
//! built on the OTLP `ResourceSpans` type (same field numbers).

use opentelemetry_proto::tonic::trace::v1::ResourceSpans;
use prost::Message;

/// `tempopb.Trace`: the answer of `/api/traces/<id>`.
#[derive(Clone, PartialEq, Message)]
pub struct Trace {
    #[prost(message, repeated, tag = "1")]
    pub resource_spans: Vec<ResourceSpans>,
}

/// `tempopb.TraceByIDMetrics` (no counters are reported).
#[derive(Clone, PartialEq, Message)]
pub struct TraceByIdMetrics {}

/// `tempopb.PartialStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum PartialStatus {
    Complete = 0,
    Partial = 1,
}

/// `tempopb.TraceByIDResponse`: the answer of `/api/v2/traces/<id>`.
#[derive(Clone, PartialEq, Message)]
pub struct TraceByIdResponse {
    #[prost(message, optional, tag = "1")]
    pub trace: Option<Trace>,
    #[prost(message, optional, tag = "2")]
    pub metrics: Option<TraceByIdMetrics>,
    #[prost(enumeration = "PartialStatus", tag = "3")]
    pub status: i32,
    #[prost(string, tag = "4")]
    pub message: String,
}

/// The encoded v1 answer.
pub fn encode_trace(batches: Vec<ResourceSpans>) -> Vec<u8> {
    Trace {
        resource_spans: batches,
    }
    .encode_to_vec()
}

/// The encoded v2 answer (a complete trace).
pub fn encode_trace_v2(batches: Vec<ResourceSpans>) -> Vec<u8> {
    TraceByIdResponse {
        trace: Some(Trace {
            resource_spans: batches,
        }),
        metrics: Some(TraceByIdMetrics {}),
        status: PartialStatus::Complete as i32,
        message: String::new(),
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::trace::v1::{ScopeSpans, Span, TracesData};

    fn batch() -> ResourceSpans {
        ResourceSpans {
            resource: None,
            scope_spans: vec![ScopeSpans {
                scope: None,
                spans: vec![Span {
                    trace_id: vec![1; 16],
                    span_id: vec![2; 8],
                    name: "s".into(),
                    start_time_unix_nano: 5,
                    end_time_unix_nano: 9,
                    ..Default::default()
                }],
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }
    }

    #[test]
    fn v1_is_wire_compatible_with_otlp_traces_data() {
        let bytes = encode_trace(vec![batch()]);
        let otlp = TracesData::decode(bytes.as_slice()).unwrap();
        assert_eq!(otlp.resource_spans, vec![batch()]);
    }

    #[test]
    fn v2_wraps_the_trace_in_field_one() {
        let bytes = encode_trace_v2(vec![batch()]);
        let r = TraceByIdResponse::decode(bytes.as_slice()).unwrap();
        assert_eq!(r.trace.unwrap().resource_spans, vec![batch()]);
        assert_eq!(r.status, 0);
        assert!(r.message.is_empty());
        // Field 1, length-delimited: tag byte 0x0a.
        assert_eq!(bytes[0], 0x0a);
    }
}
