//! Engine tests for operators between spansets: `&&`, `||`, the structural
//! operators with their negated and union forms, and the trace view's
//! tree (children, nested-set numbers) they rely on.

use super::tests_fixture::{matching, names, one, strs, trace_ok};
use crate::traceql::data::TraceData;

#[test]
fn trace_view_children_and_nested_set() {
    let t = trace_ok();
    let trace = TraceData::new(&t);
    assert_eq!(
        trace.children,
        vec![vec![1], vec![2, 4], vec![3], vec![], vec![]]
    );
    assert_eq!(
        trace.nested,
        vec![(1, 10, -1), (2, 9, 1), (3, 6, 2), (4, 5, 3), (7, 8, 2)]
    );
    assert!(trace.is_ancestor(0, 3));
    assert!(!trace.is_ancestor(3, 0));
    assert!(!trace.is_ancestor(4, 3));
}

#[test]
fn spanset_and_unions_both_sides_when_both_match() {
    assert_eq!(
        names(r#"{ name = "db.ping" } && { kind = producer }"#),
        vec![("health", vec![strs(&["db.ping", "queue.publish"])])]
    );
    assert!(matching(r#"{ status = error } && { name = "ingress.wait_ready" }"#).is_empty());
}

#[test]
fn spanset_or_keeps_either_side() {
    assert_eq!(
        names(r#"{ name = "ingress.wait_ready" } || { name = "GET /healthz" }"#),
        vec![
            ("ok", vec![strs(&["ingress.wait_ready"])]),
            ("health", vec![strs(&["GET /healthz"])]),
        ]
    );
}

#[test]
fn child() {
    assert_eq!(
        names(r#"{ name = "k8s.create_pod" } > { }"#),
        vec![
            ("ok", vec![strs(&["pod.wait_ready", "POST /api/v1/pods"])]),
            (
                "err",
                vec![strs(&[
                    "pod.wait_ready",
                    "POST /api/v1/pods",
                    "GET /api/v1/pods/wp-def"
                ])]
            ),
        ]
    );
}

#[test]
fn child_across_services() {
    assert_eq!(
        one(
            r#"{ resource.service.name = "wp-k8s-service" } > { resource.service.name = "kube-apiserver" }"#,
            "err"
        ),
        strs(&["POST /api/v1/pods", "GET /api/v1/pods/wp-def"])
    );
    assert_eq!(
        matching(r#"{ kind = producer } > { kind = consumer }"#),
        vec!["health"]
    );
}

#[test]
fn descendant() {
    assert_eq!(
        names(r#"{ name = "POST /clone" } >> { kind = internal }"#),
        vec![
            ("ok", vec![strs(&["pod.wait_ready", "ingress.wait_ready"])]),
            ("err", vec![strs(&["pod.wait_ready"])]),
        ]
    );
}

#[test]
fn chained_children_follow_the_whole_path() {
    let q = r#"{ name = "POST /clone" } > { name = "k8s.create_pod" } > { name = "pod.wait_ready" } > { name = "ingress.wait_ready" }"#;
    assert_eq!(names(q), vec![("ok", vec![strs(&["ingress.wait_ready"])])]);
}

#[test]
fn parent() {
    assert_eq!(
        names(r#"{ name = "ingress.wait_ready" } < { }"#),
        vec![("ok", vec![strs(&["pod.wait_ready"])])]
    );
}

#[test]
fn ancestor() {
    assert_eq!(
        one(r#"{ name = "ingress.wait_ready" } << { }"#, "ok"),
        strs(&["POST /clone", "k8s.create_pod", "pod.wait_ready"])
    );
    assert_eq!(
        matching(r#"{ name = "queue.consume" } << { kind = server }"#),
        vec!["health"]
    );
}

#[test]
fn sibling() {
    assert_eq!(
        names(r#"{ name = "pod.wait_ready" } ~ { }"#),
        vec![
            ("ok", vec![strs(&["POST /api/v1/pods"])]),
            (
                "err",
                vec![strs(&["POST /api/v1/pods", "GET /api/v1/pods/wp-def"])]
            ),
        ]
    );
}

#[test]
fn sibling_is_never_the_span_itself() {
    assert_eq!(
        names("{ kind = server } ~ { kind = server }"),
        vec![(
            "err",
            vec![strs(&["POST /api/v1/pods", "GET /api/v1/pods/wp-def"])]
        )]
    );
}

#[test]
fn not_child() {
    assert_eq!(
        names(r#"{ name = "k8s.create_pod" } !> { kind = internal }"#),
        vec![("ok", vec![strs(&["ingress.wait_ready"])])]
    );
}

#[test]
fn not_parent() {
    assert_eq!(
        one(
            r#"{ resource.service.name = "kube-apiserver" } !< { }"#,
            "ok"
        ),
        strs(&[
            "POST /clone",
            "pod.wait_ready",
            "ingress.wait_ready",
            "POST /api/v1/pods"
        ])
    );
    assert_eq!(
        matching(r#"{ resource.service.name = "kube-apiserver" } !< { }"#),
        vec!["ok", "err"]
    );
}

#[test]
fn not_descendant() {
    assert_eq!(
        one(r#"{ name = "POST /clone" } !>> { }"#, "ok"),
        strs(&["POST /clone"])
    );
    // Nothing on the left: nothing at all, as in Tempo.
    assert_eq!(
        matching(r#"{ name = "POST /clone" } !>> { }"#),
        vec!["ok", "err"]
    );
}

#[test]
fn not_ancestor() {
    assert_eq!(
        one("{ status = error } !<< { }", "err"),
        strs(&[
            "pod.wait_ready",
            "POST /api/v1/pods",
            "GET /api/v1/pods/wp-def"
        ])
    );
    assert_eq!(matching("{ status = error } !<< { }"), vec!["err"]);
}

#[test]
fn not_sibling() {
    assert_eq!(
        one(r#"{ name = "db.ping" } !~ { }"#, "health"),
        strs(&["GET /healthz", "db.ping", "queue.consume"])
    );
}

#[test]
fn union_child() {
    assert_eq!(
        names(r#"{ name = "k8s.create_pod" } &> { kind = server }"#),
        vec![
            ("ok", vec![strs(&["k8s.create_pod", "POST /api/v1/pods"])]),
            (
                "err",
                vec![strs(&[
                    "k8s.create_pod",
                    "POST /api/v1/pods",
                    "GET /api/v1/pods/wp-def"
                ])]
            ),
        ]
    );
}

#[test]
fn union_descendant() {
    assert_eq!(
        one("{ kind = server } &>> { kind = internal }", "ok"),
        strs(&["POST /clone", "pod.wait_ready", "ingress.wait_ready"])
    );
}

#[test]
fn union_parent() {
    assert_eq!(
        names(r#"{ name = "pod.wait_ready" } &< { kind = client }"#),
        vec![
            ("ok", vec![strs(&["k8s.create_pod", "pod.wait_ready"])]),
            ("err", vec![strs(&["k8s.create_pod", "pod.wait_ready"])]),
        ]
    );
}

#[test]
fn union_ancestor() {
    assert_eq!(
        one(
            r#"{ name = "ingress.wait_ready" } &<< { kind = server }"#,
            "ok"
        ),
        strs(&["POST /clone", "ingress.wait_ready"])
    );
}

#[test]
fn union_sibling() {
    assert_eq!(
        names(r#"{ name = "db.ping" } &~ { }"#),
        vec![("health", vec![strs(&["db.ping", "queue.publish"])])]
    );
}

#[test]
fn structural_result_combined_with_and() {
    assert_eq!(
        names("({ kind = client } > { kind = server }) && { status = error }"),
        vec![(
            "err",
            vec![strs(&[
                "POST /clone",
                "k8s.create_pod",
                "pod.wait_ready",
                "POST /api/v1/pods",
                "GET /api/v1/pods/wp-def"
            ])]
        )]
    );
}

#[test]
fn structural_with_no_match_yields_nothing() {
    assert!(matching(r#"{ name = "queue.consume" } > { }"#).is_empty());
    assert!(matching(r#"{ kind = consumer } >> { kind = producer }"#).is_empty());
}

#[test]
fn parent_cycles_terminate() {
    use super::tests_fixture::{batch, eval_on, span};
    use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
    // Spans 1 and 2 name each other as parent; 3 hangs below 2.
    let t = vec![batch(
        "loop",
        vec![],
        vec![
            span(9, 1, 2, "a", SpanKind::Internal, (0, 10)),
            span(9, 2, 1, "b", SpanKind::Internal, (0, 10)),
            span(9, 3, 2, "c", SpanKind::Internal, (0, 10)),
        ],
    )];
    let trace = TraceData::new(&t);
    assert_eq!(trace.nested, vec![(1, 6, -1), (2, 5, 1), (3, 4, 2)]);
    assert!(trace.is_ancestor(0, 2));
    assert_eq!(
        eval_on(r#"{ name = "a" } >> { }"#, &t)[0].spans,
        vec![0, 1, 2]
    );
    assert_eq!(eval_on(r#"{ name = "c" } << { }"#, &t)[0].spans, vec![0, 1]);
    assert_eq!(eval_on("{ } &>> { }", &t)[0].spans, vec![0, 1, 2]);
    assert_eq!(eval_on("{ } !<< { }", &t)[0].spans, vec![2]);
}
