//! TraceQL, Tempo's trace query language: the syntax tree ([`ast`]), the
//! lexer ([`lexer`]), a hand-written parser with Tempo's parse-time checks
//! ([`parser`]) and the printer ([`printer`]) whose canonical text parses
//! back to the same tree.
//!
//! `parse` accepts the three root forms of Tempo's grammar: spanset
//! expressions (`{ .a = 1 } >> { status = error }`), pipelines
//! (`{ } | by(resource.service.name) | count() > 2 | select(span.x)`) and
//! comparisons of scalar pipelines (`({ a } | count()) > ({ b } | count())`),
//! each optionally followed by `with(name=value, ...)` hints.

pub mod ast;
pub mod data;
pub mod eval;
pub mod lexer;
pub mod parser;
pub mod printer;

/// A TraceQL error. Syntax errors carry the 1-based line and column of the
/// offending token and print as Tempo's do: `parse error at line 1, col 12:
/// syntax error: unexpected IDENTIFIER, expecting ...`. Semantic (type)
/// errors have no position (line and col 0) and print as the bare message,
/// as Tempo's validation errors do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
}

impl ParseError {
    /// An error without a position (a semantic check).
    pub(crate) fn plain(msg: impl Into<String>) -> Self {
        ParseError {
            line: 0,
            col: 0,
            msg: msg.into(),
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 && self.col == 0 {
            write!(f, "{}", self.msg)
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

/// Parses and validates a TraceQL query.
pub fn parse(q: &str) -> Result<ast::Query, ParseError> {
    parser::parse(q)
}
