//! The PromQL lexer: turns a query into tokens with byte positions. Words
//! are not classified here (keywords are case-insensitive and context
//! dependent, so the parser decides); a lexing error becomes an `Error`
//! token so that earlier syntax errors are still reported first.

/// Token kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A word without `:` (identifier, keyword, `Inf`, `NaN`).
    Ident,
    /// A word containing `:` (recording-rule style metric name).
    MetricIdent,
    Number,
    Duration,
    Str,
    LParen,
    RParen,
    LBrace,
    RBrace,
    LBracket,
    RBracket,
    Comma,
    Colon,
    /// `=` (label matching)
    Assign,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eqlc,
    Neq,
    Lss,
    Gtr,
    Lte,
    Gte,
    EqlRegex,
    NeqRegex,
    /// `</`
    TrimUpper,
    /// `>/`
    TrimLower,
    At,
    Error,
    Eof,
}

/// A token; `msg` is set for `Error` tokens.
#[derive(Clone, Debug)]
pub struct Token {
    pub kind: Tok,
    pub start: usize,
    pub end: usize,
    pub msg: Option<String>,
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    out: Vec<Token>,
    parens: usize,
    brackets: usize,
    in_braces: bool,
}

/// Tokenizes a whole query. The last token is `Eof` or `Error`.
pub fn lex(src: &str) -> Vec<Token> {
    let mut l = Lexer {
        src,
        b: src.as_bytes(),
        pos: 0,
        out: Vec::new(),
        parens: 0,
        brackets: 0,
        in_braces: false,
    };
    if let Err((at, msg)) = l.run() {
        l.out.push(Token {
            kind: Tok::Error,
            start: at,
            end: src.len(),
            msg: Some(msg),
        });
    }
    l.out
}

fn is_word_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

impl Lexer<'_> {
    fn peek(&self, off: usize) -> u8 {
        self.b.get(self.pos + off).copied().unwrap_or(0)
    }

    fn push(&mut self, kind: Tok, start: usize) {
        self.out.push(Token {
            kind,
            start,
            end: self.pos,
            msg: None,
        });
    }

    fn run(&mut self) -> Result<(), (usize, String)> {
        loop {
            // Whitespace and comments.
            while self.pos < self.b.len() {
                match self.b[self.pos] {
                    b' ' | b'\t' | b'\n' | b'\r' => self.pos += 1,
                    b'#' => {
                        while self.pos < self.b.len() && self.b[self.pos] != b'\n' {
                            self.pos += 1;
                        }
                    }
                    _ => break,
                }
            }
            let start = self.pos;
            if self.pos >= self.b.len() {
                if self.in_braces {
                    return Err((start, "unexpected end of input inside braces".into()));
                }
                if self.brackets > 0 {
                    return Err((start, "unclosed left bracket".into()));
                }
                if self.parens > 0 {
                    return Err((start, "unclosed left parenthesis".into()));
                }
                self.push(Tok::Eof, start);
                return Ok(());
            }
            let c = self.b[self.pos];
            let two = (c, self.peek(1));
            let kind = match two {
                (b'=', b'=') if !self.in_braces => Some((Tok::Eqlc, 2)),
                (b'=', b'~') if self.in_braces => Some((Tok::EqlRegex, 2)),
                (b'!', b'=') => Some((Tok::Neq, 2)),
                (b'!', b'~') if self.in_braces => Some((Tok::NeqRegex, 2)),
                (b'=', b'~') => {
                    return Err((start, "unexpected character after '=': '~'".into()));
                }
                (b'<', b'=') => Some((Tok::Lte, 2)),
                (b'>', b'=') => Some((Tok::Gte, 2)),
                (b'<', b'/') => Some((Tok::TrimUpper, 2)),
                (b'>', b'/') => Some((Tok::TrimLower, 2)),
                _ => None,
            };
            if let Some((k, n)) = kind {
                self.pos += n;
                self.push(k, start);
                continue;
            }
            let single = match c {
                b'(' => Some(Tok::LParen),
                b')' => Some(Tok::RParen),
                b'{' => Some(Tok::LBrace),
                b'}' => Some(Tok::RBrace),
                b'[' => Some(Tok::LBracket),
                b']' => Some(Tok::RBracket),
                b',' => Some(Tok::Comma),
                b':' if self.in_braces || self.brackets > 0 || !is_word_start(self.peek(1)) => {
                    Some(Tok::Colon)
                }
                b'=' => Some(Tok::Assign),
                b'+' => Some(Tok::Add),
                b'-' => Some(Tok::Sub),
                b'*' => Some(Tok::Mul),
                b'/' => Some(Tok::Div),
                b'%' => Some(Tok::Mod),
                b'^' => Some(Tok::Pow),
                b'<' => Some(Tok::Lss),
                b'>' => Some(Tok::Gtr),
                b'@' => Some(Tok::At),
                _ => None,
            };
            if let Some(k) = single {
                self.track(k, start)?;
                self.pos += 1;
                self.push(k, start);
                continue;
            }
            match c {
                b'"' | b'\'' => self.string(c)?,
                b'`' => self.raw_string()?,
                b'!' => {
                    let next = self.src[start + 1..].chars().next().unwrap_or(' ');
                    return Err((start, format!("unexpected character after '!': {next:?}")));
                }
                c if !self.in_braces
                    && (c.is_ascii_digit() || (c == b'.' && self.peek(1).is_ascii_digit())) =>
                {
                    self.number()?
                }
                c if is_word_start(c) || (c == b':' && !self.in_braces) => self.word(),
                _ => {
                    let ch = self.src[start..].chars().next().unwrap_or('?');
                    let what = if self.in_braces {
                        format!("unexpected character inside braces: {ch:?}")
                    } else {
                        format!("unexpected character: {ch:?}")
                    };
                    return Err((start, what));
                }
            }
        }
    }

    /// Bracket bookkeeping for the lexer-level errors Prometheus reports.
    fn track(&mut self, k: Tok, at: usize) -> Result<(), (usize, String)> {
        match k {
            Tok::LParen => self.parens += 1,
            Tok::RParen => {
                if self.parens == 0 {
                    return Err((at, "unexpected right parenthesis ')'".into()));
                }
                self.parens -= 1;
            }
            Tok::LBrace => {
                if self.in_braces {
                    return Err((at, "unexpected left brace '{'".into()));
                }
                self.in_braces = true;
            }
            Tok::RBrace => {
                if !self.in_braces {
                    return Err((at, "unexpected right brace '}'".into()));
                }
                self.in_braces = false;
            }
            Tok::LBracket => {
                if self.brackets > 0 {
                    return Err((at, "unexpected left bracket '['".into()));
                }
                self.brackets += 1;
            }
            Tok::RBracket => {
                if self.brackets == 0 {
                    return Err((at, "unexpected right bracket ']'".into()));
                }
                self.brackets -= 1;
            }
            _ => {}
        }
        Ok(())
    }

    fn word(&mut self) {
        let start = self.pos;
        let mut colon = false;
        while self.pos < self.b.len() {
            let c = self.b[self.pos];
            if is_alnum(c) {
                self.pos += 1;
            } else if c == b':' && !self.in_braces && self.brackets == 0 {
                colon = true;
                self.pos += 1;
            } else {
                break;
            }
        }
        self.push(if colon { Tok::MetricIdent } else { Tok::Ident }, start);
    }

    fn string(&mut self, q: u8) -> Result<(), (usize, String)> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.b.get(self.pos) {
                None | Some(b'\n') => {
                    return Err((start, "unterminated quoted string".into()));
                }
                Some(b'\\') if self.pos + 1 >= self.b.len() => {
                    return Err((start, "escape sequence not terminated".into()));
                }
                Some(b'\\') => self.pos += 2,
                Some(&c) if c == q => {
                    self.pos += 1;
                    self.push(Tok::Str, start);
                    return Ok(());
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn raw_string(&mut self) -> Result<(), (usize, String)> {
        let start = self.pos;
        self.pos += 1;
        loop {
            match self.b.get(self.pos) {
                None => return Err((start, "unterminated raw string".into())),
                Some(b'`') => {
                    self.pos += 1;
                    self.push(Tok::Str, start);
                    return Ok(());
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    fn digits(&mut self, hex: bool) -> usize {
        let s = self.pos;
        while self.pos < self.b.len() {
            let c = self.b[self.pos];
            if c.is_ascii_digit() || c == b'_' || (hex && c.is_ascii_hexdigit()) {
                self.pos += 1;
            } else {
                break;
            }
        }
        self.pos - s
    }

    /// A number (`1`, `1.5e3`, `0x1f`, `.5`) or a duration (`1h30m`).
    fn number(&mut self) -> Result<(), (usize, String)> {
        let start = self.pos;
        let hex = self.peek(0) == b'0' && matches!(self.peek(1), b'x' | b'X');
        if hex {
            self.pos += 2;
            self.digits(true);
        } else {
            self.digits(false);
            if self.peek(0) == b'.' {
                self.pos += 1;
                self.digits(false);
            }
            if matches!(self.peek(0), b'e' | b'E') {
                let save = self.pos;
                self.pos += 1;
                if matches!(self.peek(0), b'+' | b'-') {
                    self.pos += 1;
                }
                if self.digits(false) == 0 {
                    self.pos = save;
                }
            }
        }
        if !is_alnum(self.peek(0)) {
            self.push(Tok::Number, start);
            return Ok(());
        }
        // A duration: unit letters, then more digit+unit groups, as
        // Prometheus' lexer accepts them (bad units are caught when the
        // duration is parsed).
        let accept = |l: &mut Self, set: &[u8]| {
            let ok = set.contains(&l.peek(0)) && l.pos < l.b.len();
            if ok {
                l.pos += 1;
            }
            ok
        };
        let bad = |l: &Self, end: usize| {
            let text = &l.src[start..end.min(l.src.len())];
            Err((start, format!("bad number or duration syntax: {text:?}")))
        };
        if !accept(self, b"smhdwy") {
            return bad(self, self.pos);
        }
        accept(self, b"s");
        while accept(self, b"0123456789") {
            while accept(self, b"0123456789") {}
            if !accept(self, b"smhdw") {
                return bad(self, self.pos + 1);
            }
            accept(self, b"s");
        }
        if is_alnum(self.peek(0)) {
            return bad(self, self.pos + 1);
        }
        self.push(Tok::Duration, start);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        lex(s).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn tokens() {
        use Tok::*;
        assert_eq!(
            kinds(r#"sum by (a) (rate(x{a=~"b"}[5m])) # c"#),
            vec![
                Ident, Ident, LParen, Ident, RParen, LParen, Ident, LParen, Ident, LBrace, Ident,
                EqlRegex, Str, RBrace, LBracket, Duration, RBracket, RParen, RParen, Eof
            ]
        );
        assert_eq!(kinds("a:b == 1e-3"), vec![MetricIdent, Eqlc, Number, Eof]);
        assert_eq!(kinds("0x1F .5"), vec![Number, Number, Eof]);
        assert_eq!(
            kinds("x[1h30m:1m]"),
            vec![Ident, LBracket, Duration, Colon, Duration, RBracket, Eof]
        );
        assert_eq!(kinds("(1"), vec![LParen, Number, Error]);
        assert_eq!(kinds("1a"), vec![Error]);
    }
}
