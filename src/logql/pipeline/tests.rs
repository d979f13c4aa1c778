//! End-to-end tests of pipelines: stages combined, exact lines and labels.

use super::*;
use crate::logql::ast::{
    CmpOp, LabelExtraction, LabelFilterExpr, LineFilter, LineFilterOp, LineFilterValue,
};
use crate::model::{MatchOp, Matcher};

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

fn pairs(ls: &[Label]) -> Vec<(String, String)> {
    ls.iter()
        .map(|l| (l.name.clone(), l.value.clone()))
        .collect()
}

fn p(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Runs one line; returns the line and all labels.
fn run1(
    stages: Vec<Stage>,
    stream: &[(&str, &str)],
    line: &str,
) -> Option<(String, Vec<(String, String)>)> {
    let pl = Pipeline::new(&stages).unwrap();
    let stream = labels(stream);
    let mut sp = pl.for_stream(&stream);
    sp.process(0, line, &[])
        .map(|r| (r.line.to_string(), pairs(r.labels.all().as_slice())))
}

fn lf(op: LineFilterOp, v: &str) -> Stage {
    Stage::LineFilter(LineFilter {
        op,
        values: vec![LineFilterValue::Literal(v.into())],
    })
}

fn json_all() -> Stage {
    Stage::Json(vec![])
}

fn logfmt(strict: bool, keep_empty: bool) -> Stage {
    Stage::Logfmt {
        strict,
        keep_empty,
        extractions: vec![],
    }
}

fn smatch(op: MatchOp, name: &str, v: &str) -> LabelFilterExpr {
    LabelFilterExpr::String(Matcher::new(op, name, v).unwrap())
}

fn num(name: &str, op: CmpOp, value: f64) -> LabelFilterExpr {
    LabelFilterExpr::Number {
        name: name.into(),
        op,
        value,
    }
}

fn no_error() -> Stage {
    Stage::LabelFilter(smatch(MatchOp::Equal, ERROR_LABEL, ""))
}

#[test]
fn json_flattens_sanitizes_and_skips_arrays() {
    let (line, ls) = run1(
        vec![json_all()],
        &[("app", "web")],
        r#"{"a":"x\ty","b":{"c":1.5,"d":[1,2],"e":null,"f":{"g":false}},"1st":"y","g h":"z","u":"caf\u00e9"}"#,
    )
    .unwrap();
    assert!(line.starts_with("{\"a\""));
    assert_eq!(
        ls,
        p(&[
            ("_1st", "y"),
            ("a", "x\ty"),
            ("app", "web"),
            ("b_c", "1.5"),
            ("b_f_g", "false"),
            ("g_h", "z"),
            ("u", "café"),
        ])
    );
}

#[test]
fn json_extracted_suffix_and_categories() {
    let pl = Pipeline::new(&[json_all()]).unwrap();
    let stream = labels(&[("level", "info"), ("app", "web")]);
    let mut sp = pl.for_stream(&stream);
    let r = sp
        .process(0, r#"{"level":"error","app":{"name":"x"}}"#, &[])
        .unwrap();
    assert_eq!(
        pairs(r.labels.stream().as_slice()),
        p(&[("app", "web"), ("level", "info")])
    );
    assert_eq!(
        pairs(r.labels.parsed()),
        p(&[("app_name", "x"), ("level_extracted", "error")])
    );
    assert_eq!(r.labels.all().len(), 4);
}

#[test]
fn json_errors_keep_the_line() {
    let got = run1(vec![json_all()], &[("app", "web")], "not json").unwrap();
    assert_eq!(got.0, "not json");
    assert_eq!(
        got.1,
        p(&[
            ("__error__", "JSONParserErr"),
            ("__error_details__", "value is not an object"),
            ("app", "web"),
        ])
    );
    // fields before the error stay
    let got = run1(vec![json_all()], &[], r#"{"a":"1","b":"#).unwrap();
    assert_eq!(
        got.1,
        p(&[
            ("__error__", "JSONParserErr"),
            ("__error_details__", "unexpected end of input"),
            ("a", "1"),
        ])
    );
    // the error filter drops it
    assert!(run1(vec![json_all(), no_error()], &[], "not json").is_none());
    assert!(run1(vec![json_all(), no_error()], &[], r#"{"ok":1}"#).is_some());
    // drop __error__ keeps the line without the error label
    let got = run1(
        vec![
            json_all(),
            Stage::Drop(vec![
                LabelSelection::Name(ERROR_LABEL.into()),
                LabelSelection::Name(ERROR_DETAILS_LABEL.into()),
            ]),
        ],
        &[("app", "web")],
        "oops",
    )
    .unwrap();
    assert_eq!(got.1, p(&[("app", "web")]));
}

#[test]
fn json_extraction_expressions() {
    let ex = |name: &str, expr: Option<&str>| LabelExtraction {
        name: name.into(),
        expr: expr.map(str::to_string),
    };
    let stages = vec![Stage::Json(vec![
        ex("first", Some("a.b[0]")),
        ex("quoted", Some(r#"["c d"]"#)),
        ex("obj", Some("o")),
        ex("missing", Some("nope.x")),
        ex("app", None),
    ])];
    let got = run1(
        stages,
        &[("app", "web")],
        r#"{"a":{"b":["x\"y",2]},"c d":7,"o":{"k":1},"app":"inner"}"#,
    )
    .unwrap();
    assert_eq!(
        got.1,
        p(&[
            ("app", "web"),
            ("app_extracted", "inner"),
            ("first", "x\"y"),
            ("missing", ""),
            ("obj", r#"{"k":1}"#),
            ("quoted", "7"),
        ])
    );
    // not JSON at all: error without details
    let got = run1(vec![Stage::Json(vec![ex("a", None)])], &[], "level=info").unwrap();
    assert_eq!(got.1, p(&[("__error__", "JSONParserErr")]));
    // invalid label name or path fails at build
    assert!(Pipeline::new(&[Stage::Json(vec![ex("1a", Some("x"))])]).is_err());
    assert!(Pipeline::new(&[Stage::Json(vec![ex("a", Some("x..y"))])]).is_err());
}

#[test]
fn logfmt_rules() {
    let line = r#"level=info msg="hello \"you\"" dur=15ms empty= flag status=200"#;
    let got = run1(vec![logfmt(false, false)], &[("level", "x")], line).unwrap();
    assert_eq!(got.0, line);
    assert_eq!(
        got.1,
        p(&[
            ("dur", "15ms"),
            ("level", "x"),
            ("level_extracted", "info"),
            ("msg", "hello \"you\""),
            ("status", "200"),
        ])
    );
    let got = run1(vec![logfmt(false, true)], &[], line).unwrap();
    assert_eq!(
        got.1,
        p(&[
            ("dur", "15ms"),
            ("empty", ""),
            ("flag", ""),
            ("level", "info"),
            ("msg", "hello \"you\""),
            ("status", "200"),
        ])
    );
}

#[test]
fn logfmt_strict_and_lenient_errors() {
    let line = "a=1 b=x\"y c=3";
    let got = run1(vec![logfmt(false, false)], &[], line).unwrap();
    assert_eq!(got.1, p(&[("a", "1"), ("c", "3")]));
    let got = run1(vec![logfmt(true, false)], &[], line).unwrap();
    assert_eq!(
        got.1,
        p(&[
            ("__error__", "LogfmtParserErr"),
            (
                "__error_details__",
                "logfmt syntax error at pos 8 : unexpected '\"'"
            ),
            ("a", "1"),
        ])
    );
    // extraction expressions: renamed, missing ones empty
    let got = run1(
        vec![Stage::Logfmt {
            strict: false,
            keep_empty: false,
            extractions: vec![
                LabelExtraction {
                    name: "lvl".into(),
                    expr: Some("level".into()),
                },
                LabelExtraction {
                    name: "gone".into(),
                    expr: None,
                },
            ],
        }],
        &[],
        "level=warn other=1",
    )
    .unwrap();
    assert_eq!(got.1, p(&[("gone", ""), ("lvl", "warn")]));
}

#[test]
fn regexp_parser() {
    let st = vec![Stage::Regexp(
        r"(?P<method>[A-Z]+) (?P<path>\S+)(?: (?P<code>\d+))?".into(),
    )];
    let got = run1(st.clone(), &[("path", "p")], "GET /index.html").unwrap();
    assert_eq!(
        got.1,
        p(&[
            ("code", ""),
            ("method", "GET"),
            ("path", "p"),
            ("path_extracted", "/index.html"),
        ])
    );
    // no match: line kept, no labels added
    let got = run1(st, &[], "lowercase only").unwrap();
    assert_eq!(got.1, p(&[]));
    assert_eq!(
        Pipeline::new(&[Stage::Regexp("(a)".into())]).err(),
        Some(PipelineError(
            "at least one named capture must be supplied".into()
        ))
    );
    assert!(Pipeline::new(&[Stage::Regexp("(?P<a>x".into())]).is_err());
}

#[test]
fn pattern_parser() {
    let st = vec![Stage::Pattern(
        r#"<ip> - - [<_>] "<method> <uri> <_>" <status> <size>"#.into(),
    )];
    let got = run1(
        st,
        &[("status", "s")],
        r#"10.0.0.1 - - [26/Nov/2026:10:00:00 +0000] "GET /a?b=1 HTTP/1.1" 404 512"#,
    )
    .unwrap();
    assert_eq!(
        got.1,
        p(&[
            ("ip", "10.0.0.1"),
            ("method", "GET"),
            ("size", "512"),
            ("status", "s"),
            ("status_extracted", "404"),
            ("uri", "/a?b=1"),
        ])
    );
    assert!(Pipeline::new(&[Stage::Pattern("<a><b>".into())]).is_err());
    assert!(Pipeline::new(&[Stage::Pattern("<_> x".into())]).is_err());
}

#[test]
fn unpack_promtail_entries() {
    let got = run1(
        vec![Stage::Unpack],
        &[("app", "s")],
        r#"{"_entry":"the \"original\" line","app":"x","pod":"p-1","n":5}"#,
    )
    .unwrap();
    assert_eq!(got.0, "the \"original\" line");
    assert_eq!(
        got.1,
        p(&[("app", "s"), ("app_extracted", "x"), ("pod", "p-1")])
    );
    // no _entry: nothing changes
    let got = run1(vec![Stage::Unpack], &[], r#"{"a":"b"}"#).unwrap();
    assert_eq!(got, (r#"{"a":"b"}"#.to_string(), p(&[])));
    // not an object
    let got = run1(vec![Stage::Unpack], &[], "plain").unwrap();
    assert_eq!(
        got.1,
        p(&[
            ("__error__", "JSONParserErr"),
            (
                "__error_details__",
                "expecting json object(3), but it is not"
            ),
        ])
    );
    // unpack then json on the unpacked line
    let got = run1(
        vec![Stage::Unpack, json_all()],
        &[],
        r#"{"_entry":"{\"level\":\"warn\"}","k":"v"}"#,
    )
    .unwrap();
    assert_eq!(got.0, r#"{"level":"warn"}"#);
    assert_eq!(got.1, p(&[("k", "v"), ("level", "warn")]));
}

#[test]
fn numeric_label_filters_and_errors() {
    let st = |e: LabelFilterExpr| vec![logfmt(false, false), Stage::LabelFilter(e)];
    assert!(run1(st(num("status", CmpOp::Ge, 400.0)), &[], "status=500").is_some());
    assert!(run1(st(num("status", CmpOp::Ge, 400.0)), &[], "status=200").is_none());
    assert!(run1(st(num("status", CmpOp::Eq, 200.0)), &[], "status=200").is_some());
    assert!(run1(st(num("status", CmpOp::Ne, 200.0)), &[], "status=200").is_none());
    assert!(run1(st(num("status", CmpOp::Lt, 1e3)), &[], "status=2e2").is_some());
    // missing label: dropped
    assert!(run1(st(num("status", CmpOp::Le, 1.0)), &[], "other=1").is_none());
    // not a number: kept with the error
    let got = run1(st(num("status", CmpOp::Gt, 1.0)), &[], "status=abc").unwrap();
    assert_eq!(
        got.1,
        p(&[
            ("__error__", "LabelFilterErr"),
            (
                "__error_details__",
                "strconv.ParseFloat: parsing \"abc\": invalid syntax"
            ),
            ("status", "abc"),
        ])
    );
    // a following error filter removes it
    let mut s = st(num("status", CmpOp::Gt, 1.0));
    s.push(no_error());
    assert!(run1(s, &[], "status=abc").is_none());
}

#[test]
fn duration_bytes_and_boolean_label_filters() {
    let st = |e: LabelFilterExpr| vec![logfmt(false, false), Stage::LabelFilter(e)];
    let dur = |op, v| LabelFilterExpr::Duration {
        name: "took".into(),
        op,
        value: v,
    };
    assert!(run1(st(dur(CmpOp::Gt, 0.25)), &[], "took=300ms").is_some());
    assert!(run1(st(dur(CmpOp::Gt, 0.25)), &[], "took=250ms").is_none());
    assert!(run1(st(dur(CmpOp::Eq, 90.0)), &[], "took=1m30s").is_some());
    let got = run1(st(dur(CmpOp::Gt, 1.0)), &[], "took=5").unwrap();
    assert_eq!(got.1[0], ("__error__".into(), "LabelFilterErr".into()));
    assert_eq!(
        got.1[1],
        (
            "__error_details__".into(),
            "time: missing unit in duration \"5\"".into()
        )
    );
    let bytes = |op, v| LabelFilterExpr::Bytes {
        name: "size".into(),
        op,
        value: v,
    };
    assert!(run1(st(bytes(CmpOp::Ge, 20_000.0)), &[], "size=20KB").is_some());
    assert!(run1(st(bytes(CmpOp::Gt, 20_000.0)), &[], "size=19.5KiB").is_none());
    assert!(run1(st(bytes(CmpOp::Gt, 20_000.0)), &[], "size=20KiB").is_some());
    // and / or, string matchers
    let e = LabelFilterExpr::Or(
        Box::new(LabelFilterExpr::And(
            Box::new(smatch(MatchOp::Equal, "level", "error")),
            Box::new(num("status", CmpOp::Ge, 500.0)),
        )),
        Box::new(smatch(MatchOp::Regex, "path", "/admin.*")),
    );
    assert!(run1(st(e.clone()), &[], "level=error status=503 path=/").is_some());
    assert!(run1(st(e.clone()), &[], "level=error status=404 path=/").is_none());
    assert!(run1(st(e.clone()), &[], "level=info status=200 path=/admin/x").is_some());
    // anchored regex: "x/admin" does not match "/admin.*"
    assert!(run1(st(e), &[], "level=info path=x/admin").is_none());
    // absent label compares as ""
    assert!(run1(st(smatch(MatchOp::Equal, "nope", "")), &[], "a=1").is_some());
    assert!(run1(st(smatch(MatchOp::NotEqual, "nope", "")), &[], "a=1").is_none());
    // ip()
    let ip = |negated| LabelFilterExpr::Ip {
        name: "addr".into(),
        negated,
        pattern: "192.168.0.0/16".into(),
    };
    assert!(run1(st(ip(false)), &[], "addr=192.168.4.2").is_some());
    assert!(run1(st(ip(false)), &[], "addr=10.0.0.1").is_none());
    assert!(run1(st(ip(true)), &[], "addr=10.0.0.1").is_some());
}

#[test]
fn drop_and_keep() {
    let dropped = run1(
        vec![
            logfmt(false, false),
            Stage::Drop(vec![
                LabelSelection::Name("a".into()),
                LabelSelection::Matcher(Matcher::new(MatchOp::Equal, "b", "2").unwrap()),
                LabelSelection::Matcher(Matcher::new(MatchOp::Equal, "c", "nope").unwrap()),
                LabelSelection::Name("app".into()),
            ]),
        ],
        &[("app", "web"), ("env", "prod")],
        "a=1 b=2 c=3",
    )
    .unwrap();
    assert_eq!(dropped.1, p(&[("c", "3"), ("env", "prod")]));
    let kept = run1(
        vec![
            logfmt(false, false),
            Stage::Keep(vec![
                LabelSelection::Name("a".into()),
                LabelSelection::Matcher(Matcher::new(MatchOp::Regex, "c", "[0-9]+").unwrap()),
                LabelSelection::Matcher(Matcher::new(MatchOp::Equal, "b", "9").unwrap()),
                LabelSelection::Name("env".into()),
            ]),
        ],
        &[("app", "web"), ("env", "prod")],
        "a=1 b=2 c=3",
    )
    .unwrap();
    assert_eq!(kept.1, p(&[("a", "1"), ("c", "3"), ("env", "prod")]));
    // keep leaves the error labels
    let kept = run1(
        vec![
            json_all(),
            Stage::Keep(vec![LabelSelection::Name("x".into())]),
        ],
        &[("app", "web")],
        "not json",
    )
    .unwrap();
    assert_eq!(
        kept.1,
        p(&[
            ("__error__", "JSONParserErr"),
            ("__error_details__", "value is not an object")
        ])
    );
    // drop of a stream label shows in the stream category
    let pl = Pipeline::new(&[Stage::Drop(vec![LabelSelection::Name("env".into())])]).unwrap();
    let stream = labels(&[("app", "web"), ("env", "prod")]);
    let mut sp = pl.for_stream(&stream);
    let r = sp.process(0, "x", &[]).unwrap();
    assert_eq!(pairs(r.labels.stream().as_slice()), p(&[("app", "web")]));
}

#[test]
fn decolorize_rewrites_the_line() {
    let got = run1(
        vec![Stage::Decolorize, lf(LineFilterOp::Contains, "red alert")],
        &[],
        "\u{1b}[31mred\u{1b}[0m alert",
    )
    .unwrap();
    assert_eq!(got.0, "red alert");
}

#[test]
fn line_filters_in_the_middle_see_parsed_state() {
    let stages = vec![
        logfmt(false, false),
        lf(LineFilterOp::NotContains, "debug"),
        Stage::LabelFilter(smatch(MatchOp::Equal, "app", "api")),
    ];
    assert!(run1(stages.clone(), &[], "app=api level=info").is_some());
    assert!(run1(stages.clone(), &[], "app=api level=debug").is_none());
    assert!(run1(stages, &[], "app=web level=info").is_none());
}

fn unwrap_pl(
    stages: Vec<Stage>,
    label: &str,
    conv: UnwrapConversion,
    post: Vec<LabelFilterExpr>,
) -> Pipeline {
    Pipeline::new(&stages)
        .unwrap()
        .with_unwrap(&Unwrap {
            label: label.into(),
            conversion: conv,
            post_filters: post,
        })
        .unwrap()
}

#[test]
fn unwrap_values_and_errors() {
    let stream = labels(&[("app", "web")]);
    let pl = unwrap_pl(
        vec![logfmt(false, false)],
        "latency",
        UnwrapConversion::None,
        vec![],
    );
    let mut sp = pl.for_stream(&stream);
    let r = sp.process(0, "latency=1.25 path=/a", &[]).unwrap();
    assert_eq!(r.value, Some(1.25));
    // the unwrapped label is gone
    assert_eq!(
        pairs(r.labels.all().as_slice()),
        p(&[("app", "web"), ("path", "/a")])
    );
    // conversion failure: value 0 and the error label
    let r = sp.process(0, "latency=slow", &[]).unwrap();
    assert_eq!(r.value, Some(0.0));
    assert_eq!(
        pairs(r.labels.all().as_slice()),
        p(&[
            ("__error__", "SampleExtractionErr"),
            (
                "__error_details__",
                "strconv.ParseFloat: parsing \"slow\": invalid syntax"
            ),
            ("app", "web"),
        ])
    );
    // missing or empty label: no sample
    assert!(sp.process(0, "other=1", &[]).is_none());
    assert!(sp.process(0, "latency=", &[]).is_none());

    let pl = unwrap_pl(
        vec![logfmt(false, false)],
        "took",
        UnwrapConversion::Duration,
        vec![smatch(MatchOp::Equal, ERROR_LABEL, "")],
    );
    let mut sp = pl.for_stream(&stream);
    assert_eq!(sp.process(0, "took=1m30s", &[]).unwrap().value, Some(90.0));
    assert_eq!(sp.process(0, "took=250ms", &[]).unwrap().value, Some(0.25));
    assert!(sp.process(0, "took=12", &[]).is_none());

    let pl = unwrap_pl(vec![json_all()], "size", UnwrapConversion::Bytes, vec![]);
    let mut sp = pl.for_stream(&stream);
    assert_eq!(
        sp.process(0, r#"{"size":"1.5KiB"}"#, &[]).unwrap().value,
        Some(1536.0)
    );
    assert_eq!(
        sp.process(0, r#"{"size":"2 MB"}"#, &[]).unwrap().value,
        Some(2e6)
    );
    // a stream label can be unwrapped too
    let pl = unwrap_pl(vec![], "app", UnwrapConversion::None, vec![]);
    let nums = labels(&[("app", "7"), ("x", "y")]);
    let mut sp = pl.for_stream(&nums);
    let r = sp.process(0, "line", &[]).unwrap();
    assert_eq!(r.value, Some(7.0));
    assert_eq!(pairs(r.labels.all().as_slice()), p(&[("x", "y")]));
}

#[test]
fn pushdown_splits_leading_filters() {
    let stages = vec![
        lf(LineFilterOp::Contains, "needle"),
        lf(LineFilterOp::Regex, "err(or)? code=5\\d\\d"),
        lf(LineFilterOp::NotContains, "debug"),
        json_all(),
        lf(LineFilterOp::Contains, "later"),
    ];
    let (push, rest) = Pipeline::with_pushdown(&stages).unwrap();
    let push = push.unwrap();
    assert_eq!(
        push.required_substrings(),
        vec![b"needle".to_vec(), b"err".to_vec(), b" code=5".to_vec()]
    );
    assert!(push.matches("needle error code=503"));
    assert!(!push.matches("needle error code=503 debug"));
    assert!(!push.matches("error code=503"));
    // the rest: json, then the later filter
    let stream = labels(&[]);
    let mut sp = rest.for_stream(&stream);
    assert!(sp.process(0, r#"{"m":"later"}"#, &[]).is_some());
    assert!(sp.process(0, r#"{"m":"needle"}"#, &[]).is_none());
    // no leading filter: no push-down
    let (none, all) = Pipeline::with_pushdown(&[json_all()]).unwrap();
    assert!(none.is_none());
    assert!(!all.is_noop());
    assert!(Pipeline::new(&[]).unwrap().is_noop());
    // or / negations promise nothing
    let or = Stage::LineFilter(LineFilter {
        op: LineFilterOp::Contains,
        values: vec![
            LineFilterValue::Literal("a".into()),
            LineFilterValue::Literal("b".into()),
        ],
    });
    let (push, _) = Pipeline::with_pushdown(&[or, lf(LineFilterOp::NotContains, "c")]).unwrap();
    let push = push.unwrap();
    assert!(push.required_substrings().is_empty());
    assert!(push.matches("xbx"));
    assert!(!push.matches("xbc"));
}

#[test]
fn structured_metadata_is_its_own_category() {
    let pl = Pipeline::new(&[logfmt(false, false)]).unwrap();
    let stream = labels(&[("app", "web")]);
    let mut sp = pl.for_stream(&stream);
    let md = vec![
        Label::new("app", "m"),
        Label::new("trace_id", "abc"),
        Label::new("user", "u1"),
    ];
    let r = sp.process(0, "user=u2 level=info", &md).unwrap();
    assert_eq!(pairs(r.labels.stream().as_slice()), p(&[("app", "web")]));
    assert_eq!(
        pairs(r.labels.structured_metadata()),
        p(&[("app_extracted", "m"), ("trace_id", "abc")])
    );
    assert_eq!(
        pairs(r.labels.parsed()),
        p(&[("level", "info"), ("user", "u2")])
    );
    assert_eq!(
        pairs(r.labels.all().as_slice()),
        p(&[
            ("app", "web"),
            ("app_extracted", "m"),
            ("level", "info"),
            ("trace_id", "abc"),
            ("user", "u2"),
        ])
    );
    // a pure line filter pipeline with metadata still reports it
    let pl = Pipeline::new(&[lf(LineFilterOp::Contains, "x")]).unwrap();
    let mut sp = pl.for_stream(&stream);
    let r = sp.process(0, "x", &md[1..2]).unwrap();
    assert_eq!(
        pairs(r.labels.structured_metadata()),
        p(&[("trace_id", "abc")])
    );
    assert_eq!(r.labels.all().len(), 2);
    assert!(sp.process(0, "y", &md[1..2]).is_none());
}

#[test]
fn results_are_reused_and_rebuilt_exactly() {
    let pl = Pipeline::new(&[logfmt(false, false)]).unwrap();
    let stream = labels(&[("app", "web")]);
    let mut sp = pl.for_stream(&stream);
    let h1 = {
        let r = sp.process(0, "level=info", &[]).unwrap();
        assert_eq!(pairs(r.labels.parsed()), p(&[("level", "info")]));
        r.labels.hash64()
    };
    let h2 = {
        let r = sp.process(1, "level=info", &[]).unwrap();
        assert_eq!(pairs(r.labels.parsed()), p(&[("level", "info")]));
        r.labels.hash64()
    };
    assert_eq!(h1, h2);
    let r = sp.process(2, "level=warn", &[]).unwrap();
    assert_eq!(pairs(r.labels.parsed()), p(&[("level", "warn")]));
    assert_ne!(r.labels.hash64(), h1);
    assert_eq!(r.labels.hash64(), r.labels.all().hash64());
    let r = sp.process(3, "nothing=", &[]).unwrap();
    assert_eq!(pairs(r.labels.all().as_slice()), p(&[("app", "web")]));
}

#[test]
fn line_format_and_label_format() {
    let st = |q: &str| parsed_stages(q);
    let got = run1(
        st(r#"{app="web"} | logfmt | line_format "{{.level}}: {{.msg}} ({{.app}})""#),
        &[("app", "web")],
        "level=info msg=hi",
    )
    .unwrap();
    assert_eq!(got.0, "info: hi (web)");
    assert_eq!(
        got.1,
        p(&[("app", "web"), ("level", "info"), ("msg", "hi")])
    );
    // a filter after line_format sees the new line
    assert!(run1(
        st(r#"{app="web"} | logfmt | line_format "{{.msg}}" |= "hi" "#),
        &[],
        "msg=hi level=x"
    )
    .is_some());
    assert!(run1(
        st(r#"{app="web"} | logfmt | line_format "{{.msg}}" |= "level" "#),
        &[],
        "msg=hi level=x"
    )
    .is_none());
    // template error: line kept, error labels set
    let got = run1(
        st(r#"{app="web"} | line_format "{{ div 1 0 }}""#),
        &[],
        "original",
    )
    .unwrap();
    assert_eq!(got.0, "original");
    assert_eq!(got.1[0], ("__error__".into(), "TemplateFormatErr".into()));
    assert_eq!(got.1[1].0, "__error_details__");
    // label_format: rename moves the value, template sets a parsed label
    let pl = Pipeline::new(&st(
        r#"{app="web"} | logfmt | label_format lvl=level, who="{{.user}}@{{.app}}""#,
    ))
    .unwrap();
    let stream = labels(&[("app", "web")]);
    let mut sp = pl.for_stream(&stream);
    let r = sp.process(0, "level=warn user=ann", &[]).unwrap();
    assert_eq!(
        pairs(r.labels.parsed()),
        p(&[("lvl", "warn"), ("user", "ann"), ("who", "ann@web")])
    );
    assert_eq!(pairs(r.labels.stream().as_slice()), p(&[("app", "web")]));
    // label_format over a stream label: the parsed value wins
    let got = run1(
        st(r#"{app="web"} | label_format app="{{.app}}-x""#),
        &[("app", "web")],
        "l",
    )
    .unwrap();
    assert_eq!(got.1, p(&[("app", "web-x")]));
    // bad templates fail at build
    assert!(Pipeline::new(&[Stage::LineFormat("{{ .a ".into())]).is_err());
}

#[test]
fn pipelines_can_be_shared_across_threads() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let pl = Pipeline::new(&[json_all()]).unwrap();
    send_sync(&pl);
    let (push, _) = Pipeline::with_pushdown(&[lf(LineFilterOp::Contains, "a")]).unwrap();
    assert!(push.is_some_and(|p| p.matches("abc")));
    assert_eq!(format!("{pl:?}"), "Pipeline { stages: 1, unwrap: None }");
}

/// The stages of a parsed log query.
fn parsed_stages(q: &str) -> Vec<Stage> {
    match crate::logql::parse(q) {
        Ok(crate::logql::ast::Expr::Log(l)) => l.stages,
        other => panic!("not a log query: {q}: {other:?}"),
    }
}

/// The pipeline and unwrap of a parsed range aggregation.
fn parsed_unwrap_pipeline(q: &str) -> Pipeline {
    match crate::logql::parse(q) {
        Ok(crate::logql::ast::Expr::Sample(crate::logql::ast::SampleExpr::RangeAgg(ra))) => {
            let pl = Pipeline::new(&ra.range.selector.stages).unwrap();
            match &ra.range.unwrap {
                Some(u) => pl.with_unwrap(u).unwrap(),
                None => pl,
            }
        }
        other => panic!("not a range aggregation: {q}: {other:?}"),
    }
}

#[test]
fn parsed_queries_run_end_to_end() {
    let run = |q: &str, line: &str| run1(parsed_stages(q), &[("app", "web")], line);
    let q = r#"{app="web"} |= "GET" | logfmt | status >= 400 or level="error""#;
    assert_eq!(
        run(q, "method=GET status=503").map(|r| r.1),
        Some(p(&[("app", "web"), ("method", "GET"), ("status", "503")]))
    );
    assert!(run(q, "method=GET status=200 level=info").is_none());
    assert!(run(q, "method=POST status=503").is_none());

    let q = r#"{app="web"} |~ "(?i)timeout" != "retry" | pattern "<_> took <took>""#;
    assert_eq!(
        run(q, "GET TIMEOUT took 3s").map(|r| r.1),
        Some(p(&[("app", "web"), ("took", "3s")]))
    );
    assert!(run(q, "timeout, retry took 3s").is_none());

    let q = r#"{app="web"} | json | size > 20KB and took > 250ms"#;
    assert!(run(q, r#"{"size":"30kb","took":"1s"}"#).is_some());
    assert!(run(q, r#"{"size":"3kb","took":"1s"}"#).is_none());
    assert!(run(q, r#"{"size":"30kb","took":"100ms"}"#).is_none());

    let q = r#"{app="web"} |= ip("10.0.0.0/8") | regexp "from (?P<src>\\S+)""#;
    assert_eq!(
        run(q, "conn from 10.2.3.4:555").map(|r| r.1),
        Some(p(&[("app", "web"), ("src", "10.2.3.4:555")]))
    );
    assert!(run(q, "conn from 11.2.3.4").is_none());

    let q = r#"{app="web"} | json | drop __error__, __error_details__ | keep app"#;
    assert_eq!(run(q, "broken").map(|r| r.1), Some(p(&[("app", "web")])));
}

#[test]
fn parsed_unwrap_queries() {
    let pl = parsed_unwrap_pipeline(
        r#"sum_over_time({app="web"} | logfmt | unwrap duration(took) | __error__="" [1m])"#,
    );
    let stream = labels(&[("app", "web")]);
    let mut sp = pl.for_stream(&stream);
    let r = sp.process(0, "took=1.5s path=/x", &[]).unwrap();
    assert_eq!(r.value, Some(1.5));
    assert_eq!(
        pairs(r.labels.all().as_slice()),
        p(&[("app", "web"), ("path", "/x")])
    );
    assert!(sp.process(0, "took=fast", &[]).is_none());
    let pl =
        parsed_unwrap_pipeline(r#"max_over_time({app="web"} | json | unwrap bytes(size) [5m])"#);
    let mut sp = pl.for_stream(&stream);
    assert_eq!(
        sp.process(0, r#"{"size":"1MiB"}"#, &[]).unwrap().value,
        Some(1_048_576.0)
    );
}
