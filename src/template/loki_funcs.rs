//! Loki's template functions for LogQL `line_format` / `label_format`:
//! Go's `strings` helpers Loki keeps for compatibility (`ToLower`,
//! `Replace`, ...), the Sprig functions Loki enables (`lower`, `trunc`,
//! `add`, `date`, `default`, ...) with Sprig's lenient number conversion,
//! and Loki's own (`count`, `urlencode`, `bytes`, `duration`,
//! `unixToTime`, `alignLeft`, ...). `__line__` and `__timestamp__` are
//! declared late: the caller supplies them per line (slots [`LINE_SLOT`]
//! and [`TIMESTAMP_SLOT`]).

use std::borrow::Cow;
use std::sync::OnceLock;

use super::time::Time;
use super::tz::{parse_in_zone, Zone};
use super::value::Value;
use super::FuncMap;

/// Execution-time slot of `__line__`.
pub const LINE_SLOT: usize = 0;
/// Execution-time slot of `__timestamp__`.
pub const TIMESTAMP_SLOT: usize = 1;

fn s<'a>(x: impl Into<Cow<'a, str>>) -> Value<'a> {
    Value::Str(x.into())
}

/// The string argument `i`, as Go's typed `string` parameters want it.
fn arg_str<'v, 'a>(args: &'v [Value<'a>], i: usize) -> Result<&'v str, String> {
    match args.get(i) {
        Some(Value::Str(x)) => Ok(x),
        Some(other) => Err(format!(
            "wrong type for value; expected string; got {}",
            other.type_name()
        )),
        None => Err("missing argument".into()),
    }
}

/// The int argument `i`, as Go's typed `int` parameters want it (an
/// integral float literal such as `2.0` counts).
fn arg_int(args: &[Value<'_>], i: usize) -> Result<i64, String> {
    match args.get(i) {
        Some(Value::Int(x)) => Ok(*x),
        Some(Value::Float(f)) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(*f as i64),
        Some(other) => Err(format!(
            "wrong type for value; expected int; got {}",
            other.type_name()
        )),
        None => Err("missing argument".into()),
    }
}

fn arg_time(args: &[Value<'_>], i: usize) -> Result<Time, String> {
    match args.get(i) {
        Some(Value::Time(t)) => Ok(t.clone()),
        Some(other) => Err(format!(
            "wrong type for value; expected time.Time; got {}",
            other.type_name()
        )),
        None => Err("missing argument".into()),
    }
}

/// Sprig's (spf13/cast) lenient conversion to int64.
pub fn to_int64(v: &Value<'_>) -> i64 {
    match v {
        Value::Int(i) => *i,
        Value::Float(f) => {
            if f.is_nan() {
                0
            } else {
                *f as i64
            }
        }
        Value::Bool(b) => *b as i64,
        Value::Str(x) => parse_go_int(trim_zero_decimal(x)).unwrap_or(0),
        _ => 0,
    }
}

fn trim_zero_decimal(x: &str) -> &str {
    match x.split_once('.') {
        Some((int, frac)) if !int.is_empty() && frac.bytes().all(|b| b == b'0') => int,
        _ => x,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`: sign, base prefixes, underscores.
fn parse_go_int(x: &str) -> Option<i64> {
    let (neg, body) = match x.as_bytes().first() {
        Some(b'-') => (true, &x[1..]),
        Some(b'+') => (false, &x[1..]),
        _ => (false, x),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d.to_string())
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        if lower.contains('_') {
            return None;
        }
        (10, lower.clone())
    };
    let digits = digits.replace('_', "");
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    let v = i128::from_str_radix(&digits, radix).ok()?;
    let v = if neg { -v } else { v };
    i64::try_from(v).ok()
}

/// Sprig's (spf13/cast) lenient conversion to float64.
pub fn to_float64(v: &Value<'_>) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => *b as i64 as f64,
        Value::Str(x) => x
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|_| !x.is_empty())
            .unwrap_or(0.0),
        _ => 0.0,
    }
}

/// A decimal as (mantissa, scale): value = m / 10^scale.
fn to_decimal(x: f64) -> Option<(i128, u32)> {
    if !x.is_finite() {
        return None;
    }
    let txt = format!("{x:?}");
    let (mant, exp) = match txt.split_once('e') {
        Some((m, e)) => (m.to_string(), e.parse::<i32>().ok()?),
        None => (txt, 0),
    };
    let (ip, fp) = mant.split_once('.').unwrap_or((&mant, ""));
    let digits = format!("{ip}{fp}");
    let m: i128 = digits.parse().ok()?;
    let scale = fp.len() as i32 - exp;
    if scale >= 0 {
        Some((m, scale as u32))
    } else {
        Some((m.checked_mul(10i128.checked_pow((-scale) as u32)?)?, 0))
    }
}

fn rescale(d: (i128, u32), scale: u32) -> Option<i128> {
    d.0.checked_mul(10i128.checked_pow(scale - d.1)?)
}

/// Exact decimal addition / multiplication, as Sprig's `addf`, `subf`
/// and `mulf` do (shopspring/decimal); f64 when the decimal overflows.
fn decimal_fold(vals: &[f64], op: char) -> f64 {
    let exact = || -> Option<f64> {
        let mut acc = to_decimal(vals[0])?;
        for &v in &vals[1..] {
            let d = to_decimal(v)?;
            acc = match op {
                '*' => (acc.0.checked_mul(d.0)?, acc.1 + d.1),
                _ => {
                    let sc = acc.1.max(d.1);
                    let (a, b) = (rescale(acc, sc)?, rescale(d, sc)?);
                    (
                        if op == '+' {
                            a.checked_add(b)?
                        } else {
                            a.checked_sub(b)?
                        },
                        sc,
                    )
                }
            };
            if acc.1 > 30 {
                return None;
            }
        }
        format!("{}e-{}", acc.0, acc.1).parse().ok()
    };
    exact().unwrap_or_else(|| {
        vals[1..].iter().fold(vals[0], |a, &b| match op {
            '*' => a * b,
            '+' => a + b,
            _ => a - b,
        })
    })
}

/// Sprig's `empty`: nil, false, 0, "", empty list or map.
fn is_empty(v: &Value<'_>) -> bool {
    match v {
        Value::Time(_) | Value::Func(_) => false,
        v => !v.truthy(),
    }
}

fn trim_set<'x>(x: &'x str, cutset: &str, left: bool, right: bool) -> &'x str {
    let f = |c: char| cutset.contains(c);
    match (left, right) {
        (true, true) => x.trim_matches(f),
        (true, false) => x.trim_start_matches(f),
        _ => x.trim_end_matches(f),
    }
}

fn title(x: &str) -> String {
    let mut out = String::with_capacity(x.len());
    let mut prev_sep = true;
    for c in x.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_');
    }
    out
}

fn trunc(c: i64, x: &str) -> String {
    let n = x.chars().count() as i64;
    if c < 0 && n + c > 0 {
        x.chars().skip((n + c) as usize).collect()
    } else if c >= 0 && n > c {
        x.chars().take(c as usize).collect()
    } else {
        x.to_string()
    }
}

fn substr(start: i64, end: i64, x: &str) -> String {
    let runes: Vec<char> = x.chars().collect();
    let l = runes.len() as i64;
    let end = end.min(l);
    let start = start.min(l);
    if start < 0 {
        if end < 0 {
            return String::new();
        }
        return runes[..end as usize].iter().collect();
    }
    if end < 0 {
        return runes[start as usize..].iter().collect();
    }
    if start > end {
        return String::new();
    }
    runes[start as usize..end as usize].iter().collect()
}

fn align(count: i64, x: &str, left: bool) -> String {
    let n = x.chars().count() as i64;
    if count < 0 || count == n {
        return x.to_string();
    }
    if count > n {
        let pad = " ".repeat((count - n) as usize);
        return if left {
            format!("{x}{pad}")
        } else {
            format!("{pad}{x}")
        };
    }
    if left {
        x.chars().take(count as usize).collect()
    } else {
        x.chars().skip((n - count) as usize).collect()
    }
}

fn compile(re: &str) -> Result<regex::Regex, String> {
    regex::Regex::new(re).map_err(|e| format!("error parsing regexp: {e}"))
}

/// Go's `url.QueryUnescape`.
pub fn query_unescape(x: &str) -> Result<String, String> {
    let b = x.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b.get(i + 1..i + 3).and_then(|h| {
                    std::str::from_utf8(h)
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                });
                match hex {
                    Some(v) => out.push(v),
                    None => {
                        let end = (i + 3).min(b.len());
                        let bad = String::from_utf8_lossy(&b[i..end]);
                        return Err(format!("invalid URL escape {bad:?}"));
                    }
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn b64encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let v = (chunk[0] as u32) << 16
            | (chunk.get(1).copied().unwrap_or(0) as u32) << 8
            | chunk.get(2).copied().unwrap_or(0) as u32;
        for k in 0..4 {
            if k <= n {
                out.push(B64[(v >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64 with padding, strict like Go's `StdEncoding` (line
/// breaks are skipped); errors read `illegal base64 data at input byte N`.
pub fn b64decode(text: &str) -> Result<Vec<u8>, String> {
    let bytes: Vec<(usize, u8)> = text
        .bytes()
        .enumerate()
        .filter(|(_, c)| *c != b'\n' && *c != b'\r')
        .collect();
    let illegal = |i: usize| format!("illegal base64 data at input byte {i}");
    if let Some(&(pos, _)) = bytes.iter().find(|(_, c)| *c != b'=' && !B64.contains(c)) {
        return Err(illegal(pos));
    }
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3);
    let nquads = bytes.len().div_ceil(4);
    for (qi, quad) in bytes.chunks(4).enumerate() {
        if quad.len() < 4 {
            return Err(illegal(quad[0].0));
        }
        let mut v = 0u32;
        let mut pad = 0;
        for (k, &(pos, c)) in quad.iter().enumerate() {
            let d = if c == b'=' {
                if k < 2 {
                    return Err(illegal(pos));
                }
                pad += 1;
                0
            } else {
                if pad > 0 {
                    return Err(illegal(pos));
                }
                B64.iter().position(|&x| x == c).unwrap_or(0) as u32
            };
            v = v << 6 | d;
        }
        out.push((v >> 16) as u8);
        if pad < 2 {
            out.push((v >> 8) as u8);
        }
        if pad < 1 {
            out.push(v as u8);
        }
        if pad > 0 && qi + 1 < nquads {
            return Err(illegal(quad[3].0 + 1));
        }
    }
    Ok(out)
}

/// Go's `time.ParseDuration`, in seconds.
pub fn parse_duration_secs(x: &str) -> Result<f64, String> {
    let invalid = || format!("time: invalid duration {x:?}");
    let (neg, mut rest) = match x.as_bytes().first() {
        Some(b'-') => (true, &x[1..]),
        Some(b'+') => (false, &x[1..]),
        _ => (false, x),
    };
    if rest == "0" {
        return Ok(0.0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        if n == 0 {
            return Err(invalid());
        }
        let num: f64 = rest[..n].parse().map_err(|_| invalid())?;
        rest = &rest[n..];
        let u = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..u];
        let mult = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(format!("time: missing unit in duration {x:?}")),
            u => return Err(format!("time: unknown unit {u:?} in duration {x:?}")),
        };
        total += num * mult;
        rest = &rest[u..];
    }
    Ok(if neg { -total } else { total })
}

/// go-humanize's `ParseBytes`: `42 MB`, `1.5KiB`, `10mb`, `512`.
pub fn parse_bytes(x: &str) -> Result<f64, String> {
    let t = x.trim();
    let n = t
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == ','))
        .map_or(t.len(), |(i, _)| i);
    let num: f64 = t[..n]
        .replace(',', "")
        .parse()
        .map_err(|_| format!("strconv.ParseFloat: parsing {:?}: invalid syntax", &t[..n]))?;
    let unit = t[n..].trim().to_ascii_lowercase();
    let mult: f64 = match unit.as_str() {
        "" | "b" | "byte" | "bytes" => 1.0,
        "k" | "kb" => 1e3,
        "ki" | "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mi" | "mib" => 1024f64.powi(2),
        "g" | "gb" => 1e9,
        "gi" | "gib" => 1024f64.powi(3),
        "t" | "tb" => 1e12,
        "ti" | "tib" => 1024f64.powi(4),
        "p" | "pb" => 1e15,
        "pi" | "pib" => 1024f64.powi(5),
        "e" | "eb" => 1e18,
        "ei" | "eib" => 1024f64.powi(6),
        u => return Err(format!("unhandled size name: {u}")),
    };
    Ok((num * mult).trunc())
}

/// Loki's `unixToTime`: the epoch's digit count picks days, seconds,
/// milliseconds, microseconds or nanoseconds.
fn unix_to_time(epoch: &str) -> Result<Time, String> {
    let i: i64 = epoch.parse().map_err(|_| {
        format!(
            "unable to parse time '{epoch}': strconv.ParseInt: parsing {epoch:?}: invalid syntax"
        )
    })?;
    Ok(match epoch.len() {
        5 => Time::from_unix(i.saturating_mul(86_400), 0),
        10 => Time::from_unix(i, 0),
        13 => Time::from_unix_nanos(i.saturating_mul(1_000_000)),
        16 => Time::from_unix_nanos(i.saturating_mul(1000)),
        19 => Time::from_unix_nanos(i),
        // Loki wraps a nil error here, which Go prints as `%!w(<nil>)`.
        _ => return Err(format!("unable to parse time '{epoch}': %!w(<nil>)")),
    })
}

/// A zone by name: `UTC`, `Local` and `""` are UTC (the server's zone);
/// an IANA name comes from the system's zoneinfo; a name that cannot be
/// loaded is UTC, as Loki does.
fn zone(name: &str) -> Zone {
    Zone::load(name).unwrap_or_else(Zone::utc)
}

fn json_to_value(v: serde_json::Value) -> Value<'static> {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(x) => Value::Str(Cow::Owned(x)),
        serde_json::Value::Array(a) => Value::list(a.into_iter().map(json_to_value)),
        serde_json::Value::Object(o) => Value::map(
            o.into_iter()
                .map(|(k, v)| (Cow::Owned(k), json_to_value(v))),
        ),
    }
}

fn str_fn(funcs: &mut FuncMap, name: &str, f: fn(&str) -> String) {
    funcs.insert_arity(name, 1, Some(1), move |a| Ok(s(f(arg_str(a, 0)?))));
}

/// The function table for `line_format` / `label_format` (built once).
pub fn loki_funcs() -> &'static FuncMap {
    static FUNCS: OnceLock<FuncMap> = OnceLock::new();
    FUNCS.get_or_init(build)
}

fn build() -> FuncMap {
    let mut f = FuncMap::new();
    let line = f.declare_late("__line__");
    let ts = f.declare_late("__timestamp__");
    debug_assert_eq!((line, ts), (LINE_SLOT, TIMESTAMP_SLOT));

    // Go's strings package (Loki's deprecated names).
    str_fn(&mut f, "ToLower", str::to_lowercase);
    str_fn(&mut f, "ToUpper", str::to_uppercase);
    str_fn(&mut f, "TrimSpace", |x| x.trim().to_string());
    f.insert_arity("Replace", 4, Some(4), |a| {
        let (x, old, new, n) = (
            arg_str(a, 0)?,
            arg_str(a, 1)?,
            arg_str(a, 2)?,
            arg_int(a, 3)?,
        );
        Ok(s(if n < 0 {
            x.replace(old, new)
        } else {
            x.replacen(old, new, n as usize)
        }))
    });
    f.insert_arity("Trim", 2, Some(2), |a| {
        Ok(s(
            trim_set(arg_str(a, 0)?, arg_str(a, 1)?, true, true).to_string()
        ))
    });
    f.insert_arity("TrimLeft", 2, Some(2), |a| {
        Ok(s(
            trim_set(arg_str(a, 0)?, arg_str(a, 1)?, true, false).to_string()
        ))
    });
    f.insert_arity("TrimRight", 2, Some(2), |a| {
        Ok(s(
            trim_set(arg_str(a, 0)?, arg_str(a, 1)?, false, true).to_string()
        ))
    });
    f.insert_arity("TrimPrefix", 2, Some(2), |a| {
        let (x, p) = (arg_str(a, 0)?, arg_str(a, 1)?);
        Ok(s(x.strip_prefix(p).unwrap_or(x).to_string()))
    });
    f.insert_arity("TrimSuffix", 2, Some(2), |a| {
        let (x, p) = (arg_str(a, 0)?, arg_str(a, 1)?);
        Ok(s(x.strip_suffix(p).unwrap_or(x).to_string()))
    });

    // Loki's own.
    f.insert_arity("regexReplaceAll", 3, Some(3), |a| {
        let re = compile(arg_str(a, 0)?)?;
        Ok(s(re
            .replace_all(arg_str(a, 1)?, arg_str(a, 2)?)
            .into_owned()))
    });
    f.insert_arity("regexReplaceAllLiteral", 3, Some(3), |a| {
        let re = compile(arg_str(a, 0)?)?;
        Ok(s(re
            .replace_all(arg_str(a, 1)?, regex::NoExpand(arg_str(a, 2)?))
            .into_owned()))
    });
    f.insert_arity("count", 2, Some(2), |a| {
        let re = compile(arg_str(a, 0)?)?;
        Ok(Value::Int(re.find_iter(arg_str(a, 1)?).count() as i64))
    });
    f.insert_arity("urldecode", 1, Some(1), |a| {
        Ok(s(query_unescape(arg_str(a, 0)?)?))
    });
    str_fn(&mut f, "urlencode", super::builtins::query_escape);
    f.insert_arity("bytes", 1, Some(1), |a| {
        Ok(Value::Float(parse_bytes(arg_str(a, 0)?)?))
    });
    for name in ["duration", "duration_seconds"] {
        f.insert_arity(name, 1, Some(1), |a| {
            Ok(Value::Float(parse_duration_secs(arg_str(a, 0)?)?))
        });
    }
    f.insert_arity("unixEpochMillis", 1, Some(1), |a| {
        Ok(s(arg_time(a, 0)?.unix_millis().to_string()))
    });
    f.insert_arity("unixEpochNanos", 1, Some(1), |a| {
        Ok(s(arg_time(a, 0)?.unix_nanos().to_string()))
    });
    f.insert_arity("toDateInZone", 3, Some(3), |a| {
        let (layout, zname, value) = (arg_str(a, 0)?, arg_str(a, 1)?, arg_str(a, 2)?);
        Ok(Value::Time(
            parse_in_zone(layout, value, &zone(zname)).unwrap_or_else(|_| Time::zero()),
        ))
    });
    f.insert_arity("unixToTime", 1, Some(1), |a| {
        Ok(Value::Time(unix_to_time(arg_str(a, 0)?)?))
    });
    f.insert_arity("alignLeft", 2, Some(2), |a| {
        Ok(s(align(arg_int(a, 0)?, arg_str(a, 1)?, true)))
    });
    f.insert_arity("alignRight", 2, Some(2), |a| {
        Ok(s(align(arg_int(a, 0)?, arg_str(a, 1)?, false)))
    });

    // Sprig.
    str_fn(&mut f, "b64enc", |x| b64encode(x.as_bytes()));
    str_fn(&mut f, "b64dec", |x| match b64decode(x) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) => e,
    });
    str_fn(&mut f, "lower", str::to_lowercase);
    str_fn(&mut f, "upper", str::to_uppercase);
    str_fn(&mut f, "title", title);
    str_fn(&mut f, "trim", |x| x.trim().to_string());
    f.insert_arity("trunc", 2, Some(2), |a| {
        Ok(s(trunc(arg_int(a, 0)?, arg_str(a, 1)?)))
    });
    f.insert_arity("substr", 3, Some(3), |a| {
        Ok(s(substr(arg_int(a, 0)?, arg_int(a, 1)?, arg_str(a, 2)?)))
    });
    f.insert_arity("contains", 2, Some(2), |a| {
        Ok(Value::Bool(arg_str(a, 1)?.contains(arg_str(a, 0)?)))
    });
    f.insert_arity("hasPrefix", 2, Some(2), |a| {
        Ok(Value::Bool(arg_str(a, 1)?.starts_with(arg_str(a, 0)?)))
    });
    f.insert_arity("hasSuffix", 2, Some(2), |a| {
        Ok(Value::Bool(arg_str(a, 1)?.ends_with(arg_str(a, 0)?)))
    });
    f.insert_arity("indent", 2, Some(2), |a| {
        let pad = " ".repeat(arg_int(a, 0)?.clamp(0, 1 << 16) as usize);
        Ok(s(format!(
            "{pad}{}",
            arg_str(a, 1)?.replace('\n', &format!("\n{pad}"))
        )))
    });
    f.insert_arity("nindent", 2, Some(2), |a| {
        let pad = " ".repeat(arg_int(a, 0)?.clamp(0, 1 << 16) as usize);
        Ok(s(format!(
            "\n{pad}{}",
            arg_str(a, 1)?.replace('\n', &format!("\n{pad}"))
        )))
    });
    f.insert_arity("replace", 3, Some(3), |a| {
        Ok(s(arg_str(a, 2)?.replace(arg_str(a, 0)?, arg_str(a, 1)?)))
    });
    f.insert_arity("repeat", 2, Some(2), |a| {
        let n = arg_int(a, 0)?;
        let x = arg_str(a, 1)?;
        if n < 0 {
            return Err("strings: negative Repeat count".into());
        }
        if (n as u128) * (x.len() as u128) > 1 << 24 {
            return Err("strings: Repeat output length overflow".into());
        }
        Ok(s(x.repeat(n as usize)))
    });
    f.insert_arity("trimAll", 2, Some(2), |a| {
        Ok(s(
            trim_set(arg_str(a, 1)?, arg_str(a, 0)?, true, true).to_string()
        ))
    });
    f.insert_arity("trimPrefix", 2, Some(2), |a| {
        let (p, x) = (arg_str(a, 0)?, arg_str(a, 1)?);
        Ok(s(x.strip_prefix(p).unwrap_or(x).to_string()))
    });
    f.insert_arity("trimSuffix", 2, Some(2), |a| {
        let (p, x) = (arg_str(a, 0)?, arg_str(a, 1)?);
        Ok(s(x.strip_suffix(p).unwrap_or(x).to_string()))
    });
    f.insert_arity("int", 1, Some(1), |a| Ok(Value::Int(to_int64(&a[0]))));
    f.insert_arity("float64", 1, Some(1), |a| {
        Ok(Value::Float(to_float64(&a[0])))
    });
    f.insert("add", |a| {
        Ok(Value::Int(
            a.iter().map(to_int64).fold(0i64, i64::wrapping_add),
        ))
    });
    f.insert_arity("sub", 2, Some(2), |a| {
        Ok(Value::Int(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    f.insert_arity("mul", 1, None, |a| {
        Ok(Value::Int(
            a.iter().map(to_int64).fold(1i64, i64::wrapping_mul),
        ))
    });
    f.insert_arity("div", 2, Some(2), |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int(to_int64(&a[0]).wrapping_div(d)))
    });
    f.insert_arity("mod", 2, Some(2), |a| {
        let d = to_int64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int(to_int64(&a[0]).wrapping_rem(d)))
    });
    f.insert("addf", |a| {
        let v: Vec<f64> = a.iter().map(to_float64).collect();
        Ok(Value::Float(if v.is_empty() {
            0.0
        } else {
            decimal_fold(&v, '+')
        }))
    });
    f.insert_arity("subf", 1, None, |a| {
        let v: Vec<f64> = a.iter().map(to_float64).collect();
        Ok(Value::Float(decimal_fold(&v, '-')))
    });
    f.insert_arity("mulf", 1, None, |a| {
        let v: Vec<f64> = a.iter().map(to_float64).collect();
        Ok(Value::Float(decimal_fold(&v, '*')))
    });
    f.insert_arity("divf", 1, None, |a| {
        let v: Vec<f64> = a.iter().map(to_float64).collect();
        Ok(Value::Float(v[1..].iter().fold(v[0], |x, y| x / y)))
    });
    f.insert_arity("max", 1, None, |a| {
        Ok(Value::Int(a.iter().map(to_int64).max().unwrap_or(0)))
    });
    f.insert_arity("min", 1, None, |a| {
        Ok(Value::Int(a.iter().map(to_int64).min().unwrap_or(0)))
    });
    f.insert_arity("maxf", 1, None, |a| {
        Ok(Value::Float(
            a.iter().map(to_float64).fold(f64::NEG_INFINITY, f64::max),
        ))
    });
    f.insert_arity("minf", 1, None, |a| {
        Ok(Value::Float(
            a.iter().map(to_float64).fold(f64::INFINITY, f64::min),
        ))
    });
    f.insert_arity("ceil", 1, Some(1), |a| {
        Ok(Value::Float(to_float64(&a[0]).ceil()))
    });
    f.insert_arity("floor", 1, Some(1), |a| {
        Ok(Value::Float(to_float64(&a[0]).floor()))
    });
    f.insert_arity("round", 2, Some(3), |a| {
        let round_on = a.get(2).map_or(0.5, to_float64);
        let val = to_float64(&a[0]);
        let pow = 10f64.powf(arg_int(a, 1)? as f64);
        let digit = pow * val;
        let frac = digit.fract();
        let r = if frac >= round_on {
            digit.ceil()
        } else {
            digit.floor()
        };
        Ok(Value::Float(r / pow))
    });
    f.insert_arity("fromJson", 1, Some(1), |a| {
        let txt = arg_str(a, 0)?;
        Ok(serde_json::from_str::<serde_json::Value>(txt)
            .map(json_to_value)
            .unwrap_or(Value::Nil))
    });
    f.insert_arity("date", 2, Some(2), |a| {
        let layout = arg_str(a, 0)?;
        let t = match &a[1] {
            Value::Time(t) => t.clone(),
            Value::Int(i) => Time::from_unix(*i, 0),
            _ => Time::now(),
        };
        Ok(s(t.utc().format(layout)))
    });
    f.insert_arity("toDate", 2, Some(2), |a| {
        Ok(Value::Time(
            parse_in_zone(arg_str(a, 0)?, arg_str(a, 1)?, &zone("Local"))
                .unwrap_or_else(|_| Time::zero()),
        ))
    });
    f.insert_arity("now", 0, Some(0), |_| Ok(Value::Time(Time::now())));
    f.insert_arity("unixEpoch", 1, Some(1), |a| {
        Ok(s(arg_time(a, 0)?.secs.to_string()))
    });
    f.insert_arity("default", 1, None, |a| {
        let given = &a[1..];
        if given.is_empty() || is_empty(&given[0]) {
            Ok(a[0].clone())
        } else {
            Ok(given[0].clone())
        }
    });
    f
}
