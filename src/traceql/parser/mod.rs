//! The TraceQL parser: recursive descent with precedence climbing over the
//! tokens of [`super::lexer`]. Field expressions (inside `{ }`, `by()`,
//! `select()`, aggregates) are in [`field`]; the pipeline level (spanset,
//! structural and pipe operators, scalar filters) in [`pipeline`]; Tempo's
//! parse-time type checks in [`check`]. Syntax errors name the unexpected
//! token with Tempo's token names and, when one to four tokens could follow,
//! what was expected.

mod check;
mod field;
mod pipeline;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_err;

pub(crate) use field::precedence as field_precedence;
pub(crate) use pipeline::{scalar_precedence, spanset_precedence};

use super::ast::Query;
use super::lexer::{self, Tok, Token};
use super::ParseError;

/// Parses and validates a query.
pub fn parse(q: &str) -> Result<Query, ParseError> {
    let mut p = Parser::new(q);
    let query = p.query()?;
    check::query(&query)?;
    Ok(query)
}

/// The parser state: the token list and a cursor.
pub(super) struct Parser {
    toks: Vec<Token>,
    pos: usize,
    /// Set just before a stage after `|` is parsed (`coalesce()` is only
    /// allowed there).
    after_pipe: bool,
    /// The depth of the tree being built (nesting plus operator chains),
    /// bounded by [`MAX_DEPTH`] so that neither parsing nor walking the
    /// tree can exhaust the stack.
    depth: usize,
}

/// The deepest tree a query may produce.
pub const MAX_DEPTH: usize = 128;

impl Parser {
    fn new(src: &str) -> Self {
        Parser {
            toks: lexer::lex(src),
            pos: 0,
            after_pipe: false,
            depth: 0,
        }
    }

    /// One level deeper; an error past [`MAX_DEPTH`].
    pub(super) fn enter(&mut self) -> Result<(), ParseError> {
        if self.depth >= MAX_DEPTH {
            let t = self.tok(0);
            return Err(ParseError {
                line: t.line,
                col: t.col,
                msg: format!("syntax error: query nested deeper than {MAX_DEPTH} levels"),
            });
        }
        self.depth += 1;
        Ok(())
    }

    fn tok(&self, off: usize) -> &Token {
        let i = (self.pos + off).min(self.toks.len().saturating_sub(1));
        &self.toks[i]
    }

    pub(super) fn peek(&self) -> &Tok {
        &self.tok(0).tok
    }

    pub(super) fn advance(&mut self) -> Tok {
        let t = self.tok(0).tok.clone();
        if !matches!(t, Tok::Eof | Tok::Err(_)) {
            self.pos += 1;
        }
        t
    }

    pub(super) fn eat_op(&mut self, op: &str) -> bool {
        if self.peek().is_op(op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Requires the operator `op` next; `expecting` names it for the error.
    pub(super) fn expect_op(&mut self, op: &str) -> Result<(), ParseError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.unexpected(&[lexer::op_name(op)]))
        }
    }

    /// The syntax error for the next token.
    pub(super) fn unexpected(&self, expecting: &[&str]) -> ParseError {
        self.unexpected_at(self.pos, expecting)
    }

    /// The syntax error for the token at index `i`, with Tempo's wording:
    /// the expected tokens are listed when there are one to four of them.
    pub(super) fn unexpected_at(&self, i: usize, expecting: &[&str]) -> ParseError {
        let t = &self.toks[i.min(self.toks.len().saturating_sub(1))];
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
