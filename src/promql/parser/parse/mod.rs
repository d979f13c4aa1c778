//! The recursive-descent parser: the token cursor, error reporting and entry
//! points. Expressions (a Pratt loop for operators), selectors with their
//! modifiers, and duration expressions each have a submodule. Nodes are
//! type-checked as they are built (see [`check`](super::check)).

mod durations;
mod expr;
mod selectors;

use super::ast::*;
use super::check;
use super::error::ParseError;
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

/// Parses a number literal as Prometheus does: as an integer in Go's
/// base-prefix syntax first (`0x1f`, `0755` octal, `0b101`, `0o17`), else as a
/// float (`1.5e3`, `Inf`, `NaN`). `None` for out-of-range or invalid text.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let lower = text.to_ascii_lowercase();
    match lower.as_str() {
        "inf" | "+inf" => return Some(f64::INFINITY),
        "-inf" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|c| c.is_ascii_digit())
    {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    // Underscores separate digits only after a base prefix, as in Go.
    let digits: String = if radix == 10 {
        digits.to_string()
    } else {
        digits.trim_start_matches('_').replace('_', "")
    };
    if let Ok(v) = i64::from_str_radix(&digits, radix) {
        return Some(v as f64);
    }
    if radix == 16 {
        return None;
    }
    let v = lower.parse::<f64>().ok()?;
    v.is_finite().then_some(v)
}
