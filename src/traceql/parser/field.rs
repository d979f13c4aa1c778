//! Field expressions: the conditions inside `{ }` and the arguments of
//! `by()`, `select()` and aggregates. Precedence, loosest first, as in
//! Tempo's grammar: `&&` and `||` (one level, left-associative, so
//! `a || b && c` is `(a || b) && c`); comparisons `= != < <= > >= =~ !~`;
//! `+ -`; unary `!`; `* / %`; `^` (right-associative). Unary `-` binds like
//! binary `-`, so `-a * b` is `-(a * b)` and `-a + b` is `(-a) + b`; `!`
//! binds tighter than `+`, looser than `*`. A minus before a number literal
//! folds into a negative literal.

use super::super::ast::{BinOp, Field, Intrinsic, Kind, Static, Status, UnaryOp};
use super::super::lexer::Tok;
use super::super::ParseError;
use super::Parser;

/// The binary field operator of a token, its precedence and whether it is
/// right-associative.
fn binop(t: &Tok) -> Option<(BinOp, u8, bool)> {
    let Tok::Op(o) = t else { return None };
    Some(match *o {
        "||" => (BinOp::Or, 1, false),
        "&&" => (BinOp::And, 1, false),
        "=" => (BinOp::Eq, 2, false),
        "!=" => (BinOp::Neq, 2, false),
        "<" => (BinOp::Lt, 2, false),
        "<=" => (BinOp::Lte, 2, false),
        ">" => (BinOp::Gt, 2, false),
        ">=" => (BinOp::Gte, 2, false),
        "=~" => (BinOp::Re, 2, false),
        "!~" => (BinOp::NotRe, 2, false),
        "+" => (BinOp::Add, 3, false),
        "-" => (BinOp::Sub, 3, false),
        "*" => (BinOp::Mul, 5, false),
        "/" => (BinOp::Div, 5, false),
        "%" => (BinOp::Mod, 5, false),
        "^" => (BinOp::Pow, 6, true),
        _ => return None,
    })
}

/// The minimum precedence of the operand of unary `-` and `!`.
pub(crate) const NEG_OPERAND: u8 = 4;
pub(crate) const NOT_OPERAND: u8 = 5;

/// The precedence of a binary field operator (for the printer).
pub(crate) fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Or | BinOp::And => 1,
        BinOp::Add | BinOp::Sub => 3,
        BinOp::Mul | BinOp::Div | BinOp::Mod => 5,
        BinOp::Pow => 6,
        _ => 2,
    }
}

/// A static keyword (`true`, `nil`, `error`, `server`, ...).
pub(super) fn static_keyword(w: &str) -> Option<Static> {
    Some(match w {
        "true" => Static::Bool(true),
        "false" => Static::Bool(false),
        "nil" => Static::Nil,
        "ok" => Static::Status(Status::Ok),
        "error" => Static::Status(Status::Error),
        "unset" => Static::Status(Status::Unset),
        "unspecified" => Static::Kind(Kind::Unspecified),
        "internal" => Static::Kind(Kind::Internal),
        "server" => Static::Kind(Kind::Server),
        "client" => Static::Kind(Kind::Client),
        "producer" => Static::Kind(Kind::Producer),
        "consumer" => Static::Kind(Kind::Consumer),
        _ => return None,
    })
}

/// An unscoped intrinsic keyword.
fn intrinsic_keyword(w: &str) -> Option<Intrinsic> {
    Some(match w {
        "duration" => Intrinsic::Duration,
        "childCount" => Intrinsic::ChildCount,
        "name" => Intrinsic::Name,
        "status" => Intrinsic::Status,
        "statusMessage" => Intrinsic::StatusMessage,
        "kind" => Intrinsic::Kind,
        "parent" => Intrinsic::Parent,
        "rootName" => Intrinsic::RootName,
        "rootServiceName" => Intrinsic::RootServiceName,
        "traceDuration" => Intrinsic::TraceDuration,
        "nestedSetLeft" => Intrinsic::NestedSetLeft,
        "nestedSetRight" => Intrinsic::NestedSetRight,
        "nestedSetParent" => Intrinsic::NestedSetParent,
        _ => return None,
    })
}

/// The intrinsics of a `scope:` prefix, with their spellings.
pub(crate) fn scoped_intrinsics(scope: &str) -> &'static [(&'static str, Intrinsic)] {
    match scope {
        "trace" => &[
            ("duration", Intrinsic::TraceDuration),
            ("rootName", Intrinsic::RootName),
            ("rootService", Intrinsic::RootServiceName),
            ("id", Intrinsic::TraceId),
        ],
        "span" => &[
            ("duration", Intrinsic::Duration),
            ("name", Intrinsic::Name),
            ("kind", Intrinsic::Kind),
            ("status", Intrinsic::Status),
            ("statusMessage", Intrinsic::StatusMessage),
            ("id", Intrinsic::SpanId),
            ("parentID", Intrinsic::ParentId),
        ],
        "event" => &[
            ("name", Intrinsic::EventName),
            ("timeSinceStart", Intrinsic::EventTimeSinceStart),
        ],
        "link" => &[
            ("traceID", Intrinsic::LinkTraceId),
            ("spanID", Intrinsic::LinkSpanId),
        ],
        "instrumentation" => &[
            ("name", Intrinsic::InstrumentationName),
            ("version", Intrinsic::InstrumentationVersion),
        ],
        _ => &[],
    }
}

impl Parser {
    /// A field expression whose binary operators all have precedence `min`
    /// or more.
    pub(super) fn field(&mut self, min: u8) -> Result<Field, ParseError> {
        self.enter()?;
        let mut levels = 1;
        let mut lhs = self.field_unary()?;
        while let Some((op, prec, right)) = binop(self.peek()) {
            if prec < min {
                break;
            }
            self.enter()?;
            levels += 1;
            self.advance();
            let rhs = self.field(if right { prec } else { prec + 1 })?;
            lhs = Field::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
        }
        self.depth -= levels;
        Ok(lhs)
    }

    fn field_unary(&mut self) -> Result<Field, ParseError> {
        if self.eat_op("-") {
            let arg = self.field(NEG_OPERAND)?;
            return Ok(match arg {
                Field::Static(Static::Int(i)) => Field::Static(Static::Int(i.wrapping_neg())),
                Field::Static(Static::Float(f)) => Field::Static(Static::Float(-f)),
                Field::Static(Static::Duration(d)) => {
                    Field::Static(Static::Duration(d.wrapping_neg()))
                }
                arg => Field::Unary {
                    op: UnaryOp::Neg,
                    arg: Box::new(arg),
                },
            });
        }
        if self.eat_op("!") {
            let arg = self.field(NOT_OPERAND)?;
            return Ok(Field::Unary {
                op: UnaryOp::Not,
                arg: Box::new(arg),
            });
        }
        if self.eat_op("(") {
            let f = self.field(0)?;
            if !self.eat_op(")") {
                return Err(self.unexpected(&[]));
            }
            return Ok(f);
        }
        self.field_primary()
    }

    fn field_primary(&mut self) -> Result<Field, ParseError> {
        let s = match self.peek().clone() {
            Tok::Str(s) => Static::Str(s),
            Tok::Int(i) => Static::Int(i),
            Tok::Float(f) => Static::Float(f),
            Tok::Duration(d) => Static::Duration(d),
            Tok::Ident(w) => match static_keyword(&w) {
                Some(s) => s,
                None => return self.attribute_field(),
            },
            _ => return self.attribute_field(),
        };
        self.advance();
        Ok(Field::Static(s))
    }

    /// An intrinsic, scoped intrinsic or attribute (what `select()` takes).
    pub(super) fn attribute_field(&mut self) -> Result<Field, ParseError> {
        match self.peek().clone() {
            Tok::Attr(a) => {
                self.advance();
                Ok(Field::Attribute(a))
            }
            Tok::Ident(w) => match intrinsic_keyword(&w) {
                Some(i) => {
                    self.advance();
                    Ok(Field::Intrinsic(i))
                }
                None => Err(self.unexpected(&[])),
            },
            Tok::ScopeColon(scope) => {
                self.advance();
                let table = scoped_intrinsics(scope);
                if let Tok::Ident(w) = self.peek() {
                    if let Some((_, i)) = table.iter().find(|(n, _)| n == w) {
                        let i = *i;
                        self.advance();
                        return Ok(Field::Intrinsic(i));
                    }
                }
                let names: Vec<&str> = table
                    .iter()
                    .filter_map(|(n, _)| super::super::lexer::keyword_name(n))
                    .collect();
                Err(self.unexpected(&names))
            }
            _ => Err(self.unexpected(&[])),
        }
    }
}
