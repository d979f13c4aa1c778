//! What the three stores (metrics, logs, traces) share: the write-ahead log,
//! binary encoding helpers, the clock that drives retention, and directory
//! helpers for atomically written partitions.

pub mod clock;
pub mod codec;
pub mod fsutil;
pub mod tenants;
pub mod wal;
