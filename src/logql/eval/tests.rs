//! Engine tests over a `MemorySource` with exact expected results. Queries
//! are built as syntax trees with the small builders below.

use std::time::Duration;

use super::*;
use crate::logql::ast::*;
use crate::logs::MemorySource;
use crate::model::{MatchOp, Matcher};

const S: i64 = 1_000_000_000;

fn lbs(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs.iter().copied())
}

/// api/prod: 10 20 30 45 ; web/prod: 15 30 60 ; db/dev: 5 (seconds).
fn fixture() -> MemorySource {
    let src = MemorySource::new();
    let api = lbs(&[("app", "api"), ("env", "prod")]);
    let web = lbs(&[("app", "web"), ("env", "prod")]);
    let db = lbs(&[("app", "db"), ("env", "dev")]);
    src.push(&api, 10 * S, "GET /a 200", vec![]);
    src.push(&api, 20 * S, "GET /b 500 error", vec![]);
    src.push(&api, 30 * S, "POST /c 200", vec![]);
    src.push(&api, 45 * S, "GET /d 500 error", vec![]);
    src.push(&web, 15 * S, "hello", vec![]);
    src.push(&web, 30 * S, "error boom", vec![]);
    src.push(&web, 60 * S, "bye", vec![]);
    src.push(&db, 5 * S, "x", vec![]);
    src
}

fn eq(n: &str, v: &str) -> Matcher {
    Matcher::equal(n, v)
}

fn re(n: &str, v: &str) -> Matcher {
    Matcher::new(MatchOp::Regex, n, v).unwrap()
}

fn sel(ms: Vec<Matcher>) -> LogExpr {
    LogExpr {
        matchers: ms,
        stages: vec![],
    }
}

fn contains(mut l: LogExpr, needle: &str) -> LogExpr {
    l.stages.push(Stage::LineFilter(LineFilter {
        op: LineFilterOp::Contains,
        values: vec![LineFilterValue::Literal(needle.into())],
    }));
    l
}

fn ragg(op: RangeOp, selector: LogExpr, range_s: i64, offset_s: i64) -> SampleExpr {
    SampleExpr::RangeAgg(RangeAggregation {
        op,
        range: LogRange {
            selector,
            range_ns: range_s * S,
            offset_ns: offset_s * S,
            unwrap: None,
        },
        param: None,
        grouping: None,
    })
}

fn count(selector: LogExpr, range_s: i64) -> SampleExpr {
    ragg(RangeOp::CountOverTime, selector, range_s, 0)
}

fn by(labels: &[&str]) -> Option<Grouping> {
    Some(Grouping {
        without: false,
        labels: labels.iter().map(|s| s.to_string()).collect(),
    })
}

fn vagg(op: VectorOp, grouping: Option<Grouping>, param: Option<f64>, e: SampleExpr) -> SampleExpr {
    SampleExpr::VectorAgg(VectorAggregation {
        op,
        grouping,
        param,
        expr: Box::new(e),
    })
}

fn bin(op: BinaryOp, lhs: SampleExpr, rhs: SampleExpr) -> BinaryExpr {
    BinaryExpr {
        op,
        lhs,
        rhs,
        return_bool: false,
        matching: None,
    }
}

fn on(labels: &[&str], card: Cardinality) -> Option<VectorMatching> {
    Some(VectorMatching {
        on: true,
        labels: labels.iter().map(|s| s.to_string()).collect(),
        card,
    })
}

fn range(start_s: i64, end_s: i64, step_s: i64) -> QueryParams {
    QueryParams {
        start_ns: start_s * S,
        end_ns: end_s * S,
        step_ns: step_s * S,
        interval_ns: 0,
        limit: 100,
        direction: Direction::Backward,
        instant: false,
    }
}

fn instant(t_s: i64) -> QueryParams {
    QueryParams {
        start_ns: t_s * S,
        end_ns: t_s * S,
        step_ns: 0,
        interval_ns: 0,
        limit: 100,
        direction: Direction::Backward,
        instant: true,
    }
}

fn run(src: &MemorySource, e: SampleExpr, p: QueryParams) -> QueryOutput {
    Engine::default()
        .exec(src, &Expr::Sample(e), &p)
        .expect("query runs")
        .0
}

/// A matrix as `(labels, [(seconds, value)])`.
fn matrix(out: QueryOutput) -> Vec<(String, Vec<(i64, f64)>)> {
    match out {
        QueryOutput::Matrix(m) => m
            .into_iter()
            .map(|s| {
                (
                    s.labels.to_string(),
                    s.points.iter().map(|&(t, v)| (t / S, v)).collect(),
                )
            })
            .collect(),
        other => panic!("not a matrix: {other:?}"),
    }
}

/// A vector as `(labels, value)`, in result order; checks timestamps.
fn vector(out: QueryOutput, t_s: i64) -> Vec<(String, f64)> {
    match out {
        QueryOutput::Vector(v) => v
            .into_iter()
            .map(|s| {
                assert_eq!(s.ts_ns, t_s * S);
                (s.labels.to_string(), s.value)
            })
            .collect(),
        other => panic!("not a vector: {other:?}"),
    }
}

fn v(pairs: &[(&str, f64)]) -> Vec<(String, f64)> {
    pairs.iter().map(|(l, x)| (l.to_string(), *x)).collect()
}

const API: &str = "{app=\"api\", env=\"prod\"}";
const WEB: &str = "{app=\"web\", env=\"prod\"}";
const DB: &str = "{app=\"db\", env=\"dev\"}";

fn prod() -> LogExpr {
    sel(vec![eq("env", "prod")])
}

fn all() -> LogExpr {
    sel(vec![re("env", ".+")])
}

// ---- range aggregations ------------------------------------------------

#[test]
fn count_over_time_range_windows_are_start_exclusive_end_inclusive() {
    let src = fixture();
    let got = matrix(run(&src, count(prod(), 30), range(30, 60, 15)));
    assert_eq!(
        got,
        vec![
            (API.to_string(), vec![(30, 3.0), (45, 3.0), (60, 1.0)]),
            (WEB.to_string(), vec![(30, 2.0), (45, 1.0), (60, 1.0)]),
        ]
    );
}

#[test]
fn count_over_time_instant() {
    let src = fixture();
    let got = vector(run(&src, count(prod(), 30), instant(30)), 30);
    assert_eq!(got, v(&[(API, 3.0), (WEB, 2.0)]));
}

#[test]
fn step_larger_than_range_leaves_gaps() {
    // Windows (10,15] and (40,45]: the lines between are in no window.
    let src = fixture();
    let got = matrix(run(&src, count(prod(), 5), range(15, 45, 30)));
    assert_eq!(
        got,
        vec![
            (API.to_string(), vec![(45, 1.0)]),
            (WEB.to_string(), vec![(15, 1.0)]),
        ]
    );
}

#[test]
fn offset_shifts_windows_not_timestamps() {
    let src = fixture();
    let e = ragg(RangeOp::CountOverTime, sel(vec![eq("app", "api")]), 10, 10);
    assert_eq!(
        matrix(run(&src, e.clone(), range(30, 50, 10))),
        vec![(API.to_string(), vec![(30, 1.0), (40, 1.0)])]
    );
    assert_eq!(vector(run(&src, e, instant(40)), 40), v(&[(API, 1.0)]));
}

#[test]
fn rate_and_bytes() {
    let src = fixture();
    let api = || sel(vec![eq("app", "api")]);
    let web = || sel(vec![eq("app", "web")]);
    assert_eq!(
        vector(
            run(&src, ragg(RangeOp::Rate, api(), 20, 0), instant(30)),
            30
        ),
        v(&[(API, 0.1)])
    );
    // hello(5) + error boom(10) + bye(3)
    assert_eq!(
        vector(
            run(
                &src,
                ragg(RangeOp::BytesOverTime, web(), 60, 0),
                instant(60)
            ),
            60
        ),
        v(&[(WEB, 18.0)])
    );
    assert_eq!(
        vector(
            run(&src, ragg(RangeOp::BytesRate, web(), 60, 0), instant(60)),
            60
        ),
        v(&[(WEB, 0.3)])
    );
    assert_eq!(
        matrix(run(
            &src,
            ragg(RangeOp::BytesOverTime, web(), 30, 0),
            range(30, 60, 30)
        )),
        vec![(WEB.to_string(), vec![(30, 15.0), (60, 3.0)])]
    );
}

#[test]
fn pushed_down_line_filter() {
    let src = fixture();
    let e = count(contains(prod(), "error"), 60);
    assert_eq!(
        vector(run(&src, e, instant(60)), 60),
        v(&[(API, 2.0), (WEB, 1.0)])
    );
}

#[test]
fn absent_over_time_reports_missing_steps_with_equality_labels() {
    let src = fixture();
    let e = ragg(
        RangeOp::AbsentOverTime,
        sel(vec![eq("app", "api"), re("env", "p.*")]),
        5,
        0,
    );
    assert_eq!(
        matrix(run(&src, e.clone(), range(0, 20, 5))),
        vec![(
            "{app=\"api\"}".to_string(),
            vec![(0, 1.0), (5, 1.0), (15, 1.0)]
        )]
    );
    assert_eq!(vector(run(&src, e.clone(), instant(20)), 20), v(&[]));
    assert_eq!(
        vector(run(&src, e, instant(17)), 17),
        v(&[("{app=\"api\"}", 1.0)])
    );
}

// ---- vector aggregations -----------------------------------------------

fn counts60() -> SampleExpr {
    count(all(), 60)
}

#[test]
fn sum_avg_min_max_count_by_and_without() {
    let src = fixture();
    // At 60: api 4, web 3, db 1.
    let cases = [
        (VectorOp::Sum, 7.0, 1.0),
        (VectorOp::Avg, 3.5, 1.0),
        (VectorOp::Min, 3.0, 1.0),
        (VectorOp::Max, 4.0, 1.0),
        (VectorOp::Count, 2.0, 1.0),
        (VectorOp::Stddev, 0.5, 0.0),
        (VectorOp::Stdvar, 0.25, 0.0),
    ];
    for (op, prod_v, dev_v) in cases {
        let want = v(&[("{env=\"dev\"}", dev_v), ("{env=\"prod\"}", prod_v)]);
        let e = vagg(op, by(&["env"]), None, counts60());
        assert_eq!(vector(run(&src, e, instant(60)), 60), want, "{op:?} by");
        let without = Some(Grouping {
            without: true,
            labels: vec!["app".into()],
        });
        let e = vagg(op, without, None, counts60());
        assert_eq!(
            vector(run(&src, e, instant(60)), 60),
            want,
            "{op:?} without"
        );
    }
    let e = vagg(VectorOp::Sum, None, None, counts60());
    assert_eq!(vector(run(&src, e, instant(60)), 60), v(&[("{}", 8.0)]));
}

#[test]
fn sum_by_over_a_range() {
    let src = fixture();
    let e = vagg(VectorOp::Sum, by(&["env"]), None, count(all(), 30));
    assert_eq!(
        matrix(run(&src, e, range(30, 60, 30))),
        vec![
            ("{env=\"dev\"}".to_string(), vec![(30, 1.0)]),
            ("{env=\"prod\"}".to_string(), vec![(30, 5.0), (60, 2.0)]),
        ]
    );
}

#[test]
fn topk_bottomk_and_sorts() {
    let src = fixture();
    let e = vagg(VectorOp::Topk, None, Some(1.0), counts60());
    assert_eq!(vector(run(&src, e, instant(60)), 60), v(&[(API, 4.0)]));
    // Instant results of topk/bottomk come in label order.
    let e = vagg(VectorOp::Bottomk, None, Some(2.0), counts60());
    assert_eq!(
        vector(run(&src, e, instant(60)), 60),
        v(&[(DB, 1.0), (WEB, 3.0)])
    );
    let e = vagg(VectorOp::Topk, by(&["env"]), Some(1.0), counts60());
    assert_eq!(
        vector(run(&src, e, instant(60)), 60),
        v(&[(API, 4.0), (DB, 1.0)])
    );
    let e = vagg(VectorOp::Topk, None, Some(0.0), counts60());
    assert_eq!(vector(run(&src, e, instant(60)), 60), v(&[]));
    let e = vagg(VectorOp::SortDesc, None, None, counts60());
    assert_eq!(
        vector(run(&src, e, instant(60)), 60),
        v(&[(API, 4.0), (WEB, 3.0), (DB, 1.0)])
    );
    let e = vagg(VectorOp::Sort, None, None, counts60());
    assert_eq!(
        vector(run(&src, e, instant(60)), 60),
        v(&[(DB, 1.0), (WEB, 3.0), (API, 4.0)])
    );
    // Over a range, topk picks per step.
    let e = vagg(VectorOp::Topk, None, Some(1.0), count(prod(), 15));
    assert_eq!(
        matrix(run(&src, e, range(30, 60, 15))),
        vec![
            (API.to_string(), vec![(30, 2.0), (45, 1.0)]),
            (WEB.to_string(), vec![(60, 1.0)]),
        ]
    );
}

// ---- binary operators --------------------------------------------------

fn counts_prod() -> SampleExpr {
    count(prod(), 60)
}

fn errors_prod() -> SampleExpr {
    count(contains(prod(), "error"), 60)
}

fn binx(b: BinaryExpr) -> SampleExpr {
    SampleExpr::Binary(Box::new(b))
}

#[test]
fn arithmetic_with_literals() {
    let src = fixture();
    let e = binx(bin(BinaryOp::Mul, counts_prod(), SampleExpr::Literal(2.0)));
    assert_eq!(
        vector(run(&src, e, instant(60)), 60),
        v(&[(API, 8.0), (WEB, 6.0)])
    );
    let e = binx(bin(BinaryOp::Sub, SampleExpr::Literal(2.0), counts_prod()));
    assert_eq!(
        vector(run(&src, e, instant(60)), 60),
        v(&[(API, -2.0), (WEB, -1.0)])
    );
    let e = binx(bin(BinaryOp::Pow, counts_prod(), SampleExpr::Literal(2.0)));
    assert_eq!(
        vector(run(&src, e, instant(60)), 60),
        v(&[(API, 16.0), (WEB, 9.0)])
    );
    let e = binx(bin(BinaryOp::Mod, counts_prod(), SampleExpr::Literal(3.0)));
    assert_eq!(
        vector(run(&src, e, instant(60)), 60),
        v(&[(API, 1.0), (WEB, 0.0)])
    );
    // Division by zero is NaN in Loki.
    let e = binx(bin(BinaryOp::Div, counts_prod(), SampleExpr::Literal(0.0)));
    let got = vector(run(&src, e, instant(60)), 60);
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|(_, x)| x.is_nan()));
}

#[test]
fn comparisons_filter_or_return_bool() {
    let src = fixture();
    let e = binx(bin(BinaryOp::Gt, counts_prod(), SampleExpr::Literal(3.0)));
    assert_eq!(vector(run(&src, e, instant(60)), 60), v(&[(API, 4.0)]));
    // Literal on the left: the vector's value is kept.
    let e = binx(bin(BinaryOp::Lt, SampleExpr::Literal(3.0), counts_prod()));
    assert_eq!(vector(run(&src, e, instant(60)), 60), v(&[(API, 4.0)]));
    let mut b = bin(BinaryOp::Gt, counts_prod(), SampleExpr::Literal(3.0));
    b.return_bool = true;
    assert_eq!(
        vector(run(&src, binx(b), instant(60)), 60),
        v(&[(API, 1.0), (WEB, 0.0)])
    );
    // Vector to vector: the left value is kept where the comparison holds.
    let e = binx(bin(BinaryOp::Ge, errors_prod(), SampleExpr::Literal(2.0)));
    let e = binx(bin(
        BinaryOp::Eq,
        counts_prod(),
        binx(bin(BinaryOp::Mul, e, SampleExpr::Literal(2.0))),
    ));
    assert_eq!(vector(run(&src, e, instant(60)), 60), v(&[(API, 4.0)]));
}

#[test]
fn literals_alone() {
    let src = fixture();
    let one_plus_one = binx(bin(
        BinaryOp::Add,
        SampleExpr::Literal(1.0),
        SampleExpr::Literal(1.0),
    ));
    assert_eq!(
        run(&src, one_plus_one.clone(), instant(4)),
        QueryOutput::Scalar {
            ts_ns: 4 * S,
            value: 2.0
        }
    );
    let gt = binx(bin(
        BinaryOp::Gt,
        SampleExpr::Literal(2.0),
        SampleExpr::Literal(1.0),
    ));
    assert_eq!(
        run(&src, gt, instant(4)),
        QueryOutput::Scalar {
            ts_ns: 4 * S,
            value: 1.0
        }
    );
    assert_eq!(
        matrix(run(&src, one_plus_one, range(0, 20, 10))),
        vec![("{}".to_string(), vec![(0, 2.0), (10, 2.0), (20, 2.0)])]
    );
    let health = binx(bin(
        BinaryOp::Add,
        SampleExpr::Vector(1.0),
        SampleExpr::Vector(1.0),
    ));
    assert_eq!(
        vector(run(&src, health.clone(), instant(4)), 4),
        v(&[("{}", 2.0)])
    );
    assert_eq!(
        matrix(run(&src, health, range(1, 3, 1))),
        vec![("{}".to_string(), vec![(1, 2.0), (2, 2.0), (3, 2.0)])]
    );
}

#[test]
fn vector_matching_one_to_one() {
    let src = fixture();
    let e = binx(bin(BinaryOp::Div, counts_prod(), errors_prod()));
    assert_eq!(
        vector(run(&src, e, instant(60)), 60),
        v(&[(API, 2.0), (WEB, 3.0)])
    );
    // on (app): result keeps only the matching labels.
    let mut b = bin(
        BinaryOp::Div,
        vagg(VectorOp::Sum, by(&["app"]), None, counts_prod()),
        errors_prod(),
    );
    b.matching = on(&["app"], Cardinality::OneToOne);
    assert_eq!(
        vector(run(&src, binx(b), instant(60)), 60),
        v(&[("{app=\"api\"}", 2.0), ("{app=\"web\"}", 3.0)])
    );
    // ignoring (env): result drops the ignored labels.
    let mut b = bin(BinaryOp::Sub, counts_prod(), errors_prod());
    b.matching = Some(VectorMatching {
        on: false,
        labels: vec!["env".into()],
        card: Cardinality::OneToOne,
    });
    assert_eq!(
        vector(run(&src, binx(b), instant(60)), 60),
        v(&[("{app=\"api\"}", 2.0), ("{app=\"web\"}", 2.0)])
    );
}

#[test]
fn vector_matching_group_left_and_right() {
    let src = fixture();
    let total = || vagg(VectorOp::Sum, by(&["env"]), None, counts_prod());
    let mut b = bin(BinaryOp::Div, counts_prod(), total());
    b.matching = on(&["env"], Cardinality::ManyToOne(vec![]));
    assert_eq!(
        vector(run(&src, binx(b), instant(60)), 60),
        v(&[(API, 4.0 / 7.0), (WEB, 3.0 / 7.0)])
    );
    let mut b = bin(BinaryOp::Div, total(), counts_prod());
    b.matching = on(&["env"], Cardinality::OneToMany(vec![]));
    assert_eq!(
        vector(run(&src, binx(b), instant(60)), 60),
        v(&[(API, 7.0 / 4.0), (WEB, 7.0 / 3.0)])
    );
    // group_left (x) copies x from the "one" side.
    let tagged = SampleExpr::LabelReplace(Box::new(LabelReplace {
        expr: total(),
        dst: "tier".into(),
        replacement: "gold".into(),
        src: "env".into(),
        regex: ".*".into(),
    }));
    let mut b = bin(BinaryOp::Mul, counts_prod(), tagged);
    b.matching = on(&["env"], Cardinality::ManyToOne(vec!["tier".into()]));
    assert_eq!(
        vector(run(&src, binx(b), instant(60)), 60),
        v(&[
            ("{app=\"api\", env=\"prod\", tier=\"gold\"}", 28.0),
            ("{app=\"web\", env=\"prod\", tier=\"gold\"}", 21.0)
        ])
    );
}

fn run_err(src: &MemorySource, e: SampleExpr, p: QueryParams) -> String {
    match Engine::default().exec(src, &Expr::Sample(e), &p) {
        Err(e) => e.to_string(),
        Ok(out) => panic!("expected an error, got {out:?}"),
    }
}

#[test]
fn vector_matching_errors() {
    let src = fixture();
    let total = || vagg(VectorOp::Sum, by(&["env"]), None, counts_prod());
    let mut b = bin(BinaryOp::Div, counts_prod(), total());
    b.matching = on(&["env"], Cardinality::OneToOne);
    assert_eq!(
        run_err(&src, binx(b), instant(60)),
        "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
    );
    let mut b = bin(BinaryOp::Div, total(), counts_prod());
    b.matching = on(&["env"], Cardinality::OneToOne);
    assert_eq!(
        run_err(&src, binx(b), instant(60)),
        "found duplicate series on the right hand-side;many-to-many matching not allowed: matching labels must be unique on one side"
    );
    let mut b = bin(BinaryOp::Div, counts_prod(), counts_prod());
    b.matching = on(&["env"], Cardinality::ManyToOne(vec![]));
    assert_eq!(
        run_err(&src, binx(b), instant(60)),
        "found duplicate series on the right hand-side;many-to-many matching not allowed: matching labels must be unique on one side"
    );
}

#[test]
fn set_operators() {
    let src = fixture();
    let boom = || count(contains(prod(), "boom"), 60);
    let e = binx(bin(BinaryOp::And, counts_prod(), boom()));
    assert_eq!(vector(run(&src, e, instant(60)), 60), v(&[(WEB, 3.0)]));
    let e = binx(bin(BinaryOp::Unless, counts_prod(), boom()));
    assert_eq!(vector(run(&src, e, instant(60)), 60), v(&[(API, 4.0)]));
    let e = binx(bin(
        BinaryOp::Or,
        count(sel(vec![eq("app", "api")]), 60),
        binx(bin(BinaryOp::Mul, counts_prod(), SampleExpr::Literal(10.0))),
    ));
    assert_eq!(
        vector(run(&src, e, instant(60)), 60),
        v(&[(API, 4.0), (WEB, 30.0)])
    );
    // Per step: web is absent from the left at 30 but present at 60.
    let e = binx(bin(
        BinaryOp::Or,
        count(contains(sel(vec![eq("app", "web")]), "bye"), 15),
        binx(bin(
            BinaryOp::Mul,
            count(prod(), 15),
            SampleExpr::Literal(10.0),
        )),
    ));
    assert_eq!(
        matrix(run(&src, e, range(30, 60, 15))),
        vec![
            (API.to_string(), vec![(30, 20.0), (45, 10.0)]),
            (WEB.to_string(), vec![(30, 10.0), (60, 1.0)]),
        ]
    );
    let e = binx(bin(BinaryOp::And, counts_prod(), SampleExpr::Literal(1.0)));
    assert!(run_err(&src, e, instant(60)).contains("logical/set binary operation"));
}

#[test]
fn label_replace_rewrites_matching_series() {
    let src = fixture();
    let e = SampleExpr::LabelReplace(Box::new(LabelReplace {
        expr: counts_prod(),
        dst: "svc".into(),
        replacement: "$1-x".into(),
        src: "app".into(),
        regex: "(a.)i".into(),
    }));
    assert_eq!(
        vector(run(&src, e, instant(60)), 60),
        v(&[
            ("{app=\"api\", env=\"prod\", svc=\"ap-x\"}", 4.0),
            (WEB, 3.0)
        ])
    );
    let bad = SampleExpr::LabelReplace(Box::new(LabelReplace {
        expr: counts_prod(),
        dst: "1x".into(),
        replacement: "".into(),
        src: "app".into(),
        regex: ".*".into(),
    }));
    assert_eq!(
        run_err(&src, bad, instant(60)),
        "invalid destination label name in label_replace(): 1x"
    );
}

// ---- limits, errors, stats ---------------------------------------------

#[test]
fn series_limit_and_timeout() {
    let src = fixture();
    let engine = Engine::new(EngineOptions {
        max_series: 1,
        ..EngineOptions::default()
    });
    let err = engine
        .exec(&src, &Expr::Sample(counts_prod()), &range(0, 60, 30))
        .unwrap_err();
    assert!(matches!(err, QueryError::Limit(_)));
    assert!(err
        .to_string()
        .starts_with("maximum number of series (1) reached for a single query"));
    // Aggregated down to one series it passes.
    let sum = vagg(VectorOp::Sum, None, None, counts_prod());
    assert!(engine.exec(&src, &Expr::Sample(sum), &instant(60)).is_ok());

    let engine = Engine::new(EngineOptions {
        timeout: Duration::ZERO,
        ..EngineOptions::default()
    });
    let err = engine
        .exec(&src, &Expr::Sample(counts_prod()), &instant(60))
        .unwrap_err();
    assert!(matches!(err, QueryError::Timeout));
}

#[test]
fn stats_count_lines_read() {
    let src = fixture();
    let (_, stats) = Engine::default()
        .exec(&src, &Expr::Sample(count(prod(), 60)), &instant(60))
        .unwrap();
    // Lines in (0, 60]: api 4 + web 3; 10+16+11+16 + 5+10+3 bytes.
    assert_eq!(
        stats,
        QueryStats {
            lines_processed: 7,
            bytes_processed: 71
        }
    );
}

#[test]
fn too_many_steps_is_refused() {
    let src = fixture();
    let mut p = range(0, 20_000, 1);
    p.step_ns = S;
    assert!(
        run_err(&src, counts_prod(), p).starts_with("exceeded maximum resolution of 11,000 points")
    );
}

// ---- log queries -------------------------------------------------------

fn logs(src: &MemorySource, l: LogExpr, p: QueryParams) -> Vec<(i64, String, String)> {
    match Engine::default().exec(src, &Expr::Log(l), &p).unwrap().0 {
        QueryOutput::Streams(entries) => entries
            .into_iter()
            .map(|e| (e.ts_ns / S, e.stream.to_string(), e.line))
            .collect(),
        other => panic!("not streams: {other:?}"),
    }
}

fn lines(want: &[(i64, &str, &str)]) -> Vec<(i64, String, String)> {
    want.iter()
        .map(|(t, l, s)| (*t, l.to_string(), s.to_string()))
        .collect()
}

fn log_range(start_s: i64, end_s: i64, limit: usize, dir: Direction) -> QueryParams {
    QueryParams {
        limit,
        direction: dir,
        ..range(start_s, end_s, 1)
    }
}

#[test]
fn log_query_backward_limit_merges_streams() {
    let src = fixture();
    assert_eq!(
        logs(&src, prod(), log_range(0, 100, 3, Direction::Backward)),
        lines(&[
            (60, WEB, "bye"),
            (45, API, "GET /d 500 error"),
            (30, WEB, "error boom"),
        ])
    );
    assert_eq!(
        logs(&src, prod(), log_range(0, 100, 4, Direction::Forward)),
        lines(&[
            (10, API, "GET /a 200"),
            (15, WEB, "hello"),
            (20, API, "GET /b 500 error"),
            (30, API, "POST /c 200"),
        ])
    );
}

#[test]
fn log_query_end_is_exclusive_and_filters_apply() {
    let src = fixture();
    assert_eq!(
        logs(&src, prod(), log_range(10, 30, 100, Direction::Forward)),
        lines(&[
            (10, API, "GET /a 200"),
            (15, WEB, "hello"),
            (20, API, "GET /b 500 error"),
        ])
    );
    assert_eq!(
        logs(
            &src,
            contains(all(), "error"),
            log_range(0, 100, 100, Direction::Backward)
        ),
        lines(&[
            (45, API, "GET /d 500 error"),
            (30, WEB, "error boom"),
            (20, API, "GET /b 500 error"),
        ])
    );
}

#[test]
fn log_query_interval_and_metadata() {
    let src = fixture();
    let mut p = log_range(0, 100, 100, Direction::Forward);
    p.interval_ns = 10 * S;
    let got: Vec<i64> = logs(&src, prod(), p).into_iter().map(|l| l.0).collect();
    assert_eq!(got, vec![10, 20, 30, 45, 60]);
    let mut p = log_range(0, 100, 2, Direction::Backward);
    p.interval_ns = 10 * S;
    let got: Vec<i64> = logs(&src, prod(), p).into_iter().map(|l| l.0).collect();
    assert_eq!(got, vec![60, 45]);

    let src = MemorySource::new();
    src.push(
        lbs(&[("app", "web"), ("env", "prod")]),
        15 * S,
        "hello",
        vec![Label::new("trace", "t1")],
    );
    let out = Engine::default()
        .exec(
            &src,
            &Expr::Log(sel(vec![eq("app", "web")])),
            &log_range(15, 16, 10, Direction::Forward),
        )
        .unwrap()
        .0;
    let QueryOutput::Streams(entries) = out else {
        panic!("not streams");
    };
    assert_eq!(
        entries,
        vec![OutEntry {
            ts_ns: 15 * S,
            line: "hello".into(),
            stream: lbs(&[("app", "web"), ("env", "prod")]),
            metadata: vec![Label::new("trace", "t1")],
            parsed: vec![],
        }]
    );
}

#[test]
fn log_query_limits() {
    let src = fixture();
    let err = Engine::default()
        .exec(
            &src,
            &Expr::Log(prod()),
            &log_range(0, 100, 5001, Direction::Forward),
        )
        .unwrap_err();
    assert!(matches!(err, QueryError::Limit(_)));
    assert_eq!(
        err.to_string(),
        "max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)"
    );
    let err = Engine::default()
        .exec(&src, &Expr::Log(prod()), &instant(60))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "log queries are not supported as an instant query type, please change your query to a range query type"
    );
}

#[test]
fn bounded_merge_matches_a_full_sort() {
    // Many interleaved streams: the bounded heap must return exactly the
    // first `limit` lines of the full order.
    let src = MemorySource::new();
    let mut all_lines = Vec::new();
    for s in 0..7 {
        let l = lbs(&[("s", &s.to_string())]);
        for i in 0..50 {
            let ts = ((i * 7 + s * 3) % 97) as i64;
            src.push(&l, ts * S, format!("{s}-{i}"), vec![]);
            all_lines.push(ts);
        }
    }
    all_lines.sort_unstable();
    for (dir, limit) in [(Direction::Forward, 33), (Direction::Backward, 41)] {
        let got: Vec<i64> = logs(
            &src,
            sel(vec![re("s", ".+")]),
            log_range(0, 1000, limit, dir),
        )
        .into_iter()
        .map(|l| l.0)
        .collect();
        let want: Vec<i64> = if dir == Direction::Forward {
            all_lines.iter().take(limit).copied().collect()
        } else {
            all_lines.iter().rev().take(limit).copied().collect()
        };
        assert_eq!(got, want, "{dir:?}");
    }
}

#[test]
fn extreme_timestamps_do_not_overflow() {
    let src = fixture();
    let p = QueryParams {
        start_ns: i64::MIN,
        end_ns: i64::MAX,
        step_ns: 1,
        ..range(0, 0, 1)
    };
    assert!(run_err(&src, counts_prod(), p).starts_with("exceeded maximum resolution"));
    let p = QueryParams {
        start_ns: i64::MAX - 10,
        end_ns: i64::MAX,
        step_ns: 5,
        ..range(0, 0, 1)
    };
    assert_eq!(matrix(run(&src, counts_prod(), p)), vec![]);
}

#[test]
fn early_grouped_sum_equals_the_generic_path() {
    // `x + 0` hides the range aggregation from the early grouping.
    let src = fixture();
    for op in [
        RangeOp::CountOverTime,
        RangeOp::Rate,
        RangeOp::BytesOverTime,
        RangeOp::BytesRate,
    ] {
        for grouping in [by(&["env"]), None, by(&[])] {
            let inner = ragg(op, all(), 30, 5);
            let early = vagg(VectorOp::Sum, grouping.clone(), None, inner.clone());
            let plus0 = binx(bin(BinaryOp::Add, inner, SampleExpr::Literal(0.0)));
            let generic = vagg(VectorOp::Sum, grouping, None, plus0);
            let a = matrix(run(&src, early, range(0, 90, 10)));
            let b = matrix(run(&src, generic, range(0, 90, 10)));
            assert!(!a.is_empty());
            // Same series and steps; rates may differ in the last bit
            // ((a+b)/r against a/r + b/r).
            assert_eq!(a.len(), b.len(), "{op:?}");
            for ((la, pa), (lb, pb)) in a.iter().zip(&b) {
                assert_eq!(la, lb);
                assert_eq!(pa.len(), pb.len(), "{op:?} {la}");
                for (x, y) in pa.iter().zip(pb) {
                    assert_eq!(x.0, y.0);
                    assert!(
                        (x.1 - y.1).abs() <= 1e-15 * x.1.abs(),
                        "{op:?} {la}: {x:?} {y:?}"
                    );
                }
            }
        }
    }
}

/// The same checks written as LogQL query strings, parsed by the real
/// parser, plus what needs the real pipeline (parsers, unwrap, errors).
mod queries {
    use super::*;

    fn q(src: &MemorySource, query: &str, p: QueryParams) -> Result<QueryOutput, QueryError> {
        let expr = crate::logql::parse(query).unwrap_or_else(|e| panic!("{query}: {e}"));
        Engine::default().exec(src, &expr, &p).map(|r| r.0)
    }

    fn ok(src: &MemorySource, query: &str, p: QueryParams) -> QueryOutput {
        q(src, query, p).unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    fn err(src: &MemorySource, query: &str, p: QueryParams) -> String {
        match q(src, query, p) {
            Err(e) => e.to_string(),
            Ok(out) => panic!("{query}: expected an error, got {out:?}"),
        }
    }

    #[test]
    fn range_aggregations_as_queries() {
        let src = fixture();
        assert_eq!(
            matrix(ok(
                &src,
                r#"count_over_time({env="prod"}[30s])"#,
                range(30, 60, 15)
            )),
            vec![
                (API.to_string(), vec![(30, 3.0), (45, 3.0), (60, 1.0)]),
                (WEB.to_string(), vec![(30, 2.0), (45, 1.0), (60, 1.0)]),
            ]
        );
        assert_eq!(
            vector(ok(&src, r#"rate({app="api"}[20s])"#, instant(30)), 30),
            v(&[(API, 0.1)])
        );
        assert_eq!(
            vector(ok(&src, r#"bytes_rate({app="web"}[1m])"#, instant(60)), 60),
            v(&[(WEB, 0.3)])
        );
        assert_eq!(
            vector(
                ok(&src, r#"bytes_over_time({app="web"}[1m])"#, instant(60)),
                60
            ),
            v(&[(WEB, 18.0)])
        );
        assert_eq!(
            matrix(ok(
                &src,
                r#"count_over_time({app="api"}[10s] offset 10s)"#,
                range(30, 50, 10)
            )),
            vec![(API.to_string(), vec![(30, 1.0), (40, 1.0)])]
        );
        assert_eq!(
            vector(
                ok(
                    &src,
                    r#"count_over_time({env="prod"} |= "error" [1m])"#,
                    instant(60)
                ),
                60
            ),
            v(&[(API, 2.0), (WEB, 1.0)])
        );
        assert_eq!(
            matrix(ok(
                &src,
                r#"absent_over_time({app="api", env=~"p.*"}[5s])"#,
                range(0, 20, 5)
            )),
            vec![(
                "{app=\"api\"}".to_string(),
                vec![(0, 1.0), (5, 1.0), (15, 1.0)]
            )]
        );
    }

    #[test]
    fn vector_aggregations_as_queries() {
        let src = fixture();
        let all = r#"count_over_time({env=~".+"}[1m])"#;
        for (op, prod_v, dev_v) in [
            ("sum", 7.0, 1.0),
            ("avg", 3.5, 1.0),
            ("min", 3.0, 1.0),
            ("max", 4.0, 1.0),
            ("count", 2.0, 1.0),
            ("stddev", 0.5, 0.0),
            ("stdvar", 0.25, 0.0),
        ] {
            let want = v(&[("{env=\"dev\"}", dev_v), ("{env=\"prod\"}", prod_v)]);
            for query in [
                format!("{op} by (env) ({all})"),
                format!("{op}({all}) by (env)"),
                format!("{op} without (app) ({all})"),
            ] {
                assert_eq!(vector(ok(&src, &query, instant(60)), 60), want, "{query}");
            }
        }
        assert_eq!(
            vector(ok(&src, &format!("topk(1, {all})"), instant(60)), 60),
            v(&[(API, 4.0)])
        );
        assert_eq!(
            vector(ok(&src, &format!("bottomk(2, {all})"), instant(60)), 60),
            v(&[(DB, 1.0), (WEB, 3.0)])
        );
        assert_eq!(
            vector(ok(&src, &format!("sort_desc({all})"), instant(60)), 60),
            v(&[(API, 4.0), (WEB, 3.0), (DB, 1.0)])
        );
        assert_eq!(
            vector(ok(&src, &format!("sort({all})"), instant(60)), 60),
            v(&[(DB, 1.0), (WEB, 3.0), (API, 4.0)])
        );
        assert_eq!(
            matrix(ok(
                &src,
                r#"sum by (env) (count_over_time({env=~".+"}[30s]))"#,
                range(30, 60, 30)
            )),
            vec![
                ("{env=\"dev\"}".to_string(), vec![(30, 1.0)]),
                ("{env=\"prod\"}".to_string(), vec![(30, 5.0), (60, 2.0)]),
            ]
        );
    }

    #[test]
    fn binary_operations_as_queries() {
        let src = fixture();
        let c = r#"count_over_time({env="prod"}[1m])"#;
        let e = r#"count_over_time({env="prod"} |= "error" [1m])"#;
        let cases: Vec<(String, Vec<(String, f64)>)> = vec![
            (format!("{c} * 2"), v(&[(API, 8.0), (WEB, 6.0)])),
            (format!("2 - {c}"), v(&[(API, -2.0), (WEB, -1.0)])),
            (format!("{c} > 3"), v(&[(API, 4.0)])),
            (format!("{c} > bool 3"), v(&[(API, 1.0), (WEB, 0.0)])),
            (format!("{c} / {e}"), v(&[(API, 2.0), (WEB, 3.0)])),
            (
                format!("sum by (app) ({c}) / on (app) {e}"),
                v(&[("{app=\"api\"}", 2.0), ("{app=\"web\"}", 3.0)]),
            ),
            (
                format!("{c} - ignoring (env) {e}"),
                v(&[("{app=\"api\"}", 2.0), ("{app=\"web\"}", 2.0)]),
            ),
            (
                format!("{c} / on (env) group_left sum by (env) ({c})"),
                v(&[(API, 4.0 / 7.0), (WEB, 3.0 / 7.0)]),
            ),
            (
                format!("sum by (env) ({c}) / on (env) group_right {c}"),
                v(&[(API, 7.0 / 4.0), (WEB, 7.0 / 3.0)]),
            ),
            (
                format!(r#"{c} and count_over_time({{env="prod"}} |= "boom" [1m])"#),
                v(&[(WEB, 3.0)]),
            ),
            (
                format!(r#"{c} unless count_over_time({{env="prod"}} |= "boom" [1m])"#),
                v(&[(API, 4.0)]),
            ),
            (
                format!(r#"count_over_time({{app="api"}}[1m]) or {c} * 10"#),
                v(&[(API, 4.0), (WEB, 30.0)]),
            ),
            (
                format!(r#"label_replace({c}, "svc", "$1-x", "app", "(a.)i")"#),
                v(&[
                    ("{app=\"api\", env=\"prod\", svc=\"ap-x\"}", 4.0),
                    (WEB, 3.0),
                ]),
            ),
            ("vector(1) + vector(1)".to_string(), v(&[("{}", 2.0)])),
        ];
        for (query, want) in cases {
            assert_eq!(vector(ok(&src, &query, instant(60)), 60), want, "{query}");
        }
        assert_eq!(
            ok(&src, "1 + 1", instant(4)),
            QueryOutput::Scalar {
                ts_ns: 4 * S,
                value: 2.0
            }
        );
        assert_eq!(
        err(&src, &format!("{c} / on (env) {c}"), instant(60)),
        "found duplicate series on the right hand-side;many-to-many matching not allowed: matching labels must be unique on one side"
    );
    }

    #[test]
    fn log_queries_as_queries() {
        let src = fixture();
        let got: Vec<(i64, String)> = match ok(
            &src,
            r#"{env="prod"} |= "error""#,
            log_range(0, 100, 2, Direction::Backward),
        ) {
            QueryOutput::Streams(e) => e.into_iter().map(|e| (e.ts_ns / S, e.line)).collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            got,
            vec![
                (45, "GET /d 500 error".to_string()),
                (30, "error boom".to_string())
            ]
        );
    }
    /// Unwrappable logfmt lines: svc at 10 20 40 45 60 with latency 2 4 8 1 7.
    fn metrics() -> MemorySource {
        let src = fixture();
        let svc = lbs(&[("app", "svc")]);
        for (t, lat) in [(10, "2"), (20, "4"), (40, "8"), (45, "1"), (60, "7")] {
            src.push(&svc, t * S, format!("latency={lat}"), vec![]);
        }
        let timing = lbs(&[("app", "timing")]);
        src.push(&timing, 10 * S, "took=1.5s size=1KB", vec![]);
        src.push(&timing, 20 * S, "took=250ms size=2KiB", vec![]);
        let bad = lbs(&[("app", "bad")]);
        src.push(&bad, 10 * S, "latency=3", vec![]);
        src.push(&bad, 20 * S, "latency=oops", vec![]);
        src.push(&bad, 30 * S, "not json", vec![]);
        src
    }

    const SVC: &str = "{app=\"svc\"}";

    #[test]
    fn unwrapped_range_aggregations() {
        let src = metrics();
        let sel = r#"{app="svc"} | logfmt | unwrap latency"#;
        let cases: [(&str, [f64; 3]); 10] = [
            ("sum_over_time", [6.0, 13.0, 16.0]),
            ("rate", [0.2, 13.0 / 30.0, 16.0 / 30.0]),
            ("avg_over_time", [3.0, 13.0 / 3.0, 16.0 / 3.0]),
            ("min_over_time", [2.0, 1.0, 1.0]),
            ("max_over_time", [4.0, 8.0, 8.0]),
            ("first_over_time", [2.0, 4.0, 8.0]),
            ("last_over_time", [4.0, 1.0, 7.0]),
            ("stdvar_over_time", [1.0, 74.0 / 9.0, 86.0 / 9.0]),
            (
                "stddev_over_time",
                [1.0, (74.0f64 / 9.0).sqrt(), (86.0f64 / 9.0).sqrt()],
            ),
            ("quantile_over_time(0.5,", [3.0, 4.0, 7.0]),
        ];
        for (f, want) in cases {
            let query = if f.ends_with(',') {
                format!("{f} {sel} [30s])")
            } else {
                format!("{f}({sel} [30s])")
            };
            let got = matrix(ok(&src, &query, range(30, 60, 15)));
            assert_eq!(got.len(), 1, "{query}");
            assert_eq!(got[0].0, SVC, "{query}");
            let vals: Vec<f64> = got[0].1.iter().map(|p| p.1).collect();
            assert_eq!(
                got[0].1.iter().map(|p| p.0).collect::<Vec<_>>(),
                vec![30, 45, 60]
            );
            for (g, w) in vals.iter().zip(want) {
                assert!((g - w).abs() < 1e-12, "{query}: {vals:?} != {want:?}");
            }
        }
    }

    #[test]
    fn unwrap_conversions_and_grouping() {
        let src = metrics();
        assert_eq!(
            vector(
                ok(
                    &src,
                    r#"avg_over_time({app="timing"} | logfmt | unwrap duration(took) [1m]) by (app)"#,
                    instant(60)
                ),
                60
            ),
            v(&[("{app=\"timing\"}", 0.875)])
        );
        assert_eq!(
            vector(
                ok(
                    &src,
                    r#"max_over_time({app="timing"} | logfmt | unwrap bytes(size) [1m]) by (app)"#,
                    instant(60)
                ),
                60
            ),
            v(&[("{app=\"timing\"}", 2048.0)])
        );
        assert_eq!(
            vector(
                ok(
                    &src,
                    r#"avg_over_time({app=~"svc|bad"} |= "latency=" | logfmt | unwrap latency | __error__="" [1m]) without (app)"#,
                    instant(60)
                ),
                60
            ),
            v(&[("{}", 25.0 / 6.0)])
        );
    }

    #[test]
    fn sample_errors_fail_the_query_unless_filtered() {
        let src = metrics();
        let e = err(
            &src,
            r#"sum_over_time({app="bad"} |= "latency" | logfmt | unwrap latency [1m])"#,
            instant(60),
        );
        assert!(
            e.starts_with("pipeline error: 'SampleExtractionErr' for series: '{"),
            "{e}"
        );
        assert!(e.contains("Use a label filter to intentionally skip this error. (e.g | __error__!=\"SampleExtractionErr\")"), "{e}");
        let e = err(
            &src,
            r#"count_over_time({app="bad"} | json [1m])"#,
            instant(60),
        );
        assert!(
            e.starts_with("pipeline error: 'JSONParserErr' for series: '{"),
            "{e}"
        );
        assert_eq!(
            vector(
                ok(
                    &src,
                    r#"count_over_time({app="bad"} | json | __error__="" [1m])"#,
                    instant(60)
                ),
                60
            ),
            v(&[])
        );
        // Outside every window the bad line is never looked at.
        assert_eq!(
            vector(
                ok(
                    &src,
                    r#"sum_over_time({app="bad"} |= "latency" | logfmt | unwrap latency [5s])"#,
                    instant(10)
                ),
                10
            ),
            v(&[("{app=\"bad\"}", 3.0)])
        );
    }

    #[test]
    fn rate_counter_query() {
        let src = MemorySource::new();
        let c = lbs(&[("app", "c")]);
        for (t, x) in [(10, 1.0), (20, 5.0), (30, 2.0), (40, 6.0)] {
            src.push(&c, t * S, format!("total={x}"), vec![]);
        }
        let want = 10.0 * ((3e7 + 60.0) / 3e7) / 60.0;
        assert_eq!(
            vector(
                ok(
                    &src,
                    r#"rate_counter({app="c"} | logfmt | unwrap total [1m])"#,
                    instant(40)
                ),
                40
            ),
            v(&[("{app=\"c\"}", want)])
        );
    }

    #[test]
    fn regexp_parsed_labels_in_log_results() {
        let src = fixture();
        let got: Vec<(i64, String, Vec<Label>)> = match ok(
            &src,
            r#"{app="api"} | regexp "(?P<method>\\w+) (?P<path>\\S+)" | method="POST""#,
            log_range(0, 100, 10, Direction::Forward),
        ) {
            QueryOutput::Streams(e) => e
                .into_iter()
                .map(|e| (e.ts_ns / S, e.line, e.parsed))
                .collect(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            got,
            vec![(
                30,
                "POST /c 200".to_string(),
                vec![Label::new("method", "POST"), Label::new("path", "/c")]
            )]
        );
    }
}
