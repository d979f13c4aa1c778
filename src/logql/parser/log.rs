//! Parsing of log queries: stream selectors, pipeline stages (line filters,
//! parsers, label filters, formatters, drop/keep) and `unwrap`.

use super::lexer::Tok;
use super::{ParseError, Parser};
use crate::logql::ast::*;
use crate::model::{MatchOp, Matcher};

const MATCH_OPS: [&str; 4] = ["=", "=~", "!~", "!="];

impl Parser {
    /// `{ matcher, ... }`.
    pub(super) fn selector(&mut self) -> Result<Vec<Matcher>, ParseError> {
        self.expect_op("{", &["{"])?;
        let mut out = Vec::new();
        if self.eat_op("}") {
            return Ok(out);
        }
        loop {
            let name = self.expect_ident(&["IDENTIFIER"])?;
            out.push(self.matcher_rest(name)?);
            if self.eat_op("}") {
                return Ok(out);
            }
            self.expect_op(",", &["}", ","])?;
        }
    }

    /// `op "value"` after a label name.
    fn matcher_rest(&mut self, name: String) -> Result<Matcher, ParseError> {
        let op = match self.peek() {
            Tok::Op("=") => MatchOp::Equal,
            Tok::Op("!=") => MatchOp::NotEqual,
            Tok::Op("=~") => MatchOp::Regex,
            Tok::Op("!~") => MatchOp::NotRegex,
            _ => return Err(self.unexpected(&MATCH_OPS)),
        };
        self.advance();
        let value = self.expect_str(&["STRING"])?;
        Matcher::new(op, name, value).map_err(ParseError::plain)
    }

    /// `selector stage*` (inside a log range, up to a `| unwrap`).
    pub(super) fn log_expr(&mut self) -> Result<LogExpr, ParseError> {
        let matchers = self.selector()?;
        let stages = self.stages()?;
        Ok(LogExpr { matchers, stages })
    }

    /// Pipeline stages, up to (not including) `| unwrap` or anything that
    /// does not continue a pipeline.
    pub(super) fn stages(&mut self) -> Result<Vec<Stage>, ParseError> {
        let mut out = Vec::new();
        loop {
            if let Some(op) = line_filter_op(self.peek()) {
                self.advance();
                out.push(Stage::LineFilter(self.line_filter(op)?));
                continue;
            }
            if !self.peek().is_op("|") {
                return Ok(out);
            }
            if self.peek2().is_kw("unwrap") {
                if self.in_range {
                    return Ok(out);
                }
                self.advance();
                return Err(self.unexpected(&[]));
            }
            self.advance();
            out.push(self.stage()?);
        }
    }

    /// `value (or value)*` after a line filter operator.
    fn line_filter(&mut self, op: LineFilterOp) -> Result<LineFilter, ParseError> {
        let mut values = vec![self.line_filter_value(&["STRING", "ip"])?];
        while self.peek().is_kw("or")
            && (matches!(self.peek2(), Tok::Str(_)) || self.peek2().is_kw("ip"))
        {
            self.advance();
            values.push(self.line_filter_value(&["STRING", "ip"])?);
        }
        if values.iter().any(|v| matches!(v, LineFilterValue::Ip(_)))
            && !matches!(op, LineFilterOp::Contains | LineFilterOp::NotContains)
        {
            return Err(ParseError::plain(
                "ip line filter is only supported with |= and !=",
            ));
        }
        if matches!(op, LineFilterOp::Regex | LineFilterOp::NotRegex) {
            for v in &values {
                if let LineFilterValue::Literal(re) = v {
                    regex::Regex::new(re)
                        .map_err(|e| ParseError::plain(format!("invalid regex {re:?}: {e}")))?;
                }
            }
        }
        Ok(LineFilter { op, values })
    }

    fn line_filter_value(&mut self, expecting: &[&str]) -> Result<LineFilterValue, ParseError> {
        match self.peek().clone() {
            Tok::Str(s) => {
                self.advance();
                Ok(LineFilterValue::Literal(s))
            }
            t if t.is_kw("ip") => Ok(LineFilterValue::Ip(self.ip_call()?)),
            _ => Err(self.unexpected(expecting)),
        }
    }

    /// `ip("...")`.
    fn ip_call(&mut self) -> Result<String, ParseError> {
        self.advance();
        self.expect_op("(", &["("])?;
        let s = self.expect_str(&["STRING"])?;
        self.expect_op(")", &[")"])?;
        Ok(s)
    }

    /// One stage after `|`.
    fn stage(&mut self) -> Result<Stage, ParseError> {
        let kw = self.peek().keyword();
        match kw.as_deref() {
            Some("json") => {
                self.advance();
                Ok(Stage::Json(self.extractions()?))
            }
            Some("logfmt") => {
                self.advance();
                let (mut strict, mut keep_empty) = (false, false);
                while let Tok::Flag(f) = self.peek().clone() {
                    self.advance();
                    match f.as_str() {
                        "--strict" => strict = true,
                        _ => keep_empty = true,
                    }
                }
                Ok(Stage::Logfmt {
                    strict,
                    keep_empty,
                    extractions: self.extractions()?,
                })
            }
            Some("regexp") => {
                self.advance();
                let re = self.expect_str(&["STRING"])?;
                check_regexp_parser(&re)?;
                Ok(Stage::Regexp(re))
            }
            Some("pattern") => {
                self.advance();
                Ok(Stage::Pattern(self.expect_str(&["STRING"])?))
            }
            Some("unpack") => {
                self.advance();
                Ok(Stage::Unpack)
            }
            Some("decolorize") => {
                self.advance();
                Ok(Stage::Decolorize)
            }
            Some("line_format") => {
                self.advance();
                Ok(Stage::LineFormat(self.expect_str(&["STRING"])?))
            }
            Some("label_format") => {
                self.advance();
                let mut ops = Vec::new();
                loop {
                    let dst = self.expect_ident(&["IDENTIFIER"])?;
                    self.expect_op("=", &["="])?;
                    match self.peek().clone() {
                        Tok::Str(template) => {
                            self.advance();
                            ops.push(LabelFormatOp::Template { dst, template });
                        }
                        t if t.ident().is_some() => {
                            self.advance();
                            let src = t.ident().unwrap_or_default().to_string();
                            ops.push(LabelFormatOp::Rename { dst, src });
                        }
                        _ => return Err(self.unexpected(&["IDENTIFIER", "STRING"])),
                    }
                    if !self.eat_op(",") {
                        break;
                    }
                }
                Ok(Stage::LabelFormat(ops))
            }
            Some("drop") => {
                self.advance();
                Ok(Stage::Drop(self.label_selections()?))
            }
            Some("keep") => {
                self.advance();
                Ok(Stage::Keep(self.label_selections()?))
            }
            _ if self.peek().ident().is_none() && !self.peek().is_op("(") => {
                // Any stage could follow `|`: too many to list.
                Err(self.unexpected(&[]))
            }
            _ => Ok(Stage::LabelFilter(self.label_filter(0)?)),
        }
    }

    /// `[name[="expr"] (, name[="expr"])*]` after `json` / `logfmt`.
    fn extractions(&mut self) -> Result<Vec<LabelExtraction>, ParseError> {
        let mut out = Vec::new();
        if self.peek().ident().is_none() {
            return Ok(out);
        }
        loop {
            let name = self.expect_ident(&["IDENTIFIER"])?;
            let expr = if self.eat_op("=") {
                Some(self.expect_str(&["STRING"])?)
            } else {
                None
            };
            out.push(LabelExtraction { name, expr });
            if !self.eat_op(",") {
                return Ok(out);
            }
        }
    }

    /// `name` or `name op "value"` items of `drop` / `keep`.
    fn label_selections(&mut self) -> Result<Vec<LabelSelection>, ParseError> {
        let mut out = Vec::new();
        loop {
            let name = self.expect_ident(&["IDENTIFIER"])?;
            if MATCH_OPS.iter().any(|o| self.peek().is_op(o)) {
                out.push(LabelSelection::Matcher(self.matcher_rest(name)?));
            } else {
                out.push(LabelSelection::Name(name));
            }
            if !self.eat_op(",") {
                return Ok(out);
            }
        }
    }

    /// A label filter expression. `or` binds loosest, then `and`; a comma
    /// or a bare juxtaposition (both meaning `and`) takes everything to its
    /// right, as Loki's grammar resolves them.
    pub(super) fn label_filter(&mut self, min_prec: u8) -> Result<LabelFilterExpr, ParseError> {
        let mut lhs = self.label_filter_primary()?;
        loop {
            let (prec, juxtaposed) = if self.peek().is_kw("or") {
                (1, false)
            } else if self.peek().is_kw("and") {
                (2, false)
            } else if self.peek().is_op(",") {
                (0, false)
            } else if self.peek().ident().is_some() || self.peek().is_op("(") {
                (0, true)
            } else {
                return Ok(lhs);
            };
            if prec == 0 {
                if !juxtaposed {
                    self.advance();
                }
                let rhs = self.label_filter(0)?;
                return Ok(LabelFilterExpr::And(Box::new(lhs), Box::new(rhs)));
            }
            if prec <= min_prec {
                return Ok(lhs);
            }
            self.advance();
            let rhs = self.label_filter(prec)?;
            lhs = if prec == 1 {
                LabelFilterExpr::Or(Box::new(lhs), Box::new(rhs))
            } else {
                LabelFilterExpr::And(Box::new(lhs), Box::new(rhs))
            };
        }
    }

    fn label_filter_primary(&mut self) -> Result<LabelFilterExpr, ParseError> {
        if self.eat_op("(") {
            let inner = self.label_filter(0)?;
            self.expect_op(")", &[])?;
            return Ok(inner);
        }
        let name = self.expect_ident(&["IDENTIFIER", "("])?;
        let op = match self.peek() {
            Tok::Op(o) => *o,
            _ => return Err(self.unexpected(&[])),
        };
        let cmp = match op {
            "=" | "==" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            "=~" | "!~" => CmpOp::Eq,
            _ => return Err(self.unexpected(&[])),
        };
        self.advance();
        let value = self.peek().clone();
        match value {
            Tok::Str(_) if matches!(op, "=" | "!=" | "=~" | "!~") => {
                let Tok::Str(v) = self.advance() else {
                    return Err(self.unexpected(&[]));
                };
                let mop = match op {
                    "=" => MatchOp::Equal,
                    "!=" => MatchOp::NotEqual,
                    "=~" => MatchOp::Regex,
                    _ => MatchOp::NotRegex,
                };
                let m = Matcher::new(mop, name, v).map_err(ParseError::plain)?;
                Ok(LabelFilterExpr::String(m))
            }
            _ if matches!(op, "=~" | "!~") => Err(self.unexpected(&["STRING"])),
            ref t if t.is_kw("ip") && matches!(op, "=" | "!=") => {
                let pattern = self.ip_call()?;
                Ok(LabelFilterExpr::Ip {
                    name,
                    negated: op == "!=",
                    pattern,
                })
            }
            Tok::Duration(ns) => {
                self.advance();
                Ok(LabelFilterExpr::Duration {
                    name,
                    op: cmp,
                    value: ns as f64 / 1e9,
                })
            }
            Tok::Bytes(b) => {
                self.advance();
                Ok(LabelFilterExpr::Bytes {
                    name,
                    op: cmp,
                    value: b as f64,
                })
            }
            Tok::Number(_) | Tok::Op("+") | Tok::Op("-") => {
                let value = self.number_literal()?;
                Ok(LabelFilterExpr::Number {
                    name,
                    op: cmp,
                    value,
                })
            }
            _ => Err(self.unexpected(&[])),
        }
    }

    /// `NUMBER`, `+NUMBER` or `-NUMBER`.
    pub(super) fn number_literal(&mut self) -> Result<f64, ParseError> {
        let neg = if self.eat_op("-") {
            true
        } else {
            self.eat_op("+");
            false
        };
        match self.peek().clone() {
            Tok::Number(n) => {
                self.advance();
                let v = parse_number(&n)?;
                Ok(if neg { -v } else { v })
            }
            _ => Err(self.unexpected(&["NUMBER"])),
        }
    }

    /// `| unwrap [conv(]label[)] (| label_filter)*`; the parser is at `|`.
    pub(super) fn unwrap(&mut self) -> Result<Unwrap, ParseError> {
        self.expect_op("|", &["|"])?;
        if !self.eat_kw("unwrap") {
            return Err(self.unexpected(&["unwrap"]));
        }
        let conv = match self.peek().keyword().as_deref() {
            Some("bytes") => Some(UnwrapConversion::Bytes),
            Some("duration") | Some("duration_seconds") => Some(UnwrapConversion::Duration),
            _ => None,
        };
        let (label, conversion) = match conv {
            Some(c) => {
                self.advance();
                self.expect_op("(", &["("])?;
                let l = self.expect_ident(&["IDENTIFIER"])?;
                self.expect_op(")", &[")"])?;
                (l, c)
            }
            None => (
                self.expect_ident(&[
                    "IDENTIFIER",
                    "BYTES_CONV",
                    "DURATION_CONV",
                    "DURATION_SECONDS_CONV",
                ])?,
                UnwrapConversion::None,
            ),
        };
        let mut post_filters = Vec::new();
        while self.eat_op("|") {
            post_filters.push(self.label_filter(0)?);
        }
        Ok(Unwrap {
            label,
            conversion,
            post_filters,
        })
    }
}

/// A number literal's value, as Go's `strconv.ParseFloat` reads it.
pub(super) fn parse_number(n: &str) -> Result<f64, ParseError> {
    match n.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(ParseError::plain(format!(
            "unable to parse literal as a float: {n}"
        ))),
    }
}

fn line_filter_op(t: &Tok) -> Option<LineFilterOp> {
    Some(match t {
        Tok::Op("|=") => LineFilterOp::Contains,
        Tok::Op("!=") => LineFilterOp::NotContains,
        Tok::Op("|~") => LineFilterOp::Regex,
        Tok::Op("!~") => LineFilterOp::NotRegex,
        Tok::Op("|>") => LineFilterOp::Pattern,
        Tok::Op("!>") => LineFilterOp::NotPattern,
        _ => return None,
    })
}

/// `| regexp` needs a valid expression with at least one named group.
fn check_regexp_parser(re: &str) -> Result<(), ParseError> {
    let compiled = regex::Regex::new(re)
        .map_err(|e| ParseError::plain(format!("invalid regex {re:?}: {e}")))?;
    if compiled.capture_names().flatten().next().is_none() {
        return Err(ParseError::plain(
            "at least one named capture must be supplied",
        ));
    }
    Ok(())
}
