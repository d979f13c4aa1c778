//! Per-query resource accounting: the sample limit (samples held in memory at
//! once, roughly as Prometheus counts them), the total of samples touched for
//! statistics, the deadline, and the collected annotations.

use std::time::Instant;

use super::value::QueryError;

/// Sample accounting and the deadline of one query.
#[derive(Debug)]
pub(crate) struct Limits {
    max_samples: usize,
    current: usize,
    peak: usize,
    total: u64,
    deadline: Option<Instant>,
    ticks: u32,
}

impl Limits {
    pub fn new(max_samples: usize, deadline: Option<Instant>) -> Self {
        Limits {
            max_samples,
            current: 0,
            peak: 0,
            total: 0,
            deadline,
            ticks: 0,
        }
    }

    pub fn max_samples(&self) -> usize {
        self.max_samples
    }

    /// Takes `n` more samples into memory; fails past the limit.
    pub fn hold(&mut self, n: usize) -> Result<(), QueryError> {
        self.current = self.current.saturating_add(n);
        self.peak = self.peak.max(self.current);
        if self.current > self.max_samples {
            return Err(QueryError::TooManySamples);
        }
        Ok(())
    }

    /// Fails if holding `n` more samples (temporarily) would pass the limit.
    pub fn check_extra(&self, n: usize) -> Result<(), QueryError> {
        if self.current.saturating_add(n) > self.max_samples {
            return Err(QueryError::TooManySamples);
        }
        Ok(())
    }

    /// Releases `n` samples held earlier.
    pub fn release(&mut self, n: usize) {
        self.current = self.current.saturating_sub(n);
    }

    /// Counts samples touched (query statistics only).
    pub fn touched(&mut self, n: usize) {
        self.total = self.total.saturating_add(n as u64);
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    #[cfg(test)]
    pub fn peak(&self) -> usize {
        self.peak
    }

    /// Checks the deadline; cheap enough to call in inner loops (the clock is
    /// read every 64 calls).
    pub fn tick(&mut self) -> Result<(), QueryError> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(64) {
            self.check_deadline()?;
        }
        Ok(())
    }

    /// Checks the deadline now.
    pub fn check_deadline(&self) -> Result<(), QueryError> {
        match self.deadline {
            Some(d) if Instant::now() >= d => Err(QueryError::Timeout),
            _ => Ok(()),
        }
    }
}

/// Warnings and infos, deduplicated in first-seen order.
#[derive(Debug, Default)]
pub(crate) struct Annotations {
    pub warnings: Vec<String>,
    pub infos: Vec<String>,
}

impl Annotations {
    pub fn warn(&mut self, msg: String) {
        let msg = format!("PromQL warning: {msg}");
        if !self.warnings.contains(&msg) {
            self.warnings.push(msg);
        }
    }

    pub fn info(&mut self, msg: String) {
        let msg = format!("PromQL info: {msg}");
        if !self.infos.contains(&msg) {
            self.infos.push(msg);
        }
    }
}
