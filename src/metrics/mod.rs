//! The TSDB: per-tenant series index, Gorilla-compressed head, WAL, sealed
//! blocks, compaction and retention, modelled on Prometheus' TSDB.

pub mod block;
pub mod chunk;
pub mod db;
pub mod exemplars;
pub mod head;
pub mod head_spill;
pub mod hist_chunk;
pub mod postings;
pub mod store;
pub mod walrec;

pub use db::{Db, DbOptions, IncomingSeries, WriteOutcome};
pub use store::MetricsStore;
