//! Duration expressions in ranges, subquery steps and offsets: arithmetic,
//! signs, parentheses, `step()`, `range()`, `min_of`, `max_of`.

use super::super::ast::*;
use super::super::duration::{parse_duration_ms, DurNode, DurOp, DurationExpr};
use super::super::lexer::Tok;
use super::*;

impl Parser<'_> {
    /// Can the next token start a duration expression?
    pub(super) fn starts_duration(&self) -> bool {
        match self.kind() {
            Tok::Number | Tok::Duration | Tok::LParen | Tok::Add | Tok::Sub => true,
            Tok::Ident => {
                self.peek_at(1).kind == Tok::LParen
                    && ["step", "range", "min_of", "max_of"]
                        .iter()
                        .any(|k| self.is_kw(k))
            }
            _ => false,
        }
    }

    /// A range or step: full arithmetic; a literal must be positive.
    pub(super) fn positive_duration(&mut self) -> PResult<DurationExpr> {
        let d = self.duration_expr()?;
        if d.is_literal() && d.node_secs() <= 0.0 {
            return Err(self.err_span(d.span, "duration must be greater than 0"));
        }
        self.representable(d)
    }

    /// A literal range, step or offset must fit a millisecond duration
    /// (Inf, NaN or 1e300 seconds have no representation).
    fn representable(&self, d: DurationExpr) -> PResult<DurationExpr> {
        let ms = d.node_secs() * 1000.0;
        if d.is_literal() && !(ms.is_finite() && ms.abs() < 9.2e18) {
            return Err(self.err_span(d.span, "duration out of range"));
        }
        Ok(d)
    }

    /// An offset: a signed literal, `step()`/`range()`, `min_of/max_of(..)`
    /// or a parenthesized expression; binary operators after it belong to
    /// the enclosing expression (`x offset 1m + 1` is `(x offset 1m) + 1`).
    pub(super) fn offset_duration(&mut self) -> PResult<DurationExpr> {
        let start = self.peek().start;
        let neg = match self.kind() {
            Tok::Sub | Tok::Add => {
                let t = self.next();
                t.kind == Tok::Sub
            }
            _ => false,
        };
        let inner = self.duration_primary()?;
        let inner = self.representable(inner)?;
        if !neg {
            return Ok(inner);
        }
        let span = Span::new(start, inner.span.end);
        Ok(match inner.node {
            DurNode::Literal { secs, duration } => DurationExpr::new(
                DurNode::Literal {
                    secs: -secs,
                    duration,
                },
                span,
            ),
            node => DurationExpr::new(DurNode::Neg(Box::new(node)), span),
        })
    }

    /// Full duration arithmetic: `+ - * / % ^`, unary signs, parens.
    pub(super) fn duration_expr(&mut self) -> PResult<DurationExpr> {
        self.dur_binary(0)
    }

    pub(super) fn dur_op(&self) -> Option<(DurOp, u8)> {
        Some(match self.kind() {
            Tok::Add => (DurOp::Add, 1),
            Tok::Sub => (DurOp::Sub, 1),
            Tok::Mul => (DurOp::Mul, 2),
            Tok::Div => (DurOp::Div, 2),
            Tok::Mod => (DurOp::Mod, 2),
            Tok::Pow => (DurOp::Pow, 3),
            _ => return None,
        })
    }

    pub(super) fn dur_binary(&mut self, min_prec: u8) -> PResult<DurationExpr> {
        self.enter()?;
        let mut lhs = self.dur_unary()?;
        while let Some((op, prec)) = self.dur_op() {
            if prec < min_prec {
                break;
            }
            let op_tok = self.next();
            let rhs = self.dur_binary(if op == DurOp::Pow { prec } else { prec + 1 })?;
            if matches!(op, DurOp::Div | DurOp::Mod) && rhs.is_literal() && rhs.node_secs() == 0.0 {
                let what = if op == DurOp::Div {
                    "division by zero"
                } else {
                    "modulo by zero"
                };
                return Err(self.err(op_tok.start, op_tok.end, what));
            }
            let span = lhs.span.to(rhs.span);
            lhs = DurationExpr::new(
                DurNode::Binary(op, Box::new(lhs.node), Box::new(rhs.node)),
                span,
            );
        }
        self.leave();
        Ok(lhs)
    }

    pub(super) fn dur_unary(&mut self) -> PResult<DurationExpr> {
        match self.kind() {
            Tok::Add | Tok::Sub => {
                let t = self.next();
                self.enter()?;
                // Binds like `*`: `-2^2` is `-(2^2)`.
                let inner = self.dur_binary(3)?;
                self.leave();
                let span = Span::new(t.start, inner.span.end);
                Ok(match (t.kind, inner.node) {
                    (Tok::Add, node) => DurationExpr::new(node, span),
                    (_, DurNode::Literal { secs, duration }) => DurationExpr::new(
                        DurNode::Literal {
                            secs: -secs,
                            duration,
                        },
                        span,
                    ),
                    (_, node) => DurationExpr::new(DurNode::Neg(Box::new(node)), span),
                })
            }
            _ => self.duration_primary(),
        }
    }

    /// A literal, `step()`, `range()`, `min_of(a, b)`, `max_of(a, b)` or
    /// `( duration_expr )`.
    pub(super) fn duration_primary(&mut self) -> PResult<DurationExpr> {
        let t = self.peek().clone();
        match t.kind {
            Tok::Number => {
                self.next();
                let v = self.number_value(&t)?;
                Ok(DurationExpr::new(
                    DurNode::Literal {
                        secs: v,
                        duration: false,
                    },
                    Span::new(t.start, t.end),
                ))
            }
            Tok::Duration => {
                self.next();
                let ms =
                    parse_duration_ms(self.text(&t)).map_err(|e| self.err(t.start, t.end, e))?;
                Ok(DurationExpr::new(
                    DurNode::Literal {
                        secs: ms as f64 / 1000.0,
                        duration: true,
                    },
                    Span::new(t.start, t.end),
                ))
            }
            Tok::LParen => {
                self.next();
                self.enter()?;
                let inner = self.duration_expr()?;
                self.leave();
                let close = self.expect(Tok::RParen, "duration expression", "\")\"")?;
                let span = Span::new(t.start, close.end);
                if inner.is_literal() {
                    return Ok(DurationExpr::new(inner.node, span));
                }
                Ok(DurationExpr::new(
                    DurNode::Paren(Box::new(inner.node)),
                    span,
                ))
            }
            Tok::Ident if is_inf_nan(self.text(&t)) => {
                self.next();
                Ok(DurationExpr::new(
                    DurNode::Literal {
                        secs: self.number_value(&t)?,
                        duration: false,
                    },
                    Span::new(t.start, t.end),
                ))
            }
            Tok::Ident if self.peek_at(1).kind == Tok::LParen => {
                let lower = self.text(&t).to_ascii_lowercase();
                match lower.as_str() {
                    "step" | "range" => {
                        self.next();
                        self.next();
                        let close = self.expect(Tok::RParen, "duration expression", "\")\"")?;
                        let node = if lower == "step" {
                            DurNode::Step
                        } else {
                            DurNode::Range
                        };
                        Ok(DurationExpr::new(node, Span::new(t.start, close.end)))
                    }
                    "min_of" | "max_of" => {
                        self.next();
                        self.next();
                        self.enter()?;
                        let a = self.duration_expr()?;
                        self.expect(Tok::Comma, "duration expression", "\",\"")?;
                        let b = self.duration_expr()?;
                        self.leave();
                        let close = self.expect(Tok::RParen, "duration expression", "\")\"")?;
                        let (a, b) = (Box::new(a.node), Box::new(b.node));
                        let node = if lower == "min_of" {
                            DurNode::MinOf(a, b)
                        } else {
                            DurNode::MaxOf(a, b)
                        };
                        Ok(DurationExpr::new(node, Span::new(t.start, close.end)))
                    }
                    _ => Err(self.unexpected(
                        "duration expression",
                        "number, duration, step(), or range()",
                    )),
                }
            }
            _ => Err(self.unexpected(
                "duration expression",
                "number, duration, step(), or range()",
            )),
        }
    }
}

impl DurationExpr {
    /// The constant value of a literal (seconds).
    pub(crate) fn node_secs(&self) -> f64 {
        match self.node {
            DurNode::Literal { secs, .. } => secs,
            _ => f64::NAN,
        }
    }
}
