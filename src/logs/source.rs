//! What the log store offers the LogQL engine and the Loki API: stream
//! selection by label matchers over a time range with line-filter push-down,
//! and metadata (label names and values, series, per-chunk statistics).
//! The engine is written against this trait; tests use an in-memory source.

use std::ops::ControlFlow;

use crate::model::{Label, Labels, Matcher};

/// One stored line as the store hands it out, borrowed from its buffers.
#[derive(Clone, Copy, Debug)]
pub struct EntryRef<'a> {
    pub ts_ns: i64,
    pub line: &'a str,
    /// Structured metadata, sorted by name.
    pub metadata: &'a [Label],
}

/// A line predicate the store applies itself (exactly) while reading, and
/// the substrings every line it accepts must contain, so an index can skip
/// chunks holding none of them. Built by the pipeline from the query's
/// leading line filters.
pub trait LineFilterPushdown: Send + Sync {
    /// Does this line pass?
    fn matches(&self, line: &str) -> bool;
    /// Byte strings each accepted line contains (all of them). Empty when
    /// the filter promises nothing (regexes without literals, negations).
    fn required_substrings(&self) -> Vec<Vec<u8>>;
}

/// A selection: streams whose labels match every matcher, lines with
/// `start_ns <= ts < end_ns` that pass `filter`.
pub struct SelectRequest<'a> {
    pub matchers: &'a [Matcher],
    pub start_ns: i64,
    pub end_ns: i64,
    pub filter: Option<&'a dyn LineFilterPushdown>,
}

/// Sizes of one stored chunk of a stream (for `index/stats` and volume).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChunkStats {
    pub min_ts_ns: i64,
    pub max_ts_ns: i64,
    pub entries: u64,
    /// Raw bytes of the lines (uncompressed, without metadata).
    pub bytes: u64,
}

/// Why a read failed (I/O, corruption, cancelled by limits).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("reading log data: {0}")]
    Io(String),
    #[error("{0}")]
    Limit(String),
}

/// A tenant's logs, readable.
pub trait LogSource: Send + Sync {
    /// Calls `sink` once per matching stream that has at least one selected
    /// line, with all its selected lines in ascending timestamp order (equal
    /// timestamps in arrival order). Streams come in no particular order.
    /// `sink` returns `Break` to stop early.
    fn select(
        &self,
        req: &SelectRequest<'_>,
        sink: &mut dyn FnMut(&Labels, &[EntryRef<'_>]) -> ControlFlow<()>,
    ) -> Result<(), SourceError>;

    /// Label sets of the streams matching `matchers` (all streams if empty)
    /// that hold data in `[start_ns, end_ns)`.
    fn series(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
    ) -> Result<Vec<Labels>, SourceError>;

    /// Calls `sink` for each chunk (or head part) of each matching stream
    /// overlapping `[start_ns, end_ns)`.
    fn chunk_stats(
        &self,
        matchers: &[Matcher],
        start_ns: i64,
        end_ns: i64,
        sink: &mut dyn FnMut(&Labels, ChunkStats),
    ) -> Result<(), SourceError>;
}
