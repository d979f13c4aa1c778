//! Invalid queries with their exact messages and positions: syntax errors
//! (1-based line and column of the offending token) and Tempo's semantic
//! checks (no position).

use super::super::{parse, ParseError};

/// `(query, line, col, message)`.
const SYNTAX: &[(&str, usize, usize, &str)] = &[
    ("{ .a = }", 1, 8, "syntax error: unexpected CLOSE_BRACE"),
    ("{ .a = 1", 1, 9, "syntax error: unexpected $end"),
    ("{ .a = 1 } &&", 1, 14, "syntax error: unexpected $end"),
    (
        "{ .a = 1 } | count()",
        1,
        21,
        "syntax error: unexpected $end",
    ),
    (
        "{ .a = 1 } | coalesce",
        1,
        22,
        "syntax error: unexpected $end, expecting OPEN_PARENS",
    ),
    ("coalesce()", 1, 1, "syntax error: unexpected COALESCE"),
    (
        "{ span:foo = 1 }",
        1,
        8,
        "syntax error: unexpected IDENTIFIER",
    ),
    (
        "{ event:foo = 1 }",
        1,
        9,
        "syntax error: unexpected IDENTIFIER, expecting NAME or TIMESINCESTART",
    ),
    (
        "{ link:traceId = 1 }",
        1,
        8,
        "syntax error: unexpected IDENTIFIER, expecting TRACE_ID or SPAN_ID",
    ),
    ("{ foo = 1 }", 1, 3, "syntax error: unexpected IDENTIFIER"),
    (
        "{ . = 1 }",
        1,
        3,
        "syntax error: unexpected END_ATTRIBUTE, expecting IDENTIFIER",
    ),
    ("{ .a = \"abc }", 1, 8, "literal not terminated"),
    ("{ .a = \"\\q\" }", 1, 8, "invalid char escape"),
    ("{ .a = 1 } + 1", 1, 12, "syntax error: unexpected ADD"),
    ("count() && {}", 1, 9, "syntax error: unexpected AND"),
    ("{} && count()", 1, 7, "syntax error: unexpected COUNT"),
    ("{} | by(.a", 1, 11, "syntax error: unexpected $end"),
    (
        "{} | select()",
        1,
        13,
        "syntax error: unexpected CLOSE_PARENS",
    ),
    ("{} | select(1)", 1, 13, "syntax error: unexpected INTEGER"),
    (
        "{} | count(.a) > 1",
        1,
        12,
        "syntax error: unexpected DOT, expecting CLOSE_PARENS",
    ),
    (
        "{} | avg() > 1",
        1,
        10,
        "syntax error: unexpected CLOSE_PARENS",
    ),
    ("{} | 1 + 2", 1, 6, "syntax error: unexpected INTEGER"),
    ("{} | count() > 1 > 2", 1, 18, "syntax error: unexpected GT"),
    ("{ .a = 1 }}", 1, 11, "syntax error: unexpected CLOSE_BRACE"),
    (
        "{} with(a=1",
        1,
        12,
        "syntax error: unexpected $end, expecting COMMA or CLOSE_PARENS",
    ),
    (
        "{} with(1=1)",
        1,
        9,
        "syntax error: unexpected INTEGER, expecting IDENTIFIER",
    ),
    (
        "{ .a = 1 } & { .b = 2 }",
        1,
        12,
        "syntax error: unexpected '&'",
    ),
    (
        "{ .a = 1 }\n| count( > 1",
        2,
        10,
        "syntax error: unexpected GT, expecting CLOSE_PARENS",
    ),
    (
        "{ .a = 1 } | - .x",
        1,
        16,
        "syntax error: unexpected DOT, expecting INTEGER or FLOAT or DURATION",
    ),
    (
        "{ 99999999999999999999 }",
        1,
        3,
        "integer out of range: 99999999999999999999",
    ),
    (
        "{ .a = 1 } | by",
        1,
        16,
        "syntax error: unexpected $end, expecting OPEN_PARENS",
    ),
    ("()", 1, 2, "syntax error: unexpected CLOSE_PARENS"),
    ("{ span.\"abc = 1 }", 1, 3, "unexpected EOF, expecting '\"'"),
    ("{ (.a = 1 }", 1, 11, "syntax error: unexpected CLOSE_BRACE"),
    ("rate()", 1, 1, "syntax error: unexpected IDENTIFIER"),
    ("{ 1ms5 }", 1, 3, "invalid duration: 1ms5"),
    ("({} | count())", 1, 15, "syntax error: unexpected $end"),
    ("{} ! {}", 1, 4, "syntax error: unexpected NOT"),
    (
        "{} | count() > \"x\"",
        1,
        16,
        "syntax error: unexpected STRING",
    ),
    (
        "\n\n  { status = }",
        3,
        14,
        "syntax error: unexpected CLOSE_BRACE",
    ),
    ("", 1, 1, "syntax error: unexpected $end"),
];

/// `(query, message)` of Tempo's parse-time checks.
const SEMANTIC: &[(&str, &str)] = &[
    (
        "{ name = 1s }",
        "binary operations must operate on the same type: name = 1s",
    ),
    (
        "{ .a =~ 1 }",
        "illegal operation for the given types: .a =~ 1",
    ),
    (
        "{ name + 1 = 2 }",
        "binary operations must operate on the same type: name + 1",
    ),
    (
        "{ status = server }",
        "binary operations must operate on the same type: status = server",
    ),
    (
        "{ duration =~ \"1\" }",
        "binary operations must operate on the same type: duration =~ \"1\"",
    ),
    (
        "{ kind =~ \"x\" }",
        "binary operations must operate on the same type: kind =~ \"x\"",
    ),
    (
        "{ name }",
        "span filter field expressions must resolve to a boolean: { name }",
    ),
    (
        "{ 1 + 2 }",
        "span filter field expressions must resolve to a boolean: { 1 + 2 }",
    ),
    (
        "{} | avg(name) > 1",
        "aggregate field expressions must resolve to a number type: avg(name)",
    ),
    (
        "{} | sum(status) > 1",
        "aggregate field expressions must resolve to a number type: sum(status)",
    ),
    (
        "{ !duration }",
        "illegal operation for the given type: !duration",
    ),
    (
        "{ -name = 1 }",
        "illegal operation for the given type: -name",
    ),
    (
        "{ true && 1 }",
        "binary operations must operate on the same type: true && 1",
    ),
    (
        "{ .a > true }",
        "illegal operation for the given types: .a > true",
    ),
    (
        "{ .a > nil }",
        "illegal operation for the given types: .a > nil",
    ),
    (
        "{ .a + \"x\" = 1 }",
        "illegal operation for the given types: .a + \"x\"",
    ),
    (
        "{} >> { name = 1 }",
        "binary operations must operate on the same type: name = 1",
    ),
    (
        "({} | min(name)) > 1",
        "aggregate field expressions must resolve to a number type: min(name)",
    ),
];

#[test]
fn syntax_errors_name_token_and_position() {
    assert!(SYNTAX.len() + SEMANTIC.len() >= 30);
    let mut failures = Vec::new();
    for (src, line, col, msg) in SYNTAX {
        let want = ParseError {
            line: *line,
            col: *col,
            msg: msg.to_string(),
        };
        match parse(src) {
            Err(e) if e == want => {}
            other => failures.push(format!("{src:?}\n  got  {other:?}\n  want {want:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn semantic_errors_have_tempo_messages() {
    let mut failures = Vec::new();
    for (src, msg) in SEMANTIC {
        match parse(src) {
            Err(e) if e == ParseError::plain(*msg) => {}
            other => failures.push(format!("{src:?}\n  got  {other:?}\n  want {msg}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn errors_print_like_tempo() {
    let e = parse("{ foo = 1 }").err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("parse error at line 1, col 3: syntax error: unexpected IDENTIFIER")
    );
    let e = parse("{ name = 1s }").err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("binary operations must operate on the same type: name = 1s")
    );
}

#[test]
fn nesting_is_bounded() {
    // In a thread with a quarter of Tokio's default worker stack, in a debug
    // build: the limit must hold well before the stack runs out.
    let run = std::thread::Builder::new()
        .stack_size(1 << 19)
        .spawn(deep_queries)
        .map(|h| h.join());
    assert!(matches!(run, Ok(Ok(()))));
}

fn deep_queries() {
    let deep = |n: usize| format!("{{ {}.a = 1{} }}", "(".repeat(n), ")".repeat(n));
    assert!(parse(&deep(100)).is_ok());
    let want = ParseError {
        line: 1,
        col: 130,
        msg: "syntax error: query nested deeper than 128 levels".into(),
    };
    assert_eq!(parse(&deep(300)), Err(want));
    let chain = |n: usize| vec!["{ .a = 1 }"; n].join(" > ");
    let tree = parse(&chain(100));
    assert_eq!(tree.map(|q| q.to_string()), Ok(chain(100)));
    assert!(parse(&chain(300)).is_err());
    let conds = |n: usize| format!("{{ {} }}", vec![".a = 1"; n].join(" && "));
    assert!(parse(&conds(100)).is_ok());
    assert!(parse(&conds(300)).is_err());
    let parens = |n: usize| format!("{}{{}}{}", "(".repeat(n), ")".repeat(n));
    assert!(parse(&parens(100)).is_ok());
    assert!(parse(&parens(100_000)).is_err());
    assert!(parse(&format!("{{ {}true }}", "!".repeat(100_000))).is_err());
    assert!(parse(&format!("{{ {}1 = 1 }}", "- ".repeat(100_000))).is_err());
    assert!(parse(&format!("{{ 1{} }}", " ^ 1".repeat(100_000))).is_err());
}
