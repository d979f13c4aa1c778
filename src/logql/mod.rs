//! LogQL: the syntax tree, parser, printer, pipelines and engine, as Loki
//! 3.x documents the language.

pub mod ast;
pub mod eval;
pub mod format;
pub mod parser;
pub mod pipeline;
pub mod printer;

pub use parser::{parse_log_selector, parse_matchers};

/// A syntax error with its 1-based line and column, printed as Loki does:
/// `parse error at line 1, col 5: syntax error: unexpected ...`. Semantic
/// errors have no position (line and col 0) and print as Loki's do:
/// `parse error : <msg>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 && self.col == 0 {
            write!(f, "parse error : {}", self.msg)
        } else {
            write!(
                f,
                "parse error at line {}, col {}: {}",
                self.line, self.col, self.msg
            )
        }
    }
}

impl std::error::Error for ParseError {}

/// Parses and validates a LogQL query (Loki 3.x syntax and checks).
pub fn parse(query: &str) -> Result<ast::Expr, ParseError> {
    parser::parse(query)
}
