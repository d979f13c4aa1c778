//! `ip("...")` matching for line and label filters: a pattern is one
//! address, a CIDR prefix or an inclusive range `a-b` (IPv4 or IPv6), and a
//! text matches when an address found in it lies in the pattern.

use std::net::IpAddr;

/// A compiled `ip("...")` pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpPattern {
    /// Inclusive bounds, both of one family.
    lo: IpAddr,
    hi: IpAddr,
}

fn to_u128(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(v) => (true, u32::from(v) as u128),
        IpAddr::V6(v) => (false, u128::from(v)),
    }
}

impl IpPattern {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `10.0.0.1-10.0.0.9` or IPv6 forms.
    pub fn parse(pattern: &str) -> Result<IpPattern, String> {
        let p = pattern.trim();
        let bad = || format!("invalid ip pattern {pattern:?}");
        let addr = |s: &str| s.trim().parse::<IpAddr>().map_err(|_| bad());
        if let Some((a, b)) = p.split_once('-') {
            let (lo, hi) = (addr(a)?, addr(b)?);
            let ((v4a, x), (v4b, y)) = (to_u128(lo), to_u128(hi));
            if v4a != v4b || x > y {
                return Err(bad());
            }
            return Ok(IpPattern { lo, hi });
        }
        if let Some((a, bits)) = p.split_once('/') {
            let base = addr(a)?;
            let bits: u32 = bits.trim().parse().map_err(|_| bad())?;
            let (v4, x) = to_u128(base);
            let width = if v4 { 32 } else { 128 };
            if bits > width {
                return Err(bad());
            }
            let host_bits = width - bits;
            let mask: u128 = if host_bits == 128 {
                u128::MAX
            } else {
                (1u128 << host_bits) - 1
            };
            let (lo, hi) = (x & !mask, x | mask);
            let mk = |v: u128| -> IpAddr {
                if v4 {
                    IpAddr::V4((v as u32).into())
                } else {
                    IpAddr::V6(v.into())
                }
            };
            return Ok(IpPattern {
                lo: mk(lo),
                hi: mk(hi),
            });
        }
        let one = addr(p)?;
        Ok(IpPattern { lo: one, hi: one })
    }

    /// Is this address in the pattern?
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (v4, x) = to_u128(ip);
        let (lv4, lo) = to_u128(self.lo);
        let (_, hi) = to_u128(self.hi);
        v4 == lv4 && lo <= x && x <= hi
    }

    /// Does any address written in `text` lie in the pattern?
    pub fn matches_text(&self, text: &str) -> bool {
        let mut found = false;
        for_each_ip(text, |ip| {
            if self.contains(ip) {
                found = true;
                return true;
            }
            false
        });
        found
    }
}

fn is_ip_byte(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b'.' || b == b':'
}

/// Calls `f` with each address found in `text` until it returns true.
/// Candidates are runs of hex digits, dots and colons; a run that is not an
/// address as a whole (say `10.0.0.1:8080`) is searched for IPv4 addresses.
fn for_each_ip(text: &str, mut f: impl FnMut(IpAddr) -> bool) {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if !is_ip_byte(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_ip_byte(b[i]) {
            i += 1;
        }
        let run = &text[start..i];
        // cheap rejection: an address needs a '.' or a ':'
        if !run.contains(['.', ':']) || run.len() < 2 {
            continue;
        }
        if let Ok(ip) = run.parse::<IpAddr>() {
            if f(ip) {
                return;
            }
            continue;
        }
        // IPv4 sub-runs (digits and dots)
        let rb = run.as_bytes();
        let mut j = 0;
        while j < rb.len() {
            if !(rb[j].is_ascii_digit()) {
                j += 1;
                continue;
            }
            let s = j;
            while j < rb.len() && (rb[j].is_ascii_digit() || rb[j] == b'.') {
                j += 1;
            }
            let cand = run[s..j].trim_end_matches('.');
            if let Ok(ip) = cand.parse::<std::net::Ipv4Addr>() {
                if f(IpAddr::V4(ip)) {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_cidr_range() {
        let one = IpPattern::parse("192.168.0.1").unwrap();
        assert!(one.matches_text("from 192.168.0.1 ok"));
        assert!(!one.matches_text("from 192.168.0.12 ok"));
        let cidr = IpPattern::parse("10.0.0.0/8").unwrap();
        assert!(cidr.matches_text("peer=10.200.3.4:8080"));
        assert!(!cidr.matches_text("peer=11.0.0.1"));
        let range = IpPattern::parse("192.168.1.5-192.168.1.9").unwrap();
        assert!(range.matches_text("a 192.168.1.9"));
        assert!(!range.matches_text("a 192.168.1.10"));
        let v6 = IpPattern::parse("2001:db8::/32").unwrap();
        assert!(v6.matches_text("client [2001:db8::1] says"));
        assert!(!v6.matches_text("client ::1 says"));
        assert!(!v6.matches_text("client 10.0.0.1 says"));
    }

    #[test]
    fn bad_patterns() {
        assert!(IpPattern::parse("10.0.0.0/33").is_err());
        assert!(IpPattern::parse("10.0.0.9-10.0.0.1").is_err());
        assert!(IpPattern::parse("10.0.0.1-::1").is_err());
        assert!(IpPattern::parse("nope").is_err());
    }
}
