//! The recursive-descent parser: a Pratt loop for binary operators (with
//! Prometheus' precedence, `^` right-associative), postfix modifiers
//! (`[range]`, `[range:step]`, `offset`, `@`, `anchored`, `smoothed`), and
//! the duration-expression sub-language. Nodes are type-checked as they are
//! built (see [`check`](super::check)).

use crate::model::MatchOp;

use super::ast::*;
use super::check;
use super::duration::{parse_duration_ms, DurNode, DurOp, DurationExpr};
use super::error::ParseError;
use super::functions;
use super::lexer::{lex, Tok, Token};
use super::strings::unquote;

/// Deepest syntactic nesting accepted, counted in parser recursion levels
/// (a nested call or parenthesis counts two): about 200 nested levels,
/// which keeps the recursive descent inside a 2 MiB stack even unoptimized.
/// The evaluator accepts at most 200 levels anyway.
const MAX_DEPTH: usize = 400;

pub(crate) struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    i: usize,
    depth: usize,
}

type PResult<T> = Result<T, ParseError>;

/// Keywords that end a vector selector / cannot start an expression.
fn binop_of(word: &str) -> Option<BinOp> {
    Some(match word.to_ascii_lowercase().as_str() {
        "and" => BinOp::And,
        "or" => BinOp::Or,
        "unless" => BinOp::Unless,
        "atan2" => BinOp::Atan2,
        _ => return None,
    })
}

impl<'a> Parser<'a> {
    pub fn new(src: &'a str) -> Self {
        Parser {
            src,
            toks: lex(src),
            i: 0,
            depth: 0,
        }
    }

    // ------------------------------------------------------------ tokens

    fn peek(&self) -> &Token {
        let last = self.toks.len().saturating_sub(1);
        &self.toks[self.i.min(last)]
    }

    fn peek_at(&self, n: usize) -> &Token {
        let last = self.toks.len().saturating_sub(1);
        &self.toks[(self.i + n).min(last)]
    }

    fn kind(&self) -> Tok {
        self.peek().kind
    }

    fn text(&self, t: &Token) -> &'a str {
        &self.src[t.start..t.end]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if !matches!(t.kind, Tok::Eof | Tok::Error) {
            self.i += 1;
        }
        t
    }

    /// Is the next token the (case-insensitive) keyword `kw`?
    fn is_kw(&self, kw: &str) -> bool {
        let t = self.peek();
        t.kind == Tok::Ident && self.text(t).eq_ignore_ascii_case(kw)
    }

    fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        let t = self.peek_at(n);
        t.kind == Tok::Ident && self.text(t).eq_ignore_ascii_case(kw)
    }

    fn err(&self, start: usize, end: usize, msg: impl Into<String>) -> ParseError {
        ParseError::new(self.src, start, end, msg)
    }

    fn err_span(&self, span: Span, msg: impl Into<String>) -> ParseError {
        self.err(span.start, span.end, msg)
    }

    /// Prometheus' "unexpected <item> in <context>, expected <what>".
    fn unexpected(&self, context: &str, expected: &str) -> ParseError {
        let t = self.peek();
        if t.kind == Tok::Error {
            return self.err(t.start, t.end, t.msg.clone().unwrap_or_default());
        }
        let mut m = format!("unexpected {}", self.describe(t));
        if !context.is_empty() {
            m.push_str(" in ");
            m.push_str(context);
        }
        if !expected.is_empty() {
            m.push_str(", expected ");
            m.push_str(expected);
        }
        self.err(t.start, t.end, m)
    }

    /// Describes a token as Prometheus' `Item.desc()` does.
    fn describe(&self, t: &Token) -> String {
        let text = self.text(t);
        let quoted = |s: &str| super::strings::quote(s);
        match t.kind {
            Tok::Eof => "end of input".into(),
            Tok::Error => t.msg.clone().unwrap_or_default(),
            Tok::Ident | Tok::MetricIdent => {
                let lower = text.to_ascii_lowercase();
                if lower == "inf" || lower == "nan" {
                    format!("number {}", quoted(text))
                } else if AggOp::from_name(&lower).is_some() {
                    format!("<aggr:{text}>")
                } else if binop_of(&lower).is_some() {
                    format!("<op:{text}>")
                } else if is_keyword(&lower) {
                    format!("<{text}>")
                } else {
                    format!("identifier {}", quoted(text))
                }
            }
            Tok::Number => format!("number {}", quoted(text)),
            Tok::Duration => format!("duration {}", quoted(text)),
            Tok::Str => {
                if text.len() > 10 {
                    let cut: String = text.chars().take(10).collect();
                    format!("string {}...", quoted(&cut))
                } else {
                    format!("string {}", quoted(text))
                }
            }
            Tok::LParen
            | Tok::RParen
            | Tok::LBrace
            | Tok::RBrace
            | Tok::LBracket
            | Tok::RBracket
            | Tok::Comma
            | Tok::Colon
            | Tok::Assign => quoted(text),
            _ => format!("<op:{text}>"),
        }
    }

    fn expect(&mut self, k: Tok, context: &str, expected: &str) -> PResult<Token> {
        if self.kind() == k {
            Ok(self.next())
        } else {
            Err(self.unexpected(context, expected))
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            let t = self.peek();
            return Err(self.err(t.start, t.end, "query is too deeply nested"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    // ------------------------------------------------------------ entry points

    /// A whole expression followed by end of input.
    pub fn parse_query(mut self) -> PResult<Expr> {
        if self.kind() == Tok::Eof {
            return Err(self.err(0, 0, "no expression found in input"));
        }
        let e = self.expr(0)?;
        if self.kind() != Tok::Eof {
            return Err(self.unexpected("", ""));
        }
        check::selectors(self.src, &e)?;
        Ok(e)
    }

    /// A bare series selector (`match[]`), nothing else.
    pub fn parse_selector(mut self) -> PResult<VectorSelector> {
        let vs = match self.kind() {
            Tok::LBrace => self.selector(None)?,
            Tok::Ident | Tok::MetricIdent => {
                let t = self.next();
                let name = self.text(&t).to_string();
                self.selector(Some((name, t.start, t.end)))?
            }
            _ => return Err(self.unexpected("", "")),
        };
        if self.kind() != Tok::Eof {
            return Err(self.unexpected("", ""));
        }
        check::selector_not_empty(self.src, &vs)?;
        Ok(vs)
    }

    // ------------------------------------------------------------ expressions

    /// Binary operators binding at least as tightly as `min_prec`.
    fn expr(&mut self, min_prec: u8) -> PResult<Expr> {
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
    fn binop_start(&mut self, min_prec: u8) -> PResult<Option<(BinOp, Box<BinModifier>, u8)>> {
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
    fn make_binary(&self, op: BinOp, lhs: Expr, rhs: Expr, m: &BinModifier) -> PResult<Expr> {
        check::binary(self.src, op, lhs, rhs, m.clone())
    }

    fn peek_binop(&self) -> Option<BinOp> {
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
    fn bin_modifier(&mut self) -> PResult<BinModifier> {
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

    fn fill_value(&mut self) -> PResult<f64> {
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
    fn grouping_labels(&mut self) -> PResult<Vec<String>> {
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
                                super::strings::quote(&v)
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
    fn unary(&mut self) -> PResult<Expr> {
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
    fn make_unary(&self, neg: bool, start: usize, inner: Expr) -> PResult<Expr> {
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
    fn postfix_expr(&mut self) -> PResult<Expr> {
        let e = self.primary()?;
        self.postfix(e)
    }

    #[inline(never)]
    fn postfix(&mut self, mut e: Expr) -> PResult<Expr> {
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

    fn primary(&mut self) -> PResult<Expr> {
        match self.kind() {
            Tok::LParen => self.paren(),
            Tok::Ident | Tok::MetricIdent => self.word_expr(),
            _ => self.leaf(),
        }
    }

    fn paren(&mut self) -> PResult<Expr> {
        let start = self.next().start;
        self.enter()?;
        let inner = self.expr(0)?;
        self.leave();
        self.close_paren(start, inner)
    }

    #[inline(never)]
    fn close_paren(&mut self, start: usize, inner: Expr) -> PResult<Expr> {
        let close = self.expect(Tok::RParen, "paren expression", "\")\"")?;
        Ok(Expr::Paren(ParenExpr {
            expr: Box::new(inner),
            span: Span::new(start, close.end),
        }))
    }

    /// Literals and `{...}` selectors.
    #[inline(never)]
    fn leaf(&mut self) -> PResult<Expr> {
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
    fn word_expr(&mut self) -> PResult<Expr> {
        match self.classify_word() {
            Word::Aggregation(op) => self.aggregation(op),
            Word::Call => self.call(),
            Word::Other => self.word_leaf(),
        }
    }

    #[inline(never)]
    fn classify_word(&self) -> Word {
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
        if next == Tok::LParen && !matches!(lower.as_str(), "step" | "range" | "min_of" | "max_of")
        {
            return Word::Call;
        }
        Word::Other
    }

    /// Words that do not nest: `Inf`/`NaN`, duration functions, selectors.
    #[inline(never)]
    fn word_leaf(&mut self) -> PResult<Expr> {
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
            if self.peek_at(1).kind == Tok::LParen {
                let d = self.duration_primary()?;
                return Ok(Expr::Duration(Box::new(d)));
            }
            if matches!(
                lower.as_str(),
                "bool" | "on" | "ignoring" | "group_left" | "group_right" | "atan2"
            ) {
                return Err(self.unexpected("", ""));
            }
        }
        self.next();
        let name = text.to_string();
        Ok(Expr::VectorSelector(Box::new(
            self.selector(Some((name, t.start, t.end)))?,
        )))
    }

    fn call(&mut self) -> PResult<Expr> {
        let (func, start) = self.call_head()?;
        let (args, end) = self.call_args()?;
        self.finish_call(func, args, Span::new(start, end))
    }

    #[inline(never)]
    fn call_head(&mut self) -> PResult<(&'static functions::Function, usize)> {
        let name_tok = self.next();
        let name = self.text(&name_tok);
        let func = functions::lookup(name).ok_or_else(|| {
            self.err(
                name_tok.start,
                name_tok.end,
                format!("unknown function with name {}", super::strings::quote(name)),
            )
        })?;
        Ok((func, name_tok.start))
    }

    #[inline(never)]
    fn finish_call(
        &self,
        func: &'static functions::Function,
        args: Vec<Expr>,
        span: Span,
    ) -> PResult<Expr> {
        check::call(self.src, Call { func, args, span })
    }

    /// `( expr, expr, ... )`; returns the arguments and the end position.
    fn call_args(&mut self) -> PResult<(Vec<Expr>, usize)> {
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
    fn open_args(&mut self) -> PResult<()> {
        self.expect(Tok::LParen, "", "\"(\"")?;
        self.enter()
    }

    /// Before an argument: `None` to read one, or the end position after `)`.
    #[inline(never)]
    fn args_end(&mut self, first: bool) -> PResult<Option<usize>> {
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

    fn aggregation(&mut self, op: AggOp) -> PResult<Expr> {
        let (start, grouping) = self.aggregation_head()?;
        let (args, end) = self.call_args()?;
        self.finish_aggregation(op, start, grouping, args, end)
    }

    #[inline(never)]
    fn aggregation_head(&mut self) -> PResult<(usize, Option<Grouping>)> {
        let start = self.next().start;
        let grouping = self.maybe_grouping()?;
        if self.kind() != Tok::LParen {
            return Err(self.unexpected("aggregation", ""));
        }
        Ok((start, grouping))
    }

    #[inline(never)]
    fn finish_aggregation(
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

    fn maybe_grouping(&mut self) -> PResult<Option<Grouping>> {
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

    // ------------------------------------------------------------ selectors

    /// A vector selector; `name` was already consumed. Reads `{...}` if present.
    fn selector(&mut self, name: Option<(String, usize, usize)>) -> PResult<VectorSelector> {
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
                        super::strings::quote(n),
                        super::strings::quote(&m.value)
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

    fn label_matcher(&mut self) -> PResult<LabelMatcher> {
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

    fn range_or_subquery(&mut self, e: Expr) -> PResult<Expr> {
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

    fn offset_modifier(&mut self, mut e: Expr) -> PResult<Expr> {
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

    fn at_modifier(&mut self, mut e: Expr) -> PResult<Expr> {
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

    fn set_extended(&mut self, mut e: Expr, anchored: bool) -> PResult<Expr> {
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

    // ------------------------------------------------------------ durations

    /// Can the next token start a duration expression?
    fn starts_duration(&self) -> bool {
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
    fn positive_duration(&mut self) -> PResult<DurationExpr> {
        let d = self.duration_expr()?;
        if d.is_literal() && d.node_secs() <= 0.0 {
            return Err(self.err_span(d.span, "duration must be greater than 0"));
        }
        Ok(d)
    }

    /// An offset: a signed literal, `step()`/`range()`, `min_of/max_of(..)`
    /// or a parenthesized expression; binary operators after it belong to
    /// the enclosing expression (`x offset 1m + 1` is `(x offset 1m) + 1`).
    fn offset_duration(&mut self) -> PResult<DurationExpr> {
        let start = self.peek().start;
        let neg = match self.kind() {
            Tok::Sub | Tok::Add => {
                let t = self.next();
                t.kind == Tok::Sub
            }
            _ => false,
        };
        let inner = self.duration_primary()?;
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
    fn duration_expr(&mut self) -> PResult<DurationExpr> {
        self.dur_binary(0)
    }

    fn dur_op(&self) -> Option<(DurOp, u8)> {
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

    fn dur_binary(&mut self, min_prec: u8) -> PResult<DurationExpr> {
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

    fn dur_unary(&mut self) -> PResult<DurationExpr> {
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
    fn duration_primary(&mut self) -> PResult<DurationExpr> {
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

    // ------------------------------------------------------------ literals

    fn number_value(&self, t: &Token) -> PResult<f64> {
        let text = self.text(t);
        parse_number(text)
            .ok_or_else(|| self.err(t.start, t.end, format!("error parsing number: {text}")))
    }

    fn string_value(&self, t: &Token) -> PResult<String> {
        let bytes = unquote(self.text(t)).map_err(|e| self.err(t.start, t.end, e))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// What a word starts.
enum Word {
    Aggregation(AggOp),
    Call,
    Other,
}

/// Extends the end position of a node after a postfix modifier.
fn set_end(e: &mut Expr, end: usize) {
    match e {
        Expr::VectorSelector(vs) => vs.span.end = end,
        Expr::MatrixSelector(ms) => ms.span.end = end,
        Expr::Subquery(sq) => sq.span.end = end,
        _ => {}
    }
}

/// Go's `%f`: six decimals, or `+Inf`/`-Inf`/`NaN`.
fn go_f(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.6}")
    } else {
        super::duration::format_float(v)
    }
}

fn is_inf_nan(s: &str) -> bool {
    s.eq_ignore_ascii_case("inf") || s.eq_ignore_ascii_case("nan")
}

/// Words with a meaning of their own (for error descriptions).
fn is_keyword(lower: &str) -> bool {
    matches!(
        lower,
        "offset"
            | "by"
            | "without"
            | "on"
            | "ignoring"
            | "group_left"
            | "group_right"
            | "bool"
            | "start"
            | "end"
            | "step"
            | "range"
            | "anchored"
            | "smoothed"
            | "fill"
            | "fill_left"
            | "fill_right"
    )
}

/// Parses a number as Go's `strconv.ParseFloat` does for PromQL literals:
/// decimal, hex (`0x1f`), `Inf`, `NaN`, with `_` digit separators.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "+inf" => return Some(f64::INFINITY),
        "-inf" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    let clean: String = lower.chars().filter(|&c| c != '_').collect();
    if let Some(hex) = clean.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok().map(|v| v as f64);
    }
    clean.parse::<f64>().ok()
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
