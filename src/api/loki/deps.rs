//! The Loki API's calls into the LogQL front end (parse, selectors,
//! printer) and the pipeline's field detection, in one place.

use crate::logql::ast::{Expr, LogExpr};
use crate::logql::ParseError;
use crate::model::Matcher;

/// A whole LogQL query.
pub fn parse(q: &str) -> Result<Expr, ParseError> {
    crate::logql::parse(q)
}

/// A log query: selector with an optional pipeline (`{a="b"} |= "x" | json`).
pub fn parse_log_selector(q: &str) -> Result<LogExpr, ParseError> {
    crate::logql::parse_log_selector(q)
}

/// A bare stream selector `{a="b", c=~"d"}`.
pub fn parse_matchers(q: &str) -> Result<Vec<Matcher>, ParseError> {
    crate::logql::parse_matchers(q)
}

/// The canonical text of a query (for `format_query`).
pub fn format_query(q: &str) -> Result<String, ParseError> {
    parse(q).map(|e| crate::logql::printer::format_expr(&e))
}

/// Fields of a line as `(name, value, parser)`, parsed as JSON, else logfmt.
pub fn detect_fields(line: &str) -> Vec<(String, String, &'static str)> {
    crate::logql::pipeline::detect_fields(line)
}
