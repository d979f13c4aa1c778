//! The LogQL lexer: turns a query into tokens with 1-based line/column
//! positions, the way Loki's lexer (Go's `text/scanner` plus Loki's rules)
//! does it: numbers directly followed by a unit become durations or byte
//! sizes, `[...]` is a whole range token, `--strict`/`--keep-empty` are
//! parser flags, words are keywords case-insensitively, and function names
//! are only functions when an opening parenthesis (or `by`/`without (`)
//! follows. A lexing error becomes an [`Tok::Err`] token that ends the
//! stream, so it is reported when the parser reaches it.

use crate::promql::parser::duration::parse_duration_ms;
use crate::promql::parser::strings::unquote;

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// A word: identifier, keyword or function name.
    Word {
        text: String,
        is_func: bool,
    },
    /// A string literal, unquoted.
    Str(String),
    /// A number literal, as written.
    Number(String),
    /// A number with a time unit (`1.5s`, `-5m`), in nanoseconds.
    Duration(i64),
    /// A number with a byte unit (`10KB`), in bytes.
    Bytes(u64),
    /// `[5m]`, in nanoseconds.
    Range(i64),
    /// `--strict`, `--keep-empty`.
    Flag(String),
    /// Punctuation and operators (`{`, `|=`, `>=`, ...).
    Op(&'static str),
    /// A character no rule knows (Loki reports it as an identifier).
    Other(String),
    /// A lexing error (the message).
    Err(String),
    Eof,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub line: usize,
    pub col: usize,
}

/// Words that are keywords wherever they appear (Loki's `tokens` table).
const KEYWORDS: &[&str] = &[
    "by",
    "without",
    "bool",
    "offset",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "or",
    "and",
    "unless",
    "json",
    "regexp",
    "logfmt",
    "unpack",
    "pattern",
    "label_format",
    "line_format",
    "ip",
    "decolorize",
    "drop",
    "keep",
    "unwrap",
    "label_replace",
    "variants",
    "of",
];

/// Words that are keywords only when used as functions, with Loki's
/// token names.
const FUNCTIONS: &[(&str, &str)] = &[
    ("rate", "RATE"),
    ("rate_counter", "RATE_COUNTER"),
    ("count_over_time", "COUNT_OVER_TIME"),
    ("bytes_rate", "BYTES_RATE"),
    ("bytes_over_time", "BYTES_OVER_TIME"),
    ("avg_over_time", "AVG_OVER_TIME"),
    ("sum_over_time", "SUM_OVER_TIME"),
    ("min_over_time", "MIN_OVER_TIME"),
    ("max_over_time", "MAX_OVER_TIME"),
    ("stdvar_over_time", "STDVAR_OVER_TIME"),
    ("stddev_over_time", "STDDEV_OVER_TIME"),
    ("quantile_over_time", "QUANTILE_OVER_TIME"),
    ("first_over_time", "FIRST_OVER_TIME"),
    ("last_over_time", "LAST_OVER_TIME"),
    ("absent_over_time", "ABSENT_OVER_TIME"),
    ("vector", "VECTOR"),
    ("sum", "SUM"),
    ("avg", "AVG"),
    ("max", "MAX"),
    ("min", "MIN"),
    ("count", "COUNT"),
    ("stddev", "STDDEV"),
    ("stdvar", "STDVAR"),
    ("bottomk", "BOTTOMK"),
    ("topk", "TOPK"),
    ("sort", "SORT"),
    ("sort_desc", "SORT_DESC"),
    ("approx_topk", "APPROX_TOPK"),
    ("bytes", "BYTES_CONV"),
    ("duration", "DURATION_CONV"),
    ("duration_seconds", "DURATION_SECONDS_CONV"),
];

impl Tok {
    /// The lowercase keyword this token is, if it is one.
    pub fn keyword(&self) -> Option<String> {
        match self {
            Tok::Word { text, is_func } => {
                let l = text.to_lowercase();
                if KEYWORDS.contains(&l.as_str())
                    || (*is_func && FUNCTIONS.iter().any(|(f, _)| *f == l))
                {
                    Some(l)
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Is this the keyword `kw` (lowercase)?
    pub fn is_kw(&self, kw: &str) -> bool {
        self.keyword().is_some_and(|k| k == kw)
    }

    /// An identifier: a word that is not a keyword.
    pub fn ident(&self) -> Option<&str> {
        match self {
            Tok::Word { text, .. } if self.keyword().is_none() => Some(text),
            _ => None,
        }
    }

    pub fn is_op(&self, op: &str) -> bool {
        matches!(self, Tok::Op(o) if *o == op)
    }

    /// The token's name in Loki's syntax error messages.
    pub fn name(&self) -> String {
        match self {
            Tok::Word { .. } => match self.keyword() {
                None => "IDENTIFIER".into(),
                Some(k) if KEYWORDS.contains(&k.as_str()) => k,
                Some(k) => FUNCTIONS
                    .iter()
                    .find(|(f, _)| *f == k)
                    .map(|(_, n)| n.to_string())
                    .unwrap_or_else(|| "IDENTIFIER".into()),
            },
            Tok::Str(_) => "STRING".into(),
            Tok::Number(_) => "NUMBER".into(),
            Tok::Duration(_) => "DURATION".into(),
            Tok::Bytes(_) => "BYTES".into(),
            Tok::Range(_) => "RANGE".into(),
            Tok::Flag(_) => "PARSER_FLAG".into(),
            Tok::Op(o) => o.to_string(),
            Tok::Other(_) => "IDENTIFIER".into(),
            Tok::Err(_) => "error".into(),
            Tok::Eof => "$end".into(),
        }
    }
}

const TWO_CHAR_OPS: &[&str] = &["!=", "=~", "!~", "!>", "|=", "|~", "|>", "==", ">=", "<="];
const ONE_CHAR_OPS: &[&str] = &[
    "|", "=", ">", "<", "+", "-", "*", "/", "%", "^", ",", ".", "{", "}", "(", ")",
];

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    col: usize,
}

/// Lexes a whole query. The last token is [`Tok::Eof`] or [`Tok::Err`].
pub fn lex(src: &str) -> Vec<Token> {
    let mut lx = Lexer {
        chars: src.chars().collect(),
        pos: 0,
        line: 1,
        col: 1,
    };
    let mut out = Vec::new();
    loop {
        let t = lx.next_token();
        let end = matches!(t.tok, Tok::Eof | Tok::Err(_));
        out.push(t);
        if end {
            return out;
        }
    }
}

fn is_duration_rune(c: char) -> bool {
    matches!(c, 'n' | 'u' | 'µ' | 'm' | 's' | 'h' | 'd' | 'w' | 'y')
}

fn is_bytes_rune(c: char) -> bool {
    matches!(c, 'B' | 'i' | 'k' | 'K' | 'M' | 'G' | 'T' | 'P')
}

impl Lexer {
    fn peek_at(&self, off: usize) -> Option<char> {
        self.chars.get(self.pos + off).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied()?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.col = 1;
        } else {
            self.col += 1;
        }
        Some(c)
    }

    fn skip_space_and_comments(&mut self) {
        while let Some(c) = self.peek_at(0) {
            if c.is_whitespace() {
                self.bump();
            } else if c == '#' || (c == '/' && self.peek_at(1) == Some('/')) {
                // `#` is LogQL's comment; `//` and `/* */` are skipped by
                // Go's scanner under Loki's lexer too.
                while let Some(c) = self.peek_at(0) {
                    if c == '\n' {
                        break;
                    }
                    self.bump();
                }
            } else if c == '/' && self.peek_at(1) == Some('*') {
                self.bump();
                self.bump();
                while self.peek_at(0).is_some()
                    && !(self.peek_at(0) == Some('*') && self.peek_at(1) == Some('/'))
                {
                    self.bump();
                }
                self.bump();
                self.bump();
            } else {
                break;
            }
        }
    }

    /// The run of characters from `off` on that satisfy `ok`.
    fn run_from(&self, off: usize, ok: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        let mut i = self.pos + off;
        while let Some(&c) = self.chars.get(i) {
            if !ok(c) {
                break;
            }
            s.push(c);
            i += 1;
        }
        s
    }

    fn next_token(&mut self) -> Token {
        self.skip_space_and_comments();
        let (line, col) = (self.line, self.col);
        let tok = self.scan();
        Token { tok, line, col }
    }

    fn scan(&mut self) -> Tok {
        let Some(c) = self.peek_at(0) else {
            return Tok::Eof;
        };
        if c.is_ascii_digit() || (c == '.' && self.peek_at(1).is_some_and(|d| d.is_ascii_digit())) {
            return self.number();
        }
        if c.is_alphabetic() || c == '_' {
            return self.word();
        }
        match c {
            '"' | '`' => return self.string(c),
            '[' => return self.range(),
            '-' => {
                if self.peek_at(1) == Some('-') {
                    let flag = format!("--{}", self.run_from(2, |c| c.is_alphabetic() || c == '-'));
                    if flag == "--strict" || flag == "--keep-empty" {
                        for _ in 0..flag.chars().count() {
                            self.bump();
                        }
                        return Tok::Flag(flag);
                    }
                }
                let run =
                    self.run_from(1, |c| c.is_ascii_digit() || c == '.' || is_duration_rune(c));
                if !run.is_empty() {
                    if let Some(ns) = parse_go_duration(&format!("-{run}")) {
                        for _ in 0..=run.chars().count() {
                            self.bump();
                        }
                        return Tok::Duration(ns);
                    }
                }
            }
            _ => {}
        }
        let next = self.peek_at(1);
        if let Some(n) = next {
            let two: String = [c, n].iter().collect();
            if let Some(op) = TWO_CHAR_OPS.iter().find(|o| **o == two) {
                self.bump();
                self.bump();
                return Tok::Op(op);
            }
        }
        self.bump();
        let one = c.to_string();
        match ONE_CHAR_OPS.iter().find(|o| **o == one) {
            Some(op) => Tok::Op(op),
            None => Tok::Other(one),
        }
    }

    fn number(&mut self) -> Tok {
        let mut text = String::new();
        while let Some(c) = self.peek_at(0).filter(|c| c.is_ascii_digit()) {
            text.push(c);
            self.bump();
        }
        if self.peek_at(0) == Some('.') {
            text.push('.');
            self.bump();
            while let Some(c) = self.peek_at(0).filter(|c| c.is_ascii_digit()) {
                text.push(c);
                self.bump();
            }
        }
        if matches!(self.peek_at(0), Some('e' | 'E')) {
            let sign = matches!(self.peek_at(1), Some('+' | '-'));
            let d = if sign { 2 } else { 1 };
            if self.peek_at(d).is_some_and(|c| c.is_ascii_digit()) {
                for _ in 0..d {
                    if let Some(c) = self.bump() {
                        text.push(c);
                    }
                }
                while let Some(c) = self.peek_at(0).filter(|c| c.is_ascii_digit()) {
                    text.push(c);
                    self.bump();
                }
            }
        }
        let stop = |c: char| c.is_whitespace();
        let run = self.run_from(0, |c| {
            !stop(c) && (c.is_ascii_digit() || c == '.' || is_duration_rune(c))
        });
        if !run.is_empty() {
            if let Some(ns) = parse_go_duration(&format!("{text}{run}")) {
                for _ in 0..run.chars().count() {
                    self.bump();
                }
                return Tok::Duration(ns);
            }
        }
        let run = self.run_from(0, |c| {
            !stop(c) && (c.is_ascii_digit() || c == '.' || is_bytes_rune(c))
        });
        if !run.is_empty() {
            if let Some(b) = parse_humanize_bytes(&format!("{text}{run}")) {
                for _ in 0..run.chars().count() {
                    self.bump();
                }
                return Tok::Bytes(b);
            }
        }
        Tok::Number(text)
    }

    fn word(&mut self) -> Tok {
        let mut text = String::new();
        while let Some(c) = self.peek_at(0).filter(|c| c.is_alphanumeric() || *c == '_') {
            text.push(c);
            self.bump();
        }
        let is_func = self.followed_by_call();
        Tok::Word { text, is_func }
    }

    /// Loki's `isFunction`: `(` next, or `by`/`without` and then `(`.
    fn followed_by_call(&self) -> bool {
        let mut i = self.pos;
        let skip_ws = |mut i: usize| {
            while self.chars.get(i).is_some_and(|c| c.is_whitespace()) {
                i += 1;
            }
            i
        };
        i = skip_ws(i);
        if self.chars.get(i) == Some(&'(') {
            return true;
        }
        for kw in ["by", "without"] {
            let n = kw.len();
            let w: String = self.chars.iter().skip(i).take(n).collect();
            if w.to_lowercase() == kw {
                let j = skip_ws(i + n);
                return self.chars.get(j) == Some(&'(');
            }
        }
        false
    }

    fn string(&mut self, q: char) -> Tok {
        let mut raw = String::new();
        raw.push(q);
        self.bump();
        loop {
            let Some(c) = self.peek_at(0) else {
                return Tok::Err("literal not terminated".into());
            };
            if q == '"' && c == '\n' {
                return Tok::Err("literal not terminated".into());
            }
            self.bump();
            raw.push(c);
            if c == q {
                break;
            }
            if q == '"' && c == '\\' {
                match self.bump() {
                    Some(e) => raw.push(e),
                    None => return Tok::Err("literal not terminated".into()),
                }
            }
        }
        match unquote(&raw) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(s) => Tok::Str(s),
                Err(_) => Tok::Err("invalid UTF-8 rune".into()),
            },
            Err(e) => Tok::Err(e),
        }
    }

    fn range(&mut self) -> Tok {
        self.bump();
        let mut inner = String::new();
        loop {
            match self.bump() {
                None => return Tok::Err("missing closing ']' in duration".into()),
                Some(']') => break,
                Some(c) => inner.push(c),
            }
        }
        if inner.is_empty() {
            return Tok::Err("empty duration string".into());
        }
        match parse_duration_ms(&inner) {
            Ok(ms) => match ms.checked_mul(1_000_000) {
                Some(ns) => Tok::Range(ns),
                None => Tok::Err(format!("not a valid duration string: {inner:?}")),
            },
            Err(_) => Tok::Err(format!("not a valid duration string: {inner:?}")),
        }
    }
}

/// A duration as Loki's lexer reads one: Prometheus syntax first (`1d`,
/// `1h30m`), then Go's `time.ParseDuration` (`1.5s`, `-5m`, `250us`).
/// Nanoseconds.
pub fn parse_go_duration(s: &str) -> Option<i64> {
    if let Ok(ms) = parse_duration_ms(s) {
        return ms.checked_mul(1_000_000);
    }
    go_time_parse_duration(s)
}

/// Go's `time.ParseDuration`.
fn go_time_parse_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num = &rest[..num_end];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return None;
        }
        let v: f64 = num.parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        let mult: f64 = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += v * mult;
    }
    if total > i64::MAX as f64 {
        return None;
    }
    let ns = total.round() as i64;
    Some(if neg { -ns } else { ns })
}

/// `humanize.ParseBytes`: a number and an optional unit, case-insensitive
/// (`kb`/`k` = 1000, `kib`/`ki` = 1024, ... up to peta).
pub fn parse_humanize_bytes(s: &str) -> Option<u64> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let v: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "ki" | "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mi" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gi" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" => 1e12,
        "ti" | "tib" => 1024f64.powi(4),
        "p" | "pb" => 1e15,
        "pi" | "pib" => 1024f64.powi(5),
        _ => return None,
    };
    let b = v * mult;
    if !b.is_finite() || b >= u64::MAX as f64 {
        return None;
    }
    Some(b as u64)
}
