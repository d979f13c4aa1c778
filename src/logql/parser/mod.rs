//! The LogQL parser: a hand-written lexer ([`lexer`]) and a
//! recursive-descent / precedence-climbing parser over Loki 3.x's grammar
//! (log queries in [`log`], metric queries in [`metric`]), followed by
//! Loki's semantic checks ([`check`]). Syntax errors carry the 1-based
//! position of the offending token and Loki's `syntax error: unexpected X[,
//! expecting A or B]` wording; semantic errors, like Loki's, carry no
//! position (line 0, col 0).

mod check;
mod lexer;
mod log;
mod metric;

#[cfg(test)]
mod tests;

use super::ast::{Expr, LogExpr};
use super::ParseError;
use crate::model::Matcher;
use lexer::{Tok, Token};
pub use metric::{binary_op_str, precedence};

/// Loki refuses queries of this many bytes or more.
const MAX_INPUT_SIZE: usize = 5120;

/// Parses and validates a LogQL query.
pub fn parse(query: &str) -> Result<Expr, ParseError> {
    let e = parse_unchecked(query)?;
    check::validate(&e)?;
    Ok(e)
}

/// Parses a log query (`{..} | stages`), refusing metric queries; for the
/// `query` / `match[]` parameters of the metadata endpoints.
pub fn parse_log_selector(query: &str) -> Result<LogExpr, ParseError> {
    match parse_unchecked(query)? {
        Expr::Log(l) => {
            check::validate_matchers(&l.matchers)?;
            Ok(l)
        }
        Expr::Sample(_) => Err(ParseError::plain("only log selector is supported")),
    }
}

/// Parses a bare stream selector `{a="b", ...}` into its matchers.
pub fn parse_matchers(query: &str) -> Result<Vec<Matcher>, ParseError> {
    match parse(query)? {
        Expr::Log(l) if l.stages.is_empty() => Ok(l.matchers),
        _ => Err(ParseError::plain("only label matchers is supported")),
    }
}

fn parse_unchecked(query: &str) -> Result<Expr, ParseError> {
    if query.len() >= MAX_INPUT_SIZE {
        return Err(ParseError::plain(format!(
            "input size too long ({} > {MAX_INPUT_SIZE})",
            query.len()
        )));
    }
    let mut p = Parser::new(query);
    let e = p.expr(0)?;
    if !matches!(p.peek(), Tok::Eof) {
        return Err(p.unexpected(&[]));
    }
    match p.deferred {
        Some(err) => Err(err),
        None => Ok(e.into_expr()),
    }
}

/// The parser state: the token list and a cursor.
pub(super) struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Inside the log range of a range aggregation, where `| unwrap` may
    /// end a pipeline.
    in_range: bool,
    /// The first semantic error met; like Loki, reported only when the
    /// query has no syntax error.
    deferred: Option<ParseError>,
}

impl ParseError {
    /// An error without a position (Loki's semantic errors).
    pub(crate) fn plain(msg: impl Into<String>) -> Self {
        ParseError {
            line: 0,
            col: 0,
            msg: msg.into(),
        }
    }
}

impl Parser {
    fn new(src: &str) -> Self {
        Parser {
            toks: lexer::lex(src),
            pos: 0,
            in_range: false,
            deferred: None,
        }
    }

    fn tok(&self, off: usize) -> &Token {
        let i = (self.pos + off).min(self.toks.len().saturating_sub(1));
        &self.toks[i]
    }

    /// Records a semantic error (the first one wins).
    pub(super) fn defer(&mut self, msg: String) {
        if self.deferred.is_none() {
            self.deferred = Some(ParseError::plain(msg));
        }
    }

    pub(super) fn peek(&self) -> &Tok {
        &self.tok(0).tok
    }

    pub(super) fn peek2(&self) -> &Tok {
        &self.tok(1).tok
    }

    pub(super) fn advance(&mut self) -> Tok {
        let t = self.tok(0).tok.clone();
        if !matches!(t, Tok::Eof | Tok::Err(_)) {
            self.pos += 1;
        }
        t
    }

    /// Consumes the operator `op` if it is next.
    pub(super) fn eat_op(&mut self, op: &str) -> bool {
        if self.peek().is_op(op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek().is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Requires the operator `op` next.
    pub(super) fn expect_op(&mut self, op: &str, expecting: &[&str]) -> Result<(), ParseError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.unexpected(expecting))
        }
    }

    pub(super) fn expect_str(&mut self, expecting: &[&str]) -> Result<String, ParseError> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.unexpected(expecting)),
        }
    }

    pub(super) fn expect_ident(&mut self, expecting: &[&str]) -> Result<String, ParseError> {
        match self.peek().ident() {
            Some(s) => {
                let s = s.to_string();
                self.pos += 1;
                Ok(s)
            }
            None => Err(self.unexpected(expecting)),
        }
    }

    /// The syntax error for the next token, with Loki's wording: the
    /// expected tokens are listed when there are one to four of them.
    pub(super) fn unexpected(&self, expecting: &[&str]) -> ParseError {
        let t = self.tok(0);
        if let Tok::Err(msg) = &t.tok {
            return ParseError {
                line: t.line,
                col: t.col,
                msg: msg.clone(),
            };
        }
        let mut msg = format!("syntax error: unexpected {}", t.tok.name());
        if !expecting.is_empty() && expecting.len() <= 4 {
            msg.push_str(", expecting ");
            msg.push_str(&expecting.join(" or "));
        }
        ParseError {
            line: t.line,
            col: t.col,
            msg,
        }
    }
}
