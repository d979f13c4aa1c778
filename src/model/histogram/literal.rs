//! The promqltest / promtool notation for native histograms:
//!
//! ```text
//! {{schema:0 sum:5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2 1] offset:1
//!   n_buckets:[3] n_offset:-2 custom_values:[5 10] counter_reset_hint:gauge}}
//! ```
//!
//! Every key is optional (`{{}}` is the empty histogram, schema 0); bucket
//! lists hold absolute counts starting at bucket index `offset` (one span).
//! Series values expand like floats: `{{a}}xN` is N+1 copies, `{{a}}+{{b}}xN`
//! is `a, a+b, a+2b, …` and `{{a}}-{{b}}xN` subtracts, each step being a real
//! histogram [`add`](FloatHistogram::add)/[`sub`](FloatHistogram::sub)
//! (schema reconciliation and hint combination included); as in
//! Prometheus' parser, the increment must not have a lower schema than the
//! running value.
//!
//! promqltest compares `counter_reset_hint` only if the expected literal
//! states it, so the parser reports whether it was stated.

use super::{CounterResetHint, FloatHistogram, Span};

/// Parses one `{{...}}` literal. Returns the histogram and whether
/// `counter_reset_hint` was stated. Duplicate keys, unknown keys and
/// malformed numbers are errors.
pub fn parse_histogram_literal(s: &str) -> Result<(FloatHistogram, bool), String> {
    let s = s.trim();
    let inner = s
        .strip_prefix("{{")
        .and_then(|r| r.strip_suffix("}}"))
        .ok_or_else(|| format!("histogram literal must be enclosed in {{{{ }}}}: {s:?}"))?;
    let mut h = FloatHistogram::default();
    let mut hint_stated = false;
    let mut seen: Vec<String> = Vec::new();
    let (mut buckets, mut offset, mut n_buckets, mut n_offset) = (None, 0i32, None, 0i32);
    let mut rest = inner.trim_start();
    while !rest.is_empty() {
        let colon = rest
            .find(':')
            .ok_or_else(|| format!("expected key:value in histogram literal at {rest:?}"))?;
        let key = rest[..colon].trim();
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!("bad key {key:?} in histogram literal"));
        }
        if seen.iter().any(|k| k == key) {
            return Err(format!("duplicate key \"{key}\" in histogram"));
        }
        seen.push(key.to_string());
        rest = rest[colon + 1..].trim_start();
        let value;
        if let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or_else(|| format!("unterminated list for {key} in histogram literal"))?;
            value = Value::List(&r[..end]);
            rest = r[end + 1..].trim_start();
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            value = Value::Scalar(&rest[..end]);
            rest = rest[end..].trim_start();
        }
        match key {
            "schema" => h.schema = value.int(key)?,
            "sum" => h.sum = value.float(key)?,
            "count" => h.count = value.float(key)?,
            "z_bucket" => h.zero_count = value.float(key)?,
            "z_bucket_w" => h.zero_threshold = value.float(key)?,
            "offset" => offset = value.int(key)?,
            "n_offset" => n_offset = value.int(key)?,
            "buckets" => buckets = Some(value.list(key)?),
            "n_buckets" => n_buckets = Some(value.list(key)?),
            "custom_values" => h.custom_values = value.list(key)?,
            "counter_reset_hint" => {
                hint_stated = true;
                h.counter_reset_hint = match value.scalar(key)? {
                    "unknown" => CounterResetHint::Unknown,
                    "reset" => CounterResetHint::CounterReset,
                    "not_reset" => CounterResetHint::NotCounterReset,
                    "gauge" => CounterResetHint::Gauge,
                    other => return Err(format!("invalid counter_reset_hint {other:?}")),
                };
            }
            other => return Err(format!("unknown key {other:?} in histogram literal")),
        }
    }
    let span = |b: &Vec<f64>, off: i32| {
        if b.is_empty() {
            Vec::new()
        } else {
            vec![Span {
                offset: off,
                length: b.len() as u32,
            }]
        }
    };
    if let Some(b) = buckets {
        h.positive_spans = span(&b, offset);
        h.positive_buckets = b;
    }
    if let Some(b) = n_buckets {
        h.negative_spans = span(&b, n_offset);
        h.negative_buckets = b;
    }
    Ok((h, hint_stated))
}

enum Value<'a> {
    Scalar(&'a str),
    List(&'a str),
}

impl Value<'_> {
    fn scalar(&self, key: &str) -> Result<&str, String> {
        match self {
            Value::Scalar(s) if !s.is_empty() => Ok(s),
            _ => Err(format!("expected a single value for {key}")),
        }
    }
    fn float(&self, key: &str) -> Result<f64, String> {
        parse_float(self.scalar(key)?).ok_or_else(|| format!("invalid number for {key}"))
    }
    fn int(&self, key: &str) -> Result<i32, String> {
        let s = self.scalar(key)?;
        s.parse::<i32>()
            .map_err(|_| format!("invalid integer {s:?} for {key}"))
    }
    fn list(&self, key: &str) -> Result<Vec<f64>, String> {
        match self {
            Value::List(s) => s
                .split_whitespace()
                .map(|t| parse_float(t).ok_or_else(|| format!("invalid number {t:?} in {key}")))
                .collect(),
            Value::Scalar(_) => Err(format!("expected a list [..] for {key}")),
        }
    }
}

/// A PromQL number: decimal/exponent floats, `Inf`/`NaN` in any case with
/// optional sign, hexadecimal integers (`0x1F`).
fn parse_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()? as f64
    } else {
        if body.starts_with(['+', '-']) || body.is_empty() {
            return None;
        }
        body.parse::<f64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Splits a series' value list into tokens, keeping `{{ ... }}` literals
/// (which contain spaces) and their `+{{..}}xN` tails together.
pub fn split_series_values(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let start = i;
        let mut depth = 0usize;
        while i < bytes.len() {
            if s[i..].starts_with("{{") {
                depth += 1;
                i += 2;
                continue;
            }
            if s[i..].starts_with("}}") && depth > 0 {
                depth -= 1;
                i += 2;
                continue;
            }
            if depth == 0 && bytes[i].is_ascii_whitespace() {
                break;
            }
            i += 1;
        }
        out.push(&s[start..i]);
    }
    out
}

/// Expands one series value token: `{{a}}`, `{{a}}xN`, `{{a}}+{{b}}xN`,
/// `{{a}}-{{b}}xN`, and also `_` / `_xN` (gaps, `None`). Like promqltest,
/// `xN` yields N+1 values.
pub fn expand_histogram_token(token: &str) -> Result<Vec<Option<FloatHistogram>>, String> {
    expand_histogram_token_with_hint(token).map(|(v, _)| v)
}

/// [`expand_histogram_token`] plus whether any literal in the token stated
/// `counter_reset_hint` (for comparisons of expected values).
pub fn expand_histogram_token_with_hint(
    token: &str,
) -> Result<(Vec<Option<FloatHistogram>>, bool), String> {
    let token = token.trim();
    if let Some(rest) = token.strip_prefix('_') {
        let n = if rest.is_empty() { 0 } else { times(rest)? };
        return Ok((vec![None; n + 1], false));
    }
    let (base, rest) = take_literal(token)?;
    let (base, base_stated) = parse_histogram_literal(base)?;
    if rest.is_empty() {
        return Ok((vec![Some(base)], base_stated));
    }
    if rest.starts_with('x') {
        let n = times(rest)?;
        return Ok((vec![Some(base); n + 1], base_stated));
    }
    let sign = match rest.as_bytes()[0] {
        b'+' => 1.0,
        b'-' => -1.0,
        _ => return Err(format!("unexpected {rest:?} after histogram literal")),
    };
    let (inc, tail) = take_literal(&rest[1..])?;
    let (inc, inc_stated) = parse_histogram_literal(inc)?;
    let n = times(tail)?;
    let mut out = Vec::with_capacity(n + 1);
    let mut cur = base;
    out.push(Some(cur.clone()));
    for _ in 0..n {
        if cur.schema > inc.schema {
            return Err(format!(
                "error combining histograms: cannot merge from schema {} to {}",
                inc.schema, cur.schema
            ));
        }
        let res = if sign > 0.0 {
            cur.add(&inc)
        } else {
            cur.sub(&inc)
        };
        res.map_err(|e| format!("error combining histograms: {e}"))?;
        out.push(Some(cur.clone()));
    }
    Ok((out, base_stated || inc_stated))
}

/// Splits `{{...}}rest` into the literal and the rest.
fn take_literal(s: &str) -> Result<(&str, &str), String> {
    if !s.starts_with("{{") {
        return Err(format!("expected a histogram literal at {s:?}"));
    }
    let end = s
        .find("}}")
        .ok_or_else(|| format!("unterminated histogram literal {s:?}"))?;
    Ok((&s[..end + 2], &s[end + 2..]))
}

/// Parses `xN`.
fn times(s: &str) -> Result<usize, String> {
    let n = s
        .strip_prefix('x')
        .ok_or_else(|| format!("expected xN, got {s:?}"))?;
    let n: usize = n.parse().map_err(|_| format!("invalid repetition {s:?}"))?;
    if n > 1_000_000 {
        return Err(format!("repetition {n} too large"));
    }
    Ok(n)
}

/// Prometheus' `almost.Equal` with promqltest's epsilon 1e-6: NaN equals
/// NaN, otherwise a relative tolerance (absolute near zero).
pub fn almost_equal(a: f64, b: f64) -> bool {
    const EPSILON: f64 = 1e-6;
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < EPSILON * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < EPSILON
}

impl FloatHistogram {
    /// promqltest's comparison of a result with an expected literal: both
    /// sides compacted (`compact(0)`), then schema, zero threshold, span
    /// layout and custom bounds must be equal, and count, sum, zero count
    /// and bucket counts [`almost_equal`]. The counter-reset hint is
    /// compared only if the expected literal stated it (`hint_stated`, as
    /// returned by [`parse_histogram_literal`]).
    pub fn matches_expected(&self, expected: &FloatHistogram, hint_stated: bool) -> bool {
        let mut a = self.clone();
        a.compact(0);
        let mut e = expected.clone();
        e.compact(0);
        if hint_stated && a.counter_reset_hint != e.counter_reset_hint {
            return false;
        }
        let all_close = |x: &[f64], y: &[f64]| {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| almost_equal(*p, *q))
        };
        a.schema == e.schema
            && a.zero_threshold == e.zero_threshold
            && almost_equal(a.count, e.count)
            && almost_equal(a.sum, e.sum)
            && almost_equal(a.zero_count, e.zero_count)
            && (!a.uses_custom_buckets()
                || super::arith::custom_bounds_match(&a.custom_values, &e.custom_values))
            && a.positive_spans == e.positive_spans
            && a.negative_spans == e.negative_spans
            && all_close(&a.positive_buckets, &e.positive_buckets)
            && all_close(&a.negative_buckets, &e.negative_buckets)
    }

    /// The histogram in promqltest notation (Prometheus' `TestExpression`):
    /// compacted into one span per side (empty buckets inside it explicit),
    /// zero-valued fields and the `unknown` hint left out. A layout with a
    /// gap wider than 65536 buckets cannot be written in one span; such
    /// histograms are rendered with `Display` instead.
    pub fn test_expression(&self) -> String {
        let mut m = self.clone();
        m.compact(usize::MAX);
        if m.positive_spans.len() > 1 || m.negative_spans.len() > 1 {
            // Not expressible (gap too wide to fill): fall back to Display.
            return self.to_string();
        }
        let mut res: Vec<String> = Vec::new();
        let g = super::display::go_g;
        if m.schema != 0 {
            res.push(format!("schema:{}", m.schema));
        }
        if m.count != 0.0 {
            res.push(format!("count:{}", g(m.count)));
        }
        if m.sum != 0.0 {
            res.push(format!("sum:{}", g(m.sum)));
        }
        if m.zero_count != 0.0 {
            res.push(format!("z_bucket:{}", g(m.zero_count)));
        }
        if m.zero_threshold != 0.0 {
            res.push(format!("z_bucket_w:{}", g(m.zero_threshold)));
        }
        if m.uses_custom_buckets() {
            let v: Vec<String> = m.custom_values.iter().map(|&x| g(x)).collect();
            res.push(format!("custom_values:[{}]", v.join(" ")));
        }
        match m.counter_reset_hint {
            CounterResetHint::Unknown => {}
            CounterResetHint::CounterReset => res.push("counter_reset_hint:reset".into()),
            CounterResetHint::NotCounterReset => res.push("counter_reset_hint:not_reset".into()),
            CounterResetHint::Gauge => res.push("counter_reset_hint:gauge".into()),
        }
        let mut side = |key: &str, off_key: &str, spans: &[Span], b: &[f64]| {
            if let Some(s) = spans.first() {
                if s.offset != 0 {
                    res.push(format!("{off_key}:{}", s.offset));
                }
            }
            if !b.is_empty() {
                let v: Vec<String> = b.iter().map(|&x| g(x)).collect();
                res.push(format!("{key}:[{}]", v.join(" ")));
            }
        };
        side("buckets", "offset", &m.positive_spans, &m.positive_buckets);
        side(
            "n_buckets",
            "n_offset",
            &m.negative_spans,
            &m.negative_buckets,
        );
        format!("{{{{{}}}}}", res.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_full() {
        let (h, stated) = parse_histogram_literal(
            "{{schema:1 sum:-5.5 count:4 z_bucket:1 z_bucket_w:0.001 buckets:[1 2 1] offset:-2 n_buckets:[3] n_offset:4 counter_reset_hint:gauge}}",
        )
        .unwrap();
        assert!(stated);
        assert_eq!(h.schema, 1);
        assert_eq!(
            (h.sum, h.count, h.zero_count, h.zero_threshold),
            (-5.5, 4.0, 1.0, 0.001)
        );
        assert_eq!(
            h.positive_spans,
            vec![Span {
                offset: -2,
                length: 3
            }]
        );
        assert_eq!(h.positive_buckets, vec![1.0, 2.0, 1.0]);
        assert_eq!(
            h.negative_spans,
            vec![Span {
                offset: 4,
                length: 1
            }]
        );
        assert_eq!(h.negative_buckets, vec![3.0]);
        assert_eq!(h.counter_reset_hint, CounterResetHint::Gauge);
    }

    #[test]
    fn parse_minimal_and_special() {
        let (h, stated) = parse_histogram_literal("{{}}").unwrap();
        assert!(!stated);
        assert_eq!(h, FloatHistogram::default());
        let (h, _) = parse_histogram_literal("{{schema:-53 custom_values:[-2 3]}}").unwrap();
        assert!(h.uses_custom_buckets());
        assert_eq!(h.custom_values, vec![-2.0, 3.0]);
        let (h, _) = parse_histogram_literal(
            "{{count:Inf sum:NaN z_bucket:-Inf buckets:[1.78264E+50 0x10 +Inf ]}}",
        )
        .unwrap();
        assert_eq!(h.count, f64::INFINITY);
        assert!(h.sum.is_nan());
        assert_eq!(h.zero_count, f64::NEG_INFINITY);
        assert_eq!(h.positive_buckets, vec![1.78264e50, 16.0, f64::INFINITY]);
        let (h, stated) =
            parse_histogram_literal("{{counter_reset_hint:unknown buckets:[]}}").unwrap();
        assert!(stated);
        assert!(h.positive_spans.is_empty());
        let (h, _) = parse_histogram_literal("{{counter_reset_hint:reset}}").unwrap();
        assert_eq!(h.counter_reset_hint, CounterResetHint::CounterReset);
        let (h, _) = parse_histogram_literal("{{counter_reset_hint:not_reset}}").unwrap();
        assert_eq!(h.counter_reset_hint, CounterResetHint::NotCounterReset);
    }

    #[test]
    fn parse_errors() {
        for bad in [
            "{{schema:0",
            "schema:0}}",
            "{{schema:x}}",
            "{{schema:1.5}}",
            "{{sum:1 sum:2}}",
            "{{foo:1}}",
            "{{buckets:[1 2}}",
            "{{buckets:1}}",
            "{{sum:[1]}}",
            "{{counter_reset_hint:maybe}}",
            "{{sum}}",
            "{{sum:--1}}",
            "{{schema:99999999999}}",
        ] {
            assert!(parse_histogram_literal(bad).is_err(), "{bad} should fail");
        }
    }

    #[test]
    fn expand_forms() {
        let v = expand_histogram_token("{{schema:0 sum:5 count:4 buckets:[1 2 1]}}x2").unwrap();
        assert_eq!(v.len(), 3);
        assert!(v.iter().all(|x| x.as_ref().unwrap().count == 4.0));
        let v = expand_histogram_token(
            "{{schema:0 sum:4 count:4 buckets:[1 2 1]}}+{{sum:2 count:1 buckets:[1] offset:1}}x10",
        )
        .unwrap();
        assert_eq!(v.len(), 11);
        let mut last = v[10].clone().unwrap();
        last.compact(0);
        let (want, _) = parse_histogram_literal("{{count:14 sum:24 buckets:[1 12 1]}}").unwrap();
        assert!(last.equals(&want), "{last:?}");
        let v = expand_histogram_token(
            "{{schema:0 sum:10 count:10 buckets:[5 5]}}-{{sum:1 count:2 buckets:[1 1]}}x2",
        )
        .unwrap();
        let last = v[2].clone().unwrap();
        assert_eq!(
            (last.count, last.sum, last.positive_buckets.clone()),
            (6.0, 8.0, vec![3.0, 3.0])
        );
        // Lower-resolution base absorbs a higher-resolution increment.
        let v = expand_histogram_token("{{schema:-1 sum:4 count:1 buckets:[1] offset:1}}+{{schema:0 sum:4 count:4 buckets:[2 2] offset:1}}x1").unwrap();
        let mut last = v[1].clone().unwrap();
        last.compact(0);
        assert_eq!(
            last.test_expression(),
            "{{schema:-1 count:5 sum:8 offset:1 buckets:[5]}}"
        );
        // The reverse is an error, as in Prometheus.
        assert!(expand_histogram_token("{{schema:1 count:1}}+{{schema:0 count:1}}x1").is_err());
        // Gaps.
        assert_eq!(
            expand_histogram_token("_x2").unwrap(),
            vec![None, None, None]
        );
        assert_eq!(expand_histogram_token("_").unwrap(), vec![None]);
        assert!(expand_histogram_token("{{}}y3").is_err());
        assert!(expand_histogram_token("{{}}x").is_err());
    }

    #[test]
    fn expand_hints() {
        let (v, stated) = expand_histogram_token_with_hint(
            "{{sum:4 count:4 counter_reset_hint:gauge buckets:[1 2 1]}}+{{sum:2 count:3 counter_reset_hint:gauge buckets:[1 1 1]}}x2",
        )
        .unwrap();
        assert!(stated);
        assert!(v
            .iter()
            .all(|h| h.as_ref().unwrap().counter_reset_hint == CounterResetHint::Gauge));
        let (_, stated) = expand_histogram_token_with_hint("{{sum:4}}x3").unwrap();
        assert!(!stated);
        // Mixed hints combine like Add: not_reset + unknown = unknown.
        let (v, _) =
            expand_histogram_token_with_hint("{{counter_reset_hint:not_reset}}+{{count:1}}x1")
                .unwrap();
        assert_eq!(
            v[1].as_ref().unwrap().counter_reset_hint,
            CounterResetHint::Unknown
        );
    }

    #[test]
    fn split_values() {
        let s = "1 {{schema:0 sum:5 count:4 buckets:[1 2 1]}} _x2 {{a:1}}+{{b:2}}x3   stale";
        assert_eq!(
            split_series_values(s),
            vec![
                "1",
                "{{schema:0 sum:5 count:4 buckets:[1 2 1]}}",
                "_x2",
                "{{a:1}}+{{b:2}}x3",
                "stale"
            ]
        );
        assert!(split_series_values("   ").is_empty());
        assert_eq!(
            split_series_values("{{unterminated 1"),
            vec!["{{unterminated 1"]
        );
    }

    #[test]
    fn compare_like_promqltest() {
        let (got, _) = parse_histogram_literal(
            "{{schema:0 count:3.0000001 sum:1 buckets:[1 0 2] counter_reset_hint:gauge}}",
        )
        .unwrap();
        let (want, stated) =
            parse_histogram_literal("{{count:3 sum:1 buckets:[1] offset:0}}").unwrap();
        assert!(!stated);
        // Layout differs (bucket 2 missing) -> no match.
        assert!(!got.matches_expected(&want, stated));
        let (want, stated) = parse_histogram_literal("{{count:3 sum:1 buckets:[1 0 2]}}").unwrap();
        assert!(got.matches_expected(&want, stated));
        let (want, stated) =
            parse_histogram_literal("{{count:3 sum:1 buckets:[1 0 2] counter_reset_hint:unknown}}")
                .unwrap();
        assert!(!got.matches_expected(&want, stated));
        let (want, stated) =
            parse_histogram_literal("{{count:3 sum:1 buckets:[1 0 2] counter_reset_hint:gauge}}")
                .unwrap();
        assert!(got.matches_expected(&want, stated));
        let (want, _) = parse_histogram_literal("{{count:3.01 sum:1 buckets:[1 0 2]}}").unwrap();
        assert!(!got.matches_expected(&want, false));
        let (nan, _) = parse_histogram_literal("{{count:NaN sum:NaN}}").unwrap();
        assert!(nan.matches_expected(&nan, true));
        assert!(
            almost_equal(0.0, 0.0) && !almost_equal(0.0, 1e-300) && almost_equal(1.0, 1.0 + 1e-9)
        );
        // Custom bounds must match exactly.
        let (a, _) =
            parse_histogram_literal("{{schema:-53 custom_values:[5] buckets:[1]}}").unwrap();
        let (b, _) =
            parse_histogram_literal("{{schema:-53 custom_values:[5 10] buckets:[1]}}").unwrap();
        assert!(!a.matches_expected(&b, false));
    }

    #[test]
    fn test_expression_roundtrip() {
        let lit = "{{schema:1 count:4 sum:-5.5 z_bucket:1 z_bucket_w:0.001 counter_reset_hint:gauge offset:-2 buckets:[1 0 1] n_offset:4 n_buckets:[3]}}";
        let (h, _) = parse_histogram_literal(lit).unwrap();
        assert_eq!(h.test_expression(), lit);
        assert_eq!(FloatHistogram::default().test_expression(), "{{}}");
        let (h, _) =
            parse_histogram_literal("{{schema:-53 custom_values:[5 10] buckets:[0 1e+21]}}")
                .unwrap();
        assert_eq!(
            h.test_expression(),
            "{{schema:-53 custom_values:[5 10] offset:1 buckets:[1e+21]}}"
        );
    }
}

#[cfg(test)]
mod corpus_tests {
    use super::*;

    /// Every histogram token of the vendored promqltest scripts parses and
    /// expands.
    #[test]
    fn all_script_literals_parse() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata/promql");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return;
        };
        let mut n = 0;
        for e in entries.flatten() {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            for line in text.lines() {
                let line = line.trim();
                if line.starts_with('#') || !line.contains("{{") {
                    continue;
                }
                for tok in split_series_values(line)
                    .into_iter()
                    .filter(|t| t.starts_with("{{"))
                {
                    let r = expand_histogram_token_with_hint(tok);
                    assert!(r.is_ok(), "{}: {tok}: {:?}", e.path().display(), r.err());
                    n += 1;
                }
            }
        }
        assert!(n > 500, "only {n} histogram tokens found");
    }
}
