//! OTLP attributes as label values and label sets: `AnyValue` to the string
//! the OpenTelemetry Collector's `AsString` gives (scalars as text, bytes as
//! base64, arrays and maps as JSON), and attribute lists to sanitized labels
//! with colliding names joined by `;` in key order, as Prometheus does.

use std::collections::BTreeMap;

use base64::Engine;
use opentelemetry_proto::tonic::common::v1::{any_value::Value, AnyValue, KeyValue};

use super::naming::label_name;

/// A double as JavaScript (ES6) prints it, which is what the Collector's
/// `AsString` produces: shortest round-trip digits, exponent form outside
/// `[1e-6, 1e21)`.
fn double_string(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let a = f.abs();
    if a == 0.0 || (1e-6..1e21).contains(&a) {
        return format!("{f}");
    }
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => s,
    }
}

fn to_json(v: Option<&AnyValue>) -> serde_json::Value {
    use serde_json::Value as J;
    match v.and_then(|v| v.value.as_ref()) {
        None | Some(Value::StringValueStrindex(_)) => J::Null,
        Some(Value::StringValue(s)) => J::String(s.clone()),
        Some(Value::BoolValue(b)) => J::Bool(*b),
        Some(Value::IntValue(i)) => J::from(*i),
        Some(Value::DoubleValue(f)) => {
            serde_json::Number::from_f64(*f).map_or_else(|| J::String(double_string(*f)), J::Number)
        }
        Some(Value::BytesValue(b)) => {
            J::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Some(Value::ArrayValue(a)) => J::Array(a.values.iter().map(|x| to_json(Some(x))).collect()),
        Some(Value::KvlistValue(kv)) => J::Object(
            kv.values
                .iter()
                .map(|x| (x.key.clone(), to_json(x.value.as_ref())))
                .collect(),
        ),
    }
}

/// The label value of an attribute value.
pub fn value_string(v: Option<&AnyValue>) -> String {
    match v.and_then(|v| v.value.as_ref()) {
        None | Some(Value::StringValueStrindex(_)) => String::new(),
        Some(Value::StringValue(s)) => s.clone(),
        Some(Value::BoolValue(b)) => b.to_string(),
        Some(Value::IntValue(i)) => i.to_string(),
        Some(Value::DoubleValue(f)) => double_string(*f),
        Some(Value::BytesValue(b)) => base64::engine::general_purpose::STANDARD.encode(b),
        Some(Value::ArrayValue(_)) | Some(Value::KvlistValue(_)) => to_json(v).to_string(),
    }
}

/// The first attribute with this key, as a string.
pub fn get<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a KeyValue> {
    attrs.iter().find(|kv| kv.key == key)
}

/// Attributes (minus `ignore` and `__name__`) as sanitized labels. Keys
/// that sanitize to the same name are joined with `;` in key order; an
/// empty value never wins over a non-empty one.
pub fn to_labels(attrs: &[KeyValue], ignore: &[&str]) -> Result<BTreeMap<String, String>, String> {
    let mut sorted: Vec<&KeyValue> = attrs
        .iter()
        .filter(|kv| kv.key != "__name__" && !ignore.contains(&kv.key.as_str()))
        .collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for kv in sorted {
        let name = label_name(&kv.key)?;
        let value = value_string(kv.value.as_ref());
        match out.get_mut(&name) {
            Some(existing) if !existing.is_empty() => {
                existing.push(';');
                existing.push_str(&value);
            }
            _ => {
                out.insert(name, value);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use opentelemetry_proto::tonic::common::v1::{ArrayValue, KeyValueList};

    pub fn kv(key: &str, v: Value) -> KeyValue {
        KeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    pub fn s(key: &str, v: &str) -> KeyValue {
        kv(key, Value::StringValue(v.into()))
    }

    #[test]
    fn scalar_values_print_like_the_collector() {
        let cases: Vec<(Value, &str)> = vec![
            (Value::StringValue("x y".into()), "x y"),
            (Value::BoolValue(true), "true"),
            (Value::IntValue(-42), "-42"),
            (Value::DoubleValue(1.5), "1.5"),
            (Value::DoubleValue(100.0), "100"),
            (Value::DoubleValue(1e21), "1e+21"),
            (Value::DoubleValue(1.5e-7), "1.5e-7"),
            (Value::DoubleValue(0.000001), "0.000001"),
            (Value::BytesValue(vec![1, 2, 3]), "AQID"),
        ];
        for (v, want) in cases {
            let any = AnyValue { value: Some(v) };
            assert_eq!(value_string(Some(&any)), want);
        }
        assert_eq!(value_string(None), "");
    }

    #[test]
    fn arrays_and_maps_become_json() {
        let arr = AnyValue {
            value: Some(Value::ArrayValue(ArrayValue {
                values: vec![
                    AnyValue {
                        value: Some(Value::IntValue(1)),
                    },
                    AnyValue {
                        value: Some(Value::StringValue("a".into())),
                    },
                ],
            })),
        };
        assert_eq!(value_string(Some(&arr)), r#"[1,"a"]"#);
        let map = AnyValue {
            value: Some(Value::KvlistValue(KeyValueList {
                values: vec![kv("z", Value::BoolValue(false)), s("a", "b")],
            })),
        };
        assert_eq!(value_string(Some(&map)), r#"{"a":"b","z":false}"#);
    }

    #[test]
    fn colliding_names_are_joined_in_key_order() {
        let attrs = vec![
            s("k8s_pod", "second"),
            s("k8s.pod", "first"),
            s("__name__", "ignored"),
            s("drop.me", "x"),
            kv("code", Value::IntValue(200)),
        ];
        let got = to_labels(&attrs, &["drop.me"]).unwrap();
        let want: BTreeMap<String, String> = [("code", "200"), ("k8s_pod", "first;second")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn an_unusable_key_is_an_error() {
        assert!(to_labels(&[s("..", "v")], &[]).is_err());
    }
}
