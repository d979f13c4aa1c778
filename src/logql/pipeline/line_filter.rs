//! Line filters (`|=`, `!=`, `|~`, `!~`, `|>`, `!>`, with `or`
//! alternatives and `ip(..)` operands) compiled to matchers with fast
//! paths: substring search with `memchr::memmem`, ASCII case-insensitive
//! search for `(?i)literal`, plain literals in regexes; and the substrings
//! the leading filters require, for the store's index.

use memchr::memmem;
use regex::Regex;

use super::ip::IpPattern;
use super::pattern::PatternExpr;
use crate::logql::ast::{LineFilter, LineFilterOp, LineFilterValue};

/// One operand, compiled.
#[derive(Debug)]
enum LineMatcher {
    /// Matches every line (`|= ""`).
    All,
    Literal(Box<memmem::Finder<'static>>),
    /// Case-insensitive literal: an ASCII search of the lowercase needle on
    /// ASCII lines, the regex (Unicode case folding) on others.
    CiLiteral(Vec<u8>, Regex),
    Regex(Regex),
    Ip(IpPattern),
    Pattern(PatternExpr),
}

impl LineMatcher {
    fn is_match(&self, line: &str) -> bool {
        match self {
            LineMatcher::All => true,
            LineMatcher::Literal(f) => f.find(line.as_bytes()).is_some(),
            LineMatcher::CiLiteral(n, re) => {
                if line.is_ascii() {
                    ci_contains(line.as_bytes(), n)
                } else {
                    re.is_match(line)
                }
            }
            LineMatcher::Regex(r) => r.is_match(line),
            LineMatcher::Ip(p) => p.matches_text(line),
            LineMatcher::Pattern(p) => p.test(line),
        }
    }
}

/// ASCII case-insensitive search of a lowercase needle.
fn ci_contains(hay: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    if hay.len() < needle.len() {
        return false;
    }
    let last_start = hay.len() - needle.len();
    let upper = first.to_ascii_uppercase();
    let mut i = 0;
    while i <= last_start {
        let Some(p) = memchr::memchr2(first, upper, &hay[i..=last_start]) else {
            return false;
        };
        let at = i + p;
        if hay[at..at + needle.len()].eq_ignore_ascii_case(needle) {
            return true;
        }
        i = at + 1;
    }
    false
}

const REGEX_META: &[char] = &[
    '\\', '.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$',
];

/// Compiles a line-filter regex, with literal fast paths.
fn compile_regex(re: &str) -> Result<LineMatcher, String> {
    if re.is_empty() {
        return Ok(LineMatcher::All);
    }
    if !re.contains(REGEX_META) {
        return Ok(LineMatcher::Literal(Box::new(
            memmem::Finder::new(re.as_bytes()).into_owned(),
        )));
    }
    let compiled = Regex::new(re).map_err(|e| format!("invalid regular expression {re:?}: {e}"))?;
    if let Some(lit) = re.strip_prefix("(?i)") {
        if !lit.is_empty() && lit.is_ascii() && !lit.contains(REGEX_META) {
            return Ok(LineMatcher::CiLiteral(
                lit.to_ascii_lowercase().into_bytes(),
                compiled,
            ));
        }
    }
    Ok(LineMatcher::Regex(compiled))
}

/// One compiled line filter stage.
#[derive(Debug)]
pub struct LineFilterStage {
    negate: bool,
    alts: Vec<LineMatcher>,
    /// Substrings every passing line contains.
    required: Vec<Vec<u8>>,
}

impl LineFilterStage {
    pub fn new(f: &LineFilter) -> Result<LineFilterStage, String> {
        let negate = matches!(
            f.op,
            LineFilterOp::NotContains | LineFilterOp::NotRegex | LineFilterOp::NotPattern
        );
        let mut alts = Vec::with_capacity(f.values.len());
        for v in &f.values {
            let m = match (f.op, v) {
                (_, LineFilterValue::Ip(p)) => match f.op {
                    LineFilterOp::Contains | LineFilterOp::NotContains => {
                        LineMatcher::Ip(IpPattern::parse(p)?)
                    }
                    _ => return Err("ip() is only allowed with |= and !=".into()),
                },
                (
                    LineFilterOp::Contains | LineFilterOp::NotContains,
                    LineFilterValue::Literal(s),
                ) => {
                    if s.is_empty() {
                        LineMatcher::All
                    } else {
                        LineMatcher::Literal(Box::new(
                            memmem::Finder::new(s.as_bytes()).into_owned(),
                        ))
                    }
                }
                (LineFilterOp::Regex | LineFilterOp::NotRegex, LineFilterValue::Literal(s)) => {
                    compile_regex(s)?
                }
                (_, LineFilterValue::Literal(s)) => {
                    LineMatcher::Pattern(PatternExpr::for_filter(s)?)
                }
            };
            alts.push(m);
        }
        let mut required = Vec::new();
        if !negate && f.values.len() == 1 {
            match (&f.values[0], &alts[0]) {
                (LineFilterValue::Literal(s), LineMatcher::Literal(_)) => {
                    required.push(s.as_bytes().to_vec())
                }
                (LineFilterValue::Literal(s), LineMatcher::Regex(_)) => {
                    required = regex_required_literals(s)
                }
                (_, LineMatcher::Pattern(p)) => {
                    required = p
                        .literals()
                        .filter(|l| !l.is_empty())
                        .map(|l| l.as_bytes().to_vec())
                        .collect()
                }
                _ => {}
            }
        }
        Ok(LineFilterStage {
            negate,
            alts,
            required,
        })
    }

    /// Does the line pass?
    #[inline]
    pub fn passes(&self, line: &str) -> bool {
        let any = match self.alts.as_slice() {
            [one] => one.is_match(line),
            many => many.iter().any(|m| m.is_match(line)),
        };
        any != self.negate
    }

    /// Substrings every passing line contains (none for negations and `or`).
    pub fn required_substrings(&self) -> &[Vec<u8>] {
        &self.required
    }
}

/// Literal runs every match of `re` contains, found conservatively: only
/// in a top-level concatenation (no top-level `|`), no inline flags, each
/// run made of plain or escaped punctuation characters that no quantifier
/// makes optional.
pub fn regex_required_literals(re: &str) -> Vec<Vec<u8>> {
    if re.contains("(?") {
        return Vec::new();
    }
    let chars: Vec<char> = re.chars().collect();
    // 1. any top-level alternation?
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '[' => {
                // skip a class: `[]...]`, `[^]...]`, escapes inside
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    i += 1;
                }
                while i < chars.len() && chars[i] != ']' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '|' if depth == 0 => return Vec::new(),
            _ => {}
        }
        i += 1;
    }
    // 2. literal runs at depth 0
    let mut runs: Vec<Vec<u8>> = Vec::new();
    let mut cur = String::new();
    let flush = |cur: &mut String, runs: &mut Vec<Vec<u8>>| {
        if !cur.is_empty() {
            runs.push(std::mem::take(cur).into_bytes());
        }
    };
    let is_quant = |c: Option<&char>| matches!(c, Some('*' | '?' | '{'));
    let mut i = 0;
    let mut depth = 0usize;
    while i < chars.len() {
        let c = chars[i];
        if depth > 0 {
            match c {
                '\\' => i += 1,
                '(' => depth += 1,
                ')' => depth -= 1,
                '[' => {
                    i += 1;
                    if chars.get(i) == Some(&'^') {
                        i += 1;
                    }
                    if chars.get(i) == Some(&']') {
                        i += 1;
                    }
                    while i < chars.len() && chars[i] != ']' {
                        if chars[i] == '\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        let (lit, len) = match c {
            '\\' => match chars.get(i + 1) {
                Some(&e) if e.is_ascii_punctuation() => (Some(e), 2),
                _ => return runs_with(runs, cur),
            },
            '(' => {
                flush(&mut cur, &mut runs);
                depth = 1;
                i += 1;
                continue;
            }
            '[' | '.' | '^' | '$' => (None, 1),
            '*' | '+' | '?' | '{' | ')' | '}' | ']' => (None, 1),
            c => (Some(c), 1),
        };
        match lit {
            Some(ch) => {
                let next = chars.get(i + len);
                if is_quant(next) {
                    flush(&mut cur, &mut runs);
                } else if next == Some(&'+') {
                    cur.push(ch);
                    flush(&mut cur, &mut runs);
                } else {
                    cur.push(ch);
                }
            }
            None => {
                flush(&mut cur, &mut runs);
                if c == '[' {
                    // skip the class
                    let mut j = i + 1;
                    if chars.get(j) == Some(&'^') {
                        j += 1;
                    }
                    if chars.get(j) == Some(&']') {
                        j += 1;
                    }
                    while j < chars.len() && chars[j] != ']' {
                        if chars[j] == '\\' {
                            j += 1;
                        }
                        j += 1;
                    }
                    i = j + 1;
                    continue;
                }
                if c == '{' {
                    // skip a repetition count
                    while i < chars.len() && chars[i] != '}' {
                        i += 1;
                    }
                }
            }
        }
        i += len;
    }
    runs_with(runs, cur)
}

fn runs_with(mut runs: Vec<Vec<u8>>, cur: String) -> Vec<Vec<u8>> {
    if !cur.is_empty() {
        runs.push(cur.into_bytes());
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lf(op: LineFilterOp, vals: &[&str]) -> LineFilterStage {
        LineFilterStage::new(&LineFilter {
            op,
            values: vals
                .iter()
                .map(|v| LineFilterValue::Literal(v.to_string()))
                .collect(),
        })
        .unwrap()
    }

    #[test]
    fn operators() {
        let c = lf(LineFilterOp::Contains, &["err"]);
        assert!(c.passes("an error"));
        assert!(!c.passes("fine"));
        let n = lf(LineFilterOp::NotContains, &["a", "b"]);
        assert!(n.passes("xyz"));
        assert!(!n.passes("xbz"));
        let any = lf(LineFilterOp::Contains, &["a", "b"]);
        assert!(any.passes("xbz"));
        let r = lf(LineFilterOp::Regex, &["err(or)?\\s+\\d+"]);
        assert!(r.passes("an error 42 here"));
        assert!(!r.passes("an error here"));
        let ci = lf(LineFilterOp::Regex, &["(?i)WARN"]);
        assert!(ci.passes("a warning"));
        assert!(ci.passes("a WaRn"));
        assert!(!ci.passes("a wa rn"));
        // non-ASCII lines use Unicode case folding: K is KELVIN SIGN
        let kelvin = lf(LineFilterOp::Regex, &["(?i)ok"]);
        assert!(kelvin.passes("o\u{212a} then"));
        assert!(kelvin.passes("it is OK"));
        let nr = lf(LineFilterOp::NotRegex, &["^debug"]);
        assert!(nr.passes("info debug"));
        assert!(!nr.passes("debug info"));
        let p = lf(LineFilterOp::Pattern, &["<_> GET <_>"]);
        assert!(p.passes("1.2.3.4 GET /x"));
        assert!(!p.passes("1.2.3.4 POST /x"));
        let np = lf(LineFilterOp::NotPattern, &["<_> GET <_>"]);
        assert!(np.passes("1.2.3.4 POST /x"));
        let empty = lf(LineFilterOp::Contains, &[""]);
        assert!(empty.passes("anything"));
        let ip = LineFilterStage::new(&LineFilter {
            op: LineFilterOp::Contains,
            values: vec![LineFilterValue::Ip("10.0.0.0/8".into())],
        })
        .unwrap();
        assert!(ip.passes("from 10.1.2.3 to x"));
        assert!(!ip.passes("from 192.168.1.1"));
        assert!(LineFilterStage::new(&LineFilter {
            op: LineFilterOp::Regex,
            values: vec![LineFilterValue::Literal("(".into())],
        })
        .is_err());
    }

    #[test]
    fn ci_search() {
        assert!(ci_contains(b"Hello World", b"world"));
        assert!(ci_contains(b"WORLD", b"world"));
        assert!(!ci_contains(b"worl", b"world"));
        assert!(ci_contains(b"wwworld", b"world"));
    }

    #[test]
    fn required_literals() {
        let s = |v: Vec<Vec<u8>>| {
            v.into_iter()
                .map(|b| String::from_utf8(b).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(s(regex_required_literals("error")), vec!["error"]);
        assert_eq!(
            s(regex_required_literals("status=5\\d\\d path=/api")),
            vec!["status=5"]
        );
        assert_eq!(
            s(regex_required_literals("foo.*bar\\.baz")),
            vec!["foo", "bar.baz"]
        );
        assert_eq!(s(regex_required_literals("colou?r")), vec!["colo", "r"]);
        assert_eq!(s(regex_required_literals("ab+c")), vec!["ab", "c"]);
        assert_eq!(s(regex_required_literals("x(a|b)y")), vec!["x", "y"]);
        assert!(regex_required_literals("a|b").is_empty());
        assert!(regex_required_literals("(?i)error").is_empty());
        assert_eq!(s(regex_required_literals("[abc]def{2}g")), vec!["de", "g"]);
        let req = lf(LineFilterOp::Contains, &["needle"]);
        assert_eq!(req.required_substrings(), &[b"needle".to_vec()]);
        assert!(lf(LineFilterOp::Contains, &["a", "b"])
            .required_substrings()
            .is_empty());
        assert!(lf(LineFilterOp::NotContains, &["a"])
            .required_substrings()
            .is_empty());
    }
}
