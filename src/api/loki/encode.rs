//! Loki's JSON shapes for query results, written by hand in Loki's field
//! order: `streams` (two-element values, or with
//! `X-Loki-Response-Encoding-Flags: categorize-labels` three-element values
//! whose third object carries `structuredMetadata` / `parsed`, and
//! `encodingFlags` before `result`), `matrix`, `vector`, `scalar`, and the
//! `stats` object. Lines are HTML-escaped as Loki escapes them; labels not.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::api::prom_json::{write_timestamp, write_value};
use crate::logql::eval::{OutEntry, QueryOutput, QueryStats, SampleOut, SeriesOut};
use crate::model::{Label, Labels};

/// Writes a JSON string as jsoniter does: `"`, `\`, `\n`, `\r`, `\t`
/// escaped by name, other control characters as `\u00XX`; with `html`, also
/// `<`, `>`, `&`, U+2028 and U+2029 as `\uXXXX`.
pub fn write_str(out: &mut String, s: &str, html: bool) {
    out.reserve(s.len() + 2);
    out.push('"');
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let esc: Option<&str> = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            '<' if html => Some("\\u003c"),
            '>' if html => Some("\\u003e"),
            '&' if html => Some("\\u0026"),
            '\u{2028}' if html => Some("\\u2028"),
            '\u{2029}' if html => Some("\\u2029"),
            c if (c as u32) < 0x20 => None,
            _ => continue,
        };
        out.push_str(&s[start..i]);
        match esc {
            Some(e) => out.push_str(e),
            None => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
        }
        start = i + c.len_utf8();
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// `{"name":"value",...}` in the given order.
pub fn write_label_object<'a>(out: &mut String, labels: impl IntoIterator<Item = &'a Label>) {
    out.push('{');
    for (i, l) in labels.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_str(out, &l.name, false);
        out.push(':');
        write_str(out, &l.value, false);
    }
    out.push('}');
}

/// Loki's text form of a label set, `{a="x", b="y"}`: how Loki orders
/// result streams.
pub fn label_string<'a>(labels: impl IntoIterator<Item = &'a Label>) -> String {
    let mut s = String::from("{");
    for (i, l) in labels.into_iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&l.name);
        s.push('=');
        write_str(&mut s, &l.value, false);
    }
    s.push('}');
    s
}

/// A stream of a result: its labels and entries in result order.
struct StreamOut<'a> {
    labels: Vec<Label>,
    entries: Vec<&'a OutEntry>,
}

/// Stream, metadata and parsed labels merged (later categories win on a
/// name clash), sorted by name: a stream's identity without categorization.
pub fn merged_labels(e: &OutEntry) -> Vec<Label> {
    let mut m: BTreeMap<&str, &str> = BTreeMap::new();
    for l in e
        .stream
        .iter()
        .chain(e.metadata.iter())
        .chain(e.parsed.iter())
    {
        m.insert(&l.name, &l.value);
    }
    m.into_iter().map(|(n, v)| Label::new(n, v)).collect()
}

/// Groups result lines into streams as Loki does: by all labels, or by
/// stream labels only when categorizing; streams ordered by label text,
/// lines kept in result order.
fn group_streams(entries: &[OutEntry], categorize: bool) -> Vec<StreamOut<'_>> {
    let mut by_key: BTreeMap<String, StreamOut<'_>> = BTreeMap::new();
    for e in entries {
        let labels: Vec<Label> = if categorize {
            e.stream.iter().cloned().collect()
        } else {
            merged_labels(e)
        };
        let key = label_string(&labels);
        by_key
            .entry(key)
            .or_insert_with(|| StreamOut {
                labels,
                entries: Vec::new(),
            })
            .entries
            .push(e);
    }
    by_key.into_values().collect()
}

/// The `result` array of a streams result.
pub fn write_streams(out: &mut String, entries: &[OutEntry], categorize: bool) {
    out.push('[');
    for (i, s) in group_streams(entries, categorize).iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"stream\":");
        write_label_object(out, &s.labels);
        out.push_str(",\"values\":[");
        for (j, e) in s.entries.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            write_entry(out, e, categorize);
        }
        out.push_str("]}");
    }
    out.push(']');
}

/// One `["<ns>","<line>"]`, or with categorization
/// `["<ns>","<line>",{"structuredMetadata":{..},"parsed":{..}}]`.
pub fn write_entry(out: &mut String, e: &OutEntry, categorize: bool) {
    out.push_str("[\"");
    out.push_str(itoa::Buffer::new().format(e.ts_ns));
    out.push_str("\",");
    write_str(out, &e.line, true);
    if categorize {
        out.push_str(",{");
        if !e.metadata.is_empty() {
            out.push_str("\"structuredMetadata\":");
            write_label_object(out, &e.metadata);
        }
        if !e.parsed.is_empty() {
            if !e.metadata.is_empty() {
                out.push(',');
            }
            out.push_str("\"parsed\":");
            write_label_object(out, &e.parsed);
        }
        out.push('}');
    }
    out.push(']');
}

/// `[<seconds>,"<value>"]` from a nanosecond timestamp.
fn write_point(out: &mut String, ts_ns: i64, v: f64) {
    out.push('[');
    write_timestamp(out, ts_ns.div_euclid(1_000_000));
    out.push_str(",\"");
    write_value(out, v);
    out.push_str("\"]");
}

/// The `result` array of a matrix.
pub fn write_matrix(out: &mut String, m: &[SeriesOut]) {
    out.push('[');
    for (i, s) in m.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"metric\":");
        write_labels(out, &s.labels);
        out.push_str(",\"values\":[");
        for (j, (t, v)) in s.points.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            write_point(out, *t, *v);
        }
        out.push_str("]}");
    }
    out.push(']');
}

/// The `result` array of a vector.
pub fn write_vector(out: &mut String, v: &[SampleOut]) {
    out.push('[');
    for (i, s) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"metric\":");
        write_labels(out, &s.labels);
        out.push_str(",\"value\":");
        write_point(out, s.ts_ns, s.value);
        out.push('}');
    }
    out.push(']');
}

fn write_labels(out: &mut String, l: &Labels) {
    write_label_object(out, l.iter());
}

/// What the `stats` object reports.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StatsInput {
    pub work: QueryStats,
    /// Wall time of the query in seconds.
    pub exec_secs: f64,
    /// Lines (or samples) in the result.
    pub entries_returned: u64,
}

fn write_f64(out: &mut String, v: f64) {
    if v.is_finite() {
        let mut b = ryu::Buffer::new();
        let s = b.format_finite(v);
        out.push_str(s.strip_suffix(".0").unwrap_or(s));
    } else {
        out.push('0');
    }
}

/// The `stats` object in Loki's layout (summary, querier, ingester, cache,
/// index); the figures Cairn does not measure are zero.
pub fn write_stats(out: &mut String, st: &StatsInput) {
    let lines = st.work.lines_processed;
    let bytes = st.work.bytes_processed;
    let per_sec = |n: u64| -> u64 {
        if st.exec_secs > 0.0 {
            (n as f64 / st.exec_secs) as u64
        } else {
            0
        }
    };
    let _ = write!(
        out,
        "{{\"summary\":{{\"bytesProcessedPerSecond\":{},\"linesProcessedPerSecond\":{},\"totalBytesProcessed\":{bytes},\"totalLinesProcessed\":{lines},\"execTime\":",
        per_sec(bytes),
        per_sec(lines)
    );
    write_f64(out, st.exec_secs);
    let _ = write!(
        out,
        ",\"queueTime\":0,\"subqueries\":0,\"totalEntriesReturned\":{},\"splits\":0,\"shards\":0,\"totalPostFilterLines\":{lines},\"totalStructuredMetadataBytesProcessed\":0}}",
        st.entries_returned
    );
    out.push_str(",\"querier\":{\"store\":");
    write_store(out, lines, bytes);
    out.push_str("},\"ingester\":{\"totalReached\":0,\"totalChunksMatched\":0,\"totalBatches\":0,\"totalLinesSent\":0,\"store\":");
    write_store(out, 0, 0);
    out.push_str("},\"cache\":{");
    for (i, c) in [
        "chunk",
        "index",
        "result",
        "statsResult",
        "volumeResult",
        "seriesResult",
        "labelResult",
        "instantMetricResult",
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "\"{c}\":{{\"entriesFound\":0,\"entriesRequested\":0,\"entriesStored\":0,\"bytesReceived\":0,\"bytesSent\":0,\"requests\":0,\"downloadTime\":0,\"queryLengthServed\":0}}");
    }
    out.push_str("},\"index\":{\"totalChunks\":0,\"postFilterChunks\":0,\"shardsDuration\":0,\"usedBloomFilters\":false}}");
}

fn write_store(out: &mut String, lines: u64, bytes: u64) {
    let _ = write!(
        out,
        "{{\"totalChunksRef\":0,\"totalChunksDownloaded\":0,\"chunksDownloadTime\":0,\"queryReferencedStructuredMetadata\":false,\"chunk\":{{\"headChunkBytes\":0,\"headChunkLines\":0,\"decompressedBytes\":{bytes},\"decompressedLines\":{lines},\"compressedBytes\":0,\"totalDuplicates\":0,\"postFilterLines\":{lines},\"headChunkStructuredMetadataBytes\":0,\"decompressedStructuredMetadataBytes\":0}},\"chunkRefsFetchTime\":0,\"congestionControlLatency\":0,\"pipelineWrapperFilteredLines\":0}}"
    );
}

/// A whole query response: `{"status":"success","data":{"resultType":..,
/// ["encodingFlags":[..],] "result":..,"stats":..}}` and a newline.
pub fn query_response(output: &QueryOutput, stats: &StatsInput, categorize: bool) -> String {
    let mut out = String::with_capacity(1024);
    out.push_str("{\"status\":\"success\",\"data\":{\"resultType\":");
    let kind = match output {
        QueryOutput::Streams(_) => "streams",
        QueryOutput::Matrix(_) => "matrix",
        QueryOutput::Vector(_) => "vector",
        QueryOutput::Scalar { .. } => "scalar",
    };
    let _ = write!(out, "\"{kind}\"");
    if categorize {
        out.push_str(",\"encodingFlags\":[\"categorize-labels\"]");
    }
    out.push_str(",\"result\":");
    match output {
        QueryOutput::Streams(e) => write_streams(&mut out, e, categorize),
        QueryOutput::Matrix(m) => write_matrix(&mut out, m),
        QueryOutput::Vector(v) => write_vector(&mut out, v),
        QueryOutput::Scalar { ts_ns, value } => write_point(&mut out, *ts_ns, *value),
    }
    out.push_str(",\"stats\":");
    write_stats(&mut out, stats);
    out.push_str("}}\n");
    out
}

/// How many lines or samples a result holds.
pub fn entries_returned(output: &QueryOutput) -> u64 {
    match output {
        QueryOutput::Streams(e) => e.len() as u64,
        QueryOutput::Matrix(m) => m.iter().map(|s| s.points.len() as u64).sum(),
        QueryOutput::Vector(v) => v.len() as u64,
        QueryOutput::Scalar { .. } => 1,
    }
}
