//! Recording rules over the demo's history: Cairn evaluates recording rules
//! only from the moment it runs them, so panels built on them would start
//! empty although the raw history is there (Prometheus has the same gap and
//! fills it with `promtool tsdb create-blocks-from rules`). With
//! `--record-rules`, the demo evaluates the files' recording rules through
//! Cairn's own query API at points of the history it has just written, and
//! writes the results back by remote write, group by group and rule by rule
//! as the rule manager would.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::demo::registry::{Point, SeriesKey};
use crate::demo::send::{SendError, Target};
use crate::model::STALE_NAN_BITS;
use crate::rules::file::{parse_rule_file, QueryLanguage, RuleKind};

/// One recording rule: what it records, from what, with which labels
/// (the group's, overridden by the rule's).
#[derive(Clone, Debug, PartialEq)]
pub struct RecordingRule {
    pub record: String,
    pub expr: String,
    pub labels: BTreeMap<String, String>,
    /// The group's `query_offset`: evaluated that much earlier.
    pub query_offset: Duration,
}

/// The recording rules of the files, in file, group and rule order.
/// Alerting rules and LogQL groups are left to Cairn.
pub fn load(paths: &[std::path::PathBuf]) -> Result<Vec<RecordingRule>, String> {
    let mut out = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        let content = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
        let file = parse_rule_file(&name, &content, QueryLanguage::PromQL).map_err(|errs| {
            errs.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        })?;
        for group in file.groups {
            if group.language != QueryLanguage::PromQL {
                continue;
            }
            for rule in group.rules {
                if let RuleKind::Record(record) = &rule.kind {
                    let mut labels = group.labels.clone();
                    labels.extend(rule.labels.clone());
                    out.push(RecordingRule {
                        record: record.clone(),
                        expr: rule.expr.clone(),
                        labels,
                        query_offset: group.query_offset.unwrap_or_default(),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The samples a rule records from one instant query answer.
pub fn recorded_points(rule: &RecordingRule, answer: &serde_json::Value) -> Vec<Point> {
    let data = &answer["data"];
    let mut out = Vec::new();
    let mut push = |metric: Option<&serde_json::Map<String, serde_json::Value>>, v: &str| {
        let Ok(value) = v.parse::<f64>() else {
            return;
        };
        let mut labels: BTreeMap<String, String> = metric
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.as_str() != "__name__")
            .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
            .collect();
        // As the rule manager: rule labels override, an empty value removes.
        for (k, v) in &rule.labels {
            if v.is_empty() {
                labels.remove(k);
            } else {
                labels.insert(k.clone(), v.clone());
            }
        }
        labels.insert("__name__".into(), rule.record.clone());
        out.push(Point {
            labels: labels.into_iter().collect(),
            value,
            exemplar: None,
        });
    };
    match data["resultType"].as_str() {
        Some("vector") => {
            for s in data["result"].as_array().into_iter().flatten() {
                if let Some(v) = s["value"][1].as_str() {
                    push(s["metric"].as_object(), v);
                }
            }
        }
        Some("scalar") => {
            if let Some(v) = data["result"][1].as_str() {
                push(None, v);
            }
        }
        _ => {}
    }
    out
}

/// What recording one point of history did.
#[derive(Default, Debug, Clone, Copy)]
pub struct RecordOutcome {
    pub samples: u64,
    pub requests: u64,
    /// Writes Cairn refused in part because its own rule evaluation had
    /// already recorded a later sample (the last minutes of history); the
    /// rest of such a write is stored.
    pub already_recorded: u64,
}

/// Records rules over history, one point in time after the other, keeping
/// what each rule wrote last so that series which vanish get a staleness
/// marker, as the rule manager writes them.
#[derive(Default)]
pub struct Recorder {
    previous: Vec<BTreeSet<SeriesKey>>,
}

impl Recorder {
    /// Evaluates every rule at `t_ms` (less its group's `query_offset`) in
    /// order, writing each result before the next rule runs (later rules
    /// may read earlier ones). A rule whose result has two series with the
    /// same labels is skipped at that time, as Cairn fails it.
    pub async fn record_at(
        &mut self,
        target: &Target,
        rules: &[RecordingRule],
        t_ms: i64,
    ) -> Result<RecordOutcome, SendError> {
        self.previous.resize_with(rules.len(), BTreeSet::new);
        let mut outcome = RecordOutcome::default();
        for (i, rule) in rules.iter().enumerate() {
            let at = t_ms - rule.query_offset.as_millis() as i64;
            let answer = target
                .instant_query(&rule.expr, at)
                .await
                .map_err(|e| SendError(format!("recording rule {}: {}", rule.record, e.0)))?;
            outcome.requests += 1;
            let mut points = recorded_points(rule, &answer);
            let now: BTreeSet<SeriesKey> = points.iter().map(|p| p.labels.clone()).collect();
            if now.len() < points.len() {
                continue;
            }
            for gone in self.previous[i].difference(&now) {
                points.push(Point {
                    labels: gone.clone(),
                    value: f64::from_bits(STALE_NAN_BITS),
                    exemplar: None,
                });
            }
            self.previous[i] = now;
            if points.is_empty() {
                continue;
            }
            outcome.requests += 1;
            match target.remote_write(&points, at).await {
                Ok(()) => outcome.samples += points.len() as u64,
                Err(e) if e.only_out_of_order() => outcome.already_recorded += 1,
                Err(e) => {
                    return Err(SendError(format!(
                        "recording rule {}: {}",
                        rule.record, e.0
                    )))
                }
            }
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_recording_rules_with_group_and_rule_labels() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("r.yaml");
        std::fs::write(
            &path,
            "groups:\n  - name: g\n    labels: {team: a, tier: x}\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n        labels: {tier: y}\n      - alert: Down\n        expr: up == 0\n",
        )
        .expect("write");
        let rules = load(&[path]).expect("load");
        assert_eq!(
            rules,
            vec![RecordingRule {
                record: "job:up:sum".into(),
                expr: "sum by (job) (up)".into(),
                labels: BTreeMap::from([
                    ("team".to_string(), "a".to_string()),
                    ("tier".to_string(), "y".to_string())
                ]),
                query_offset: Duration::ZERO,
            }]
        );
        assert!(load(&[dir.path().join("missing.yaml")]).is_err());
    }

    #[test]
    fn points_take_the_record_name_and_rule_labels() {
        let rule = RecordingRule {
            record: "job:up:sum".into(),
            expr: String::new(),
            labels: BTreeMap::from([
                ("team".to_string(), "a".to_string()),
                ("job".to_string(), String::new()),
            ]),
            query_offset: Duration::ZERO,
        };
        let answer = serde_json::json!({"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"up","job":"x"},"value":[1.5,"3"]},
            {"metric":{"job":"y"},"value":[1.5,"NaN"]}
        ]}});
        let pts = recorded_points(&rule, &answer);
        assert_eq!(pts.len(), 2);
        assert_eq!(
            pts[0].labels,
            vec![
                ("__name__".to_string(), "job:up:sum".to_string()),
                ("team".to_string(), "a".to_string()),
            ],
            "an empty rule label removes the label"
        );
        assert_eq!(pts[0].value, 3.0);
        assert!(pts[1].value.is_nan());
    }
}
