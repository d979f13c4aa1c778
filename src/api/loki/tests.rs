//! Endpoint functions against a small in-memory log source, with exact
//! expected documents.

use std::ops::ControlFlow;
use std::sync::RwLock;

use axum::http::{HeaderMap, StatusCode};

use super::encode::{self, StatsInput};
use super::response::ApiResponse;
use super::*;
use crate::api::params::Params;
use crate::logql::eval::{Engine, OutEntry, QueryOutput, QueryStats, SampleOut, SeriesOut};
use crate::logs::{ChunkStats, EntryRef, LogSource, SelectRequest, SourceError};
use crate::model::{Label, Labels, Matcher};

const S: i64 = 1_000_000_000;

type Line = (i64, String, Vec<Label>);

/// Streams of lines; each stream is one chunk.
#[derive(Default)]
struct Fake {
    streams: RwLock<Vec<(Labels, Vec<Line>)>>,
}

impl Fake {
    fn push(&self, labels: &[(&str, &str)], ts: i64, line: &str, md: &[(&str, &str)]) {
        let l = Labels::from_pairs(labels.iter().copied());
        let md: Vec<Label> = md.iter().map(|(n, v)| Label::new(*n, *v)).collect();
        let mut g = self.streams.write().unwrap();
        match g.iter_mut().find(|(x, _)| *x == l) {
            Some((_, lines)) => {
                lines.push((ts, line.to_string(), md));
                lines.sort_by_key(|x| x.0);
            }
            None => g.push((l, vec![(ts, line.to_string(), md)])),
        }
    }
}

fn matches(ms: &[Matcher], l: &Labels) -> bool {
    ms.iter().all(|m| m.matches(l.get(&m.name).unwrap_or("")))
}

impl LogSource for Fake {
    fn select(
        &self,
        req: &SelectRequest<'_>,
        sink: &mut dyn FnMut(&Labels, &[EntryRef<'_>]) -> ControlFlow<()>,
    ) -> Result<(), SourceError> {
        let g = self.streams.read().unwrap();
        for (l, lines) in g.iter() {
            if !matches(req.matchers, l) {
                continue;
            }
            let sel: Vec<EntryRef<'_>> = lines
                .iter()
                .filter(|(t, line, _)| {
                    *t >= req.start_ns
                        && *t < req.end_ns
                        && req.filter.is_none_or(|f| f.matches(line))
                })
                .map(|(t, line, md)| EntryRef {
                    ts_ns: *t,
                    line,
                    metadata: md,
                })
                .collect();
            if !sel.is_empty() && sink(l, &sel).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn series(&self, ms: &[Matcher], s: i64, e: i64) -> Result<Vec<Labels>, SourceError> {
        let g = self.streams.read().unwrap();
        Ok(g.iter()
            .filter(|(l, lines)| matches(ms, l) && lines.iter().any(|x| x.0 >= s && x.0 < e))
            .map(|(l, _)| l.clone())
            .collect())
    }

    fn chunk_stats(
        &self,
        ms: &[Matcher],
        s: i64,
        e: i64,
        sink: &mut dyn FnMut(&Labels, ChunkStats),
    ) -> Result<(), SourceError> {
        let g = self.streams.read().unwrap();
        for (l, lines) in g.iter() {
            let (Some(first), Some(last)) = (lines.first(), lines.last()) else {
                continue;
            };
            if matches(ms, l) && first.0 < e && last.0 >= s {
                sink(
                    l,
                    ChunkStats {
                        min_ts_ns: first.0,
                        max_ts_ns: last.0,
                        entries: lines.len() as u64,
                        bytes: lines.iter().map(|x| x.1.len() as u64).sum(),
                    },
                );
            }
        }
        Ok(())
    }
}

const A1: &str = r#"{"level":"info","msg":"ok","dur":"5ms"}"#;
const A2: &str = r#"{"level":"error","msg":"bad <x>","dur":"7ms"}"#;
const B1: &str = "level=warn status=404 size=10KB";
const C1: &str = "boot";

const A: &[(&str, &str)] = &[("app", "api"), ("env", "prod")];
const B: &[(&str, &str)] = &[
    ("app", "web"),
    ("env", "dev"),
    ("id", "7"),
    ("pod", "web-1"),
];
const C: &[(&str, &str)] = &[("app", "api"), ("env", "dev"), ("id", "8")];

fn fixture() -> Fake {
    let f = Fake::default();
    f.push(A, 1000 * S, A1, &[("trace_id", "abc")]);
    f.push(A, 1001 * S, A2, &[]);
    f.push(B, 1002 * S, B1, &[]);
    f.push(C, 10 * S, C1, &[]);
    f
}

fn p(q: &str) -> Params {
    Params::from_parts(Some(q), None)
}

fn call<F: FnOnce(&Ctx<'_>) -> ApiResponse>(src: &Fake, f: F) -> ApiResponse {
    let engine = Engine::default();
    let cx = Ctx {
        src,
        engine: &engine,
        now_ns: 2000 * S,
    };
    f(&cx)
}

fn ok(body: &str) -> ApiResponse {
    ApiResponse::json(format!("{body}\n"))
}

fn bad(msg: &str) -> ApiResponse {
    ApiResponse::bad_request(msg)
}

// ---- encodings ----

fn entry(
    ts: i64,
    line: &str,
    stream: &[(&str, &str)],
    md: &[(&str, &str)],
    parsed: &[(&str, &str)],
) -> OutEntry {
    OutEntry {
        ts_ns: ts,
        line: line.into(),
        stream: Labels::from_pairs(stream.iter().copied()),
        metadata: md.iter().map(|(n, v)| Label::new(*n, *v)).collect(),
        parsed: parsed.iter().map(|(n, v)| Label::new(*n, *v)).collect(),
    }
}

fn sample_entries() -> Vec<OutEntry> {
    vec![
        entry(
            2,
            "b",
            &[("app", "x")],
            &[("trace", "t1")],
            &[("lvl", "info")],
        ),
        entry(1, "a<&>", &[("app", "x")], &[], &[]),
        entry(3, "c\n\u{1}", &[("app", "a")], &[], &[]),
    ]
}

#[test]
fn streams_without_categories_split_by_all_labels() {
    let mut out = String::new();
    encode::write_streams(&mut out, &sample_entries(), false);
    assert_eq!(
        out,
        r#"[{"stream":{"app":"a"},"values":[["3","c\n\u0001"]]},{"stream":{"app":"x","lvl":"info","trace":"t1"},"values":[["2","b"]]},{"stream":{"app":"x"},"values":[["1","a\u003c\u0026\u003e"]]}]"#
    );
}

#[test]
fn streams_with_categories_keep_stream_labels_and_a_third_element() {
    let mut out = String::new();
    encode::write_streams(&mut out, &sample_entries(), true);
    assert_eq!(
        out,
        r#"[{"stream":{"app":"a"},"values":[["3","c\n\u0001",{}]]},{"stream":{"app":"x"},"values":[["2","b",{"structuredMetadata":{"trace":"t1"},"parsed":{"lvl":"info"}}],["1","a\u003c\u0026\u003e",{}]]}]"#
    );
}

fn stats_json(st: &StatsInput) -> String {
    let mut s = String::new();
    encode::write_stats(&mut s, st);
    s
}

#[test]
fn query_documents_put_encoding_flags_before_result() {
    let st = StatsInput::default();
    let out = QueryOutput::Streams(vec![entry(5, "l", &[("a", "b")], &[], &[("p", "q")])]);
    assert_eq!(
        encode::query_response(&out, &st, true),
        format!(
            r#"{{"status":"success","data":{{"resultType":"streams","encodingFlags":["categorize-labels"],"result":[{{"stream":{{"a":"b"}},"values":[["5","l",{{"parsed":{{"p":"q"}}}}]]}}],"stats":{}}}}}"#,
            stats_json(&st)
        ) + "\n"
    );
    assert_eq!(
        encode::query_response(&out, &st, false),
        format!(
            r#"{{"status":"success","data":{{"resultType":"streams","result":[{{"stream":{{"a":"b","p":"q"}},"values":[["5","l"]]}}],"stats":{}}}}}"#,
            stats_json(&st)
        ) + "\n"
    );
}

#[test]
fn metric_documents() {
    let st = StatsInput::default();
    let stats = stats_json(&st);
    // Grafana's health check: vector(1)+vector(1) at time=4000000000 (seconds).
    let v = QueryOutput::Vector(vec![SampleOut {
        labels: Labels::empty(),
        ts_ns: 4_000_000_000 * S,
        value: 2.0,
    }]);
    assert_eq!(
        encode::query_response(&v, &st, false),
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[4000000000,"2"]}}],"stats":{stats}}}}}"#
        ) + "\n"
    );
    let m = QueryOutput::Matrix(vec![SeriesOut {
        labels: Labels::from_pairs([("pod", "p1")]),
        points: vec![(1_500_000_000, 0.25), (3 * S, f64::NAN)],
    }]);
    assert_eq!(
        encode::query_response(&m, &st, true),
        format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","encodingFlags":["categorize-labels"],"result":[{{"metric":{{"pod":"p1"}},"values":[[1.5,"0.25"],[3,"NaN"]]}}],"stats":{stats}}}}}"#
        ) + "\n"
    );
    let sc = QueryOutput::Scalar {
        ts_ns: 7 * S,
        value: -1.5,
    };
    assert_eq!(
        encode::query_response(&sc, &st, false),
        format!(
            r#"{{"status":"success","data":{{"resultType":"scalar","result":[7,"-1.5"],"stats":{stats}}}}}"#
        ) + "\n"
    );
}

#[test]
fn stats_report_the_work() {
    let st = StatsInput {
        work: QueryStats {
            lines_processed: 40,
            bytes_processed: 1000,
        },
        exec_secs: 0.5,
        entries_returned: 3,
    };
    let v: serde_json::Value = serde_json::from_str(&stats_json(&st)).unwrap();
    let s = &v["summary"];
    assert_eq!(s["totalLinesProcessed"], 40);
    assert_eq!(s["totalBytesProcessed"], 1000);
    assert_eq!(s["linesProcessedPerSecond"], 80);
    assert_eq!(s["bytesProcessedPerSecond"], 2000);
    assert_eq!(s["execTime"], 0.5);
    assert_eq!(s["totalEntriesReturned"], 3);
    assert_eq!(v["querier"]["store"]["chunk"]["decompressedLines"], 40);
    assert_eq!(v["ingester"]["totalReached"], 0);
}

// ---- query / query_range parameter handling ----

#[test]
fn query_range_rejects_bad_parameters() {
    let f = fixture();
    let h = HeaderMap::new();
    let cases = [
        ("query=%7Ba%3D%22b%22%7D&start=x", "could not parse 'start' parameter: strconv.ParseInt: parsing \"x\": invalid syntax"),
        ("query=%7Ba%3D%22b%22%7D&start=20&end=10", "end timestamp must not be before or equal to start time"),
        ("query=%7Ba%3D%22b%22%7D&limit=-1", "limit must be a positive value"),
        ("query=%7Ba%3D%22b%22%7D&direction=sideways", "invalid direction 'sideways'"),
        ("query=%7Ba%3D%22b%22%7D&step=0", "zero or negative query resolution step widths are not accepted. Try a positive integer"),
        ("query=%7Ba%3D%22b%22%7D&start=0&end=100000&step=1", "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter"),
        ("query=%7Ba%3D%22b%22%7D&interval=-2s", "cannot parse \"-2s\" to a valid duration"),
        ("query=%7Ba%3D%22b%22%7D&limit=5001", "max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)"),
    ];
    for (q, msg) in cases {
        let r = call(&f, |cx| query::query_range(cx, &p(q), &h));
        if msg.starts_with("max entries") {
            // Checked after the query parses (as Loki does).
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
            continue;
        }
        assert_eq!(r, bad(msg), "{q}");
    }
    let r = call(&f, |cx| query::query(cx, &p("query=x&time=abc"), &h));
    assert_eq!(r, bad("strconv.ParseInt: parsing \"abc\": invalid syntax"));
}

#[test]
fn syntax_errors_are_plain_text_400s() {
    let f = fixture();
    let r = call(&f, |cx| {
        query::query_range(cx, &p("query=%7Bapp%3D"), &HeaderMap::new())
    });
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.content_type, response::TEXT);
    assert!(
        r.body.starts_with("parse error at line 1, col "),
        "{}",
        r.body
    );
    assert!(r.body.ends_with('\n'));
}

// ---- labels, values, series ----

#[test]
fn labels_and_values() {
    let f = fixture();
    let all = "start=0&end=2000";
    assert_eq!(
        call(&f, |cx| metadata::labels(cx, &p(all))),
        ok(r#"{"status":"success","data":["app","env","id","pod"]}"#)
    );
    assert_eq!(
        call(&f, |cx| metadata::labels(
            cx,
            &p("start=0&end=2000&query=%7Bapp%3D%22api%22%7D")
        )),
        ok(r#"{"status":"success","data":["app","env","id"]}"#)
    );
    // Nothing in range: Loki leaves `data` out.
    assert_eq!(
        call(&f, |cx| metadata::labels(cx, &p("start=1500&end=2000"))),
        ok(r#"{"status":"success"}"#)
    );
    assert_eq!(
        call(&f, |cx| metadata::label_values(cx, "app", &p(all))),
        ok(r#"{"status":"success","data":["api","web"]}"#)
    );
    // Default range: the hour before now (2000 s) covers everything.
    assert_eq!(
        call(&f, |cx| metadata::label_values(cx, "env", &p(""))),
        ok(r#"{"status":"success","data":["dev","prod"]}"#)
    );
    // since=999s: from 1001 s on (A's second line and B).
    assert_eq!(
        call(&f, |cx| metadata::label_values(cx, "env", &p("since=999s"))),
        ok(r#"{"status":"success","data":["dev","prod"]}"#)
    );
    // since=998s: from 1002 s on (B only).
    assert_eq!(
        call(&f, |cx| metadata::label_values(cx, "env", &p("since=998s"))),
        ok(r#"{"status":"success","data":["dev"]}"#)
    );
    assert_eq!(
        call(&f, |cx| metadata::label_values(cx, "id", &p("since=1995s"))),
        ok(r#"{"status":"success","data":["7","8"]}"#)
    );
    assert_eq!(
        call(&f, |cx| metadata::labels(cx, &p("query=%7Bapp"))).status,
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn series_by_match_groups() {
    let f = fixture();
    assert_eq!(
        call(&f, |cx| metadata::series(
            cx,
            &p("start=0&end=2000&match[]=%7Bapp%3D%22api%22%7D&match[]=%7Bpod%3D%22web-1%22%7D")
        )),
        ok(
            r#"{"status":"success","data":[{"app":"api","env":"dev","id":"8"},{"app":"api","env":"prod"},{"app":"web","env":"dev","id":"7","pod":"web-1"}]}"#
        )
    );
    // Form-encoded POST bodies carry the same parameters.
    let form = Params::from_parts(
        Some("start=0&end=2000"),
        Some(b"match%5B%5D=%7Benv%3D%22prod%22%7D"),
    );
    assert_eq!(
        call(&f, |cx| metadata::series(cx, &form)),
        ok(r#"{"status":"success","data":[{"app":"api","env":"prod"}]}"#)
    );
    assert_eq!(
        call(&f, |cx| metadata::series(
            cx,
            &p("start=1500&end=2000&match[]=%7Bapp%3D~%22.%2B%22%7D")
        )),
        ok(r#"{"status":"success","data":[]}"#)
    );
}

// ---- index stats and volumes ----

#[test]
fn index_stats_counts_streams_chunks_bytes_entries() {
    let f = fixture();
    let bytes = A1.len() + A2.len() + B1.len() + C1.len();
    assert_eq!(
        call(&f, |cx| metadata::index_stats(
            cx,
            &p("start=0&end=2000&query=%7Bapp%3D~%22.%2B%22%7D")
        )),
        ok(&format!(
            r#"{{"streams":3,"chunks":3,"bytes":{bytes},"entries":4}}"#
        ))
    );
    // Half of stream A's chunk (1000 s..1001 s) lies in 1000.5 s..2000 s.
    let half = ((A1.len() + A2.len()) as f64 * 0.5).round() as usize;
    assert_eq!(
        call(&f, |cx| metadata::index_stats(
            cx,
            &p("start=1000.5&end=2000&query=%7Benv%3D%22prod%22%7D")
        )),
        ok(&format!(
            r#"{{"streams":1,"chunks":1,"bytes":{half},"entries":1}}"#
        ))
    );
    assert_eq!(
        call(&f, |cx| metadata::index_stats(cx, &p("start=0&end=2000"))).status,
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn volume_by_series_and_by_labels() {
    let f = fixture();
    let (a, b, c) = (A1.len() + A2.len(), B1.len(), C1.len());
    // Keyed by the labels the selector names (app); largest first.
    assert_eq!(
        call(&f, |cx| metadata::volume(
            cx,
            &p("start=0&end=2000&query=%7Bapp%3D~%22.%2B%22%7D")
        )),
        ok(&format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"app":"api"}},"value":[2000,"{}"]}},{{"metric":{{"app":"web"}},"value":[2000,"{b}"]}}]}}}}"#,
            a + c
        ))
    );
    // targetLabels + aggregateBy=labels: one series per label name.
    assert_eq!(
        call(&f, |cx| {
            metadata::volume(cx, &p("start=0&end=2000&query=%7Bapp%3D~%22.%2B%22%7D&targetLabels=pod,id&aggregateBy=labels"))
        }),
        ok(&format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"id":""}},"value":[2000,"{}"]}},{{"metric":{{"pod":""}},"value":[2000,"{b}"]}}]}}}}"#,
            b + c
        ))
    );
    // limit keeps the largest.
    assert_eq!(
        call(&f, |cx| metadata::volume(
            cx,
            &p("start=0&end=2000&query=%7B%7D&targetLabels=app&limit=1")
        )),
        ok(&format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"app":"api"}},"value":[2000,"{}"]}}]}}}}"#,
            a + c
        ))
    );
    assert_eq!(
        call(&f, |cx| metadata::volume(
            cx,
            &p("start=0&end=2000&query=%7B%7D&aggregateBy=pods")
        )),
        bad("invalid aggregation option")
    );
}

#[test]
fn volume_range_buckets_by_step() {
    let f = fixture();
    let (a, c) = (A1.len() + A2.len(), C1.len());
    assert_eq!(
        metadata::volume_buckets(0, 2000 * S, 1000 * S),
        vec![(0, 1000 * S - 1_000_000), (1000 * S, 2000 * S)]
    );
    assert_eq!(
        metadata::volume_buckets(500 * S, 2000 * S, 1000 * S),
        vec![(500 * S, 1000 * S - 1_000_000), (1000 * S, 2000 * S)]
    );
    assert_eq!(
        call(&f, |cx| metadata::volume_range(
            cx,
            &p("start=0&end=2000&step=1000&query=%7Bapp%3D%22api%22%7D")
        )),
        ok(&format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{"app":"api"}},"values":[[999.999,"{c}"],[2000,"{a}"]]}}]}}}}"#
        ))
    );
}

// ---- detected labels / fields, patterns ----

#[test]
fn detected_labels_drop_id_like_labels() {
    let f = fixture();
    assert_eq!(
        call(&f, |cx| detected::detected_labels(
            cx,
            &p("start=0&end=2000")
        )),
        ok(
            r#"{"detectedLabels":[{"label":"app","cardinality":2},{"label":"env","cardinality":2},{"label":"pod","cardinality":1}]}"#
        )
    );
    assert_eq!(
        call(&f, |cx| detected::detected_labels(
            cx,
            &p("start=1500&end=2000")
        )),
        ok("{}")
    );
    assert!(detected::reject_label(
        &["1", "2", "3"].map(String::from).into()
    ));
    assert!(!detected::reject_label(
        &["0", "1"].map(String::from).into()
    ));
    assert!(detected::reject_label(
        &["123e4567-e89b-12d3-a456-426614174000".to_string()].into()
    ));
    assert!(!detected::reject_label(&["a1".to_string()].into()));
}

#[test]
fn detected_fields_from_json_logfmt_and_metadata() {
    let f = fixture();
    assert_eq!(
        call(&f, |cx| detected::detected_fields(
            cx,
            &p("start=0&end=2000&query=%7Bapp%3D%22api%22%7D")
        )),
        ok(
            r#"{"fields":[{"label":"dur","type":"duration","cardinality":2,"parsers":["json"]},{"label":"level","type":"string","cardinality":2,"parsers":["json"]},{"label":"msg","type":"string","cardinality":2,"parsers":["json"]},{"label":"trace_id","type":"string","cardinality":1,"parsers":null}],"limit":1000}"#
        )
    );
    assert_eq!(
        call(&f, |cx| detected::detected_fields(
            cx,
            &p("start=0&end=2000&query=%7Bapp%3D%22web%22%7D&limit=2")
        )),
        ok(
            r#"{"fields":[{"label":"level","type":"string","cardinality":1,"parsers":["logfmt"]},{"label":"status","type":"int","cardinality":1,"parsers":["logfmt"]}],"limit":2}"#
        )
    );
    // line_limit=1 reads only the newest line.
    assert_eq!(
        call(&f, |cx| detected::detected_field_values(
            cx,
            "level",
            &p("start=0&end=2000&query=%7Bapp%3D~%22.%2B%22%7D&line_limit=1")
        )),
        ok(r#"{"values":["warn"],"limit":1000}"#)
    );
    assert_eq!(
        call(&f, |cx| detected::detected_field_values(
            cx,
            "level",
            &p("start=0&end=2000&query=%7Bapp%3D~%22.%2B%22%7D")
        )),
        ok(r#"{"values":["error","info","warn"],"limit":1000}"#)
    );
    assert_eq!(
        call(&f, |cx| detected::detected_field_values(
            cx,
            "nope",
            &p("start=0&end=2000&query=%7Bapp%3D~%22.%2B%22%7D")
        )),
        ok(r#"{"limit":1000}"#)
    );
    assert_eq!(
        call(&f, |cx| detected::detected_fields(
            cx,
            &p("query=%7Bapp%3D%22api%22%7D&line_limit=0")
        )),
        bad("limit must be a positive value")
    );
}

#[test]
fn field_types_follow_loki() {
    let t: Vec<&str> = [
        "12", "-3", "1.5", "true", "F", "250ms", "1h2m", "10KB", "3 MiB", "hello", "1e3",
    ]
    .iter()
    .map(|v| detected::field_type(v))
    .collect();
    assert_eq!(
        t,
        [
            "int", "int", "float", "boolean", "boolean", "duration", "duration", "bytes", "bytes",
            "string", "float"
        ]
    );
}

#[test]
fn patterns_are_empty_but_valid() {
    let f = fixture();
    assert_eq!(
        call(&f, |cx| detected::patterns(
            cx,
            &p("start=0&end=2000&query=%7Bapp%3D%22api%22%7D&step=10s")
        )),
        ok(r#"{"status":"success","data":[]}"#)
    );
    assert_eq!(
        call(&f, |cx| detected::patterns(cx, &p("start=0&end=2000&query=%7Bapp%3D%22api%22%7D&step=0"))),
        bad("zero or negative query resolution step widths are not accepted. Try a positive integer")
    );
}

// ---- tail ----

#[test]
fn tail_sends_history_then_only_new_lines() {
    let f = fixture();
    let req =
        tail::parse_request(&p("query=%7Bapp%3D%22web%22%7D&start=0"), 2000 * S, false).unwrap();
    let mut st = tail::TailState::default();
    assert_eq!(
        tail::poll(&f, &req, &mut st, 2000 * S).unwrap().as_deref(),
        Some(
            r#"{"streams":[{"stream":{"app":"web","env":"dev","id":"7","pod":"web-1"},"values":[["1002000000000","level=warn status=404 size=10KB"]]}],"dropped_entries":null}"#
        )
    );
    assert_eq!(tail::poll(&f, &req, &mut st, 2001 * S).unwrap(), None);
    // A line that arrives late but inside the window is still sent, once.
    f.push(B, 1999 * S, "late", &[]);
    f.push(B, 2001 * S, "new", &[("k", "v")]);
    assert_eq!(
        tail::poll(&f, &req, &mut st, 2002 * S).unwrap().as_deref(),
        Some(
            r#"{"streams":[{"stream":{"app":"web","env":"dev","id":"7","k":"v","pod":"web-1"},"values":[["2001000000000","new"]]},{"stream":{"app":"web","env":"dev","id":"7","pod":"web-1"},"values":[["1999000000000","late"]]}],"dropped_entries":null}"#
        )
    );
    assert_eq!(tail::poll(&f, &req, &mut st, 2003 * S).unwrap(), None);
}

#[test]
fn tail_history_is_limited_and_categorized_on_request() {
    let f = fixture();
    let req = tail::parse_request(
        &p("query=%7Bapp%3D%22api%22%7D&start=0&limit=2"),
        2000 * S,
        true,
    )
    .unwrap();
    let mut st = tail::TailState::default();
    assert_eq!(
        tail::poll(&f, &req, &mut st, 2000 * S).unwrap().as_deref(),
        Some(
            r#"{"streams":[{"stream":{"app":"api","env":"prod"},"values":[["1000000000000","{\"level\":\"info\",\"msg\":\"ok\",\"dur\":\"5ms\"}",{"structuredMetadata":{"trace_id":"abc"}}],["1001000000000","{\"level\":\"error\",\"msg\":\"bad \u003cx\u003e\",\"dur\":\"7ms\"}",{}]]}],"dropped_entries":null,"encodingFlags":["categorize-labels"]}"#
        )
    );
    assert_eq!(
        tail::parse_request(&p("query=%7Bapp%3D%22api%22%7D&delay_for=6"), 0, false).unwrap_err(),
        ApiError::bad("delay_for can't be greater than 5")
    );
}

// ---- buildinfo, format_query, legacy ----

#[test]
fn buildinfo_has_lokis_fields() {
    let r = misc::buildinfo();
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "branch",
            "buildDate",
            "buildUser",
            "goVersion",
            "revision",
            "version"
        ]
    );
    assert_eq!(v["version"], misc::LOKI_COMPAT_VERSION);
}

#[test]
fn format_query_rejects_bad_syntax() {
    let r = misc::format_query(&p("query=%7Bfoo%3D"));
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.body.starts_with("parse error at line 1, col "),
        "{}",
        r.body
    );
}

#[test]
fn legacy_label_endpoints() {
    let f = fixture();
    assert_eq!(
        call(&f, |cx| legacy::label(cx, &p("start=0&end=2000"))),
        ok(r#"{"values":["app","env","id","pod"]}"#)
    );
    assert_eq!(
        call(&f, |cx| legacy::label_values(
            cx,
            "pod",
            &p("start=0&end=2000")
        )),
        ok(r#"{"values":["web-1"]}"#)
    );
    assert_eq!(
        legacy::rfc3339_nano(1_700_000_000_000_000_123),
        "2023-11-14T22:13:20.000000123Z"
    );
    assert_eq!(
        legacy::rfc3339_nano(1_700_000_000_500_000_000),
        "2023-11-14T22:13:20.5Z"
    );
}

#[test]
fn unknown_paths_are_404() {
    let r = ApiResponse::not_found();
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::NOT_FOUND, "404 page not found\n")
    );
}
