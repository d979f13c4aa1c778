//! Tests of Loki's template functions, run through the engine with
//! `__line__` and `__timestamp__` bound, and the missing-key-as-empty
//! option Loki's formatters use.

use super::loki_funcs::{loki_funcs, LINE_SLOT, TIMESTAMP_SLOT};
use super::{LateFn, MissingKey, Options, Template, Time, Value};

const TS: i64 = 1_700_000_000_123_000_000;

fn run_with(src: &str, labels: &[(&str, &str)]) -> Result<String, String> {
    let t = Template::parse("line", src, loki_funcs())
        .map_err(|e| e.msg)?
        .with_options(Options {
            missing_key: MissingKey::Zero,
        });
    let data = Value::map(labels.iter().map(|(k, v)| (*k, Value::from(*v))));
    let line_fn = |_: &[Value<'_>]| Ok(Value::from("The Original Line"));
    let ts_fn = |_: &[Value<'_>]| Ok(Value::Time(Time::from_unix_nanos(TS)));
    assert_eq!((LINE_SLOT, TIMESTAMP_SLOT), (0, 1));
    let late: [&LateFn<'_>; 2] = [&line_fn, &ts_fn];
    let mut out = String::new();
    t.execute_into(&data, &late, &mut out).map_err(|e| e.msg)?;
    Ok(out)
}

fn run(src: &str) -> String {
    run_with(src, &[("path", "a b c d e"), ("n", "7"), ("empty", "")])
        .unwrap_or_else(|e| panic!("{src:?}: {e}"))
}

#[test]
fn doc_examples() {
    assert_eq!(
        run(r#"{{ .path | replace " " "_" | trunc 5 | upper }}"#),
        "A_B_C"
    );
    assert_eq!(
        run(r#"{{ if and (contains "he" "hello") (contains "llo" "hello") }}yes{{end}}"#),
        "yes"
    );
    assert_eq!(
        run(r#"{{ if contains "x" "hello" }}a{{else if contains "he" "hello"}}b{{else}}c{{end}}"#),
        "b"
    );
    assert_eq!(run("[{{ .missing }}]"), "[]");
    assert_eq!(
        run(r#"{{ .missing | default "-" }} {{ default "-" "foo" }}"#),
        "- foo"
    );
}

#[test]
fn line_and_timestamp() {
    assert_eq!(run("{{ __line__ | lower }}"), "the original line");
    assert_eq!(
        run("{{ __timestamp__ }}"),
        "2023-11-14 22:13:20.123 +0000 UTC"
    );
    assert_eq!(
        run(r#"{{ __timestamp__ | date "2006-01-02T15:04:05.00Z07:00" }}"#),
        "2023-11-14T22:13:20.12Z"
    );
    assert_eq!(run("{{ __timestamp__ | unixEpoch }}"), "1700000000");
    assert_eq!(
        run("{{ __timestamp__ | unixEpochMillis }}"),
        "1700000000123"
    );
    assert_eq!(
        run("{{ __timestamp__ | unixEpochNanos }}"),
        "1700000000123000000"
    );
}

#[test]
fn go_strings_functions() {
    assert_eq!(run(r#"{{ ToLower "AbC" }}{{ ToUpper "x" }}"#), "abcX");
    assert_eq!(
        run(r#"{{ Replace "aaa" "a" "b" 2 }}|{{ Replace "aaa" "a" "b" -1 }}"#),
        "bba|bbb"
    );
    assert_eq!(
        run(r#"{{ Trim "xxhixx" "x" }}|{{ TrimLeft "xxhixx" "x" }}|{{ TrimRight "xxhixx" "x" }}"#),
        "hi|hixx|xxhi"
    );
    assert_eq!(
        run(
            r#"{{ TrimPrefix "pre-x" "pre-" }}|{{ TrimSuffix "x-suf" "-suf" }}|{{ TrimSpace "  a  " }}"#
        ),
        "x|x|a"
    );
}

#[test]
fn regex_functions() {
    assert_eq!(
        run(r#"{{ regexReplaceAll "(a*)bc" "aabcxbc" "${1}X" }}"#),
        "aaXxX"
    );
    assert_eq!(
        run(r#"{{ regexReplaceAllLiteral "(ts=)" "ts=1" "$1x" }}"#),
        "$1x1"
    );
    assert_eq!(
        run(r#"{{ count "a|b" "abab" }} {{ "foo" | count "o" }}"#),
        "4 2"
    );
    let e = run_with(r#"{{ count "(" "x" }}"#, &[])
        .err()
        .unwrap_or_default();
    assert!(
        e.starts_with("template: line:1:3: executing \"line\" at <count \"(\" \"x\">: error calling count: error parsing regexp: "),
        "{e}"
    );
}

#[test]
fn string_functions() {
    assert_eq!(
        run(r#"{{ lower "HeLLo" }} {{ upper "hi" }} {{ title "hello wide-world" }}"#),
        "hello HI Hello Wide-World"
    );
    assert_eq!(
        run(r#"{{ trunc 5 "hello world" }}|{{ trunc -5 "hello world" }}|{{ trunc 50 "hi" }}"#),
        "hello|world|hi"
    );
    assert_eq!(
        run(
            r#"{{ substr 0 5 "hello world" }}|{{ substr 6 11 "hello world" }}|{{ substr -1 2 "héllo" }}|{{ substr 3 -1 "héllo" }}"#
        ),
        "hello|world|hé|lo"
    );
    assert_eq!(
        run(
            r#"{{ hasPrefix "he" "hello" }} {{ hasSuffix "lo" "hello" }} {{ contains "z" "hello" }}"#
        ),
        "true true false"
    );
    assert_eq!(
        run(r#"{{ indent 2 "a\nb" }}|{{ nindent 2 "a" }}"#),
        "  a\n  b|\n  a"
    );
    assert_eq!(run(r#"{{ repeat 3 "ab" }}"#), "ababab");
    assert_eq!(
        run(
            r#"{{ trim "  x " }}|{{ trimAll "$" "$5.00$" }}|{{ trimPrefix "-" "-hello" }}|{{ trimSuffix "-" "hello-" }}"#
        ),
        "x|5.00|hello|hello"
    );
    assert_eq!(
        run(
            r#"[{{ alignLeft 5 "hello world" }}][{{ alignLeft 5 "hi" }}][{{ alignRight 5 "hello world" }}][{{ alignRight 5 "hi" }}]"#
        ),
        "[hello][hi   ][world][   hi]"
    );
    assert_eq!(
        run(r#"{{ b64enc "hello" }} {{ b64dec "aGVsbG8=" }} {{ b64dec "!!!" }}"#),
        "aGVsbG8= hello illegal base64 data at input byte 0"
    );
    assert_eq!(
        run(r#"{{ urlencode "a b/c&d" }} {{ urldecode "a+b%2Fc" }}"#),
        "a+b%2Fc%26d a b/c"
    );
    let e = run_with(r#"{{ urldecode "%zz" }}"#, &[])
        .err()
        .unwrap_or_default();
    assert_eq!(e, "template: line:1:3: executing \"line\" at <urldecode \"%zz\">: error calling urldecode: invalid URL escape \"%zz\"");
    assert_eq!(
        run(r#"{{ printf "%-10.10s|%6.6s|" "a-very-long-string" "host" }}"#),
        "a-very-lon|  host|"
    );
}

#[test]
fn math_functions() {
    assert_eq!(
        run("{{ add 3 2 5 }} {{ add .n 1 }} {{ add \"10.00\" 1 }} {{ add \"1.5\" 1 }}"),
        "10 8 11 1"
    );
    assert_eq!(
        run("{{ sub 5 2 }} {{ mul 5 2 3 }} {{ div 10 3 }} {{ mod 10 3 }}"),
        "3 30 3 1"
    );
    assert_eq!(run("{{ addf 3.5 2 5 }} {{ addf 0.1 0.2 }} {{ subf 5.5 2 1.5 }} {{ mulf 5.5 2 2.5 }} {{ divf 10 2 4 }}"), "10.5 0.3 2 27.5 1.25");
    assert_eq!(
        run("{{ max 1 3 2 }} {{ min 4 1 2 }} {{ maxf 1 2.5 3 }} {{ minf 1.5 2.5 3 }}"),
        "3 1 3 1.5"
    );
    assert_eq!(run("{{ ceil 123.001 }} {{ floor 123.9999 }} {{ round 123.555555 3 }} {{ round 123.88571428571 5 .2 }}"), "124 123 123.556 123.88572");
    assert_eq!(
        run(r#"{{ "3" | int }} {{ "3.5" | float64 }} {{ int 3.9 }} {{ "0x10" | int }}"#),
        "3 3.5 3 16"
    );
    let e = run_with("{{ div 1 0 }}", &[]).err().unwrap_or_default();
    assert_eq!(e, "template: line:1:3: executing \"line\" at <div 1 0>: error calling div: runtime error: integer divide by zero");
}

#[test]
fn conversion_functions() {
    assert_eq!(
        run(r#"{{ bytes "42 MB" }} {{ bytes "1KiB" }} {{ bytes "512" }}"#),
        "4.2e+07 1024 512"
    );
    assert_eq!(
        run(
            r#"{{ duration "1h30m" }} {{ duration_seconds "1.5s" }} {{ duration "300ms" }} {{ duration "-2m" }}"#
        ),
        "5400 1.5 0.3 -120"
    );
    let e = run_with(r#"{{ duration "5" }}"#, &[])
        .err()
        .unwrap_or_default();
    assert!(
        e.ends_with("error calling duration: time: missing unit in duration \"5\""),
        "{e}"
    );
}

#[test]
fn date_functions() {
    assert_eq!(
        run(r#"{{ toDateInZone "2006-01-02" "UTC" "2021-11-02" | unixEpoch }}"#),
        "1635811200"
    );
    // A zone that cannot be loaded is UTC, as in Loki.
    assert_eq!(
        run(r#"{{ toDateInZone "2006-01-02" "No/Such_Zone" "2021-11-02" | unixEpoch }}"#),
        "1635811200"
    );
    assert_eq!(
        run(r#"{{ date "2006-01-02" (toDate "2006-01-02" "2021-11-02") }}"#),
        "2021-11-02"
    );
    assert_eq!(
        run(r#"{{ unixEpoch (toDate "2006-01-02" "not a date") }}"#),
        "-62135596800"
    );
    assert_eq!(
        run(r#"{{ date "2006-01-02 15:04:05" (unixToTime "1679577215") }}"#),
        "2023-03-23 13:13:35"
    );
    assert_eq!(
        run(
            r#"{{ unixToTime "19439" | unixEpoch }} {{ unixToTime "1679577215123" | unixEpochMillis }}"#
        ),
        "1679529600 1679577215123"
    );
    assert_eq!(
        run(
            r#"{{ toDateInZone "2006-01-02T15:04:05.999999999Z07:00" "UTC" "2024-02-29T23:59:58.5+02:00" | unixEpochMillis }}"#
        ),
        "1709243998500"
    );
    assert_eq!(
        run(r#"{{ (toDate "Jan 2 2006 3:04PM" "Mar 7 2024 1:30PM").Format "Monday 15:04 MST" }}"#),
        "Thursday 13:30 UTC"
    );
    let e = run_with(r#"{{ unixToTime "123" }}"#, &[])
        .err()
        .unwrap_or_default();
    assert!(
        e.ends_with("error calling unixToTime: unable to parse time '123': %!w(<nil>)"),
        "{e}"
    );
}

#[test]
fn json_function() {
    let out = run_with(
        "{{ range $q := fromJson .queries }}{{ $q.query }};{{ end }}",
        &[("queries", r#"[{"query":"up"},{"query":"down"}]"#)],
    );
    assert_eq!(out.as_deref(), Ok("up;down;"));
    assert_eq!(run(r#"{{ fromJson "{\"foo\": 55}" }}"#), "map[foo:55]");
}
