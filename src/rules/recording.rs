//! One recording rule: names its expression's result (`__name__` set to
//! the rule's `record`, rule labels applied) so the group writes it to the
//! TSDB. Semantics of Prometheus' `rules/recording.go`.

use std::collections::BTreeMap;

use parking_lot::Mutex;

use crate::model::labels::METRIC_NAME;
use crate::model::Labels;

use super::view::{EvalRecord, RuleView};

/// A recording rule.
#[derive(Debug)]
pub struct RecordingRule {
    pub name: String,
    pub expr: String,
    /// Fixed labels (group labels merged in, rule labels winning).
    pub labels: BTreeMap<String, String>,
    state: Mutex<EvalRecord>,
}

impl RecordingRule {
    pub fn new(name: String, expr: String, labels: BTreeMap<String, String>) -> Self {
        RecordingRule {
            name,
            expr,
            labels,
            state: Mutex::new(EvalRecord::default()),
        }
    }

    /// Renames the query result and applies the rule's labels. Fails if two
    /// series end up with the same labels, or if there are more than
    /// `limit` (> 0) series.
    pub fn eval(
        &self,
        samples: Vec<(Labels, f64)>,
        limit: usize,
    ) -> Result<Vec<(Labels, f64)>, String> {
        let mut out = Vec::with_capacity(samples.len());
        for (mut labels, v) in samples {
            labels.set(METRIC_NAME, &self.name);
            for (k, val) in &self.labels {
                labels.set(k, val);
            }
            out.push((labels, v));
        }
        let mut seen: Vec<&Labels> = out.iter().map(|(l, _)| l).collect();
        seen.sort();
        if seen.windows(2).any(|w| w[0] == w[1]) {
            return Err(
                "vector contains metrics with the same labelset after applying rule labels".into(),
            );
        }
        if limit > 0 && out.len() > limit {
            return Err(format!(
                "exceeded limit of {limit} with {} series",
                out.len()
            ));
        }
        Ok(out)
    }

    /// Records the outcome of an evaluation.
    pub fn set_health(&self, ts_ms: i64, took_s: f64, err: Option<String>) {
        self.state.lock().record(ts_ms, took_s, err);
    }

    /// Takes over the evaluation state of the previous version (reload).
    pub fn copy_state_from(&self, old: &RecordingRule) {
        let o = old.state.lock().clone();
        *self.state.lock() = o;
    }

    /// A snapshot for the API.
    pub fn view(&self, config_error: Option<&str>) -> RuleView {
        RuleView::Recording(self.state.lock().common(
            &self.name,
            &self.expr,
            &self.labels,
            config_error,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_and_labels_the_result() {
        let r = RecordingRule::new(
            "job:up:sum".into(),
            "sum by (job) (up)".into(),
            BTreeMap::from([("team".to_string(), "platform".to_string())]),
        );
        let out = r
            .eval(
                vec![
                    (Labels::from_pairs([("job", "api")]), 3.0),
                    (Labels::from_pairs([("job", "db"), ("team", "x")]), 1.0),
                ],
                0,
            )
            .expect("valid");
        assert_eq!(
            out,
            vec![
                (
                    Labels::from_pairs([
                        ("__name__", "job:up:sum"),
                        ("job", "api"),
                        ("team", "platform")
                    ]),
                    3.0
                ),
                (
                    Labels::from_pairs([
                        ("__name__", "job:up:sum"),
                        ("job", "db"),
                        ("team", "platform")
                    ]),
                    1.0
                ),
            ]
        );
    }

    #[test]
    fn duplicate_output_and_limit_fail() {
        let r = RecordingRule::new("x".into(), "a or b".into(), BTreeMap::new());
        let dup = vec![
            (Labels::from_pairs([("__name__", "a"), ("j", "1")]), 1.0),
            (Labels::from_pairs([("__name__", "b"), ("j", "1")]), 1.0),
        ];
        assert_eq!(
            r.eval(dup, 0).unwrap_err(),
            "vector contains metrics with the same labelset after applying rule labels"
        );
        let two = vec![
            (Labels::from_pairs([("j", "1")]), 1.0),
            (Labels::from_pairs([("j", "2")]), 1.0),
        ];
        assert_eq!(
            r.eval(two, 1).unwrap_err(),
            "exceeded limit of 1 with 2 series"
        );
    }
}
