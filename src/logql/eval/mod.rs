//! The LogQL engine: runs a parsed query against a [`LogSource`] for an
//! instant or a range (start, end, step) and returns Loki's result kinds:
//! streams of log lines, or vectors / matrices / scalars of samples.
//!
//!
//! This module owns the public types and the dispatch; the work is split:
//! [`logs`] (log queries: selection, pipeline, bounded merge), [`range`]
//! (range aggregations over windows, with [`windows`] holding the window
//! arithmetic and per-window accumulators), [`aggregate`] (vector
//! aggregations), [`binary`] (binary operators and vector matching),
//! [`functions`] (`label_replace`, `vector()`, literals) and [`output`]
//! (result kinds, ordering and the series limit). Internally metric values
//! are series-major: each series holds points at step indexes.

mod aggregate;
mod binary;
mod functions;
mod logs;
mod output;
mod range;
mod value;
mod windows;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use crate::logql::ast::{Expr, SampleExpr};
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
    ///
    /// Log queries return [`QueryOutput::Streams`] (an instant log query is
    /// refused, as Loki 3 does); metric queries return a vector (instant),
    /// a matrix (range) or, for a bare literal at an instant, a scalar.
    pub fn exec(
        &self,
        src: &dyn LogSource,
        expr: &Expr,
        params: &QueryParams,
    ) -> Result<(QueryOutput, QueryStats), QueryError> {
        let mut ctx = Ctx::new(src, params, &self.opts)?;
        let out = match expr {
            Expr::Log(log) => QueryOutput::Streams(logs::eval_log_query(&mut ctx, log)?),
            Expr::Sample(sample) => output::eval_metric_query(&mut ctx, sample)?,
        };
        Ok((out, ctx.stats))
    }
}

/// Loki's cap on the points of one series (`?step=` too small).
const MAX_POINTS: usize = 11_000;

/// State of one query run: the source, the evaluation steps, the deadline
/// and the work counters.
pub(crate) struct Ctx<'a> {
    pub(crate) src: &'a dyn LogSource,
    pub(crate) params: QueryParams,
    pub(crate) opts: &'a EngineOptions,
    /// Evaluation timestamps of metric queries (`[end]` for an instant).
    pub(crate) steps: Vec<i64>,
    pub(crate) stats: QueryStats,
    deadline: Option<Instant>,
}

impl<'a> Ctx<'a> {
    fn new(
        src: &'a dyn LogSource,
        params: &QueryParams,
        opts: &'a EngineOptions,
    ) -> Result<Self, QueryError> {
        Ok(Ctx {
            src,
            params: *params,
            opts,
            steps: step_times(params)?,
            stats: QueryStats::default(),
            deadline: Instant::now().checked_add(opts.timeout),
        })
    }

    /// Fails once the query has run past its timeout.
    pub(crate) fn check_deadline(&self) -> Result<(), QueryError> {
        match self.deadline {
            Some(d) if Instant::now() >= d => Err(QueryError::Timeout),
            _ => Ok(()),
        }
    }

    /// A line counter for a store scan (the scan's closure cannot borrow
    /// the context); fold it back with [`Ctx::absorb`].
    pub(crate) fn meter(&self) -> Meter {
        Meter {
            deadline: self.deadline,
            stats: QueryStats::default(),
        }
    }

    pub(crate) fn absorb(&mut self, m: Meter) {
        self.stats.lines_processed += m.stats.lines_processed;
        self.stats.bytes_processed += m.stats.bytes_processed;
    }

    /// Evaluates a metric sub-expression.
    pub(crate) fn eval(&mut self, e: &SampleExpr) -> Result<value::Value, QueryError> {
        self.check_deadline()?;
        match e {
            SampleExpr::RangeAgg(r) => Ok(value::Value::Series(range::eval_range(self, r)?)),
            SampleExpr::VectorAgg(v) => aggregate::eval_vector_agg(self, v),
            SampleExpr::Binary(b) => binary::eval_binary(self, b),
            SampleExpr::Literal(x) => Ok(value::Value::Scalar(*x)),
            SampleExpr::Vector(x) => Ok(functions::vector(self, *x)),
            SampleExpr::LabelReplace(l) => functions::label_replace(self, l),
        }
    }
}

/// Counts the lines a scan reads and checks the deadline every few
/// thousand lines.
pub(crate) struct Meter {
    deadline: Option<Instant>,
    stats: QueryStats,
}

impl Meter {
    pub(crate) fn line(&mut self, line: &str) -> Result<(), QueryError> {
        self.stats.lines_processed += 1;
        self.stats.bytes_processed += line.len() as u64;
        if self.stats.lines_processed.is_multiple_of(4096) {
            if let Some(d) = self.deadline {
                if Instant::now() >= d {
                    return Err(QueryError::Timeout);
                }
            }
        }
        Ok(())
    }
}

/// The evaluation timestamps: `end` for an instant query, else `start,
/// start+step, .. <= end` (just `start` without a positive step).
fn step_times(p: &QueryParams) -> Result<Vec<i64>, QueryError> {
    if p.instant {
        return Ok(vec![p.end_ns]);
    }
    if p.end_ns < p.start_ns {
        return Err(QueryError::Bad(
            "end timestamp must not be before start time".into(),
        ));
    }
    if p.step_ns <= 0 {
        return Ok(vec![p.start_ns]);
    }
    let n = (p.end_ns as i128 - p.start_ns as i128) / p.step_ns as i128 + 1;
    if n > MAX_POINTS as i128 {
        return Err(QueryError::Bad(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)".into(),
        ));
    }
    Ok((0..n as i64).map(|i| p.start_ns + i * p.step_ns).collect())
}

/// Does the query contain `sort` or `sort_desc` (its instant result then
/// keeps value order instead of label order)? The first one found, outermost
/// first, tells the direction: `Some(true)` for descending.
pub(crate) fn sort_order(e: &SampleExpr) -> Option<bool> {
    use crate::logql::ast::VectorOp;
    match e {
        SampleExpr::VectorAgg(v) => match v.op {
            VectorOp::Sort => Some(false),
            VectorOp::SortDesc => Some(true),
            _ => sort_order(&v.expr),
        },
        SampleExpr::Binary(b) => sort_order(&b.lhs).or_else(|| sort_order(&b.rhs)),
        SampleExpr::LabelReplace(l) => sort_order(&l.expr),
        SampleExpr::RangeAgg(_) | SampleExpr::Literal(_) | SampleExpr::Vector(_) => None,
    }
}
