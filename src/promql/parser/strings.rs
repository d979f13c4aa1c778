//! String handling shared by the lexer and the printer: Go-style unquoting
//! (`"..."`, `'...'`, raw backquotes) and quoting, legacy name checks, and
//! the regex adjustment between Go's RE2 and Rust's `regex`.

/// Unquotes a string token (quotes included) into bytes, with Go's escapes
/// (`\n`, `\x41`, `\101`, `\u00e9`, `\U0001F600`, ...).
pub fn unquote(tok: &str) -> Result<Vec<u8>, String> {
    let b = tok.as_bytes();
    let (Some(&q), Some(&last)) = (b.first(), b.last()) else {
        return Err("invalid syntax".into());
    };
    if b.len() < 2 || q != last {
        return Err("invalid syntax".into());
    }
    let inner = &tok[1..tok.len() - 1];
    if q == b'`' {
        return Ok(inner.bytes().filter(|&c| c != b'\r').collect());
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut chars = inner.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some((_, e)) = chars.next() else {
            return Err("escape sequence not terminated".into());
        };
        let mut digits = |n: usize, radix: u32| -> Result<u32, String> {
            let mut v = 0u32;
            for _ in 0..n {
                let (_, c) = chars.next().ok_or("escape sequence not terminated")?;
                let d = c.to_digit(radix).ok_or_else(|| {
                    format!(
                        "illegal character U+{:04X} {c:?} in escape sequence",
                        c as u32
                    )
                })?;
                v = v * radix + d;
            }
            Ok(v)
        };
        match e {
            'a' => out.push(7),
            'b' => out.push(8),
            'f' => out.push(12),
            'n' => out.push(b'\n'),
            'r' => out.push(b'\r'),
            't' => out.push(b'\t'),
            'v' => out.push(11),
            '\\' => out.push(b'\\'),
            '\'' if q == b'\'' => out.push(b'\''),
            '"' if q == b'"' => out.push(b'"'),
            'x' => out.push(digits(2, 16)? as u8),
            'u' | 'U' => {
                let v = digits(if e == 'u' { 4 } else { 8 }, 16)?;
                let c =
                    char::from_u32(v).ok_or("escape sequence is an invalid Unicode code point")?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            '0'..='7' => {
                let v = e.to_digit(8).unwrap_or(0) * 64 + digits(2, 8)?;
                if v > 255 {
                    return Err(format!("octal escape value {v} > 255"));
                }
                out.push(v as u8);
            }
            _ => return Err(format!("unknown escape sequence U+{:04X} {e:?}", e as u32)),
        }
    }
    Ok(out)
}

/// Quotes like Go's `strconv.Quote` (valid UTF-8 input).
pub fn quote(s: &str) -> String {
    quote_bytes(s.as_bytes())
}

/// Quotes bytes like Go's `strconv.Quote` (`\xff` for invalid UTF-8).
pub fn quote_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len() + 2);
    out.push('"');
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{7}' => out.push_str("\\a"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{b}' => out.push_str("\\v"),
                c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                c if c.is_control() => {
                    if (c as u32) < 0x10000 {
                        out.push_str(&format!("\\u{:04x}", c as u32))
                    } else {
                        out.push_str(&format!("\\U{:08x}", c as u32))
                    }
                }
                c => out.push(c),
            }
        }
        for x in chunk.invalid() {
            out.push_str(&format!("\\x{x:02x}"));
        }
    }
    out.push('"');
    out
}

/// A legacy label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_legacy_label_name(s: &str) -> bool {
    let mut it = s.bytes();
    matches!(it.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && it.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// A legacy metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_legacy_metric_name(s: &str) -> bool {
    let mut it = s.bytes();
    matches!(it.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && it.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

/// Escapes every `{` that does not start a valid `{n}`, `{n,}` or `{n,m}`
/// repetition, so Go-compatible regexes compile with the `regex` crate.
pub fn escape_literal_braces(re: &str) -> String {
    let chars: Vec<char> = re.chars().collect();
    let mut out = String::with_capacity(re.len() + 4);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            out.push(c);
            if let Some(&n) = chars.get(i + 1) {
                out.push(n);
            }
            i += 2;
            continue;
        }
        if c == '{' && !is_repetition(&chars[i + 1..]) {
            out.push('\\');
        }
        out.push(c);
        i += 1;
    }
    out
}

fn is_repetition(rest: &[char]) -> bool {
    let Some(close) = rest.iter().position(|&c| c == '}') else {
        return false;
    };
    let body: String = rest[..close].iter().collect();
    let mut parts = body.splitn(2, ',');
    let first = parts.next().unwrap_or("");
    if first.is_empty() || !first.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    match parts.next() {
        None => true,
        Some(second) => second.bytes().all(|b| b.is_ascii_digit()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquoting() {
        assert_eq!(unquote(r#""a\nb""#).unwrap(), b"a\nb");
        assert_eq!(unquote(r#"'it\'s'"#).unwrap(), b"it's");
        assert_eq!(unquote(r"`a\n`").unwrap(), b"a\\n");
        assert_eq!(unquote(r#""\x41\101\u00e9""#).unwrap(), "AAé".as_bytes());
        assert_eq!(unquote(r#""\xff""#).unwrap(), vec![0xff]);
        assert!(unquote(r#""\q""#).is_err());
        assert!(unquote(r#""\'""#).is_err());
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(quote_bytes(b"a\xc5z"), r#""a\xc5z""#);
        assert_eq!(quote("é"), "\"é\"");
    }

    #[test]
    fn names() {
        assert!(is_legacy_label_name("_a1"));
        assert!(!is_legacy_label_name("a:b"));
        assert!(is_legacy_metric_name("a:b"));
        assert!(!is_legacy_metric_name("1a"));
        assert!(!is_legacy_metric_name("a.b"));
    }
}
