//! PromQL: our own parser ([`parser`], Prometheus 3.x syntax) and evaluator
//! over a [`source::SampleSource`]. The HTTP layer calls [`Engine::instant`]
//! and [`Engine::range`]; nothing here knows about HTTP.
//!
//! Semantics follow Prometheus 3.x: left-open lookback and range windows,
//! staleness markers, `offset` / `@`, subqueries aligned to their step,
//! delayed `__name__` removal, and Prometheus' numerics (extrapolated rates,
//! compensated sums, classic histogram quantiles).
//!
//! Layout: `parser` turns the query into a syntax tree; `engine` (entry
//! points, duration resolution, result assembly) drives `eval` (the AST walk
//! over a step grid, see `step`), which uses `selector` (storage access and
//! per-step slicing, with `extended` for `anchored`/`smoothed`),
//! `functions` and `range_functions` (native histograms: `native_fns`,
//! `range_hist`, `extended_hist`), `aggregate`, `binary`, `histogram`
//! and `info`; `limits` accounts samples, deadline and annotations; `value`
//! holds the public result types.

pub mod parser;
pub mod source;

mod aggregate;
mod binary;
mod datetime;
mod engine;
mod eval;
mod extended;
mod extended_hist;
mod functions;
#[cfg(test)]
mod hist_fn_robustness;
mod histogram;
mod info;
mod limits;
mod native_fns;
mod range_functions;
mod range_hist;
mod selector;
mod step;
mod util;
mod value;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testscript;
#[cfg(test)]
mod testscript_at;

pub use engine::{Engine, EngineOptions};
pub use selector::parse_series_selector;
pub use value::{InstantSample, QueryError, QueryResult, Value};

/// Pretty-prints a query the way Prometheus' `/api/v1/format_query` does.
pub fn format_query(q: &str) -> Result<String, QueryError> {
    let expr = engine::parse(q)?;
    engine::check_nesting(&expr)?;
    Ok(expr.prettify())
}
