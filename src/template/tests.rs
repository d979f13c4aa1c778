//! Template engine tests: each case runs a template on data and compares
//! the exact output (or the exact error) with what Go's text/template
//! gives.

use super::{FuncMap, MissingKey, Options, Template, Value};

fn data() -> Value<'static> {
    Value::map([
        ("name", Value::from("world")),
        ("n", Value::Int(3)),
        ("f", Value::Float(2.5)),
        ("t", Value::Bool(true)),
        ("empty", Value::from("")),
        ("zero", Value::Int(0)),
        ("nil", Value::Nil),
        (
            "list",
            Value::list([Value::from("a"), Value::from("b"), Value::from("c")]),
        ),
        (
            "nums",
            Value::list([Value::Int(1), Value::Int(2), Value::Int(3)]),
        ),
        ("nolist", Value::list([])),
        (
            "m",
            Value::map([
                ("z", Value::Int(26)),
                ("a", Value::Int(1)),
                ("inner", Value::map([("k", Value::from("v"))])),
            ]),
        ),
    ])
}

fn run(src: &str) -> String {
    let t =
        Template::parse("t", src, &FuncMap::new()).unwrap_or_else(|e| panic!("parse {src:?}: {e}"));
    let d = data();
    t.execute(&d)
        .unwrap_or_else(|e| panic!("exec {src:?}: {e}"))
}

fn exec_err(src: &str) -> String {
    let t =
        Template::parse("t", src, &FuncMap::new()).unwrap_or_else(|e| panic!("parse {src:?}: {e}"));
    let d = data();
    match t.execute(&d) {
        Ok(s) => panic!("{src:?} executed to {s:?}"),
        Err(e) => e.msg,
    }
}

fn parse_err(src: &str) -> String {
    match Template::parse("t", src, &FuncMap::new()) {
        Ok(_) => panic!("{src:?} parsed"),
        Err(e) => e.msg,
    }
}

#[test]
fn text_and_fields() {
    assert_eq!(run("hello"), "hello");
    assert_eq!(run("hello {{.name}}!"), "hello world!");
    assert_eq!(run("{{.m.inner.k}}"), "v");
    assert_eq!(run("{{.missing}}"), "<no value>");
    assert_eq!(run("{{.missing.deeper}}"), "<no value>");
    // A nil out of a map is no value once it leaves the pipeline, as
    // Go digs into interface{} results.
    assert_eq!(run("{{.nil}}"), "<no value>");
    assert_eq!(run("{{printf \"%v\" .nil}}"), "<nil>");
    assert_eq!(run("{{.list}}"), "[a b c]");
    assert_eq!(run("{{.m}}"), "map[a:1 inner:map[k:v] z:26]");
    assert_eq!(run("{{.f}} {{.n}} {{.t}}"), "2.5 3 true");
    assert_eq!(run("{{$}}"), run("{{.}}"));
}

#[test]
fn trim_markers_and_comments() {
    assert_eq!(run("a  {{- .n -}}  b"), "a3b");
    assert_eq!(run("a \n {{- .n}} \n b"), "a3 \n b");
    assert_eq!(run("x {{/* a comment */}} y"), "x  y");
    assert_eq!(run("x {{- /* a comment */ -}} y"), "xy");
    assert_eq!(run("{{-3}}"), "-3");
    assert_eq!(run("{{ 1 }}\n{{- 2 }}"), "12");
}

#[test]
fn literals() {
    assert_eq!(run(r#"{{"a\tb\x41\u00e9"}}"#), "a\tbAé");
    assert_eq!(run("{{`raw\\n`}}"), "raw\\n");
    assert_eq!(run("{{'a'}}"), "97");
    assert_eq!(
        run("{{0x1F}} {{0o17}} {{017}} {{0b101}} {{1_000}}"),
        "31 15 15 5 1000"
    );
    assert_eq!(run("{{1.5}} {{1e3}} {{1.0}} {{-2.25}}"), "1.5 1000 1 -2.25");
    assert_eq!(
        run("{{1e6}} {{123456.0}} {{0.0001}} {{0.00001}}"),
        "1e+06 123456 0.0001 1e-05"
    );
    assert_eq!(run("{{true}} {{false}}"), "true false");
    assert_eq!(run("{{print nil}}"), "<nil>");
}

#[test]
fn if_else_chains() {
    assert_eq!(run("{{if .t}}yes{{end}}"), "yes");
    assert_eq!(run("{{if .empty}}yes{{else}}no{{end}}"), "no");
    assert_eq!(run("{{if .zero}}a{{else if .n}}b{{else}}c{{end}}"), "b");
    assert_eq!(run("{{if .zero}}a{{else if .empty}}b{{else}}c{{end}}"), "c");
    assert_eq!(
        run("{{if .nolist}}a{{else}}empty list{{end}}"),
        "empty list"
    );
    assert_eq!(run("{{if .missing}}a{{else}}missing{{end}}"), "missing");
    assert_eq!(run("{{if .m}}map{{end}}"), "map");
    assert_eq!(run("{{if 0.0}}a{{else}}zero float{{end}}"), "zero float");
}

#[test]
fn with_else() {
    assert_eq!(run("{{with .m.inner}}{{.k}}{{end}}"), "v");
    assert_eq!(run("{{with .empty}}x{{else}}none{{end}}"), "none");
    assert_eq!(run("{{with $x := .name}}{{$x}}{{.}}{{end}}"), "worldworld");
    assert_eq!(
        run("{{with .zero}}a{{else with .name}}{{.}}{{end}}"),
        "world"
    );
}

#[test]
fn range_forms() {
    assert_eq!(run("{{range .list}}[{{.}}]{{end}}"), "[a][b][c]");
    assert_eq!(
        run("{{range $i, $v := .list}}{{$i}}={{$v}},{{end}}"),
        "0=a,1=b,2=c,"
    );
    assert_eq!(run("{{range $v := .list}}{{$v}}{{end}}"), "abc");
    assert_eq!(run("{{range $k, $v := .m}}{{$k}};{{end}}"), "a;inner;z;");
    assert_eq!(run("{{range .nolist}}x{{else}}empty{{end}}"), "empty");
    assert_eq!(run("{{range .missing}}x{{else}}none{{end}}"), "none");
    assert_eq!(run("{{range 3}}{{.}}{{end}}"), "012");
    assert_eq!(run("{{range $i := 2}}<{{$i}}>{{end}}"), "<0><1>");
    assert_eq!(run("{{range 100000}}{{end}}"), "");
    assert!(
        exec_err("{{range 100001}}x{{end}}")
            .ends_with("range over 100001: more than 100000 iterations"),
        "a server bounds what Go does not: {}",
        exec_err("{{range 100001}}x{{end}}")
    );
    assert_eq!(
        run("{{range .nums}}{{if eq . 2}}{{continue}}{{end}}{{.}}{{end}}"),
        "13"
    );
    assert_eq!(
        run("{{range .nums}}{{if eq . 2}}{{break}}{{end}}{{.}}{{end}}"),
        "1"
    );
    assert_eq!(
        run("{{range $i, $v := .list}}{{range $.nums}}{{$v}}{{.}}{{end}}|{{end}}"),
        "a1a2a3|b1b2b3|c1c2c3|"
    );
}

#[test]
fn variables() {
    assert_eq!(run("{{$x := 1}}{{$x}}"), "1");
    assert_eq!(run("{{$x := 1}}{{$x = 2}}{{$x}}"), "2");
    assert_eq!(
        run("{{$x := 0}}{{range .nums}}{{$x = .}}{{end}}{{$x}}"),
        "3"
    );
    assert_eq!(run("{{$x := .m}}{{$x.inner.k}}"), "v");
    assert_eq!(run("{{with .m}}{{$.name}}{{end}}"), "world");
    // A variable declared in a block is gone after its end.
    assert_eq!(
        parse_err("{{if .t}}{{$y := 1}}{{end}}{{$y}}"),
        "template: t:1: undefined variable \"$y\""
    );
}

#[test]
fn pipelines_and_parens() {
    assert_eq!(run("{{.name | printf \"%s!\"}}"), "world!");
    assert_eq!(run("{{\"x\" | printf \"%s-%s\" \"y\"}}"), "y-x");
    assert_eq!(run("{{(len .list) | printf \"%d items\"}}"), "3 items");
    assert_eq!(run("{{printf \"%d\" (len (slice .list 1))}}"), "2");
    assert_eq!(run("{{(.m).inner.k}}"), "v");
}

#[test]
fn and_or_not() {
    assert_eq!(run("{{and 1 0 2}}"), "0");
    assert_eq!(run("{{and 1 2 3}}"), "3");
    assert_eq!(run("{{or 0 \"\" .name}}"), "world");
    assert_eq!(run("{{or 0 \"\"}}"), "");
    assert_eq!(run("{{not .empty}} {{not .n}}"), "true false");
    // short circuit: the failing call is never made
    assert_eq!(run("{{and .zero (index .list 99)}}"), "0");
    assert_eq!(run("{{or .t (index .list 99)}}"), "true");
}

#[test]
fn comparisons() {
    assert_eq!(
        run("{{eq 1 1}} {{eq 1 2}} {{eq \"a\" \"a\"}} {{eq 2 1 3 2}}"),
        "true false true true"
    );
    assert_eq!(
        run("{{ne 1 2}} {{lt 1 2}} {{le 2 2}} {{gt 1.5 0.5}} {{ge \"b\" \"a\"}}"),
        "true true true true true"
    );
    assert_eq!(run("{{lt \"abc\" \"abd\"}}"), "true");
    assert_eq!(run("{{eq .missing \"x\"}}"), "false");
    assert_eq!(
        exec_err("{{eq 1 1.0}}"),
        "template: t:1:2: executing \"t\" at <eq 1 1.0>: error calling eq: incompatible types for comparison"
    );
    assert_eq!(
        exec_err("{{lt .n 2.5}}"),
        "template: t:1:2: executing \"t\" at <lt .n 2.5>: error calling lt: incompatible types for comparison"
    );
    assert_eq!(
        exec_err("{{lt true false}}"),
        "template: t:1:2: executing \"t\" at <lt true false>: error calling lt: invalid type for comparison"
    );
}

#[test]
fn len_index_slice() {
    assert_eq!(run("{{len .list}} {{len .name}} {{len .m}}"), "3 5 3");
    assert_eq!(
        run("{{index .list 1}} {{index .m \"z\"}} {{index .m \"inner\" \"k\"}}"),
        "b 26 v"
    );
    assert_eq!(run("{{index .name 0}}"), "119");
    assert_eq!(
        run("{{slice .name 1 3}} {{slice .list 1}} {{slice .name}}"),
        "or [b c] world"
    );
    assert_eq!(
        exec_err("{{index .list 5}}"),
        "template: t:1:2: executing \"t\" at <index .list 5>: error calling index: index out of range: 5"
    );
    assert_eq!(
        exec_err("{{slice .name 3 1}}"),
        "template: t:1:2: executing \"t\" at <slice .name 3 1>: error calling slice: invalid slice index: 3 > 1"
    );
    assert_eq!(
        exec_err("{{len .n}}"),
        "template: t:1:2: executing \"t\" at <len .n>: error calling len: len of type int"
    );
}

#[test]
fn print_family_and_escapers() {
    assert_eq!(run("{{print 1 2 \"a\" \"b\" 3}}"), "1 2ab3");
    assert_eq!(run("{{println 1 \"a\"}}"), "1 a\n");
    assert_eq!(
        run("{{html \"<a href='x'>&\\\"\"}}"),
        "&lt;a href=&#39;x&#39;&gt;&amp;&#34;"
    );
    assert_eq!(
        run("{{js \"it's <b> \\\\ = \\n\"}}"),
        "it\\'s \\u003Cb\\u003E \\\\ \\u003D \\u000A"
    );
    assert_eq!(run("{{urlquery \"a b&c=d/é\"}}"), "a+b%26c%3Dd%2F%C3%A9");
    assert_eq!(run("{{.name | html}}"), "world");
}

#[test]
fn printf_verbs() {
    assert_eq!(
        run(r#"{{printf "%s|%d|%v|%q" "a" 42 .list "q\"x"}}"#),
        r#"a|42|[a b c]|"q\"x""#
    );
    assert_eq!(
        run(r#"{{printf "%f|%.2f|%e|%g|%.3g" 3.14159 3.14159 1234.5678 0.000012 3.14159}}"#),
        "3.141590|3.14|1.234568e+03|1.2e-05|3.14"
    );
    assert_eq!(
        run(r#"{{printf "%x|%X|%x|%o|%b" 255 255 "hi" 8 5}}"#),
        "ff|FF|6869|10|101"
    );
    assert_eq!(run(r#"{{printf "%t|%v" true false}}"#), "true|false");
    assert_eq!(
        run(r#"{{printf "[%5s][%-5s][%05d][%+d][%.1s]" "ab" "ab" 42 7 "xyz"}}"#),
        "[   ab][ab   ][00042][+7][x]"
    );
    assert_eq!(run(r#"{{printf "%d%%" 50}}"#), "50%");
    assert_eq!(
        run(r#"{{printf "%c|%U|%T|%T" 65 65 1.5 .list}}"#),
        "A|U+0041|float64|[]interface {}"
    );
    assert_eq!(
        run(r#"{{printf "%8.3f|%-8.2f|" 3.14159 2.5}}"#),
        "   3.142|2.50    |"
    );
    assert_eq!(run(r#"{{printf "%6.2f%%" 12.345}}"#), " 12.35%");
    assert_eq!(run(r#"{{printf "%v %v" 1e21 100000000.0}}"#), "1e+21 1e+08");
    assert_eq!(run(r#"{{printf "%g" 100000.0}}"#), "100000");
}

#[test]
fn printf_errors_inline() {
    assert_eq!(run(r#"{{printf "%d" "x"}}"#), "%!d(string=x)");
    assert_eq!(run(r#"{{printf "%s" 5}}"#), "%!s(int=5)");
    assert_eq!(run(r#"{{printf "%d %d" 1}}"#), "1 %!d(MISSING)");
    assert_eq!(
        run(r#"{{printf "%d" 1 2 "x"}}"#),
        "1%!(EXTRA int=2, string=x)"
    );
    assert_eq!(run(r#"{{printf "%s" nil}}"#), "%!s(<nil>)");
    assert_eq!(run(r#"{{printf "%z" 1}}"#), "%!z(int=1)");
}

#[test]
fn define_template_block() {
    assert_eq!(
        run(r#"{{define "greet"}}hi {{.}}{{end}}{{template "greet" .name}}!"#),
        "hi world!"
    );
    assert_eq!(
        run(r#"{{define "x"}}[{{.}}]{{end}}{{template "x"}}"#),
        "[<no value>]"
    );
    assert_eq!(run(r#"{{block "b" .n}}n={{.}}{{end}}"#), "n=3");
    assert_eq!(
        run(r#"{{define "item"}}<{{.}}>{{end}}{{range .list}}{{template "item" .}}{{end}}"#),
        "<a><b><c>"
    );
    assert_eq!(
        exec_err(r#"{{template "nope"}}"#),
        "template: t:1:11: executing \"t\" at <{{template \"nope\"}}>: template \"nope\" not defined"
    );
    assert_eq!(
        exec_err(r#"{{define "r"}}{{template "r"}}{{end}}{{template "r"}}"#),
        "template: t:1:25: executing \"r\" at <{{template \"r\"}}>: exceeded maximum template depth (100)"
    );
}

#[test]
fn exec_errors() {
    assert_eq!(
        exec_err("{{.name.x}}"),
        "template: t:1:2: executing \"t\" at <.name.x>: can't evaluate field x in type string"
    );
    assert_eq!(
        exec_err("{{.nil.x}}"),
        "template: t:1:2: executing \"t\" at <.nil.x>: nil pointer evaluating interface {}.x"
    );
    assert_eq!(
        exec_err("{{nil}}"),
        "template: t:1:2: executing \"t\" at <nil>: nil is not a command"
    );
    assert_eq!(
        exec_err("{{$x := 1}}{{2 | $x}}"),
        "template: t:1:17: executing \"t\" at <$x>: can't give argument to non-function $x"
    );
    assert_eq!(
        exec_err("line one\n{{range .name}}{{end}}"),
        "template: t:2:8: executing \"t\" at <{{range .name}}>: range can't iterate over world"
    );
    assert_eq!(
        exec_err("{{not}}"),
        "template: t:1:2: executing \"t\" at <not>: wrong number of args for not: want 1 got 0"
    );
    assert_eq!(
        exec_err("{{range $i, $v := 3}}{{end}}"),
        "template: t:1:8: executing \"t\" at <{{range $i, $v := 3}}>: can't use 3 to iterate over more than one variable"
    );
}

#[test]
fn parse_errors() {
    assert_eq!(parse_err("{{if .t}}a"), "template: t:1: unexpected EOF");
    assert_eq!(parse_err("a{{end}}"), "template: t:1: unexpected {{end}}");
    assert_eq!(parse_err("{{else}}"), "template: t:1: unexpected {{else}}");
    assert_eq!(
        parse_err("{{nope 1}}"),
        "template: t:1: function \"nope\" not defined"
    );
    assert_eq!(
        parse_err("{{$x}}"),
        "template: t:1: undefined variable \"$x\""
    );
    assert_eq!(parse_err("\n{{.a"), "template: t:2: unclosed action");
    assert_eq!(
        parse_err("{{break}}"),
        "template: t:1: {{break}} outside {{range}}"
    );
    assert_eq!(
        parse_err("{{if}}{{end}}"),
        "template: t:1: missing value for if"
    );
    assert_eq!(
        parse_err("{{\"abc}}"),
        "template: t:1: unterminated quoted string"
    );
    assert_eq!(parse_err("{{(1}}"), "template: t:1: unclosed left paren");
    assert_eq!(
        parse_err("{{1)}}"),
        "template: t:1: unexpected right paren U+0029 ')'"
    );
    assert_eq!(
        parse_err("{{define \"a\"}}x"),
        "template: t:1: unexpected EOF"
    );
    assert_eq!(
        parse_err("{{.a @}}"),
        "template: t:1: unexpected \"@\" in operand"
    );
    assert_eq!(
        parse_err("{{$x := 1}}{{$x.}}"),
        "template: t:1: unexpected \".\" in operand"
    );
    assert_eq!(
        parse_err(r#"{{"x".a}}"#),
        r#"template: t:1: unexpected . after term "\"x\"""#
    );
    assert_eq!(
        parse_err("{{3x}}"),
        "template: t:1: bad number syntax: \"3x\""
    );
    assert_eq!(parse_err("{{/* x }}"), "template: t:1: unclosed comment");
    assert_eq!(
        parse_err("{{.a | 1}}"),
        "template: t:1: non executable command in pipeline stage 2"
    );
    assert_eq!(
        parse_err("{{1 | 2}}"),
        "template: t:1: non executable command in pipeline stage 2"
    );
    assert_eq!(
        parse_err("{{range .l}}{{else}}{{else}}{{end}}"),
        "template: t:1: expected end; found {{else}}"
    );
}

#[test]
fn missing_key_options() {
    let d = data();
    let zero = Template::parse("t", "[{{.nope}}]", &FuncMap::new())
        .map(|t| {
            t.with_options(Options {
                missing_key: MissingKey::Zero,
            })
        })
        .map_err(|e| e.msg);
    let zero = zero.as_ref().map(|t| t.execute(&d).map_err(|e| e.msg));
    assert_eq!(zero, Ok(Ok("[]".to_string())));
    let strict = Template::parse("t", "{{.nope}}", &FuncMap::new())
        .map(|t| {
            t.with_options(Options {
                missing_key: MissingKey::Error,
            })
        })
        .map_err(|e| e.msg);
    let strict = strict.as_ref().map(|t| t.execute(&d).map_err(|e| e.msg));
    assert_eq!(
        strict,
        Ok(Err(
            "template: t:1:2: executing \"t\" at <.nope>: map has no entry for key \"nope\""
                .to_string()
        ))
    );
}

#[test]
fn user_and_late_functions() {
    let mut funcs = FuncMap::new();
    funcs.insert_arity("double", 1, Some(1), |a| match &a[0] {
        Value::Int(i) => Ok(Value::Int(i * 2)),
        other => Err(format!("cannot double {}", other.type_name())),
    });
    let slot = funcs.declare_late("ctx");
    let t = Template::parse("t", "{{double 4}} {{ctx}} {{.n | double}}", &funcs);
    let t = t.map_err(|e| e.msg);
    let d = data();
    let ctx_fn = |_: &[Value<'_>]| Ok(Value::from("late!"));
    let mut late: Vec<&super::LateFn<'_>> = Vec::new();
    late.resize(slot + 1, &ctx_fn);
    let mut out = String::new();
    let r = t
        .as_ref()
        .map(|t| t.execute_into(&d, &late, &mut out).map_err(|e| e.msg));
    assert_eq!(r, Ok(Ok(())));
    assert_eq!(out, "8 late! 6");
    let t2 = Template::parse("t", "{{double \"x\"}}", &funcs).map_err(|e| e.msg);
    let r2 = t2.as_ref().map(|t| t.execute(&d).map_err(|e| e.msg));
    assert_eq!(
        r2,
        Ok(Err("template: t:1:2: executing \"t\" at <double \"x\">: error calling double: cannot double string".to_string()))
    );
}

#[test]
fn call_builtin_with_func_value() {
    let f: super::Func = std::sync::Arc::new(|a: &[Value<'_>]| Ok(Value::Int(a.len() as i64)));
    let d = Value::map([("f", Value::Func(f))]);
    let t = Template::parse("t", "{{call .f 1 2 3}}", &FuncMap::new()).map_err(|e| e.msg);
    let r = t.as_ref().map(|t| t.execute(&d).map_err(|e| e.msg));
    assert_eq!(r, Ok(Ok("3".to_string())));
}

#[test]
fn time_values() {
    let t = super::Time::from_unix_nanos(1_700_000_000_123_000_000);
    let d = Value::map([("ts", Value::Time(t))]);
    let tpl = Template::parse(
        "t",
        "{{.ts}}|{{.ts.Unix}}|{{.ts.Format \"2006-01-02T15:04:05.000Z07:00\"}}|{{.ts.Year}}",
        &FuncMap::new(),
    )
    .map_err(|e| e.msg);
    let r = tpl.as_ref().map(|x| x.execute(&d).map_err(|e| e.msg));
    assert_eq!(
        r,
        Ok(Ok(
            "2023-11-14 22:13:20.123 +0000 UTC|1700000000|2023-11-14T22:13:20.123Z|2023"
                .to_string()
        ))
    );
}

/// Runs `src` on `d` with the options and late functions given.
fn run_with<'a>(
    t: &'a Template,
    d: &Value<'a>,
    late: &[&super::LateFn<'a>],
) -> Result<String, String> {
    let mut out = String::new();
    t.execute_into(d, late, &mut out).map_err(|e| e.msg)?;
    Ok(out)
}

#[test]
fn struct_values() {
    let inner = Value::Struct(std::sync::Arc::new(super::Struct {
        type_name: "*pkg.item",
        fields: vec![("N", Value::Int(7))],
        pointer: true,
    }));
    let d = Value::Struct(std::sync::Arc::new(super::Struct {
        type_name: "struct { A string; B *pkg.item }",
        fields: vec![("A", Value::from("x")), ("B", inner)],
        pointer: false,
    }));
    let t = Template::parse(
        "t",
        "{{.A}} {{.B.N}} {{.}} {{.B}} {{printf \"%T %v\" .B .B}} {{if .}}t{{end}}",
        &FuncMap::new(),
    )
    .map_err(|e| e.msg);
    let r = t.as_ref().map(|t| run_with(t, &d, &[]));
    assert_eq!(r, Ok(Ok("x 7 {x &{7}} &{7} *pkg.item &{7} t".to_string())));
    let bad = Template::parse("t", "{{.C}}", &FuncMap::new()).map_err(|e| e.msg);
    let r = bad.as_ref().map(|t| run_with(t, &d, &[]));
    assert_eq!(
        r,
        Ok(Err("template: t:1:2: executing \"t\" at <.C>: can't evaluate field C in type struct { A string; B *pkg.item }".to_string()))
    );
    let ptr_eq = Template::parse("t", "{{eq .B .B}}", &FuncMap::new()).map_err(|e| e.msg);
    let r = ptr_eq.as_ref().map(|t| run_with(t, &d, &[]));
    assert_eq!(r, Ok(Ok("true".to_string())));
}

#[test]
fn typed_zero_missing_keys_and_index() {
    let d = Value::map([
        ("labels", Value::map([("a", Value::from("1"))])),
        ("any", Value::map([("n", Value::Int(1))])),
    ]);
    let t = Template::parse(
        "t",
        "[{{.labels.b}}] [{{.any.b}}] [{{index .labels \"b\"}}] [{{index .any \"b\"}}]",
        &FuncMap::new(),
    )
    .map(|t| {
        t.with_options(Options {
            missing_key: MissingKey::TypedZero,
        })
    })
    .map_err(|e| e.msg);
    let r = t.as_ref().map(|t| run_with(t, &d, &[]));
    assert_eq!(r, Ok(Ok("[] [<no value>] [] [<no value>]".to_string())));
}

#[test]
fn late_arity_and_named_execution() {
    let mut funcs = FuncMap::new();
    let slot = funcs.declare_late_arity("one", 1, Some(1));
    assert_eq!(funcs.late_arity(slot), (1, Some(1)));
    fn echo<'a>(a: &[Value<'a>]) -> Result<Value<'a>, String> {
        Ok(a[0].clone())
    }
    let one = echo;
    let t = Template::parse("t", "{{define \"x\"}}<{{one .}}>{{end}}{{one}}", &funcs)
        .map_err(|e| e.msg);
    let d = Value::from("d");
    let r = t.as_ref().map(|t| run_with(t, &d, &[&one]));
    assert_eq!(
        r,
        Ok(Err("template: t:1:34: executing \"t\" at <one>: wrong number of args for one: want 1 got 0".to_string()))
    );
    let named = t.as_ref().map(|t| {
        let mut out = String::new();
        t.execute_template_into("x", &d, &[&one], &mut out)
            .map(|_| out)
            .map_err(|e| e.msg)
    });
    assert_eq!(named, Ok(Ok("<d>".to_string())));
    let missing = t.as_ref().map(|t| {
        let mut out = String::new();
        t.execute_template_into("y", &d, &[&one], &mut out)
            .map_err(|e| e.msg)
    });
    assert_eq!(
        missing,
        Ok(Err(
            "template: no template \"y\" associated with template \"t\"".to_string()
        ))
    );
}
