//! The log store: per tenant, streams (label set → stream id, label
//! postings), a WAL written before a push is acknowledged, a head that
//! queries see at once, and sealed time partitions on disk whose chunks are
//! compressed and indexed (tantivy) for line-filter push-down; retention and
//! the disk cap drop whole partitions.

pub mod memory;
pub mod source;

pub use memory::MemorySource;
pub use source::{ChunkStats, EntryRef, LineFilterPushdown, LogSource, SelectRequest, SourceError};
