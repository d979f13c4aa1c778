//! Query parameters of the Tempo API: `start`/`end` (unix seconds),
//! `limit`, `spss`, `q`, `scope`, and the legacy tag search (`tags` in
//! logfmt, `minDuration`/`maxDuration` as Go durations) turned into the
//! equivalent TraceQL text.

use crate::api::params::Params;

use super::TempoError;

/// Tempo's default number of traces a search returns.
pub const DEFAULT_LIMIT: usize = 20;
/// Tempo's default number of spans per spanset.
pub const DEFAULT_SPSS: usize = 3;

const NS_PER_S: u64 = 1_000_000_000;

/// A time range in nanoseconds; `None` when the request gave none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub start_ns: u64,
    pub end_ns: u64,
}

impl Window {
    /// Everything: `[0, u64::MAX]`.
    pub const ALL: Window = Window {
        start_ns: 0,
        end_ns: u64::MAX,
    };
}

/// Parses one unix-seconds parameter (integer or fraction; 0 or absent:
/// `None`).
fn unix_seconds(p: &Params, key: &str) -> Result<Option<u64>, TempoError> {
    let Some(raw) = p.get(key) else {
        return Ok(None);
    };
    let bad = || TempoError::bad_request(format!("invalid {key}: {raw:?} is not unix seconds"));
    let ns = if let Ok(s) = raw.parse::<u64>() {
        s.checked_mul(NS_PER_S).ok_or_else(bad)?
    } else {
        let f: f64 = raw.parse().map_err(|_| bad())?;
        if !f.is_finite() || f < 0.0 || f * 1e9 >= u64::MAX as f64 {
            return Err(bad());
        }
        (f * 1e9).round() as u64
    };
    Ok((ns != 0).then_some(ns))
}

/// `start` and `end`: both absent (or 0) means no window; one alone bounds
/// that side only; `end` before `start` is an error.
pub fn window(p: &Params) -> Result<Option<Window>, TempoError> {
    let start = unix_seconds(p, "start")?;
    let end = unix_seconds(p, "end")?;
    if start.is_none() && end.is_none() {
        return Ok(None);
    }
    let w = Window {
        start_ns: start.unwrap_or(0),
        // `end` is a whole second: include all of it.
        end_ns: end.map_or(u64::MAX, |e| e.saturating_add(NS_PER_S - 1)),
    };
    if w.start_ns > w.end_ns {
        return Err(TempoError::bad_request(
            "http parameter start must be before end",
        ));
    }
    Ok(Some(w))
}

/// A positive count parameter; absent or 0 gives `default`.
pub fn count(p: &Params, key: &str, default: usize) -> Result<usize, TempoError> {
    match p.get(key) {
        None => Ok(default),
        Some(raw) => match raw.trim().parse::<u64>() {
            Ok(0) => Ok(default),
            Ok(n) => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
            Err(_) => Err(TempoError::bad_request(format!(
                "invalid {key}: {raw:?} is not a positive integer"
            ))),
        },
    }
}

/// A non-negative Go duration (`300ms`, `1.5h`, `2h45m`, `10us`, `0`) in
/// nanoseconds, read by the Go-duration parser LogQL uses.
pub fn go_duration_ns(s: &str) -> Result<u64, String> {
    let invalid = || format!("invalid duration {s:?}");
    let ns = crate::logql::pipeline::parse_go_duration(s.trim()).map_err(|_| invalid())?;
    u64::try_from(ns).map_err(|_| invalid())
}

/// Splits a logfmt string into `key=value` pairs (values may be quoted
/// with `"`; `\"` and `\\` escape inside quotes; a bare key has an empty
/// value).
pub fn logfmt_pairs(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            if c == '"' {
                return Err(format!("invalid logfmt {s:?}: unexpected '\"' in a key"));
            }
            key.push(c);
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            if chars.peek() == Some(&'"') {
                chars.next();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some(e) => value.push(e),
                            None => break,
                        },
                        c => value.push(c),
                    }
                }
                if !closed {
                    return Err(format!("invalid logfmt {s:?}: unterminated quoted value"));
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        out.push((key, value));
    }
}

/// A TraceQL string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether an attribute name can follow `.` bare in TraceQL.
fn bare_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/' | ':'))
}

/// One legacy tag as a TraceQL condition.
fn tag_condition(key: &str, value: &str) -> String {
    match key {
        "name" => return format!("name = {}", quote(value)),
        "status.code" | "status" => {
            let v = value.to_ascii_lowercase();
            let v = v.strip_prefix("status_code_").unwrap_or(&v);
            if matches!(v, "error" | "ok" | "unset") {
                return format!("status = {v}");
            }
        }
        "error" if value.eq_ignore_ascii_case("true") => return "status = error".into(),
        _ => {}
    }
    let attr = match key {
        "service.name" => "resource.service.name".to_string(),
        k if bare_name(k) => format!(".{k}"),
        k => format!(".{}", quote(k)),
    };
    let as_text = format!("{attr} = {}", quote(value));
    if value.parse::<i64>().is_ok() || matches!(value, "true" | "false") {
        // Attributes are typed: `500` may be stored as an int or a string.
        format!("{attr} = {value} || {as_text}")
    } else {
        as_text
    }
}

/// The TraceQL query equivalent to a legacy search: each tag must hold on
/// some span of the trace, and the trace's duration must lie within
/// `[minDuration, maxDuration]`. No condition at all is `{}`.
pub fn legacy_query(
    tags: Option<&str>,
    min_duration: Option<&str>,
    max_duration: Option<&str>,
) -> Result<String, TempoError> {
    let mut parts = Vec::new();
    if let Some(t) = tags {
        for (k, v) in logfmt_pairs(t).map_err(TempoError::bad_request)? {
            if k.is_empty() {
                return Err(TempoError::bad_request(format!(
                    "invalid tags {t:?}: empty key"
                )));
            }
            parts.push(format!("{{ {} }}", tag_condition(&k, &v)));
        }
    }
    let dur = |key: &str, raw: &str| {
        go_duration_ns(raw).map_err(|e| TempoError::bad_request(format!("invalid {key}: {e}")))
    };
    let min = min_duration.map(|d| dur("minDuration", d)).transpose()?;
    let max = max_duration.map(|d| dur("maxDuration", d)).transpose()?;
    if let (Some(lo), Some(hi)) = (min, max) {
        if hi < lo {
            return Err(TempoError::bad_request(
                "invalid maxDuration: must be greater than minDuration",
            ));
        }
    }
    if let Some(lo) = min.filter(|&n| n > 0) {
        parts.push(format!("{{ traceDuration >= {lo}ns }}"));
    }
    if let Some(hi) = max.filter(|&n| n > 0) {
        parts.push(format!("{{ traceDuration <= {hi}ns }}"));
    }
    if parts.is_empty() {
        return Ok("{}".into());
    }
    Ok(parts.join(" && "))
}

/// The search query: `q` when given, else the legacy parameters.
pub fn search_query(p: &Params) -> Result<String, TempoError> {
    if let Some(q) = p.get("q") {
        return Ok(q.to_string());
    }
    legacy_query(p.get("tags"), p.get("minDuration"), p.get("maxDuration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> Params {
        Params::from_parts(Some(q), None)
    }

    #[test]
    fn windows_are_unix_seconds() {
        assert_eq!(window(&params("")).unwrap(), None);
        assert_eq!(window(&params("start=0&end=0")).unwrap(), None);
        assert_eq!(
            window(&params("start=10&end=20")).unwrap(),
            Some(Window {
                start_ns: 10_000_000_000,
                end_ns: 20_999_999_999
            })
        );
        assert_eq!(
            window(&params("start=1.5")).unwrap(),
            Some(Window {
                start_ns: 1_500_000_000,
                end_ns: u64::MAX
            })
        );
        let e = window(&params("start=30&end=20")).unwrap_err();
        assert_eq!(e.message, "http parameter start must be before end");
        assert!(window(&params("start=yesterday")).is_err());
        assert!(window(&params("end=-3")).is_err());
    }

    #[test]
    fn counts_default_when_absent_or_zero() {
        assert_eq!(count(&params(""), "limit", 20).unwrap(), 20);
        assert_eq!(count(&params("limit=0"), "limit", 20).unwrap(), 20);
        assert_eq!(count(&params("limit=7"), "limit", 20).unwrap(), 7);
        assert_eq!(
            count(&params("spss=x"), "spss", 3).unwrap_err().message,
            "invalid spss: \"x\" is not a positive integer"
        );
        assert!(count(&params("limit=-1"), "limit", 20).is_err());
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration_ns("0").unwrap(), 0);
        assert_eq!(go_duration_ns("300ms").unwrap(), 300_000_000);
        assert_eq!(go_duration_ns("1.5s").unwrap(), 1_500_000_000);
        assert_eq!(go_duration_ns("2h45m").unwrap(), 9_900_000_000_000);
        assert_eq!(go_duration_ns("10us").unwrap(), 10_000);
        assert_eq!(go_duration_ns("10µs").unwrap(), 10_000);
        assert_eq!(go_duration_ns("7ns").unwrap(), 7);
        assert!(go_duration_ns("10").is_err());
        assert!(go_duration_ns("5d").is_err());
        assert!(go_duration_ns("").is_err());
        assert!(go_duration_ns("ms").is_err());
    }

    #[test]
    fn logfmt_splits_quoted_values() {
        assert_eq!(
            logfmt_pairs(r#"a=1 b="x y" c="q\"uote" d"#).unwrap(),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), "x y".to_string()),
                ("c".to_string(), "q\"uote".to_string()),
                ("d".to_string(), String::new()),
            ]
        );
        assert!(logfmt_pairs(r#"a="open"#).is_err());
    }

    #[test]
    fn legacy_search_becomes_traceql() {
        assert_eq!(legacy_query(None, None, None).unwrap(), "{}");
        assert_eq!(
            legacy_query(
                Some("service.name=wp-k8s-service http.status_code=500 name=\"POST /clone\""),
                Some("100ms"),
                Some("2s"),
            )
            .unwrap(),
            "{ resource.service.name = \"wp-k8s-service\" } && \
             { .http.status_code = 500 || .http.status_code = \"500\" } && \
             { name = \"POST /clone\" } && \
             { traceDuration >= 100000000ns } && { traceDuration <= 2000000000ns }"
        );
        assert_eq!(
            legacy_query(Some("error=true status.code=STATUS_CODE_OK"), None, None).unwrap(),
            "{ status = error } && { status = ok }"
        );
        assert_eq!(
            legacy_query(Some("weird key\"=1"), None, None)
                .unwrap_err()
                .message,
            "invalid logfmt \"weird key\\\"=1\": unexpected '\"' in a key"
        );
        assert!(legacy_query(None, Some("2s"), Some("1s")).is_err());
        assert!(legacy_query(None, Some("soon"), None).is_err());
        // Every generated query parses.
        for q in [
            legacy_query(Some("a/b=x k8s.pod:name=\"p\\\\q\""), Some("1h"), None).unwrap(),
            legacy_query(Some("flag=true"), None, Some("5m")).unwrap(),
        ] {
            crate::traceql::parse(&q).unwrap_or_else(|e| panic!("{q}: {e}"));
        }
    }
}
