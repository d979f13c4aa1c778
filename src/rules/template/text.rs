//! The string template functions of Prometheus with Go's semantics:
//! `title` (`strings.Title`), `toUpper`, `toLower`, `stripPort`,
//! `stripDomain` (`net.SplitHostPort` rules), `match` and `reReplaceAll`
//! (regular expressions), `graphLink`, `tableLink` and `pathPrefix`.

use crate::template::fmt::quote;
use crate::template::query_escape;

/// Go's `unicode.ToUpper` of one rune: the simple mapping, so a letter
/// whose upper case is several characters (`ß`) stays as it is.
fn upper_rune(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// Go's `unicode.ToTitle`: as upper case, except for the digraphs that
/// have a distinct title case.
fn title_rune(c: char) -> char {
    match c {
        'Ǆ' | 'ǅ' | 'ǆ' => 'ǅ',
        'Ǉ' | 'ǈ' | 'ǉ' => 'ǈ',
        'Ǌ' | 'ǋ' | 'ǌ' => 'ǋ',
        'Ǳ' | 'ǲ' | 'ǳ' => 'ǲ',
        c => upper_rune(c),
    }
}

/// Go's `strings.ToUpper`.
pub fn to_upper(s: &str) -> String {
    s.chars().map(upper_rune).collect()
}

/// Go's `strings.ToLower` (rune by rune, the simple mapping).
pub fn to_lower(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

/// Go's `strings.Title` word separator test.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

/// Go's `strings.Title`: the first letter of each word in title case, the
/// rest unchanged.
pub fn title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { title_rune(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// Go's `net.SplitHostPort`, `None` where Go returns an error.
pub fn split_host_port(hp: &str) -> Option<(&str, &str)> {
    let i = hp.rfind(':')?;
    let (host, j, k) = if hp.starts_with('[') {
        let end = hp.find(']')?;
        if end + 1 != i {
            return None;
        }
        (&hp[1..end], 1, end + 1)
    } else {
        let host = &hp[..i];
        if host.contains(':') {
            return None;
        }
        (host, 0, 0)
    };
    if hp[j..].contains('[') || hp[k..].contains(']') {
        return None;
    }
    Some((host, &hp[i + 1..]))
}

/// Go's `net.JoinHostPort`.
fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `stripPort`: the host of `host:port`, or the input if it does not split.
pub fn strip_port(hp: &str) -> String {
    match split_host_port(hp) {
        Some((host, _)) => host.to_string(),
        None => hp.to_string(),
    }
}

/// `stripDomain`: the first label of a host name, keeping the port; IP
/// addresses are returned unchanged.
pub fn strip_domain(hp: &str) -> String {
    let (host, port) = split_host_port(hp).unwrap_or((hp, ""));
    if host.parse::<std::net::IpAddr>().is_ok() {
        return hp.to_string();
    }
    let first = host.split('.').next().unwrap_or(host);
    if port.is_empty() {
        first.to_string()
    } else {
        join_host_port(first, port)
    }
}

/// `graphLink`: the console link to graph an expression.
pub fn graph_link(expr: &str) -> String {
    format!("/graph?g0.expr={}&g0.tab=0", query_escape(expr))
}

/// `tableLink`: the console link to the table view of an expression.
pub fn table_link(expr: &str) -> String {
    format!("/graph?g0.expr={}&g0.tab=1", query_escape(expr))
}

/// `pathPrefix`: the path of the external URL (Go's `url.URL.Path`).
pub fn path_prefix(url: &str) -> String {
    let rest = match url.find("://") {
        Some(i) => &url[i + 3..],
        None => return url.split(['?', '#']).next().unwrap_or("").to_string(),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    match rest.find('/') {
        Some(i) => rest[i..].to_string(),
        None => String::new(),
    }
}

/// Go's `quote` in regexp error messages: backquoted when possible.
fn re_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !c.is_control()))
    {
        format!("`{s}`")
    } else {
        quote(s, false)
    }
}

/// Rewrites Go's (RE2's) Perl classes, which are ASCII-only in Go, into
/// explicit ASCII classes (Rust's are Unicode-aware): `\d \w \s` (also
/// inside brackets), `\D \W \S`, and `\b \B` as ASCII word boundaries.
pub fn ascii_perl_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    // Just after `[` or `[^`, where `]` is a literal.
    let mut class_start = false;
    while let Some(c) = chars.next() {
        let starting = std::mem::take(&mut class_start);
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push(c);
                    break;
                };
                let (inside, outside) = match n {
                    'd' => ("0-9", "[0-9]"),
                    'w' => ("0-9A-Za-z_", "[0-9A-Za-z_]"),
                    's' => ("\\t\\n\\f\\r ", "[\\t\\n\\f\\r ]"),
                    'D' => ("", "[^0-9]"),
                    'W' => ("", "[^0-9A-Za-z_]"),
                    'S' => ("", "[^\\t\\n\\f\\r ]"),
                    'b' => ("", "(?-u:\\b)"),
                    'B' => ("", "(?-u:\\B)"),
                    _ => ("", ""),
                };
                let rewrite = if in_class { inside } else { outside };
                if rewrite.is_empty() {
                    out.push(c);
                    out.push(n);
                } else {
                    out.push_str(rewrite);
                }
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // A POSIX class such as `[:alpha:]`, copied whole.
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == ']' {
                        break;
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
            }
            ']' if in_class && !starting => {
                in_class = false;
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Compiles a Go (RE2) regular expression; the error is worded as Go's
/// `regexp.Compile` (`error parsing regexp: ...`) where the cause is
/// recognisable, with the underlying message otherwise.
pub fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(&ascii_perl_classes(pattern)).map_err(|e| {
        let text = e.to_string();
        let what = if text.contains("unclosed group") {
            format!("missing closing ): {}", re_quote(pattern))
        } else if text.contains("unopened group") {
            format!("unexpected ): {}", re_quote(pattern))
        } else if text.contains("unclosed character class") {
            let from = pattern.rfind('[').unwrap_or(0);
            format!("missing closing ]: {}", re_quote(&pattern[from..]))
        } else if text.contains("repetition operator missing expression") {
            let op = pattern
                .chars()
                .find(|c| matches!(c, '*' | '+' | '?'))
                .unwrap_or('*');
            format!("missing argument to repetition operator: `{op}`")
        } else {
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            last.trim_start_matches("error: ").to_string()
        };
        format!("error parsing regexp: {what}")
    })
}

/// `match`: whether `text` contains a match of `pattern`.
pub fn is_match(pattern: &str, text: &str) -> Result<bool, String> {
    Ok(compile(pattern)?.is_match(text))
}

/// `reReplaceAll`: every match replaced, `$1`/`${name}` expanded. A bad
/// pattern fails as Go's `regexp.MustCompile` panics.
pub fn replace_all(pattern: &str, repl: &str, text: &str) -> Result<String, String> {
    let re =
        compile(pattern).map_err(|e| format!("regexp: Compile({}): {e}", re_quote(pattern)))?;
    Ok(re.replace_all(text, repl).into_owned())
}
