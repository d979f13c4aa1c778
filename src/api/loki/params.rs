//! Loki's request parameters: timestamps (RFC3339Nano, float seconds,
//! integer seconds up to 1e10, else integer nanoseconds), `start`/`end`/
//! `since` bounds, `limit`, `direction`, `step` and `interval` (float
//! seconds or Prometheus durations), with Loki's error texts, plus the
//! `X-Loki-Response-Encoding-Flags` header.

use axum::http::HeaderMap;

use super::response::ApiError;
use crate::api::params::Params;
use crate::logql::eval::Direction;

/// Lines a log query returns when `limit` is absent.
pub const DEFAULT_LIMIT: usize = 100;
/// `start` defaults to this long before `end` (or now).
pub const DEFAULT_SINCE_NS: i64 = 3_600_000_000_000;
/// Most points per series a range query may ask for.
pub const MAX_POINTS: i64 = 11_000;
/// The header carrying response encoding flags.
pub const ENCODING_FLAGS_HEADER: &str = "x-loki-response-encoding-flags";
/// The flag asking for labels split into stream / structured metadata / parsed.
pub const FLAG_CATEGORIZE_LABELS: &str = "categorize-labels";

pub use crate::api::params::parse_rfc3339_ns;

const NS_PER_S: i64 = 1_000_000_000;

/// Does the request ask for categorized labels?
pub fn categorize_labels(headers: &HeaderMap) -> bool {
    headers
        .get_all(ENCODING_FLAGS_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|f| f.trim() == FLAG_CATEGORIZE_LABELS)
}

/// Parses a timestamp parameter into Unix nanoseconds as Loki does:
/// RFC3339(Nano) first; a number with a `.` is float seconds (nanoseconds
/// when its integer part exceeds 1e10); an integer is seconds up to 1e10,
/// nanoseconds above.
pub fn parse_timestamp(value: &str) -> Result<i64, String> {
    if let Some(ns) = parse_rfc3339_ns(value) {
        return Ok(ns);
    }
    if value.contains('.') {
        let f: f64 = go_parse_float(value)?;
        if f.is_nan() || f.is_infinite() {
            return Err("floating point timestamp is NaN or Inf".into());
        }
        let high = f.trunc();
        let low = f - high;
        if high > i64::MAX as f64 || high < i64::MIN as f64 {
            return Err("floating point timestamp exceeds integer range".into());
        }
        if high <= 1e10 {
            let ms = (low * 1000.0).round() as i64;
            return Ok((high as i64)
                .saturating_mul(NS_PER_S)
                .saturating_add(ms * 1_000_000));
        }
        return Ok(high as i64);
    }
    let v: i64 = value.parse().map_err(|e: std::num::ParseIntError| {
        let why = match e.kind() {
            std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                "value out of range"
            }
            _ => "invalid syntax",
        };
        format!("strconv.ParseInt: parsing {}: {why}", go_quote(value))
    })?;
    if v <= 10_000_000_000 {
        Ok(v.saturating_mul(NS_PER_S))
    } else {
        Ok(v)
    }
}

/// Go's `strconv.ParseFloat` for the forms Loki sees (digits, sign, `.`,
/// exponent), with its error text.
fn go_parse_float(value: &str) -> Result<f64, String> {
    let plain = value
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    match value.parse::<f64>() {
        Ok(f) if plain => Ok(f),
        _ => Err(format!(
            "strconv.ParseFloat: parsing {}: invalid syntax",
            go_quote(value)
        )),
    }
}

/// Go's `%q` for the plain strings that reach error messages.
pub fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// `start` and `end` in nanoseconds: `end` defaults to now, `start` to
/// `since` (default 1h) before `end`, or before now when `end` is in the
/// future.
pub fn bounds(p: &Params, now_ns: i64) -> Result<(i64, i64), ApiError> {
    bounds_with_default(p, now_ns, DEFAULT_SINCE_NS)
}

/// [`bounds`] with another default lookback.
pub fn bounds_with_default(
    p: &Params,
    now_ns: i64,
    default_since_ns: i64,
) -> Result<(i64, i64), ApiError> {
    let since = match p.get("since") {
        None => default_since_ns,
        Some(s) => duration_ns(s)
            .map_err(|e| ApiError::bad(format!("could not parse 'since' parameter: {e}")))?,
    };
    let end = match p.get("end") {
        None => now_ns,
        Some(s) => parse_timestamp(s)
            .map_err(|e| ApiError::bad(format!("could not parse 'end' parameter: {e}")))?,
    };
    let end_or_now = end.min(now_ns);
    let start = match p.get("start") {
        None => end_or_now.saturating_sub(since),
        Some(s) => parse_timestamp(s)
            .map_err(|e| ApiError::bad(format!("could not parse 'start' parameter: {e}")))?,
    };
    Ok((start, end))
}

/// Bounds that must not run backwards.
pub fn ordered_bounds(p: &Params, now_ns: i64) -> Result<(i64, i64), ApiError> {
    let (s, e) = bounds(p, now_ns)?;
    if e < s {
        return Err(ApiError::bad(
            "end timestamp must not be before or equal to start time",
        ));
    }
    Ok((s, e))
}

/// A Prometheus duration (`5m`, `1h30m`) in nanoseconds, with its error text.
fn duration_ns(s: &str) -> Result<i64, String> {
    crate::units::parse_duration(s)
        .map(|d| d.as_nanos().min(i64::MAX as u128) as i64)
        .map_err(|_| format!("not a valid duration string: {}", go_quote(s)))
}

/// Float seconds or a Prometheus duration, in nanoseconds (`step`, `interval`).
pub fn seconds_or_duration_ns(value: &str) -> Result<i64, String> {
    if let Ok(f) = go_parse_float(value) {
        let ns = f * 1e9;
        if !ns.is_finite() || ns > i64::MAX as f64 || ns < i64::MIN as f64 {
            return Err(format!(
                "cannot parse {} to a valid duration. It overflows int64",
                go_quote(value)
            ));
        }
        return Ok(ns as i64);
    }
    duration_ns(value).map_err(|_| format!("cannot parse {} to a valid duration", go_quote(value)))
}

/// An integer parameter, with Go's `strconv.Atoi` error text.
pub fn int_param(p: &Params, key: &str, default: i64) -> Result<i64, ApiError> {
    match p.get(key) {
        None => Ok(default),
        Some(s) => s.parse::<i64>().map_err(|e| {
            let why = match e.kind() {
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                    "value out of range"
                }
                _ => "invalid syntax",
            };
            ApiError::bad(format!("strconv.Atoi: parsing {}: {why}", go_quote(s)))
        }),
    }
}

/// `limit`: positive, default 100, at most `max_entries`.
pub fn limit(p: &Params, max_entries: usize) -> Result<usize, ApiError> {
    let l = int_param(p, "limit", DEFAULT_LIMIT as i64)?;
    if l <= 0 {
        return Err(ApiError::bad("limit must be a positive value"));
    }
    if max_entries > 0 && l as u64 > max_entries as u64 {
        return Err(ApiError::bad(format!(
            "max entries limit per query exceeded, limit > max_entries_limit_per_query ({l} > {max_entries})"
        )));
    }
    Ok(l as usize)
}

/// `direction`: `forward` or `backward` (any case), default backward.
pub fn direction(p: &Params) -> Result<Direction, ApiError> {
    match p.get("direction") {
        None => Ok(Direction::Backward),
        Some(s) => match s.to_ascii_uppercase().as_str() {
            "FORWARD" => Ok(Direction::Forward),
            "BACKWARD" => Ok(Direction::Backward),
            _ => Err(ApiError::bad(format!("invalid direction '{s}'"))),
        },
    }
}

/// Loki's default step: one 250th of the range, whole seconds, at least 1 s.
pub fn default_step_ns(start_ns: i64, end_ns: i64) -> i64 {
    let secs = ((end_ns.saturating_sub(start_ns)) as f64 / 1e9 / 250.0).floor();
    (secs.max(1.0) as i64).saturating_mul(NS_PER_S)
}

/// `step` for a range: given or the default; positive; at most 11,000 points.
pub fn step(p: &Params, start_ns: i64, end_ns: i64) -> Result<i64, ApiError> {
    let step = match p.get("step") {
        None => default_step_ns(start_ns, end_ns),
        Some(s) => seconds_or_duration_ns(s).map_err(ApiError::bad)?,
    };
    if step <= 0 {
        return Err(ApiError::bad(
            "zero or negative query resolution step widths are not accepted. Try a positive integer",
        ));
    }
    if end_ns.saturating_sub(start_ns) / step > MAX_POINTS {
        return Err(ApiError::bad(
            "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter",
        ));
    }
    Ok(step)
}

/// `interval` for log queries: 0 when absent, never negative.
pub fn interval(p: &Params) -> Result<i64, ApiError> {
    let v = match p.get("interval") {
        None => 0,
        Some(s) => seconds_or_duration_ns(s).map_err(ApiError::bad)?,
    };
    if v < 0 {
        return Err(ApiError::bad("interval must be >= 0"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Params {
        Params::from_parts(Some(q), None)
    }

    #[test]
    fn timestamps_in_every_format() {
        // Ten digits or fewer: seconds (Grafana's health check sends 4000000000).
        assert_eq!(parse_timestamp("4000000000"), Ok(4_000_000_000_000_000_000));
        // 1e10 seconds does not fit in i64 nanoseconds: saturated.
        assert_eq!(parse_timestamp("10000000000"), Ok(i64::MAX));
        // Above 1e10: nanoseconds.
        assert_eq!(
            parse_timestamp("1700000000123456789"),
            Ok(1_700_000_000_123_456_789)
        );
        assert_eq!(parse_timestamp("10000000001"), Ok(10_000_000_001));
        // Float seconds keep milliseconds.
        assert_eq!(
            parse_timestamp("1700000000.5"),
            Ok(1_700_000_000_500_000_000)
        );
        assert_eq!(
            parse_timestamp("1700000000.1234"),
            Ok(1_700_000_000_123_000_000)
        );
        // A float beyond 1e10 is nanoseconds, fraction dropped.
        assert_eq!(
            parse_timestamp("1700000000123456789.9"),
            Ok(1_700_000_000_123_456_768)
        );
        assert_eq!(
            parse_timestamp("2023-11-14T22:13:20Z"),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(
            parse_timestamp("2023-11-14T22:13:20.000000123Z"),
            Ok(1_700_000_000_000_000_123)
        );
        assert_eq!(
            parse_timestamp("2023-11-14T23:13:20.5+01:00"),
            Ok(1_700_000_000_500_000_000)
        );
        assert_eq!(
            parse_timestamp("2025-11-18T05:20:48.538Z"),
            Ok(1_763_443_248_538_000_000)
        );
        assert_eq!(parse_timestamp("0"), Ok(0));
        assert_eq!(parse_timestamp("-5"), Ok(-5_000_000_000));
    }

    #[test]
    fn bad_timestamps_have_gos_messages() {
        assert_eq!(
            parse_timestamp("yesterday"),
            Err("strconv.ParseInt: parsing \"yesterday\": invalid syntax".into())
        );
        assert_eq!(
            parse_timestamp("1.2.3"),
            Err("strconv.ParseFloat: parsing \"1.2.3\": invalid syntax".into())
        );
        assert_eq!(
            parse_timestamp("99999999999999999999"),
            Err("strconv.ParseInt: parsing \"99999999999999999999\": value out of range".into())
        );
        assert_eq!(
            parse_timestamp("2023-02-30T00:00:00Z"),
            Err("strconv.ParseInt: parsing \"2023-02-30T00:00:00Z\": invalid syntax".into())
        );
        assert_eq!(
            parse_timestamp("NaN.0"),
            Err("strconv.ParseFloat: parsing \"NaN.0\": invalid syntax".into())
        );
    }

    #[test]
    fn bounds_defaults_and_since() {
        let now = 10_000 * NS_PER_S;
        assert_eq!(bounds(&p(""), now), Ok((now - DEFAULT_SINCE_NS, now)));
        assert_eq!(bounds(&p("since=5m"), now), Ok((now - 300 * NS_PER_S, now)));
        // end in the past: start is relative to end.
        assert_eq!(
            bounds(&p("end=9000&since=10s"), now),
            Ok((8990 * NS_PER_S, 9000 * NS_PER_S))
        );
        // end in the future: start is relative to now.
        assert_eq!(
            bounds(&p("end=20000&since=10s"), now),
            Ok((9990 * NS_PER_S, 20000 * NS_PER_S))
        );
        // An explicit start wins over since.
        assert_eq!(
            bounds(&p("start=100&since=10s"), now),
            Ok((100 * NS_PER_S, now))
        );
        assert_eq!(
            bounds(&p("start=abc"), now),
            Err(ApiError::bad(
                "could not parse 'start' parameter: strconv.ParseInt: parsing \"abc\": invalid syntax"
            ))
        );
        assert_eq!(
            bounds(&p("since=5x"), now),
            Err(ApiError::bad(
                "could not parse 'since' parameter: not a valid duration string: \"5x\""
            ))
        );
        assert_eq!(
            ordered_bounds(&p("start=20&end=10"), now),
            Err(ApiError::bad(
                "end timestamp must not be before or equal to start time"
            ))
        );
    }

    #[test]
    fn limit_direction_step_interval() {
        assert_eq!(limit(&p(""), 5000), Ok(100));
        assert_eq!(limit(&p("limit=7"), 5000), Ok(7));
        assert_eq!(
            limit(&p("limit=0"), 5000),
            Err(ApiError::bad("limit must be a positive value"))
        );
        assert_eq!(
            limit(&p("limit=x"), 5000),
            Err(ApiError::bad("strconv.Atoi: parsing \"x\": invalid syntax"))
        );
        assert_eq!(
            limit(&p("limit=5001"), 5000),
            Err(ApiError::bad(
                "max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)"
            ))
        );
        assert_eq!(direction(&p("")), Ok(Direction::Backward));
        assert_eq!(direction(&p("direction=FORWARD")), Ok(Direction::Forward));
        assert_eq!(
            direction(&p("direction=up")),
            Err(ApiError::bad("invalid direction 'up'"))
        );
        let h = 3600 * NS_PER_S;
        // 1 h / 250 = 14.4 s, floored.
        assert_eq!(step(&p(""), 0, h), Ok(14 * NS_PER_S));
        assert_eq!(step(&p(""), 0, 10 * NS_PER_S), Ok(NS_PER_S));
        assert_eq!(step(&p("step=15000ms"), 0, h), Ok(15 * NS_PER_S));
        assert_eq!(step(&p("step=0.5"), 0, h), Ok(NS_PER_S / 2));
        assert_eq!(step(&p("step=1m30s"), 0, h), Ok(90 * NS_PER_S));
        assert_eq!(
            step(&p("step=0"), 0, h),
            Err(ApiError::bad(
                "zero or negative query resolution step widths are not accepted. Try a positive integer"
            ))
        );
        assert_eq!(
            step(&p("step=1ms"), 0, h),
            Err(ApiError::bad(
                "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter"
            ))
        );
        assert_eq!(
            step(&p("step=fast"), 0, h),
            Err(ApiError::bad("cannot parse \"fast\" to a valid duration"))
        );
        assert_eq!(interval(&p("")), Ok(0));
        assert_eq!(interval(&p("interval=2m")), Ok(120 * NS_PER_S));
        assert_eq!(
            interval(&p("interval=-1")),
            Err(ApiError::bad("interval must be >= 0"))
        );
    }

    #[test]
    fn encoding_flags_header() {
        let mut h = HeaderMap::new();
        assert!(!categorize_labels(&h));
        h.insert(
            ENCODING_FLAGS_HEADER,
            "other, categorize-labels".parse().unwrap(),
        );
        assert!(categorize_labels(&h));
    }
}
