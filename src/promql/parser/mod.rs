//! Our PromQL parser (Prometheus 3.x syntax): a hand-written lexer
//! (`lexer`) and recursive-descent parser (`parse`: expressions,
//! selectors and durations) producing the syntax tree of [`ast`],
//! type-checked as Prometheus does (`check`), printable as Prometheus
//! prints it (`printer`, `pretty`).
//! Duration expressions ([`duration`]) stay symbolic until a query's step
//! and range are known.

pub mod ast;
mod check;
pub mod duration;
mod error;
pub mod functions;
mod lexer;
mod parse;
mod pretty;
mod printer;
pub mod strings;

#[cfg(test)]
mod tests;

pub use ast::*;
pub use check::extended_selector_error;
pub use duration::{DurNode, DurationExpr};
pub use error::{line_col, position_suffix, ParseError};
pub use functions::Function;

/// Parses a PromQL expression.
pub fn parse(query: &str) -> Result<Expr, ParseError> {
    parse::Parser::new(query).parse_query()
}

/// Parses a bare series selector such as `up{job="x"}` (the API's `match[]`).
pub fn parse_selector(query: &str) -> Result<VectorSelector, ParseError> {
    parse::Parser::new(query).parse_selector()
}
