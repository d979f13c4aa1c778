//! Public result types of the PromQL engine: [`Value`], [`InstantSample`],
//! [`QueryResult`] and [`QueryError`]. The HTTP layer renders these; nothing
//! here knows about evaluation.

use crate::model::{FloatHistogram, Labels};

use super::source::{Series, SourceError};

/// One element of an instant vector: a label set, a timestamp (ms) and a
/// value: a float `v`, or a native histogram `h` (then `v` is 0).
#[derive(Clone, Debug, PartialEq)]
pub struct InstantSample {
    pub labels: Labels,
    pub t: i64,
    pub v: f64,
    pub h: Option<Box<FloatHistogram>>,
}

/// The value of an evaluated query.
///
/// Range queries always return [`Value::Matrix`]; instant queries return
/// whatever the expression's type is (a range-vector expression evaluated at
/// an instant returns a matrix of its raw points).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Scalar { t: i64, v: f64 },
    String { t: i64, v: String },
    Vector(Vec<InstantSample>),
    Matrix(Vec<Series>),
}

impl Value {
    /// The Prometheus API name of this value's type (`resultType`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

/// A successful evaluation: the value plus annotations and statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    pub value: Value,
    /// `PromQL warning: ...` annotations (deduplicated, in first-seen order).
    pub warnings: Vec<String>,
    /// `PromQL info: ...` annotations (deduplicated, in first-seen order).
    pub infos: Vec<String>,
    /// Samples touched while evaluating (for the `stats` query parameter).
    pub total_samples: u64,
}

/// Why a query failed. The variants map onto Prometheus API error types.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Parse errors and bad parameters (HTTP 400, `bad_data`).
    #[error("{0}")]
    BadData(String),
    /// Errors raised while evaluating a valid query (HTTP 422, `execution`).
    #[error("{0}")]
    Execution(String),
    /// The query would hold more samples than `max_samples` (HTTP 422).
    #[error("query processing would load too many samples into memory in query execution")]
    TooManySamples,
    /// The query ran past its deadline (HTTP 503, `timeout`).
    #[error("query timed out in expression evaluation")]
    Timeout,
    /// The sample source failed (HTTP 500, `internal`).
    #[error("{0}")]
    Storage(#[from] SourceError),
}

impl QueryError {
    pub(crate) fn exec(msg: impl Into<String>) -> Self {
        QueryError::Execution(msg.into())
    }
}
