//! A borrowing JSON scanner for log lines: walks an object's members and
//! skips values without building a tree, unescapes strings into a reused
//! buffer, and looks values up by path (`a.b[0]`, `["key"]`).

/// The kind of a JSON value, from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    String,
    Number,
    Bool,
    Null,
    Object,
    Array,
}

const MAX_DEPTH: usize = 256;

pub fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// `i` at an opening quote; returns the index after the closing quote.
fn scan_string(b: &[u8], i: usize) -> Result<usize, String> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'"' => return Ok(j + 1),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
    Err("unterminated string".into())
}

fn scan_number(b: &[u8], i: usize) -> Result<usize, String> {
    let mut j = i;
    if b.get(j) == Some(&b'-') {
        j += 1;
    }
    let digits = j;
    while j < b.len() && b[j].is_ascii_digit() {
        j += 1;
    }
    if j == digits {
        return Err(format!("invalid number at offset {i}"));
    }
    if b.get(j) == Some(&b'.') {
        j += 1;
        let f = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j == f {
            return Err(format!("invalid number at offset {i}"));
        }
    }
    if matches!(b.get(j), Some(b'e' | b'E')) {
        j += 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let e = j;
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        if j == e {
            return Err(format!("invalid number at offset {i}"));
        }
    }
    Ok(j)
}

/// The kind of the value starting at `i` (no whitespace).
pub fn kind_at(b: &[u8], i: usize) -> Result<Kind, String> {
    match b.get(i) {
        Some(b'"') => Ok(Kind::String),
        Some(b'{') => Ok(Kind::Object),
        Some(b'[') => Ok(Kind::Array),
        Some(b't' | b'f') => Ok(Kind::Bool),
        Some(b'n') => Ok(Kind::Null),
        Some(b'-' | b'0'..=b'9') => Ok(Kind::Number),
        Some(c) => Err(format!(
            "unexpected character {:?} at offset {i}",
            *c as char
        )),
        None => Err("unexpected end of input".into()),
    }
}

/// Skips the value at `i` (no leading whitespace); returns its end.
pub fn skip_value(b: &[u8], i: usize, depth: usize) -> Result<usize, String> {
    if depth > MAX_DEPTH {
        return Err("nesting too deep".into());
    }
    match kind_at(b, i)? {
        Kind::String => scan_string(b, i),
        Kind::Number => scan_number(b, i),
        Kind::Bool | Kind::Null => {
            for lit in [&b"true"[..], b"false", b"null"] {
                if b[i..].starts_with(lit) {
                    return Ok(i + lit.len());
                }
            }
            Err(format!("invalid literal at offset {i}"))
        }
        Kind::Object => each_member(b, i, depth, &mut |_, _, _, _| Ok(())),
        Kind::Array => {
            let mut j = skip_ws(b, i + 1);
            if b.get(j) == Some(&b']') {
                return Ok(j + 1);
            }
            loop {
                j = skip_value(b, j, depth + 1)?;
                j = skip_ws(b, j);
                match b.get(j) {
                    Some(b',') => j = skip_ws(b, j + 1),
                    Some(b']') => return Ok(j + 1),
                    _ => return Err("value looks like an array, but no closing ']'".into()),
                }
            }
        }
    }
}

/// The callback of [`each_member`]: raw key, value kind, value span.
pub type MemberFn<'a> = dyn FnMut(&[u8], Kind, usize, usize) -> Result<(), String> + 'a;

/// Walks the object at `i` (at its `{`): calls `f(raw_key, kind,
/// value_start, value_end)` per member, raw key without quotes and
/// undecoded. Returns the index after the closing brace.
pub fn each_member(
    b: &[u8],
    i: usize,
    depth: usize,
    f: &mut MemberFn<'_>,
) -> Result<usize, String> {
    if b.get(i) != Some(&b'{') {
        return Err("value is not an object".into());
    }
    let mut j = skip_ws(b, i + 1);
    if b.get(j) == Some(&b'}') {
        return Ok(j + 1);
    }
    loop {
        if b.get(j) != Some(&b'"') {
            return Err(format!("expected a key at offset {j}"));
        }
        let kend = scan_string(b, j)?;
        let key = &b[j + 1..kend - 1];
        j = skip_ws(b, kend);
        if b.get(j) != Some(&b':') {
            return Err(format!("expected ':' at offset {j}"));
        }
        j = skip_ws(b, j + 1);
        let kind = kind_at(b, j)?;
        let vend = skip_value(b, j, depth + 1)?;
        f(key, kind, j, vend)?;
        j = skip_ws(b, vend);
        match b.get(j) {
            Some(b',') => j = skip_ws(b, j + 1),
            Some(b'}') => return Ok(j + 1),
            _ => return Err("value looks like an object, but no closing '}'".into()),
        }
    }
}

fn hex4(b: &[u8]) -> Option<u32> {
    if b.len() < 4 {
        return None;
    }
    let s = std::str::from_utf8(&b[..4]).ok()?;
    u32::from_str_radix(s, 16).ok()
}

/// Appends the decoded contents of a JSON string (without its quotes) to
/// `out`. Invalid escapes fail; unpaired surrogates become U+FFFD.
pub fn unescape_into(raw: &str, out: &mut String) -> Result<(), String> {
    let b = raw.as_bytes();
    let Some(first) = memchr::memchr(b'\\', b) else {
        out.push_str(raw);
        return Ok(());
    };
    out.push_str(&raw[..first]);
    let mut i = first;
    while i < b.len() {
        if b[i] != b'\\' {
            let next = memchr::memchr(b'\\', &b[i..]).map_or(b.len(), |p| i + p);
            out.push_str(&raw[i..next]);
            i = next;
            continue;
        }
        let c = *b.get(i + 1).ok_or("invalid escape")?;
        i += 2;
        match c {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => {
                let hi = hex4(&b[i..]).ok_or("invalid unicode escape")?;
                i += 4;
                let cp = if (0xd800..0xdc00).contains(&hi)
                    && b.get(i) == Some(&b'\\')
                    && b.get(i + 1) == Some(&b'u')
                {
                    match hex4(&b[i + 2..]) {
                        Some(lo) if (0xdc00..0xe000).contains(&lo) => {
                            i += 6;
                            0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                        }
                        _ => 0xfffd,
                    }
                } else {
                    hi
                };
                out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
            }
            _ => return Err("invalid escape".into()),
        }
    }
    Ok(())
}

/// One step of a JSON path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// Parses an extraction expression: `a.b`, `a[0].c`, `["x y"].z`, `.a`.
pub fn parse_path(expr: &str) -> Result<Vec<PathStep>, String> {
    let bad = || format!("cannot parse expression [{expr}]: syntax error");
    let b = expr.as_bytes();
    let mut steps = Vec::new();
    let mut i = 0;
    let is_ident = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'$' | b'@');
    while i < b.len() {
        match b[i] {
            b'.' => {
                i += 1;
                if i >= b.len() || !is_ident(b[i]) {
                    return Err(bad());
                }
            }
            b'[' => {
                let close = expr[i..].find(']').ok_or_else(bad)? + i;
                let inner = expr[i + 1..close].trim();
                if let Some(q) = inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
                    let mut k = String::new();
                    unescape_into(q, &mut k).map_err(|_| bad())?;
                    steps.push(PathStep::Key(k));
                } else {
                    steps.push(PathStep::Index(inner.parse().map_err(|_| bad())?));
                }
                i = close + 1;
                continue;
            }
            c if is_ident(c) => {}
            _ => return Err(bad()),
        }
        let s = i;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        if s == i {
            return Err(bad());
        }
        steps.push(PathStep::Key(expr[s..i].to_string()));
    }
    if steps.is_empty() {
        return Err(bad());
    }
    Ok(steps)
}

/// Finds the value at `path` in the JSON text `line`: `Ok(None)` when it
/// is absent, `Err` when the text is malformed on the way.
pub fn lookup(line: &str, path: &[PathStep]) -> Result<Option<(Kind, usize, usize)>, String> {
    let b = line.as_bytes();
    let mut start = skip_ws(b, 0);
    let mut kind = kind_at(b, start)?;
    let mut end = skip_value(b, start, 0)?;
    let mut key_buf = String::new();
    for step in path {
        let mut found = None;
        match (step, kind) {
            (PathStep::Key(k), Kind::Object) => {
                each_member(b, start, 0, &mut |raw, kd, s, e| {
                    if found.is_none() {
                        key_buf.clear();
                        let raw = std::str::from_utf8(raw).map_err(|e| e.to_string())?;
                        unescape_into(raw, &mut key_buf)?;
                        if key_buf == *k {
                            found = Some((kd, s, e));
                        }
                    }
                    Ok(())
                })?;
            }
            (PathStep::Index(n), Kind::Array) => {
                let mut j = skip_ws(b, start + 1);
                let mut idx = 0;
                while b.get(j) != Some(&b']') {
                    let kd = kind_at(b, j)?;
                    let e = skip_value(b, j, 1)?;
                    if idx == *n {
                        found = Some((kd, j, e));
                        break;
                    }
                    idx += 1;
                    j = skip_ws(b, e);
                    if b.get(j) == Some(&b',') {
                        j = skip_ws(b, j + 1);
                    } else if b.get(j) != Some(&b']') {
                        return Err("value looks like an array, but no closing ']'".into());
                    }
                }
            }
            _ => return Ok(None),
        }
        match found {
            Some((k, s, e)) => {
                kind = k;
                start = s;
                end = e;
            }
            None => return Ok(None),
        }
    }
    Ok(Some((kind, start, end)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape() {
        let mut s = String::new();
        unescape_into(r#"a\"b\\c\n\u00e9\ud83d\ude00"#, &mut s).unwrap();
        assert_eq!(s, "a\"b\\c\né😀");
        assert!(unescape_into(r"\x", &mut String::new()).is_err());
    }

    #[test]
    fn paths_and_lookup() {
        assert_eq!(
            parse_path(r#"a.b[0]["c d"]"#).unwrap(),
            vec![
                PathStep::Key("a".into()),
                PathStep::Key("b".into()),
                PathStep::Index(0),
                PathStep::Key("c d".into())
            ]
        );
        assert!(parse_path("a..b").is_err());
        let line = r#"{"a":{"b":[{"c d":"x"},2]},"n":null}"#;
        let get = |p: &str| {
            lookup(line, &parse_path(p).unwrap())
                .unwrap()
                .map(|(k, s, e)| (k, &line[s..e]))
        };
        assert_eq!(get(r#"a.b[0]["c d"]"#), Some((Kind::String, "\"x\"")));
        assert_eq!(get("a.b[1]"), Some((Kind::Number, "2")));
        assert_eq!(get("a.b[2]"), None);
        assert_eq!(get("n"), Some((Kind::Null, "null")));
        assert_eq!(get("a.x"), None);
        assert!(lookup(r#"{"a":"#, &parse_path("a").unwrap()).is_err());
    }
}
