//! Valid queries against exact trees, and print→parse round trips of every
//! one of them.

use super::super::ast::*;
use super::super::parse;

fn q(expr: Expr) -> Query {
    Query {
        expr,
        hints: vec![],
    }
}
fn filt(c: Field) -> Expr {
    Expr::Filter(Some(c))
}
fn all() -> Expr {
    Expr::Filter(None)
}
fn bin(op: BinOp, l: Field, r: Field) -> Field {
    Field::Binary {
        op,
        lhs: Box::new(l),
        rhs: Box::new(r),
    }
}
fn un(op: UnaryOp, a: Field) -> Field {
    Field::Unary {
        op,
        arg: Box::new(a),
    }
}
fn eq(l: Field, r: Field) -> Field {
    bin(BinOp::Eq, l, r)
}
fn at(scope: Scope, name: &str) -> Field {
    Field::Attribute(Attribute {
        scope,
        parent: false,
        name: name.into(),
    })
}
fn parent_at(scope: Scope, name: &str) -> Field {
    Field::Attribute(Attribute {
        scope,
        parent: true,
        name: name.into(),
    })
}
fn span(name: &str) -> Field {
    at(Scope::Span, name)
}
fn res(name: &str) -> Field {
    at(Scope::Resource, name)
}
fn dot(name: &str) -> Field {
    at(Scope::None, name)
}
fn st(s: Static) -> Field {
    Field::Static(s)
}
fn int(i: i64) -> Field {
    st(Static::Int(i))
}
fn s(v: &str) -> Field {
    st(Static::Str(v.into()))
}
fn dur(ns: i64) -> Field {
    st(Static::Duration(ns))
}
fn i(x: Intrinsic) -> Field {
    Field::Intrinsic(x)
}
fn sop(op: SpansetOp, l: Expr, r: Expr) -> Expr {
    Expr::SpansetOp {
        op,
        lhs: Box::new(l),
        rhs: Box::new(r),
    }
}
fn agg(op: AggregateOp, arg: Option<Field>) -> Aggregate {
    Aggregate { op, arg }
}
fn sagg(op: AggregateOp, arg: Option<Field>) -> Scalar {
    Scalar::Aggregate(agg(op, arg))
}
fn sint(v: i64) -> Scalar {
    Scalar::Static(Static::Int(v))
}
fn sfilter(op: BinOp, l: Scalar, r: Scalar) -> ScalarFilter {
    ScalarFilter { op, lhs: l, rhs: r }
}
fn stage_sf(op: BinOp, l: Scalar, r: Scalar) -> Stage {
    Stage::ScalarFilter(sfilter(op, l, r))
}
fn sbin(op: BinOp, l: Scalar, r: Scalar) -> Scalar {
    Scalar::Binary {
        op,
        lhs: Box::new(l),
        rhs: Box::new(r),
    }
}
fn ss(e: Expr) -> Stage {
    Stage::Spanset(e)
}
fn pipe(stages: Vec<Stage>) -> Expr {
    Expr::Pipeline(stages)
}

const MS: i64 = 1_000_000;
const SEC: i64 = 1_000_000_000;

fn name_is(v: &str) -> Expr {
    filt(eq(i(Intrinsic::Name), s(v)))
}

fn cases() -> Vec<(&'static str, Query)> {
    use AggregateOp as A;
    use BinOp as B;
    use Intrinsic as I;
    use SpansetOp as O;
    vec![
        // Spanset filters and intrinsics.
        ("{}", q(all())),
        ("{ }", q(all())),
        (r#"{ name = "GET /" }"#, q(name_is("GET /"))),
        (
            "{ status = error }",
            q(filt(eq(i(I::Status), st(Static::Status(Status::Error))))),
        ),
        (
            "{ status = ok }",
            q(filt(eq(i(I::Status), st(Static::Status(Status::Ok))))),
        ),
        (
            "{ status != unset }",
            q(filt(bin(
                B::Neq,
                i(I::Status),
                st(Static::Status(Status::Unset)),
            ))),
        ),
        (
            r#"{ statusMessage =~ "time.*" }"#,
            q(filt(bin(B::Re, i(I::StatusMessage), s("time.*")))),
        ),
        (
            "{ kind = server }",
            q(filt(eq(i(I::Kind), st(Static::Kind(Kind::Server))))),
        ),
        (
            "{ kind = client }",
            q(filt(eq(i(I::Kind), st(Static::Kind(Kind::Client))))),
        ),
        (
            "{ kind = unspecified }",
            q(filt(eq(i(I::Kind), st(Static::Kind(Kind::Unspecified))))),
        ),
        (
            "{ kind = internal }",
            q(filt(eq(i(I::Kind), st(Static::Kind(Kind::Internal))))),
        ),
        (
            "{ kind = producer }",
            q(filt(eq(i(I::Kind), st(Static::Kind(Kind::Producer))))),
        ),
        (
            "{ kind = consumer }",
            q(filt(eq(i(I::Kind), st(Static::Kind(Kind::Consumer))))),
        ),
        (
            "{ duration > 1ms }",
            q(filt(bin(B::Gt, i(I::Duration), dur(MS)))),
        ),
        (
            "{ duration >= 1.5s }",
            q(filt(bin(B::Gte, i(I::Duration), dur(1_500 * MS)))),
        ),
        (
            "{ duration < 2h }",
            q(filt(bin(B::Lt, i(I::Duration), dur(7_200 * SEC)))),
        ),
        (
            "{ duration <= 1h30m }",
            q(filt(bin(B::Lte, i(I::Duration), dur(5_400 * SEC)))),
        ),
        (
            "{ duration > 100us }",
            q(filt(bin(B::Gt, i(I::Duration), dur(100_000)))),
        ),
        (
            "{ duration > 250ns }",
            q(filt(bin(B::Gt, i(I::Duration), dur(250)))),
        ),
        (
            "{ duration > 5µs }",
            q(filt(bin(B::Gt, i(I::Duration), dur(5_000)))),
        ),
        (
            "{ traceDuration < 1d }",
            q(filt(bin(B::Lt, i(I::TraceDuration), dur(86_400 * SEC)))),
        ),
        (
            "{ duration > 1s250ms }",
            q(filt(bin(B::Gt, i(I::Duration), dur(1_250 * MS)))),
        ),
        (
            r#"{ rootName = "POST /clone" }"#,
            q(filt(eq(i(I::RootName), s("POST /clone")))),
        ),
        (
            r#"{ rootServiceName = "api" }"#,
            q(filt(eq(i(I::RootServiceName), s("api")))),
        ),
        (
            "{ traceDuration > 5s }",
            q(filt(bin(B::Gt, i(I::TraceDuration), dur(5 * SEC)))),
        ),
        (r#"{ span:name = "x" }"#, q(name_is("x"))),
        (
            "{ span:duration > 1s }",
            q(filt(bin(B::Gt, i(I::Duration), dur(SEC)))),
        ),
        (
            "{ span:status = error }",
            q(filt(eq(i(I::Status), st(Static::Status(Status::Error))))),
        ),
        (
            "{ span:kind = server }",
            q(filt(eq(i(I::Kind), st(Static::Kind(Kind::Server))))),
        ),
        (
            r#"{ span:statusMessage != "" }"#,
            q(filt(bin(B::Neq, i(I::StatusMessage), s("")))),
        ),
        (
            r#"{ span:id = "0102" }"#,
            q(filt(eq(i(I::SpanId), s("0102")))),
        ),
        (
            r#"{ span:parentID = "0a" }"#,
            q(filt(eq(i(I::ParentId), s("0a")))),
        ),
        (
            "{ trace:duration > 1m }",
            q(filt(bin(B::Gt, i(I::TraceDuration), dur(60 * SEC)))),
        ),
        (
            r#"{ trace:rootName = "r" }"#,
            q(filt(eq(i(I::RootName), s("r")))),
        ),
        (
            r#"{ trace:rootService = "svc" }"#,
            q(filt(eq(i(I::RootServiceName), s("svc")))),
        ),
        (
            r#"{ trace:id = "abc" }"#,
            q(filt(eq(i(I::TraceId), s("abc")))),
        ),
        (
            r#"{ event:name = "exception" }"#,
            q(filt(eq(i(I::EventName), s("exception")))),
        ),
        (
            "{ event:timeSinceStart > 2ms }",
            q(filt(bin(B::Gt, i(I::EventTimeSinceStart), dur(2 * MS)))),
        ),
        (
            r#"{ link:traceID = "ff" }"#,
            q(filt(eq(i(I::LinkTraceId), s("ff")))),
        ),
        (
            r#"{ link:spanID = "ee" }"#,
            q(filt(eq(i(I::LinkSpanId), s("ee")))),
        ),
        (
            r#"{ instrumentation:name = "otel" }"#,
            q(filt(eq(i(I::InstrumentationName), s("otel")))),
        ),
        (
            r#"{ instrumentation:version = "1.2" }"#,
            q(filt(eq(i(I::InstrumentationVersion), s("1.2")))),
        ),
        (
            "{ childCount > 2 }",
            q(filt(bin(B::Gt, i(I::ChildCount), int(2)))),
        ),
        (
            "{ nestedSetParent = -1 }",
            q(filt(eq(i(I::NestedSetParent), int(-1)))),
        ),
        (
            "{ parent = nil }",
            q(filt(eq(i(I::Parent), st(Static::Nil)))),
        ),
        // Attributes and scopes.
        (
            "{ span.http.status_code = 200 }",
            q(filt(eq(span("http.status_code"), int(200)))),
        ),
        (
            r#"{ resource.k8s.pod.name = "p-1" }"#,
            q(filt(eq(res("k8s.pod.name"), s("p-1")))),
        ),
        (
            r#"{ .service.name = "api" }"#,
            q(filt(eq(dot("service.name"), s("api")))),
        ),
        (
            r#"{ event.exception.type = "E" }"#,
            q(filt(eq(at(Scope::Event, "exception.type"), s("E")))),
        ),
        (
            r#"{ link.kind = "follows" }"#,
            q(filt(eq(at(Scope::Link, "kind"), s("follows")))),
        ),
        (
            r#"{ instrumentation.lib = "x" }"#,
            q(filt(eq(at(Scope::Instrumentation, "lib"), s("x")))),
        ),
        (
            r#"{ span."http status" = 1 }"#,
            q(filt(eq(span("http status"), int(1)))),
        ),
        (r#"{ ."a b"."c" = 1 }"#, q(filt(eq(dot("a b.c"), int(1))))),
        (
            r#"{ span."q\"uote" = 1 }"#,
            q(filt(eq(span("q\"uote"), int(1)))),
        ),
        (
            "{ .content-type = 1 }",
            q(filt(eq(dot("content-type"), int(1)))),
        ),
        ("{ .duration = 1 }", q(filt(eq(dot("duration"), int(1))))),
        (
            "{ parent.foo = 1 }",
            q(filt(eq(parent_at(Scope::None, "foo"), int(1)))),
        ),
        (
            "{ parent.span.foo = 1 }",
            q(filt(eq(parent_at(Scope::Span, "foo"), int(1)))),
        ),
        (
            "{ parent.resource.foo = 1 }",
            q(filt(eq(parent_at(Scope::Resource, "foo"), int(1)))),
        ),
        ("{ span.ok }", q(filt(span("ok")))),
        (
            "{ .a != nil }",
            q(filt(bin(B::Neq, dot("a"), st(Static::Nil)))),
        ),
        // Static values.
        (
            r#"{ .a = "tab\tnew\nq\"b\\" }"#,
            q(filt(eq(dot("a"), s("tab\tnew\nq\"b\\")))),
        ),
        ("{ .a = `raw\\n` }", q(filt(eq(dot("a"), s("raw\\n"))))),
        (r#"{ .a = "\u00e9\x41" }"#, q(filt(eq(dot("a"), s("éA"))))),
        (
            "{ .a = 1.5 }",
            q(filt(eq(dot("a"), st(Static::Float(1.5))))),
        ),
        (
            "{ .a = -2.25 }",
            q(filt(eq(dot("a"), st(Static::Float(-2.25))))),
        ),
        (
            "{ .a = 1e3 }",
            q(filt(eq(dot("a"), st(Static::Float(1000.0))))),
        ),
        (
            "{ .a = true }",
            q(filt(eq(dot("a"), st(Static::Bool(true))))),
        ),
        (
            "{ .a = false }",
            q(filt(eq(dot("a"), st(Static::Bool(false))))),
        ),
        ("{ true }", q(filt(st(Static::Bool(true))))),
        // Comparison operators.
        (r#"{ .a !~ "x" }"#, q(filt(bin(B::NotRe, dot("a"), s("x"))))),
        (r#"{ .a < "m" }"#, q(filt(bin(B::Lt, dot("a"), s("m"))))),
        // Arithmetic and precedence.
        (
            "{ .a + 1 = 2 }",
            q(filt(eq(bin(B::Add, dot("a"), int(1)), int(2)))),
        ),
        (
            "{ .a - .b * 2 > 0 }",
            q(filt(bin(
                B::Gt,
                bin(B::Sub, dot("a"), bin(B::Mul, dot("b"), int(2))),
                int(0),
            ))),
        ),
        (
            "{ (.a - .b) * 2 > 0 }",
            q(filt(bin(
                B::Gt,
                bin(B::Mul, bin(B::Sub, dot("a"), dot("b")), int(2)),
                int(0),
            ))),
        ),
        (
            "{ .a - .b - .c = 0 }",
            q(filt(eq(
                bin(B::Sub, bin(B::Sub, dot("a"), dot("b")), dot("c")),
                int(0),
            ))),
        ),
        (
            "{ .a / .b % 3 = 0 }",
            q(filt(eq(
                bin(B::Mod, bin(B::Div, dot("a"), dot("b")), int(3)),
                int(0),
            ))),
        ),
        (
            "{ .a ^ .b ^ 2 = 0 }",
            q(filt(eq(
                bin(B::Pow, dot("a"), bin(B::Pow, dot("b"), int(2))),
                int(0),
            ))),
        ),
        (
            "{ 2 * .a ^ 2 = 8 }",
            q(filt(eq(
                bin(B::Mul, int(2), bin(B::Pow, dot("a"), int(2))),
                int(8),
            ))),
        ),
        (
            "{ -.a * 2 = 1 }",
            q(filt(eq(
                un(UnaryOp::Neg, bin(B::Mul, dot("a"), int(2))),
                int(1),
            ))),
        ),
        (
            "{ -.a + 2 = 1 }",
            q(filt(eq(
                bin(B::Add, un(UnaryOp::Neg, dot("a")), int(2)),
                int(1),
            ))),
        ),
        ("{ .a = -1s }", q(filt(eq(dot("a"), dur(-SEC))))),
        // Logical operators.
        (
            "{ .a = 1 && .b = 2 }",
            q(filt(bin(
                B::And,
                eq(dot("a"), int(1)),
                eq(dot("b"), int(2)),
            ))),
        ),
        (
            "{ .a = 1 || .b = 2 && .c = 3 }",
            q(filt(bin(
                B::And,
                bin(B::Or, eq(dot("a"), int(1)), eq(dot("b"), int(2))),
                eq(dot("c"), int(3)),
            ))),
        ),
        (
            "{ .a = 1 || (.b = 2 && .c = 3) }",
            q(filt(bin(
                B::Or,
                eq(dot("a"), int(1)),
                bin(B::And, eq(dot("b"), int(2)), eq(dot("c"), int(3))),
            ))),
        ),
        (
            "{ !(.a = 1) }",
            q(filt(un(UnaryOp::Not, eq(dot("a"), int(1))))),
        ),
        ("{ !.a }", q(filt(un(UnaryOp::Not, dot("a"))))),
        (
            "{ !.a = true }",
            q(filt(eq(un(UnaryOp::Not, dot("a")), st(Static::Bool(true))))),
        ),
        (
            "{ !!.a }",
            q(filt(un(UnaryOp::Not, un(UnaryOp::Not, dot("a"))))),
        ),
        // Spanset operators.
        (
            "{ .a = 1 } && { .b = 2 }",
            q(sop(
                O::And,
                filt(eq(dot("a"), int(1))),
                filt(eq(dot("b"), int(2))),
            )),
        ),
        ("{} || {}", q(sop(O::Union, all(), all()))),
        (
            "{} && {} || {}",
            q(sop(O::Union, sop(O::And, all(), all()), all())),
        ),
        (
            "{} || {} && {}",
            q(sop(O::And, sop(O::Union, all(), all()), all())),
        ),
        (
            "{} || ({} && {})",
            q(sop(O::Union, all(), sop(O::And, all(), all()))),
        ),
        // Structural operators.
        ("{} > {}", q(sop(O::Child, all(), all()))),
        ("{} < {}", q(sop(O::Parent, all(), all()))),
        ("{} >> {}", q(sop(O::Descendant, all(), all()))),
        ("{} << {}", q(sop(O::Ancestor, all(), all()))),
        ("{} ~ {}", q(sop(O::Sibling, all(), all()))),
        ("{} !> {}", q(sop(O::NotChild, all(), all()))),
        ("{} !< {}", q(sop(O::NotParent, all(), all()))),
        ("{} !>> {}", q(sop(O::NotDescendant, all(), all()))),
        ("{} !<< {}", q(sop(O::NotAncestor, all(), all()))),
        ("{} !~ {}", q(sop(O::NotSibling, all(), all()))),
        ("{} &> {}", q(sop(O::UnionChild, all(), all()))),
        ("{} &< {}", q(sop(O::UnionParent, all(), all()))),
        ("{} &>> {}", q(sop(O::UnionDescendant, all(), all()))),
        ("{} &<< {}", q(sop(O::UnionAncestor, all(), all()))),
        ("{} &~ {}", q(sop(O::UnionSibling, all(), all()))),
        ("{}>>{}", q(sop(O::Descendant, all(), all()))),
        (
            "{} > {} > {}",
            q(sop(O::Child, sop(O::Child, all(), all()), all())),
        ),
        (
            "{} > ({} > {})",
            q(sop(O::Child, all(), sop(O::Child, all(), all()))),
        ),
        (
            "{} > {} && {} ~ {}",
            q(sop(
                O::And,
                sop(O::Child, all(), all()),
                sop(O::Sibling, all(), all()),
            )),
        ),
        (
            "{} && {} >> {}",
            q(sop(O::And, all(), sop(O::Descendant, all(), all()))),
        ),
        (
            r#"{ .a = 1 } >> ({ .b = 2 } || { status = error })"#,
            q(sop(
                O::Descendant,
                filt(eq(dot("a"), int(1))),
                sop(
                    O::Union,
                    filt(eq(dot("b"), int(2))),
                    filt(eq(i(I::Status), st(Static::Status(Status::Error)))),
                ),
            )),
        ),
        // Pipelines.
        (
            "{} | count() > 2",
            q(pipe(vec![
                ss(all()),
                stage_sf(B::Gt, sagg(A::Count, None), sint(2)),
            ])),
        ),
        (
            "{} | avg(duration) > 1s",
            q(pipe(vec![
                ss(all()),
                stage_sf(
                    B::Gt,
                    sagg(A::Avg, Some(i(I::Duration))),
                    Scalar::Static(Static::Duration(SEC)),
                ),
            ])),
        ),
        (
            "{} | min(span.x) <= 2.5",
            q(pipe(vec![
                ss(all()),
                stage_sf(
                    B::Lte,
                    sagg(A::Min, Some(span("x"))),
                    Scalar::Static(Static::Float(2.5)),
                ),
            ])),
        ),
        (
            "{} | max(.x) >= 3",
            q(pipe(vec![
                ss(all()),
                stage_sf(B::Gte, sagg(A::Max, Some(dot("x"))), sint(3)),
            ])),
        ),
        (
            "{} | sum(.x) = 10",
            q(pipe(vec![
                ss(all()),
                stage_sf(B::Eq, sagg(A::Sum, Some(dot("x"))), sint(10)),
            ])),
        ),
        (
            "{} | count() != 0",
            q(pipe(vec![
                ss(all()),
                stage_sf(B::Neq, sagg(A::Count, None), sint(0)),
            ])),
        ),
        (
            "{} | count() < 5",
            q(pipe(vec![
                ss(all()),
                stage_sf(B::Lt, sagg(A::Count, None), sint(5)),
            ])),
        ),
        (
            "{} | count() > -1",
            q(pipe(vec![
                ss(all()),
                stage_sf(B::Gt, sagg(A::Count, None), sint(-1)),
            ])),
        ),
        (
            "{} | avg(duration * 2) > 1ms",
            q(pipe(vec![
                ss(all()),
                stage_sf(
                    B::Gt,
                    sagg(A::Avg, Some(bin(B::Mul, i(I::Duration), int(2)))),
                    Scalar::Static(Static::Duration(MS)),
                ),
            ])),
        ),
        (
            "{} | count() + 1 > 2 * 3",
            q(pipe(vec![
                ss(all()),
                stage_sf(
                    B::Gt,
                    sbin(B::Add, sagg(A::Count, None), sint(1)),
                    sbin(B::Mul, sint(2), sint(3)),
                ),
            ])),
        ),
        (
            "{} | (count() + 1) * 2 > 4",
            q(pipe(vec![
                ss(all()),
                stage_sf(
                    B::Gt,
                    sbin(B::Mul, sbin(B::Add, sagg(A::Count, None), sint(1)), sint(2)),
                    sint(4),
                ),
            ])),
        ),
        (
            "{} | count() > 1 | count() > 2",
            q(pipe(vec![
                ss(all()),
                stage_sf(B::Gt, sagg(A::Count, None), sint(1)),
                stage_sf(B::Gt, sagg(A::Count, None), sint(2)),
            ])),
        ),
        (
            "{} | by(resource.service.name)",
            q(pipe(vec![ss(all()), Stage::By(res("service.name"))])),
        ),
        (
            "{} | by(.a = 1)",
            q(pipe(vec![ss(all()), Stage::By(eq(dot("a"), int(1)))])),
        ),
        ("by(name)", q(pipe(vec![Stage::By(i(I::Name))]))),
        (
            "{} | select(span.a, name, trace:id)",
            q(pipe(vec![
                ss(all()),
                Stage::Select(vec![span("a"), i(I::Name), i(I::TraceId)]),
            ])),
        ),
        ("select(.a)", q(pipe(vec![Stage::Select(vec![dot("a")])]))),
        (
            "count() > 1",
            q(pipe(vec![stage_sf(B::Gt, sagg(A::Count, None), sint(1))])),
        ),
        (
            "{} | by(.a) | coalesce()",
            q(pipe(vec![ss(all()), Stage::By(dot("a")), Stage::Coalesce])),
        ),
        (
            "{} | {} && {}",
            q(pipe(vec![ss(all()), ss(sop(O::And, all(), all()))])),
        ),
        (
            "{} && {} | count() > 1",
            q(pipe(vec![
                ss(sop(O::And, all(), all())),
                stage_sf(B::Gt, sagg(A::Count, None), sint(1)),
            ])),
        ),
        (
            "{} | { .a = 1 } | {}",
            q(pipe(vec![
                ss(all()),
                ss(filt(eq(dot("a"), int(1)))),
                ss(all()),
            ])),
        ),
        (
            "({} | by(.a)) && ({} | count() > 1)",
            q(sop(
                O::And,
                pipe(vec![ss(all()), Stage::By(dot("a"))]),
                pipe(vec![
                    ss(all()),
                    stage_sf(B::Gt, sagg(A::Count, None), sint(1)),
                ]),
            )),
        ),
        (
            "({} | by(.a)) >> {}",
            q(sop(
                O::Descendant,
                pipe(vec![ss(all()), Stage::By(dot("a"))]),
                all(),
            )),
        ),
        (
            "({} | by(.a)) | count() > 1",
            q(pipe(vec![
                ss(all()),
                Stage::By(dot("a")),
                stage_sf(B::Gt, sagg(A::Count, None), sint(1)),
            ])),
        ),
        ("({})", q(all())),
        ("(({} > {}))", q(sop(O::Child, all(), all()))),
        (
            "(count() > 1)",
            q(pipe(vec![stage_sf(B::Gt, sagg(A::Count, None), sint(1))])),
        ),
        // Scalar pipeline filters.
        (
            "({} | count()) > ({ .a = 1 } | count())",
            q(Expr::ScalarFilter(sfilter(
                B::Gt,
                Scalar::Pipeline(vec![ss(all()), Stage::Aggregate(agg(A::Count, None))]),
                Scalar::Pipeline(vec![
                    ss(filt(eq(dot("a"), int(1)))),
                    Stage::Aggregate(agg(A::Count, None)),
                ]),
            ))),
        ),
        (
            "({} | avg(duration)) > 1s",
            q(Expr::ScalarFilter(sfilter(
                B::Gt,
                Scalar::Pipeline(vec![
                    ss(all()),
                    Stage::Aggregate(agg(A::Avg, Some(i(I::Duration)))),
                ]),
                Scalar::Static(Static::Duration(SEC)),
            ))),
        ),
        (
            "({} | count()) + ({} | count()) = 4",
            q(Expr::ScalarFilter(sfilter(
                B::Eq,
                sbin(
                    B::Add,
                    Scalar::Pipeline(vec![ss(all()), Stage::Aggregate(agg(A::Count, None))]),
                    Scalar::Pipeline(vec![ss(all()), Stage::Aggregate(agg(A::Count, None))]),
                ),
                sint(4),
            ))),
        ),
        // Layout: newlines and no spaces.
        (
            "{\n  .a = 1\n}\n|\ncount()>1",
            q(pipe(vec![
                ss(filt(eq(dot("a"), int(1)))),
                stage_sf(B::Gt, sagg(A::Count, None), sint(1)),
            ])),
        ),
        (
            "{.a=1&&.b!=2}",
            q(filt(bin(
                B::And,
                eq(dot("a"), int(1)),
                bin(B::Neq, dot("b"), int(2)),
            ))),
        ),
        // Shapes Grafana's search builder and users send.
        (
            r#"{resource.service.name="api"&&name="GET /"&&duration>100ms}"#,
            q(filt(bin(
                B::And,
                bin(
                    B::And,
                    eq(res("service.name"), s("api")),
                    eq(i(I::Name), s("GET /")),
                ),
                bin(B::Gt, i(I::Duration), dur(100 * MS)),
            ))),
        ),
        (
            "{span.http.status_code>=400 && status=error} | select(span.http.url)",
            q(pipe(vec![
                ss(filt(bin(
                    B::And,
                    bin(B::Gte, span("http.status_code"), int(400)),
                    eq(i(I::Status), st(Static::Status(Status::Error))),
                ))),
                Stage::Select(vec![span("http.url")]),
            ])),
        ),
        (
            r#"{ resource.service.name = "wp-k8s-service" && name = "POST /clone" } >> { span.k8s.op = "create_pod" }"#,
            q(sop(
                O::Descendant,
                filt(bin(
                    B::And,
                    eq(res("service.name"), s("wp-k8s-service")),
                    eq(i(I::Name), s("POST /clone")),
                )),
                filt(eq(span("k8s.op"), s("create_pod"))),
            )),
        ),
        // Hints.
        (
            "{} with(most_recent=true)",
            Query {
                expr: all(),
                hints: vec![Hint {
                    name: "most_recent".into(),
                    value: Static::Bool(true),
                }],
            },
        ),
        (
            r#"{} | count() > 1 with(sample=0.1, x="y")"#,
            Query {
                expr: pipe(vec![
                    ss(all()),
                    stage_sf(B::Gt, sagg(A::Count, None), sint(1)),
                ]),
                hints: vec![
                    Hint {
                        name: "sample".into(),
                        value: Static::Float(0.1),
                    },
                    Hint {
                        name: "x".into(),
                        value: Static::Str("y".into()),
                    },
                ],
            },
        ),
    ]
}

#[test]
fn valid_queries_parse_to_exact_trees() {
    let cases = cases();
    assert!(cases.len() >= 80, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (src, want) in &cases {
        match parse(src) {
            Ok(got) if got == *want => {}
            Ok(got) => failures.push(format!("{src}\n  got  {got:?}\n  want {want:?}")),
            Err(e) => failures.push(format!("{src}\n  error {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn printed_queries_parse_back_to_the_same_tree() {
    let mut failures = Vec::new();
    for (src, want) in cases() {
        let printed = want.to_string();
        match parse(&printed) {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!("{src} -> {printed}\n  got {got:?}")),
            Err(e) => failures.push(format!("{src} -> {printed}\n  error {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn canonical_text() {
    let cases = [
        ("{}", "{}"),
        ("{ .a=1&&.b=2 }", "{ .a = 1 && .b = 2 }"),
        ("{ span:duration > 1500ms }", "{ duration > 1s500ms }"),
        (
            "{ trace:rootService = \"x\" }",
            "{ rootServiceName = \"x\" }",
        ),
        (
            "{ span.\"http status\" = 1 }",
            "{ span.\"http status\" = 1 }",
        ),
        (
            "{ .a = 1 || (.b = 2 && .c = 3) }",
            "{ .a = 1 || (.b = 2 && .c = 3) }",
        ),
        ("{ -.a + 2 = 1 }", "{ (-.a) + 2 = 1 }"),
        ("{ -(.a * 2) = 1 }", "{ -(.a * 2) = 1 }"),
        ("{} > ({} > {})", "{} > ({} > {})"),
        ("({} | by(.a)) && {}", "({} | by(.a)) && {}"),
        (
            "{}|count()>2|select(.a,.b)",
            "{} | count() > 2 | select(.a, .b)",
        ),
        ("({}|count()) > 1", "({} | count()) > 1"),
        ("{} with(a=1)", "{} with(a=1)"),
        ("{ .a = \"q\\\"\\n\" }", "{ .a = \"q\\\"\\n\" }"),
        ("{ .a = 1.0 }", "{ .a = 1.0 }"),
    ];
    for (src, want) in cases {
        let got = parse(src).map(|q| q.to_string());
        assert_eq!(got.as_deref(), Ok(want), "{src}");
    }
}
