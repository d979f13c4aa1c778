//! OTLP in: the receivers (gRPC on :4317, HTTP on :4318 and on the main
//! port) and the translation of each signal into Cairn's stores: traces
//! to the trace store, logs to the log store, metrics to the TSDB.

pub mod decode;
pub mod grpc;
pub mod http;
pub mod ingest;
pub mod logs;
pub mod metrics;

/// The generated OTLP protobuf types (with the OTLP/JSON mapping).
pub use opentelemetry_proto::tonic as pb;

#[cfg(test)]
mod tests;
