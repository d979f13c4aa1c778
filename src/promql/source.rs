//! The store trait the PromQL engine evaluates against. The TSDB implements
//! it; tests and the conformance runner use an in-memory implementation.

use crate::model::{HistogramSample, Labels, Matcher, Sample};

/// One series as returned by a select: its labels and its samples in the
/// requested time range, sorted by timestamp. Staleness markers are included
/// as stored (the engine interprets them).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: Labels,
    /// Float samples, sorted by timestamp.
    pub samples: Vec<Sample>,
    /// Native histogram samples, sorted by timestamp. A series may switch
    /// between floats and histograms over time; a timestamp holds at most
    /// one of the two.
    pub histograms: Vec<HistogramSample>,
}

impl Series {
    /// A series holding only float samples.
    pub fn floats(labels: Labels, samples: Vec<Sample>) -> Self {
        Series {
            labels,
            samples,
            histograms: Vec::new(),
        }
    }
}

/// A storage failure while selecting (maps to HTTP 500/503, never 4xx).
#[derive(Debug, thiserror::Error)]
#[error("storage error: {0}")]
pub struct SourceError(pub String);

/// Anything that can answer "which series match these matchers, and what
/// samples do they have between `mint` and `maxt` (inclusive, milliseconds)".
pub trait SampleSource: Send + Sync {
    /// Series matching every matcher, with their samples in `[mint, maxt]`.
    /// Series with no sample in the range may be omitted.
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Series>, SourceError>;

    /// The same series as [`SampleSource::select`], sorted by labels, handed
    /// to `f` in batches of at most `batch` series, so a caller that reduces
    /// each batch holds only one batch of raw samples at a time. `f` returns
    /// false to stop early. Sources that cannot stream pass one batch.
    fn select_batched(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        batch: usize,
        f: &mut dyn FnMut(Vec<Series>) -> bool,
    ) -> Result<(), SourceError> {
        let _ = batch;
        let mut all = self.select(matchers, mint, maxt)?;
        all.sort_by(|a, b| a.labels.cmp(&b.labels));
        f(all);
        Ok(())
    }
}

/// A simple in-memory source: tests and the conformance runner load data
/// into it directly.
#[derive(Default, Clone, Debug)]
pub struct MemorySource {
    series: Vec<Series>,
}

impl MemorySource {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds samples to the series with these labels (created if new).
    /// Samples are kept sorted by timestamp; a sample at an existing
    /// timestamp replaces it.
    pub fn add(&mut self, labels: Labels, samples: impl IntoIterator<Item = Sample>) {
        let idx = self.index_of(labels);
        let s = &mut self.series[idx];
        for smp in samples {
            s.histograms.retain(|x| x.t != smp.t);
            match s.samples.binary_search_by_key(&smp.t, |x| x.t) {
                Ok(i) => s.samples[i] = smp,
                Err(i) => s.samples.insert(i, smp),
            }
        }
    }

    /// Adds histogram samples to the series with these labels (created if
    /// new), replacing any float or histogram sample at the same timestamp.
    pub fn add_histograms(
        &mut self,
        labels: Labels,
        samples: impl IntoIterator<Item = HistogramSample>,
    ) {
        let idx = self.index_of(labels);
        let s = &mut self.series[idx];
        for smp in samples {
            s.samples.retain(|x| x.t != smp.t);
            match s.histograms.binary_search_by_key(&smp.t, |x| x.t) {
                Ok(i) => s.histograms[i] = smp,
                Err(i) => s.histograms.insert(i, smp),
            }
        }
    }

    fn index_of(&mut self, labels: Labels) -> usize {
        match self.series.iter().position(|s| s.labels == labels) {
            Some(i) => i,
            None => {
                self.series.push(Series::floats(labels, Vec::new()));
                self.series.len() - 1
            }
        }
    }

    pub fn clear(&mut self) {
        self.series.clear();
    }
}

impl SampleSource for MemorySource {
    fn select_batched(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        batch: usize,
        f: &mut dyn FnMut(Vec<Series>) -> bool,
    ) -> Result<(), SourceError> {
        let all = self.select(matchers, mint, maxt)?;
        let mut it = all.into_iter().peekable();
        while it.peek().is_some() {
            let part: Vec<Series> = it.by_ref().take(batch.max(1)).collect();
            if !f(part) {
                break;
            }
        }
        Ok(())
    }

    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<Series>, SourceError> {
        let mut out: Vec<Series> = self
            .series
            .iter()
            .filter(|s| {
                matchers
                    .iter()
                    .all(|m| m.matches(s.labels.get(&m.name).unwrap_or("")))
            })
            .filter_map(|s| {
                let samples: Vec<Sample> = s
                    .samples
                    .iter()
                    .filter(|x| x.t >= mint && x.t <= maxt)
                    .copied()
                    .collect();
                let histograms: Vec<HistogramSample> = s
                    .histograms
                    .iter()
                    .filter(|x| x.t >= mint && x.t <= maxt)
                    .cloned()
                    .collect();
                (!samples.is_empty() || !histograms.is_empty()).then(|| Series {
                    labels: s.labels.clone(),
                    samples,
                    histograms,
                })
            })
            .collect();
        out.sort_by(|a, b| a.labels.cmp(&b.labels));
        Ok(out)
    }
}
