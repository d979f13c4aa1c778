//! JSON of rule groups, rules and alerts in Prometheus' shapes
//! (`web/api/v1/api.go`: `RuleGroup`, `AlertingRule`, `RecordingRule`,
//! `Alert`): times as Go marshals `time.Time` (RFC 3339 with the fraction's
//! trailing zeros cut, the zero time when never evaluated), durations as
//! seconds, alert values as `strconv.FormatFloat(v, 'e', -1, 64)`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::calendar::rfc3339_nano;
use crate::rules::view::{AlertView, GroupView, RuleView};

/// Go's zero `time.Time`, what Prometheus shows for a group or rule that
/// never ran.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// One group, with its (already filtered and rendered) rules.
pub fn group(g: &GroupView, rules: Vec<Value>) -> Value {
    json!({
        "name": g.name,
        "file": g.file,
        "rules": rules,
        "interval": seconds(g.interval_s),
        "limit": g.limit,
        "evaluationTime": seconds(g.evaluation_time_s),
        "lastEvaluation": time(g.last_evaluation_ms),
    })
}

/// One rule. `exclude_alerts` renders an alerting rule's `alerts` as null,
/// as Prometheus does for `exclude_alerts=true`.
pub fn rule(r: &RuleView, exclude_alerts: bool) -> Value {
    let c = r.common();
    let mut m = Map::new();
    m.insert("name".into(), json!(c.name));
    m.insert("query".into(), json!(c.query));
    m.insert("labels".into(), labels(&c.labels));
    m.insert("health".into(), json!(c.health.as_str()));
    if !c.last_error.is_empty() {
        m.insert("lastError".into(), json!(c.last_error));
    }
    m.insert("evaluationTime".into(), seconds(c.evaluation_time_s));
    m.insert("lastEvaluation".into(), json!(time(c.last_evaluation_ms)));
    match r {
        RuleView::Recording(_) => {
            m.insert("type".into(), json!("recording"));
        }
        RuleView::Alerting {
            duration_s,
            keep_firing_for_s,
            annotations,
            state,
            alerts,
            ..
        } => {
            m.insert("type".into(), json!("alerting"));
            m.insert("state".into(), json!(state.as_str()));
            m.insert("duration".into(), seconds(*duration_s));
            m.insert("keepFiringFor".into(), seconds(*keep_firing_for_s));
            m.insert("annotations".into(), labels(annotations));
            let a = if exclude_alerts {
                Value::Null
            } else {
                Value::Array(alerts.iter().map(alert).collect())
            };
            m.insert("alerts".into(), a);
        }
    }
    Value::Object(m)
}

/// One pending or firing alert.
pub fn alert(a: &AlertView) -> Value {
    let mut m = Map::new();
    m.insert("labels".into(), labels(&a.labels));
    m.insert("annotations".into(), labels(&a.annotations));
    m.insert("state".into(), json!(a.state.as_str()));
    m.insert("activeAt".into(), json!(time(Some(a.active_at_ms))));
    if let Some(k) = a.keep_firing_since_ms {
        m.insert("keepFiringSince".into(), json!(time(Some(k))));
    }
    m.insert("value".into(), json!(go_float_e(a.value)));
    Value::Object(m)
}

fn labels(l: &BTreeMap<String, String>) -> Value {
    Value::Object(
        l.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// A float64 as Go's `encoding/json` writes it as closely as a JSON value
/// can: whole numbers as integers (`60`, not `60.0`).
pub fn seconds(v: f64) -> Value {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
        json!(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

/// `time.Time` as Go marshals it (RFC 3339 with nanoseconds, trailing
/// zeros cut), in UTC; `None` is the zero time.
pub fn time(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return ZERO_TIME.to_string();
    };
    rfc3339_nano(ms.saturating_mul(1_000_000))
}

/// `strconv.FormatFloat(v, 'e', -1, 64)`: the shortest digits that read
/// back as `v`, in scientific notation with a signed, at least two-digit
/// exponent (`9.5e-01`, `1e+02`); `NaN`, `+Inf`, `-Inf`.
pub fn go_float_e(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    // Rust's `{:e}` is also shortest round-trip, with a bare exponent.
    let s = format!("{v:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_formats_them_with_e() {
        let cases = [
            (0.0, "0e+00"),
            (-0.0, "-0e+00"),
            (1.0, "1e+00"),
            (0.95, "9.5e-01"),
            (100.0, "1e+02"),
            (12345.678, "1.2345678e+04"),
            (1e-7, "1e-07"),
            (1.5e300, "1.5e+300"),
            (-2.5, "-2.5e+00"),
            (0.1 + 0.2, "3.0000000000000004e-01"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (v, want) in cases {
            assert_eq!(go_float_e(v), want, "{v}");
        }
    }

    #[test]
    fn times_as_go_marshals_them() {
        assert_eq!(time(None), "0001-01-01T00:00:00Z");
        assert_eq!(time(Some(1_700_000_000_000)), "2023-11-14T22:13:20Z");
        assert_eq!(time(Some(1_700_000_000_500)), "2023-11-14T22:13:20.5Z");
        assert_eq!(time(Some(1_700_000_000_120)), "2023-11-14T22:13:20.12Z");
        assert_eq!(time(Some(1_700_000_000_007)), "2023-11-14T22:13:20.007Z");
    }

    #[test]
    fn seconds_are_integers_when_whole() {
        assert_eq!(seconds(60.0).to_string(), "60");
        assert_eq!(seconds(0.25).to_string(), "0.25");
        assert_eq!(seconds(f64::NAN), Value::Null);
    }
}
