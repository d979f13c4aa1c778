//! Request parameters of the Prometheus-style APIs: the query string and a
//! form-encoded POST body merged (repeated keys such as `match[]` kept), and
//! parsers for times (float seconds or RFC3339) and durations (float seconds
//! or Prometheus duration strings).

use crate::calendar::{days_from_civil, days_in_month, format_date_time};
use crate::units::parse_duration;

/// Parameters from the URL and the form body, in order.
#[derive(Debug, Default, Clone)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Merges a raw query string and, when the body is a form, the body.
    pub fn from_parts(query: Option<&str>, form_body: Option<&[u8]>) -> Params {
        let mut v: Vec<(String, String)> = Vec::new();
        if let Some(q) = query {
            v.extend(
                form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())),
            );
        }
        if let Some(b) = form_body {
            v.extend(form_urlencoded::parse(b).map(|(k, v)| (k.into_owned(), v.into_owned())));
        }
        Params(v)
    }

    /// The first value of a key (as Go's `FormValue`), empty treated as absent.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == key && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a key (`match[]`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Times beyond about ±292,000 years are clamped to it (as Prometheus clamps
/// to its min/max time), so time arithmetic downstream cannot overflow.
pub const MAX_TIME_MS: i64 = i64::MAX / 1000;

/// Parses a time parameter into milliseconds: float Unix seconds (any size:
/// Grafana's exemplar probe sends milliseconds, which must still parse) or RFC3339.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() {
            return Err(format!("cannot parse {s:?} to a valid timestamp"));
        }
        let ms = (f * 1000.0).round();
        return Ok((ms.clamp(-MAX_TIME_MS as f64, MAX_TIME_MS as f64)) as i64);
    }
    parse_rfc3339(s)
        .map(|ms| ms.clamp(-MAX_TIME_MS, MAX_TIME_MS))
        .ok_or_else(|| format!("cannot parse {s:?} to a valid timestamp"))
}

/// Parses a duration parameter (`step`, `timeout`): float seconds or `5m`.
pub fn parse_duration_ms(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() || f * 1000.0 > i64::MAX as f64 || f * 1000.0 < i64::MIN as f64 {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        return Ok((f * 1000.0).round() as i64);
    }
    parse_duration(s)
        .map(|d| d.as_millis().min(i64::MAX as u128) as i64)
        .map_err(|_| format!("cannot parse {s:?} to a valid duration"))
}

/// RFC3339 (any fraction length, `Z` or `±hh:mm`) in milliseconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    parse_rfc3339_ns(s).map(|ns| ns.div_euclid(1_000_000))
}

/// RFC3339 with an optional fraction of any length (Go's `RFC3339Nano`
/// layout accepts both), `Z` or a `±hh:mm` offset; nanoseconds.
pub fn parse_rfc3339_ns(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let t = s.get(r)?;
        if !t.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse::<i64>().ok()
    };
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo)
        || d < 1
        || d > i64::from(days_in_month(y, mo as u32))
        || h > 23
        || mi > 59
        || sec > 59
    {
        return None;
    }
    let mut i = 19;
    let mut frac_ns: i64 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = &s[start..i];
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        let mut padded = digits.to_string();
        while padded.len() < 9 {
            padded.push('0');
        }
        frac_ns = padded.parse().ok()?;
    }
    let offset_s: i64 = match b.get(i)? {
        b'Z' if i + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(i + 1..i + 3)?;
            let om = num(i + 4..i + 6)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let m = (oh * 60 + om) * 60;
            if *sign == b'+' {
                m
            } else {
                -m
            }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86400 + h * 3600 + mi * 60 + sec - offset_s;
    secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

/// Formats milliseconds as RFC3339 with millisecond precision (UTC).
pub fn format_rfc3339(ms: i64) -> String {
    let base = format_date_time(ms.div_euclid(1000));
    match ms.rem_euclid(1000) {
        0 => format!("{base}Z"),
        frac => format!("{base}.{frac:03}Z"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("1700000000").unwrap(), 1_700_000_000_000);
        assert_eq!(parse_time("1700000000.123").unwrap(), 1_700_000_000_123);
        assert_eq!(
            parse_time("2023-11-14T22:13:20Z").unwrap(),
            1_700_000_000_000
        );
        assert_eq!(
            parse_time("2023-11-14T23:13:20.5+01:00").unwrap(),
            1_700_000_000_500
        );
        assert!(
            parse_time("1700000000000").is_ok(),
            "ms given as seconds must still parse"
        );
        assert!(parse_time("yesterday").is_err());
        assert_eq!(
            format_rfc3339(1_700_000_000_500),
            "2023-11-14T22:13:20.500Z"
        );
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("15").unwrap(), 15_000);
        assert_eq!(parse_duration_ms("0.5").unwrap(), 500);
        assert_eq!(parse_duration_ms("1m").unwrap(), 60_000);
        assert!(parse_duration_ms("1x").is_err());
    }

    #[test]
    fn params_merge_and_repeat() {
        let p = Params::from_parts(
            Some("match[]=a&match[]=b&query=up"),
            Some(b"time=5&query=ignored"),
        );
        assert_eq!(p.all("match[]"), vec!["a", "b"]);
        assert_eq!(p.get("query"), Some("up"));
        assert_eq!(p.get("time"), Some("5"));
    }
}
