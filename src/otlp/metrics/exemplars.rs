//! OTLP exemplars to Prometheus exemplars: `trace_id` and `span_id` as hex
//! labels, then the filtered attributes unless they would push the label
//! set past OpenMetrics' 128 characters (as Prometheus does).

use opentelemetry_proto::tonic::metrics::v1::{exemplar, Exemplar as OtlpExemplar};

use super::attrs::value_string;
use super::ns_to_ms;
use super::series::Problems;
use crate::metrics::exemplars::Exemplar;
use crate::model::Labels;
use crate::traces::model::trace_id_hex;

/// OpenMetrics' limit on the characters of an exemplar's label set.
const MAX_EXEMPLAR_RUNES: usize = 128;

/// Converts exemplars; one without a timestamp gets the data point's
/// (`point_t`, ms). Exemplars without a value are dropped (and noted).
pub fn convert(exemplars: &[OtlpExemplar], point_t: i64, problems: &mut Problems) -> Vec<Exemplar> {
    let mut out = Vec::with_capacity(exemplars.len());
    for e in exemplars {
        let value = match e.value {
            Some(exemplar::Value::AsDouble(v)) => v,
            Some(exemplar::Value::AsInt(v)) => v as f64,
            None => {
                problems.note(
                    "exemplar_value",
                    "dropped an exemplar without a value".into(),
                );
                continue;
            }
        };
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut runes = 0usize;
        if e.trace_id.iter().any(|b| *b != 0) {
            let v = trace_id_hex(&e.trace_id);
            runes += "trace_id".len() + v.len();
            pairs.push(("trace_id".into(), v));
        }
        if e.span_id.iter().any(|b| *b != 0) {
            let v = trace_id_hex(&e.span_id);
            runes += "span_id".len() + v.len();
            pairs.push(("span_id".into(), v));
        }
        let attrs: Vec<(String, String)> = e
            .filtered_attributes
            .iter()
            .map(|kv| (kv.key.clone(), value_string(kv.value.as_ref())))
            .collect();
        runes += attrs
            .iter()
            .map(|(k, v)| k.chars().count() + v.chars().count())
            .sum::<usize>();
        if runes <= MAX_EXEMPLAR_RUNES {
            pairs.extend(attrs);
        }
        let t = if e.time_unix_nano == 0 {
            point_t
        } else {
            ns_to_ms(e.time_unix_nano)
        };
        out.push(Exemplar {
            labels: Labels::from_pairs(pairs),
            value,
            t,
        });
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::otlp::metrics::attrs::tests::s;

    pub fn exemplar(value: f64, t_ns: u64, trace: u8) -> OtlpExemplar {
        OtlpExemplar {
            filtered_attributes: vec![s("user", "u1")],
            time_unix_nano: t_ns,
            span_id: vec![0xab; 8],
            trace_id: vec![trace; 16],
            value: Some(exemplar::Value::AsDouble(value)),
        }
    }

    #[test]
    fn trace_and_span_ids_become_hex_labels() {
        let mut p = Problems::default();
        let got = convert(&[exemplar(0.25, 7_000_000, 0x01)], 99, &mut p);
        assert_eq!(
            got,
            vec![Exemplar {
                labels: Labels::from_pairs([
                    ("span_id", "abababababababab"),
                    ("trace_id", "01010101010101010101010101010101"),
                    ("user", "u1"),
                ]),
                value: 0.25,
                t: 7,
            }]
        );
        assert!(p.messages().is_empty());
    }

    #[test]
    fn long_attributes_are_left_out_and_missing_values_dropped() {
        let mut p = Problems::default();
        let long = OtlpExemplar {
            filtered_attributes: vec![s("note", &"x".repeat(100))],
            time_unix_nano: 0,
            span_id: vec![],
            trace_id: vec![0x02; 16],
            value: Some(exemplar::Value::AsInt(3)),
        };
        let none = OtlpExemplar {
            value: None,
            ..long.clone()
        };
        let got = convert(&[long, none], 42, &mut p);
        assert_eq!(
            got,
            vec![Exemplar {
                labels: Labels::from_pairs([("trace_id", "02020202020202020202020202020202")]),
                value: 3.0,
                t: 42,
            }]
        );
        assert_eq!(p.rejected, 0);
        assert_eq!(
            p.messages(),
            vec!["dropped an exemplar without a value".to_string()]
        );
    }
}
