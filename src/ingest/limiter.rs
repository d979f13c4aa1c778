//! Per-tenant ingestion rate limiting: a token bucket that lets one request
//! overdraw it (so a batch larger than the burst still gets through when the
//! bucket is full) and answers how long to wait when it is in debt.

use std::collections::HashMap;
use std::time::Instant;

use parking_lot::Mutex;

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Rate limiters for all tenants, keyed by tenant id.
#[derive(Default)]
pub struct RateLimiters {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiters {
    /// Takes `n` units for `tenant` at `rate`/s with `burst` capacity.
    /// Returns `Err(retry_after_seconds)` when the tenant is over its limit.
    /// A rate of 0 means unlimited.
    pub fn take(&self, tenant: &str, n: u64, rate: u64, burst: u64) -> Result<(), u64> {
        self.take_at(tenant, n, rate, burst, Instant::now())
    }

    fn take_at(
        &self,
        tenant: &str,
        n: u64,
        rate: u64,
        burst: u64,
        now: Instant,
    ) -> Result<(), u64> {
        if rate == 0 {
            return Ok(());
        }
        let burst = burst.max(rate) as f64;
        let mut map = self.buckets.lock();
        let b = map.entry(tenant.to_string()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate as f64).min(burst);
        b.last = now;
        if b.tokens <= 0.0 {
            return Err(((-b.tokens + 1.0) / rate as f64).ceil().max(1.0) as u64);
        }
        b.tokens -= n as f64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn limits_and_refills() {
        let l = RateLimiters::default();
        let t0 = Instant::now();
        assert!(l.take_at("a", 100, 10, 100, t0).is_ok());
        let retry = l.take_at("a", 1, 10, 100, t0).unwrap_err();
        assert!(retry >= 1);
        assert!(
            l.take_at("b", 1, 10, 100, t0).is_ok(),
            "tenants are independent"
        );
        assert!(l
            .take_at("a", 1, 10, 100, t0 + Duration::from_secs(2))
            .is_ok());
        assert!(l.take_at("a", 5, 0, 0, t0).is_ok());
    }
}
