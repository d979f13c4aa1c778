//! Time values for templates: an instant with a fixed UTC offset, civil
//! date arithmetic, and Go's reference-time layouts (`2006-01-02
//! 15:04:05.000 -0700 MST`) for formatting and parsing.
//!
//! A time carries a fixed offset: `Local` is taken as UTC (the server
//! runs in UTC); IANA zones are in [`super::tz`].

use crate::calendar::days_in_month;
pub use crate::calendar::{civil_from_days, days_from_civil};
use std::fmt;
use std::sync::Arc;

/// An instant (seconds and nanoseconds since the Unix epoch) seen in a zone
/// with a fixed offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Time {
    pub secs: i64,
    pub nanos: u32,
    /// Seconds east of UTC.
    pub offset: i32,
    /// Zone abbreviation; `None` prints the offset in its place, as Go does
    /// for an unnamed fixed zone.
    pub zone: Option<Arc<str>>,
}

/// Seconds from 0001-01-01 to 1970-01-01: Go's zero `time.Time`.
pub const ZERO_TIME_SECS: i64 = -62_135_596_800;

fn utc_name() -> Option<Arc<str>> {
    Some(Arc::from("UTC"))
}

impl Time {
    /// The instant `ns` nanoseconds after the epoch, in UTC.
    pub fn from_unix_nanos(ns: i64) -> Time {
        Time {
            secs: ns.div_euclid(1_000_000_000),
            nanos: ns.rem_euclid(1_000_000_000) as u32,
            offset: 0,
            zone: utc_name(),
        }
    }

    /// The instant `secs` seconds after the epoch, in UTC.
    pub fn from_unix(secs: i64, nanos: u32) -> Time {
        Time {
            secs,
            nanos,
            offset: 0,
            zone: utc_name(),
        }
    }

    /// Go's zero time, `0001-01-01 00:00:00 +0000 UTC`.
    pub fn zero() -> Time {
        Time::from_unix(ZERO_TIME_SECS, 0)
    }

    /// The current time (UTC).
    pub fn now() -> Time {
        let d = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Time::from_unix(d.as_secs() as i64, d.subsec_nanos())
    }

    /// Nanoseconds since the epoch (saturating).
    pub fn unix_nanos(&self) -> i64 {
        let ns = self.secs as i128 * 1_000_000_000 + self.nanos as i128;
        ns.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    /// Milliseconds since the epoch.
    pub fn unix_millis(&self) -> i64 {
        self.secs
            .saturating_mul(1000)
            .saturating_add(self.nanos as i64 / 1_000_000)
    }

    /// The same instant in UTC.
    pub fn utc(&self) -> Time {
        Time::from_unix(self.secs, self.nanos)
    }

    fn civil(&self) -> Civil {
        let local = self.secs + self.offset as i64;
        let days = local.div_euclid(86_400);
        let sod = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (sod / 3600) as u32,
            min: (sod / 60 % 60) as u32,
            sec: (sod % 60) as u32,
            weekday: (days + 4).rem_euclid(7) as u32,
            yday: (days - days_from_civil(year, 1, 1) + 1) as u32,
        }
    }

    /// Formats with a Go layout string.
    pub fn format(&self, layout: &str) -> String {
        let mut out = String::with_capacity(layout.len() + 10);
        self.format_into(layout, &mut out);
        out
    }

    /// Appends the time formatted with a Go layout string.
    pub fn format_into(&self, layout: &str, out: &mut String) {
        let c = self.civil();
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, chunk, suffix) = next_chunk(rest);
            out.push_str(prefix);
            rest = suffix;
            let Some(chunk) = chunk else { break };
            self.format_chunk(&c, chunk, out);
        }
    }

    fn format_chunk(&self, c: &Civil, chunk: Chunk, out: &mut String) {
        use std::fmt::Write;
        match chunk {
            Chunk::LongYear => {
                let _ = write!(out, "{:04}", c.year);
            }
            Chunk::Year => {
                let _ = write!(out, "{:02}", c.year.rem_euclid(100));
            }
            Chunk::Month => out.push_str(&MONTHS[c.month as usize - 1][..3]),
            Chunk::LongMonth => out.push_str(MONTHS[c.month as usize - 1]),
            Chunk::NumMonth => {
                let _ = write!(out, "{}", c.month);
            }
            Chunk::ZeroMonth => {
                let _ = write!(out, "{:02}", c.month);
            }
            Chunk::WeekDay => out.push_str(&DAYS[c.weekday as usize][..3]),
            Chunk::LongWeekDay => out.push_str(DAYS[c.weekday as usize]),
            Chunk::Day => {
                let _ = write!(out, "{}", c.day);
            }
            Chunk::UnderDay => {
                let _ = write!(out, "{:>2}", c.day);
            }
            Chunk::ZeroDay => {
                let _ = write!(out, "{:02}", c.day);
            }
            Chunk::UnderYearDay => {
                let _ = write!(out, "{:>3}", c.yday);
            }
            Chunk::ZeroYearDay => {
                let _ = write!(out, "{:03}", c.yday);
            }
            Chunk::Hour => {
                let _ = write!(out, "{:02}", c.hour);
            }
            Chunk::Hour12 | Chunk::ZeroHour12 => {
                let h = match c.hour % 12 {
                    0 => 12,
                    h => h,
                };
                if chunk == Chunk::Hour12 {
                    let _ = write!(out, "{h}");
                } else {
                    let _ = write!(out, "{h:02}");
                }
            }
            Chunk::Minute => {
                let _ = write!(out, "{}", c.min);
            }
            Chunk::ZeroMinute => {
                let _ = write!(out, "{:02}", c.min);
            }
            Chunk::Second => {
                let _ = write!(out, "{}", c.sec);
            }
            Chunk::ZeroSecond => {
                let _ = write!(out, "{:02}", c.sec);
            }
            Chunk::PM => out.push_str(if c.hour >= 12 { "PM" } else { "AM" }),
            Chunk::Pm => out.push_str(if c.hour >= 12 { "pm" } else { "am" }),
            Chunk::Tz => match &self.zone {
                Some(z) => out.push_str(z),
                None => {
                    let mins = self.offset / 60;
                    let sign = if mins < 0 { '-' } else { '+' };
                    let mins = mins.abs();
                    let _ = write!(out, "{sign}{:02}", mins / 60);
                    if mins % 60 != 0 {
                        let _ = write!(out, "{:02}", mins % 60);
                    }
                }
            },
            Chunk::Offset {
                z,
                colon,
                secs,
                mins,
            } => {
                if z && self.offset == 0 {
                    out.push('Z');
                    return;
                }
                let off = self.offset;
                let sign = if off < 0 { '-' } else { '+' };
                let a = off.unsigned_abs();
                let _ = write!(out, "{sign}{:02}", a / 3600);
                if mins {
                    if colon {
                        out.push(':');
                    }
                    let _ = write!(out, "{:02}", a / 60 % 60);
                }
                if secs {
                    if colon {
                        out.push(':');
                    }
                    let _ = write!(out, "{:02}", a % 60);
                }
            }
            Chunk::Frac { sep, digits, trim } => {
                let s = format!("{:09}", self.nanos);
                let mut d = &s[..digits as usize];
                if trim {
                    d = d.trim_end_matches('0');
                    if d.is_empty() {
                        return;
                    }
                }
                out.push(sep as char);
                out.push_str(d);
            }
        }
    }

    /// Parses `value` with a Go layout; `offset`/`zone` is the zone used
    /// when the value names none. Errors read like Go's.
    pub fn parse(
        layout: &str,
        value: &str,
        offset: i32,
        zone: Option<Arc<str>>,
    ) -> Result<Time, String> {
        parse_time(layout, value, offset, zone)
    }
}

impl fmt::Display for Time {
    /// Go's `Time.String`: `2006-01-02 15:04:05.999999999 -0700 MST`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.format("2006-01-02 15:04:05.999999999 -0700 MST"))
    }
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    min: u32,
    sec: u32,
    weekday: u32,
    yday: u32,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    LongYear,
    Year,
    Month,
    LongMonth,
    NumMonth,
    ZeroMonth,
    WeekDay,
    LongWeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    PM,
    Pm,
    Tz,
    Offset {
        z: bool,
        colon: bool,
        secs: bool,
        mins: bool,
    },
    Frac {
        sep: u8,
        digits: u8,
        trim: bool,
    },
}

fn starts_lower(s: &str) -> bool {
    s.as_bytes().first().is_some_and(|c| c.is_ascii_lowercase())
}

/// Splits the layout at its first element: (literal prefix, element, rest).
fn next_chunk(layout: &str) -> (&str, Option<Chunk>, &str) {
    let b = layout.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = &layout[i..];
        let found: Option<(Chunk, usize)> = match b[i] {
            b'J' if rest.starts_with("January") => Some((Chunk::LongMonth, 7)),
            b'J' if rest.starts_with("Jan") && !starts_lower(&rest[3..]) => Some((Chunk::Month, 3)),
            b'M' if rest.starts_with("Monday") => Some((Chunk::LongWeekDay, 6)),
            b'M' if rest.starts_with("Mon") && !starts_lower(&rest[3..]) => {
                Some((Chunk::WeekDay, 3))
            }
            b'M' if rest.starts_with("MST") => Some((Chunk::Tz, 3)),
            b'0' if b.len() > i + 1 && (b'1'..=b'6').contains(&b[i + 1]) => Some((
                [
                    Chunk::ZeroMonth,
                    Chunk::ZeroDay,
                    Chunk::ZeroHour12,
                    Chunk::ZeroMinute,
                    Chunk::ZeroSecond,
                    Chunk::Year,
                ][(b[i + 1] - b'1') as usize],
                2,
            )),
            b'0' if rest.starts_with("002") => Some((Chunk::ZeroYearDay, 3)),
            b'1' if rest.starts_with("15") => Some((Chunk::Hour, 2)),
            b'1' => Some((Chunk::NumMonth, 1)),
            b'2' if rest.starts_with("2006") => Some((Chunk::LongYear, 4)),
            b'2' => Some((Chunk::Day, 1)),
            b'_' if rest.starts_with("_2006") => {
                return (&layout[..i + 1], Some(Chunk::LongYear), &layout[i + 5..]);
            }
            b'_' if rest.starts_with("__2") => Some((Chunk::UnderYearDay, 3)),
            b'_' if rest.starts_with("_2") => Some((Chunk::UnderDay, 2)),
            b'3' => Some((Chunk::Hour12, 1)),
            b'4' => Some((Chunk::Minute, 1)),
            b'5' => Some((Chunk::Second, 1)),
            b'P' if rest.starts_with("PM") => Some((Chunk::PM, 2)),
            b'p' if rest.starts_with("pm") => Some((Chunk::Pm, 2)),
            b'-' | b'Z' => {
                let z = b[i] == b'Z';
                let forms: [(&str, bool, bool, bool); 5] = [
                    ("070000", false, true, true),
                    ("07:00:00", true, true, true),
                    ("0700", false, false, true),
                    ("07:00", true, false, true),
                    ("07", false, false, false),
                ];
                forms.iter().find(|(f, ..)| rest[1..].starts_with(f)).map(
                    |(f, colon, secs, mins)| {
                        (
                            Chunk::Offset {
                                z,
                                colon: *colon,
                                secs: *secs,
                                mins: *mins,
                            },
                            f.len() + 1,
                        )
                    },
                )
            }
            b'.' | b',' if b.len() > i + 1 && (b[i + 1] == b'0' || b[i + 1] == b'9') => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if j < b.len() && b[j].is_ascii_digit() {
                    None
                } else {
                    Some((
                        Chunk::Frac {
                            sep: b[i],
                            digits: (j - i - 1).min(9) as u8,
                            trim: ch == b'9',
                        },
                        j - i,
                    ))
                }
            }
            _ => None,
        };
        if let Some((chunk, len)) = found {
            return (&layout[..i], Some(chunk), &layout[i + len..]);
        }
        i += layout[i..].chars().next().map_or(1, char::len_utf8);
    }
    (layout, None, "")
}

fn take_digits(v: &str, min: usize, max: usize) -> Option<(i64, &str)> {
    let n = v
        .bytes()
        .take(max)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if n < min {
        return None;
    }
    Some((v[..n].parse().ok()?, &v[n..]))
}

fn take_name<'v>(v: &'v str, names: &[&str], short: bool) -> Option<(usize, &'v str)> {
    for (i, n) in names.iter().enumerate() {
        let n = if short { &n[..3] } else { n };
        if v.get(..n.len()).is_some_and(|p| p.eq_ignore_ascii_case(n)) {
            return Some((i, &v[n.len()..]));
        }
    }
    None
}

fn parse_time(
    layout: &str,
    value: &str,
    default_offset: i32,
    default_zone: Option<Arc<str>>,
) -> Result<Time, String> {
    let quote = |s: &str| format!("{s:?}");
    let err = |elem: &str, rest: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            quote(value),
            quote(layout),
            quote(rest),
            quote(elem)
        )
    };
    let (mut year, mut month, mut day, mut hour, mut min, mut sec) = (1i64, 1u32, 1u32, 0, 0, 0);
    let mut nanos = 0u32;
    let mut pm: Option<bool> = None;
    let mut yday: Option<i64> = None;
    let mut offset: Option<i32> = None;
    let mut zone: Option<Arc<str>> = None;
    let mut l = layout;
    let mut v = value;
    loop {
        let (prefix, chunk, suffix) = next_chunk(l);
        let elem = &l[prefix.len()..l.len() - suffix.len()];
        if !v.starts_with(prefix) {
            return Err(err(prefix, v));
        }
        v = &v[prefix.len()..];
        l = suffix;
        let Some(chunk) = chunk else {
            if !v.is_empty() {
                return Err(format!(
                    "parsing time {}: extra text: {}",
                    quote(value),
                    quote(v)
                ));
            }
            break;
        };
        let bad = || err(elem, v);
        match chunk {
            Chunk::LongYear => {
                let (y, r) = take_digits(v, 4, 4).ok_or_else(bad)?;
                year = y;
                v = r;
            }
            Chunk::Year => {
                let (y, r) = take_digits(v, 2, 2).ok_or_else(bad)?;
                year = if y >= 69 { 1900 + y } else { 2000 + y };
                v = r;
            }
            Chunk::Month | Chunk::LongMonth => {
                let (m, r) = take_name(v, &MONTHS, chunk == Chunk::Month).ok_or_else(bad)?;
                month = m as u32 + 1;
                v = r;
            }
            Chunk::WeekDay | Chunk::LongWeekDay => {
                let (_, r) = take_name(v, &DAYS, chunk == Chunk::WeekDay).ok_or_else(bad)?;
                v = r;
            }
            Chunk::NumMonth | Chunk::ZeroMonth => {
                let min_d = if chunk == Chunk::ZeroMonth { 2 } else { 1 };
                let (m, r) = take_digits(v, min_d, 2).ok_or_else(bad)?;
                if !(1..=12).contains(&m) {
                    return Err(format!("parsing time {}: month out of range", quote(value)));
                }
                month = m as u32;
                v = r;
            }
            Chunk::Day | Chunk::UnderDay | Chunk::ZeroDay => {
                if chunk == Chunk::UnderDay && v.starts_with(' ') {
                    v = &v[1..];
                }
                let min_d = if chunk == Chunk::ZeroDay { 2 } else { 1 };
                let (d, r) = take_digits(v, min_d, 2).ok_or_else(bad)?;
                day = d as u32;
                v = r;
            }
            Chunk::UnderYearDay | Chunk::ZeroYearDay => {
                let t = v.trim_start_matches(' ');
                let (d, r) = take_digits(t, 3.min(t.len()).max(1), 3).ok_or_else(bad)?;
                yday = Some(d);
                v = r;
            }
            Chunk::Hour => {
                let (h, r) = take_digits(v, 1, 2).ok_or_else(bad)?;
                if h > 23 {
                    return Err(format!("parsing time {}: hour out of range", quote(value)));
                }
                hour = h as u32;
                v = r;
            }
            Chunk::Hour12 | Chunk::ZeroHour12 => {
                let min_d = if chunk == Chunk::ZeroHour12 { 2 } else { 1 };
                let (h, r) = take_digits(v, min_d, 2).ok_or_else(bad)?;
                if h > 12 {
                    return Err(format!("parsing time {}: hour out of range", quote(value)));
                }
                hour = h as u32;
                v = r;
            }
            Chunk::Minute | Chunk::ZeroMinute => {
                let min_d = if chunk == Chunk::ZeroMinute { 2 } else { 1 };
                let (m, r) = take_digits(v, min_d, 2).ok_or_else(bad)?;
                if m > 59 {
                    return Err(format!(
                        "parsing time {}: minute out of range",
                        quote(value)
                    ));
                }
                min = m as u32;
                v = r;
            }
            Chunk::Second | Chunk::ZeroSecond => {
                let min_d = if chunk == Chunk::ZeroSecond { 2 } else { 1 };
                let (s, r) = take_digits(v, min_d, 2).ok_or_else(bad)?;
                if s > 59 {
                    return Err(format!(
                        "parsing time {}: second out of range",
                        quote(value)
                    ));
                }
                sec = s as u32;
                v = r;
                // A fraction after the seconds is accepted even when the
                // layout has none.
                let next_is_frac = matches!(next_chunk(l), ("", Some(Chunk::Frac { .. }), _));
                if !next_is_frac
                    && v.len() >= 2
                    && (v.as_bytes()[0] == b'.' || v.as_bytes()[0] == b',')
                    && v.as_bytes()[1].is_ascii_digit()
                {
                    let n = v[1..].bytes().take_while(u8::is_ascii_digit).count();
                    nanos = frac_nanos(&v[1..1 + n]);
                    v = &v[1 + n..];
                }
            }
            Chunk::PM | Chunk::Pm => {
                let p = v.get(..2).ok_or_else(bad)?;
                pm = Some(match p {
                    "PM" | "pm" => true,
                    "AM" | "am" => false,
                    _ => return Err(bad()),
                });
                v = &v[2..];
            }
            Chunk::Tz => {
                if let Some(r) = v.strip_prefix("UTC") {
                    offset = Some(0);
                    zone = Some(Arc::from("UTC"));
                    v = r;
                } else {
                    let n = v.bytes().take_while(u8::is_ascii_uppercase).count();
                    if n < 3 {
                        return Err(bad());
                    }
                    zone = Some(Arc::from(&v[..n]));
                    offset = Some(0);
                    v = &v[n..];
                }
            }
            Chunk::Offset {
                z,
                colon,
                secs,
                mins,
            } => {
                if z && v.starts_with('Z') {
                    v = &v[1..];
                    offset = Some(0);
                    zone = Some(Arc::from("UTC"));
                    continue;
                }
                let sign = match v.as_bytes().first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(bad()),
                };
                let mut r = &v[1..];
                let (h, r2) = take_digits(r, 2, 2).ok_or_else(bad)?;
                r = r2;
                let mut total = h * 3600;
                for (want, mult) in [(mins, 60), (secs, 1)] {
                    if !want {
                        continue;
                    }
                    if colon {
                        r = r.strip_prefix(':').ok_or_else(bad)?;
                    }
                    let (x, r2) = take_digits(r, 2, 2).ok_or_else(bad)?;
                    total += x * mult;
                    r = r2;
                }
                offset = Some(sign * total as i32);
                zone = None;
                v = r;
            }
            Chunk::Frac { digits, trim, .. } => {
                let Some(r) = v.strip_prefix(['.', ',']) else {
                    if trim {
                        continue;
                    }
                    return Err(bad());
                };
                let n = r.bytes().take_while(u8::is_ascii_digit).count();
                if !trim && n != digits as usize {
                    return Err(bad());
                }
                nanos = frac_nanos(&r[..n]);
                v = &r[n..];
            }
        }
    }
    if let Some(p) = pm {
        if p && hour < 12 {
            hour += 12;
        } else if !p && hour == 12 {
            hour = 0;
        }
    }
    if let Some(yd) = yday {
        let mut rem = yd;
        let mut m = 1;
        while m <= 12 && rem > days_in_month(year, m) as i64 {
            rem -= days_in_month(year, m) as i64;
            m += 1;
        }
        if m > 12 || rem < 1 {
            return Err(format!(
                "parsing time {}: day-of-year out of range",
                quote(value)
            ));
        }
        month = m;
        day = rem as u32;
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(format!("parsing time {}: day out of range", quote(value)));
    }
    let days = days_from_civil(year, month, day);
    let local = days * 86_400 + hour as i64 * 3600 + min as i64 * 60 + sec as i64;
    let (off, zone) = match offset {
        Some(o) => (o, zone),
        None => (default_offset, default_zone),
    };
    Ok(Time {
        secs: local - off as i64,
        nanos,
        offset: off,
        zone,
    })
}

fn frac_nanos(digits: &str) -> u32 {
    let mut n = 0u32;
    for (i, c) in digits.bytes().take(9).enumerate() {
        n += (c - b'0') as u32 * 10u32.pow(8 - i as u32);
    }
    n
}
