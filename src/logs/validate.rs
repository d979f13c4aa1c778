//! Validation of a decoded Loki push against a tenant's limits, as Loki's
//! distributor does it: per stream (label syntax, count and lengths) and per
//! line (size, too far in the future, too old). What fails is reported with
//! Loki's wording, naming the stream; everything else is kept, so one bad
//! stream or line does not cost the rest of the batch.

use crate::config::Limits;
use crate::ingest::loki_push::PushStream;
use crate::model::labels::is_valid_label_name;
use crate::model::{Label, Labels};

use super::walrec::StoredEntry;

/// Most structured-metadata pairs one line may carry.
pub const MAX_METADATA_PAIRS: usize = 128;

/// The limits validation needs, resolved for one tenant at one instant.
#[derive(Clone, Debug)]
pub struct PushLimits {
    pub max_line_size: usize,
    pub max_label_names: usize,
    pub max_label_name_length: usize,
    pub max_label_value_length: usize,
    /// Lines older than this (ns) are refused.
    pub oldest_ns: i64,
    /// Lines newer than this (ns) are refused.
    pub newest_ns: i64,
}

impl PushLimits {
    /// From a tenant's limits, its log retention and the current time.
    pub fn new(l: &Limits, retention: std::time::Duration, now_ns: i64) -> Self {
        let max_age = l
            .log_reject_older_than
            .map(|d| d.0)
            .unwrap_or(retention)
            .as_nanos()
            .min(i64::MAX as u128) as i64;
        let grace = l.creation_grace_period.0.as_nanos().min(i64::MAX as u128) as i64;
        PushLimits {
            max_line_size: l.log_max_line_size.0 as usize,
            max_label_names: l.log_max_label_names_per_stream,
            max_label_name_length: l.max_label_name_length,
            max_label_value_length: l.max_label_value_length,
            oldest_ns: now_ns.saturating_sub(max_age),
            newest_ns: now_ns.saturating_add(grace),
        }
    }
}

/// A push after validation.
#[derive(Debug, Default)]
pub struct ValidatedPush {
    /// Accepted lines by stream (streams with no accepted line are absent).
    pub streams: Vec<(Labels, Vec<StoredEntry>)>,
    /// One message per rejected stream or line, in Loki's words.
    pub errors: Vec<String>,
    pub accepted_lines: u64,
    pub accepted_bytes: u64,
    pub rejected_lines: u64,
    pub rejected_bytes: u64,
}

/// Total line bytes of a push (what the rate limiter counts).
pub fn push_bytes(streams: &[PushStream]) -> u64 {
    streams
        .iter()
        .flat_map(|s| s.entries.iter())
        .map(|e| e.line.len() as u64)
        .sum()
}

/// Validates every stream and line; see the module doc.
pub fn validate(streams: Vec<PushStream>, lim: &PushLimits) -> ValidatedPush {
    let mut out = ValidatedPush::default();
    for s in streams {
        let stream_bytes: u64 = s.entries.iter().map(|e| e.line.len() as u64).sum();
        let labels = match s.labels.and_then(|l| check_labels(l, lim)) {
            Ok(l) => l,
            Err(e) => {
                out.errors.push(e);
                out.rejected_lines += s.entries.len() as u64;
                out.rejected_bytes += stream_bytes;
                continue;
            }
        };
        let mut kept = Vec::with_capacity(s.entries.len());
        for e in s.entries {
            match check_entry(&labels, &e, lim) {
                Ok(()) => {
                    out.accepted_lines += 1;
                    out.accepted_bytes += e.line.len() as u64;
                    kept.push(StoredEntry {
                        ts_ns: e.ts_ns,
                        line: e.line.into_boxed_str(),
                        metadata: sorted_metadata(e.metadata),
                    });
                }
                Err(msg) => {
                    out.rejected_lines += 1;
                    out.rejected_bytes += e.line.len() as u64;
                    out.errors.push(msg);
                }
            }
        }
        if !kept.is_empty() {
            out.streams.push((labels, kept));
        }
    }
    out
}

fn check_labels(labels: Labels, lim: &PushLimits) -> Result<Labels, String> {
    if labels.is_empty() {
        return Err("error at least one label pair is required per stream".into());
    }
    if labels.len() > lim.max_label_names {
        return Err(format!(
            "entry for stream '{labels}' has {} label names; limit {}",
            labels.len(),
            lim.max_label_names
        ));
    }
    for l in labels.iter() {
        if !is_valid_label_name(&l.name) {
            return Err(format!(
                "error parsing labels '{labels}' with error: invalid label name {:?}",
                l.name
            ));
        }
        if l.name.len() > lim.max_label_name_length {
            return Err(format!(
                "stream '{labels}' has label name too long: '{}'",
                l.name
            ));
        }
        if l.value.len() > lim.max_label_value_length {
            return Err(format!(
                "stream '{labels}' has label value too long: '{}'",
                l.value
            ));
        }
    }
    Ok(labels)
}

fn check_entry(
    labels: &Labels,
    e: &crate::ingest::loki_push::PushEntry,
    lim: &PushLimits,
) -> Result<(), String> {
    if lim.max_line_size > 0 && e.line.len() > lim.max_line_size {
        return Err(format!(
            "max entry size '{}' bytes exceeded for stream '{labels}' while adding an entry with length '{}' bytes",
            lim.max_line_size,
            e.line.len()
        ));
    }
    if e.ts_ns < lim.oldest_ns {
        return Err(format!(
            "entry for stream '{labels}' has timestamp too old: {}, oldest acceptable timestamp is: {}",
            format_ts(e.ts_ns),
            format_ts(lim.oldest_ns)
        ));
    }
    if e.ts_ns > lim.newest_ns {
        return Err(format!(
            "entry for stream '{labels}' has timestamp too new: {}",
            format_ts(e.ts_ns)
        ));
    }
    if e.metadata.len() > MAX_METADATA_PAIRS {
        return Err(format!(
            "stream '{labels}' has structured metadata with {} pairs; limit {MAX_METADATA_PAIRS}",
            e.metadata.len()
        ));
    }
    if let Some((name, _)) = e.metadata.iter().find(|(n, _)| !is_valid_label_name(n)) {
        return Err(format!(
            "stream '{labels}' has an invalid structured metadata name: '{name}'"
        ));
    }
    Ok(())
}

/// Sorted by name, empty values dropped, the last of repeated names kept.
fn sorted_metadata(md: Vec<(String, String)>) -> Box<[Label]> {
    if md.is_empty() {
        return Box::new([]);
    }
    Labels::from_pairs(md)
        .as_slice()
        .to_vec()
        .into_boxed_slice()
}

/// A nanosecond timestamp as RFC3339 (UTC), for messages.
pub fn format_ts(ns: i64) -> String {
    crate::api::params::format_rfc3339(ns.div_euclid(1_000_000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::loki_push::PushEntry;

    const NOW: i64 = 1_700_000_000_000_000_000;

    fn lim() -> PushLimits {
        PushLimits {
            max_line_size: 10,
            max_label_names: 2,
            max_label_name_length: 8,
            max_label_value_length: 8,
            oldest_ns: NOW - 3600 * 1_000_000_000,
            newest_ns: NOW + 600 * 1_000_000_000,
        }
    }

    fn entry(ts_ns: i64, line: &str) -> PushEntry {
        PushEntry {
            ts_ns,
            line: line.into(),
            metadata: vec![],
        }
    }

    fn stream(pairs: &[(&str, &str)], entries: Vec<PushEntry>) -> PushStream {
        PushStream {
            labels: Ok(Labels::from_pairs(pairs.iter().copied())),
            entries,
        }
    }

    #[test]
    fn keeps_valid_lines_and_names_the_stream_of_each_rejection() {
        let v = validate(
            vec![
                stream(
                    &[("app", "wp")],
                    vec![
                        entry(NOW, "ok"),
                        entry(NOW, "this line is too long"),
                        entry(NOW - 7200 * 1_000_000_000, "old"),
                        entry(NOW + 3600 * 1_000_000_000, "new"),
                        entry(NOW - 1, "ok too"),
                    ],
                ),
                stream(&[("a", "1"), ("b", "2"), ("c", "3")], vec![entry(NOW, "x")]),
                stream(&[("bad-name", "1")], vec![entry(NOW, "x")]),
                stream(&[], vec![entry(NOW, "x")]),
                stream(&[("app", "waytoolongvalue")], vec![entry(NOW, "x")]),
                PushStream {
                    labels: Err("error parsing labels '{a=}': boom".into()),
                    entries: vec![entry(NOW, "x")],
                },
            ],
            &lim(),
        );
        assert_eq!(v.streams.len(), 1);
        let lines: Vec<&str> = v.streams[0].1.iter().map(|e| &*e.line).collect();
        assert_eq!(lines, vec!["ok", "ok too"]);
        assert_eq!((v.accepted_lines, v.accepted_bytes), (2, 8));
        assert_eq!(v.rejected_lines, 8);
        assert_eq!(
            v.errors,
            vec![
                "max entry size '10' bytes exceeded for stream '{app=\"wp\"}' while adding an entry with length '21' bytes".to_string(),
                "entry for stream '{app=\"wp\"}' has timestamp too old: 2023-11-14T20:13:20Z, oldest acceptable timestamp is: 2023-11-14T21:13:20Z".into(),
                "entry for stream '{app=\"wp\"}' has timestamp too new: 2023-11-14T23:13:20Z".into(),
                "entry for stream '{a=\"1\", b=\"2\", c=\"3\"}' has 3 label names; limit 2".into(),
                "error parsing labels '{bad-name=\"1\"}' with error: invalid label name \"bad-name\"".into(),
                "error at least one label pair is required per stream".into(),
                "stream '{app=\"waytoolongvalue\"}' has label value too long: 'waytoolongvalue'".into(),
                "error parsing labels '{a=}': boom".into(),
            ]
        );
    }

    #[test]
    fn metadata_is_sorted_and_checked() {
        let mut e = entry(NOW, "x");
        e.metadata = vec![("trace_id".into(), "t".into()), ("pod".into(), "p".into())];
        let v = validate(vec![stream(&[("app", "wp")], vec![e])], &lim());
        let md = &v.streams[0].1[0].metadata;
        assert_eq!(md[0].name, "pod");
        assert_eq!(md[1].name, "trace_id");
        let mut bad = entry(NOW, "x");
        bad.metadata = vec![("no-dash".into(), "v".into())];
        let v = validate(vec![stream(&[("app", "wp")], vec![bad])], &lim());
        assert!(v.streams.is_empty());
        assert!(
            v.errors[0].contains("invalid structured metadata name"),
            "{:?}",
            v.errors
        );
    }
}
