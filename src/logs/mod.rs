//! The log store: per tenant, streams (label set → stream id, label
//! postings), a WAL written before a push is acknowledged, a head that
//! queries see at once, and sealed time partitions on disk whose chunks are
//! zstd-compressed and indexed (tantivy n-grams) for line-filter push-down;
//! retention and the disk cap drop whole partitions.

pub mod chunk;
pub mod head;
pub mod index;
pub mod memory;
pub mod partition;
pub mod source;
pub mod store;
pub mod streams;
pub mod tenant;
pub mod validate;
pub mod walrec;

pub use memory::MemorySource;
pub use source::{ChunkStats, EntryRef, LineFilterPushdown, LogSource, SelectRequest, SourceError};
pub use store::{LogStore, TailBatch};
pub use tenant::PushError;
pub use walrec::StoredEntry;
