//! Time zones from the system's IANA database (TZif files under
//! `/usr/share/zoneinfo`), for `toDateInZone`. The transitions in the file
//! are used; past the last one the last offset stays (the POSIX rule in
//! the file's footer is not read), and a zone that cannot be loaded is UTC,
//! as Loki falls back to UTC.

use std::sync::Arc;

use super::time::Time;

/// A zone: transition instants (Unix seconds) and the offset/abbreviation
/// in force from each.
#[derive(Clone, Debug, PartialEq)]
pub struct Zone {
    transitions: Vec<i64>,
    type_of: Vec<usize>,
    types: Vec<(i32, bool, Arc<str>)>,
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn counts(b: &[u8]) -> Option<[usize; 6]> {
    let mut c = [0usize; 6];
    for (i, slot) in c.iter_mut().enumerate() {
        *slot = be_u32(b, 20 + 4 * i)? as usize;
    }
    Some(c)
}

impl Zone {
    /// UTC.
    pub fn utc() -> Zone {
        Zone {
            transitions: Vec::new(),
            type_of: Vec::new(),
            types: vec![(0, false, Arc::from("UTC"))],
        }
    }

    /// Parses a TZif (v1, or the 64-bit block of v2+) file.
    pub fn from_tzif(data: &[u8]) -> Option<Zone> {
        if data.get(..4)? != b"TZif" {
            return None;
        }
        let version = *data.get(4)?;
        let mut c = counts(data)?;
        let mut body = data.get(44..)?;
        let mut tsize = 4;
        if version >= b'2' {
            let [isut, isstd, leap, timecnt, typecnt, charcnt] = c;
            let v1 = timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
            let rest = body.get(v1..)?;
            if rest.get(..4)? != b"TZif" {
                return None;
            }
            c = counts(rest)?;
            body = rest.get(44..)?;
            tsize = 8;
        }
        let [_, _, _, timecnt, typecnt, charcnt] = c;
        if typecnt == 0 || body.len() < timecnt * (tsize + 1) + typecnt * 6 + charcnt {
            return None;
        }
        let mut transitions = Vec::with_capacity(timecnt);
        for i in 0..timecnt {
            let p = i * tsize;
            transitions.push(if tsize == 8 {
                i64::from_be_bytes(body.get(p..p + 8)?.try_into().ok()?)
            } else {
                be_u32(body, p)? as i32 as i64
            });
        }
        let idx_at = timecnt * tsize;
        let type_of: Vec<usize> = body[idx_at..idx_at + timecnt]
            .iter()
            .map(|&i| i as usize)
            .collect();
        if type_of.iter().any(|&i| i >= typecnt) {
            return None;
        }
        let types_at = idx_at + timecnt;
        let chars = &body[types_at + typecnt * 6..types_at + typecnt * 6 + charcnt];
        let mut types = Vec::with_capacity(typecnt);
        for i in 0..typecnt {
            let p = types_at + i * 6;
            let off = be_u32(body, p)? as i32;
            let dst = body[p + 4] != 0;
            let a = body[p + 5] as usize;
            let abbr = chars.get(a..)?;
            let end = abbr.iter().position(|&b| b == 0).unwrap_or(abbr.len());
            types.push((
                off,
                dst,
                Arc::from(String::from_utf8_lossy(&abbr[..end]).as_ref()),
            ));
        }
        Some(Zone {
            transitions,
            type_of,
            types,
        })
    }

    /// Loads a zone by IANA name from `/usr/share/zoneinfo`; `UTC`,
    /// `Local` and the empty name are UTC.
    pub fn load(name: &str) -> Option<Zone> {
        if matches!(name, "" | "UTC" | "Local") {
            return Some(Zone::utc());
        }
        let safe = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-+".contains(&b))
            && !name.starts_with('/')
            && !name.split('/').any(|p| p.is_empty() || p == "..");
        if !safe {
            return None;
        }
        let data = std::fs::read(format!("/usr/share/zoneinfo/{name}")).ok()?;
        Zone::from_tzif(&data)
    }

    /// Offset and abbreviation in force at a Unix instant.
    pub fn lookup(&self, utc: i64) -> (i32, Arc<str>) {
        let t = match self.transitions.partition_point(|&t| t <= utc) {
            0 => self.types.iter().find(|t| !t.1).unwrap_or(&self.types[0]),
            n => &self.types[self.type_of[n - 1]],
        };
        (t.0, t.2.clone())
    }

    /// The instant whose local wall clock in this zone reads `local`
    /// (seconds since the epoch as if the wall clock were UTC).
    pub fn resolve_local(&self, local: i64) -> (i64, i32, Arc<str>) {
        let (o1, _) = self.lookup(local);
        let (o2, z2) = self.lookup(local - o1 as i64);
        (local - o2 as i64, o2, z2)
    }

    /// `t` seen in this zone.
    pub fn convert(&self, t: &Time) -> Time {
        let (off, abbr) = self.lookup(t.secs);
        Time {
            secs: t.secs,
            nanos: t.nanos,
            offset: off,
            zone: Some(abbr),
        }
    }
}

/// Parses `value` with a Go layout in `zone` (Go's `ParseInLocation`): a
/// value without its own offset reads as wall-clock time in the zone.
pub fn parse_in_zone(layout: &str, value: &str, zone: &Zone) -> Result<Time, String> {
    let marker: Arc<str> = Arc::from("\u{0}local");
    let t = Time::parse(layout, value, 0, Some(marker.clone()))?;
    if t.zone.as_ref().is_some_and(|z| Arc::ptr_eq(z, &marker)) {
        let (secs, offset, abbr) = zone.resolve_local(t.secs);
        return Ok(Time {
            secs,
            nanos: t.nanos,
            offset,
            zone: Some(abbr),
        });
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A v1 TZif with CET (+1) and CEST (+2) and the two 2024 transitions.
    fn cet_2024() -> Vec<u8> {
        let mut b = b"TZif".to_vec();
        b.push(0);
        b.extend([0u8; 15]);
        let chars = b"CET\0CEST\0";
        for n in [0u32, 0, 0, 2, 2, chars.len() as u32] {
            b.extend(n.to_be_bytes());
        }
        for t in [1_711_846_800i32, 1_729_990_800] {
            b.extend(t.to_be_bytes());
        }
        b.extend([1u8, 0]);
        b.extend(3600i32.to_be_bytes());
        b.extend([0u8, 0]);
        b.extend(7200i32.to_be_bytes());
        b.extend([1u8, 4]);
        b.extend(chars);
        b
    }

    #[test]
    fn tzif_lookup_and_local_parse() {
        let z = Zone::from_tzif(&cet_2024());
        assert!(z.is_some());
        let z = z.unwrap_or_else(Zone::utc);
        assert_eq!(z.lookup(1_700_000_000), (3600, Arc::from("CET")));
        assert_eq!(z.lookup(1_720_000_000), (7200, Arc::from("CEST")));
        assert_eq!(z.lookup(1_740_000_000), (3600, Arc::from("CET")));
        let summer = parse_in_zone("2006-01-02 15:04", "2024-07-01 12:00", &z)
            .map(|t| (t.secs, t.to_string()));
        assert_eq!(
            summer,
            Ok((1_719_828_000, "2024-07-01 12:00:00 +0200 CEST".to_string()))
        );
        let winter = parse_in_zone("2006-01-02 15:04", "2024-01-15 12:00", &z).map(|t| t.secs);
        assert_eq!(winter, Ok(1_705_316_400));
        let explicit =
            parse_in_zone("2006-01-02 15:04 -0700", "2024-01-15 12:00 +0000", &z).map(|t| t.secs);
        assert_eq!(explicit, Ok(1_705_320_000));
    }

    #[test]
    fn bad_names_and_data() {
        assert_eq!(Zone::load("../etc/passwd"), None);
        assert_eq!(Zone::load("/etc/passwd"), None);
        assert_eq!(Zone::load("UTC"), Some(Zone::utc()));
        assert_eq!(Zone::from_tzif(b"not a tzif file at all"), None);
        let mut short = cet_2024();
        short.truncate(50);
        assert_eq!(Zone::from_tzif(&short), None);
    }
}
