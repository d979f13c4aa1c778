//! The LogQL engine: runs a parsed query against a [`LogSource`] for an
//! instant or a range (start, end, step) and returns Loki's result kinds:
//! streams of log lines, or vectors / matrices / scalars of samples.
//!
//! PLACEHOLDER: types only; the engine work fills in `Engine::exec`.

use std::time::Duration;

use crate::logql::ast::Expr;
use crate::logs::{LogSource, SourceError};
use crate::model::{Label, Labels};

/// Order of log lines in a result: `forward` = oldest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Direction {
    Forward,
    #[default]
    Backward,
}

/// What to evaluate: an instant query has `start_ns == end_ns` and
/// `instant`; a range query evaluates metric queries at `start, start+step,
/// .. <= end` and selects log lines with `start <= ts < end`... (Loki's
/// rules, see the engine docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QueryParams {
    pub start_ns: i64,
    pub end_ns: i64,
    pub step_ns: i64,
    /// Loki's `interval` for log queries (0 = none).
    pub interval_ns: i64,
    /// Most lines a log query returns.
    pub limit: usize,
    pub direction: Direction,
    pub instant: bool,
}

/// Limits one query runs under.
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Most series a metric query may return (Loki's `max_query_series`).
    pub max_series: usize,
    /// Most lines a log query may ask for (Loki's `max_entries_limit_per_query`).
    pub max_entries: usize,
    pub timeout: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            max_series: 500,
            max_entries: 5000,
            timeout: Duration::from_secs(120),
        }
    }
}

/// One log line of a result, with its labels in Loki's categories.
#[derive(Clone, Debug, PartialEq)]
pub struct OutEntry {
    pub ts_ns: i64,
    pub line: String,
    /// Stream labels (after the pipeline).
    pub stream: Labels,
    pub metadata: Vec<Label>,
    pub parsed: Vec<Label>,
}

/// A series of a matrix result; timestamps in nanoseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesOut {
    pub labels: Labels,
    pub points: Vec<(i64, f64)>,
}

/// One sample of a vector result.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleOut {
    pub labels: Labels,
    pub ts_ns: i64,
    pub value: f64,
}

/// What a query returns.
#[derive(Clone, Debug, PartialEq)]
pub enum QueryOutput {
    /// Lines in result order (by `direction`), at most `limit`.
    Streams(Vec<OutEntry>),
    Matrix(Vec<SeriesOut>),
    Vector(Vec<SampleOut>),
    Scalar {
        ts_ns: i64,
        value: f64,
    },
}

/// Work a query did (for the `stats` of Loki's responses).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryStats {
    pub lines_processed: u64,
    pub bytes_processed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The query cannot run as written (400).
    #[error("{0}")]
    Bad(String),
    /// Over a limit such as `max_series` (400, as Loki).
    #[error("{0}")]
    Limit(String),
    #[error("query timed out")]
    Timeout,
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// The engine: limits, no per-query state.
#[derive(Clone, Debug, Default)]
pub struct Engine {
    pub opts: EngineOptions,
}

impl Engine {
    pub fn new(opts: EngineOptions) -> Self {
        Engine { opts }
    }

    /// Evaluates `expr` against `src`.
    pub fn exec(
        &self,
        _src: &dyn LogSource,
        _expr: &Expr,
        _params: &QueryParams,
    ) -> Result<(QueryOutput, QueryStats), QueryError> {
        Err(QueryError::Bad("the LogQL engine is not built yet".into()))
    }
}
