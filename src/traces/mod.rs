//! The trace store: OTLP spans of every tenant, write-ahead logged before
//! they are acknowledged, live traces in an in-memory head (queryable as
//! soon as their first span is acknowledged), complete traces sealed into
//! time partitions on disk with a tantivy search index, trace-by-id
//! across head and partitions, scans for TraceQL search, tag names and
//! values for autocomplete, retention and the disk cap.

pub mod head;
pub mod index;
pub mod model;
pub mod partition;
pub mod prefilter;
pub mod store;
pub mod tenant;

#[cfg(test)]
mod tests;

pub use model::{parse_trace_id, trace_id_hex, TraceId};
pub use store::{ScanRequest, TagScope, TraceStore};
