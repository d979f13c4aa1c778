//! Value conversions shared by label filters and `unwrap`, with the syntax
//! and error texts of the Go functions Loki uses: `strconv.ParseFloat`,
//! `time.ParseDuration` and go-humanize's `ParseBytes`.

/// A float as `strconv.ParseFloat` reads it (also `Inf`, `+inf`, `NaN`).
pub fn parse_float(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .map_err(|_| format!("strconv.ParseFloat: parsing {s:?}: invalid syntax"))
}

/// A Go duration (`1h2m3.5s`, `250ms`, `-1.5us`, `0`) in nanoseconds.
pub fn parse_go_duration(s: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let mut rest = s;
    let mut neg = false;
    if let Some(r) = rest.strip_prefix('-') {
        neg = true;
        rest = r;
    } else if let Some(r) = rest.strip_prefix('+') {
        rest = r;
    }
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let b = rest.as_bytes();
        // the number: digits, optionally `.digits`
        let mut i = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let int_part = &rest[..i];
        let mut frac_part = "";
        if i < b.len() && b[i] == b'.' {
            let start = i + 1;
            let mut j = start;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            frac_part = &rest[start..j];
            i = j;
        }
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        // the unit: everything up to the next digit or '.'
        let mut u = i;
        while u < b.len() && b[u] != b'.' && !b[u].is_ascii_digit() {
            u += 1;
        }
        let unit = &rest[i..u];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {s:?}"));
        }
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return Err(format!("time: unknown unit {unit:?} in duration {s:?}")),
        };
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse::<u128>().map_err(|_| invalid())?
        };
        let mut v = int.checked_mul(scale).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            // keep at most 20 fraction digits: below a nanosecond anyway
            let digits = &frac_part[..frac_part.len().min(20)];
            let f: u128 = digits.parse::<u128>().map_err(|_| invalid())?;
            let den = 10u128.pow(digits.len() as u32);
            v += f * scale / den;
        }
        total = total.checked_add(v).ok_or_else(invalid)?;
        if total > (i64::MAX as u128) + 1 {
            return Err(invalid());
        }
        rest = &rest[u..];
    }
    if neg {
        Ok((total as i128).wrapping_neg() as i64)
    } else if total > i64::MAX as u128 {
        Err(invalid())
    } else {
        Ok(total as i64)
    }
}

/// A humanized byte size (`42`, `1.5KiB`, `10 MB`, `3k`), as go-humanize's
/// `ParseBytes` reads it: SI units are powers of 1000, IEC ones of 1024,
/// case-insensitive, commas in the number ignored.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let end = s
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == ','))
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let num: String = s[..end].chars().filter(|c| *c != ',').collect();
    let f: f64 = num
        .parse()
        .map_err(|_| format!("strconv.ParseFloat: parsing {num:?}: invalid syntax"))?;
    let unit = s[end..].trim().to_ascii_lowercase();
    let m: f64 = match unit.as_str() {
        "" | "b" => 1.0,
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
        _ => return Err(format!("unhandled size name: {unit}")),
    };
    let v = f * m;
    if v >= u64::MAX as f64 {
        return Err(format!("too large: {s}"));
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats() {
        assert_eq!(parse_float("1.5"), Ok(1.5));
        assert_eq!(parse_float("-2e3"), Ok(-2000.0));
        assert_eq!(parse_float("+Inf"), Ok(f64::INFINITY));
        assert!(parse_float("NaN").is_ok_and(f64::is_nan));
        assert_eq!(
            parse_float("12ms"),
            Err("strconv.ParseFloat: parsing \"12ms\": invalid syntax".to_string())
        );
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("0"), Ok(0));
        assert_eq!(parse_go_duration("250ms"), Ok(250_000_000));
        assert_eq!(parse_go_duration("1h2m3.5s"), Ok(3_723_500_000_000));
        assert_eq!(parse_go_duration("-1.5us"), Ok(-1_500));
        assert_eq!(parse_go_duration("2\u{b5}s"), Ok(2_000));
        assert_eq!(parse_go_duration(".5s"), Ok(500_000_000));
        assert_eq!(
            parse_go_duration("1"),
            Err("time: missing unit in duration \"1\"".to_string())
        );
        assert_eq!(
            parse_go_duration("1d"),
            Err("time: unknown unit \"d\" in duration \"1d\"".to_string())
        );
        assert_eq!(
            parse_go_duration(""),
            Err("time: invalid duration \"\"".to_string())
        );
        assert!(parse_go_duration("9999999999h").is_err());
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_bytes("42"), Ok(42));
        assert_eq!(parse_bytes("1.5KiB"), Ok(1536));
        assert_eq!(parse_bytes("10 MB"), Ok(10_000_000));
        assert_eq!(parse_bytes("3k"), Ok(3000));
        assert_eq!(parse_bytes("1,024b"), Ok(1024));
        assert_eq!(parse_bytes("2gib"), Ok(2 * 1024 * 1024 * 1024));
        assert_eq!(
            parse_bytes("5 parsecs"),
            Err("unhandled size name: parsecs".to_string())
        );
        assert!(parse_bytes("KB").is_err());
    }
}
