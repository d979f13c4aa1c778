//! Collects translated samples per label set (series with identical labels
//! merge), sorts each series' samples by time, and keeps the problems of
//! an export: rejected data points and one message per kind of problem.

use std::collections::HashMap;

use crate::metrics::db::IncomingSeries;
use crate::metrics::exemplars::Exemplar;
use crate::model::labels::SeriesLabels;
use crate::model::{HistogramSample, Labels, Sample};

struct Entry {
    series: IncomingSeries<'static>,
    /// The created timestamp comes from the earliest data point.
    created_from_t: i64,
}

/// The series of one export, in order of first appearance.
#[derive(Default)]
pub struct SeriesSet {
    index: HashMap<Labels, usize>,
    entries: Vec<Entry>,
}

impl SeriesSet {
    fn entry(&mut self, labels: Labels) -> &mut Entry {
        let i = match self.index.get(&labels) {
            Some(&i) => i,
            None => {
                let i = self.entries.len();
                self.index.insert(labels.clone(), i);
                self.entries.push(Entry {
                    series: IncomingSeries {
                        labels: SeriesLabels::Owned(labels),
                        ..Default::default()
                    },
                    created_from_t: i64::MAX,
                });
                i
            }
        };
        &mut self.entries[i]
    }

    /// Adds a float sample, with the series' created timestamp if known.
    pub fn add_sample(&mut self, labels: Labels, s: Sample, created_t: Option<i64>) {
        let e = self.entry(labels);
        e.series.samples.push(s);
        if let Some(ct) = created_t {
            if s.t < e.created_from_t {
                e.created_from_t = s.t;
                e.series.created_t = Some(ct);
            }
        }
    }

    pub fn add_histogram(&mut self, labels: Labels, h: HistogramSample) {
        self.entry(labels).series.histograms.push(h);
    }

    pub fn add_exemplars(&mut self, labels: Labels, ex: impl IntoIterator<Item = Exemplar>) {
        self.entry(labels).series.exemplars.extend(ex);
    }

    /// The series, each with samples, histograms and exemplars sorted by
    /// time (exact repeats dropped).
    pub fn finish(self) -> Vec<IncomingSeries<'static>> {
        self.entries
            .into_iter()
            .map(|e| {
                let mut s = e.series;
                s.samples.sort_by_key(|x| x.t);
                s.samples
                    .dedup_by(|a, b| a.t == b.t && a.v.to_bits() == b.v.to_bits());
                s.histograms.sort_by_key(|x| x.t);
                s.histograms.dedup_by(|a, b| a.t == b.t && a.h == b.h);
                s.exemplars.sort_by_key(|x| x.t);
                s
            })
            .collect()
    }
}

/// Rejected data points and why.
#[derive(Default)]
pub struct Problems {
    pub rejected: u64,
    /// (kind, first message, occurrences), in order of first appearance.
    kinds: Vec<(&'static str, String, u64)>,
}

impl Problems {
    /// Records `points` rejected data points for a problem of `kind`.
    pub fn reject(&mut self, kind: &'static str, points: u64, message: String) {
        self.rejected += points;
        self.note(kind, message);
    }

    /// Records a problem that rejects no data point (e.g. a dropped exemplar).
    pub fn note(&mut self, kind: &'static str, message: String) {
        match self.kinds.iter_mut().find(|(k, _, _)| *k == kind) {
            Some(entry) => entry.2 += 1,
            None => self.kinds.push((kind, message, 1)),
        }
    }

    /// One message per kind: the first, and how many more there were.
    pub fn messages(&self) -> Vec<String> {
        self.kinds
            .iter()
            .map(|(_, m, n)| match n {
                1 => m.clone(),
                2 => format!("{m} (and 1 more like it)"),
                n => format!("{m} (and {} more like it)", n - 1),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_label_sets_merge_and_samples_sort() {
        let mut set = SeriesSet::default();
        let a = Labels::from_pairs([("__name__", "a")]);
        let b = Labels::from_pairs([("__name__", "b")]);
        set.add_sample(a.clone(), Sample::new(20, 2.0), Some(5));
        set.add_sample(b.clone(), Sample::new(1, 9.0), None);
        set.add_sample(a.clone(), Sample::new(10, 1.0), Some(3));
        set.add_sample(a.clone(), Sample::new(10, 1.0), Some(3));
        let out = set.finish();
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[0].labels.pairs().collect::<Vec<_>>(),
            vec![("__name__", "a")]
        );
        assert_eq!(
            out[0].samples,
            vec![Sample::new(10, 1.0), Sample::new(20, 2.0)]
        );
        assert_eq!(out[0].created_t, Some(3));
        assert_eq!(out[1].samples, vec![Sample::new(1, 9.0)]);
        assert_eq!(out[1].created_t, None);
    }

    #[test]
    fn one_message_per_kind() {
        let mut p = Problems::default();
        p.reject("delta", 3, "metric \"a\": delta".into());
        p.reject("delta", 2, "metric \"b\": delta".into());
        p.reject("name", 1, "bad name".into());
        p.note("exemplar", "exemplar without value".into());
        assert_eq!(p.rejected, 6);
        assert_eq!(
            p.messages(),
            vec![
                "metric \"a\": delta (and 1 more like it)".to_string(),
                "bad name".to_string(),
                "exemplar without value".to_string(),
            ]
        );
    }
}
