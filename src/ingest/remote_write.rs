//! Prometheus remote-write receiver decoding: 1.0 (`prometheus.WriteRequest`)
//! and 2.0 (`io.prometheus.write.v2.Request` with its symbols table), snappy
//! block-compressed. Produces validated series for the TSDB and a list of
//! per-series problems; a malformed body is an error (HTTP 400).

use prost::Message;

use crate::config::Limits;
use crate::ingest::histogram_wire;
use crate::ingest::proto::{prometheus as v1, write_v2 as v2};
use crate::ingest::protowire::Wire;
use crate::metrics::exemplars::Exemplar;
use crate::metrics::walrec::MetricMetadata;
use crate::metrics::IncomingSeries;
use crate::model::labels::{is_valid_label_name, SeriesLabels, METRIC_NAME};
use crate::model::{HistogramSample, Labels, Sample};

/// Which protobuf schema a request uses, from its `Content-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// A problem that makes the whole request unacceptable.
#[derive(Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// 415: content type or encoding we do not speak.
    Unsupported(String),
    /// 400: body is not valid snappy/protobuf/symbols.
    Malformed(String),
    /// 413: decompressed body larger than allowed.
    TooLarge(String),
}

/// A decoded, validated request; label strings borrow from the body.
#[derive(Debug, Default)]
pub struct Decoded<'a> {
    pub series: Vec<IncomingSeries<'a>>,
    pub metadata: Vec<MetricMetadata>,
    /// Problems with individual series (they were dropped), naming the series.
    pub invalid: Vec<String>,
    pub invalid_samples: u64,
    /// Native histogram samples refused as invalid (counted in `invalid_samples` too).
    pub invalid_histograms: u64,
}

/// Picks the schema from `Content-Type` (and checks `Content-Encoding`).
pub fn detect_version(
    content_type: Option<&str>,
    content_encoding: Option<&str>,
) -> Result<Version, DecodeError> {
    if let Some(enc) = content_encoding {
        if !enc.trim().eq_ignore_ascii_case("snappy") {
            return Err(DecodeError::Unsupported(format!(
                "unsupported Content-Encoding {enc:?}, remote write requires snappy"
            )));
        }
    }
    let Some(ct) = content_type else {
        return Ok(Version::V1);
    };
    let mut parts = ct.split(';').map(str::trim);
    let media = parts.next().unwrap_or("");
    if !media.eq_ignore_ascii_case("application/x-protobuf") {
        return Err(DecodeError::Unsupported(format!(
            "unsupported Content-Type {ct:?}, expected application/x-protobuf"
        )));
    }
    for p in parts {
        if let Some(proto) = p.strip_prefix("proto=") {
            return match proto.trim_matches('"') {
                "prometheus.WriteRequest" => Ok(Version::V1),
                "io.prometheus.write.v2.Request" => Ok(Version::V2),
                other => Err(DecodeError::Unsupported(format!(
                    "unsupported remote write protobuf message {other:?}"
                ))),
            };
        }
    }
    Ok(Version::V1)
}

/// Snappy-decompresses a body, refusing anything that would exceed `max_len`.
pub fn decompress(body: &[u8], max_len: usize) -> Result<Vec<u8>, DecodeError> {
    let len = snap::raw::decompress_len(body)
        .map_err(|e| DecodeError::Malformed(format!("snappy: {e}")))?;
    if len > max_len {
        return Err(DecodeError::TooLarge(format!(
            "decompressed body of {len} bytes exceeds the limit of {max_len} bytes"
        )));
    }
    snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| DecodeError::Malformed(format!("snappy: {e}")))
}

/// Decodes a decompressed protobuf body.
pub fn decode<'a>(
    raw: &'a [u8],
    version: Version,
    limits: &Limits,
) -> Result<Decoded<'a>, DecodeError> {
    match version {
        Version::V1 => decode_v1(raw, limits),
        Version::V2 => decode_v2(raw, limits),
    }
}

/// Remote write 1.0, decoded by hand (no allocation per label string: they
/// are borrowed from the body) because this is the ingest hot path.
fn decode_v1<'a>(raw: &'a [u8], limits: &Limits) -> Result<Decoded<'a>, DecodeError> {
    let bad = |e: String| DecodeError::Malformed(format!("protobuf: {e}"));
    let mut out = Decoded::default();
    let mut w = Wire::new(raw);
    while !w.is_empty() {
        let (field, wire) = w.key().map_err(bad)?;
        match (field, wire) {
            (1, 2) => {
                let ts = w.bytes().map_err(bad)?;
                decode_v1_series(ts, limits, &mut out).map_err(bad)?;
            }
            (3, 2) => {
                let md = w.bytes().map_err(bad)?;
                out.metadata.push(decode_v1_metadata(md).map_err(bad)?);
            }
            _ => w.skip(wire).map_err(bad)?,
        }
    }
    Ok(out)
}

fn decode_label(buf: &[u8]) -> Result<(&str, &str), String> {
    let (mut name, mut value) = ("", "");
    let mut w = Wire::new(buf);
    while !w.is_empty() {
        let (field, wire) = w.key()?;
        match (field, wire) {
            (1, 2) => name = w.str()?,
            (2, 2) => value = w.str()?,
            _ => w.skip(wire)?,
        }
    }
    Ok((name, value))
}

fn decode_v1_series<'a>(
    buf: &'a [u8],
    limits: &Limits,
    out: &mut Decoded<'a>,
) -> Result<(), String> {
    let mut pairs: Vec<(&'a str, &'a str)> = Vec::with_capacity(8);
    let mut samples: Vec<Sample> = Vec::with_capacity(1);
    let mut exemplars: Vec<Exemplar> = Vec::new();
    let mut histograms: Vec<HistogramSample> = Vec::new();
    let mut w = Wire::new(buf);
    while !w.is_empty() {
        let (field, wire) = w.key()?;
        match (field, wire) {
            (1, 2) => pairs.push(decode_label(w.bytes()?)?),
            (2, 2) => {
                let mut sw = Wire::new(w.bytes()?);
                let (mut t, mut v) = (0i64, 0f64);
                while !sw.is_empty() {
                    let (f, wt) = sw.key()?;
                    match (f, wt) {
                        (1, 1) => v = f64::from_bits(sw.fixed64()?),
                        (2, 0) => t = sw.varint()? as i64,
                        _ => sw.skip(wt)?,
                    }
                }
                samples.push(Sample::new(t, v));
            }
            (3, 2) => {
                let mut ew = Wire::new(w.bytes()?);
                let mut e = Exemplar {
                    labels: Labels::empty(),
                    value: 0.0,
                    t: 0,
                };
                let mut el: Vec<(&str, &str)> = Vec::new();
                while !ew.is_empty() {
                    let (f, wt) = ew.key()?;
                    match (f, wt) {
                        (1, 2) => el.push(decode_label(ew.bytes()?)?),
                        (2, 1) => e.value = f64::from_bits(ew.fixed64()?),
                        (3, 0) => e.t = ew.varint()? as i64,
                        _ => ew.skip(wt)?,
                    }
                }
                e.labels =
                    Labels::from_pairs(el.into_iter().map(|(n, v)| (n.to_string(), v.to_string())));
                exemplars.push(e);
            }
            (4, 2) => {
                let h = v1::Histogram::decode(w.bytes()?).map_err(|e| format!("histogram: {e}"))?;
                match histogram_wire::from_v1(&h) {
                    Ok(s) => histograms.push(s),
                    Err(e) => note_invalid_histogram(out, &pairs, e),
                }
            }
            _ => w.skip(wire)?,
        }
    }
    match validate_labels(&mut pairs, limits) {
        Ok(()) => out.series.push(IncomingSeries {
            labels: SeriesLabels::Borrowed(pairs),
            samples,
            exemplars,
            histograms: sorted(histograms),
            created_t: None,
        }),
        Err(e) => {
            out.invalid_samples += (samples.len() + histograms.len()) as u64;
            out.invalid.push(e);
        }
    }
    Ok(())
}

/// Histogram samples sorted by time (senders send them in order; the
/// sort is a no-op then).
fn sorted(mut h: Vec<HistogramSample>) -> Vec<HistogramSample> {
    if !h.is_sorted_by_key(|s| s.t) {
        h.sort_by_key(|s| s.t);
    }
    h
}

/// Records an invalid native histogram, naming its series (the labels may
/// not be complete yet in 1.0, where histograms can precede labels).
fn note_invalid_histogram(out: &mut Decoded<'_>, pairs: &[(&str, &str)], e: String) {
    out.invalid_histograms += 1;
    out.invalid_samples += 1;
    let name = pairs
        .iter()
        .find(|(k, _)| *k == METRIC_NAME)
        .map(|(_, v)| *v)
        .unwrap_or("");
    out.invalid
        .push(format!("invalid native histogram of series {name:?}: {e}"));
}

fn decode_v1_metadata(buf: &[u8]) -> Result<MetricMetadata, String> {
    let mut md = MetricMetadata {
        metric_family: String::new(),
        kind: "unknown".into(),
        help: String::new(),
        unit: String::new(),
    };
    let mut w = Wire::new(buf);
    while !w.is_empty() {
        let (field, wire) = w.key()?;
        match (field, wire) {
            (1, 0) => {
                let t = w.varint()? as i32;
                md.kind = v1::metric_metadata::MetricType::try_from(t)
                    .map(|t| t.as_str_name().to_ascii_lowercase())
                    .unwrap_or_else(|_| "unknown".into());
            }
            (2, 2) => md.metric_family = w.str()?.to_string(),
            (4, 2) => md.help = w.str()?.to_string(),
            (5, 2) => md.unit = w.str()?.to_string(),
            _ => w.skip(wire)?,
        }
    }
    Ok(md)
}

fn symbol(symbols: &[String], r: u32) -> Result<&str, String> {
    symbols.get(r as usize).map(|s| s.as_str()).ok_or_else(|| {
        format!(
            "symbol reference {r} out of range (table has {} symbols)",
            symbols.len()
        )
    })
}

fn resolve_pairs<'a>(
    symbols: &'a [String],
    refs: &[u32],
) -> Result<Vec<(&'a str, &'a str)>, String> {
    if !refs.len().is_multiple_of(2) {
        return Err(format!("odd number of label references ({})", refs.len()));
    }
    refs.chunks(2)
        .map(|p| Ok((symbol(symbols, p[0])?, symbol(symbols, p[1])?)))
        .collect()
}

fn decode_v2<'a>(raw: &'a [u8], limits: &Limits) -> Result<Decoded<'a>, DecodeError> {
    let req =
        v2::Request::decode(raw).map_err(|e| DecodeError::Malformed(format!("protobuf: {e}")))?;
    if req.symbols.first().is_some_and(|s| !s.is_empty()) {
        return Err(DecodeError::Malformed(
            "symbols[0] must be the empty string".into(),
        ));
    }
    let symbols = &req.symbols;
    let mut out = Decoded::default();
    for ts in &req.timeseries {
        let mut pairs = resolve_pairs(symbols, &ts.labels_refs).map_err(DecodeError::Malformed)?;
        let mut histograms = Vec::with_capacity(ts.histograms.len());
        for h in &ts.histograms {
            match histogram_wire::from_v2(h) {
                Ok(s) => histograms.push(s),
                Err(e) => note_invalid_histogram(&mut out, &pairs, e),
            }
        }
        // The symbols table is request-local, so 2.0 series own their labels.
        let labels = match validate_labels(&mut pairs, limits) {
            Ok(()) => SeriesLabels::Owned(SeriesLabels::Borrowed(pairs).to_labels()),
            Err(e) => {
                out.invalid_samples += (ts.samples.len() + histograms.len()) as u64;
                out.invalid.push(e);
                continue;
            }
        };
        let mut exemplars = Vec::with_capacity(ts.exemplars.len());
        for e in &ts.exemplars {
            let p = resolve_pairs(symbols, &e.labels_refs).map_err(DecodeError::Malformed)?;
            exemplars.push(Exemplar {
                labels: Labels::from_pairs(p),
                value: e.value,
                t: e.timestamp,
            });
        }
        let samples: Vec<Sample> = ts
            .samples
            .iter()
            .map(|s| Sample::new(s.timestamp, s.value))
            .collect();
        let created_t = ts
            .samples
            .first()
            .map(|s| s.start_timestamp)
            .filter(|t| *t != 0)
            .or(ts
                .histograms
                .first()
                .map(|h| h.start_timestamp)
                .filter(|t| *t != 0))
            .or((ts.created_timestamp != 0).then_some(ts.created_timestamp));
        if let Some(md) = &ts.metadata {
            let kind = v2::metadata::MetricType::try_from(md.r#type)
                .map(|t| {
                    t.as_str_name()
                        .trim_start_matches("METRIC_TYPE_")
                        .to_ascii_lowercase()
                })
                .unwrap_or_else(|_| "unknown".into());
            let help = symbol(symbols, md.help_ref).map_err(DecodeError::Malformed)?;
            let unit = symbol(symbols, md.unit_ref).map_err(DecodeError::Malformed)?;
            if md.r#type != 0 || !help.is_empty() || !unit.is_empty() {
                if let Some(name) = labels.metric_name() {
                    let kind = if kind == "unspecified" {
                        "unknown".to_string()
                    } else {
                        kind
                    };
                    out.metadata.push(MetricMetadata {
                        metric_family: name.to_string(),
                        kind,
                        help: help.to_string(),
                        unit: unit.to_string(),
                    });
                }
            }
        }
        out.series.push(IncomingSeries {
            labels,
            samples,
            exemplars,
            histograms: sorted(histograms),
            created_t,
        });
    }
    Ok(out)
}

/// Checks a raw label list the way Prometheus does and sorts it by name
/// (dropping empty values, which mean "no label"); on error returns a
/// message naming the series.
pub fn validate_labels(pairs: &mut Vec<(&str, &str)>, limits: &Limits) -> Result<(), String> {
    let describe = |pairs: &[(&str, &str)]| {
        let body: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
        format!("{{{}}}", body.join(", "))
    };
    if pairs.is_empty() {
        return Err("series without labels".into());
    }
    if !pairs.is_sorted_by(|a, b| a.0 <= b.0) {
        pairs.sort_unstable_by(|a, b| a.0.cmp(b.0));
    }
    if let Some(w) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(format!(
            "duplicate label name {:?} in series {}",
            w[0].0,
            describe(pairs)
        ));
    }
    let mut has_name = false;
    for (n, v) in pairs.iter() {
        if !is_valid_label_name(n) {
            return Err(format!(
                "invalid label name {n:?} in series {}",
                describe(pairs)
            ));
        }
        if *n == METRIC_NAME {
            has_name = !v.is_empty();
        }
        if n.len() > limits.max_label_name_length {
            return Err(format!(
                "label name {n:?} longer than {} bytes in series {}",
                limits.max_label_name_length,
                describe(pairs)
            ));
        }
        if v.len() > limits.max_label_value_length {
            return Err(format!(
                "value of label {n:?} longer than {} bytes in series {}",
                limits.max_label_value_length,
                describe(pairs)
            ));
        }
    }
    if !has_name {
        return Err(format!("series without a metric name: {}", describe(pairs)));
    }
    pairs.retain(|(_, v)| !v.is_empty());
    if pairs.len() > limits.max_label_names_per_series {
        return Err(format!(
            "series has {} labels, more than the limit of {}: {}",
            pairs.len(),
            limits.max_label_names_per_series,
            describe(pairs)
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lim() -> Limits {
        Limits::default()
    }

    #[test]
    fn version_detection() {
        assert_eq!(detect_version(None, None).unwrap(), Version::V1);
        assert_eq!(
            detect_version(Some("application/x-protobuf"), Some("snappy")).unwrap(),
            Version::V1
        );
        assert_eq!(
            detect_version(
                Some("application/x-protobuf;proto=io.prometheus.write.v2.Request"),
                None
            )
            .unwrap(),
            Version::V2
        );
        assert!(matches!(
            detect_version(Some("application/json"), None),
            Err(DecodeError::Unsupported(_))
        ));
        assert!(matches!(
            detect_version(None, Some("gzip")),
            Err(DecodeError::Unsupported(_))
        ));
    }

    #[test]
    fn label_validation() {
        assert!(validate_labels(&mut vec![("job", "a"), ("__name__", "up")], &lim()).is_ok());
        assert!(validate_labels(
            &mut vec![("__name__", "up"), ("job", "a"), ("job", "b")],
            &lim()
        )
        .unwrap_err()
        .contains("duplicate label name \"job\""));
        assert!(
            validate_labels(&mut vec![("__name__", "up"), ("1bad", "a")], &lim())
                .unwrap_err()
                .contains("invalid label name")
        );
        assert!(validate_labels(&mut vec![("job", "a")], &lim())
            .unwrap_err()
            .contains("without a metric name"));
    }

    #[test]
    fn v1_and_v2_decode() {
        let req = v1::WriteRequest {
            timeseries: vec![
                v1::TimeSeries {
                    labels: vec![
                        v1::Label {
                            name: "__name__".into(),
                            value: "up".into(),
                        },
                        v1::Label {
                            name: "job".into(),
                            value: "a".into(),
                        },
                    ],
                    samples: vec![v1::Sample {
                        value: 1.0,
                        timestamp: 1000,
                    }],
                    ..Default::default()
                },
                v1::TimeSeries {
                    labels: vec![v1::Label {
                        name: "bad-name".into(),
                        value: "x".into(),
                    }],
                    samples: vec![v1::Sample {
                        value: 1.0,
                        timestamp: 1000,
                    }],
                    ..Default::default()
                },
            ],
            metadata: vec![v1::MetricMetadata {
                r#type: 1,
                metric_family_name: "up".into(),
                help: "h".into(),
                unit: "".into(),
            }],
        };
        let buf = req.encode_to_vec();
        let d = decode(&buf, Version::V1, &lim()).unwrap();
        assert_eq!(d.series.len(), 1);
        assert_eq!(d.invalid.len(), 1);
        assert_eq!(d.metadata[0].kind, "counter");

        let req2 = v2::Request {
            symbols: vec![
                "".into(),
                "__name__".into(),
                "up".into(),
                "job".into(),
                "a".into(),
                "help me".into(),
            ],
            timeseries: vec![v2::TimeSeries {
                labels_refs: vec![1, 2, 3, 4],
                samples: vec![v2::Sample {
                    value: 2.0,
                    timestamp: 5,
                    start_timestamp: 1,
                }],
                metadata: Some(v2::Metadata {
                    r#type: 2,
                    help_ref: 5,
                    unit_ref: 0,
                }),
                ..Default::default()
            }],
        };
        let buf2 = req2.encode_to_vec();
        let d = decode(&buf2, Version::V2, &lim()).unwrap();
        assert_eq!(d.series[0].labels.get("job"), Some("a"));
        assert_eq!(d.series[0].created_t, Some(1));
        assert_eq!(d.metadata[0].kind, "gauge");
        assert_eq!(d.metadata[0].help, "help me");

        let bad = v2::Request {
            symbols: vec!["".into()],
            timeseries: vec![v2::TimeSeries {
                labels_refs: vec![1, 2],
                ..Default::default()
            }],
        };
        assert!(matches!(
            decode(&bad.encode_to_vec(), Version::V2, &lim()),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            decode(&[0xff, 0xff], Version::V1, &lim()),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn snappy_limits() {
        let body = snap::raw::Encoder::new()
            .compress_vec(&[7u8; 1000])
            .unwrap();
        assert_eq!(decompress(&body, 2000).unwrap().len(), 1000);
        assert!(matches!(
            decompress(&body, 10),
            Err(DecodeError::TooLarge(_))
        ));
        assert!(matches!(
            decompress(b"not snappy at all", 1000),
            Err(DecodeError::Malformed(_))
        ));
    }
}
