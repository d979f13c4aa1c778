//! The Loki API's calls into the LogQL front end (parse, selectors,
//! printer) and the pipeline's field detection, in one place so the rest of
//! this module does not depend on how those are exported.
//!
//! STOPGAP: the parser's `parse_matchers` / `parse_log_selector`, the
//! printer's `format_expr` and the pipeline's `detect_fields` are being
//! written in parallel; until they are merged this file carries small
//! stand-ins with the same signatures (a bare `{..}` selector parser, a
//! flat JSON / logfmt field detector).

use crate::logql::ast::{Expr, LogExpr};
use crate::logql::ParseError;
use crate::model::{MatchOp, Matcher};

/// A whole LogQL query.
pub fn parse(q: &str) -> Result<Expr, ParseError> {
    crate::logql::parse(q)
}

/// A log selector with an optional pipeline (`{a="b"} |= "x" | json`).
pub fn parse_log_selector(q: &str) -> Result<LogExpr, ParseError> {
    match parse(q) {
        Ok(Expr::Log(l)) => Ok(l),
        Ok(Expr::Sample(_)) => Err(ParseError {
            line: 1,
            col: 1,
            msg: "syntax error: unexpected metric query, expecting a log selector".into(),
        }),
        // Until the parser lands, a bare selector still works.
        Err(e) => parse_matchers(q)
            .map(|matchers| LogExpr {
                matchers,
                stages: Vec::new(),
            })
            .map_err(|_| e),
    }
}

/// A bare stream selector `{a="b", c=~"d"}`.
pub fn parse_matchers(q: &str) -> Result<Vec<Matcher>, ParseError> {
    SelectorParser { s: q, i: 0 }.parse()
}

/// The canonical text of a query (for `format_query`).
pub fn format_query(q: &str) -> Result<String, ParseError> {
    parse(q).map(|_| q.trim().to_string())
}

/// Fields of a line as `(name, value, parser)`, parsed as JSON, else logfmt.
pub fn detect_fields(line: &str) -> Vec<(String, String, &'static str)> {
    let t = line.trim_start();
    if t.starts_with('{') {
        if let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(t) {
            let mut out = Vec::new();
            flatten_json("", &m, &mut out);
            return out;
        }
    }
    logfmt_fields(line)
}

fn flatten_json(
    prefix: &str,
    m: &serde_json::Map<String, serde_json::Value>,
    out: &mut Vec<(String, String, &'static str)>,
) {
    for (k, v) in m {
        let name = if prefix.is_empty() {
            sanitize(k)
        } else {
            format!("{prefix}_{}", sanitize(k))
        };
        match v {
            serde_json::Value::Object(inner) => flatten_json(&name, inner, out),
            serde_json::Value::Array(_) => {}
            serde_json::Value::String(s) => out.push((name, s.clone(), "json")),
            serde_json::Value::Null => out.push((name, String::new(), "json")),
            other => out.push((name, other.to_string(), "json")),
        }
    }
}

fn sanitize(k: &str) -> String {
    k.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn logfmt_fields(line: &str) -> Vec<(String, String, &'static str)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        let ks = i;
        while i < b.len() && b[i] != b'=' && b[i] != b' ' {
            i += 1;
        }
        let key = &line[ks..i];
        if i >= b.len() || b[i] != b'=' {
            continue;
        }
        i += 1;
        let value = if i < b.len() && b[i] == b'"' {
            i += 1;
            let mut v = String::new();
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                let c = line[i..].chars().next().unwrap_or(' ');
                v.push(c);
                i += c.len_utf8();
            }
            i += 1;
            v
        } else {
            let vs = i;
            while i < b.len() && b[i] != b' ' {
                i += 1;
            }
            line[vs..i].to_string()
        };
        if !key.is_empty() {
            out.push((sanitize(key), value, "logfmt"));
        }
    }
    out
}

struct SelectorParser<'a> {
    s: &'a str,
    i: usize,
}

impl SelectorParser<'_> {
    fn err(&self, msg: String) -> ParseError {
        let before = &self.s[..self.i.min(self.s.len())];
        let line = before.matches('\n').count() + 1;
        let col = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count())
            .unwrap_or(0)
            + 1;
        ParseError { line, col, msg }
    }
    fn ws(&mut self) {
        while self.s[self.i..].starts_with(|c: char| c.is_whitespace()) {
            self.i += 1;
        }
    }
    fn unexpected(&self) -> ParseError {
        let rest = &self.s[self.i..];
        let tok: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
        if tok.is_empty() {
            self.err("syntax error: unexpected $end".into())
        } else {
            self.err(format!("syntax error: unexpected {tok}"))
        }
    }
    fn parse(mut self) -> Result<Vec<Matcher>, ParseError> {
        self.ws();
        if !self.s[self.i..].starts_with('{') {
            return Err(self.unexpected());
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            self.ws();
            if self.s[self.i..].starts_with('}') {
                self.i += 1;
                break;
            }
            if !out.is_empty() {
                if !self.s[self.i..].starts_with(',') {
                    return Err(self.unexpected());
                }
                self.i += 1;
                self.ws();
            }
            let ns = self.i;
            while self.s[self.i..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                self.i += 1;
            }
            if ns == self.i {
                return Err(self.unexpected());
            }
            let name = self.s[ns..self.i].to_string();
            self.ws();
            let rest = &self.s[self.i..];
            let (op, n) = if rest.starts_with("=~") {
                (MatchOp::Regex, 2)
            } else if rest.starts_with("!~") {
                (MatchOp::NotRegex, 2)
            } else if rest.starts_with("!=") {
                (MatchOp::NotEqual, 2)
            } else if rest.starts_with('=') {
                (MatchOp::Equal, 1)
            } else {
                return Err(self.unexpected());
            };
            self.i += n;
            self.ws();
            let value = self.string()?;
            let m = Matcher::new(op, name, value).map_err(|e| self.err(e))?;
            out.push(m);
        }
        self.ws();
        if self.i < self.s.len() {
            return Err(self.unexpected());
        }
        if !out.is_empty() && out.iter().all(|m| m.matches_empty()) {
            return Err(self.err("queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will".into()));
        }
        Ok(out)
    }
    fn string(&mut self) -> Result<String, ParseError> {
        let rest = &self.s[self.i..];
        if let Some(r) = rest.strip_prefix('`') {
            let end = r
                .find('`')
                .ok_or_else(|| self.err("literal not terminated".into()))?;
            self.i += end + 2;
            return Ok(r[..end].to_string());
        }
        if !rest.starts_with('"') {
            return Err(self.unexpected());
        }
        let mut v = String::new();
        let mut chars = rest.char_indices().skip(1);
        while let Some((j, c)) = chars.next() {
            match c {
                '"' => {
                    self.i += j + 1;
                    return Ok(v);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => v.push('\n'),
                    Some((_, 't')) => v.push('\t'),
                    Some((_, 'r')) => v.push('\r'),
                    Some((_, c)) => v.push(c),
                    None => break,
                },
                c => v.push(c),
            }
        }
        Err(self.err("literal not terminated".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stand_in_selector_parser() {
        let m = parse_matchers(r#"{app="a", env=~"p.*",x!=`y`}"#).unwrap();
        let shown: Vec<String> = m.iter().map(|m| m.to_string()).collect();
        assert_eq!(shown, vec![r#"app="a""#, r#"env=~"p.*""#, r#"x!="y""#]);
        assert_eq!(parse_matchers("{}").unwrap().len(), 0);
        let e = parse_matchers("{app=}").unwrap_err();
        assert_eq!((e.line, e.col), (1, 6));
        assert_eq!(e.msg, "syntax error: unexpected }");
    }

    #[test]
    fn stand_in_field_detection() {
        assert_eq!(
            detect_fields(r#"{"a":{"b":1},"c":"x","d":[1]}"#),
            vec![
                ("a_b".to_string(), "1".to_string(), "json"),
                ("c".to_string(), "x".to_string(), "json")
            ]
        );
        assert_eq!(
            detect_fields(r#"level=info msg="hi there" n=3"#),
            vec![
                ("level".to_string(), "info".to_string(), "logfmt"),
                ("msg".to_string(), "hi there".to_string(), "logfmt"),
                ("n".to_string(), "3".to_string(), "logfmt")
            ]
        );
    }
}
