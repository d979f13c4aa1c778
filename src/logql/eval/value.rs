//! Intermediate values of metric evaluation: a scalar (a number literal) or
//! a set of series whose points sit at step indexes (series-major, so that
//! label work happens once per series, not once per step).

use std::collections::HashMap;

use crate::model::Labels;

/// One series: its labels and `(step index, value)` points, ascending.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Series {
    pub labels: Labels,
    pub points: Vec<(usize, f64)>,
}

/// What a metric sub-expression evaluates to.
#[derive(Clone, Debug)]
pub(crate) enum Value {
    /// A number literal: the same value at every step, matching any labels.
    Scalar(f64),
    /// An instant vector at each step.
    Series(Vec<Series>),
}

/// Builds series from points added in any order, one series per label set.
/// A second point for the same labels at the same step is reported so the
/// caller can decide (error or keep the first).
#[derive(Default)]
pub(crate) struct SeriesBuilder {
    index: HashMap<Labels, usize>,
    series: Vec<Series>,
}

impl SeriesBuilder {
    /// The index of the series with `labels`, created if new.
    pub fn series_for(&mut self, labels: &Labels) -> usize {
        if let Some(&i) = self.index.get(labels) {
            return i;
        }
        self.series.push(Series {
            labels: labels.clone(),
            points: Vec::new(),
        });
        self.index.insert(labels.clone(), self.series.len() - 1);
        self.series.len() - 1
    }

    /// Adds a point to series `idx`.
    pub fn push(&mut self, idx: usize, step: usize, value: f64) {
        self.series[idx].points.push((step, value));
    }

    /// The series with points sorted by step. Returns the labels of a series
    /// that got two points at one step, if any (the first point is kept).
    pub fn finish(self) -> (Vec<Series>, Option<Labels>) {
        let mut dup = None;
        let mut out = self.series;
        for s in &mut out {
            s.points.sort_by_key(|p| p.0);
            let before = s.points.len();
            s.points.dedup_by_key(|p| p.0);
            if s.points.len() != before && dup.is_none() {
                dup = Some(s.labels.clone());
            }
        }
        out.retain(|s| !s.points.is_empty());
        (out, dup)
    }
}
