//! Prometheus' number formatting template functions (`humanize`,
//! `humanize1024`, `humanizeDuration`, `humanizePercentage`,
//! `humanizeTimestamp`, `toTime`) and the conversions they share: Go's
//! `convertToFloat` (numbers and numeric strings) and `floatToTime`.

use crate::template::fmt::{quote, sprintf, write_float_v};
use crate::template::{Time, Value};

/// Go's `fmt.Sprintf("%.4g", v)`.
fn g4(v: f64) -> String {
    sprintf("%.4g", &[Value::Float(v)])
}

/// Go's `%v` of a float64.
fn float_v(v: f64) -> String {
    let mut s = String::new();
    write_float_v(&mut s, v);
    s
}

/// Go's `strconv.ParseFloat(s, 64)` with its error text: decimal and
/// exponent forms, `Inf`/`Infinity`/`NaN` in any case, a leading sign.
pub fn parse_float(s: &str) -> Result<f64, String> {
    let syntax = || {
        format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            quote(s, false)
        )
    };
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    // Go takes a sign before `Inf` but not before `NaN`.
    let special = matches!(lower.as_str(), "inf" | "infinity") || s.eq_ignore_ascii_case("nan");
    if lower == "nan" && !special {
        return Err(syntax());
    }
    if !special {
        let ok_chars = body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
        if !ok_chars
            || !body
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        {
            return Err(syntax());
        }
    }
    let v: f64 = s.parse().map_err(|_| syntax())?;
    if v.is_infinite() && !special {
        return Err(format!(
            "strconv.ParseFloat: parsing {}: value out of range",
            quote(s, false)
        ));
    }
    Ok(v)
}

/// Prometheus' `convertToFloat`: float64, integers and numeric strings.
pub fn to_float(v: &Value<'_>) -> Result<f64, String> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Str(s) => parse_float(s),
        other => Err(format!("can't convert {} to float", other.type_name())),
    }
}

/// Prometheus' `floatToTime`: seconds since the epoch to a UTC time at
/// millisecond precision (through `model.Time`).
pub fn float_to_time(v: f64) -> Result<Time, String> {
    if v.is_nan() || v.is_infinite() {
        return Err("value is NaN or Inf".into());
    }
    let ns = v * 1e9;
    // Go compares against float64(MaxInt64) and float64(MinInt64), which
    // are both exactly ±2^63.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..=LIMIT).contains(&ns) {
        return Err(format!(
            "{} cannot be represented as a nanoseconds timestamp since it overflows int64",
            float_v(v)
        ));
    }
    let ms = (ns as i64) / 1_000_000;
    Ok(Time::from_unix_nanos(ms * 1_000_000))
}

const SI_UP: [&str; 8] = ["k", "M", "G", "T", "P", "E", "Z", "Y"];
const SI_DOWN: [&str; 8] = ["m", "u", "n", "p", "f", "a", "z", "y"];
const IEC: [&str; 8] = ["Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"];

/// Scales `v` down by `base` while it is at least `base`, returning the
/// scaled value and the last prefix used.
fn scale_down(mut v: f64, base: f64, prefixes: &[&'static str]) -> (f64, &'static str) {
    let mut prefix = "";
    for p in prefixes {
        if v.abs() < base {
            break;
        }
        prefix = p;
        v /= base;
    }
    (v, prefix)
}

/// Scales a value below 1 up by 1000 until it is at least 1.
fn scale_up(mut v: f64) -> (f64, &'static str) {
    let mut prefix = "";
    for p in SI_DOWN {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    (v, prefix)
}

/// `humanize`: SI prefixes, four significant digits.
pub fn humanize(v: f64) -> String {
    if v == 0.0 || v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    let (x, p) = if v.abs() >= 1.0 {
        scale_down(v, 1000.0, &SI_UP)
    } else {
        scale_up(v)
    };
    format!("{}{p}", g4(x))
}

/// `humanize1024`: binary (IEC) prefixes.
pub fn humanize1024(v: f64) -> String {
    if v.abs() <= 1.0 || v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    let (x, p) = scale_down(v, 1024.0, &IEC);
    format!("{}{p}", g4(x))
}

/// `humanizeDuration`: seconds as `1d 2h 3m 4s`, `12.35s` or `135.4ms`.
pub fn humanize_duration(v: f64) -> String {
    if v.is_nan() || v.is_infinite() {
        return g4(v);
    }
    if v == 0.0 {
        return format!("{}s", g4(v));
    }
    if v.abs() >= 1.0 {
        let (sign, v) = if v < 0.0 { ("-", -v) } else { ("", v) };
        let whole = v as i64;
        let seconds = whole % 60;
        let minutes = whole / 60 % 60;
        let hours = whole / 3600 % 24;
        let days = whole / 86_400;
        if days != 0 {
            return format!("{sign}{days}d {hours}h {minutes}m {seconds}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {minutes}m {seconds}s");
        }
        if minutes != 0 {
            return format!("{sign}{minutes}m {seconds}s");
        }
        return format!("{sign}{}s", g4(v));
    }
    let (x, p) = scale_up(v);
    format!("{}{p}s", g4(x))
}

/// `humanizePercentage`: a ratio as a percentage, four significant digits.
pub fn humanize_percentage(v: f64) -> String {
    format!("{}%", g4(v * 100.0))
}

/// `humanizeTimestamp`: seconds since the epoch as Go prints a UTC
/// `time.Time` (`2022-01-25 12:36:43 +0000 UTC`); NaN and Inf as numbers.
pub fn humanize_timestamp(v: f64) -> Result<String, String> {
    if v.is_nan() || v.is_infinite() {
        return Ok(g4(v));
    }
    float_to_time(v).map(|t| t.to_string())
}
