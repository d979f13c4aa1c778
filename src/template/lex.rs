//! The lexer: splits template source into text and the tokens inside
//! `{{ }}` actions, applying trim markers (`{{- ` / ` -}}`) and dropping
//! comments (`{{/* */}}`), as Go's `text/template/parse` lexer does.

/// A token kind.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    /// Literal text between actions (already trimmed).
    Text(String),
    Left,
    Right,
    Space,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    /// Any other printable ASCII character (`,` in range declarations).
    Char(char),
    /// `.name`
    Field(String),
    /// `$name` or `$`
    Variable(String),
    Dot,
    Ident(String),
    /// A quoted string: its source text (quotes included).
    Str(String),
    RawStr(String),
    CharConst(String),
    Number(String),
    Bool(bool),
    Nil,
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
    Eof,
}

impl Tok {
    /// How Go's parser names a token in "unexpected ..." messages.
    pub fn describe(&self) -> String {
        let q = |s: &str| {
            if s.chars().count() > 10 {
                let short: String = s.chars().take(10).collect();
                format!("{short:?}...")
            } else {
                format!("{s:?}")
            }
        };
        match self {
            Tok::Eof => "EOF".into(),
            Tok::Block => "<block>".into(),
            Tok::Break => "<break>".into(),
            Tok::Continue => "<continue>".into(),
            Tok::Define => "<define>".into(),
            Tok::Else => "<else>".into(),
            Tok::End => "<end>".into(),
            Tok::If => "<if>".into(),
            Tok::Range => "<range>".into(),
            Tok::Template => "<template>".into(),
            Tok::With => "<with>".into(),
            Tok::Nil => "<nil>".into(),
            Tok::Text(s) => q(s),
            Tok::Left => q("{{"),
            Tok::Right => q("}}"),
            Tok::Space => q(" "),
            Tok::Pipe => q("|"),
            Tok::LParen => q("("),
            Tok::RParen => q(")"),
            Tok::Declare => q(":="),
            Tok::Assign => q("="),
            Tok::Char(c) => q(&c.to_string()),
            Tok::Field(s) | Tok::Ident(s) | Tok::Number(s) => q(s),
            Tok::Variable(s) => q(s),
            Tok::Str(s) | Tok::RawStr(s) | Tok::CharConst(s) => q(s),
            Tok::Dot => q("."),
            Tok::Bool(b) => q(if *b { "true" } else { "false" }),
        }
    }
}

/// A token with its byte offset in the source.
#[derive(Clone, Debug)]
pub struct Item {
    pub tok: Tok,
    pub pos: usize,
}

/// A lexing error: message and byte offset.
#[derive(Debug)]
pub struct LexError {
    pub msg: String,
    pub pos: usize,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Lexes a whole template.
pub fn lex(src: &str) -> Result<Vec<Item>, LexError> {
    let mut items = Vec::new();
    let b = src.as_bytes();
    let mut pos = 0;
    let mut trim_next_text = false;
    loop {
        // Text up to the next "{{".
        let next = src[pos..].find("{{").map(|i| pos + i);
        let end = next.unwrap_or(src.len());
        let mut text = &src[pos..end];
        if trim_next_text {
            text = text.trim_start_matches([' ', '\t', '\r', '\n']);
        }
        let left_trim =
            next.is_some_and(|n| b.len() > n + 3 && b[n + 2] == b'-' && is_space(b[n + 3]));
        if left_trim {
            text = text.trim_end_matches([' ', '\t', '\r', '\n']);
        }
        if !text.is_empty() {
            items.push(Item {
                tok: Tok::Text(text.to_string()),
                pos,
            });
        }
        let Some(start) = next else { break };
        let mut p = start + 2;
        if left_trim {
            p += 2;
        }
        // Comment?
        let after_space = {
            let mut q = p;
            if left_trim {
                while q < b.len() && is_space(b[q]) {
                    q += 1;
                }
            }
            q
        };
        if src[after_space..].starts_with("/*") {
            let Some(close) = src[after_space + 2..].find("*/") else {
                return Err(LexError {
                    msg: "unclosed comment".into(),
                    pos: start,
                });
            };
            let mut q = after_space + 2 + close + 2;
            let rest = &src[q..];
            let ws = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
            if rest[ws..].starts_with("-}}") && ws > 0 {
                trim_next_text = true;
                q += ws + 3;
            } else if rest.starts_with("}}") {
                trim_next_text = false;
                q += 2;
            } else {
                return Err(LexError {
                    msg: "comment ends before closing delimiter".into(),
                    pos: start,
                });
            }
            pos = q;
            continue;
        }
        items.push(Item {
            tok: Tok::Left,
            pos: start,
        });
        let (np, trim) = lex_action(src, p, &mut items)?;
        pos = np;
        trim_next_text = trim;
    }
    items.push(Item {
        tok: Tok::Eof,
        pos: src.len(),
    });
    Ok(items)
}

/// Lexes inside an action starting at `p`; returns the position after the
/// closing delimiter and whether it had a trim marker.
fn lex_action(src: &str, mut p: usize, items: &mut Vec<Item>) -> Result<(usize, bool), LexError> {
    let b = src.as_bytes();
    let mut depth = 0i32;
    loop {
        let rest = &src[p..];
        if rest.starts_with("}}") || at_trim_right(rest) {
            let trim = !rest.starts_with("}}");
            if trim {
                let ws = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
                items.push(Item {
                    tok: Tok::Space,
                    pos: p,
                });
                p += ws;
            }
            if depth > 0 {
                return Err(LexError {
                    msg: "unclosed left paren".into(),
                    pos: p,
                });
            }
            items.push(Item {
                tok: Tok::Right,
                pos: p,
            });
            return Ok((p + if trim { 3 } else { 2 }, trim));
        }
        let Some(c) = rest.chars().next() else {
            return Err(LexError {
                msg: "unclosed action".into(),
                pos: p,
            });
        };
        let start = p;
        let push = |items: &mut Vec<Item>, tok: Tok| items.push(Item { tok, pos: start });
        match c {
            ' ' | '\t' | '\r' | '\n' => {
                let ws = rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
                push(items, Tok::Space);
                p += ws;
            }
            '=' => {
                push(items, Tok::Assign);
                p += 1;
            }
            ':' => {
                if rest.starts_with(":=") {
                    push(items, Tok::Declare);
                    p += 2;
                } else {
                    return Err(LexError {
                        msg: "expected :=".into(),
                        pos: p,
                    });
                }
            }
            '|' => {
                push(items, Tok::Pipe);
                p += 1;
            }
            '"' => {
                let mut q = p + 1;
                loop {
                    match b.get(q) {
                        None | Some(b'\n') => {
                            return Err(LexError {
                                msg: "unterminated quoted string".into(),
                                pos: p,
                            })
                        }
                        Some(b'\\') => q += 2,
                        Some(b'"') => break,
                        _ => q += 1,
                    }
                }
                push(items, Tok::Str(src[p..=q].to_string()));
                p = q + 1;
            }
            '`' => {
                let Some(close) = src[p + 1..].find('`') else {
                    return Err(LexError {
                        msg: "unterminated raw quoted string".into(),
                        pos: p,
                    });
                };
                let q = p + 1 + close;
                push(items, Tok::RawStr(src[p..=q].to_string()));
                p = q + 1;
            }
            '\'' => {
                let mut q = p + 1;
                loop {
                    match b.get(q) {
                        None | Some(b'\n') => {
                            return Err(LexError {
                                msg: "unterminated character constant".into(),
                                pos: p,
                            })
                        }
                        Some(b'\\') => q += 2,
                        Some(b'\'') => break,
                        _ => q += 1,
                    }
                }
                push(items, Tok::CharConst(src[p..=q].to_string()));
                p = q + 1;
            }
            '$' => {
                let n = rest[1..]
                    .char_indices()
                    .find(|(_, c)| !is_alnum(*c))
                    .map_or(rest.len() - 1, |(i, _)| i);
                push(items, Tok::Variable(rest[..1 + n].to_string()));
                p += 1 + n;
                check_terminator(src, p)?;
            }
            '.' if !rest[1..].starts_with(|c: char| c.is_ascii_digit()) => {
                let n = rest[1..]
                    .char_indices()
                    .find(|(_, c)| !is_alnum(*c))
                    .map_or(rest.len() - 1, |(i, _)| i);
                if n == 0 {
                    push(items, Tok::Dot);
                } else {
                    push(items, Tok::Field(rest[1..1 + n].to_string()));
                }
                p += 1 + n;
                check_terminator(src, p)?;
            }
            '.' | '+' | '-' | '0'..='9' => {
                let n = scan_number(rest);
                let after = rest[n..].chars().next();
                if n == 0 || after.is_some_and(is_alnum) {
                    let m = n + after.map_or(0, char::len_utf8);
                    return Err(LexError {
                        msg: format!("bad number syntax: {:?}", &rest[..m]),
                        pos: p,
                    });
                }
                push(items, Tok::Number(rest[..n].to_string()));
                p += n;
            }
            '(' => {
                depth += 1;
                push(items, Tok::LParen);
                p += 1;
            }
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err(LexError {
                        msg: "unexpected right paren U+0029 ')'".into(),
                        pos: p,
                    });
                }
                push(items, Tok::RParen);
                p += 1;
            }
            c if is_alnum(c) => {
                let n = rest
                    .char_indices()
                    .find(|(_, c)| !is_alnum(*c))
                    .map_or(rest.len(), |(i, _)| i);
                let word = &rest[..n];
                let tok = match word {
                    "block" => Tok::Block,
                    "break" => Tok::Break,
                    "continue" => Tok::Continue,
                    "define" => Tok::Define,
                    "else" => Tok::Else,
                    "end" => Tok::End,
                    "if" => Tok::If,
                    "range" => Tok::Range,
                    "nil" => Tok::Nil,
                    "template" => Tok::Template,
                    "with" => Tok::With,
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    _ => Tok::Ident(word.to_string()),
                };
                push(items, tok);
                p += n;
                check_terminator(src, p)?;
            }
            c if c.is_ascii() && !c.is_ascii_control() => {
                push(items, Tok::Char(c));
                p += 1;
            }
            c => {
                return Err(LexError {
                    msg: format!(
                        "unrecognized character in action: U+{:04X} {:?}",
                        c as u32, c
                    ),
                    pos: p,
                })
            }
        }
    }
}

fn at_trim_right(rest: &str) -> bool {
    let t = rest.trim_start_matches([' ', '\t', '\r', '\n']);
    t.len() < rest.len() && t.starts_with("-}}")
}

fn check_terminator(src: &str, p: usize) -> Result<(), LexError> {
    let rest = &src[p..];
    match rest.chars().next() {
        None => Ok(()),
        Some(' ' | '\t' | '\r' | '\n' | '.' | ',' | '|' | ':' | ')' | '(' | '=') => Ok(()),
        Some('}') if rest.starts_with("}}") => Ok(()),
        Some(c) => Err(LexError {
            msg: format!("bad character U+{:04X} {:?}", c as u32, c),
            pos: p,
        }),
    }
}

/// Length of the Go number literal at the start of `s` (0 if none).
fn scan_number(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let mut digits: &[u8] = b"0123456789_";
    let mut exp: &[u8] = b"eE";
    if b.len() > i + 1 && b[i] == b'0' {
        match b[i + 1] {
            b'x' | b'X' => {
                i += 2;
                digits = b"0123456789abcdefABCDEF_";
                exp = b"pP";
            }
            b'o' | b'O' => {
                i += 2;
                digits = b"01234567_";
                exp = b"";
            }
            b'b' | b'B' => {
                i += 2;
                digits = b"01_";
                exp = b"";
            }
            _ => {}
        }
    }
    let start = i;
    while i < b.len() && digits.contains(&b[i]) {
        i += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && digits.contains(&b[i]) {
            i += 1;
        }
    }
    if i == start || (i == start + 1 && b[start] == b'.') {
        return 0;
    }
    if i < b.len() && exp.contains(&b[i]) {
        let save = i;
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let ds = i;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
        if i == ds {
            i = save;
        }
    }
    i
}
