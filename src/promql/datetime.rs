//! UTC calendar arithmetic for the PromQL date functions (`year()`,
//! `day_of_week()`, ...), on Unix seconds, without a date library.

pub(crate) use crate::calendar::{civil_from_days, days_in_month};

/// A broken-down UTC time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    /// 0 = Sunday
    pub weekday: u32,
    /// 1..=366
    pub yday: u32,
}

/// Breaks Unix seconds (fractions truncated toward zero, as Go's
/// `time.Unix(int64(f), 0)` does) into UTC calendar fields.
pub(crate) fn civil_from_unix(secs: i64) -> Civil {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let cum: u32 = (1..month).map(|m| days_in_month(year, m)).sum();
    Civil {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: ((rem % 3600) / 60) as u32,
        weekday: (days + 4).rem_euclid(7) as u32,
        yday: cum + day,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        let c = civil_from_unix(0);
        assert_eq!(
            (c.year, c.month, c.day, c.weekday, c.yday),
            (1970, 1, 1, 4, 1)
        );
        // 2024-02-29T13:45:00Z, a Thursday, day 60.
        let c = civil_from_unix(1_709_214_300);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute),
            (2024, 2, 29, 13, 45)
        );
        assert_eq!((c.weekday, c.yday), (4, 60));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        // Before the epoch: 1969-12-31T23:59:59Z.
        let c = civil_from_unix(-1);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute),
            (1969, 12, 31, 23, 59)
        );
    }
}
