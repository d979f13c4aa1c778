//! The TraceQL engine: evaluates a parsed query over one trace at a time
//! and returns the spansets it yields (spans plus the attributes that
//! `select`, `by` and aggregates attach).
//!
//! [`compile`] turns a parsed query into a [`CompiledQuery`] once (regexes
//! compiled, names computed); [`CompiledQuery::evaluate`] then runs it on
//! each trace. [`evaluate`] does both for one trace.

mod compile;
mod field;
mod filter;
mod pipeline;
mod spanset_ops;
mod structural;
mod value;

#[cfg(test)]
mod tests_filter;
#[cfg(test)]
mod tests_fixture;
#[cfg(test)]
mod tests_pipeline;
#[cfg(test)]
mod tests_structural;

use super::ast::Query;
use super::data::TraceData;

pub use compile::{compile, CompiledQuery};

/// A typed value produced by evaluation (attributes attached to a spanset).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// Nanoseconds.
    Duration(i64),
    /// OTLP status code (0 unset, 1 ok, 2 error).
    Status(i32),
    /// OTLP span kind.
    Kind(i32),
    Nil,
}

/// One spanset a query yields for a trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Spanset {
    /// Positions in [`TraceData::spans`], in trace order, without repeats.
    pub spans: Vec<usize>,
    /// Attributes of the spanset itself (`by()` keys, aggregate values),
    /// named as Tempo names them (`by(resource.service.name)`, `count()`).
    pub attributes: Vec<(String, Value)>,
    /// Per span (parallel to `spans`): attributes `select()` asked for.
    pub selected: Vec<Vec<(String, Value)>>,
}

/// A query that cannot be evaluated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub String);

/// The spansets `q` yields for `trace` (empty: the trace does not match).
pub fn evaluate(q: &Query, trace: &TraceData<'_>) -> Result<Vec<Spanset>, EvalError> {
    Ok(compile(q)?.evaluate(trace))
}

impl CompiledQuery {
    /// The spansets this query yields for `trace` (empty: no match). Each
    /// spanset's spans are in trace order without repeats.
    pub fn evaluate(&self, trace: &TraceData<'_>) -> Vec<Spanset> {
        let n = trace.spans.len();
        if n == 0 {
            return Vec::new();
        }
        let all = Spanset {
            spans: (0..n).collect(),
            attributes: Vec::new(),
            selected: vec![Vec::new(); n],
        };
        spanset_ops::eval_expr(&self.expr, trace, std::slice::from_ref(&all))
            .into_iter()
            .filter(|s| !s.spans.is_empty())
            .collect()
    }

    /// Whether the query matches `trace` at all.
    pub fn matches(&self, trace: &TraceData<'_>) -> bool {
        !self.evaluate(trace).is_empty()
    }
}
