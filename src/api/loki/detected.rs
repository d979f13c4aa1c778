//! The Logs Drilldown endpoints: `detected_labels` (stream labels worth
//! grouping by, with cardinality), `detected_fields` and
//! `detected_field/<name>/values` (fields found by parsing recent lines as
//! JSON or logfmt, plus structured metadata), and `patterns`, which Cairn
//! does not mine yet and answers with a valid empty list.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::encode::write_str;
use super::lines::collect_lines;
use super::metadata::optional_selector;
use super::params;
use super::response::{respond, ApiError, ApiResponse};
use super::{deps, Ctx};
use crate::api::params::Params;
use crate::logql::eval::{Direction, OutEntry};

/// Labels Loki always offers, whatever their values.
const STATIC_LABELS: [&str; 4] = ["cluster", "namespace", "instance", "pod"];

/// Does the text parse as a UUID in one of Go's `uuid.Parse` forms?
pub fn is_uuid(s: &str) -> bool {
    let s = s
        .strip_prefix("urn:uuid:")
        .or_else(|| s.strip_prefix('{').and_then(|x| x.strip_suffix('}')))
        .unwrap_or(s);
    let b = s.as_bytes();
    match b.len() {
        32 => b.iter().all(u8::is_ascii_hexdigit),
        36 => b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        }),
        _ => false,
    }
}

/// Loki drops labels whose values all look like IDs (numbers or UUIDs),
/// except a 0/1 pair, and labels without values.
pub fn reject_label(values: &BTreeSet<String>) -> bool {
    if values.is_empty() {
        return true;
    }
    let all_ids = || {
        values
            .iter()
            .all(|v| v.parse::<f64>().is_ok() || is_uuid(v))
    };
    if values.len() > 2 {
        return all_ids();
    }
    if values.iter().all(|v| v == "0" || v == "1") {
        return false;
    }
    all_ids()
}

/// `GET /loki/api/v1/detected_labels`: `{"detectedLabels":[{"label","cardinality"}]}`.
pub fn detected_labels(cx: &Ctx<'_>, p: &Params) -> ApiResponse {
    respond((|| {
        let (start, end) = params::ordered_bounds(p, cx.now_ns)?;
        let matchers = optional_selector(p, "query")?;
        let mut values: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for s in cx.src.series(&matchers, start, end)? {
            for l in s.iter() {
                values
                    .entry(l.name.clone())
                    .or_default()
                    .insert(l.value.clone());
            }
        }
        let mut out = String::from("{");
        let mut n = 0;
        for (name, vals) in &values {
            let keep = STATIC_LABELS.contains(&name.as_str()) || !reject_label(vals);
            if !keep {
                continue;
            }
            out.push_str(if n == 0 { "\"detectedLabels\":[" } else { "," });
            n += 1;
            out.push_str("{\"label\":");
            write_str(&mut out, name, false);
            let _ = write!(out, ",\"cardinality\":{}}}", vals.len());
        }
        if n > 0 {
            out.push(']');
        }
        out.push_str("}\n");
        Ok(ApiResponse::json(out))
    })())
}

/// The type Loki gives a field from one of its values.
pub fn field_type(v: &str) -> &'static str {
    if v.parse::<i64>().is_ok() {
        "int"
    } else if is_go_float(v) {
        "float"
    } else if matches!(
        v,
        "1" | "t" | "T" | "TRUE" | "true" | "True" | "0" | "f" | "F" | "FALSE" | "false" | "False"
    ) {
        "boolean"
    } else if is_go_duration(v) {
        "duration"
    } else if is_humanized_bytes(v) {
        "bytes"
    } else {
        "string"
    }
}

fn is_go_float(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    matches!(body, "inf" | "infinity" | "nan")
        || (v.parse::<f64>().is_ok()
            && v.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E')))
}

/// Go's `time.ParseDuration`: `[-+]?(<number><unit>)+` with units
/// ns us µs ms s m h, or `0`.
pub fn is_go_duration(v: &str) -> bool {
    let s = v.trim_start_matches(['-', '+']);
    if s == "0" {
        return true;
    }
    if s.is_empty() {
        return false;
    }
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n == 0 || rest[..n] == *"." {
            return false;
        }
        rest = &rest[n..];
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"]
            .iter()
            .find(|u| rest.starts_with(**u) && !(**u == "m" && rest.starts_with("ms")));
        match unit {
            Some(u) => rest = &rest[u.len()..],
            None => return false,
        }
    }
    true
}

/// go-humanize's byte sizes: a number, optional space, a unit such as
/// `KB`, `kib`, `M`, `GiB` (case-insensitive).
fn is_humanized_bytes(v: &str) -> bool {
    let n = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .unwrap_or(v.len());
    if n == 0 || v[..n].replace(',', "").parse::<f64>().is_err() {
        return false;
    }
    let unit = v[n..].trim_start().to_ascii_lowercase();
    matches!(
        unit.as_str(),
        "" | "b"
            | "k"
            | "kb"
            | "ki"
            | "kib"
            | "m"
            | "mb"
            | "mi"
            | "mib"
            | "g"
            | "gb"
            | "gi"
            | "gib"
            | "t"
            | "tb"
            | "ti"
            | "tib"
            | "p"
            | "pb"
            | "pi"
            | "pib"
            | "e"
            | "eb"
            | "ei"
            | "eib"
    )
}

/// A field seen in the lines.
#[derive(Default)]
struct Field {
    kind: &'static str,
    parsers: Vec<&'static str>,
    values: BTreeSet<String>,
}

/// Fields of the lines: structured metadata (no parser) and what JSON or
/// logfmt parsing finds; parsed labels the query produced count too.
fn fields_of(entries: &[OutEntry], limit: usize) -> BTreeMap<String, Field> {
    let mut fields: BTreeMap<String, Field> = BTreeMap::new();
    let mut add = |name: &str, value: &str, parser: Option<&'static str>| {
        if !fields.contains_key(name) {
            if fields.len() >= limit {
                return;
            }
            fields.insert(name.to_string(), Field::default());
        }
        if let Some(f) = fields.get_mut(name) {
            f.kind = field_type(value);
            if let Some(p) = parser {
                if !f.parsers.contains(&p) {
                    f.parsers.push(p);
                }
            }
            f.values.insert(value.to_string());
        }
    };
    for e in entries {
        for l in &e.metadata {
            add(&l.name, &l.value, None);
        }
        let detected = deps::detect_fields(&e.line);
        for (name, value, parser) in &detected {
            if e.stream.get(name).is_some() || name.starts_with("__") {
                continue;
            }
            add(name, value, Some(parser));
        }
        for l in &e.parsed {
            if l.name.starts_with("__") || detected.iter().any(|(n, _, _)| *n == l.name) {
                continue;
            }
            add(&l.name, &l.value, None);
        }
    }
    fields
}

/// Lines for field detection: the query's newest `line_limit` lines.
fn detection_lines(cx: &Ctx<'_>, p: &Params) -> Result<(Vec<OutEntry>, usize), ApiError> {
    let (start, end) = params::ordered_bounds(p, cx.now_ns)?;
    let line_limit = params::int_param(p, "line_limit", params::DEFAULT_LIMIT as i64)?;
    if line_limit <= 0 {
        return Err(ApiError::bad("limit must be a positive value"));
    }
    let limit = match p.get("limit") {
        Some(_) => params::int_param(p, "limit", 1000)?,
        None => params::int_param(p, "field_limit", 1000)?,
    };
    if limit <= 0 {
        return Err(ApiError::bad("limit must be a positive value"));
    }
    params::step(p, start, end)?;
    let q = p.get("query").unwrap_or("");
    let expr = deps::parse_log_selector(q).map_err(|e| ApiError::bad(e.to_string()))?;
    let lines = collect_lines(
        cx.src,
        &expr,
        start,
        end,
        line_limit as usize,
        Direction::Backward,
    )?;
    Ok((lines, limit as usize))
}

/// `GET /loki/api/v1/detected_fields`: `{"fields":[{"label","type",
/// "cardinality","parsers"}],"limit":N}`, fields by name.
pub fn detected_fields(cx: &Ctx<'_>, p: &Params) -> ApiResponse {
    respond((|| {
        let (lines, limit) = detection_lines(cx, p)?;
        let fields = fields_of(&lines, limit);
        let mut out = String::from("{");
        for (i, (name, f)) in fields.iter().enumerate() {
            out.push_str(if i == 0 { "\"fields\":[" } else { "," });
            out.push_str("{\"label\":");
            write_str(&mut out, name, false);
            let _ = write!(
                out,
                ",\"type\":\"{}\",\"cardinality\":{},\"parsers\":",
                f.kind,
                f.values.len()
            );
            if f.parsers.is_empty() {
                out.push_str("null");
            } else {
                out.push('[');
                for (j, p) in f.parsers.iter().enumerate() {
                    if j > 0 {
                        out.push(',');
                    }
                    let _ = write!(out, "\"{p}\"");
                }
                out.push(']');
            }
            out.push('}');
        }
        if !fields.is_empty() {
            out.push_str("],");
        }
        let _ = writeln!(out, "\"limit\":{limit}}}");
        Ok(ApiResponse::json(out))
    })())
}

/// `GET /loki/api/v1/detected_field/<name>/values`: `{"values":[..],"limit":N}`.
pub fn detected_field_values(cx: &Ctx<'_>, name: &str, p: &Params) -> ApiResponse {
    respond((|| {
        let (lines, limit) = detection_lines(cx, p)?;
        let fields = fields_of(&lines, usize::MAX);
        let mut out = String::from("{");
        if let Some(f) = fields.get(name) {
            for (i, v) in f.values.iter().take(limit).enumerate() {
                out.push_str(if i == 0 { "\"values\":[" } else { "," });
                write_str(&mut out, v, false);
            }
            if !f.values.is_empty() {
                out.push_str("],");
            }
        }
        let _ = writeln!(out, "\"limit\":{limit}}}");
        Ok(ApiResponse::json(out))
    })())
}

/// `GET /loki/api/v1/patterns`: Cairn does not detect patterns yet; a
/// valid, empty answer after checking the parameters.
pub fn patterns(cx: &Ctx<'_>, p: &Params) -> ApiResponse {
    respond((|| {
        let (start, end) = params::ordered_bounds(p, cx.now_ns)?;
        if p.get("step").is_some() {
            params::step(p, start, end)?;
        }
        let q = p.get("query").unwrap_or("");
        deps::parse_log_selector(q).map_err(|e| ApiError::bad(e.to_string()))?;
        Ok(ApiResponse::json(
            "{\"status\":\"success\",\"data\":[]}\n".to_string(),
        ))
    })())
}
