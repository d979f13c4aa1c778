//! Internal evaluation values. Every expression is evaluated over a step grid
//! (`start`, `start + interval`, ... `<= end`) at once, as Prometheus does:
//! an instant vector becomes a list of [`StepSeries`] whose points sit on grid
//! timestamps. Instant queries are a grid with one step.
//!
//! Native histogram points live in a second, parallel list (`hists`), as in
//! Prometheus, so the float path stays as cheap as it was; a series has at
//! most one point (float or histogram) per step.

use std::collections::HashMap;

use crate::model::{HistogramSample, Labels, Sample};

use super::value::QueryError;

/// The evaluation timestamps of one evaluator: `start, start+interval, .. <= end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Grid {
    pub start: i64,
    pub end: i64,
    pub interval: i64,
}

impl Grid {
    /// A single-step grid (instant evaluation).
    pub fn instant(t: i64) -> Self {
        Grid {
            start: t,
            end: t,
            interval: 1,
        }
    }

    /// Number of steps; 0 when `end < start`.
    pub fn steps(&self) -> usize {
        if self.end < self.start || self.interval <= 0 {
            return 0;
        }
        let n = (self.end as i128 - self.start as i128) / self.interval as i128 + 1;
        usize::try_from(n).unwrap_or(usize::MAX)
    }

    pub fn ts(&self, i: usize) -> i64 {
        self.start + self.interval * i as i64
    }

    /// The step index of a grid timestamp.
    pub fn index_of(&self, t: i64) -> usize {
        ((t - self.start) / self.interval.max(1)) as usize
    }

    pub fn timestamps(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.steps()).map(move |i| self.ts(i))
    }
}

/// One output series of an instant-vector expression evaluated over a grid.
/// `drop_name` implements Prometheus' delayed `__name__` removal: the name
/// stays visible to later label functions and is removed at the very end.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StepSeries {
    pub labels: Labels,
    pub drop_name: bool,
    pub floats: Vec<Sample>,
    /// Native histogram points, sorted by time.
    pub hists: Vec<HistogramSample>,
}

impl StepSeries {
    pub fn new(labels: Labels, drop_name: bool) -> Self {
        StepSeries {
            labels,
            drop_name,
            floats: Vec::new(),
            hists: Vec::new(),
        }
    }

    /// A series of float points.
    pub fn with_floats(labels: Labels, drop_name: bool, floats: Vec<Sample>) -> Self {
        StepSeries {
            labels,
            drop_name,
            floats,
            hists: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.floats.is_empty() && self.hists.is_empty()
    }
}

/// How many samples a histogram point counts as against the sample limit
/// (Prometheus weighs histograms by size; one bucket pair per sample).
pub(crate) fn hist_weight(h: &HistogramSample) -> usize {
    1 + (h.h.positive_buckets.len() + h.h.negative_buckets.len()) / 2
}

/// The value of an evaluated sub-expression.
#[derive(Debug)]
pub(crate) enum Evaluated {
    /// One value per grid step.
    Scalar(Vec<f64>),
    String(String),
    /// An instant vector at every step.
    Vector(Vec<StepSeries>),
    /// A range vector (raw points); only produced for instant evaluation.
    Matrix(Vec<StepSeries>),
}

impl Evaluated {
    /// Points held by this value (for the sample limit).
    pub fn points(&self) -> usize {
        match self {
            Evaluated::Scalar(v) => v.len(),
            Evaluated::String(_) => 0,
            Evaluated::Vector(s) | Evaluated::Matrix(s) => total_points(s),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Evaluated::Scalar(_) => "scalar",
            Evaluated::String(_) => "string",
            Evaluated::Vector(_) => "instant vector",
            Evaluated::Matrix(_) => "range vector",
        }
    }
}

pub(crate) fn total_points(series: &[StepSeries]) -> usize {
    series
        .iter()
        .map(|s| s.floats.len() + s.hists.iter().map(hist_weight).sum::<usize>())
        .sum()
}

/// Walks a list of step series grid step by grid step, yielding the
/// `(series index, value)` pairs present at each step. Steps must be visited
/// in increasing order.
pub(crate) struct StepCursor<'a> {
    series: &'a [StepSeries],
    pos: Vec<usize>,
}

impl<'a> StepCursor<'a> {
    pub fn new(series: &'a [StepSeries]) -> Self {
        StepCursor {
            series,
            pos: vec![0; series.len()],
        }
    }

    /// Fills `out` with the samples present at `ts`.
    pub fn at(&mut self, ts: i64, out: &mut Vec<(usize, f64)>) {
        out.clear();
        for (i, s) in self.series.iter().enumerate() {
            let p = &mut self.pos[i];
            while *p < s.floats.len() && s.floats[*p].t < ts {
                *p += 1;
            }
            if *p < s.floats.len() && s.floats[*p].t == ts {
                out.push((i, s.floats[*p].v));
                *p += 1;
            }
        }
    }
}

/// Collects output points into series identified by their label set, the way
/// Prometheus assembles a range evaluation: two samples with the same labels
/// at the same step are an error.
#[derive(Default)]
pub(crate) struct OutputBuilder {
    index: HashMap<Labels, usize>,
    series: Vec<StepSeries>,
}

pub(crate) const DUPLICATE_LABELSET: &str = "vector cannot contain metrics with the same labelset";

impl OutputBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a point; series are created in first-seen order.
    pub fn push(
        &mut self,
        labels: &Labels,
        drop_name: bool,
        t: i64,
        v: f64,
    ) -> Result<(), QueryError> {
        let slot = self.slot(labels);
        self.push_to(slot, drop_name, t, v)
    }

    /// The index of the output series with these labels (created if new),
    /// for callers that push to the same series repeatedly.
    pub fn slot(&mut self, labels: &Labels) -> usize {
        match self.index.get(labels) {
            Some(&i) => i,
            None => {
                self.series.push(StepSeries::new(labels.clone(), false));
                self.index.insert(labels.clone(), self.series.len() - 1);
                self.series.len() - 1
            }
        }
    }

    /// Adds a point to the series `slot` (from [`OutputBuilder::slot`]).
    pub fn push_to(
        &mut self,
        slot: usize,
        drop_name: bool,
        t: i64,
        v: f64,
    ) -> Result<(), QueryError> {
        let s = &mut self.series[slot];
        if s.floats.last().is_some_and(|p| p.t == t) || s.hists.last().is_some_and(|p| p.t == t) {
            return Err(QueryError::exec(DUPLICATE_LABELSET));
        }
        s.drop_name |= drop_name;
        s.floats.push(Sample::new(t, v));
        Ok(())
    }

    /// Adds a histogram point to the series `slot`.
    pub fn push_hist_to(
        &mut self,
        slot: usize,
        drop_name: bool,
        t: i64,
        h: Box<crate::model::FloatHistogram>,
    ) -> Result<(), QueryError> {
        let s = &mut self.series[slot];
        if s.hists.last().is_some_and(|p| p.t == t) || s.floats.last().is_some_and(|p| p.t == t) {
            return Err(QueryError::exec(DUPLICATE_LABELSET));
        }
        s.drop_name |= drop_name;
        s.hists.push(HistogramSample { t, h });
        Ok(())
    }

    /// The collected series, without those that never got a point.
    pub fn finish(self) -> Vec<StepSeries> {
        self.series.into_iter().filter(|s| !s.is_empty()).collect()
    }
}

/// Merges series that share a label set (after label rewriting or name
/// dropping). Overlapping timestamps are an error.
pub(crate) fn merge_same_labelset(series: Vec<StepSeries>) -> Result<Vec<StepSeries>, QueryError> {
    if series.len() <= 1 {
        return Ok(series);
    }
    let mut index: HashMap<Labels, usize> = HashMap::with_capacity(series.len());
    let mut out: Vec<StepSeries> = Vec::with_capacity(series.len());
    let mut merged_any = false;
    for s in series {
        match index.get(&s.labels) {
            Some(&i) => {
                let target = &mut out[i];
                target.floats.extend(s.floats);
                target.hists.extend(s.hists);
                target.drop_name |= s.drop_name;
                merged_any = true;
            }
            None => {
                index.insert(s.labels.clone(), out.len());
                out.push(s);
            }
        }
    }
    if merged_any {
        for s in &mut out {
            s.floats.sort_by_key(|p| p.t);
            s.hists.sort_by_key(|p| p.t);
            let float_dup = s.floats.windows(2).any(|w| w[0].t == w[1].t);
            let hist_dup = s.hists.windows(2).any(|w| w[0].t == w[1].t);
            let cross = !s.hists.is_empty()
                && s.floats
                    .iter()
                    .any(|f| s.hists.binary_search_by_key(&f.t, |h| h.t).is_ok());
            if float_dup || hist_dup || cross {
                return Err(QueryError::exec(DUPLICATE_LABELSET));
            }
        }
    }
    Ok(out)
}
