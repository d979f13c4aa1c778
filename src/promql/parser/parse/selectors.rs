//! Vector selectors and their matchers, and the postfix modifiers: ranges,
//! subqueries, `offset`, `@`, `anchored` and `smoothed`.

use crate::model::MatchOp;

use super::super::ast::*;
use super::super::duration::parse_duration_ms;
use super::super::lexer::Tok;
use super::*;

impl Parser<'_> {
    /// A vector selector; `name` was already consumed. Reads `{...}` if present.
    pub(super) fn selector(
        &mut self,
        name: Option<(String, usize, usize)>,
    ) -> PResult<VectorSelector> {
        let mut matchers = Vec::new();
        let (mut start, mut end) = name.as_ref().map_or((usize::MAX, 0), |(_, s, e)| (*s, *e));
        if self.kind() == Tok::LBrace {
            let open = self.next();
            start = start.min(open.start);
            loop {
                match self.kind() {
                    Tok::RBrace => break,
                    Tok::Ident | Tok::Str => matchers.push(self.label_matcher()?),
                    _ => return Err(self.unexpected("label matching", "identifier or \"}\"")),
                }
                match self.kind() {
                    Tok::Comma => {
                        self.next();
                    }
                    Tok::RBrace => {}
                    _ => return Err(self.unexpected("label matching", "\",\" or \"}\"")),
                }
            }
            end = self.next().end;
        }
        let name = name.map(|(n, _, _)| n);
        if let Some(n) = &name {
            if let Some(m) = matchers.iter().find(|m| m.name == "__name__") {
                return Err(self.err(
                    start,
                    end,
                    format!(
                        "metric name must not be set twice: {} or {}",
                        super::super::strings::quote(n),
                        super::super::strings::quote(&m.value)
                    ),
                ));
            }
            matchers.insert(
                0,
                LabelMatcher {
                    name: "__name__".into(),
                    op: MatchOp::Equal,
                    value: n.clone(),
                },
            );
        }
        Ok(VectorSelector {
            name,
            matchers,
            offset: None,
            at: None,
            anchored: false,
            smoothed: false,
            span: Span::new(start, end),
        })
    }

    pub(super) fn label_matcher(&mut self) -> PResult<LabelMatcher> {
        let t = self.next();
        let name = if t.kind == Tok::Str {
            let v = self.string_value(&t)?;
            // `{"metric.name"}`: a quoted metric name on its own.
            if matches!(self.kind(), Tok::Comma | Tok::RBrace) {
                return Ok(LabelMatcher {
                    name: "__name__".into(),
                    op: MatchOp::Equal,
                    value: v,
                });
            }
            v
        } else {
            self.text(&t).to_string()
        };
        let op = match self.kind() {
            Tok::Assign => MatchOp::Equal,
            Tok::Neq => MatchOp::NotEqual,
            Tok::EqlRegex => MatchOp::Regex,
            Tok::NeqRegex => MatchOp::NotRegex,
            _ => return Err(self.unexpected("label matching", "label matching operator")),
        };
        self.next();
        let v = self.peek().clone();
        if v.kind != Tok::Str {
            return Err(self.unexpected("label matching", "string"));
        }
        self.next();
        let value = self.string_value(&v)?;
        let m = LabelMatcher { name, op, value };
        if matches!(op, MatchOp::Regex | MatchOp::NotRegex) {
            m.to_matcher().map_err(|e| self.err(t.start, v.end, e))?;
        }
        Ok(m)
    }

    // ------------------------------------------------------------ modifiers

    pub(super) fn range_or_subquery(&mut self, e: Expr) -> PResult<Expr> {
        let open = self.next();
        if matches!(self.kind(), Tok::RBracket | Tok::Colon | Tok::Eof) {
            return Err(self.unexpected(
                "subquery or range selector",
                "number, duration, step(), or range()",
            ));
        }
        let range = self.positive_duration()?;
        match self.kind() {
            Tok::RBracket => {
                let close = self.next();
                let msg = match &e {
                    Expr::VectorSelector(vs) if vs.offset.is_some() => {
                        Some("no offset modifiers allowed before range")
                    }
                    Expr::VectorSelector(vs) if vs.at.is_some() => {
                        Some("no @ modifiers allowed before range")
                    }
                    Expr::VectorSelector(_) => None,
                    _ => Some("ranges only allowed for vector selectors"),
                };
                if let Some(m) = msg {
                    return Err(self.err(open.start, close.end, m));
                }
                let Expr::VectorSelector(vs) = e else {
                    return Err(self.err(
                        open.start,
                        close.end,
                        "ranges only allowed for vector selectors",
                    ));
                };
                let span = Span::new(vs.span.start, close.end);
                Ok(Expr::MatrixSelector(Box::new(MatrixSelector {
                    vs: *vs,
                    range,
                    span,
                })))
            }
            Tok::Colon => {
                self.next();
                let step = if self.kind() == Tok::RBracket {
                    None
                } else {
                    if !self.starts_duration() {
                        return Err(self.unexpected(
                            "subquery selector",
                            "number, duration, step(), range(), or \"]\"",
                        ));
                    }
                    Some(self.positive_duration()?)
                };
                if self.kind() != Tok::RBracket {
                    return Err(self.unexpected("subquery selector", "\"]\""));
                }
                let close = self.next();
                let span = Span::new(e.span().start, close.end);
                Ok(Expr::Subquery(Box::new(SubqueryExpr {
                    expr: Box::new(e),
                    range,
                    step,
                    offset: None,
                    at: None,
                    span,
                })))
            }
            _ => Err(self.unexpected("subquery or range", "\":\" or \"]\"")),
        }
    }

    pub(super) fn offset_modifier(&mut self, mut e: Expr) -> PResult<Expr> {
        self.next();
        if !self.starts_duration() {
            return Err(self.unexpected("offset", "number, duration, step(), or range()"));
        }
        let d = self.offset_duration()?;
        let end = d.span.end;
        let span = e.span();
        let slot = match &mut e {
            Expr::VectorSelector(vs) => &mut vs.offset,
            Expr::MatrixSelector(ms) => &mut ms.vs.offset,
            Expr::Subquery(sq) => &mut sq.offset,
            _ => {
                return Err(self.err_span(
                    span,
                    "offset modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                ))
            }
        };
        if slot.is_some() {
            return Err(self.err_span(span, "offset may not be set multiple times"));
        }
        // A zero offset is no offset (as Prometheus stores it).
        if !(d.is_literal() && d.node_secs() == 0.0) {
            *slot = Some(d);
        }
        set_end(&mut e, end);
        Ok(e)
    }

    pub(super) fn at_modifier(&mut self, mut e: Expr) -> PResult<Expr> {
        self.next();
        let t = self.peek().clone();
        let (at, end) = if (self.is_kw("start") || self.is_kw("end"))
            && self.peek_at(1).kind == Tok::LParen
            && self.peek_at(2).kind == Tok::RParen
        {
            let start = self.is_kw("start");
            self.next();
            self.next();
            let close = self.next();
            (
                if start {
                    AtModifier::Start
                } else {
                    AtModifier::End
                },
                close.end,
            )
        } else {
            let neg = match t.kind {
                Tok::Sub | Tok::Add => {
                    self.next();
                    t.kind == Tok::Sub
                }
                _ => false,
            };
            let n = self.peek().clone();
            let v = match n.kind {
                Tok::Number => self.number_value(&n)?,
                Tok::Duration => {
                    parse_duration_ms(self.text(&n)).map_err(|e| self.err(n.start, n.end, e))?
                        as f64
                        / 1000.0
                }
                Tok::Ident if is_inf_nan(self.text(&n)) => self.number_value(&n)?,
                _ => return Err(self.unexpected("@", "timestamp")),
            };
            self.next();
            let v = if neg { -v } else { v };
            let ms = v * 1000.0;
            if !ms.is_finite() || ms.abs() > 9.2e18 {
                return Err(self.err(
                    t.start,
                    n.end,
                    format!("timestamp out of bounds for @ modifier: {}", go_f(v)),
                ));
            }
            (AtModifier::At(ms.round() as i64), n.end)
        };
        let span = e.span();
        let slot = match &mut e {
            Expr::VectorSelector(vs) => &mut vs.at,
            Expr::MatrixSelector(ms) => &mut ms.vs.at,
            Expr::Subquery(sq) => &mut sq.at,
            _ => {
                return Err(self.err_span(
                    span,
                    "@ modifier must be preceded by an instant vector selector or range vector selector or a subquery",
                ))
            }
        };
        if slot.is_some() {
            return Err(self.err_span(span, "@ <timestamp> may not be set multiple times"));
        }
        *slot = Some(at);
        set_end(&mut e, end);
        Ok(e)
    }

    pub(super) fn set_extended(&mut self, mut e: Expr, anchored: bool) -> PResult<Expr> {
        let end = self.toks[self.i.saturating_sub(1)].end;
        let span = e.span();
        let word = if anchored { "anchored" } else { "smoothed" };
        let vs = match &mut e {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &mut ms.vs,
            _ => {
                return Err(self.err_span(
                    span,
                    format!("{word} modifier must be preceded by an instant vector selector or range vector selector"),
                ))
            }
        };
        if anchored {
            vs.anchored = true;
        } else {
            vs.smoothed = true;
        }
        if vs.anchored && vs.smoothed {
            return Err(self.err_span(
                span,
                "anchored and smoothed modifiers cannot be used together",
            ));
        }
        set_end(&mut e, end);
        Ok(e)
    }
}
