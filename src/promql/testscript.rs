//! The conformance runner for Prometheus' `promqltest` scripts
//! (`tests/testdata/promql/*.test`, vendored unchanged): `load`,
//! `load_with_nhcb`, `clear` and `eval` commands executed the way
//! Prometheus' own harness does (see `FORMAT.md` in the shared conformance
//! data): every instant eval is re-run with each selector pinned to `@ t`
//! at five other evaluation times and as a range query whose middle step
//! must match; annotations are matched both ways; native histograms are
//! compared after compaction with the float tolerance.
//!
//! [`run_script`] returns one outcome per eval, classified as native
//! histogram or float-only the way the conformance data counts them; the
//! `promql_conformance` test prints the per-file table and enforces the
//! ratchet in `tests/promql_conformance_baseline.txt`.

use std::collections::HashSet;

use regex::Regex;

use crate::model::histogram::literal::{expand_histogram_token_with_hint, split_series_values};
use crate::model::histogram::{FloatHistogram, HistogramSample, Span, CUSTOM_BUCKETS_SCHEMA};
use crate::model::{Labels, Sample, STALE_NAN_BITS};

use super::source::{MemorySource, Series};
use super::testscript_at::pin_at;
use super::{Engine, EngineOptions, QueryResult, Value};

/// Prometheus' test engine holds at most this many samples per query.
const TEST_MAX_SAMPLES: usize = 10_000;

/// One point of a loaded or expected series.
#[derive(Clone, Debug)]
enum Val {
    F(f64),
    /// A histogram and whether its literal stated `counter_reset_hint`.
    H(Box<FloatHistogram>, bool),
}

/// The outcome of one `eval` command.
#[derive(Debug)]
pub(crate) struct EvalOutcome {
    pub line: usize,
    /// Involves native histograms (as the conformance data counts it).
    pub histogram: bool,
    /// `None` when the eval passed, else why it failed.
    pub failure: Option<String>,
}

#[derive(Debug)]
enum Expect {
    Message(String),
    Regex(String),
}

impl Expect {
    fn matches(&self, s: &str) -> bool {
        match self {
            Expect::Message(m) => m == s,
            Expect::Regex(r) => Regex::new(r).map(|re| re.is_match(s)).unwrap_or(false),
        }
    }
}

#[derive(Debug, Default)]
struct Expectations {
    fail: bool,
    fail_match: Option<Expect>,
    ordered: bool,
    warn: bool,
    info: bool,
    warn_matches: Vec<Expect>,
    info_matches: Vec<Expect>,
    no_warn: bool,
    no_info: bool,
    string: Option<String>,
    scalar: Option<f64>,
    exclude_from_range: bool,
    /// `expect range vector from a to b step c`: the grid of the points.
    range_vector: Option<(i64, i64)>,
    /// Expected series in file order: labels and points.
    series: Vec<(Labels, Vec<Option<Val>>)>,
}

#[derive(Clone, Copy, Debug)]
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
    let b = s.as_bytes();
    if b.is_empty() {
        return None;
    }
    let (mut total, mut i) = (0i64, 0usize);
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
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    Some(if neg { -total } else { total })
}

/// A float literal as the scripts write them (`Inf`, `NaN`, hex, exponents).
fn parse_float(s: &str) -> Option<f64> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = match body.to_ascii_lowercase().as_str() {
        "inf" => f64::INFINITY,
        "nan" => f64::NAN,
        l if l.starts_with("0x") => i64::from_str_radix(&l[2..], 16).ok()? as f64,
        _ => body.parse::<f64>().ok()?,
    };
    Some(if neg { -v } else { v })
}

/// Expands one float value token (`N`, `_`, `stale`, `AxN`, `A+BxN`, `A-BxN`).
fn expand_float_token(tok: &str) -> Option<Vec<Option<Val>>> {
    let stale = || Val::F(f64::from_bits(STALE_NAN_BITS));
    if tok == "_" {
        return Some(vec![None]);
    }
    if tok == "stale" {
        return Some(vec![Some(stale())]);
    }
    let (body, times) = match tok.rfind('x') {
        Some(i)
            if i > 0 && i + 1 < tok.len() && tok[i + 1..].bytes().all(|c| c.is_ascii_digit()) =>
        {
            (&tok[..i], Some(tok[i + 1..].parse::<usize>().ok()?))
        }
        _ => (tok, None),
    };
    if body == "_" {
        return Some(vec![None; times.unwrap_or(1)]);
    }
    let bytes = body.as_bytes();
    let op = (1..bytes.len())
        .find(|&i| (bytes[i] == b'+' || bytes[i] == b'-') && !matches!(bytes[i - 1], b'e' | b'E'));
    match (op, times) {
        (Some(i), Some(n)) => {
            let a = parse_float(&body[..i])?;
            let d = parse_float(&body[i + 1..])?;
            let d = if bytes[i] == b'-' { -d } else { d };
            Some((0..=n).map(|k| Some(Val::F(a + d * k as f64))).collect())
        }
        (None, Some(n)) => {
            let v = if body == "stale" {
                stale()
            } else {
                Val::F(parse_float(body)?)
            };
            Some(vec![Some(v); n + 1])
        }
        (None, None) => Some(vec![Some(Val::F(parse_float(body)?))]),
        (Some(_), None) => None,
    }
}

/// Expands a whole value list (floats and `{{...}}` histograms).
fn expand_values(s: &str) -> Result<Vec<Option<Val>>, String> {
    let mut out = Vec::new();
    for tok in split_series_values(s) {
        if tok.contains("{{") {
            let (vals, stated) = expand_histogram_token_with_hint(tok)?;
            out.extend(
                vals.into_iter()
                    .map(|h| h.map(|h| Val::H(Box::new(h), stated))),
            );
        } else {
            out.extend(expand_float_token(tok).ok_or_else(|| format!("bad value {tok:?}"))?);
        }
    }
    Ok(out)
}

/// Splits `name{a="b c"} 1 2` into the series descriptor and the values.
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
            '{' if !in_braces => {
                if line[i..].starts_with("{{") {
                    return (&line[..i], line[i..].trim());
                }
                in_braces = true;
            }
            '}' if in_braces => return (&line[..=i], line[i + 1..].trim()),
            c if c.is_whitespace() && !in_braces => return (&line[..i], line[i..].trim()),
            _ => {}
        }
    }
    (line, "")
}

/// Reads a quoted string (`"…"`, `'…'` or a backquoted raw string) with Go
/// escapes; returns the value and the rest.
fn take_quoted(s: &str) -> Option<(String, &str)> {
    let q = s.chars().next()?;
    if !matches!(q, '"' | '\'' | '`') {
        return None;
    }
    let mut out = String::new();
    let mut chars = s[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        if c == q {
            return Some((out, &s[1 + i + 1..]));
        }
        if c == '\\' && q != '`' {
            let (_, e) = chars.next()?;
            match e {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                '\\' => out.push('\\'),
                '"' => out.push('"'),
                '\'' => out.push('\''),
                'x' => {
                    let h: String = (0..2).filter_map(|_| chars.next().map(|x| x.1)).collect();
                    out.push(char::from(u8::from_str_radix(&h, 16).ok()?));
                }
                'u' => {
                    let h: String = (0..4).filter_map(|_| chars.next().map(|x| x.1)).collect();
                    out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        } else {
            out.push(c);
        }
    }
    None
}

fn is_name_char(c: char, first: bool) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (!first && c.is_ascii_digit())
}

/// Parses a series descriptor `name{l="v",…}`, `{__name__="x"}`, `{}`,
/// with quoted (UTF-8) names allowed inside the braces.
fn parse_labels(desc: &str) -> Option<Labels> {
    let mut s = desc.trim();
    let mut pairs: Vec<(String, String)> = Vec::new();
    let name_end = s
        .char_indices()
        .find(|(i, c)| !is_name_char(*c, *i == 0))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    if name_end > 0 {
        pairs.push(("__name__".into(), s[..name_end].to_string()));
        s = &s[name_end..];
    }
    if s.is_empty() {
        return (!pairs.is_empty()).then(|| Labels::from_pairs(pairs));
    }
    s = s.strip_prefix('{')?.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix('}') {
            return rest.trim().is_empty().then(|| Labels::from_pairs(pairs));
        }
        let (name, rest) = if let Some((q, rest)) = take_quoted(s) {
            (q, rest)
        } else {
            let end = s
                .char_indices()
                .find(|(i, c)| !is_name_char(*c, *i == 0))
                .map(|(i, _)| i)?;
            (s[..end].to_string(), &s[end..])
        };
        let rest = rest.trim_start();
        // A quoted name alone is the metric name (`{"my.metric"}`).
        if rest.starts_with(',') || rest.starts_with('}') {
            pairs.push(("__name__".into(), name));
            s = rest.strip_prefix(',').unwrap_or(rest).trim_start();
            continue;
        }
        let rest = rest.strip_prefix('=')?.trim_start();
        let (value, rest) = take_quoted(rest)?;
        pairs.push((name, value));
        let rest = rest.trim_start();
        s = rest.strip_prefix(',').unwrap_or(rest).trim_start();
    }
}

/// Identifier-like words of a query (metric names among them).
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

/// Float comparison as Prometheus' `almost.Equal` with epsilon 1e-6:
/// NaN equals NaN (stale NaN only stale NaN), relative tolerance otherwise.
fn almost_equal(a: f64, b: f64) -> bool {
    let stale = |x: f64| x.to_bits() == STALE_NAN_BITS;
    if stale(a) || stale(b) {
        return stale(a) && stale(b);
    }
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

/// Spans equal up to empty spans (Prometheus' `spansMatch`).
fn spans_match(a: &[Span], b: &[Span]) -> bool {
    fn normalized(s: &[Span]) -> Vec<Span> {
        let mut out: Vec<Span> = Vec::new();
        let mut carry = 0i32;
        for sp in s {
            if sp.length == 0 {
                carry += sp.offset;
                continue;
            }
            out.push(Span {
                offset: sp.offset + carry,
                length: sp.length,
            });
            carry = 0;
        }
        out
    }
    normalized(a) == normalized(b)
}

/// Prometheus' `compareNativeHistogram` on compacted copies, plus the
/// counter-reset hint when the expected literal stated it.
fn histograms_match(exp: &FloatHistogram, hint_stated: bool, got: &FloatHistogram) -> bool {
    let (mut e, mut g) = (exp.clone(), got.clone());
    e.compact(0);
    g.compact(0);
    let floats = |a: &[f64], b: &[f64]| {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| almost_equal(*x, *y))
    };
    e.schema == g.schema
        && almost_equal(e.count, g.count)
        && almost_equal(e.sum, g.sum)
        && (e.schema != CUSTOM_BUCKETS_SCHEMA || e.custom_values == g.custom_values)
        && e.zero_threshold == g.zero_threshold
        && almost_equal(e.zero_count, g.zero_count)
        && spans_match(&e.negative_spans, &g.negative_spans)
        && floats(&e.negative_buckets, &g.negative_buckets)
        && spans_match(&e.positive_spans, &g.positive_spans)
        && floats(&e.positive_buckets, &g.positive_buckets)
        && (!hint_stated || e.counter_reset_hint == g.counter_reset_hint)
}

fn show_val(v: &Val) -> String {
    match v {
        Val::F(f) => format!("{f}"),
        Val::H(h, _) => h.test_expression(),
    }
}

/// One point of a result: float or histogram.
fn val_matches(exp: &Val, got_f: Option<f64>, got_h: Option<&FloatHistogram>) -> bool {
    match (exp, got_f, got_h) {
        (Val::F(e), Some(g), None) => almost_equal(*e, g),
        (Val::H(e, stated), None, Some(g)) => histograms_match(e, *stated, g),
        _ => false,
    }
}

/// State of one script run: loaded data and the metric names that involve
/// native histograms since the last `clear`.
struct ScriptState {
    engine: Engine,
    src: MemorySource,
    hist_metrics: HashSet<String>,
}

/// Runs a script and returns one outcome per `eval`, in file order.
pub(crate) fn run_script(script: &str) -> Vec<EvalOutcome> {
    let mut st = ScriptState {
        engine: Engine::new(EngineOptions {
            max_samples: TEST_MAX_SAMPLES,
            ..EngineOptions::default()
        }),
        src: MemorySource::new(),
        hist_metrics: HashSet::new(),
    };
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
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let line = &lines[i];
        i += 1;
        if line.is_empty() {
            continue;
        }
        let cmd = line
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        if cmd == "clear" {
            st.src.clear();
            st.hist_metrics.clear();
            continue;
        }
        let block_start = i;
        while i < lines.len() && !lines[i].is_empty() {
            i += 1;
        }
        let block = &lines[block_start..i];
        if cmd == "load" || cmd == "load_with_nhcb" {
            // A broken load makes the evals that depend on it fail; it is
            // not itself an eval.
            let _ = load(&mut st, line, block, cmd == "load_with_nhcb");
        } else if cmd.starts_with("eval") {
            out.push(run_eval(&st, line_no, &cmd, line, block));
        }
    }
    out
}

fn load(st: &mut ScriptState, line: &str, block: &[String], nhcb: bool) -> Result<(), String> {
    let interval = line
        .split_whitespace()
        .nth(1)
        .and_then(parse_duration_ms)
        .ok_or_else(|| format!("bad load line {line:?}"))?;
    let mut classic: Vec<(Labels, Vec<Option<Val>>)> = Vec::new();
    let mut first_error = None;
    for l in block {
        let (desc, vals) = split_series(l);
        // Start-timestamp lines (`name{…}@st <offsets>`) carry per-sample
        // created timestamps, which the engine does not use.
        if desc.ends_with("@st") || vals.starts_with("@st") {
            continue;
        }
        let Some(labels) = parse_labels(desc) else {
            first_error.get_or_insert(format!("bad series {desc:?}"));
            continue;
        };
        if vals.contains("{{") {
            st.hist_metrics
                .insert(labels.metric_name().unwrap_or("").to_string());
        }
        let values = match expand_values(vals) {
            Ok(v) => v,
            Err(e) => {
                first_error.get_or_insert(e);
                continue;
            }
        };
        let (mut floats, mut hists) = (Vec::new(), Vec::new());
        for (k, v) in values.iter().enumerate() {
            let t = k as i64 * interval;
            match v {
                Some(Val::F(f)) => floats.push(Sample::new(t, *f)),
                Some(Val::H(h, _)) => hists.push(HistogramSample { t, h: h.clone() }),
                None => {}
            }
        }
        if nhcb {
            classic.push((labels.clone(), values));
        }
        if !floats.is_empty() {
            st.src.add(labels.clone(), floats);
        }
        if !hists.is_empty() {
            stored_hints(&mut hists);
            st.src.add_histograms(labels, hists);
        }
    }
    if nhcb {
        for (labels, hists) in classic_to_nhcb(&classic, interval) {
            st.hist_metrics
                .insert(labels.metric_name().unwrap_or("").to_string());
            st.src.add_histograms(labels, hists);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Gives loaded histograms the counter-reset hints Prometheus' storage
/// gives them when they are read back (the harness loads into a TSDB).
fn stored_hints(hists: &mut [HistogramSample]) {
    for i in 1..hists.len() {
        let (prev, cur) = hists.split_at_mut(i);
        let hint = cur[0].h.stored_hint(prev.last().map(|p| &*p.h));
        cur[0].h.counter_reset_hint = hint;
    }
}

/// `load_with_nhcb`: the classic `_bucket`/`_count`/`_sum` series, grouped by
/// their labels without `le` and by timestamp, also stored as native
/// histograms with custom buckets under the base name.
fn classic_to_nhcb(
    series: &[(Labels, Vec<Option<Val>>)],
    interval: i64,
) -> Vec<(Labels, Vec<HistogramSample>)> {
    use std::collections::BTreeMap;
    #[derive(Default)]
    struct Temp {
        buckets: Vec<(f64, f64)>,
        count: Option<f64>,
        sum: Option<f64>,
    }
    let mut groups: BTreeMap<Labels, BTreeMap<usize, Temp>> = BTreeMap::new();
    for (labels, values) in series {
        let name = labels.metric_name().unwrap_or("");
        let (base, kind) = if let Some(b) = name.strip_suffix("_bucket") {
            (b, 0)
        } else if let Some(b) = name.strip_suffix("_count") {
            (b, 1)
        } else if let Some(b) = name.strip_suffix("_sum") {
            (b, 2)
        } else {
            continue;
        };
        let le = labels.get("le").and_then(parse_float);
        if kind == 0 && le.is_none_or(f64::is_nan) {
            continue;
        }
        let key = Labels::from_pairs(labels.iter().filter_map(|l| match l.name.as_str() {
            "le" => None,
            "__name__" => Some(("__name__".to_string(), base.to_string())),
            _ => Some((l.name.clone(), l.value.clone())),
        }));
        let by_ts = groups.entry(key).or_default();
        for (k, v) in values.iter().enumerate() {
            let Some(Val::F(f)) = v else { continue };
            let t = by_ts.entry(k).or_default();
            match (kind, le) {
                (0, Some(le)) => t.buckets.push((le, *f)),
                (1, _) => t.count = Some(*f),
                _ => t.sum = Some(*f),
            }
        }
    }
    let mut out = Vec::new();
    for (labels, by_ts) in groups {
        let mut hs = Vec::new();
        for (k, mut t) in by_ts {
            t.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut h = FloatHistogram {
                schema: CUSTOM_BUCKETS_SCHEMA,
                ..Default::default()
            };
            let mut prev = 0.0;
            let n = t.buckets.len();
            for (le, cum) in &t.buckets {
                h.positive_buckets.push(cum - prev);
                prev = *cum;
                if le.is_finite() {
                    h.custom_values.push(*le);
                }
            }
            if n > 0 {
                h.positive_spans.push(Span {
                    offset: 0,
                    length: n as u32,
                });
            }
            h.count = t.count.unwrap_or(prev);
            h.sum = t.sum.unwrap_or(0.0);
            hs.push(HistogramSample {
                t: k as i64 * interval,
                h: Box::new(h),
            });
        }
        if !hs.is_empty() {
            out.push((labels, hs));
        }
    }
    out
}

fn parse_expect_match(tail: &str) -> Option<Expect> {
    let tail = tail.trim();
    if let Some(m) = tail.strip_prefix("msg:") {
        Some(Expect::Message(m.trim().to_string()))
    } else {
        tail.strip_prefix("regex:")
            .map(|r| Expect::Regex(r.trim().to_string()))
    }
}

/// Parses an `eval` line and its block; runs and checks it.
fn run_eval(
    st: &ScriptState,
    line_no: usize,
    cmd: &str,
    line: &str,
    block: &[String],
) -> EvalOutcome {
    let mut exp = Expectations::default();
    let result = parse_eval(cmd, line, block, &mut exp);
    let (kind, query) = match result {
        Ok(x) => x,
        Err(e) => {
            return EvalOutcome {
                line: line_no,
                histogram: block.iter().any(|l| l.contains("{{")),
                failure: Some(e),
            }
        }
    };
    let histogram = block.iter().any(|l| l.contains("{{"))
        || identifiers(&query)
            .iter()
            .any(|id| st.hist_metrics.contains(*id));
    let failure = check_eval(st, kind, &query, &exp).err();
    EvalOutcome {
        line: line_no,
        histogram,
        failure,
    }
}

fn parse_eval(
    cmd: &str,
    line: &str,
    block: &[String],
    exp: &mut Expectations,
) -> Result<(EvalKind, String), String> {
    let rest = line[cmd.len()..].trim_start();
    let words: Vec<&str> = rest.split_whitespace().collect();
    let (kind, query) = match words.first() {
        Some(&"instant") if words.get(1) == Some(&"at") => {
            let t = words
                .get(2)
                .and_then(|w| parse_duration_ms(w))
                .ok_or_else(|| format!("bad eval line {line:?}"))?;
            let q = rest.splitn(4, char::is_whitespace).nth(3).unwrap_or("");
            (EvalKind::Instant(t), q.trim().to_string())
        }
        Some(&"range") => {
            let p: Vec<&str> = rest.splitn(8, char::is_whitespace).collect();
            let (Some(s), Some(e), Some(step)) = (
                p.get(2).and_then(|x| parse_duration_ms(x)),
                p.get(4).and_then(|x| parse_duration_ms(x)),
                p.get(6).and_then(|x| parse_duration_ms(x)),
            ) else {
                return Err(format!("bad eval line {line:?}"));
            };
            (
                EvalKind::Range(s, e, step),
                p.get(7).copied().unwrap_or("").trim().to_string(),
            )
        }
        _ => return Err(format!("bad eval line {line:?}")),
    };
    match cmd {
        "eval_fail" => exp.fail = true,
        "eval_warn" => exp.warn = true,
        "eval_info" => exp.info = true,
        "eval_ordered" => exp.ordered = true,
        _ => {}
    }
    for l in block {
        if let Some(x) = l.strip_prefix("expect ") {
            let x = x.trim();
            let (head, tail) = x.split_once(char::is_whitespace).unwrap_or((x, ""));
            match head {
                "fail" => {
                    exp.fail = true;
                    exp.fail_match = parse_expect_match(tail);
                }
                "ordered" => exp.ordered = true,
                "warn" => {
                    exp.warn = true;
                    exp.warn_matches.extend(parse_expect_match(tail));
                }
                "info" => {
                    exp.info = true;
                    exp.info_matches.extend(parse_expect_match(tail));
                }
                "no_warn" => exp.no_warn = true,
                "no_info" => exp.no_info = true,
                "string" => {
                    let t = tail.trim();
                    let s = take_quoted(t)
                        .map(|(s, _)| s)
                        .ok_or_else(|| format!("bad expected string {t:?}"))?;
                    exp.string = Some(s);
                    // A string cannot be the result of a range query.
                    exp.exclude_from_range = true;
                }
                "range" => {
                    // expect range vector from <t0> to <t1> step <d>
                    exp.exclude_from_range = true;
                    let p: Vec<&str> = tail.split_whitespace().collect();
                    match (
                        p.get(2).and_then(|x| parse_duration_ms(x)),
                        p.get(6).and_then(|x| parse_duration_ms(x)),
                    ) {
                        (Some(a), Some(c)) if p.first() == Some(&"vector") => {
                            exp.range_vector = Some((a, c))
                        }
                        _ => return Err(format!("bad expect line {l:?}")),
                    }
                }
                other => return Err(format!("unknown expect {other:?}")),
            }
            continue;
        }
        if let Some(m) = l.strip_prefix("expected_fail_message ") {
            exp.fail = true;
            exp.fail_match = Some(Expect::Message(m.trim().to_string()));
            continue;
        }
        if let Some(r) = l.strip_prefix("expected_fail_regexp ") {
            exp.fail = true;
            exp.fail_match = Some(Expect::Regex(r.trim().to_string()));
            continue;
        }
        if let Some(v) = parse_float(l.trim()) {
            exp.scalar = Some(v);
            continue;
        }
        let (desc, vals) = split_series(l);
        let labels = parse_labels(desc).ok_or_else(|| format!("bad expected series {l:?}"))?;
        let values = expand_values(vals)?;
        exp.series.push((labels, values));
    }
    Ok((kind, query))
}

fn run_query(st: &ScriptState, kind: EvalKind, query: &str) -> Result<QueryResult, String> {
    match kind {
        EvalKind::Instant(t) => st.engine.instant(&st.src, query, t),
        EvalKind::Range(s, e, step) => st.engine.range(&st.src, query, s, e, step),
    }
    .map_err(|e| e.to_string())
}

fn check_eval(
    st: &ScriptState,
    kind: EvalKind,
    query: &str,
    exp: &Expectations,
) -> Result<(), String> {
    match kind {
        EvalKind::Range(..) => check_one(st, kind, query, exp).map(|_| ()),
        EvalKind::Instant(t) => {
            let mut variants: Vec<(String, i64)> = vec![(query.to_string(), t)];
            if let Some(pinned) = pin_at(query, t) {
                let times: Vec<i64> = if t == 0 {
                    vec![-1000, 0, 1000]
                } else {
                    vec![-10 * t, 0, t / 5, t, 10 * t]
                };
                variants.extend(times.into_iter().map(|et| (pinned.clone(), et)));
            }
            for (q, et) in variants {
                let passed = check_one(st, EvalKind::Instant(et), &q, exp)?;
                if !passed || exp.exclude_from_range || uses_query_times(&q) {
                    continue;
                }
                check_range_mode(st, &q, et, exp)?;
            }
            Ok(())
        }
    }
}

/// Runs one query and checks failure, annotations and value. Returns
/// whether it produced a value (false when an expected failure happened).
fn check_one(
    st: &ScriptState,
    kind: EvalKind,
    query: &str,
    exp: &Expectations,
) -> Result<bool, String> {
    let res = match run_query(st, kind, query) {
        Err(e) if exp.fail => {
            return match &exp.fail_match {
                Some(m) if !m.matches(&e) => Err(format!("{query}: error {e:?}, expected {m:?}")),
                _ => Ok(false),
            }
        }
        Err(e) => return Err(format!("{query}: unexpected error: {e}")),
        Ok(_) if exp.fail => return Err(format!("{query}: expected an error, got none")),
        Ok(r) => r,
    };
    check_annotations(
        query,
        "warn",
        &res.warnings,
        exp.warn,
        &exp.warn_matches,
        exp.no_warn,
    )?;
    check_annotations(
        query,
        "info",
        &res.infos,
        exp.info,
        &exp.info_matches,
        exp.no_info,
    )?;
    // Range results put point i at start + i·step; so do the raw points of
    // `expect range vector from a to b step c`.
    let grid = match (kind, exp.range_vector) {
        (_, Some(g)) => g,
        (EvalKind::Range(s, _, step), None) => (s, step),
        (EvalKind::Instant(_), None) => (0, 0),
    };
    compare(&res.value, exp, grid).map_err(|e| format!("{query}: {e}"))?;
    Ok(true)
}

/// Does the query call `step()`, `range()`, `start()` or `end()` (not as
/// `@ start()` / `@ end()`)? Those resolve differently in the harness'
/// range-mode re-run (its step and range are not the instant query's), so
/// the re-run is skipped for them.
fn uses_query_times(q: &str) -> bool {
    let q = q
        .to_ascii_lowercase()
        .replace(' ', "")
        .replace("@start()", "")
        .replace("@end()", "");
    ["step()", "range()", "start()", "end()"]
        .iter()
        .any(|f| q.contains(f))
}

/// Like Prometheus' harness: the instant query run as a range query from
/// `t-1m` to `t+1m` must give the same result at its middle step.
fn check_range_mode(
    st: &ScriptState,
    query: &str,
    t: i64,
    exp: &Expectations,
) -> Result<(), String> {
    let r = st
        .engine
        .range(&st.src, query, t - 60_000, t + 60_000, 60_000)
        .map_err(|e| format!("{query} in range mode: {e}"))?;
    if exp.ordered {
        return Ok(());
    }
    let Value::Matrix(m) = &r.value else {
        return Err(format!("{query} in range mode: not a matrix"));
    };
    check_sorted(m)?;
    let mut vec = Vec::new();
    for s in m {
        if let Some(p) = s.samples.iter().find(|p| p.t == t) {
            vec.push(super::InstantSample {
                labels: s.labels.clone(),
                t,
                v: p.v,
                h: None,
            });
        }
        if let Some(p) = s.histograms.iter().find(|p| p.t == t) {
            vec.push(super::InstantSample {
                labels: s.labels.clone(),
                t,
                v: 0.0,
                h: Some(p.h.clone()),
            });
        }
    }
    let value = if exp.scalar.is_some() {
        Value::Scalar {
            t,
            v: vec.first().map(|s| s.v).unwrap_or(f64::NAN),
        }
    } else {
        Value::Vector(vec)
    };
    compare(&value, exp, (0, 0)).map_err(|e| format!("{query} in range mode: {e}"))
}

fn check_sorted(m: &[Series]) -> Result<(), String> {
    match m.windows(2).find(|w| w[0].labels > w[1].labels) {
        Some(w) => Err(format!(
            "matrix results should always be sorted by labels: {} before {}",
            w[0].labels, w[1].labels
        )),
        None => Ok(()),
    }
}

fn check_annotations(
    query: &str,
    kind: &str,
    got: &[String],
    want_some: bool,
    matches: &[Expect],
    want_none: bool,
) -> Result<(), String> {
    if want_some && got.is_empty() {
        return Err(format!("{query}: expected {kind} annotations, got none"));
    }
    if want_none && !got.is_empty() {
        return Err(format!("{query}: unexpected {kind} annotations {got:?}"));
    }
    if matches.is_empty() {
        return Ok(());
    }
    for m in matches {
        if !got.iter().any(|g| m.matches(g)) {
            return Err(format!(
                "{query}: expected {kind} annotation {m:?}, got {got:?}"
            ));
        }
    }
    for g in got {
        if !matches.iter().any(|m| m.matches(g)) {
            return Err(format!("{query}: unexpected {kind} annotation {g:?}"));
        }
    }
    Ok(())
}

/// Compares a result with the expectations (Prometheus' `compareResult`).
/// `grid` is the (start, step) of a range result.
fn compare(v: &Value, exp: &Expectations, grid: (i64, i64)) -> Result<(), String> {
    if let Some(s) = &exp.string {
        return match v {
            Value::String { v, .. } if v == s => Ok(()),
            other => Err(format!("expected string {s:?}, got {}", short(other))),
        };
    }
    match v {
        Value::Scalar { v, .. } => match exp.scalar {
            Some(x) if almost_equal(x, *v) => Ok(()),
            Some(x) => Err(format!("expected scalar {x} but got {v}")),
            None => Err(format!(
                "expected vector or matrix result, but got scalar {v}"
            )),
        },
        Value::String { v, .. } => Err(format!("unexpected string {v:?}")),
        Value::Vector(samples) => {
            if exp.scalar.is_some() {
                return Err(format!(
                    "expected scalar result, but got vector {}",
                    short(v)
                ));
            }
            let mut seen = vec![false; exp.series.len()];
            for (pos, s) in samples.iter().enumerate() {
                let Some(k) = exp.series.iter().position(|e| e.0 == s.labels) else {
                    return Err(format!("unexpected metric {} in result", s.labels));
                };
                if exp.ordered && k != pos {
                    return Err(format!(
                        "expected metric {} at position {} but was at {}",
                        s.labels,
                        k + 1,
                        pos + 1
                    ));
                }
                let Some(Some(e)) = exp.series[k].1.first() else {
                    return Err(format!("no expected value for {}", s.labels));
                };
                let (gf, gh) = match &s.h {
                    Some(h) => (None, Some(&**h)),
                    None => (Some(s.v), None),
                };
                if !val_matches(e, gf, gh) {
                    return Err(format!(
                        "expected {} for {} but got {}",
                        show_val(e),
                        s.labels,
                        gh.map(|h| h.test_expression())
                            .unwrap_or_else(|| format!("{}", s.v))
                    ));
                }
                seen[k] = true;
            }
            match seen.iter().position(|s| !s) {
                Some(k) => Err(format!("expected metric {} not found", exp.series[k].0)),
                None => Ok(()),
            }
        }
        Value::Matrix(series) => {
            if exp.ordered {
                return Err("expected ordered result, but query returned a matrix".into());
            }
            if exp.scalar.is_some() {
                return Err(format!(
                    "expected scalar result, but got matrix {}",
                    short(v)
                ));
            }
            check_sorted(series)?;
            let (start, step) = grid;
            let mut seen = vec![false; exp.series.len()];
            for s in series {
                let Some(k) = exp.series.iter().position(|e| e.0 == s.labels) else {
                    return Err(format!("unexpected metric {} in result", s.labels));
                };
                seen[k] = true;
                let mut want_f: Vec<(i64, f64)> = Vec::new();
                let mut want_h: Vec<(i64, &FloatHistogram, bool)> = Vec::new();
                for (i, e) in exp.series[k].1.iter().enumerate() {
                    let t = start + step * i as i64;
                    match e {
                        Some(Val::F(f)) => want_f.push((t, *f)),
                        Some(Val::H(h, stated)) => want_h.push((t, h, *stated)),
                        None => {}
                    }
                }
                if want_f.len() != s.samples.len() || want_h.len() != s.histograms.len() {
                    return Err(format!(
                        "expected {} float points and {} histogram points for {}, got {} and {}",
                        want_f.len(),
                        want_h.len(),
                        s.labels,
                        s.samples.len(),
                        s.histograms.len()
                    ));
                }
                for ((t, f), p) in want_f.iter().zip(&s.samples) {
                    if *t != p.t || !almost_equal(*f, p.v) {
                        return Err(format!(
                            "{}: expected {f} at {t}, got {} at {}",
                            s.labels, p.v, p.t
                        ));
                    }
                }
                for ((t, h, stated), p) in want_h.iter().zip(&s.histograms) {
                    if *t != p.t || !histograms_match(h, *stated, &p.h) {
                        return Err(format!(
                            "{}: expected {} at {t}, got {} at {}",
                            s.labels,
                            h.test_expression(),
                            p.h.test_expression(),
                            p.t
                        ));
                    }
                }
            }
            match seen.iter().position(|s| !s) {
                Some(k) => Err(format!("expected metric {} not found", exp.series[k].0)),
                None => Ok(()),
            }
        }
    }
}

fn short(v: &Value) -> String {
    let s = format!("{v:?}");
    if s.len() > 300 {
        let mut end = 300;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &s[..end])
    } else {
        s
    }
}

/// Passed / total evals of one file, float-only and native-histogram apart.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub float_passed: usize,
    pub float_total: usize,
    pub hist_passed: usize,
    pub hist_total: usize,
}

impl Tally {
    pub fn add(&mut self, o: &EvalOutcome) {
        let ok = usize::from(o.failure.is_none());
        if o.histogram {
            self.hist_total += 1;
            self.hist_passed += ok;
        } else {
            self.float_total += 1;
            self.float_passed += ok;
        }
    }

    pub fn merge(&mut self, o: Tally) {
        self.float_passed += o.float_passed;
        self.float_total += o.float_total;
        self.hist_passed += o.hist_passed;
        self.hist_total += o.hist_total;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_notation() {
        let f = |s: &str| -> Vec<Option<f64>> {
            expand_values(s)
                .unwrap()
                .into_iter()
                .map(|v| match v {
                    Some(Val::F(f)) => Some(f),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(f("1 _ 3"), vec![Some(1.0), None, Some(3.0)]);
        assert_eq!(f("0+10x2"), vec![Some(0.0), Some(10.0), Some(20.0)]);
        assert_eq!(f("5-1x2"), vec![Some(5.0), Some(4.0), Some(3.0)]);
        assert_eq!(f("-1-1x1"), vec![Some(-1.0), Some(-2.0)]);
        assert_eq!(f("1x2"), vec![Some(1.0); 3]);
        assert_eq!(f("_x2"), vec![None, None]);
        assert_eq!(f("1e-3 0x1F"), vec![Some(0.001), Some(31.0)]);
        assert_eq!(parse_duration_ms("1m30s"), Some(90_000));
        assert_eq!(parse_duration_ms("20s500ms"), Some(20_500));
        let h = expand_values("1 {{schema:0 sum:5 count:4 buckets:[1 2 1]}}x1 _").unwrap();
        assert_eq!(h.len(), 4);
        assert!(matches!(&h[1], Some(Val::H(h, false)) if h.count == 4.0));
        assert!(h[3].is_none());
    }

    #[test]
    fn series_descriptors() {
        assert_eq!(split_series(r#"a{b="c d"} 1 2"#), (r#"a{b="c d"}"#, "1 2"));
        assert_eq!(split_series("metric 0 1"), ("metric", "0 1"));
        assert_eq!(split_series("{} 3"), ("{}", "3"));
        assert_eq!(split_series("m {{count:1}}"), ("m", "{{count:1}}"));
        let l = parse_labels(r#"http_requests{job="api", path="/a\"b"}"#).unwrap();
        assert_eq!(l.metric_name(), Some("http_requests"));
        assert_eq!(l.get("path"), Some("/a\"b"));
        let l = parse_labels(r#"{"my.metric", "a.b"="x"}"#).unwrap();
        assert_eq!(l.metric_name(), Some("my.metric"));
        assert_eq!(l.get("a.b"), Some("x"));
        assert_eq!(parse_labels("{}"), Some(Labels::empty()));
    }

    /// The ratchet: every script of Prometheus' suite, the per-file table,
    /// and totals that must not drop below the checked-in baseline.
    #[test]
    fn promql_conformance() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("tests/testdata/promql");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("tests/testdata/promql")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "test"))
            .collect();
        files.sort();
        let mut total = Tally::default();
        let mut report = String::new();
        let mut failures = String::new();
        report.push_str(&format!(
            "{:28} {:>15} {:>17}\n",
            "file", "float-only", "native histogram"
        ));
        for f in &files {
            let text = std::fs::read_to_string(f).expect("read script");
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let mut t = Tally::default();
            for o in run_script(&text) {
                t.add(&o);
                if let Some(e) = &o.failure {
                    failures.push_str(&format!("{name}:{}: {e}\n", o.line));
                }
            }
            report.push_str(&format!(
                "{name:28} {:>7}/{:<7} {:>8}/{:<8}\n",
                t.float_passed, t.float_total, t.hist_passed, t.hist_total
            ));
            total.merge(t);
        }
        let pct = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
        report.push_str(&format!(
            "{:28} {:>7}/{:<7} {:>8}/{:<8}\nfloat-only {:.1}%, native histograms {:.1}%\n",
            "TOTAL",
            total.float_passed,
            total.float_total,
            total.hist_passed,
            total.hist_total,
            pct(total.float_passed, total.float_total),
            pct(total.hist_passed, total.hist_total)
        ));
        println!("{report}");
        let fail_file = std::env::temp_dir().join("cairn-promql-conformance-failures.txt");
        if std::fs::write(&fail_file, &failures).is_ok() {
            println!("failures listed in {}", fail_file.display());
        }
        let baseline = std::fs::read_to_string(root.join("tests/promql_conformance_baseline.txt"))
            .expect("tests/promql_conformance_baseline.txt");
        let get = |key: &str| -> usize {
            baseline
                .lines()
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .and_then(|(_, v)| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("baseline lacks {key}"))
        };
        assert!(
            total.float_passed >= get("float_passed"),
            "float-only evals passing dropped below the baseline: {} < {}",
            total.float_passed,
            get("float_passed")
        );
        assert!(
            total.hist_passed >= get("histogram_passed"),
            "native-histogram evals passing dropped below the baseline: {} < {}",
            total.hist_passed,
            get("histogram_passed")
        );
    }

    #[test]
    fn a_small_script_runs_and_counts() {
        let script =
            "load 1m\n  m{a=\"1\"} 0+1x10\n  h {{schema:0 count:1 sum:1 buckets:[1]}}x10\n\n\
                      eval instant at 5m m\n  m{a=\"1\"} 5\n\n\
                      eval instant at 5m m\n  m{a=\"1\"} 6\n\n\
                      eval instant at 5m h\n  h {{schema:0 count:1 sum:1 buckets:[1]}}\n\n\
                      eval range from 0 to 2m step 1m m * 2\n  {a=\"1\"} 0 2 4\n";
        let out = run_script(script);
        assert_eq!(out.len(), 4);
        assert!(out[0].failure.is_none(), "{:?}", out[0]);
        assert!(out[1].failure.is_some());
        assert!(out[2].histogram && !out[0].histogram);
        assert!(out[3].failure.is_none(), "{:?}", out[3]);
    }
}
