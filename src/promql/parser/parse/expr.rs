//! Expressions: binary operators by precedence climbing, unary signs,
//! parentheses, literals, function calls and aggregations. The functions on
//! the recursion path only dispatch, so that deep queries fit the stack.

use super::super::ast::*;
use super::super::check;
use super::super::duration::parse_duration_ms;
use super::super::functions;
use super::super::lexer::Tok;
use super::super::strings::unquote;
use super::*;

impl Parser<'_> {
    /// Binary operators binding at least as tightly as `min_prec`.
    pub(super) fn expr(&mut self, min_prec: u8) -> PResult<Expr> {
        self.enter()?;
        let mut lhs = self.unary()?;
        while let Some((op, modifier, next_min)) = self.binop_start(min_prec)? {
            let rhs = self.expr(next_min)?;
            lhs = self.make_binary(op, lhs, rhs, &modifier)?;
        }
        self.leave();
        Ok(lhs)
    }

    /// Consumes an operator (and its modifiers) binding at least as tightly
    /// as `min_prec`; returns the right operand's minimum precedence.
    #[inline(never)]
    pub(super) fn binop_start(
        &mut self,
        min_prec: u8,
    ) -> PResult<Option<(BinOp, Box<BinModifier>, u8)>> {
        let Some(op) = self.peek_binop() else {
            return Ok(None);
        };
        if op.precedence() < min_prec {
            return Ok(None);
        }
        self.next();
        let modifier = self.bin_modifier()?;
        let next_min = if op.is_right_assoc() {
            op.precedence()
        } else {
            op.precedence() + 1
        };
        Ok(Some((op, Box::new(modifier), next_min)))
    }

    #[inline(never)]
    pub(super) fn make_binary(
        &self,
        op: BinOp,
        lhs: Expr,
        rhs: Expr,
        m: &BinModifier,
    ) -> PResult<Expr> {
        check::binary(self.src, op, lhs, rhs, m.clone())
    }

    pub(super) fn peek_binop(&self) -> Option<BinOp> {
        let t = self.peek();
        Some(match t.kind {
            Tok::Add => BinOp::Add,
            Tok::Sub => BinOp::Sub,
            Tok::Mul => BinOp::Mul,
            Tok::Div => BinOp::Div,
            Tok::Mod => BinOp::Mod,
            Tok::Pow => BinOp::Pow,
            Tok::Eqlc => BinOp::Eql,
            Tok::Neq => BinOp::Neq,
            Tok::Gtr => BinOp::Gtr,
            Tok::Lss => BinOp::Lss,
            Tok::Gte => BinOp::Gte,
            Tok::Lte => BinOp::Lte,
            Tok::TrimUpper => BinOp::TrimUpper,
            Tok::TrimLower => BinOp::TrimLower,
            Tok::Ident => return binop_of(self.text(t)),
            _ => return None,
        })
    }

    /// `bool`, `on/ignoring (...)`, `group_left/right [(...)]`, `fill*(n)`.
    pub(super) fn bin_modifier(&mut self) -> PResult<BinModifier> {
        let mut m = BinModifier::default();
        if self.is_kw("bool") {
            self.next();
            m.return_bool = true;
        }
        if self.is_kw("on") || self.is_kw("ignoring") {
            let on = self.is_kw("on");
            self.next();
            let labels = self.grouping_labels()?;
            m.matching = Some(if on {
                Matching::On(labels)
            } else {
                Matching::Ignoring(labels)
            });
            if self.is_kw("group_left") || self.is_kw("group_right") {
                let left = self.is_kw("group_left");
                self.next();
                let include = if self.kind() == Tok::LParen {
                    self.grouping_labels()?
                } else {
                    Vec::new()
                };
                m.card = if left {
                    Cardinality::ManyToOne(include)
                } else {
                    Cardinality::OneToMany(include)
                };
            }
        }
        // fill(), fill_left(), fill_right()
        loop {
            let which = if self.is_kw("fill") {
                0
            } else if self.is_kw("fill_left") {
                1
            } else if self.is_kw("fill_right") {
                2
            } else {
                break;
            };
            if self.peek_at(1).kind != Tok::LParen {
                break;
            }
            self.next();
            self.next();
            let v = self.fill_value()?;
            self.expect(Tok::RParen, "fill modifier", "\")\"")?;
            match which {
                0 => {
                    m.fill.lhs = Some(v);
                    m.fill.rhs = Some(v);
                }
                1 => m.fill.lhs = Some(v),
                _ => m.fill.rhs = Some(v),
            }
        }
        Ok(m)
    }

    pub(super) fn fill_value(&mut self) -> PResult<f64> {
        let neg = match self.kind() {
            Tok::Sub => {
                self.next();
                true
            }
            Tok::Add => {
                self.next();
                false
            }
            _ => false,
        };
        let t = self.peek().clone();
        let v = match t.kind {
            Tok::Number => self.number_value(&t)?,
            Tok::Ident if is_inf_nan(self.text(&t)) => self.number_value(&t)?,
            _ => return Err(self.unexpected("fill modifier", "number")),
        };
        self.next();
        Ok(if neg { -v } else { v })
    }

    /// `(a, b, "c",)` label lists of grouping and matching clauses.
    pub(super) fn grouping_labels(&mut self) -> PResult<Vec<String>> {
        if self.kind() != Tok::LParen {
            return Err(self.unexpected("grouping opts", "\"(\""));
        }
        self.next();
        let mut out = Vec::new();
        loop {
            let t = self.peek().clone();
            match t.kind {
                Tok::RParen => {
                    self.next();
                    return Ok(out);
                }
                Tok::Ident => {
                    self.next();
                    out.push(self.text(&t).to_string());
                }
                Tok::Str => {
                    self.next();
                    let v = self.string_value(&t)?;
                    if v.is_empty() || v.contains('\u{FFFD}') {
                        return Err(self.err(
                            t.start,
                            t.end,
                            format!(
                                "invalid label name for grouping: {}",
                                super::super::strings::quote(&v)
                            ),
                        ));
                    }
                    out.push(v);
                }
                _ => return Err(self.unexpected("grouping opts", "label")),
            }
            match self.kind() {
                Tok::Comma => {
                    self.next();
                }
                Tok::RParen => {}
                _ => return Err(self.unexpected("grouping opts", "\",\" or \")\"")),
            }
        }
    }

    // The functions from here to `call_args` recurse once per nesting level
    // of the query; they only dispatch, and leave the work (and its stack
    // space) to non-recursive helpers, so that deep queries fit the stack.

    /// Unary `+`/`-`, binding like `*` (so `-a ^ b` is `-(a ^ b)`).
    pub(super) fn unary(&mut self) -> PResult<Expr> {
        let k = self.kind();
        if k != Tok::Add && k != Tok::Sub {
            return self.postfix_expr();
        }
        let start = self.next().start;
        self.enter()?;
        let inner = self.expr(BinOp::Pow.precedence())?;
        self.leave();
        self.make_unary(k == Tok::Sub, start, inner)
    }

    #[inline(never)]
    pub(super) fn make_unary(&self, neg: bool, start: usize, inner: Expr) -> PResult<Expr> {
        Ok(match inner {
            Expr::NumberLiteral(mut n) => {
                if neg {
                    n.val = -n.val;
                }
                n.span.start = start;
                Expr::NumberLiteral(n)
            }
            other => {
                let span = Span::new(start, other.span().end);
                check::unary(
                    self.src,
                    UnaryExpr {
                        op: if neg { UnaryOp::Neg } else { UnaryOp::Plus },
                        expr: Box::new(other),
                        span,
                    },
                )?
            }
        })
    }

    /// A primary expression followed by any postfix modifiers.
    pub(super) fn postfix_expr(&mut self) -> PResult<Expr> {
        let e = self.primary()?;
        self.postfix(e)
    }

    #[inline(never)]
    pub(super) fn postfix(&mut self, mut e: Expr) -> PResult<Expr> {
        loop {
            match self.kind() {
                Tok::LBracket => e = self.range_or_subquery(e)?,
                Tok::At => e = self.at_modifier(e)?,
                Tok::Ident if self.is_kw("offset") => e = self.offset_modifier(e)?,
                Tok::Ident if self.is_kw("anchored") || self.is_kw("smoothed") => {
                    let anchored = self.is_kw("anchored");
                    self.next();
                    e = self.set_extended(e, anchored)?;
                }
                _ => return Ok(e),
            }
        }
    }

    pub(super) fn primary(&mut self) -> PResult<Expr> {
        match self.kind() {
            Tok::LParen => self.paren(),
            Tok::Ident | Tok::MetricIdent => self.word_expr(),
            _ => self.leaf(),
        }
    }

    pub(super) fn paren(&mut self) -> PResult<Expr> {
        let start = self.next().start;
        self.enter()?;
        let inner = self.expr(0)?;
        self.leave();
        self.close_paren(start, inner)
    }

    #[inline(never)]
    pub(super) fn close_paren(&mut self, start: usize, inner: Expr) -> PResult<Expr> {
        let close = self.expect(Tok::RParen, "paren expression", "\")\"")?;
        Ok(Expr::Paren(ParenExpr {
            expr: Box::new(inner),
            span: Span::new(start, close.end),
        }))
    }

    /// Literals and `{...}` selectors.
    #[inline(never)]
    pub(super) fn leaf(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        match t.kind {
            Tok::Number => {
                self.next();
                Ok(Expr::NumberLiteral(NumberLiteral {
                    val: self.number_value(&t)?,
                    duration: false,
                    span: Span::new(t.start, t.end),
                }))
            }
            Tok::Duration => {
                self.next();
                let ms =
                    parse_duration_ms(self.text(&t)).map_err(|e| self.err(t.start, t.end, e))?;
                Ok(Expr::NumberLiteral(NumberLiteral {
                    val: ms as f64 / 1000.0,
                    duration: true,
                    span: Span::new(t.start, t.end),
                }))
            }
            Tok::Str => {
                self.next();
                let bytes = unquote(self.text(&t)).map_err(|e| self.err(t.start, t.end, e))?;
                let (val, raw) = match String::from_utf8(bytes) {
                    Ok(s) => (s, None),
                    Err(e) => {
                        let b = e.into_bytes();
                        (String::from_utf8_lossy(&b).into_owned(), Some(b))
                    }
                };
                Ok(Expr::StringLiteral(StringLiteral {
                    val,
                    raw,
                    span: Span::new(t.start, t.end),
                }))
            }
            Tok::LBrace => Ok(Expr::VectorSelector(Box::new(self.selector(None)?))),
            _ => Err(self.unexpected("", "")),
        }
    }

    /// Expressions starting with a word: numbers (`Inf`), aggregations,
    /// duration functions, function calls and selectors.
    pub(super) fn word_expr(&mut self) -> PResult<Expr> {
        match self.classify_word() {
            Word::Aggregation(op) => self.aggregation(op),
            Word::Call => self.call(),
            Word::Other => self.word_leaf(),
        }
    }

    #[inline(never)]
    pub(super) fn classify_word(&self) -> Word {
        let t = self.peek();
        if t.kind != Tok::Ident {
            return Word::Other;
        }
        let text = self.text(t);
        let lower = text.to_ascii_lowercase();
        let next = self.peek_at(1).kind;
        if is_inf_nan(text) {
            return Word::Other;
        }
        if let Some(op) = AggOp::from_name(&lower) {
            if next == Tok::LParen || self.is_kw_at(1, "by") || self.is_kw_at(1, "without") {
                return Word::Aggregation(op);
            }
        }
        let special = matches!(
            lower.as_str(),
            "step"
                | "range"
                | "min_of"
                | "max_of"
                | "bool"
                | "on"
                | "ignoring"
                | "group_left"
                | "group_right"
                | "atan2"
        );
        if next == Tok::LParen && !special {
            return Word::Call;
        }
        Word::Other
    }

    /// Words that do not nest: `Inf`/`NaN`, duration functions, selectors.
    #[inline(never)]
    pub(super) fn word_leaf(&mut self) -> PResult<Expr> {
        let t = self.peek().clone();
        let text = self.text(&t);
        let lower = text.to_ascii_lowercase();
        if t.kind == Tok::Ident {
            if is_inf_nan(text) {
                self.next();
                return Ok(Expr::NumberLiteral(NumberLiteral {
                    val: self.number_value(&t)?,
                    duration: false,
                    span: Span::new(t.start, t.end),
                }));
            }
            if matches!(
                lower.as_str(),
                "bool" | "on" | "ignoring" | "group_left" | "group_right" | "atan2"
            ) {
                return Err(self.unexpected("", ""));
            }
            if self.peek_at(1).kind == Tok::LParen {
                let d = self.duration_primary()?;
                return Ok(Expr::Duration(Box::new(d)));
            }
        }
        self.next();
        let name = text.to_string();
        Ok(Expr::VectorSelector(Box::new(
            self.selector(Some((name, t.start, t.end)))?,
        )))
    }

    pub(super) fn call(&mut self) -> PResult<Expr> {
        let (func, start) = self.call_head()?;
        let (args, end) = self.call_args()?;
        self.finish_call(func, args, Span::new(start, end))
    }

    #[inline(never)]
    pub(super) fn call_head(&mut self) -> PResult<(&'static functions::Function, usize)> {
        let name_tok = self.next();
        let name = self.text(&name_tok);
        let func = functions::lookup(name).ok_or_else(|| {
            self.err(
                name_tok.start,
                name_tok.end,
                format!(
                    "unknown function with name {}",
                    super::super::strings::quote(name)
                ),
            )
        })?;
        Ok((func, name_tok.start))
    }

    #[inline(never)]
    pub(super) fn finish_call(
        &self,
        func: &'static functions::Function,
        args: Vec<Expr>,
        span: Span,
    ) -> PResult<Expr> {
        check::call(self.src, Call { func, args, span })
    }

    /// `( expr, expr, ... )`; returns the arguments and the end position.
    pub(super) fn call_args(&mut self) -> PResult<(Vec<Expr>, usize)> {
        self.open_args()?;
        let mut args = Vec::new();
        loop {
            if let Some(end) = self.args_end(args.is_empty())? {
                self.leave();
                return Ok((args, end));
            }
            args.push(self.expr(0)?);
        }
    }

    #[inline(never)]
    pub(super) fn open_args(&mut self) -> PResult<()> {
        self.expect(Tok::LParen, "", "\"(\"")?;
        self.enter()
    }

    /// Before an argument: `None` to read one, or the end position after `)`.
    #[inline(never)]
    pub(super) fn args_end(&mut self, first: bool) -> PResult<Option<usize>> {
        if first {
            if self.kind() == Tok::RParen {
                return Ok(Some(self.next().end));
            }
            return Ok(None);
        }
        match self.kind() {
            Tok::Comma => {
                let comma = self.next();
                if self.kind() == Tok::RParen {
                    return Err(self.err(
                        comma.start,
                        comma.end,
                        "trailing commas not allowed in function call args",
                    ));
                }
                Ok(None)
            }
            Tok::RParen => Ok(Some(self.next().end)),
            _ => Err(self.unexpected("", "")),
        }
    }

    pub(super) fn aggregation(&mut self, op: AggOp) -> PResult<Expr> {
        let (start, grouping) = self.aggregation_head()?;
        let (args, end) = self.call_args()?;
        self.finish_aggregation(op, start, grouping, args, end)
    }

    #[inline(never)]
    pub(super) fn aggregation_head(&mut self) -> PResult<(usize, Option<Grouping>)> {
        let start = self.next().start;
        let grouping = self.maybe_grouping()?;
        if self.kind() != Tok::LParen {
            return Err(self.unexpected("aggregation", ""));
        }
        Ok((start, grouping))
    }

    #[inline(never)]
    pub(super) fn finish_aggregation(
        &mut self,
        op: AggOp,
        start: usize,
        mut grouping: Option<Grouping>,
        mut args: Vec<Expr>,
        mut end: usize,
    ) -> PResult<Expr> {
        if grouping.is_none() {
            if let Some(g) = self.maybe_grouping()? {
                grouping = Some(g);
                end = self.toks[self.i.saturating_sub(1)].end;
            }
        }
        let span = Span::new(start, end);
        if args.is_empty() {
            return Err(self.err_span(span, "no arguments for aggregate expression provided"));
        }
        let want = if op.has_param() { 2 } else { 1 };
        if args.len() != want {
            return Err(self.err_span(
                span,
                format!(
                    "wrong number of arguments for aggregate expression provided, expected {want}, got {}",
                    args.len()
                ),
            ));
        }
        let expr = args
            .pop()
            .map(Box::new)
            .ok_or_else(|| self.err_span(span, "missing argument"))?;
        let param = args.pop().map(Box::new);
        check::aggregate(
            self.src,
            AggregateExpr {
                op,
                expr,
                param,
                grouping,
                span,
            },
        )
    }

    pub(super) fn maybe_grouping(&mut self) -> PResult<Option<Grouping>> {
        if self.is_kw("by") {
            self.next();
            let labels = self.grouping_labels()?;
            // `by ()` groups everything together, like no clause at all.
            return Ok(Some(Grouping::By(labels))
                .filter(|g| !matches!(g, Grouping::By(l) if l.is_empty())));
        }
        if self.is_kw("without") {
            self.next();
            return Ok(Some(Grouping::Without(self.grouping_labels()?)));
        }
        Ok(None)
    }
}
