//! The JSON body of `POST /api/v2/alerts`: an array of Alertmanager's
//! `postableAlert` (`labels`, `annotations` when there are any, `startsAt`,
//! `endsAt` as RFC 3339 with milliseconds in UTC, `generatorURL` when set),
//! as Prometheus' notifier encodes it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::PostableAlert;
use crate::calendar::format_date_time;

#[derive(Serialize)]
struct Wire<'a> {
    labels: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "endsAt")]
    ends_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "str::is_empty")]
    generator_url: &'a str,
}

/// The request body for a batch of alerts.
pub(super) fn encode(alerts: &[PostableAlert]) -> Result<Vec<u8>, serde_json::Error> {
    let wire: Vec<Wire<'_>> = alerts
        .iter()
        .map(|a| Wire {
            labels: &a.labels,
            annotations: &a.annotations,
            starts_at: rfc3339_millis(a.starts_at_ms),
            ends_at: rfc3339_millis(a.ends_at_ms),
            generator_url: &a.generator_url,
        })
        .collect();
    serde_json::to_vec(&wire)
}

/// Milliseconds since the epoch as `2006-01-02T15:04:05.000Z` (Go's
/// `strfmt.DateTime`, always three fractional digits), in UTC.
pub(super) fn rfc3339_millis(ms: i64) -> String {
    format!(
        "{}.{:03}Z",
        format_date_time(ms.div_euclid(1000)),
        ms.rem_euclid(1000)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn times_keep_three_fraction_digits() {
        assert_eq!(rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            rfc3339_millis(1_700_000_000_500),
            "2023-11-14T22:13:20.500Z"
        );
        assert_eq!(
            rfc3339_millis(1_700_000_000_007),
            "2023-11-14T22:13:20.007Z"
        );
        assert_eq!(rfc3339_millis(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn body_shape_omits_empty_annotations_and_generator_url() {
        let alerts = vec![
            PostableAlert {
                labels: map(&[("alertname", "A"), ("severity", "page")]),
                annotations: map(&[("summary", "s \"q\"")]),
                starts_at_ms: 1_700_000_000_000,
                ends_at_ms: 1_700_000_240_000,
                generator_url: "http://cairn/graph?g0.expr=up&g0.tab=1".into(),
            },
            PostableAlert {
                labels: map(&[("alertname", "B")]),
                annotations: BTreeMap::new(),
                starts_at_ms: 1_700_000_000_123,
                ends_at_ms: 1_700_000_060_000,
                generator_url: String::new(),
            },
        ];
        let body = String::from_utf8(encode(&alerts).unwrap()).unwrap();
        assert_eq!(
            body,
            concat!(
                r#"[{"labels":{"alertname":"A","severity":"page"},"annotations":{"summary":"s \"q\""},"#,
                r#""startsAt":"2023-11-14T22:13:20.000Z","endsAt":"2023-11-14T22:17:20.000Z","#,
                r#""generatorURL":"http://cairn/graph?g0.expr=up&g0.tab=1"},"#,
                r#"{"labels":{"alertname":"B"},"startsAt":"2023-11-14T22:13:20.123Z","endsAt":"2023-11-14T22:14:20.000Z"}]"#
            )
        );
        assert_eq!(encode(&[]).unwrap(), b"[]");
    }
}
