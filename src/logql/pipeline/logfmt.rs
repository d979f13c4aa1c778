//! The `logfmt` parser: a decoder with the rules of the logfmt decoder Loki
//! uses (bare keys, quoted values with escapes, errors skip to the next
//! space), `--strict` (stop and set `LogfmtParserErr` at the first error),
//! `--keep-empty` (keep keys without a value) and extraction expressions.

use super::json_scan::unescape_into;
use super::state::{parsed_name, sanitize_into, scrub_replacement_chars, LineLabels};
use crate::logql::ast::LabelExtraction;
use crate::model::labels::is_valid_label_name;

pub const LOGFMT_ERR: &str = "LogfmtParserErr";

/// A value as found in the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Val<'a> {
    /// `key` or `key=`.
    None,
    /// Bare or quoted without escapes.
    Raw(&'a str),
    /// Quoted with escapes (the text between the quotes).
    Escaped(&'a str),
}

/// Decodes `key=value` pairs of one line.
pub struct Decoder<'a> {
    line: &'a str,
    pos: usize,
    err: Option<String>,
}

impl<'a> Decoder<'a> {
    pub fn new(line: &'a str) -> Self {
        Decoder {
            line,
            pos: 0,
            err: None,
        }
    }

    /// The last error, as Loki words it.
    pub fn err(&self) -> Option<&str> {
        self.err.as_deref()
    }

    fn fail(&mut self, msg: String) {
        self.err = Some(format!(
            "logfmt syntax error at pos {} : {msg}",
            self.pos + 1
        ));
    }

    fn skip_value(&mut self) {
        let b = self.line.as_bytes();
        while self.pos < b.len() && b[self.pos] > b' ' {
            self.pos += 1;
        }
    }

    /// The next pair: `None` at the end of the line, `Some(Err)` for a bad
    /// pair (the error is kept in [`Decoder::err`]).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Result<(&'a str, Val<'a>), ()>> {
        let line = self.line;
        let b = line.as_bytes();
        while self.pos < b.len() && b[self.pos] <= b' ' {
            self.pos += 1;
        }
        if self.pos >= b.len() {
            return None;
        }
        let start = self.pos;
        let key;
        loop {
            if self.pos >= b.len() {
                return Some(Ok((&line[start..], Val::None)));
            }
            let c = b[self.pos];
            if c == b'=' {
                if self.pos == start {
                    self.fail("unexpected '='".into());
                    self.skip_value();
                    return Some(Err(()));
                }
                key = &line[start..self.pos];
                break;
            } else if c == b'"' {
                self.fail("unexpected '\"'".into());
                self.skip_value();
                return Some(Err(()));
            } else if c <= b' ' {
                return Some(Ok((&line[start..self.pos], Val::None)));
            }
            self.pos += 1;
        }
        // after '='
        self.pos += 1;
        if self.pos >= b.len() || b[self.pos] <= b' ' {
            return Some(Ok((key, Val::None)));
        }
        if b[self.pos] == b'"' {
            let q = self.pos;
            let mut j = q + 1;
            let mut esc = false;
            let mut has_esc = false;
            while j < b.len() {
                let c = b[j];
                if esc {
                    esc = false;
                } else if c == b'\\' {
                    esc = true;
                    has_esc = true;
                } else if c == b'"' {
                    self.pos = j + 1;
                    let inner = &line[q + 1..j];
                    return Some(Ok((
                        key,
                        if has_esc {
                            Val::Escaped(inner)
                        } else {
                            Val::Raw(inner)
                        },
                    )));
                }
                j += 1;
            }
            self.pos = b.len();
            self.fail("unterminated quoted value".into());
            return Some(Err(()));
        }
        let vstart = self.pos;
        while self.pos < b.len() {
            let c = b[self.pos];
            if c == b'=' || c == b'"' {
                self.fail(format!("unexpected '{}'", c as char));
                self.skip_value();
                return Some(Err(()));
            }
            if c <= b' ' {
                break;
            }
            self.pos += 1;
        }
        Some(Ok((key, Val::Raw(&line[vstart..self.pos]))))
    }

    /// Writes a value's text into `out`; false if its escapes are invalid
    /// (then recorded as the decoder's error).
    pub fn decode_value(&mut self, v: Val<'_>, out: &mut String) -> bool {
        out.clear();
        match v {
            Val::None => true,
            Val::Raw(s) => {
                out.push_str(s);
                true
            }
            Val::Escaped(s) => {
                if unescape_into(s, out).is_err() {
                    self.fail("invalid quoted value".into());
                    false
                } else {
                    true
                }
            }
        }
    }
}

/// A compiled `logfmt` stage.
#[derive(Debug)]
pub struct LogfmtStage {
    strict: bool,
    keep_empty: bool,
    /// (label, key) pairs of extraction expressions.
    exprs: Vec<(String, String)>,
}

/// Reused buffers.
#[derive(Debug, Default)]
pub struct LogfmtScratch {
    name: String,
    final_name: String,
    value: String,
}

impl LogfmtStage {
    pub fn new(
        strict: bool,
        keep_empty: bool,
        extractions: &[LabelExtraction],
    ) -> Result<LogfmtStage, String> {
        let mut exprs = Vec::new();
        for e in extractions {
            if !is_valid_label_name(&e.name) {
                return Err(format!("invalid extracted label name '{}'", e.name));
            }
            let key = e.expr.clone().unwrap_or_else(|| e.name.clone());
            if key.is_empty() {
                return Err(format!("cannot parse expression [{key}]"));
            }
            exprs.push((e.name.clone(), key));
        }
        Ok(LogfmtStage {
            strict,
            keep_empty,
            exprs,
        })
    }

    pub fn process(&self, line: &str, st: &mut LineLabels, sc: &mut LogfmtScratch) {
        if !self.exprs.is_empty() {
            for (id, _) in &self.exprs {
                if !st.base_has(id) {
                    st.set_parsed(id, "");
                }
            }
        }
        let mut dec = Decoder::new(line);
        while let Some(item) = dec.next() {
            let Ok((key, val)) = item else {
                if self.strict {
                    break;
                }
                continue;
            };
            sc.name.clear();
            sanitize_into(key, &mut sc.name);
            if sc.name.is_empty() {
                continue;
            }
            if !dec.decode_value(val, &mut sc.value) {
                if self.strict {
                    break;
                }
                continue;
            }
            scrub_replacement_chars(&mut sc.value);
            if self.exprs.is_empty() {
                if !self.keep_empty && sc.value.is_empty() {
                    continue;
                }
                parsed_name(st, &sc.name, &mut sc.final_name);
                st.set_parsed(&sc.final_name, &sc.value);
            } else {
                for (id, k) in &self.exprs {
                    if *k == sc.name || k == key {
                        parsed_name(st, id, &mut sc.final_name);
                        st.set_parsed(&sc.final_name, &sc.value);
                    }
                }
            }
        }
        if self.strict {
            if let Some(e) = dec.err() {
                st.set_err(LOGFMT_ERR, Some(e));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(line: &str) -> (Vec<(String, String)>, Option<String>) {
        let mut d = Decoder::new(line);
        let mut out = Vec::new();
        let mut buf = String::new();
        while let Some(it) = d.next() {
            if let Ok((k, v)) = it {
                if d.decode_value(v, &mut buf) {
                    out.push((k.to_string(), buf.clone()));
                }
            }
        }
        (out, d.err().map(str::to_string))
    }

    #[test]
    fn decoder_rules() {
        let p = |a: &str, b: &str| (a.to_string(), b.to_string());
        assert_eq!(
            pairs(r#"a=1 b="x y" c d= e="q\"uote""#),
            (
                vec![
                    p("a", "1"),
                    p("b", "x y"),
                    p("c", ""),
                    p("d", ""),
                    p("e", "q\"uote")
                ],
                None
            )
        );
        assert_eq!(
            pairs("a=1 =x b=2"),
            (
                vec![p("a", "1"), p("b", "2")],
                Some("logfmt syntax error at pos 5 : unexpected '='".into())
            )
        );
        assert_eq!(
            pairs(r#"a=x"y b=2"#),
            (
                vec![p("b", "2")],
                Some("logfmt syntax error at pos 4 : unexpected '\"'".into())
            )
        );
        assert_eq!(
            pairs(r#"a="open"#),
            (
                vec![],
                Some("logfmt syntax error at pos 8 : unterminated quoted value".into())
            )
        );
    }
}
