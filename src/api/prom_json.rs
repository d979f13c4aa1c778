//! JSON encoding of PromQL results exactly as Prometheus' API writes them:
//! timestamps as JSON numbers of seconds (millisecond precision), values as
//! strings (`"NaN"`, `"+Inf"`, `"-Inf"`), label sets as objects.

use std::fmt::Write as _;

use super::histogram_json::write_histogram_json;
use crate::model::{FloatHistogram, Labels};
use crate::promql::source::Series;
use crate::promql::{InstantSample, Value};

/// Formats a float the way Go's `strconv.FormatFloat(v, 'f', -1, 64)` does.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        let mut s = String::new();
        write_value(&mut s, v);
        s
    }
}

/// Writes a millisecond timestamp as seconds: `1435781451.781`.
pub fn write_timestamp(out: &mut String, ms: i64) {
    let secs = ms.div_euclid(1000);
    let frac = ms.rem_euclid(1000);
    if frac == 0 {
        out.push_str(itoa::Buffer::new().format(secs));
    } else if ms > 0 {
        // 1435781451.781, 1435781451.78, 1435781451.7
        out.push_str(itoa::Buffer::new().format(secs));
        out.push('.');
        let digits = [frac / 100, frac / 10 % 10, frac % 10];
        let n = if frac % 100 == 0 {
            1
        } else if frac % 10 == 0 {
            2
        } else {
            3
        };
        for d in &digits[..n] {
            out.push(char::from(b'0' + *d as u8));
        }
    } else if ms < 0 && secs != 0 {
        // e.g. -1.5 s: Prometheus writes the sign then |seconds|.|fraction|
        let abs = ms.unsigned_abs();
        let s = format!("{}.{:03}", abs / 1000, abs % 1000);
        let _ = write!(out, "-{}", s.trim_end_matches('0'));
    } else if ms < 0 {
        let s = format!("{:03}", ms.unsigned_abs());
        let _ = write!(out, "-0.{}", s.trim_end_matches('0'));
    } else {
        let s = format!("{frac:03}");
        let _ = write!(out, "{secs}.{}", s.trim_end_matches('0'));
    }
}

pub fn write_json_str(out: &mut String, s: &str) {
    // serde_json's escaping is correct and fast enough for label strings.
    match serde_json::to_string(s) {
        Ok(j) => out.push_str(&j),
        Err(_) => out.push_str("\"\""),
    }
}

pub fn write_labels(out: &mut String, l: &Labels) {
    out.push('{');
    for (i, lab) in l.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_json_str(out, &lab.name);
        out.push(':');
        write_json_str(out, &lab.value);
    }
    out.push('}');
}

/// Appends a float as [`format_value`] formats it, without allocating:
/// the shortest round-trip digits (ryu), written without an exponent and
/// without a trailing `.0`, as Go's `FormatFloat(v, 'f', -1, 64)` does.
pub fn write_value(out: &mut String, v: f64) {
    if !v.is_finite() {
        out.push_str(if v.is_nan() {
            "NaN"
        } else if v > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        });
        return;
    }
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(v);
    if s.contains('e') {
        // Very large or small magnitudes: spell out the digits.
        let _ = write!(out, "{v}");
    } else {
        out.push_str(s.strip_suffix(".0").unwrap_or(s));
    }
}

fn write_point(out: &mut String, t: i64, v: f64) {
    out.push('[');
    write_timestamp(out, t);
    out.push_str(",\"");
    write_value(out, v);
    out.push_str("\"]");
}

/// `[<time>,{"count":..,"sum":..,"buckets":[..]}]`
fn write_histogram_point(out: &mut String, t: i64, h: &FloatHistogram) {
    out.push('[');
    write_timestamp(out, t);
    out.push(',');
    write_histogram_json(out, h);
    out.push(']');
}

fn write_vector(out: &mut String, v: &[InstantSample]) {
    out.push('[');
    for (i, s) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"metric\":");
        write_labels(out, &s.labels);
        match &s.h {
            Some(h) => {
                out.push_str(",\"histogram\":");
                write_histogram_point(out, s.t, h);
            }
            None => {
                out.push_str(",\"value\":");
                write_point(out, s.t, s.v);
            }
        }
        out.push('}');
    }
    out.push(']');
}

/// A matrix series as Prometheus writes it: `values` only when it has float
/// points, `histograms` only when it has histogram points.
fn write_matrix(out: &mut String, m: &[Series]) {
    out.push('[');
    for (i, s) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"metric\":");
        write_labels(out, &s.labels);
        if !s.samples.is_empty() {
            out.push_str(",\"values\":[");
            for (j, p) in s.samples.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                write_point(out, p.t, p.v);
            }
            out.push(']');
        }
        if !s.histograms.is_empty() {
            out.push_str(",\"histograms\":[");
            for (j, p) in s.histograms.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                write_histogram_point(out, p.t, &p.h);
            }
            out.push(']');
        }
        out.push('}');
    }
    out.push(']');
}

/// The `data` object of a query response: `{"resultType":..,"result":..}`.
pub fn write_query_data(out: &mut String, v: &Value) {
    match v {
        Value::Scalar { t, v } => {
            out.push_str("{\"resultType\":\"scalar\",\"result\":");
            write_point(out, *t, *v);
        }
        Value::String { t, v } => {
            out.push_str("{\"resultType\":\"string\",\"result\":[");
            write_timestamp(out, *t);
            out.push(',');
            write_json_str(out, v);
            out.push(']');
        }
        Value::Vector(vec) => {
            out.push_str("{\"resultType\":\"vector\",\"result\":");
            write_vector(out, vec);
        }
        Value::Matrix(m) => {
            out.push_str("{\"resultType\":\"matrix\",\"result\":");
            write_matrix(out, m);
        }
    }
    out.push('}');
}

/// A full success response around pre-rendered `data`, with annotations.
pub fn success_with(data: &str, warnings: &[String], infos: &[String]) -> String {
    let mut out = String::with_capacity(data.len() + 64);
    out.push_str(SUCCESS_PREFIX);
    out.push_str(data);
    finish_success(out, warnings, infos)
}

/// The start of a success response; the `data` value follows.
pub const SUCCESS_PREFIX: &str = "{\"status\":\"success\",\"data\":";

/// Closes a success response whose `data` was written after
/// [`SUCCESS_PREFIX`] (no copy of a large body), adding annotations.
pub fn finish_success(mut out: String, warnings: &[String], infos: &[String]) -> String {
    for (key, list) in [("warnings", warnings), ("infos", infos)] {
        if !list.is_empty() {
            let _ = write!(out, ",\"{key}\":");
            out.push_str(&serde_json::to_string(list).unwrap_or_else(|_| "[]".into()));
        }
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(format_value(1.0), "1");
        assert_eq!(format_value(0.1), "0.1");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(1e21), "1000000000000000000000");
        let mut s = String::new();
        write_timestamp(&mut s, 1_435_781_451_781);
        s.push(' ');
        write_timestamp(&mut s, 1_435_781_451_780);
        s.push(' ');
        write_timestamp(&mut s, 1_000);
        s.push(' ');
        write_timestamp(&mut s, -1_500);
        for ms in [1_700, 1_005, 1_050, 999] {
            s.push(' ');
            write_timestamp(&mut s, ms);
        }
        assert_eq!(
            s,
            "1435781451.781 1435781451.78 1 -1.5 1.7 1.005 1.05 0.999"
        );
        let mut v = String::new();
        for x in [1.0, -0.25, 1e21, f64::INFINITY, f64::NAN] {
            write_value(&mut v, x);
            v.push(' ');
        }
        assert_eq!(v, "1 -0.25 1000000000000000000000 +Inf NaN ");
        let mut t = String::new();
        // 233115890514796.125 exactly (a tie between …796.12 and …796.13).
        write_value(&mut t, f64::from_bits(0x42ea8090bb0f6d84));
        assert_eq!(t, "233115890514796.12");
        // Shortest digits, never an exponent or a trailing ".0", and the
        // text reads back as the same float. (On exact ties ryu rounds half
        // to even like Go: 233115890514796.125 → "…796.12", where Rust's
        // `Display` writes "…796.13".)
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let f = match i % 4 {
                0 => f64::from_bits(x),
                1 => (x % 1_000_000) as f64 / 1000.0,
                2 => (x % 100_000) as f64,
                _ => (x as f64) * 1e-9,
            };
            if !f.is_finite() {
                continue;
            }
            let mut got = String::new();
            write_value(&mut got, f);
            assert!(!got.contains('e') && !got.ends_with(".0"), "{got}");
            assert_eq!(got.parse::<f64>().ok(), Some(f), "{got}");
        }
    }
}
