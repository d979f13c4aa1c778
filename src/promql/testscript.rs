//! A runner for Prometheus' `promqltest` script format (`load`, `clear`,
//! `eval instant|range ...` with expected series), used by our unit tests and
//! to measure conformance against Prometheus' own scripts. Native histogram
//! data (`{{...}}`, `load_with_nhcb` base names) is not supported: evals that
//! involve it are counted as skipped.

use std::collections::HashSet;

use regex::Regex;

use crate::model::{Labels, MatchOp, Sample, STALE_NAN_BITS};

use super::engine::parse;
use super::parser::{AtModifier, Expr};
use super::source::MemorySource;
use super::{Engine, EngineOptions, QueryResult, Value};

fn stale_nan_value() -> f64 {
    f64::from_bits(STALE_NAN_BITS)
}

/// Outcome counts of running one script.
#[derive(Debug, Default)]
pub(crate) struct ScriptStats {
    pub total: usize,
    pub passed: usize,
    pub skipped: usize,
    pub failures: Vec<String>,
}

/// One expected series: labels and per-step values (None = no point).
#[derive(Debug)]
struct ExpSeries {
    labels: Labels,
    values: Vec<Option<f64>>,
}

#[derive(Debug, Default)]
struct Expectations {
    fail: Option<FailExpect>,
    ordered: bool,
    warn: Vec<AnnoExpect>,
    info: Vec<AnnoExpect>,
    no_warn: bool,
    no_info: bool,
    string: Option<String>,
    scalar: Option<f64>,
    range_vector: Option<(i64, i64, i64)>,
    series: Vec<ExpSeries>,
    histogram_literal: bool,
}

#[derive(Debug)]
enum FailExpect {
    Any,
    Msg(String),
    Regex(String),
}

#[derive(Debug)]
enum AnnoExpect {
    Any,
    Msg(String),
    Regex(String),
}

#[derive(Debug)]
enum EvalKind {
    Instant(i64),
    Range(i64, i64, i64),
}

/// Parses a Prometheus duration (`1h30m`, `500ms`, `0`) or plain seconds.
pub(crate) fn parse_duration_ms(s: &str) -> Option<i64> {
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    if let Ok(secs) = s.parse::<f64>() {
        let ms = (secs * 1000.0).round() as i64;
        return Some(if neg { -ms } else { ms });
    }
    let mut total: i64 = 0;
    let b = s.as_bytes();
    let mut i = 0;
    if b.is_empty() {
        return None;
    }
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if start == i {
            return None;
        }
        let n: i64 = s[start..i].parse().ok()?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let unit = match &s[ustart..i] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return None,
        };
        total += n * unit;
    }
    Some(if neg { -total } else { total })
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "Inf" | "+Inf" | "inf" | "+inf" => Some(f64::INFINITY),
        "-Inf" | "-inf" => Some(f64::NEG_INFINITY),
        "NaN" | "nan" => Some(f64::NAN),
        _ => {
            if let Some(h) = s.strip_prefix("0x") {
                return i64::from_str_radix(h, 16).ok().map(|v| v as f64);
            }
            s.parse::<f64>().ok()
        }
    }
}

/// Expands one value token of the series notation. `None` entries are gaps;
/// returns None on a syntax error.
fn expand_token(tok: &str) -> Option<Vec<Option<f64>>> {
    if tok == "_" {
        return Some(vec![None]);
    }
    if tok == "stale" {
        return Some(vec![Some(stale_nan_value())]);
    }
    let (body, times) = match tok.rfind('x') {
        Some(i)
            if i > 0 && tok[i + 1..].bytes().all(|c| c.is_ascii_digit()) && i + 1 < tok.len() =>
        {
            (&tok[..i], Some(tok[i + 1..].parse::<usize>().ok()?))
        }
        _ => (tok, None),
    };
    if body == "_" {
        return Some(vec![None; times.unwrap_or(1)]);
    }
    // Find a `+`/`-` operator (not a sign, not part of an exponent).
    let bytes = body.as_bytes();
    let mut op = None;
    for i in 1..bytes.len() {
        if (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E') {
            op = Some(i);
            break;
        }
    }
    match (op, times) {
        (Some(i), Some(n)) => {
            let a = parse_float(&body[..i])?;
            let d = parse_float(&body[i + 1..])?;
            let d = if bytes[i] == b'-' { -d } else { d };
            Some((0..=n).map(|k| Some(a + d * k as f64)).collect())
        }
        (None, Some(n)) => {
            let a = if body == "stale" {
                stale_nan_value()
            } else {
                parse_float(body)?
            };
            Some(vec![Some(a); n + 1])
        }
        (None, None) => Some(vec![Some(parse_float(body)?)]),
        (Some(_), None) => None,
    }
}

fn expand_values(s: &str) -> Option<Vec<Option<f64>>> {
    let mut out = Vec::new();
    for tok in s.split_whitespace() {
        out.extend(expand_token(tok)?);
    }
    Some(out)
}

/// Splits `name{a="b c"} 1 2` into the series descriptor and the rest.
fn split_series(line: &str) -> (&str, &str) {
    let mut in_braces = false;
    let mut in_quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if let Some(q) = in_quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                in_quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' if in_braces => in_quote = Some(c),
            '{' => in_braces = true,
            '}' => {
                in_braces = false;
                if line[i + 1..].starts_with('}') {
                    continue;
                }
                return (&line[..=i], line[i + 1..].trim());
            }
            c if c.is_whitespace() && !in_braces => return (&line[..i], line[i..].trim()),
            _ => {}
        }
    }
    (line, "")
}

fn parse_labels(desc: &str) -> Option<Labels> {
    let desc = desc.trim();
    if desc == "{}" {
        return Some(Labels::empty());
    }
    match parse(desc).ok()? {
        Expr::VectorSelector(vs) => {
            let mut pairs: Vec<(String, String)> = Vec::new();
            for m in vs.matchers {
                if !matches!(m.op, MatchOp::Equal) {
                    return None;
                }
                pairs.push((m.name, m.value));
            }
            Some(Labels::from_pairs(pairs))
        }
        _ => None,
    }
}

fn identifiers(q: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = q.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_alphabetic() || b[i] == b'_' || b[i] == b':' {
            let s = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            out.push(&q[s..i]);
        } else {
            i += 1;
        }
    }
    out
}

/// Float comparison as in Prometheus' tests: relative tolerance 1e-6, NaN
/// equals NaN.
fn almost_equal(a: f64, b: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    let sum = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || sum < f64::MIN_POSITIVE {
        return diff < 1e-6 * f64::MIN_POSITIVE;
    }
    diff / sum.min(f64::MAX) < 1e-6
}

/// Runs a script; `name` is used in failure messages.
pub(crate) fn run_script(name: &str, script: &str) -> ScriptStats {
    let engine = Engine::new(EngineOptions::default());
    let mut src = MemorySource::new();
    let mut hist: HashSet<String> = HashSet::new();
    let mut stats = ScriptStats::default();
    let lines: Vec<String> = script
        .lines()
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') {
                String::new()
            } else {
                t.to_string()
            }
        })
        .collect();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        i += 1;
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let cmd = words.next().unwrap_or("").to_lowercase();
        if cmd == "clear" {
            src.clear();
            hist.clear();
            continue;
        }
        // Block lines up to the next blank line.
        let block_start = i;
        while i < lines.len() && !lines[i].is_empty() {
            i += 1;
        }
        let block = &lines[block_start..i];
        if cmd == "load" || cmd == "load_with_nhcb" {
            let interval = words.next().and_then(parse_duration_ms).unwrap_or(60_000);
            for l in block {
                let (desc, vals) = split_series(l);
                // Start-timestamp lines (`name{...}@st ...`) are not supported:
                // evals on such metrics are skipped.
                if let Some(name) = desc.strip_suffix("@st") {
                    if let Some(lbls) = parse_labels(name) {
                        hist.insert(lbls.metric_name().unwrap_or("").to_string());
                    }
                    continue;
                }
                if let Some(rest) = vals.strip_prefix("@st") {
                    if rest.is_empty() || rest.starts_with(char::is_whitespace) {
                        if let Some(lbls) = parse_labels(desc) {
                            hist.insert(lbls.metric_name().unwrap_or("").to_string());
                        }
                        continue;
                    }
                }
                let Some(lbls) = parse_labels(desc) else {
                    stats
                        .failures
                        .push(format!("{name}: bad series line {l:?}"));
                    continue;
                };
                let metric = lbls.metric_name().unwrap_or("").to_string();
                if cmd == "load_with_nhcb" {
                    if let Some(base) = metric.strip_suffix("_bucket") {
                        hist.insert(base.to_string());
                    }
                    for suffix in ["_count", "_sum"] {
                        if let Some(base) = metric.strip_suffix(suffix) {
                            hist.insert(base.to_string());
                        }
                    }
                }
                if vals.contains("{{") {
                    hist.insert(metric);
                    continue;
                }
                let Some(values) = expand_values(vals) else {
                    stats.failures.push(format!("{name}: bad values {l:?}"));
                    continue;
                };
                let samples: Vec<Sample> = values
                    .iter()
                    .enumerate()
                    .filter_map(|(k, v)| v.map(|v| Sample::new(k as i64 * interval, v)))
                    .collect();
                src.add(lbls, samples);
            }
        } else if cmd.starts_with("eval") {
            run_eval(name, &engine, &src, &hist, &cmd, line, block, &mut stats);
        } else {
            stats
                .failures
                .push(format!("{name}: unknown command {line:?}"));
        }
    }
    stats
}

#[allow(clippy::too_many_arguments)]
fn run_eval(
    name: &str,
    engine: &Engine,
    src: &MemorySource,
    hist: &HashSet<String>,
    cmd: &str,
    line: &str,
    block: &[String],
    stats: &mut ScriptStats,
) {
    let rest = line[cmd.len()..].trim_start();
    let mut words = rest.split_whitespace();
    let (kind, query) = match words.next() {
        Some("instant") => {
            let _at = words.next();
            let t = words.next().and_then(parse_duration_ms);
            let q = rest
                .splitn(4, char::is_whitespace)
                .nth(3)
                .unwrap_or("")
                .trim();
            match t {
                Some(t) => (EvalKind::Instant(t), q),
                None => {
                    stats
                        .failures
                        .push(format!("{name}: bad eval line {line:?}"));
                    return;
                }
            }
        }
        Some("range") => {
            let parts: Vec<&str> = rest.splitn(8, char::is_whitespace).collect();
            let (Some(s), Some(e), Some(st)) = (
                parts.get(2).and_then(|x| parse_duration_ms(x)),
                parts.get(4).and_then(|x| parse_duration_ms(x)),
                parts.get(6).and_then(|x| parse_duration_ms(x)),
            ) else {
                stats
                    .failures
                    .push(format!("{name}: bad eval line {line:?}"));
                return;
            };
            (
                EvalKind::Range(s, e, st),
                parts.get(7).copied().unwrap_or("").trim(),
            )
        }
        _ => {
            stats
                .failures
                .push(format!("{name}: bad eval line {line:?}"));
            return;
        }
    };
    let mut exp = Expectations {
        ordered: cmd == "eval_ordered",
        ..Default::default()
    };
    match cmd {
        "eval_fail" => exp.fail = Some(FailExpect::Any),
        "eval_warn" => exp.warn.push(AnnoExpect::Any),
        "eval_info" => exp.info.push(AnnoExpect::Any),
        _ => {}
    }
    let steps: usize = match kind {
        EvalKind::Range(s, e, st) if st > 0 && e >= s => ((e - s) / st) as usize + 1,
        _ => 1,
    };
    for l in block {
        if l.contains("{{") {
            exp.histogram_literal = true;
        }
        if let Some(x) = l.strip_prefix("expect ") {
            let x = x.trim();
            let (head, tail) = x.split_once(char::is_whitespace).unwrap_or((x, ""));
            let tail = tail.trim();
            let anno = |t: &str| -> AnnoExpect {
                if let Some(m) = t.strip_prefix("msg:") {
                    AnnoExpect::Msg(m.trim().to_string())
                } else if let Some(r) = t.strip_prefix("regex:") {
                    AnnoExpect::Regex(r.trim().to_string())
                } else {
                    AnnoExpect::Any
                }
            };
            match head {
                "fail" => {
                    exp.fail = Some(if let Some(m) = tail.strip_prefix("msg:") {
                        FailExpect::Msg(m.trim().to_string())
                    } else if let Some(r) = tail.strip_prefix("regex:") {
                        FailExpect::Regex(r.trim().to_string())
                    } else {
                        FailExpect::Any
                    })
                }
                "ordered" => exp.ordered = true,
                "warn" => exp.warn.push(anno(tail)),
                "info" => exp.info.push(anno(tail)),
                "no_warn" => exp.no_warn = true,
                "no_info" => exp.no_info = true,
                "string" => {
                    let t = tail.trim();
                    let unq = if t.len() >= 2 { &t[1..t.len() - 1] } else { "" };
                    exp.string = Some(unq.to_string());
                }
                "range" => {
                    // expect range vector from <t0> to <t1> step <d>
                    let p: Vec<&str> = tail.split_whitespace().collect();
                    if let (Some(a), Some(b), Some(c)) = (
                        p.get(2).and_then(|x| parse_duration_ms(x)),
                        p.get(4).and_then(|x| parse_duration_ms(x)),
                        p.get(6).and_then(|x| parse_duration_ms(x)),
                    ) {
                        exp.range_vector = Some((a, b, c));
                    }
                }
                _ => {}
            }
            continue;
        }
        if let Some(m) = l.strip_prefix("expected_fail_message ") {
            exp.fail = Some(FailExpect::Msg(m.trim().to_string()));
            continue;
        }
        if let Some(r) = l.strip_prefix("expected_fail_regexp ") {
            exp.fail = Some(FailExpect::Regex(r.trim().to_string()));
            continue;
        }
        if let Some(v) = parse_float(l.trim()) {
            exp.scalar = Some(v);
            continue;
        }
        let (desc, vals) = split_series(l);
        if exp.histogram_literal {
            continue;
        }
        match (parse_labels(desc), expand_values(vals)) {
            (Some(labels), Some(values)) => exp.series.push(ExpSeries { labels, values }),
            _ => {
                stats
                    .failures
                    .push(format!("{name}: bad expectation {l:?} in {line:?}"));
                return;
            }
        }
    }
    let involves_hist =
        exp.histogram_literal || identifiers(query).iter().any(|id| hist.contains(*id));
    if involves_hist {
        stats.skipped += 1;
        return;
    }
    stats.total += 1;
    match check_eval(engine, src, &kind, query, &exp, steps) {
        Ok(()) => stats.passed += 1,
        Err(e) => stats.failures.push(format!("{name}: {line}\n    {e}")),
    }
}

fn run_query(
    engine: &Engine,
    src: &MemorySource,
    kind: &EvalKind,
    query: &str,
) -> Result<QueryResult, String> {
    match *kind {
        EvalKind::Instant(t) => engine.instant(src, query, t),
        EvalKind::Range(s, e, st) => engine.range(src, query, s, e, st),
    }
    .map_err(|e| e.to_string())
}

fn check_eval(
    engine: &Engine,
    src: &MemorySource,
    kind: &EvalKind,
    query: &str,
    exp: &Expectations,
    steps: usize,
) -> Result<(), String> {
    let res = run_query(engine, src, kind, query);
    if let Some(f) = &exp.fail {
        let err = match res {
            Ok(r) => return Err(format!("expected failure, got {:?}", short(&r.value))),
            Err(e) => e,
        };
        return match f {
            FailExpect::Any => Ok(()),
            FailExpect::Msg(m) if err == *m || err.ends_with(m.as_str()) => Ok(()),
            FailExpect::Msg(m) => Err(format!("error {err:?}, expected {m:?}")),
            FailExpect::Regex(r) => match Regex::new(r) {
                Ok(re) if re.is_match(&err) => Ok(()),
                _ => Err(format!("error {err:?} does not match {r:?}")),
            },
        };
    }
    let res = res.map_err(|e| format!("unexpected error: {e}"))?;
    check_annotations("warn", &res.warnings, &exp.warn, exp.no_warn)?;
    check_annotations("info", &res.infos, &exp.info, exp.no_info)?;
    check_value(&res.value, kind, exp, steps)?;
    // Like Prometheus' harness: an instant query must also agree with the
    // middle step of the same query run as a range query.
    if let (EvalKind::Instant(t), Value::Vector(_) | Value::Scalar { .. }) = (kind, &res.value) {
        check_at_variants(engine, src, query, *t, &res.value)?;
    }
    let uses_query_times = identifiers(query)
        .iter()
        .any(|i| matches!(*i, "start" | "end" | "range" | "step"));
    if let EvalKind::Instant(t) = *kind {
        if matches!(res.value, Value::Vector(_) | Value::Scalar { .. }) && !uses_query_times {
            let r = engine
                .range(src, query, t - 60_000, t + 60_000, 60_000)
                .map_err(|e| format!("range variant failed: {e}"))?;
            compare_range_middle(&res.value, &r.value, t)?;
        }
    }
    Ok(())
}

/// Pins every selector (outside `@`-pinned subqueries) to `@ t` and marks
/// whether the query uses a time-dependent function.
fn pin_at(e: &mut Expr, at: &AtModifier, time_dependent: &mut bool) {
    match e {
        Expr::VectorSelector(vs) => {
            vs.at.get_or_insert(*at);
        }
        Expr::MatrixSelector(ms) => {
            ms.vs.at.get_or_insert(*at);
        }
        Expr::Subquery(sq) => {
            sq.at.get_or_insert(*at);
        }
        Expr::Paren(p) => pin_at(&mut p.expr, at, time_dependent),
        Expr::Unary(u) => pin_at(&mut u.expr, at, time_dependent),
        Expr::Binary(b) => {
            pin_at(&mut b.lhs, at, time_dependent);
            pin_at(&mut b.rhs, at, time_dependent);
        }
        Expr::Aggregate(a) => {
            pin_at(&mut a.expr, at, time_dependent);
            if let Some(p) = a.param.as_mut() {
                pin_at(p, at, time_dependent);
            }
        }
        Expr::Call(c) => {
            if matches!(
                c.func.name,
                "time"
                    | "timestamp"
                    | "predict_linear"
                    | "days_in_month"
                    | "day_of_month"
                    | "day_of_week"
                    | "day_of_year"
                    | "hour"
                    | "minute"
                    | "month"
                    | "year"
                    | "start"
                    | "end"
                    | "range"
                    | "step"
            ) {
                *time_dependent = true;
            }
            for a in c.args.iter_mut() {
                pin_at(a, at, time_dependent);
            }
        }
        // `step()`, `range()` and friends depend on the query's times.
        Expr::Duration(_) => *time_dependent = true,
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
    }
}

/// Like Prometheus' harness: with every selector pinned to `@ t`, the query
/// must give the same result at other evaluation times.
fn check_at_variants(
    engine: &Engine,
    src: &MemorySource,
    query: &str,
    t: i64,
    want: &Value,
) -> Result<(), String> {
    let Ok(mut expr) = parse(query) else {
        return Ok(());
    };
    let mut time_dependent = false;
    pin_at(&mut expr, &AtModifier::At(t), &mut time_dependent);
    if time_dependent {
        return Ok(());
    }
    for eval_at in [t - 10 * t.abs().max(60_000), 0, t / 5, t, t + 3_600_000] {
        let got = engine
            .eval_expr(src, query, &expr, eval_at, eval_at, 0)
            .map_err(|e| format!("@ variant at {eval_at} failed: {e}"))?;
        let same = match (want, &got.value) {
            (Value::Scalar { v: a, .. }, Value::Scalar { v: b, .. }) => almost_equal(*a, *b),
            (Value::Vector(a), Value::Vector(b)) => {
                a.len() == b.len()
                    && a.iter().all(|x| {
                        b.iter()
                            .any(|y| y.labels == x.labels && almost_equal(x.v, y.v))
                    })
            }
            _ => false,
        };
        if !same {
            return Err(format!(
                "@ variant at {eval_at}: got {}, want {}",
                short(&got.value),
                short(want)
            ));
        }
    }
    Ok(())
}

fn short(v: &Value) -> String {
    let s = format!("{v:?}");
    if s.len() > 300 {
        format!("{}...", &s[..300])
    } else {
        s
    }
}

fn check_annotations(
    kind: &str,
    got: &[String],
    exp: &[AnnoExpect],
    none: bool,
) -> Result<(), String> {
    if none && !got.is_empty() {
        return Err(format!("expected no {kind} annotations, got {got:?}"));
    }
    if exp.is_empty() {
        return Ok(());
    }
    if got.is_empty() {
        return Err(format!("expected {kind} annotations, got none"));
    }
    for g in got {
        let ok = exp.iter().any(|e| match e {
            AnnoExpect::Any => true,
            AnnoExpect::Msg(m) => g == m,
            AnnoExpect::Regex(r) => Regex::new(r).map(|re| re.is_match(g)).unwrap_or(false),
        });
        if !ok {
            return Err(format!(
                "unexpected {kind} annotation {g:?}, expected {exp:?}"
            ));
        }
    }
    Ok(())
}

fn check_value(v: &Value, kind: &EvalKind, exp: &Expectations, steps: usize) -> Result<(), String> {
    if let Some(s) = &exp.string {
        return match v {
            Value::String { v, .. } if v == s => Ok(()),
            other => Err(format!("expected string {s:?}, got {}", short(other))),
        };
    }
    if let Some(x) = exp.scalar {
        return match v {
            Value::Scalar { v, .. } if almost_equal(*v, x) => Ok(()),
            other => Err(format!("expected scalar {x}, got {}", short(other))),
        };
    }
    match (v, kind) {
        (Value::Vector(samples), EvalKind::Instant(_)) => {
            if samples.len() != exp.series.len() {
                return Err(format!(
                    "expected {} series, got {}: {}",
                    exp.series.len(),
                    samples.len(),
                    short(v)
                ));
            }
            for (k, e) in exp.series.iter().enumerate() {
                let want = e.values.first().copied().flatten();
                let found = if exp.ordered {
                    samples.get(k).filter(|s| s.labels == e.labels)
                } else {
                    samples.iter().find(|s| s.labels == e.labels)
                };
                match (found, want) {
                    (Some(s), Some(w)) if almost_equal(s.v, w) => {}
                    (Some(s), _) => {
                        return Err(format!("{}: got {}, want {want:?}", e.labels, s.v))
                    }
                    (None, _) => {
                        return Err(format!(
                            "missing series {} (ordered={}) in {}",
                            e.labels,
                            exp.ordered,
                            short(v)
                        ))
                    }
                }
            }
            Ok(())
        }
        (Value::Matrix(series), _) => {
            let (start, step, n) = match (exp.range_vector, kind) {
                (Some((a, b, c)), _) => (
                    a,
                    c,
                    if c > 0 && b >= a {
                        ((b - a) / c) as usize + 1
                    } else {
                        1
                    },
                ),
                (None, EvalKind::Range(s, _, st)) => (*s, *st, steps),
                (None, EvalKind::Instant(t)) => (*t, 1, 1),
            };
            let expected: Vec<&ExpSeries> = exp
                .series
                .iter()
                .filter(|e| e.values.iter().any(|v| v.is_some()))
                .collect();
            if series.len() != expected.len() {
                return Err(format!(
                    "expected {} series, got {}: {}",
                    expected.len(),
                    series.len(),
                    short(v)
                ));
            }
            for e in expected {
                let Some(s) = series.iter().find(|s| s.labels == e.labels) else {
                    return Err(format!("missing series {} in {}", e.labels, short(v)));
                };
                let mut got: Vec<Option<f64>> = vec![None; n];
                for p in &s.samples {
                    let off = p.t - start;
                    if step <= 0 || off < 0 || off % step != 0 || (off / step) as usize >= n {
                        return Err(format!("{}: unexpected point at {}", e.labels, p.t));
                    }
                    got[(off / step) as usize] = Some(p.v);
                }
                let mut want = e.values.clone();
                want.resize(n, None);
                for (k, (g, w)) in got.iter().zip(want.iter()).enumerate() {
                    let ok = match (g, w) {
                        (Some(a), Some(b)) => almost_equal(*a, *b) || (a.is_nan() && b.is_nan()),
                        (None, None) => true,
                        _ => false,
                    };
                    if !ok {
                        return Err(format!("{} step {k}: got {g:?}, want {w:?}", e.labels));
                    }
                }
            }
            Ok(())
        }
        (Value::Scalar { v: x, .. }, _) => {
            Err(format!("got scalar {x}, expected series {:?}", exp.series))
        }
        (other, _) => Err(format!("unexpected result {}", short(other))),
    }
}

fn compare_range_middle(instant: &Value, range: &Value, t: i64) -> Result<(), String> {
    let Value::Matrix(series) = range else {
        return Err("range variant did not return a matrix".into());
    };
    let middle: Vec<(&Labels, f64)> = series
        .iter()
        .filter_map(|s| {
            s.samples
                .iter()
                .find(|p| p.t == t)
                .map(|p| (&s.labels, p.v))
        })
        .collect();
    match instant {
        Value::Scalar { v, .. } => match middle.as_slice() {
            [(_, x)] if almost_equal(*x, *v) => Ok(()),
            _ => Err(format!(
                "range variant middle step {middle:?} != scalar {v}"
            )),
        },
        Value::Vector(samples) => {
            if samples.len() != middle.len() {
                return Err(format!(
                    "range variant middle step has {} series, instant {}",
                    middle.len(),
                    samples.len()
                ));
            }
            for s in samples {
                match middle.iter().find(|(l, _)| **l == s.labels) {
                    Some((_, x)) if almost_equal(*x, s.v) => {}
                    other => {
                        return Err(format!(
                            "range variant: {} is {other:?}, instant {}",
                            s.labels, s.v
                        ))
                    }
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Runs every script of Prometheus' test suite found in `dir` and prints
/// pass rates (float-only evals). Returns (passed, total).
pub(crate) fn run_dir(dir: &str, verbose: bool) -> (usize, usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (0, 0);
    };
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    let (mut passed, mut total) = (0, 0);
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let stats = run_script(&name, &text);
        println!(
            "{name:28} {:4}/{:4} passed ({:5.1}%), {} skipped (native histograms / start timestamps)",
            stats.passed,
            stats.total,
            if stats.total > 0 {
                100.0 * stats.passed as f64 / stats.total as f64
            } else {
                100.0
            },
            stats.skipped
        );
        if verbose {
            for fl in &stats.failures {
                println!("  FAIL {fl}");
            }
        }
        passed += stats.passed;
        total += stats.total;
    }
    println!("TOTAL {passed}/{total}");
    (passed, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_notation() {
        assert_eq!(
            expand_values("1 _ 3").unwrap(),
            vec![Some(1.0), None, Some(3.0)]
        );
        assert_eq!(
            expand_values("0+10x2").unwrap(),
            vec![Some(0.0), Some(10.0), Some(20.0)]
        );
        assert_eq!(
            expand_values("5-1x2").unwrap(),
            vec![Some(5.0), Some(4.0), Some(3.0)]
        );
        assert_eq!(
            expand_values("-1-1x1").unwrap(),
            vec![Some(-1.0), Some(-2.0)]
        );
        assert_eq!(expand_values("1x2").unwrap(), vec![Some(1.0); 3]);
        assert_eq!(expand_values("_x2").unwrap(), vec![None, None]);
        assert_eq!(expand_values("1e-3").unwrap(), vec![Some(0.001)]);
        assert!(expand_values("stale").unwrap()[0].is_some_and(crate::model::is_stale_nan));
        assert_eq!(parse_duration_ms("1m30s"), Some(90_000));
        assert_eq!(parse_duration_ms("0"), Some(0));
        assert_eq!(parse_duration_ms("20s500ms"), Some(20_500));
    }

    #[test]
    fn series_split() {
        assert_eq!(split_series(r#"a{b="c d"} 1 2"#), (r#"a{b="c d"}"#, "1 2"));
        assert_eq!(split_series("metric 0 1"), ("metric", "0 1"));
        assert_eq!(split_series("{} 3"), ("{}", "3"));
    }

    /// Prints conformance against Prometheus' scripts, when available.
    /// `cargo test conformance -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn conformance() {
        let verbose = std::env::var("CONFORMANCE_VERBOSE").is_ok();
        let (passed, total) = run_dir("/work/shared/conformance/promql", verbose);
        assert!(total == 0 || passed > 0);
    }
}
