//! Engine tests for pipelines: aggregates with scalar filters, `by()`,
//! `select()`, `coalesce()`, spanset stages after a pipe, comparisons of
//! scalar pipelines; and a smoke test running many queries on every
//! fixture.

use super::tests_fixture::{attrs_on, eval_on, matching, names, one, strs, traces};
use super::{compile, Value};
use crate::traceql::parse;

#[test]
fn count_filter() {
    assert_eq!(matching("{ } | count() > 4"), vec!["ok", "err"]);
    assert_eq!(
        attrs_on("{ } | count() > 4", "ok"),
        vec![vec![("count()".to_string(), Value::Int(5))]]
    );
    assert_eq!(one("{ } | count() > 4", "err").len(), 5);
}

#[test]
fn count_of_filtered_spans() {
    assert_eq!(matching("{ kind = server } | count() = 1"), vec!["health"]);
    assert_eq!(
        one("{ kind = server } | count() = 1", "health"),
        strs(&["GET /healthz"])
    );
    assert_eq!(matching("{ status = error } | count() >= 3"), vec!["err"]);
}

#[test]
fn avg_duration() {
    assert_eq!(matching("{ } | avg(duration) > 1s"), vec!["err"]);
    // (5s + 4.4s + 4.2s + 100ms + 20ms) / 5
    assert_eq!(
        attrs_on("{ } | avg(duration) > 1s", "err"),
        vec![vec![(
            "avg(duration)".to_string(),
            Value::Duration(2_744_000_000)
        )]]
    );
}

#[test]
fn max_and_min_duration() {
    assert_eq!(matching("{ } | max(duration) >= 5s"), vec!["err"]);
    assert_eq!(matching("{ } | min(duration) < 100us"), vec!["health"]);
    assert_eq!(
        attrs_on("{ } | min(duration) < 100us", "health"),
        vec![vec![("min(duration)".to_string(), Value::Duration(50_000))]]
    );
}

#[test]
fn sum_duration_and_sum_of_int_attribute() {
    assert_eq!(matching("{ } | sum(duration) > 1500ms"), vec!["ok", "err"]);
    assert_eq!(
        matching("{ } | sum(span.http.status_code) = 402"),
        vec!["ok"]
    );
    assert_eq!(
        attrs_on("{ } | sum(span.http.status_code) > 0", "err"),
        vec![vec![(
            "sum(span.http.status_code)".to_string(),
            Value::Int(901)
        )]]
    );
}

#[test]
fn avg_of_float_attribute() {
    assert_eq!(matching("{ } | avg(span.retry.ratio) = 1.5"), vec!["err"]);
    assert_eq!(matching("{ } | max(span.retry.ratio) < 1"), vec!["ok"]);
}

#[test]
fn aggregate_over_missing_attribute_never_passes() {
    assert!(matching("{ } | avg(span.nope) > 0").is_empty());
}

#[test]
fn by_splits_spansets() {
    let q = "{ } | by(resource.service.name)";
    assert_eq!(
        names(q)[1],
        (
            "err",
            vec![
                strs(&["POST /clone", "k8s.create_pod", "pod.wait_ready"]),
                strs(&["POST /api/v1/pods", "GET /api/v1/pods/wp-def"]),
            ]
        )
    );
    assert_eq!(
        attrs_on(q, "err"),
        vec![
            vec![(
                "by(resource.service.name)".to_string(),
                Value::Str("wp-k8s-service".into())
            )],
            vec![(
                "by(resource.service.name)".to_string(),
                Value::Str("kube-apiserver".into())
            )],
        ]
    );
}

#[test]
fn by_then_count_filters_groups() {
    let q = "{ } | by(resource.service.name) | count() > 1";
    assert_eq!(
        names(q),
        vec![
            (
                "ok",
                vec![strs(&[
                    "POST /clone",
                    "k8s.create_pod",
                    "pod.wait_ready",
                    "ingress.wait_ready"
                ])]
            ),
            (
                "err",
                vec![
                    strs(&["POST /clone", "k8s.create_pod", "pod.wait_ready"]),
                    strs(&["POST /api/v1/pods", "GET /api/v1/pods/wp-def"]),
                ]
            ),
            (
                "health",
                vec![strs(&["GET /healthz", "db.ping", "queue.publish"])]
            ),
        ]
    );
    assert_eq!(
        attrs_on(q, "health"),
        vec![vec![
            (
                "by(resource.service.name)".to_string(),
                Value::Str("wp-k8s-service".into())
            ),
            ("count()".to_string(), Value::Int(3)),
        ]]
    );
}

#[test]
fn by_groups_spans_without_the_value_as_nil() {
    let q = "{ } | by(span.http.method)";
    assert_eq!(
        names(q)[2],
        (
            "health",
            vec![
                strs(&["GET /healthz"]),
                strs(&["db.ping"]),
                strs(&["queue.publish", "queue.consume"]),
            ]
        )
    );
    assert_eq!(
        attrs_on(q, "health")[2],
        vec![("by(span.http.method)".to_string(), Value::Nil)]
    );
}

#[test]
fn by_kind_uses_enum_values() {
    assert_eq!(
        attrs_on("{ kind = server || kind = client } | by(kind)", "ok"),
        vec![
            vec![("by(kind)".to_string(), Value::Kind(2))],
            vec![("by(kind)".to_string(), Value::Kind(3))],
        ]
    );
}

#[test]
fn select_attaches_values_per_span() {
    let t = &traces()[0].1;
    let r = eval_on(
        r#"{ name = "k8s.create_pod" } | select(span.k8s.pod.name, span.attempt, status, span.nope)"#,
        t,
    );
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].spans, vec![1]);
    assert_eq!(
        r[0].selected,
        vec![vec![
            ("span.k8s.pod.name".to_string(), Value::Str("wp-abc".into())),
            ("span.attempt".to_string(), Value::Int(1)),
            ("status".to_string(), Value::Status(0)),
        ]]
    );
}

#[test]
fn select_after_structural_operator() {
    let t = &traces()[1].1;
    let r = eval_on(r#"{ kind = client } > { } | select(duration)"#, t);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].spans, vec![2, 3, 4]);
    assert_eq!(
        r[0].selected,
        vec![
            vec![("duration".to_string(), Value::Duration(4_200_000_000))],
            vec![("duration".to_string(), Value::Duration(100_000_000))],
            vec![("duration".to_string(), Value::Duration(20_000_000))],
        ]
    );
}

#[test]
fn coalesce_merges_groups() {
    let q = "{ } | by(resource.service.name) | coalesce()";
    assert_eq!(
        names(q)[1],
        (
            "err",
            vec![strs(&[
                "POST /clone",
                "k8s.create_pod",
                "pod.wait_ready",
                "POST /api/v1/pods",
                "GET /api/v1/pods/wp-def"
            ])]
        )
    );
    assert_eq!(attrs_on(q, "err"), vec![Vec::new()]);
}

#[test]
fn spanset_filter_after_pipe_filters_each_group() {
    let q = "{ } | by(resource.service.name) | { status = error }";
    assert_eq!(
        names(q),
        vec![(
            "err",
            vec![strs(&["POST /clone", "k8s.create_pod", "pod.wait_ready"])]
        )]
    );
    assert_eq!(
        attrs_on(q, "err"),
        vec![vec![(
            "by(resource.service.name)".to_string(),
            Value::Str("wp-k8s-service".into())
        )]]
    );
}

#[test]
fn structural_stage_after_by() {
    // Within the wp-k8s-service group only: the kube spans are not in it.
    let q = r#"{ } | by(resource.service.name) | { kind = client } > { }"#;
    assert_eq!(
        names(q),
        vec![
            ("ok", vec![strs(&["pod.wait_ready"])]),
            ("err", vec![strs(&["pod.wait_ready"])]),
        ]
    );
}

#[test]
fn count_per_group_removes_small_groups() {
    assert!(matching("{ status = error } | by(kind) | count() > 1").is_empty());
    assert_eq!(
        names("{ kind = server } | by(resource.service.name) | count() = 2"),
        vec![(
            "err",
            vec![strs(&["POST /api/v1/pods", "GET /api/v1/pods/wp-def"])]
        )]
    );
}

#[test]
fn compare_two_scalar_pipelines() {
    let q = "({ kind = server } | count()) > ({ kind = client } | count())";
    assert_eq!(
        names(q),
        vec![
            (
                "ok",
                vec![strs(&[
                    "POST /clone",
                    "k8s.create_pod",
                    "POST /api/v1/pods"
                ])]
            ),
            (
                "err",
                vec![strs(&[
                    "POST /clone",
                    "k8s.create_pod",
                    "POST /api/v1/pods",
                    "GET /api/v1/pods/wp-def"
                ])]
            ),
        ]
    );
}

#[test]
fn scalar_pipeline_against_a_number() {
    assert_eq!(matching("({ status = error } | count()) >= 3"), vec!["err"]);
    assert_eq!(
        one("({ status = error } | count()) >= 3", "err"),
        strs(&["POST /clone", "k8s.create_pod", "pod.wait_ready"])
    );
}

#[test]
fn scalar_pipeline_avg_durations_compared() {
    // ok: servers avg (1s + 50ms)/2 = 525ms, clients 300ms.
    let q = "({ kind = server } | avg(duration)) > ({ kind = client } | avg(duration))";
    assert_eq!(matching(q), vec!["ok", "health"]);
}

#[test]
fn count_then_select() {
    let t = &traces()[2].1;
    let r = eval_on(
        "{ kind = client } | count() = 1 | select(span.db.system)",
        t,
    );
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].spans, vec![1]);
    assert_eq!(
        r[0].selected,
        vec![vec![(
            "span.db.system".to_string(),
            Value::Str("postgres".into())
        )]]
    );
    assert_eq!(
        r[0].attributes,
        vec![("count()".to_string(), Value::Int(1))]
    );
}

#[test]
fn pipeline_of_spanset_or_then_count() {
    assert_eq!(
        matching(r#"({ name = "db.ping" } || { name = "queue.publish" }) | count() = 2"#),
        vec!["health"]
    );
}

/// Every query evaluates without error on every fixture, and results are
/// in trace order without repeats.
#[test]
fn many_queries_evaluate_on_all_fixtures() {
    let queries = [
        "{ }",
        "{ true }",
        r#"{ name = "POST /clone" }"#,
        "{ status = error }",
        "{ status != ok && kind != server }",
        "{ duration > 100ms }",
        "{ span:duration < 1s || traceDuration > 1s }",
        r#"{ rootName =~ "POST.*" }"#,
        r#"{ rootServiceName != "x" }"#,
        r#"{ .http.method = "POST" && span.http.status_code >= 200 }"#,
        "{ resource.replicas * 2 = 4 }",
        r#"{ event:name = "exception" }"#,
        "{ event:timeSinceStart > 1ms }",
        r#"{ link:traceID != "" }"#,
        r#"{ instrumentation:name =~ ".*tracer" }"#,
        "{ childCount > 0 }",
        "{ nestedSetLeft > 0 && nestedSetRight > nestedSetLeft }",
        "{ span.nope = nil }",
        r#"{ parent.span.http.method = "POST" }"#,
        "{ } >> { }",
        "{ } !~ { }",
        "{ } &<< { kind = server }",
        "{ kind = server } !< { kind = client }",
        "({ } > { }) || ({ } ~ { })",
        "{ } | count() > 0",
        "{ } | by(kind) | avg(duration) > 0",
        "{ } | by(resource.service.name) | select(name, status) | coalesce()",
        "{ } | max(span.http.status_code) - min(span.http.status_code) > 0",
        "({ } | count()) = ({ kind = server } | count())",
        "{ } | sum(duration) > 0 | { status = error }",
        "{ -duration < 0s }",
        "{ span.http.status_code / 0 = 1 }",
    ];
    for q in queries {
        let parsed = parse(q).unwrap_or_else(|e| panic!("{q}: {e}"));
        let c = compile(&parsed).unwrap_or_else(|e| panic!("{q}: {e}"));
        for (name, t) in traces() {
            let trace = crate::traceql::data::TraceData::new(&t);
            for ss in c.evaluate(&trace) {
                assert!(!ss.spans.is_empty(), "{q} on {name}: empty spanset");
                assert!(
                    ss.spans.windows(2).all(|w| w[0] < w[1]),
                    "{q} on {name}: {:?}",
                    ss.spans
                );
                assert_eq!(ss.selected.len(), ss.spans.len(), "{q} on {name}");
            }
        }
    }
}
