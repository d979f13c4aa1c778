//! Parser tests: the vendored Prometheus scripts parse and round-trip
//! through `Display`, precedence and associativity, duration expressions,
//! and error messages worded as Prometheus words them.

use super::*;

fn p(q: &str) -> Expr {
    match parse(q) {
        Ok(e) => e,
        Err(e) => panic!("{q}: {e}"),
    }
}

fn s(q: &str) -> String {
    p(q).to_string()
}

fn e(q: &str) -> String {
    match parse(q) {
        Ok(x) => panic!("{q} parsed as {x}"),
        Err(e) => e.to_string(),
    }
}

/// Every `eval` expression of the vendored scripts, with whether it is
/// expected to fail.
fn script_queries() -> Vec<(String, String, bool)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/testdata/promql");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    for f in files {
        if f.extension().is_none_or(|x| x != "test") {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        for (i, l) in lines.iter().enumerate() {
            let Some(cmd) = l.split_whitespace().next() else {
                continue;
            };
            if !cmd.starts_with("eval") {
                continue;
            }
            let words: Vec<&str> = l
                .splitn(if l.contains(" range ") { 9 } else { 5 }, ' ')
                .collect();
            let Some(q) = words.last() else { continue };
            let mut fails = cmd == "eval_fail";
            for next in &lines[i + 1..] {
                if next.is_empty() || next.starts_with("eval") {
                    break;
                }
                if next.starts_with("expect fail") || next.starts_with("expected_fail") {
                    fails = true;
                }
            }
            out.push((format!("{}:{}", f.display(), i + 1), q.to_string(), fails));
        }
    }
    out
}

#[test]
fn every_script_expression_parses_and_round_trips() {
    let qs = script_queries();
    assert!(qs.len() > 2000, "found only {} eval lines", qs.len());
    let mut bad = Vec::new();
    for (at, q, fails) in &qs {
        match parse(q) {
            Ok(ast) => {
                let printed = ast.to_string();
                match parse(&printed) {
                    Ok(again) if again == ast => {}
                    Ok(again) => bad.push(format!(
                        "{at}: {q}\n  printed {printed}\n  reparsed {again}"
                    )),
                    Err(e) => bad.push(format!("{at}: {q}\n  printed {printed}\n  fails: {e}")),
                }
                let pretty = ast.prettify();
                if parse(&pretty).ok().as_ref() != Some(&ast) {
                    bad.push(format!("{at}: {q}\n  prettified {pretty} does not reparse"));
                }
            }
            Err(_) if *fails => {}
            Err(e) => bad.push(format!("{at}: {q}\n  {e}")),
        }
    }
    assert!(
        bad.is_empty(),
        "{} problems:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn precedence_and_associativity() {
    assert_eq!(s("1 + 2 * 3"), "1 + 2 * 3");
    let Expr::Binary(b) = p("a + b * c") else {
        panic!()
    };
    assert_eq!(b.op, BinOp::Add);
    let Expr::Binary(b) = p("a - b - c") else {
        panic!()
    };
    assert!(matches!(*b.lhs, Expr::Binary(_)), "left-associative");
    let Expr::Binary(b) = p("a ^ b ^ c") else {
        panic!()
    };
    assert!(matches!(*b.rhs, Expr::Binary(_)), "^ is right-associative");
    let Expr::Binary(b) = p("a or b and c") else {
        panic!()
    };
    assert_eq!(b.op, BinOp::Or);
    let Expr::Binary(b) = p("a and b unless c") else {
        panic!()
    };
    assert_eq!(b.op, BinOp::Unless);
    let Expr::Binary(b) = p("a == b + c") else {
        panic!()
    };
    assert_eq!(b.op, BinOp::Eql);
    let Expr::Binary(b) = p("a atan2 b + c") else {
        panic!()
    };
    assert_eq!(b.op, BinOp::Add);
    // Unary minus binds like `*`, below `^`.
    let Expr::Unary(u) = p("-a ^ b") else {
        panic!()
    };
    assert!(matches!(*u.expr, Expr::Binary(_)));
    let Expr::Binary(b) = p("-a * b") else {
        panic!()
    };
    assert!(matches!(*b.lhs, Expr::Unary(_)));
    let Expr::NumberLiteral(n) = p("-2") else {
        panic!()
    };
    assert_eq!(n.val, -2.0);
    // Offsets bind tighter than operators.
    let Expr::Binary(b) = p("x offset 5m + 1") else {
        panic!()
    };
    assert!(matches!(*b.lhs, Expr::VectorSelector(_)));
}

#[test]
fn modifiers_and_printing() {
    assert_eq!(s("sum(x) by (a)"), "sum by (a) (x)");
    assert_eq!(s("sum without(a,b)(x)"), "sum without (a, b) (x)");
    assert_eq!(s("topk(3, x)"), "topk(3, x)");
    assert_eq!(
        s("a + on(b) group_left(c) d"),
        "a + on (b) group_left (c) d"
    );
    assert_eq!(s("a > bool b"), "a > bool b");
    assert_eq!(s("a + ignoring(x) b"), "a + ignoring (x) b");
    assert_eq!(s("a + fill(0) b"), "a + fill (0) b");
    assert_eq!(
        s("a + fill_left(1) fill_right(2) b"),
        "a + fill_left (1) fill_right (2) b"
    );
    assert_eq!(s("x offset 5m @ 100"), "x @ 100.000 offset 5m");
    assert_eq!(s("x @ start() offset -1m"), "x @ start() offset -1m");
    assert_eq!(s("rate(x[90s] anchored)"), "rate(x[1m30s] anchored)");
    assert_eq!(s("x[5m:] offset 1m"), "x[5m:] offset 1m");
    assert_eq!(s("x[5m:1m] @ end()"), "x[5m:1m] @ end()");
    assert_eq!(s(r#"{__name__="a", b!~"c"}"#), r#"{__name__="a",b!~"c"}"#);
    assert_eq!(
        s(r#"{"my.metric", "a.b"="x"}"#),
        r#"{"a.b"="x",__name__="my.metric"}"#
    );
    assert_eq!(s(r#"x{b="1",a="2"}"#), r#"x{a="2",b="1"}"#);
    assert_eq!(s("'a\\'b'"), r#""a'b""#);
    assert_eq!(s("0x1F"), "31");
    assert_eq!(s("0755"), "493");
    assert_eq!(s("08"), "8");
    assert_eq!(s(".5"), "0.5");
    assert_eq!(s("5."), "5");
    assert_eq!(s("-1^2"), "-1 ^ 2");
    assert_eq!(s("1e3"), "1000");
    assert_eq!(s("Inf"), "+Inf");
    assert_eq!(s("-Inf"), "-Inf");
    assert_eq!(s("NaN"), "NaN");
    assert_eq!(s("5m"), "5m");
    assert_eq!(s("x offset 100"), "x offset 1m40s");
    assert_eq!(s("SUM(x) BY (a)"), "sum by (a) (x)");
    assert_eq!(s("sum by (on, bool) (x)"), "sum by (on, bool) (x)");
    assert_eq!(s("x # comment\n + 1"), "x + 1");
    assert_eq!(s("offset"), "offset");
    assert_eq!(s("sum"), "sum");
}

#[test]
fn duration_expressions() {
    assert_eq!(s("x[1h/2]"), "x[1h / 2]");
    assert_eq!(s("x[5m+30s:STEP()]"), "x[5m + 30s:step()]");
    assert_eq!(s("x offset (2*1m)"), "x offset (2 * 1m)");
    assert_eq!(s("x offset -step()*2"), "x offset -step() * 2");
    assert_eq!(
        s("x offset min_of(step(), 1s)+8000"),
        "x offset min_of(step(), 1s) + 8000"
    );
    assert_eq!(s("x[(5m)]"), "x[5m]");
    let mut q = p("count_over_time(x[1+(STep()-5)*2])");
    q.resolve_durations(10_000, 0).unwrap();
    let Expr::Call(c) = &q else { panic!() };
    let Expr::MatrixSelector(ms) = &c.args[0] else {
        panic!()
    };
    assert_eq!(ms.range.ms(), 11_000);
    let mut q = p("x offset -(min_of(step(), 2s)-5)+8000");
    q.resolve_durations(5_000, 0).unwrap();
    let Expr::Binary(b) = &q else { panic!() };
    let Expr::VectorSelector(vs) = &*b.lhs else {
        panic!()
    };
    assert_eq!(vs.offset_ms(), 3_000);
    // step() is 0 in an instant query: a range of it is an error then.
    let mut q = p("count_over_time(x[step()])");
    assert_eq!(
        q.resolve_durations(0, 0),
        Err("duration must be greater than 0".to_string())
    );
    let mut q = p("min_of(3, range())");
    q.resolve_durations(0, 60_000).unwrap();
    let Expr::Duration(d) = &q else { panic!() };
    assert_eq!(d.secs(), 3.0);
    assert!(e("x[1h/0]").ends_with("division by zero"));
    assert!(e("x[0]").ends_with("duration must be greater than 0"));
}

#[test]
fn error_messages() {
    assert_eq!(e(""), "1:1: parse error: no expression found in input");
    assert_eq!(
        e("rate(x)"),
        r#"1:6: parse error: expected type range vector in call to function "rate", got instant vector"#
    );
    assert_eq!(e("sum(x"), "1:6: parse error: unclosed left parenthesis");
    assert_eq!(
        e("x @"),
        "1:4: parse error: unexpected end of input in @, expected timestamp"
    );
    assert_eq!(
        e("{}"),
        "1:1: parse error: vector selector must contain at least one non-empty matcher"
    );
    assert_eq!(
        e(r#"foo{__name__="bar"}"#),
        r#"1:1: parse error: metric name must not be set twice: "foo" or "bar""#
    );
    assert_eq!(
        e("nope(x)"),
        r#"1:1: parse error: unknown function with name "nope""#
    );
    assert_eq!(
        e("1 == 1"),
        "1:3: parse error: comparisons between scalars must use BOOL modifier"
    );
    assert_eq!(
        e("a + bool b"),
        "1:3: parse error: bool modifier can only be used on comparison operators"
    );
    assert_eq!(
        e("1 and x"),
        "1:1: parse error: set operator \"and\" not allowed in binary scalar expression"
    );
    assert_eq!(e("sum(x) offset 5m"), "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery");
    assert_eq!(
        e("x offset 5m[1m]"),
        "1:12: parse error: no offset modifiers allowed before range"
    );
    assert_eq!(
        e("(x)[1m]"),
        "1:4: parse error: ranges only allowed for vector selectors"
    );
    assert_eq!(e("topk(x)"), "1:1: parse error: wrong number of arguments for aggregate expression provided, expected 2, got 1");
    assert_eq!(
        e("label_join(x)"),
        r#"1:1: parse error: expected at least 3 argument(s) in call to "label_join", got 1"#
    );
    assert_eq!(
        e("round(x, 1, 2)"),
        r#"1:1: parse error: expected at most 2 argument(s) in call to "round", got 3"#
    );
    assert_eq!(
        e("time(1)"),
        r#"1:1: parse error: expected 0 argument(s) in call to "time", got 1"#
    );
    assert_eq!(
        e("rate(x[1m],)"),
        "1:11: parse error: trailing commas not allowed in function call args"
    );
    assert_eq!(
        e("x{a=1}"),
        "1:5: parse error: unexpected character inside braces: '1'"
    );
    assert_eq!(e("-x[1m]"), "1:1: parse error: unary expression only allowed on expressions of type scalar or instant vector, got \"range vector\"");
    assert!(crate::promql::parser::parse("deriv(x[3m] smoothed)").is_ok());
    assert_eq!(
        e("x anchored smoothed"),
        "1:1: parse error: anchored and smoothed modifiers cannot be used together"
    );
    assert_eq!(
        e("a + on(b) group_left(b) c"),
        "1:3: parse error: label \"b\" must not occur in ON and GROUP clause at once"
    );
    assert_eq!(e("1 +"), "1:4: parse error: unexpected end of input");
    assert_eq!(e("x[5m"), "1:5: parse error: unclosed left bracket");
    assert_eq!(
        e("x @ Inf"),
        "1:5: parse error: timestamp out of bounds for @ modifier: +Inf"
    );
    assert_eq!(
        e("a !x"),
        "1:3: parse error: unexpected character after '!': 'x'"
    );
    assert_eq!(e("a $ b"), "1:3: parse error: unexpected character: '$'");
    assert_eq!(
        e("0deadbeef"),
        "1:1: parse error: bad number or duration syntax: \"0de\""
    );
    assert_eq!(
        e("1a"),
        "1:1: parse error: bad number or duration syntax: \"1\""
    );
    assert_eq!(e("100..4"), "1:5: parse error: unexpected number \".4\"");
    assert_eq!(e("2.5."), "1:4: parse error: unexpected character: '.'");
    assert_eq!(e("1 /"), "1:4: parse error: unexpected end of input");
    assert_eq!(e("*1"), "1:1: parse error: unexpected <op:*>");
    assert_eq!(
        e("(1))"),
        "1:4: parse error: unexpected right parenthesis ')'"
    );
    assert!(e(&"9".repeat(400)).contains("error parsing number"));
    assert_eq!(
        e("a - on(b) ignoring(c) d"),
        "1:11: parse error: unexpected <ignoring>"
    );
    assert!(e("x[1.5h]").ends_with("not a valid duration string: \"1.5h\""));
    // More of Prometheus' own parse-test cases.
    for (q, want) in [
        ("foo{gibberish}", r#"unexpected "}" in label matching, expected label matching operator"#),
        (r#"{x=~".*"}"#, "vector selector must contain at least one non-empty matcher"),
        (r#"{x!="a"}"#, "vector selector must contain at least one non-empty matcher"),
        ("foo{__name__= =}", r#"1:15: parse error: unexpected "=" in label matching, expected string"#),
        (r#"foo{__name__ == "bar"}"#, r#"1:15: parse error: unexpected "=" in label matching, expected string"#),
        ("foo{,}", r#"unexpected "," in label matching, expected identifier or "}""#),
        (r#"foo{__name__="bar" lol}"#, r#"unexpected identifier "lol" in label matching, expected "," or "}""#),
        ("sum without(==)(some_metric)", "unexpected <op:==> in grouping opts, expected label"),
        ("sum without(,)(some_metric)", r#"unexpected "," in grouping opts, expected label"#),
        ("sum some_metric by (test)", r#"unexpected identifier "some_metric""#),
        ("sum (some_metric) by test", r#"unexpected identifier "test" in grouping opts"#),
        ("sum () by (test)", "no arguments for aggregate expression provided"),
        ("MIN keep_common (some_metric)", r#"1:5: parse error: unexpected identifier "keep_common""#),
        ("sum (some_metric) without (test) by (test)", "unexpected <by>"),
        ("topk(some_metric, other_metric)", "1:6: parse error: expected type scalar in aggregation parameter, got instant vector"),
        ("rate(some_metric[5m]) @ 1234", "1:1: parse error: @ modifier must be preceded by an instant vector selector or range vector selector or a subquery"),
        ("some_metric OFFSET 1m[5m]", "1:22: parse error: no offset modifiers allowed before range"),
        ("some_metric @ 1234 [5m]", "1:20: parse error: no @ modifiers allowed before range"),
        ("(foo + bar)[5m]", "1:12: parse error: ranges only allowed for vector selectors"),
        ("foo[5m1h]", r#"not a valid duration string: "5m1h""#),
        ("foo[0m]", "duration must be greater than 0"),
        ("1 offset 1d", "1:1: parse error: offset modifier must be preceded by an instant vector selector or range vector selector or a subquery"),
        ("foo offset 1s offset 2s", "offset may not be set multiple times"),
        ("(", "unclosed left parenthesis"),
        ("((1)", "unclosed left parenthesis"),
        (r#"-"string""#, r#"unary expression only allowed on expressions of type scalar or instant vector, got "string""#),
        ("1 !~ 1", "unexpected character after '!': '~'"),
        ("1 =~ 1", "unexpected character after '=': '~'"),
        (r#""\c""#, "unknown escape sequence U+0063 'c'"),
        (r#""\x.""#, "illegal character U+002E '.' in escape sequence"),
        (r#""\"#, "escape sequence not terminated"),
        ("`\\``", "unterminated raw string"),
        ("-=", r#"unexpected "=""#),
        ("++-++-+-+-<", "unexpected <op:<>"),
        ("e-+=/(0)", r#"unexpected "=""#),
        ("a>b()", "unknown function"),
        ("rate(avg)", "expected type range vector"),
        ("floor()", r#"expected 1 argument(s) in call to "floor", got 0"#),
        ("floor(1)", r#"expected type instant vector in call to function "floor", got scalar"#),
        ("hour(some_metric, some_metric, some_metric)", r#"expected at most 1 argument(s) in call to "hour", got 3"#),
    ] {
        let got = e(q);
        assert!(got.contains(want), "{q}: got {got:?}, want {want:?}");
    }
    // Errors are reported left to right, and long inputs stay cheap.
    let q = format!("({}){}", "-{}-1".repeat(10_000), "[1m:]".repeat(1000));
    assert_eq!(
        e(&q),
        "1:3: parse error: vector selector must contain at least one non-empty matcher"
    );
    assert_eq!(e("\"abc"), "1:1: parse error: unterminated quoted string");
    assert_eq!(
        e("sum by (a b) (x)"),
        "1:11: parse error: unexpected identifier \"b\" in grouping opts, expected \",\" or \")\""
    );
    assert_eq!(e("x offset"), "1:9: parse error: unexpected end of input in offset, expected number, duration, step(), or range()");
    assert_eq!(e("x[5m:1m"), "1:8: parse error: unclosed left bracket");
    assert_eq!(
        e("count_values(1, x)"),
        r#"1:14: parse error: expected type string in aggregation parameter, got scalar"#
    );
}

#[test]
fn selectors_and_positions() {
    let vs = parse_selector(r#"up{job=~"a.*"}"#).unwrap();
    assert_eq!(vs.name.as_deref(), Some("up"));
    assert_eq!(vs.matchers.len(), 2);
    assert!(parse_selector("up + 1").is_err());
    assert!(parse_selector("{}").is_err());
    let Expr::Call(c) = p("rate(foo[5m])") else {
        panic!()
    };
    assert_eq!((c.span.start, c.span.end), (0, 13));
    assert_eq!((c.args[0].span().start, c.args[0].span().end), (5, 12));
    assert_eq!(
        position_suffix("rate(foo[5m])", c.args[0].span().start),
        " (1:6)"
    );
    let Expr::Binary(b) = p("a +\n  b offset 1m") else {
        panic!()
    };
    assert_eq!((b.rhs.span().start, b.rhs.span().end), (6, 17));
    assert_eq!(position_suffix("a +\n  b offset 1m", 6), " (2:3)");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    // Runs in a 2 MiB thread, as the query workers do.
    let run = |q: String| {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || parse(&q).map(|_| ()).map_err(|e| e.to_string()))
            .map_err(|e| e.to_string())
            .and_then(|h| h.join().map_err(|_| "panicked".to_string()))
    };
    let nested = |n: usize| format!("{}vector(1){}", "abs(".repeat(n), ")".repeat(n));
    assert_eq!(run(nested(150)), Ok(Ok(())));
    let deep = run(nested(100_000));
    assert!(
        matches!(&deep, Ok(Err(m)) if m.contains("too deeply nested")),
        "{deep:?}"
    );
    let parens = run(format!("{}1{}", "(".repeat(100_000), ")".repeat(100_000)));
    assert!(
        matches!(&parens, Ok(Err(m)) if m.contains("too deeply nested")),
        "{parens:?}"
    );
    assert_eq!(run(format!("1{}", " + 1".repeat(5000))), Ok(Ok(())));
}

mod fuzz {
    use super::super::parse;
    use proptest::prelude::*;

    /// Fragments of PromQL, glued together at random.
    const PIECES: &[&str] = &[
        "x",
        "up",
        "sum",
        "rate",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "5m",
        "1",
        "0x1f",
        "Inf",
        "NaN",
        "\"a\"",
        "'b'",
        "`c`",
        "=",
        "!=",
        "=~",
        "!~",
        "+",
        "-",
        "*",
        "/",
        "^",
        "%",
        "==",
        ">",
        "<=",
        "and",
        "or",
        "unless",
        "atan2",
        "bool",
        "on",
        "ignoring",
        "group_left",
        "by",
        "without",
        "offset",
        "@",
        "start()",
        "end()",
        "step()",
        "range()",
        "min_of",
        "anchored",
        "smoothed",
        "fill",
        "topk",
        "info",
        "label_replace",
        "#",
        "\n",
        " ",
        "\\",
        "é",
        "</",
    ];

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2000,
            // A fixed seed: the same cases every run, so CI cannot flake.
            rng_seed: proptest::test_runner::RngSeed::Fixed(26301),
            ..ProptestConfig::default()
        })]

        /// Any input parses or fails cleanly, and whatever parses prints to
        /// something that parses to the same tree.
        #[test]
        fn never_panics_and_round_trips(idx in proptest::collection::vec(0..64usize, 0..24)) {
            let p = PIECES;
            let q: String = idx.iter().map(|&i| p[i % p.len()]).collect::<Vec<_>>().join(" ");
            if let Ok(e) = parse(&q) {
                let printed = e.to_string();
                let again = parse(&printed);
                prop_assert!(again.as_ref().ok() == Some(&e), "{q:?} -> {printed:?} -> {again:?}");
                let _ = e.prettify();
            }
        }

        /// Arbitrary bytes never panic the parser.
        #[test]
        fn arbitrary_text_never_panics(q in "\\PC{0,40}") {
            let _ = parse(&q);
        }
    }
}
