//! The TraceQL lexer: turns a query into tokens with 1-based line/column
//! positions (columns count characters). It follows Tempo's lexing rules:
//! a number directly followed by a unit is a duration (`1ms`, `1.5s`,
//! `1h30m`); `span.`, `resource.`, `event.`, `link.`, `instrumentation.`,
//! `parent.` and a lone `.` start an attribute whose name runs to the next
//! space or one of `{}()=~!<>&|^,` (so dots and `-` belong to the name) and
//! may contain quoted parts (`span."http status"`); `span:`, `trace:`,
//! `event:`, `link:` and `instrumentation:` start a scoped intrinsic.
//! Keywords are plain words; the parser gives them meaning. A lexing error
//! becomes a [`Tok::Err`] token that ends the stream.

use super::ast::{Attribute, Scope};

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A word: identifier or keyword.
    Ident(String),
    /// A string literal, unquoted.
    Str(String),
    Int(i64),
    Float(f64),
    /// Nanoseconds.
    Duration(i64),
    /// A whole attribute selector (`span.http.method`).
    Attr(Attribute),
    /// `span:`, `trace:`, ... (the scope word).
    ScopeColon(&'static str),
    /// Punctuation and operators.
    Op(&'static str),
    /// A lexing error (the whole message).
    Err(String),
    Eof,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
    pub col: usize,
}

/// Operators, longest first, with Tempo's token names.
const OPS: &[(&str, &str)] = &[
    ("!>>", "NOT_DESC"),
    ("!<<", "NOT_ANCE"),
    ("&>>", "UNION_DESC"),
    ("&<<", "UNION_ANCE"),
    ("&&", "AND"),
    ("||", "OR"),
    ("!=", "NEQ"),
    ("!~", "NRE"),
    ("!>", "NOT_CHILD"),
    ("!<", "NOT_PARENT"),
    ("&>", "UNION_CHILD"),
    ("&<", "UNION_PARENT"),
    ("&~", "UNION_SIBL"),
    ("=~", "RE"),
    (">=", "GTE"),
    ("<=", "LTE"),
    (">>", "DESC"),
    ("<<", "ANCE"),
    ("{", "OPEN_BRACE"),
    ("}", "CLOSE_BRACE"),
    ("(", "OPEN_PARENS"),
    (")", "CLOSE_PARENS"),
    (",", "COMMA"),
    ("|", "PIPE"),
    ("=", "EQ"),
    ("<", "LT"),
    (">", "GT"),
    ("~", "SIBL"),
    ("+", "ADD"),
    ("-", "SUB"),
    ("*", "MUL"),
    ("/", "DIV"),
    ("%", "MOD"),
    ("^", "POW"),
    ("!", "NOT"),
];

/// Keywords with Tempo's token names.
const KEYWORDS: &[(&str, &str)] = &[
    ("true", "TRUE"),
    ("false", "FALSE"),
    ("nil", "NIL"),
    ("ok", "STATUS_OK"),
    ("error", "STATUS_ERROR"),
    ("unset", "STATUS_UNSET"),
    ("unspecified", "KIND_UNSPECIFIED"),
    ("internal", "KIND_INTERNAL"),
    ("server", "KIND_SERVER"),
    ("client", "KIND_CLIENT"),
    ("producer", "KIND_PRODUCER"),
    ("consumer", "KIND_CONSUMER"),
    ("duration", "IDURATION"),
    ("childCount", "CHILDCOUNT"),
    ("name", "NAME"),
    ("status", "STATUS"),
    ("statusMessage", "STATUS_MESSAGE"),
    ("kind", "KIND"),
    ("parent", "PARENT"),
    ("rootName", "ROOTNAME"),
    ("rootServiceName", "ROOTSERVICENAME"),
    ("rootService", "ROOTSERVICE"),
    ("traceDuration", "TRACEDURATION"),
    ("nestedSetLeft", "NESTEDSETLEFT"),
    ("nestedSetRight", "NESTEDSETRIGHT"),
    ("nestedSetParent", "NESTEDSETPARENT"),
    ("id", "ID"),
    ("traceID", "TRACE_ID"),
    ("spanID", "SPAN_ID"),
    ("parentID", "PARENT_ID"),
    ("timeSinceStart", "TIMESINCESTART"),
    ("version", "VERSION"),
    ("count", "COUNT"),
    ("avg", "AVG"),
    ("max", "MAX"),
    ("min", "MIN"),
    ("sum", "SUM"),
    ("by", "BY"),
    ("coalesce", "COALESCE"),
    ("select", "SELECT"),
    ("with", "WITH"),
];

impl Tok {
    /// Tempo's name of the token, for error messages.
    pub fn name(&self) -> String {
        match self {
            Tok::Ident(w) => keyword_name(w).unwrap_or("IDENTIFIER").into(),
            Tok::Str(_) => "STRING".into(),
            Tok::Int(_) => "INTEGER".into(),
            Tok::Float(_) => "FLOAT".into(),
            Tok::Duration(_) => "DURATION".into(),
            Tok::Attr(a) => match (a.parent, a.scope) {
                (true, _) => "PARENT_DOT",
                (false, Scope::None) => "DOT",
                (false, Scope::Span) => "SPAN_DOT",
                (false, Scope::Resource) => "RESOURCE_DOT",
                (false, Scope::Event) => "EVENT_DOT",
                (false, Scope::Link) => "LINK_DOT",
                (false, Scope::Instrumentation) => "INSTRUMENTATION_DOT",
            }
            .into(),
            Tok::ScopeColon(s) => format!("{}_COLON", s.to_uppercase()),
            Tok::Op(o) => op_name(o).into(),
            Tok::Err(_) => "error".into(),
            Tok::Eof => "$end".into(),
        }
    }

    pub fn is_op(&self, op: &str) -> bool {
        matches!(self, Tok::Op(o) if *o == op)
    }

    pub fn is_kw(&self, kw: &str) -> bool {
        matches!(self, Tok::Ident(w) if w == kw)
    }
}

/// Tempo's token name of a keyword.
pub fn keyword_name(w: &str) -> Option<&'static str> {
    KEYWORDS.iter().find(|(k, _)| *k == w).map(|(_, n)| *n)
}

/// Tempo's token name of an operator.
pub fn op_name(op: &str) -> &'static str {
    OPS.iter()
        .find(|(o, _)| *o == op)
        .map(|(_, n)| *n)
        .unwrap_or("IDENTIFIER")
}

/// Whether `c` may appear unquoted in an attribute name.
pub fn is_attribute_char(c: char) -> bool {
    !c.is_whitespace() && !"{}()=~!<>&|^,\"".contains(c)
}

/// Nanoseconds per duration unit, longest spelling first.
const UNITS: &[(&str, i64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
    ("d", 86_400_000_000_000),
    ("w", 604_800_000_000_000),
    ("y", 31_536_000_000_000_000),
];

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    col: usize,
}

/// Lexes a whole query; the last token is [`Tok::Eof`] or [`Tok::Err`].
pub fn lex(src: &str) -> Vec<Token> {
    let mut l = Lexer {
        chars: src.chars().collect(),
        pos: 0,
        line: 1,
        col: 1,
    };
    let mut out = Vec::new();
    loop {
        l.skip_space();
        let (line, col) = (l.line, l.col);
        let tok = l.next_tok();
        let end = matches!(tok, Tok::Eof | Tok::Err(_));
        out.push(Token { tok, line, col });
        if end {
            return out;
        }
    }
}

impl Lexer {
    fn peek(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_space(&mut self) {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(i, c)| self.peek(i) == Some(c))
    }

    fn next_tok(&mut self) -> Tok {
        let Some(c) = self.peek(0) else {
            return Tok::Eof;
        };
        if c.is_ascii_digit() || (c == '.' && self.peek(1).is_some_and(|d| d.is_ascii_digit())) {
            return self.number();
        }
        if c == '"' || c == '`' {
            return self.string(c);
        }
        if c == '.' {
            self.bump();
            return self.attribute(Scope::None, false);
        }
        if c.is_alphabetic() || c == '_' {
            return self.word();
        }
        for (op, _) in OPS {
            if self.starts_with(op) {
                for _ in 0..op.chars().count() {
                    self.bump();
                }
                return Tok::Op(op);
            }
        }
        Tok::Err(format!("syntax error: unexpected {c:?}"))
    }

    fn word(&mut self) -> Tok {
        let start = self.pos;
        while self
            .peek(0)
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            self.bump();
        }
        let w: String = self.chars[start..self.pos].iter().collect();
        let next = self.peek(0);
        if next == Some('.') {
            let scope = match w.as_str() {
                "span" => Some(Scope::Span),
                "resource" => Some(Scope::Resource),
                "event" => Some(Scope::Event),
                "link" => Some(Scope::Link),
                "instrumentation" => Some(Scope::Instrumentation),
                _ => None,
            };
            if let Some(scope) = scope {
                self.bump();
                return self.attribute(scope, false);
            }
            if w == "parent" {
                self.bump();
                let scope = if self.starts_with("span.") {
                    Scope::Span
                } else if self.starts_with("resource.") {
                    Scope::Resource
                } else {
                    return self.attribute(Scope::None, true);
                };
                let skip = if scope == Scope::Span { 5 } else { 9 };
                for _ in 0..skip {
                    self.bump();
                }
                return self.attribute(scope, true);
            }
        }
        if next == Some(':') {
            let scope = match w.as_str() {
                "span" => Some("span"),
                "trace" => Some("trace"),
                "event" => Some("event"),
                "link" => Some("link"),
                "instrumentation" => Some("instrumentation"),
                _ => None,
            };
            if let Some(s) = scope {
                self.bump();
                return Tok::ScopeColon(s);
            }
        }
        Tok::Ident(w)
    }

    /// The name of an attribute, after its `scope.` prefix.
    fn attribute(&mut self, scope: Scope, parent: bool) -> Tok {
        let mut name = String::new();
        loop {
            match self.peek(0) {
                Some('"') => {
                    self.bump();
                    loop {
                        match self.bump() {
                            None => return Tok::Err("unexpected EOF, expecting '\"'".into()),
                            Some('"') => break,
                            Some('\\') => match self.bump() {
                                Some(e @ ('\\' | '"')) => name.push(e),
                                _ => return Tok::Err("invalid escape sequence".into()),
                            },
                            Some(c) => name.push(c),
                        }
                    }
                }
                Some(c) if is_attribute_char(c) => {
                    name.push(c);
                    self.bump();
                }
                _ => break,
            }
        }
        if name.is_empty() {
            return Tok::Err("syntax error: unexpected END_ATTRIBUTE, expecting IDENTIFIER".into());
        }
        Tok::Attr(Attribute {
            scope,
            parent,
            name,
        })
    }

    fn digits(&mut self) {
        while self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
        }
    }

    fn number(&mut self) -> Tok {
        let start = self.pos;
        self.digits();
        let mut float = false;
        if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
            float = true;
            self.bump();
            self.digits();
        }
        if self.unit_len().is_some() {
            // Numbers never span lines: rewind and read a duration.
            self.col -= self.pos - start;
            self.pos = start;
            return self.duration();
        }
        if matches!(self.peek(0), Some('e' | 'E')) {
            let sign = usize::from(matches!(self.peek(1), Some('+' | '-')));
            if self.peek(1 + sign).is_some_and(|c| c.is_ascii_digit()) {
                float = true;
                for _ in 0..=sign {
                    self.bump();
                }
                self.digits();
            }
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if float {
            match text.parse::<f64>() {
                Ok(f) => Tok::Float(f),
                Err(_) => Tok::Err(format!("invalid float: {text}")),
            }
        } else {
            match text.parse::<i64>() {
                Ok(i) => Tok::Int(i),
                Err(_) => Tok::Err(format!("integer out of range: {text}")),
            }
        }
    }

    /// The length in chars of a duration unit at the cursor, if any.
    fn unit_len(&self) -> Option<(usize, i64)> {
        UNITS.iter().find_map(|(u, ns)| {
            let n = u.chars().count();
            let after = self.peek(n);
            let word_goes_on = after.is_some_and(|c| c.is_alphabetic() || c == '_');
            (self.starts_with(u) && !word_goes_on).then_some((n, *ns))
        })
    }

    /// `1h30m`, `1.5s`: number-unit pairs.
    fn duration(&mut self) -> Tok {
        let start = self.pos;
        let mut total: f64 = 0.0;
        loop {
            let num_start = self.pos;
            self.digits();
            if self.peek(0) == Some('.') && self.peek(1).is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
                self.digits();
            }
            let text: String = self.chars[num_start..self.pos].iter().collect();
            let Some((len, ns)) = self.unit_len() else {
                let all: String = self.chars[start..self.pos].iter().collect();
                return Tok::Err(format!("invalid duration: {all}"));
            };
            for _ in 0..len {
                self.bump();
            }
            let v: f64 = text.parse().unwrap_or(0.0);
            total += v * ns as f64;
            if !self.peek(0).is_some_and(|c| c.is_ascii_digit()) {
                break;
            }
        }
        if total > i64::MAX as f64 {
            let all: String = self.chars[start..self.pos].iter().collect();
            return Tok::Err(format!("duration out of range: {all}"));
        }
        Tok::Duration(total.round() as i64)
    }

    fn string(&mut self, quote: char) -> Tok {
        self.bump();
        let mut s = String::new();
        loop {
            let Some(c) = self.bump() else {
                return Tok::Err("literal not terminated".into());
            };
            if c == quote {
                return Tok::Str(s);
            }
            if c == '\\' && quote == '"' {
                match self.escape() {
                    Some(e) => s.push(e),
                    None => return Tok::Err("invalid char escape".into()),
                }
            } else if c == '\n' && quote == '"' {
                return Tok::Err("literal not terminated".into());
            } else {
                s.push(c);
            }
        }
    }

    /// Go's escapes after a backslash.
    fn escape(&mut self) -> Option<char> {
        let c = self.bump()?;
        Some(match c {
            'a' => '\x07',
            'b' => '\x08',
            'f' => '\x0c',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\x0b',
            '\\' | '"' | '\'' => c,
            'x' => return self.hex(2),
            'u' => return self.hex(4),
            'U' => return self.hex(8),
            '0'..='7' => {
                let mut v = c.to_digit(8)?;
                for _ in 0..2 {
                    v = v * 8 + self.bump()?.to_digit(8)?;
                }
                return char::from_u32(v);
            }
            _ => return None,
        })
    }

    fn hex(&mut self, n: usize) -> Option<char> {
        let mut v = 0u32;
        for _ in 0..n {
            v = v.checked_mul(16)? + self.bump()?.to_digit(16)?;
        }
        char::from_u32(v)
    }
}
