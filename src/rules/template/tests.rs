//! Tests of alert template expansion against Prometheus' outputs (its
//! template reference, `template_test.go` cases and the alert generator
//! compliance suite's annotations).

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sample(pairs: &[(&str, &str)], value: f64) -> QuerySample {
    QuerySample {
        labels: labels(pairs),
        value,
    }
}

/// The test `query`: `ids` gives three samples in shuffled order, `value`
/// one with a `__value__` label, `bad` fails, anything else is empty.
fn test_query(q: &str) -> Result<Vec<QuerySample>, String> {
    match q {
        "alert_generator_test_suite{rulegroup='ZeroFor_SmallFor',for='template'}" | "ids" => {
            Ok(vec![
                sample(&[("__name__", "m"), ("id", "102")], 2.0),
                sample(&[("__name__", "m"), ("id", "103")], 3.0),
                sample(&[("__name__", "m"), ("id", "101")], 1.0),
            ])
        }
        "value" => Ok(vec![sample(&[("__value__", "a")], 11.0)]),
        "bad" => Err("query timed out in expression evaluation".into()),
        _ => Ok(Vec::new()),
    }
}

fn expand_with(text: &str, value: f64, alert_labels: &[(&str, &str)]) -> Result<String, String> {
    let l = labels(alert_labels);
    let ext = labels(&[("cluster", "eu1")]);
    let data = TemplateData {
        labels: &l,
        value,
        external_labels: &ext,
        external_url: "http://cairn.example:9090/prefix",
    };
    expand("Test", text, &data, 1_643_114_203_000, &test_query)
}

fn exp(text: &str) -> String {
    match expand_with(text, 12.0, &[("instance", "host:9100"), ("job", "node")]) {
        Ok(s) => s,
        Err(e) => panic!("expanding {text:?}: {e}"),
    }
}

fn exp_err(text: &str) -> String {
    match expand_with(text, 12.0, &[("instance", "host:9100"), ("job", "node")]) {
        Ok(s) => panic!("expanding {text:?} should fail, gave {s:?}"),
        Err(e) => e,
    }
}

/// Go's execution error for the template text, `col` counted from the
/// start of `text` (the prelude comes before it on line 1).
fn exec_err(col: usize, at: &str, msg: &str) -> String {
    format!(
        "error executing template __alert_Test: template: __alert_Test:1:{}: executing \"__alert_Test\" at <{at}>: {msg}",
        PRELUDE.len() + col
    )
}

#[test]
fn compliance_template_test_numbers() {
    assert_eq!(
        exp("{{humanize 1048576}} {{humanize1024 1048576}} {{humanizeDuration 135.3563}} {{humanizePercentage 0.959}} {{humanizeTimestamp 1643114203}}"),
        "1.049M 1Mi 2m 15s 95.9% 2022-01-25 12:36:43 +0000 UTC"
    );
}

#[test]
fn compliance_template_test_strings() {
    assert_eq!(
        exp(
            r#"{{title "this part"}} {{toUpper "is testing"}} {{toLower "THE STRINGS"}}. {{ stripPort "[::1]:6006"}} {{ stripPort "127.0.0.1:4004"}}. {{parseDuration "2h10m15s"}}. {{if match "[0-9]+" "1234"}}{{reReplaceAll "r.*d" "replaced" "rpld text"}}{{end}}. {{if match "[0-9]+$" "1234a"}}WRONG{{end}}."#
        ),
        "This Part IS TESTING the strings. ::1 127.0.0.1. 7815. replaced text. ."
    );
}

#[test]
fn compliance_template_query_test() {
    let text = r#"{{ define "testtemplate" }}Args are: {{.arg0}} {{.arg1}} {{.arg2}}. {{ with query "alert_generator_test_suite{rulegroup='ZeroFor_SmallFor',for='template'}" }}first_id:{{ . | sortByLabel "id" | first | label "id"}},{{ range $v := sortByLabel "id" .}}{{ . | label "id" }}:{{ . | value }},{{end}}{{end}}{{ end }}{{ template "testtemplate" (args "foo" "bar" 99) }}"#;
    assert_eq!(
        exp(text),
        "Args are: foo bar 99. first_id:101,101:1,102:2,103:3,"
    );
    assert_eq!(check("ZeroFor_SmallFor_ZeroFor", text), Ok(()));
}

#[test]
fn variables_and_fields() {
    assert_eq!(
        exp("{{ $labels.instance }} {{ .Labels.job }} {{ $value }} {{ .Value }} {{ $externalLabels.cluster }} {{ .ExternalLabels.cluster }} {{ $externalURL }} {{ .ExternalURL }}"),
        "host:9100 node 12 12 eu1 eu1 http://cairn.example:9090/prefix http://cairn.example:9090/prefix"
    );
    assert_eq!(
        exp("{{ range $k, $v := $labels }}{{ $k }}={{ $v }};{{ end }}"),
        "instance=host:9100;job=node;"
    );
    assert_eq!(exp("plain text"), "plain text");
    assert_eq!(exp("{{ 1 }}"), "1");
}

#[test]
fn value_prints_as_go_float64() {
    let v = |x: f64| expand_with("{{ $value }}", x, &[]).unwrap_or_else(|e| e);
    assert_eq!(v(12.0), "12");
    assert_eq!(v(0.5), "0.5");
    assert_eq!(v(-3.25), "-3.25");
    assert_eq!(v(1e21), "1e+21");
    assert_eq!(v(1234567.0), "1.234567e+06");
    assert_eq!(v(0.0001), "0.0001");
    assert_eq!(v(0.00001), "1e-05");
    assert_eq!(v(f64::NAN), "NaN");
    assert_eq!(v(f64::INFINITY), "+Inf");
    assert_eq!(
        expand_with("{{ .Value | humanize }}", 1234567.0, &[]).as_deref(),
        Ok("1.235M")
    );
    assert_eq!(
        expand_with("{{ humanize $value }}", 0.12, &[]).as_deref(),
        Ok("120m")
    );
}

#[test]
fn missing_label_is_empty() {
    assert_eq!(exp("[{{ $labels.nope }}]"), "[]");
    assert_eq!(exp("[{{ .Labels.nope }}]"), "[]");
    assert_eq!(exp("[{{ $externalLabels.nope }}]"), "[]");
    assert_eq!(exp("{{ if $labels.nope }}yes{{ else }}no{{ end }}"), "no");
    assert_eq!(exp(r#"[{{ index $labels "nope" }}]"#), "[]");
    assert_eq!(exp(r#"{{ index $labels "job" }}"#), "node");
    // `args` builds a map[string]interface{}: a missing key is no value
    // (told apart from a label map by its values not all being strings).
    assert_eq!(
        exp(
            r#"{{ define "t" }}{{ .arg0 }} {{ .arg1 }} {{ .arg2 }}{{ end }}{{ template "t" (args "a" 1) }}"#
        ),
        "a 1 <no value>"
    );
    assert_eq!(exp("{{ $labels }}"), "map[instance:host:9100 job:node]");
}

#[test]
fn no_html_escaping() {
    let out = expand_with(
        "{{ $labels.q }} {{ \"<b>\" }} {{ \"<b>\" | safeHtml }}",
        1.0,
        &[("q", "a<b>&\"c'")],
    );
    assert_eq!(out.as_deref(), Ok("a<b>&\"c' <b> <b>"));
}

#[test]
fn humanize_numbers_and_strings() {
    assert_eq!(
        exp("{{ humanize 0.0 }}:{{ humanize 1.0 }}:{{ humanize 1234567.0 }}:{{ humanize .12 }}"),
        "0:1:1.235M:120m"
    );
    assert_eq!(
        exp(
            r#"{{ humanize "0.0" }}:{{ humanize "1.0" }}:{{ humanize "1234567.0" }}:{{ humanize ".12" }}"#
        ),
        "0:1:1.235M:120m"
    );
    assert_eq!(
        exp("{{ humanize 0 }}:{{ humanize -1 }}:{{ humanize 1 }}:{{ humanize 1234567 }}:{{ humanize 9223372036854775807 }}"),
        "0:-1:1:1.235M:9.223E"
    );
    assert_eq!(
        exp("{{ humanize 0.000001 }}:{{ humanize -0.0025 }}:{{ humanize 1e27 }}"),
        "1u:-2.5m:1000Y"
    );
    assert_eq!(
        exp_err(r#"{{ humanize "one" }}"#),
        exec_err(
            3,
            "humanize \"one\"",
            "error calling humanize: strconv.ParseFloat: parsing \"one\": invalid syntax"
        )
    );
    assert_eq!(
        exp_err("{{ humanize true }}"),
        exec_err(
            3,
            "humanize true",
            "error calling humanize: can't convert bool to float"
        )
    );
}

#[test]
fn humanize1024_values() {
    assert_eq!(
        exp("{{ humanize1024 0.0 }}:{{ humanize1024 1.0 }}:{{ humanize1024 1048576.0 }}:{{ humanize1024 .12 }}"),
        "0:1:1Mi:0.12"
    );
    assert_eq!(
        exp(
            r#"{{ humanize1024 "1048576.0" }}:{{ humanize1024 -1 }}:{{ humanize1024 1234567 }}:{{ humanize1024 9223372036854775807 }}"#
        ),
        "1Mi:-1:1.177Mi:8Ei"
    );
    assert_eq!(
        exp_err(r#"{{ humanize1024 "one" }}"#),
        exec_err(
            3,
            "humanize1024 \"one\"",
            "error calling humanize1024: strconv.ParseFloat: parsing \"one\": invalid syntax"
        )
    );
}

#[test]
fn humanize_duration_values() {
    let cases = [
        ("0", "0s"),
        ("1", "1s"),
        ("60", "1m 0s"),
        ("3600", "1h 0m 0s"),
        ("86400", "1d 0h 0m 0s"),
        ("90000", "1d 1h 0m 0s"),
        ("-183845", "-2d 3h 4m 5s"),
        ("899.99", "14m 59s"),
        (".1", "100ms"),
        (".0001", "100us"),
        (".12345", "123.5ms"),
        ("60.1", "1m 0s"),
        ("60.5", "1m 0s"),
        ("1.2345", "1.234s"),
        ("12.345", "12.35s"),
        ("1234567", "14d 6h 56m 7s"),
        ("-1", "-1s"),
        ("135.3563", "2m 15s"),
    ];
    for (input, want) in cases {
        assert_eq!(
            exp(&format!("{{{{ humanizeDuration {input} }}}}")),
            want,
            "{input}"
        );
        assert_eq!(
            exp(&format!("{{{{ humanizeDuration \"{input}\" }}}}")),
            want,
            "string {input}"
        );
    }
    assert_eq!(
        exp_err(r#"{{ humanizeDuration "one" }}"#),
        exec_err(
            3,
            "humanizeDuration \"one\"",
            "error calling humanizeDuration: strconv.ParseFloat: parsing \"one\": invalid syntax"
        )
    );
}

#[test]
fn humanize_inf_and_nan() {
    let t = "{{ range $x := . }}{{ humanize $x }}:{{ humanize1024 $x }}:{{ humanizeDuration $x }}:{{ humanizeTimestamp $x }}:{{ end }}";
    let t = t.replace("range $x := .", r#"range $x := (args "+Inf" "-Inf" "NaN")"#);
    assert_eq!(
        exp(&t),
        "+Inf:+Inf:+Inf:+Inf:-Inf:-Inf:-Inf:-Inf:NaN:NaN:NaN:NaN:"
    );
}

#[test]
fn humanize_percentage_values() {
    assert_eq!(
        exp("{{ -0.22222 | humanizePercentage }}:{{ 0.0 | humanizePercentage }}:{{ 0.1234567 | humanizePercentage }}:{{ 1.23456 | humanizePercentage }}"),
        "-22.22%:0%:12.35%:123.5%"
    );
    assert_eq!(
        exp(
            r#"{{ "-0.22222" | humanizePercentage }}:{{ 1234567 | humanizePercentage }}:{{ -1 | humanizePercentage }}"#
        ),
        "-22.22%:1.235e+08%:-100%"
    );
    assert_eq!(
        exp_err(r#"{{ "one" | humanizePercentage }}"#),
        exec_err(
            11,
            "humanizePercentage",
            "error calling humanizePercentage: strconv.ParseFloat: parsing \"one\": invalid syntax"
        )
    );
}

#[test]
fn humanize_timestamp_values() {
    assert_eq!(
        exp("{{ humanizeTimestamp 0 }}|{{ humanizeTimestamp -1 }}|{{ humanizeTimestamp 1 }}|{{ humanizeTimestamp 1234567 }}|{{ humanizeTimestamp 9223372036 }}"),
        "1970-01-01 00:00:00 +0000 UTC|1969-12-31 23:59:59 +0000 UTC|1970-01-01 00:00:01 +0000 UTC|1970-01-15 06:56:07 +0000 UTC|2262-04-11 23:47:16 +0000 UTC"
    );
    assert_eq!(
        exp(
            r#"{{ 1435065584.128 | humanizeTimestamp }}|{{ "1435065584.128" | humanizeTimestamp }}"#
        ),
        "2015-06-23 13:19:44.128 +0000 UTC|2015-06-23 13:19:44.128 +0000 UTC"
    );
    assert_eq!(
        exp_err("{{ humanizeTimestamp -9223372036854775808 }}"),
        exec_err(
            3,
            "humanizeTimestamp -9223372036854775808",
            "error calling humanizeTimestamp: -9.223372036854776e+18 cannot be represented as a nanoseconds timestamp since it overflows int64"
        )
    );
}

#[test]
fn to_time_and_parse_duration() {
    assert_eq!(
        exp(
            r#"{{ (1435065584.128 | toTime).Format "2006" }} {{ ("1435065584.128" | toTime).Format "2006-01-02" }}"#
        ),
        "2015 2015-06-23"
    );
    assert_eq!(
        exp("{{ 1643114203 | toTime }}"),
        "2022-01-25 12:36:43 +0000 UTC"
    );
    assert_eq!(
        exp(r#"{{ printf "%0.2f" (parseDuration "1h2m10ms") }}"#),
        "3720.01"
    );
    assert_eq!(exp(r#"{{ parseDuration "1d" }}"#), "86400");
    assert_eq!(
        exp_err(r#"{{ parseDuration "soon" }}"#),
        exec_err(
            3,
            "parseDuration \"soon\"",
            "error calling parseDuration: not a valid duration string: \"soon\""
        )
    );
}

#[test]
fn string_functions() {
    assert_eq!(exp(r#"{{ "aa bb CC" | title }}"#), "Aa Bb CC");
    assert_eq!(
        exp(r#"{{ "hello_world foo.bar x-y" | title }}"#),
        "Hello_world Foo.Bar X-Y"
    );
    assert_eq!(exp(r#"{{ "aa bb CC" | toUpper }}"#), "AA BB CC");
    assert_eq!(exp(r#"{{ "aA bB CC" | toLower }}"#), "aa bb cc");
    assert_eq!(exp(r#"{{ "straße" | toUpper }}"#), "STRAßE");
    assert_eq!(
        exp(r#"{{ match "a+" "aa" }} {{ match "a+" "b" }}"#),
        "true false"
    );
    assert_eq!(exp(r#"{{ reReplaceAll "(a)b" "x$1" "ab" }}"#), "xa");
    assert_eq!(
        exp(r#"{{ reReplaceAll "(?P<host>[^:]+):(\\d+)" "${host} port $2" $labels.instance }}"#),
        "host port 9100"
    );
    assert_eq!(
        exp_err(r#"{{ match "(" "x" }}"#),
        exec_err(
            3,
            "match \"(\" \"x\"",
            "error calling match: error parsing regexp: missing closing ): `(`"
        )
    );
    assert_eq!(
        exp_err(r#"{{ reReplaceAll "(" "x" "y" }}"#),
        exec_err(
            3,
            "reReplaceAll \"(\" \"x\" \"y\"",
            "error calling reReplaceAll: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"
        )
    );
}

#[test]
fn strip_port_and_domain() {
    let port = [
        ("foo.example.com", "foo.example.com"),
        ("foo.example.com:12345", "foo.example.com"),
        ("192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:12345", "192.0.2.1"),
        ("2001:0DB8::1", "2001:0DB8::1"),
        ("[2001:0DB8::1]:12345", "2001:0DB8::1"),
        ("[2001:0DB8::1]::12345", "[2001:0DB8::1]::12345"),
    ];
    for (input, want) in port {
        assert_eq!(exp(&format!("{{{{ \"{input}\" | stripPort }}}}")), want);
    }
    let domain = [
        ("foo.example.com", "foo"),
        ("foo.example.com:12345", "foo:12345"),
        ("192.0.2.1", "192.0.2.1"),
        ("192.0.2.1:12345", "192.0.2.1:12345"),
        ("2001:0DB8::1", "2001:0DB8::1"),
        ("[2001:0DB8::1]:12345", "[2001:0DB8::1]:12345"),
        ("[2001:0DB8::1]::12345", "[2001:0DB8::1]::12345"),
    ];
    for (input, want) in domain {
        assert_eq!(exp(&format!("{{{{ \"{input}\" | stripDomain }}}}")), want);
    }
}

#[test]
fn links_and_urls() {
    assert_eq!(exp(r#"{{ graphLink "up" }}"#), "/graph?g0.expr=up&g0.tab=0");
    assert_eq!(exp(r#"{{ tableLink "up" }}"#), "/graph?g0.expr=up&g0.tab=1");
    assert_eq!(
        exp(r#"{{ graphLink "rate(x{a=\"b c\"}[5m])" }}"#),
        "/graph?g0.expr=rate%28x%7Ba%3D%22b+c%22%7D%5B5m%5D%29&g0.tab=0"
    );
    assert_eq!(exp("{{ pathPrefix }}"), "/prefix");
    assert_eq!(exp("{{ externalURL }}"), "http://cairn.example:9090/prefix");
    assert_eq!(
        exp_err("{{ pathPrefix 1 }}"),
        exec_err(
            3,
            "pathPrefix",
            "wrong number of args for pathPrefix: want 0 got 1"
        )
    );
    assert_eq!(text::path_prefix("http://h:9090"), "");
    assert_eq!(text::path_prefix("https://h/a/b?x=1#f"), "/a/b");
}

#[test]
fn query_helpers() {
    assert_eq!(exp(r#"{{ query "ids" | first | value }}"#), "2");
    assert_eq!(exp(r#"{{ query "ids" | first | label "id" }}"#), "102");
    assert_eq!(exp(r#"[{{ query "ids" | first | label "foo" }}]"#), "[]");
    assert_eq!(
        exp(r#"[{{ $x := query "ids" | first }}{{ $x.Labels.foo }}]"#),
        "[]"
    );
    assert_eq!(exp(r#"{{ query "value" | first | strvalue }}"#), "a");
    assert_eq!(exp(r#"[{{ query "ids" | first | strvalue }}]"#), "[]");
    assert_eq!(
        exp(r#"{{ range query "ids" | sortByLabel "id" }}{{ .Labels.id }}:{{ .Value }} {{ end }}"#),
        "101:1 102:2 103:3 "
    );
    assert_eq!(
        exp(r#"{{ len (query "ids") }} {{ len (query "none") }}"#),
        "3 0"
    );
    assert_eq!(
        exp(r#"{{ with query "none" }}some{{ else }}none{{ end }}"#),
        "none"
    );
}

#[test]
fn query_errors() {
    assert_eq!(
        exp_err(r#"{{ query "missing" | first }}"#),
        exec_err(
            21,
            "first",
            "error calling first: first() called on vector with no elements"
        )
    );
    assert_eq!(
        exp_err(r#"{{ query "bad" }}"#),
        exec_err(
            3,
            "query \"bad\"",
            "error calling query: query timed out in expression evaluation"
        )
    );
    assert_eq!(
        exp_err(r#"{{ label "id" "x" }}"#),
        exec_err(
            3,
            "label \"id\" \"x\"",
            "error calling label: wrong type for value; expected *template.sample; got string"
        )
    );
}

#[test]
fn go_struct_semantics() {
    assert_eq!(
        exp_err("{{ .Foo }}"),
        exec_err(
            3,
            ".Foo",
            &format!("can't evaluate field Foo in type {DATA_TYPE}")
        )
    );
    assert_eq!(
        exp_err("{{ .labels.instance }}"),
        exec_err(
            3,
            ".labels.instance",
            &format!("can't evaluate field labels in type {DATA_TYPE}")
        )
    );
    assert_eq!(
        exp(r#"{{ query "value" | first }}"#),
        "&{map[__value__:a] 11}"
    );
    assert_eq!(
        exp_err(r#"{{ (query "value" | first).Nope }}"#),
        exec_err(
            26,
            "(query \"value\" | first).Nope",
            "can't evaluate field Nope in type *template.sample"
        )
    );
    assert_eq!(
        exp("{{ . }}"),
        "{map[instance:host:9100 job:node] map[cluster:eu1] http://cairn.example:9090/prefix 12}"
    );
    assert_eq!(
        exp_err(r#"{{ label "x" . }}"#),
        exec_err(
            3,
            "label \"x\" .",
            &format!("error calling label: wrong type for value; expected *template.sample; got {DATA_TYPE}")
        )
    );
}

#[test]
fn args_and_templates() {
    assert_eq!(
        exp(r#"{{define "x"}}{{.arg0}} {{.arg1}}{{end}}{{template "x" (args 1 "2")}}"#),
        "1 2"
    );
    assert_eq!(
        exp(r#"{{ define "a" }}x{{ .Labels.job }}{{ end }}{{ tmpl "a" . }}"#),
        "xnode"
    );
    assert_eq!(
        exp(r#"{{ define "a" }}{{ query "ids" | len }}{{ end }}{{ $n := "a" }}{{ tmpl $n . }}"#),
        "3"
    );
}

#[test]
fn parse_errors() {
    assert_eq!(
        check("Test", "{{ nope }}"),
        Err("template: __alert_Test:1: function \"nope\" not defined".to_string())
    );
    assert_eq!(
        check("Test", "{{"),
        Err("template: __alert_Test:1: unclosed action".to_string())
    );
    assert_eq!(
        exp_err("{{ nope }}"),
        "error parsing template __alert_Test: template: __alert_Test:1: function \"nope\" not defined"
    );
    assert_eq!(check("__alert_Test", "{{ $labels.x }}"), Ok(()));
    assert_eq!(template_name("X"), "__alert_X");
    assert_eq!(template_name("__alert_X"), "__alert_X");
}

#[test]
fn optional_functions_are_accepted() {
    let text = r#"{{ graphLink "up" }}{{ tableLink "up" }}{{ define "d" }}{{ end }}{{ tmpl "d" . }}{{ pathPrefix }}{{ externalURL }}{{ safeHtml "x" }}{{ with query "value" }}{{ first . | strvalue }}{{ end }}{{ $externalLabels.cluster }}{{ $externalURL }}"#;
    assert_eq!(check("Optional", text), Ok(()));
    assert_eq!(
        exp(text),
        "/graph?g0.expr=up&g0.tab=0/graph?g0.expr=up&g0.tab=1/prefixhttp://cairn.example:9090/prefixxaeu1http://cairn.example:9090/prefix"
    );
}

#[test]
fn arity_errors() {
    assert_eq!(
        exp_err("{{ humanize }}"),
        exec_err(
            3,
            "humanize",
            "wrong number of args for humanize: want 1 got 0"
        )
    );
    assert_eq!(
        exp_err("{{ query }}"),
        exec_err(3, "query", "wrong number of args for query: want 1 got 0")
    );
    assert_eq!(
        exp_err(r#"{{ tmpl "a" }}"#),
        exec_err(3, "tmpl", "wrong number of args for tmpl: want 2 got 1")
    );
}

#[test]
fn go_parse_float() {
    assert_eq!(humanize::parse_float("1.5e3"), Ok(1500.0));
    assert_eq!(humanize::parse_float("-.5"), Ok(-0.5));
    assert_eq!(humanize::parse_float("+Inf"), Ok(f64::INFINITY));
    assert_eq!(humanize::parse_float("-infinity"), Ok(f64::NEG_INFINITY));
    assert!(humanize::parse_float("NaN").is_ok_and(f64::is_nan));
    assert_eq!(
        humanize::parse_float("+NaN"),
        Err("strconv.ParseFloat: parsing \"+NaN\": invalid syntax".to_string())
    );
    assert_eq!(
        humanize::parse_float(" 1"),
        Err("strconv.ParseFloat: parsing \" 1\": invalid syntax".to_string())
    );
    assert_eq!(
        humanize::parse_float("1e400"),
        Err("strconv.ParseFloat: parsing \"1e400\": value out of range".to_string())
    );
}

#[test]
fn prelude_variables_are_not_visible_in_defines() {
    assert_eq!(
        check("T", r#"{{ define "x" }}{{ $labels.job }}{{ end }}"#),
        Err("template: __alert_T:1: undefined variable \"$labels\"".to_string())
    );
    assert_eq!(
        exp(r#"{{ define "x" }}{{ .Labels.job }}/{{ $.Value }}{{ end }}{{ template "x" . }}"#),
        "node/12"
    );
}

#[test]
fn multi_line_errors_count_lines() {
    assert_eq!(
        check("T", "line one\n{{ $value }}\n{{ nope }}"),
        Err("template: __alert_T:3: function \"nope\" not defined".to_string())
    );
    assert_eq!(
        exp_err("a\n{{ humanize \"x\" }}"),
        "error executing template __alert_Test: template: __alert_Test:2:3: executing \"__alert_Test\" at <humanize \"x\">: error calling humanize: strconv.ParseFloat: parsing \"x\": invalid syntax"
    );
}

#[test]
fn perl_classes_are_ascii_as_in_go() {
    assert_eq!(
        exp(
            r#"{{ match "^\\d+$" "١٢" }} {{ match "^\\d+$" "12" }} {{ reReplaceAll "\\w+" "W" "héllo wörld" }} {{ reReplaceAll "\\s+" "_" "a b	c" }}"#
        ),
        "false true WéW WöW a_b_c"
    );
    assert_eq!(
        exp("{{ reReplaceAll \"\\\\s\" \"_\" \"a\u{a0}b\" }}"),
        "a\u{a0}b"
    );
    assert_eq!(
        exp(r#"{{ reReplaceAll "[\\d.]+" "N" "v1.25-é٣" }}"#),
        "vN-é٣"
    );
    assert_eq!(
        text::ascii_perl_classes(r"\d\D[\w\]x][^]a][[:alpha:]\s]\b\B\."),
        r"[0-9][^0-9][0-9A-Za-z_\]x][^]a][[:alpha:]\t\n\f\r ](?-u:\b)(?-u:\B)\."
    );
    assert_eq!(text::ascii_perl_classes(r"a\\d"), r"a\\d");
}

#[test]
fn parsed_once_expanded_per_alert() {
    let t = AlertTemplate::parse("Test", "{{ $labels.instance }}={{ $value | humanize }}");
    let t = match t {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    let ext = BTreeMap::new();
    let mut outs = Vec::new();
    for (inst, v) in [("a", 1500.0), ("b", 0.25)] {
        let l = labels(&[("instance", inst)]);
        let data = TemplateData {
            labels: &l,
            value: v,
            external_labels: &ext,
            external_url: "",
        };
        outs.push(t.expand(&data, &test_query));
    }
    assert_eq!(
        outs,
        vec![Ok("a=1.5k".to_string()), Ok("b=250m".to_string())]
    );
    assert_eq!(
        AlertTemplate::parse("Test", "{{ end }}").map(|_| ()),
        Err(
            "error parsing template __alert_Test: template: __alert_Test:1: unexpected {{end}}"
                .to_string()
        )
    );
}

#[test]
fn parsed_templates_can_be_shared_across_threads() {
    fn shared<T: Send + Sync>(_: &T) -> bool {
        true
    }
    let t = AlertTemplate::parse("Test", "{{ $value }}");
    assert_eq!(t.as_ref().map(shared), Ok(true));
}
