//! Parser tests: valid queries against an explicit dump of the tree,
//! invalid ones against Loki's message and position, and the printer's
//! round trip over every valid query.

use super::{parse, parse_log_selector, parse_matchers};
use crate::logql::ast::*;
use crate::logql::printer::format_expr;
use crate::logql::ParseError;

/// A fully explicit, compact rendering of the tree.
fn dump(e: &Expr) -> String {
    match e {
        Expr::Log(l) => dump_log(l),
        Expr::Sample(s) => dump_sample(s),
    }
}

fn dump_log(l: &LogExpr) -> String {
    let ms: Vec<String> = l.matchers.iter().map(|m| m.to_string()).collect();
    let mut s = format!("{{{}}}", ms.join(","));
    for st in &l.stages {
        s.push(' ');
        s.push_str(&dump_stage(st));
    }
    s
}

fn dump_stage(st: &Stage) -> String {
    match st {
        Stage::LineFilter(f) => {
            let op = match f.op {
                LineFilterOp::Contains => "contains",
                LineFilterOp::NotContains => "not_contains",
                LineFilterOp::Regex => "regex",
                LineFilterOp::NotRegex => "not_regex",
                LineFilterOp::Pattern => "pattern",
                LineFilterOp::NotPattern => "not_pattern",
            };
            let vs: Vec<String> = f
                .values
                .iter()
                .map(|v| match v {
                    LineFilterValue::Literal(s) => format!("{s:?}"),
                    LineFilterValue::Ip(s) => format!("ip({s:?})"),
                })
                .collect();
            format!("{op}({})", vs.join("|"))
        }
        Stage::Json(ex) => format!("json({})", dump_ex(ex)),
        Stage::Logfmt {
            strict,
            keep_empty,
            extractions,
        } => format!(
            "logfmt{}{}({})",
            if *strict { "[strict]" } else { "" },
            if *keep_empty { "[keep_empty]" } else { "" },
            dump_ex(extractions)
        ),
        Stage::Regexp(r) => format!("regexp({r:?})"),
        Stage::Pattern(p) => format!("pattern_parser({p:?})"),
        Stage::Unpack => "unpack".into(),
        Stage::LabelFilter(f) => format!("filter({})", dump_lf(f)),
        Stage::LineFormat(t) => format!("line_format({t:?})"),
        Stage::LabelFormat(ops) => {
            let v: Vec<String> = ops
                .iter()
                .map(|o| match o {
                    LabelFormatOp::Rename { dst, src } => format!("{dst}<-{src}"),
                    LabelFormatOp::Template { dst, template } => {
                        format!("{dst}<-tmpl({template:?})")
                    }
                })
                .collect();
            format!("label_format({})", v.join(","))
        }
        Stage::Drop(s) => format!("drop({})", dump_sel(s)),
        Stage::Keep(s) => format!("keep({})", dump_sel(s)),
        Stage::Decolorize => "decolorize".into(),
    }
}

fn dump_ex(ex: &[LabelExtraction]) -> String {
    let v: Vec<String> = ex
        .iter()
        .map(|e| match &e.expr {
            Some(x) => format!("{}={x:?}", e.name),
            None => e.name.clone(),
        })
        .collect();
    v.join(",")
}

fn dump_sel(s: &[LabelSelection]) -> String {
    let v: Vec<String> = s
        .iter()
        .map(|x| match x {
            LabelSelection::Name(n) => n.clone(),
            LabelSelection::Matcher(m) => m.to_string(),
        })
        .collect();
    v.join(",")
}

fn cmp(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
    }
}

fn dump_lf(f: &LabelFilterExpr) -> String {
    match f {
        LabelFilterExpr::And(a, b) => format!("and({}, {})", dump_lf(a), dump_lf(b)),
        LabelFilterExpr::Or(a, b) => format!("or({}, {})", dump_lf(a), dump_lf(b)),
        LabelFilterExpr::String(m) => format!("str({m})"),
        LabelFilterExpr::Number { name, op, value } => format!("num({name}{}{value})", cmp(*op)),
        LabelFilterExpr::Duration { name, op, value } => {
            format!("dur({name}{}{value}s)", cmp(*op))
        }
        LabelFilterExpr::Bytes { name, op, value } => format!("bytes({name}{}{value}B)", cmp(*op)),
        LabelFilterExpr::Ip {
            name,
            negated,
            pattern,
        } => format!("ip({name}{}{pattern:?})", if *negated { "!=" } else { "=" }),
    }
}

fn dump_grouping(g: &Option<Grouping>) -> String {
    match g {
        None => String::new(),
        Some(g) => format!(
            " {}({})",
            if g.without { "without" } else { "by" },
            g.labels.join(",")
        ),
    }
}

fn dump_sample(s: &SampleExpr) -> String {
    match s {
        SampleExpr::RangeAgg(a) => {
            let r = &a.range;
            let mut inner = dump_log(&r.selector);
            if let Some(u) = &r.unwrap {
                let conv = match u.conversion {
                    UnwrapConversion::None => "",
                    UnwrapConversion::Duration => "duration:",
                    UnwrapConversion::Bytes => "bytes:",
                };
                inner.push_str(&format!(" unwrap({conv}{})", u.label));
                for f in &u.post_filters {
                    inner.push_str(&format!(" post({})", dump_lf(f)));
                }
            }
            inner.push_str(&format!(" [{}s]", r.range_ns as f64 / 1e9));
            if r.offset_ns != 0 {
                inner.push_str(&format!(" offset({}s)", r.offset_ns as f64 / 1e9));
            }
            let param = a.param.map(|p| format!("[{p}]")).unwrap_or_default();
            format!("{:?}{param}({inner}){}", a.op, dump_grouping(&a.grouping))
        }
        SampleExpr::VectorAgg(v) => {
            let param = v.param.map(|p| format!("[{p}]")).unwrap_or_default();
            format!(
                "{:?}{param}{}({})",
                v.op,
                dump_grouping(&v.grouping),
                dump_sample(&v.expr)
            )
        }
        SampleExpr::Binary(b) => {
            let mut m = String::new();
            if b.return_bool {
                m.push_str(" bool");
            }
            if let Some(vm) = &b.matching {
                m.push_str(&format!(
                    " {}({})",
                    if vm.on { "on" } else { "ignoring" },
                    vm.labels.join(",")
                ));
                match &vm.card {
                    Cardinality::OneToOne => {}
                    Cardinality::ManyToOne(l) => {
                        m.push_str(&format!(" group_left({})", l.join(",")))
                    }
                    Cardinality::OneToMany(l) => {
                        m.push_str(&format!(" group_right({})", l.join(",")))
                    }
                }
            }
            format!(
                "({} {:?}{m} {})",
                dump_sample(&b.lhs),
                b.op,
                dump_sample(&b.rhs)
            )
        }
        SampleExpr::Literal(v) => format!("{v}"),
        SampleExpr::Vector(v) => format!("vector({v})"),
        SampleExpr::LabelReplace(l) => format!(
            "label_replace({}, {:?}, {:?}, {:?}, {:?})",
            dump_sample(&l.expr),
            l.dst,
            l.replacement,
            l.src,
            l.regex
        ),
    }
}

/// (query, expected dump).
const VALID: &[(&str, &str)] = &[
    // Stream selectors.
    (r#"{app="api"}"#, r#"{app="api"}"#),
    (
        r#"{ app = "api" , env != "dev" }"#,
        r#"{app="api",env!="dev"}"#,
    ),
    (
        r#"{app=~"api|web", env!~"test.*"}"#,
        r#"{app=~"api|web",env!~"test.*"}"#,
    ),
    (r#"{app=~".+"}"#, r#"{app=~".+"}"#),
    (r#"{app="a", x=""}"#, r#"{app="a",x=""}"#),
    ("{app=`raw\\n`}", r#"{app="raw\\n"}"#),
    (
        r#"{app="tab\tquote\"x\u00e9"}"#,
        "{app=\"tab\\tquote\\\"xé\"}",
    ),
    ("{app=\"a\"} # a comment\n", r#"{app="a"}"#),
    ("# leading comment\n{app=\"a\"}", r#"{app="a"}"#),
    (r#"({app="a"})"#, r#"{app="a"}"#),
    (r#"{rate="x"}"#, r#"{rate="x"}"#),
    // Line filters.
    (r#"{app="a"} |= "err""#, r#"{app="a"} contains("err")"#),
    (
        r#"{app="a"} != "debug" |~ "time=\\d+" !~ "x" |> "<_> 500 <_>" !> "GET <_>""#,
        r#"{app="a"} not_contains("debug") regex("time=\\d+") not_regex("x") pattern("<_> 500 <_>") not_pattern("GET <_>")"#,
    ),
    (
        r#"{app="a"} |= "a" or "b" or "c""#,
        r#"{app="a"} contains("a"|"b"|"c")"#,
    ),
    (
        r#"{app="a"} |= ip("10.0.0.0/8") != ip("10.1.0.0/16")"#,
        r#"{app="a"} contains(ip("10.0.0.0/8")) not_contains(ip("10.1.0.0/16"))"#,
    ),
    (
        r#"{app="a"} |= "x" or ip("1.2.3.4")"#,
        r#"{app="a"} contains("x"|ip("1.2.3.4"))"#,
    ),
    (
        "{app=\"a\"} |~ `\\d{3} (GET|POST)`",
        r#"{app="a"} regex("\\d{3} (GET|POST)")"#,
    ),
    // Parsers.
    (r#"{app="a"} | json"#, r#"{app="a"} json()"#),
    (
        r#"{app="a"} | json first="servers[0]", ua="request.headers[\"User-Agent\"]", status"#,
        r#"{app="a"} json(first="servers[0]",ua="request.headers[\"User-Agent\"]",status)"#,
    ),
    (r#"{app="a"} | logfmt"#, r#"{app="a"} logfmt()"#),
    (
        r#"{app="a"} | logfmt --strict --keep-empty"#,
        r#"{app="a"} logfmt[strict][keep_empty]()"#,
    ),
    (
        r#"{app="a"} | logfmt --keep-empty lvl="level", msg"#,
        r#"{app="a"} logfmt[keep_empty](lvl="level",msg)"#,
    ),
    (
        r#"{app="a"} | regexp "(?P<method>\\w+) (?P<path>\\S+)""#,
        r#"{app="a"} regexp("(?P<method>\\w+) (?P<path>\\S+)")"#,
    ),
    (
        r#"{app="a"} | pattern "<ip> - - <_> \"<method> <uri>\"""#,
        r#"{app="a"} pattern_parser("<ip> - - <_> \"<method> <uri>\"")"#,
    ),
    (
        r#"{app="a"} | unpack | decolorize"#,
        r#"{app="a"} unpack decolorize"#,
    ),
    (
        r#"{app="a"} | JSON | Logfmt"#,
        r#"{app="a"} json() logfmt()"#,
    ),
    // Label filters.
    (
        r#"{app="a"} | json | level="error""#,
        r#"{app="a"} json() filter(str(level="error"))"#,
    ),
    (
        r#"{app="a"} | level!="info" | path=~"/api/.*" | ua!~"bot.*""#,
        r#"{app="a"} filter(str(level!="info")) filter(str(path=~"/api/.*")) filter(str(ua!~"bot.*"))"#,
    ),
    (
        r#"{app="a"} | status >= 400"#,
        r#"{app="a"} filter(num(status>=400))"#,
    ),
    (
        r#"{app="a"} | status == 200 | code != 3 | x < -1.5 | y <= +2 | z > 1e3 | w = 7"#,
        r#"{app="a"} filter(num(status==200)) filter(num(code!=3)) filter(num(x<-1.5)) filter(num(y<=2)) filter(num(z>1000)) filter(num(w==7))"#,
    ),
    (
        r#"{app="a"} | latency > 250ms"#,
        r#"{app="a"} filter(dur(latency>0.25s))"#,
    ),
    (
        r#"{app="a"} | latency >= 1.5s | t < 1h2m | u == 100us"#,
        r#"{app="a"} filter(dur(latency>=1.5s)) filter(dur(t<3720s)) filter(dur(u==0.0001s))"#,
    ),
    (
        r#"{app="a"} | d != 1d | e > -5m"#,
        r#"{app="a"} filter(dur(d!=86400s)) filter(dur(e>-300s))"#,
    ),
    (
        r#"{app="a"} | size > 10KB | s2 <= 1.5MiB | s3 == 2M | s4 = 10B | s5 < 1ki"#,
        r#"{app="a"} filter(bytes(size>10000B)) filter(bytes(s2<=1572864B)) filter(bytes(s3==2000000B)) filter(bytes(s4==10B)) filter(bytes(s5<1024B))"#,
    ),
    (
        r#"{app="a"} | addr = ip("192.168.0.0/16") | peer != ip("10.0.0.1")"#,
        r#"{app="a"} filter(ip(addr="192.168.0.0/16")) filter(ip(peer!="10.0.0.1"))"#,
    ),
    (
        r#"{app="a"} | a="1" and b="2""#,
        r#"{app="a"} filter(and(str(a="1"), str(b="2")))"#,
    ),
    (
        r#"{app="a"} | a="1" or b="2" and c="3""#,
        r#"{app="a"} filter(or(str(a="1"), and(str(b="2"), str(c="3"))))"#,
    ),
    (
        r#"{app="a"} | a="1" and b="2" or c="3""#,
        r#"{app="a"} filter(or(and(str(a="1"), str(b="2")), str(c="3")))"#,
    ),
    (
        r#"{app="a"} | a="1" or b="2" or c="3""#,
        r#"{app="a"} filter(or(or(str(a="1"), str(b="2")), str(c="3")))"#,
    ),
    (
        r#"{app="a"} | (a="1" or b="2") and c="3""#,
        r#"{app="a"} filter(and(or(str(a="1"), str(b="2")), str(c="3")))"#,
    ),
    (
        r#"{app="a"} | a="1", b="2""#,
        r#"{app="a"} filter(and(str(a="1"), str(b="2")))"#,
    ),
    (
        r#"{app="a"} | a="1", b="2" or c="3""#,
        r#"{app="a"} filter(and(str(a="1"), or(str(b="2"), str(c="3"))))"#,
    ),
    (
        r#"{app="a"} | a="1" or b="2", c="3""#,
        r#"{app="a"} filter(or(str(a="1"), and(str(b="2"), str(c="3"))))"#,
    ),
    (
        r#"{app="a"} | a="1" b>2"#,
        r#"{app="a"} filter(and(str(a="1"), num(b>2)))"#,
    ),
    (
        r#"{app="a"} | ((a="1"))"#,
        r#"{app="a"} filter(str(a="1"))"#,
    ),
    (
        r#"{app="a"} | json | duration > 1s and bytes < 1KB"#,
        r#"{app="a"} json() filter(and(dur(duration>1s), bytes(bytes<1000B)))"#,
    ),
    // Formatting and label selection.
    (
        r#"{app="a"} | line_format "{{.level}}: {{.msg}}""#,
        r#"{app="a"} line_format("{{.level}}: {{.msg}}")"#,
    ),
    (
        r#"{app="a"} | label_format lvl=level, up="{{ToUpper .msg}}""#,
        r#"{app="a"} label_format(lvl<-level,up<-tmpl("{{ToUpper .msg}}"))"#,
    ),
    (
        r#"{app="a"} | drop level, method="GET", path=~"/health.*""#,
        r#"{app="a"} drop(level,method="GET",path=~"/health.*")"#,
    ),
    (
        r#"{app="a"} | keep level, pod"#,
        r#"{app="a"} keep(level,pod)"#,
    ),
    (
        r#"{app="a"} |= "x" | json | line_format "{{.m}}" |~ "y""#,
        r#"{app="a"} contains("x") json() line_format("{{.m}}") regex("y")"#,
    ),
    // Range aggregations.
    (
        r#"count_over_time({app="a"}[5m])"#,
        r#"CountOverTime({app="a"} [300s])"#,
    ),
    (
        r#"rate({app="a"} |= "err" [1m])"#,
        r#"Rate({app="a"} contains("err") [60s])"#,
    ),
    (
        r#"bytes_rate({app="a"}[1h30m] offset 5m)"#,
        r#"BytesRate({app="a"} [5400s] offset(300s))"#,
    ),
    (
        r#"bytes_over_time(({app="a"} | json)[10s])"#,
        r#"BytesOverTime({app="a"} json() [10s])"#,
    ),
    (
        r#"absent_over_time({app="a"}[1d])"#,
        r#"AbsentOverTime({app="a"} [86400s])"#,
    ),
    (
        r#"count_over_time({app="a"}[5m] |= "x" | json)"#,
        r#"CountOverTime({app="a"} contains("x") json() [300s])"#,
    ),
    (
        r#"count_over_time({app="a"}[5m] offset 1h |= "x")"#,
        r#"CountOverTime({app="a"} contains("x") [300s] offset(3600s))"#,
    ),
    (
        r#"count_over_time(({app="a"} |= "x")[5m] offset 10m)"#,
        r#"CountOverTime({app="a"} contains("x") [300s] offset(600s))"#,
    ),
    (
        r#"count_over_time(({app="a"}[5m]))"#,
        r#"CountOverTime({app="a"} [300s])"#,
    ),
    (
        r#"sum_over_time({app="a"} | logfmt | unwrap bytes_sent [5m])"#,
        r#"SumOverTime({app="a"} logfmt() unwrap(bytes_sent) [300s])"#,
    ),
    (
        r#"avg_over_time({app="a"} | json | unwrap duration(latency) | __error__="" [1m]) by (pod)"#,
        r#"AvgOverTime({app="a"} json() unwrap(duration:latency) post(str(__error__="")) [60s]) by(pod)"#,
    ),
    (
        r#"max_over_time({app="a"} | unwrap duration_seconds(t) [1m]) without (x, y)"#,
        r#"MaxOverTime({app="a"} unwrap(duration:t) [60s]) without(x,y)"#,
    ),
    (
        r#"min_over_time({app="a"} | unwrap bytes(size) | size > 1KB or __error__!="" [1m])"#,
        r#"MinOverTime({app="a"} unwrap(bytes:size) post(or(bytes(size>1000B), str(__error__!=""))) [60s])"#,
    ),
    (
        r#"quantile_over_time(0.99, {app="a"} | json | unwrap latency [5m]) by (route)"#,
        r#"QuantileOverTime[0.99]({app="a"} json() unwrap(latency) [300s]) by(route)"#,
    ),
    (
        r#"stddev_over_time({app="a"} | unwrap x | x > 0 | y < 5 [5m])"#,
        r#"StddevOverTime({app="a"} unwrap(x) post(num(x>0)) post(num(y<5)) [300s])"#,
    ),
    (
        r#"stdvar_over_time({app="a"}[5m] | unwrap x)"#,
        r#"StdvarOverTime({app="a"} unwrap(x) [300s])"#,
    ),
    (
        r#"first_over_time({app="a"} | unwrap x [5m] offset 1m)"#,
        r#"FirstOverTime({app="a"} unwrap(x) [300s] offset(60s))"#,
    ),
    (
        r#"last_over_time(({app="a"} | unwrap x)[5m]) by ()"#,
        r#"LastOverTime({app="a"} unwrap(x) [300s]) by()"#,
    ),
    (
        r#"rate_counter({app="a"} | unwrap requests [5m])"#,
        r#"RateCounter({app="a"} unwrap(requests) [300s])"#,
    ),
    (
        r#"rate({app="a"} | unwrap bytes [1m])"#,
        r#"Rate({app="a"} unwrap(bytes) [60s])"#,
    ),
    (
        r#"count_over_time({app="a"}[5m] offset -1h30m)"#,
        r#"CountOverTime({app="a"} [300s] offset(-5400s))"#,
    ),
    // Vector aggregations.
    (
        r#"sum(rate({app="a"}[5m]))"#,
        r#"Sum(Rate({app="a"} [300s]))"#,
    ),
    (
        r#"sum by (pod, ns) (count_over_time({app="a"}[5m]))"#,
        r#"Sum by(pod,ns)(CountOverTime({app="a"} [300s]))"#,
    ),
    (
        r#"sum(count_over_time({app="a"}[5m])) without (pod)"#,
        r#"Sum without(pod)(CountOverTime({app="a"} [300s]))"#,
    ),
    (
        r#"topk(10, sum by (path) (rate({app="a"}[5m])))"#,
        r#"Topk[10](Sum by(path)(Rate({app="a"} [300s])))"#,
    ),
    (
        r#"bottomk by (x) (3, rate({app="a"}[5m]))"#,
        r#"Bottomk[3] by(x)(Rate({app="a"} [300s]))"#,
    ),
    (
        r#"topk(2, rate({app="a"}[5m])) by (y)"#,
        r#"Topk[2] by(y)(Rate({app="a"} [300s]))"#,
    ),
    (
        r#"avg(rate({app="a"}[1m])) + min(rate({app="a"}[1m])) - max(rate({app="a"}[1m]))"#,
        r#"((Avg(Rate({app="a"} [60s])) Add Min(Rate({app="a"} [60s]))) Sub Max(Rate({app="a"} [60s])))"#,
    ),
    (
        r#"count(stddev(stdvar(rate({app="a"}[1m]))))"#,
        r#"Count(Stddev(Stdvar(Rate({app="a"} [60s]))))"#,
    ),
    (
        r#"sort(rate({app="a"}[1m]))"#,
        r#"Sort(Rate({app="a"} [60s]))"#,
    ),
    (
        r#"sort_desc(sum by () (rate({app="a"}[1m])))"#,
        r#"SortDesc(Sum by()(Rate({app="a"} [60s])))"#,
    ),
    (
        r#"SUM BY (pod) (RATE({app="a"}[1m]))"#,
        r#"Sum by(pod)(Rate({app="a"} [60s]))"#,
    ),
    // Binary operators, literals, vector(), label_replace.
    ("1", "1"),
    ("-2.5", "-2.5"),
    ("+3", "3"),
    ("1e3", "1000"),
    (".5", "0.5"),
    // Operations on two literals are reduced while parsing, as in Loki.
    ("1 + 2 * 3", "7"),
    ("(1 + 2) * 3", "9"),
    ("1 - 2 - 3", "-4"),
    ("2 ^ 3 ^ 2", "512"),
    ("(2 ^ 3) ^ 2", "64"),
    ("8 / 2 % 3", "1"),
    ("-7 % 3", "-1"),
    ("1 - -1", "2"),
    ("2-1", "1"),
    ("1 > bool 2", "0"),
    ("1 >= 1 > 1", "0"),
    ("1 <= 1", "1"),
    ("1 == 1 + 1", "0"),
    ("1 / 0", "(1 Div 0)"),
    (
        r#"2 * 3 + rate({app="a"}[1m]) - 1 * 2"#,
        r#"((6 Add Rate({app="a"} [60s])) Sub 2)"#,
    ),
    (
        r#"rate({app="a"}[1m]) ^ 2 ^ 0.5"#,
        r#"(Rate({app="a"} [60s]) Pow 1.4142135623730951)"#,
    ),
    (
        r#"(rate({app="a"}[1m]) ^ 2) ^ 0.5"#,
        r#"((Rate({app="a"} [60s]) Pow 2) Pow 0.5)"#,
    ),
    (
        r#"rate({app="a"}[1m]) - 1 - rate({app="b"}[1m])"#,
        r#"((Rate({app="a"} [60s]) Sub 1) Sub Rate({app="b"} [60s]))"#,
    ),
    (
        r#"rate({app="a"}[1m]) - (1 - rate({app="b"}[1m]))"#,
        r#"(Rate({app="a"} [60s]) Sub (1 Sub Rate({app="b"} [60s])))"#,
    ),
    (
        r#"rate({app="a"}[1m]) + rate({app="b"}[1m]) * rate({app="c"}[1m]) == bool 3"#,
        r#"((Rate({app="a"} [60s]) Add (Rate({app="b"} [60s]) Mul Rate({app="c"} [60s]))) Eq bool 3)"#,
    ),
    ("vector(1)", "vector(1)"),
    ("vector(0) * 2", "(vector(0) Mul 2)"),
    // Grafana's data source health check.
    ("vector(1)+vector(1)", "(vector(1) Add vector(1))"),
    // Logs Drilldown's volume query.
    (
        r#"sum by (detected_level) (count_over_time({service_name="api"} | drop __error__, __error_details__ [1m]))"#,
        r#"Sum by(detected_level)(CountOverTime({service_name="api"} drop(__error__,__error_details__) [60s]))"#,
    ),
    (
        "{service_name=\"api\"} |= `` | json | logfmt | drop __error__, __error_details__ | detected_level=~\"error|warn\"",
        r#"{service_name="api"} contains("") json() logfmt() drop(__error__,__error_details__) filter(str(detected_level=~"error|warn"))"#,
    ),
    (
        r#"rate({app="a"}[1m]) > 10 and rate({app="a"}[1m]) < 20"#,
        r#"((Rate({app="a"} [60s]) Gt 10) And (Rate({app="a"} [60s]) Lt 20))"#,
    ),
    (
        r#"rate({app="a"}[1m]) or rate({app="b"}[1m]) unless rate({app="c"}[1m])"#,
        r#"(Rate({app="a"} [60s]) Or (Rate({app="b"} [60s]) Unless Rate({app="c"} [60s])))"#,
    ),
    (
        r#"sum by (x) (rate({app="a"}[1m])) / on (x) group_left (y) sum by (x, y) (rate({app="b"}[1m]))"#,
        r#"(Sum by(x)(Rate({app="a"} [60s])) Div on(x) group_left(y) Sum by(x,y)(Rate({app="b"} [60s])))"#,
    ),
    (
        r#"rate({app="a"}[1m]) * ignoring (pod) group_right rate({app="b"}[1m])"#,
        r#"(Rate({app="a"} [60s]) Mul ignoring(pod) group_right() Rate({app="b"} [60s]))"#,
    ),
    (
        r#"rate({app="a"}[1m]) >= bool on () rate({app="b"}[1m])"#,
        r#"(Rate({app="a"} [60s]) Ge bool on() Rate({app="b"} [60s]))"#,
    ),
    (
        r#"rate({app="a"}[1m]) != ignoring () group_left () rate({app="b"}[1m])"#,
        r#"(Rate({app="a"} [60s]) Ne ignoring() group_left() Rate({app="b"} [60s]))"#,
    ),
    (
        r#"label_replace(rate({app="a"}[1m]), "dst", "$1", "src", "(.*)-x")"#,
        r#"label_replace(Rate({app="a"} [60s]), "dst", "$1", "src", "(.*)-x")"#,
    ),
    (
        "rate({app=\"a\"}[1m]) // Go-style comment\n / /* inline */ 2",
        r#"(Rate({app="a"} [60s]) Div 2)"#,
    ),
    (
        r#"{app="a"} | a="1" (b="2" or c="3")"#,
        r#"{app="a"} filter(and(str(a="1"), or(str(b="2"), str(c="3"))))"#,
    ),
    (
        r#"{app="a"} | logfmt | rate > 5 | sum="x""#,
        r#"{app="a"} logfmt() filter(num(rate>5)) filter(str(sum="x"))"#,
    ),
    (
        r#"(sum(rate({app="a"}[1m])))"#,
        r#"Sum(Rate({app="a"} [60s]))"#,
    ),
    (
        "sum by (pod) (\n  rate({app=\"a\"}[1m]) # per pod\n)\n",
        r#"Sum by(pod)(Rate({app="a"} [60s]))"#,
    ),
    (
        r#"sum(rate({app="a"}[1m])) by (pod) * 100 / 2"#,
        r#"((Sum by(pod)(Rate({app="a"} [60s])) Mul 100) Div 2)"#,
    ),
];

/// (query, line, col, message); line and col 0 for Loki's position-less
/// semantic errors.
const INVALID: &[(&str, usize, usize, &str)] = &[
    ("", 1, 1, "syntax error: unexpected $end"),
    (r#"{app="a""#, 1, 9, "syntax error: unexpected $end, expecting } or ,"),
    (r#"{app="a}"#, 1, 6, "literal not terminated"),
    (r#"{app}"#, 1, 5, "syntax error: unexpected }, expecting = or =~ or !~ or !="),
    (r#"{app=}"#, 1, 6, "syntax error: unexpected }, expecting STRING"),
    (r#"{app="a" env="b"}"#, 1, 10, "syntax error: unexpected IDENTIFIER, expecting } or ,"),
    (r#"{app="a",}"#, 1, 10, "syntax error: unexpected }, expecting IDENTIFIER"),
    (r#"{app="a"} |~"#, 1, 13, "syntax error: unexpected $end, expecting STRING or ip"),
    (r#"{app="a"} "x""#, 1, 11, "syntax error: unexpected STRING"),
    (r#"{app="a"} foo"#, 1, 11, "syntax error: unexpected IDENTIFIER"),
    (r#"| json"#, 1, 1, "syntax error: unexpected |"),
    (r#"{app="a"} | unwrap x"#, 1, 13, "syntax error: unexpected unwrap"),
    // `unwrap` is a keyword everywhere, as in Loki.
    (r#"{app="a"} | json | unwrap="x""#, 1, 20, "syntax error: unexpected unwrap"),
    (r#"unknown({app="a"}[5m])"#, 1, 1, "syntax error: unexpected IDENTIFIER"),
    (r#"rate({app="a"}[5minutes])"#, 1, 15, "not a valid duration string: \"5minutes\""),
    (r#"rate({app="a"}[5)"#, 1, 15, "missing closing ']' in duration"),
    (r#"min({app="a"}[5m])"#, 1, 14, "syntax error: unexpected RANGE"),
    (r#"{app="a"}[5m]"#, 1, 10, "syntax error: unexpected RANGE"),
    (r#"rate({app="a"})"#, 1, 15, "syntax error: unexpected )"),
    (r#"rate(1)"#, 1, 7, "syntax error: unexpected ), expecting ,"),
    (r#"sum({app="a"})"#, 1, 14, "syntax error: unexpected )"),
    (r#"sum(rate({app="a"}[1m]) by (x)"#, 1, 31, "syntax error: unexpected $end"),
    (r#"sum(rate({app="a"}[1m]) by (x) foo)"#, 1, 32, "syntax error: unexpected IDENTIFIER"),
    // `sum` is only a function when `(` or `by (` follows, as in Loki.
    (r#"sum by x (rate({app="a"}[1m]))"#, 1, 1, "syntax error: unexpected IDENTIFIER"),
    (r#"sum by (x (rate({app="a"}[1m]))"#, 1, 11, "syntax error: unexpected (, expecting , or )"),
    (r#"rate({app="a"}[1m]) +"#, 1, 22, "syntax error: unexpected $end"),
    (r#"{app="a"} | json | x > "s""#, 1, 24, "syntax error: unexpected STRING"),
    (r#"{app="a"} | x =~ 5"#, 1, 18, "syntax error: unexpected NUMBER, expecting STRING"),
    ("{app=\"a\"}\n  |= \"x\" \n  | json |", 3, 11, "syntax error: unexpected $end"),
    (
        "sum(rate({app=\"a\"}[1m]) \n  by (x) y)",
        2,
        10,
        "syntax error: unexpected IDENTIFIER",
    ),
    (r#"vector(x)"#, 1, 8, "syntax error: unexpected IDENTIFIER, expecting NUMBER"),
    (r#"1 + @"#, 1, 5, "syntax error: unexpected IDENTIFIER"),
    // Not a flag: a subtraction whose right side is `-bogus`.
    (r#"{app="a"} | logfmt --bogus"#, 1, 22, "syntax error: unexpected IDENTIFIER, expecting NUMBER"),
    (r#"{app="a"} | json | line_format 5"#, 1, 32, "syntax error: unexpected NUMBER, expecting STRING"),
    (
        r#"count_over_time({app="a"} | unwrap x | json [5m])"#,
        1,
        40,
        "syntax error: unexpected json, expecting IDENTIFIER or (",
    ),
    // Semantic errors (no position, as in Loki).
    (r#"{}"#, 0, 0, "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will"),
    (r#"{app=~".*", env=""}"#, 0, 0, "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will"),
    (r#"rate({app!="a"}[5m])"#, 0, 0, "queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will"),
    (r#"rate({app="a"}[5m]) by (x)"#, 0, 0, "grouping not allowed for rate aggregation"),
    (r#"sum_over_time({app="a"} | unwrap x [5m]) by (x)"#, 0, 0, "grouping not allowed for sum_over_time aggregation"),
    (r#"count_over_time({app="a"} | unwrap x [5m])"#, 0, 0, "invalid aggregation count_over_time with unwrap"),
    (r#"avg_over_time({app="a"}[5m])"#, 0, 0, "invalid aggregation avg_over_time without unwrap"),
    (r#"rate_counter({app="a"}[5m])"#, 0, 0, "invalid aggregation rate_counter without unwrap"),
    (r#"quantile_over_time({app="a"} | unwrap x [5m])"#, 0, 0, "parameter required for operation quantile_over_time"),
    (r#"rate(0.5, {app="a"}[5m])"#, 0, 0, "parameter 0.5 not supported for operation rate"),
    (r#"topk(rate({app="a"}[5m]))"#, 0, 0, "parameter required for operation topk"),
    (r#"topk(1.5, rate({app="a"}[5m]))"#, 0, 0, "invalid parameter topk(1.5,"),
    (r#"bottomk(0, rate({app="a"}[5m]))"#, 0, 0, "invalid parameter (must be greater than 0) bottomk(0"),
    (r#"sum(3, rate({app="a"}[5m]))"#, 0, 0, "unsupported parameter for operation sum(3,"),
    (r#"sort by (x) (rate({app="a"}[5m]))"#, 0, 0, "sort and sort_desc doesn't allow grouping by "),
    (r#"{app="a"} + 1"#, 0, 0, "unexpected type for left leg of binary operation (+): *syntax.MatchersExpr"),
    (r#"1 / {app="a"} |= "x""#, 0, 0, "unexpected type for right leg of binary operation (/): *syntax.PipelineExpr"),
    (r#"rate({app="a"}[5m]) or 1"#, 0, 0, "unexpected literal for right leg of logical/set binary operation (or): 1.000000"),
    (r#"1 unless rate({app="a"}[5m])"#, 0, 0, "unexpected literal for left leg of logical/set binary operation (unless): 1.000000"),
    (r#"{app="a"} | regexp "[a-z]+""#, 0, 0, "at least one named capture must be supplied"),
    (r#"{app="a"} |~ ip("1.2.3.4")"#, 0, 0, "ip line filter is only supported with |= and !="),
];

fn check_valid(q: &str, want: &str) {
    let e = parse(q).unwrap_or_else(|err| panic!("{q:?} failed: {err}"));
    assert_eq!(dump(&e), want, "tree of {q:?}");
}

#[test]
fn valid_queries_parse_to_the_expected_tree() {
    assert!(VALID.len() >= 80, "{} valid cases", VALID.len());
    for (q, want) in VALID {
        check_valid(q, want);
    }
}

#[test]
fn invalid_queries_give_lokis_error_and_position() {
    assert!(INVALID.len() >= 30, "{} invalid cases", INVALID.len());
    for (q, line, col, msg) in INVALID {
        match parse(q) {
            Ok(e) => panic!("{q:?} parsed to {}", dump(&e)),
            Err(err) => assert_eq!(
                err,
                ParseError {
                    line: *line,
                    col: *col,
                    msg: msg.to_string()
                },
                "error of {q:?}"
            ),
        }
    }
}

#[test]
fn every_valid_query_prints_back_to_the_same_tree() {
    for (q, want) in VALID {
        let Ok(e) = parse(q) else {
            panic!("{q:?} does not parse")
        };
        let printed = format_expr(&e);
        let again = parse(&printed).unwrap_or_else(|err| panic!("{printed:?} ({q:?}): {err}"));
        assert_eq!(dump(&again), *want, "reparsed {printed:?}");
        assert_eq!(format_expr(&again), printed, "printing {q:?} is not stable");
    }
}

#[test]
fn printer_output_is_canonical() {
    for (q, want) in [
        (
            r#"{app="a",env=~"p.*"}|="x"  or "y"|json a="b.c",d|x>1.5s"#,
            r#"{app="a", env=~"p.*"} |= "x" or "y" | json a="b.c", d | x > 1s500ms"#,
        ),
        (
            r#"sum by(pod)(rate({app="a"}|unwrap bytes(b)|__error__=""[5m]offset 1m))"#,
            r#"sum by (pod) (rate({app="a"} | unwrap bytes(b) | __error__="" [5m] offset 1m))"#,
        ),
        (
            r#"topk(3,rate({app="a"}[1m]))by(x)"#,
            r#"topk by (x) (3, rate({app="a"}[1m]))"#,
        ),
        (
            r#"(rate({app="a"}[1m]) - 2) - (3 - rate({app="b"}[1m]))"#,
            r#"rate({app="a"}[1m]) - 2 - (3 - rate({app="b"}[1m]))"#,
        ),
        (
            r#"(rate({app="a"}[1m]) ^ 2) ^ (vector(1) ^ 3)"#,
            r#"(rate({app="a"}[1m]) ^ 2) ^ vector(1) ^ 3"#,
        ),
        ("1 / 0 + 1", "1 / 0 + 1"),
        (
            r#"{app="a"} | a="1", b="2" or c="3" | s > 1KiB | l >= 10ms | t < 1.25us"#,
            r#"{app="a"} | a="1" and (b="2" or c="3") | s > 1024B | l >= 10ms | t < 0.00000125s"#,
        ),
        (
            r#"{app="a"} | logfmt --strict | label_format x=y, z="{{.a}}" | drop a, b!="c""#,
            r#"{app="a"} | logfmt --strict | label_format x=y, z="{{.a}}" | drop a, b!="c""#,
        ),
    ] {
        let e = parse(q).unwrap_or_else(|err| panic!("{q:?}: {err}"));
        assert_eq!(format_expr(&e), want, "printing {q:?}");
    }
}

#[test]
fn log_selector_and_matchers_entry_points() {
    let l = parse_log_selector(r#"{app="a"} |= "x""#).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dump_log(&l), r#"{app="a"} contains("x")"#);
    let err = parse_log_selector(r#"rate({app="a"}[1m])"#).err();
    assert_eq!(
        err.map(|e| e.to_string()),
        Some("parse error : only log selector is supported".to_string())
    );
    let ms = parse_matchers(r#"{app="a", env!="dev"}"#).unwrap_or_else(|e| panic!("{e}"));
    let shown: Vec<String> = ms.iter().map(|m| m.to_string()).collect();
    assert_eq!(shown, vec![r#"app="a""#, r#"env!="dev""#]);
    let err = parse_matchers(r#"{app="a"} | json"#).err();
    assert_eq!(
        err.map(|e| e.msg),
        Some("only label matchers is supported".to_string())
    );
}

#[test]
fn errors_print_like_loki() {
    let syntax = parse(r#"{app="a"} foo"#).err().map(|e| e.to_string());
    assert_eq!(
        syntax.as_deref(),
        Some("parse error at line 1, col 11: syntax error: unexpected IDENTIFIER")
    );
    let semantic = parse(r#"rate({app="a"}[5m]) by (x)"#)
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        semantic.as_deref(),
        Some("parse error : grouping not allowed for rate aggregation")
    );
}

#[test]
fn over_long_queries_are_refused() {
    let q = format!(r#"{{app="{}"}}"#, "a".repeat(5200));
    let err = parse(&q).err().map(|e| e.msg);
    assert_eq!(
        err,
        Some(format!("input size too long ({} > 5120)", q.len()))
    );
}

#[test]
fn invalid_regexes_are_refused() {
    for q in [
        r#"{app=~"("}"#,
        r#"{app="a"} |~ "(""#,
        r#"{app="a"} | x=~"[""#,
        r#"label_replace(rate({app="a"}[1m]), "d", "", "s", "(")"#,
    ] {
        let err = parse(q).err();
        assert!(
            err.as_ref()
                .is_some_and(|e| e.line == 0 && e.msg.contains("regex")),
            "{q:?}: {err:?}"
        );
    }
}

#[test]
fn lexer_reads_units_flags_and_ranges_like_loki() {
    use super::lexer::{lex, Tok};
    let toks: Vec<Tok> = lex("1.5s 250ms 1h2m -5m 1.5h 100us 2µs 10KB 1.5MiB 5M 5m 42 1e3 --strict --keep-empty [5m] 5minutes")
        .into_iter()
        .map(|t| t.tok)
        .collect();
    assert_eq!(
        toks,
        vec![
            Tok::Duration(1_500_000_000),
            Tok::Duration(250_000_000),
            Tok::Duration(3_720_000_000_000),
            Tok::Duration(-300_000_000_000),
            Tok::Duration(5_400_000_000_000),
            Tok::Duration(100_000),
            Tok::Duration(2_000),
            Tok::Bytes(10_000),
            Tok::Bytes(1_572_864),
            Tok::Bytes(5_000_000),
            Tok::Duration(300_000_000_000),
            Tok::Number("42".into()),
            Tok::Number("1e3".into()),
            Tok::Flag("--strict".into()),
            Tok::Flag("--keep-empty".into()),
            Tok::Range(300_000_000_000),
            Tok::Duration(300_000_000_000),
            Tok::Word {
                text: "inutes".into(),
                is_func: false
            },
            Tok::Eof,
        ]
    );
}

#[test]
fn lexer_names_tokens_as_lokis_messages_do() {
    use super::lexer::lex;
    let names: Vec<String> =
        lex(r#"sum (x) sum x By json RATE() bytes(x) bytes |= != "s" 1 5s 1KB [1m] --strict @"#)
            .iter()
            .map(|t| t.tok.name())
            .collect();
    assert_eq!(
        names,
        vec![
            "SUM",
            "(",
            "IDENTIFIER",
            ")",
            "IDENTIFIER",
            "IDENTIFIER",
            "by",
            "json",
            "RATE",
            "(",
            ")",
            "BYTES_CONV",
            "(",
            "IDENTIFIER",
            ")",
            "IDENTIFIER",
            "|=",
            "!=",
            "STRING",
            "NUMBER",
            "DURATION",
            "BYTES",
            "RANGE",
            "PARSER_FLAG",
            "IDENTIFIER",
            "$end",
        ]
    );
    let positions: Vec<(usize, usize)> = lex("{a=\"b\"}\n  |= `x\ny` json")
        .iter()
        .map(|t| (t.line, t.col))
        .collect();
    assert_eq!(
        positions,
        vec![
            (1, 1),
            (1, 2),
            (1, 3),
            (1, 4),
            (1, 7),
            (2, 3),
            (2, 6),
            (3, 4),
            (3, 8)
        ]
    );
}

/// A small deterministic generator (xorshift) for the random round trips.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn random_label_filter(r: &mut Rng, depth: u32) -> LabelFilterExpr {
    if depth == 0 || r.below(3) == 0 {
        let name = ["a", "b", "c"][r.below(3) as usize].to_string();
        let op = [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Gt,
            CmpOp::Ge,
            CmpOp::Lt,
            CmpOp::Le,
        ][r.below(6) as usize];
        return match r.below(4) {
            0 => LabelFilterExpr::String(crate::model::Matcher::equal(name, "v")),
            1 => LabelFilterExpr::Number {
                name,
                op,
                value: r.below(2000) as f64 / 8.0 - 100.0,
            },
            2 => LabelFilterExpr::Duration {
                name,
                op,
                value: r.below(100_000) as f64 / 1000.0,
            },
            _ => LabelFilterExpr::Bytes {
                name,
                op,
                value: r.below(1 << 30) as f64,
            },
        };
    }
    let a = Box::new(random_label_filter(r, depth - 1));
    let b = Box::new(random_label_filter(r, depth - 1));
    if r.below(2) == 0 {
        LabelFilterExpr::And(a, b)
    } else {
        LabelFilterExpr::Or(a, b)
    }
}

fn random_sample(r: &mut Rng, depth: u32) -> SampleExpr {
    if depth == 0 || r.below(4) == 0 {
        return match r.below(3) {
            0 => SampleExpr::Vector(r.below(10) as f64),
            1 => match parse(r#"rate({app="a"}[1m])"#) {
                Ok(Expr::Sample(s)) => s,
                _ => SampleExpr::Vector(0.0),
            },
            _ => SampleExpr::VectorAgg(VectorAggregation {
                op: VectorOp::Sum,
                grouping: None,
                param: None,
                expr: Box::new(SampleExpr::Vector(1.0)),
            }),
        };
    }
    use BinaryOp::*;
    let op = [
        Add, Sub, Mul, Div, Mod, Pow, Eq, Ne, Gt, Ge, Lt, Le, And, Or, Unless,
    ][r.below(15) as usize];
    let is_cmp = matches!(op, Eq | Ne | Gt | Ge | Lt | Le);
    let matching = match r.below(3) {
        0 => None,
        1 => Some(VectorMatching {
            on: true,
            labels: vec!["x".into()],
            card: Cardinality::ManyToOne(vec!["y".into()]),
        }),
        _ => Some(VectorMatching {
            on: false,
            labels: vec![],
            card: Cardinality::OneToOne,
        }),
    };
    SampleExpr::Binary(Box::new(BinaryExpr {
        op,
        lhs: random_sample(r, depth - 1),
        rhs: random_sample(r, depth - 1),
        return_bool: is_cmp && r.below(2) == 0,
        matching,
    }))
}

#[test]
fn random_trees_print_back_to_themselves() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..300 {
        let e = Expr::Log(LogExpr {
            matchers: vec![crate::model::Matcher::equal("app", "a")],
            stages: vec![Stage::LabelFilter(random_label_filter(&mut r, 4))],
        });
        let printed = format_expr(&e);
        let back = parse(&printed).unwrap_or_else(|err| panic!("{printed:?}: {err}"));
        assert_eq!(dump(&back), dump(&e), "via {printed:?}");
    }
    for _ in 0..300 {
        let e = Expr::Sample(random_sample(&mut r, 4));
        let printed = format_expr(&e);
        let back = parse(&printed).unwrap_or_else(|err| panic!("{printed:?}: {err}"));
        assert_eq!(dump(&back), dump(&e), "via {printed:?}");
    }
}
