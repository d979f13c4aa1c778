//! In-memory exemplar storage per tenant: a bounded ring buffer, as
//! Prometheus keeps exemplars (`max_exemplars`, oldest overwritten first).

use std::collections::VecDeque;

use crate::model::{Labels, Matcher};

#[derive(Clone, Debug, PartialEq)]
pub struct Exemplar {
    pub labels: Labels,
    pub value: f64,
    pub t: i64,
}

/// Exemplars of one series, as the query API returns them.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesExemplars {
    pub series_labels: Labels,
    pub exemplars: Vec<Exemplar>,
}

pub struct ExemplarStore {
    cap: usize,
    ring: VecDeque<(Labels, Exemplar)>,
}

impl ExemplarStore {
    pub fn new(cap: usize) -> Self {
        ExemplarStore {
            cap,
            ring: VecDeque::new(),
        }
    }

    /// Adds an exemplar unless it repeats the series' newest one.
    pub fn add(&mut self, series: &Labels, e: Exemplar) -> bool {
        if self.cap == 0 {
            return false;
        }
        if self
            .ring
            .iter()
            .rev()
            .take(64)
            .any(|(s, x)| s == series && x.t == e.t && x.labels == e.labels)
        {
            return false;
        }
        if self.ring.len() >= self.cap {
            self.ring.pop_front();
        }
        self.ring.push_back((series.clone(), e));
        true
    }

    /// Every exemplar with its series, oldest first (checkpoints).
    pub fn all(&self) -> impl Iterator<Item = (&Labels, &Exemplar)> {
        self.ring.iter().map(|(s, e)| (s, e))
    }

    pub fn len(&self) -> usize {
        self.ring.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }

    /// Exemplars in `[mint, maxt]` of series matching any of the matcher sets.
    pub fn select(
        &self,
        matcher_sets: &[Vec<Matcher>],
        mint: i64,
        maxt: i64,
    ) -> Vec<SeriesExemplars> {
        let mut out: Vec<SeriesExemplars> = Vec::new();
        for (series, e) in &self.ring {
            if e.t < mint || e.t > maxt {
                continue;
            }
            let hit = matcher_sets.iter().any(|ms| {
                ms.iter()
                    .all(|m| m.matches(series.get(&m.name).unwrap_or("")))
            });
            if !hit {
                continue;
            }
            match out.iter_mut().find(|s| &s.series_labels == series) {
                Some(s) => s.exemplars.push(e.clone()),
                None => out.push(SeriesExemplars {
                    series_labels: series.clone(),
                    exemplars: vec![e.clone()],
                }),
            }
        }
        for s in &mut out {
            s.exemplars.sort_by_key(|e| e.t);
        }
        out.sort_by(|a, b| a.series_labels.cmp(&b.series_labels));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MatchOp;

    #[test]
    fn bounded_and_selected() {
        let mut st = ExemplarStore::new(2);
        let s = Labels::from_pairs([("__name__", "m")]);
        for t in 0..3 {
            assert!(st.add(
                &s,
                Exemplar {
                    labels: Labels::from_pairs([("trace_id", "x")]),
                    value: 1.0,
                    t
                }
            ));
        }
        assert_eq!(st.len(), 2);
        let m = vec![vec![Matcher::new(MatchOp::Equal, "__name__", "m").unwrap()]];
        let got = st.select(&m, 0, 10);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].exemplars.iter().map(|e| e.t).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert!(st.select(&m, 5, 10).is_empty());
    }
}
