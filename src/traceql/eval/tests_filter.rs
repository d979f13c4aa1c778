//! Engine tests for spanset filters: every intrinsic, attribute scopes,
//! typed comparisons, regexes, arithmetic, boolean operators and `nil`,
//! with the exact matching traces and spans (fixtures in
//! `tests_fixture`).

use super::tests_fixture::{eval_on, matching, one, strs, trace_ok, traces};
use super::{compile, evaluate};
use crate::traceql::data::TraceData;
use crate::traceql::parse;

#[test]
fn empty_filter_and_true_match_every_span() {
    assert_eq!(matching("{}"), vec!["ok", "err", "health"]);
    assert_eq!(matching("{ true }"), vec!["ok", "err", "health"]);
    assert_eq!(
        one("{}", "health"),
        strs(&["GET /healthz", "db.ping", "queue.publish", "queue.consume"])
    );
    assert_eq!(
        one("{ true }", "ok"),
        strs(&[
            "POST /clone",
            "k8s.create_pod",
            "pod.wait_ready",
            "ingress.wait_ready",
            "POST /api/v1/pods"
        ])
    );
}

#[test]
fn false_matches_nothing() {
    assert!(matching("{ false }").is_empty());
}

#[test]
fn name() {
    assert_eq!(
        matching(r#"{ name = "k8s.create_pod" }"#),
        vec!["ok", "err"]
    );
    assert_eq!(
        one(r#"{ name = "k8s.create_pod" }"#, "err"),
        strs(&["k8s.create_pod"])
    );
    assert_eq!(
        one(r#"{ name != "db.ping" }"#, "health"),
        strs(&["GET /healthz", "queue.publish", "queue.consume"])
    );
}

#[test]
fn status_error() {
    assert_eq!(matching("{ status = error }"), vec!["err"]);
    assert_eq!(
        one("{ status = error }", "err"),
        strs(&["POST /clone", "k8s.create_pod", "pod.wait_ready"])
    );
}

#[test]
fn status_ok_and_unset() {
    assert_eq!(matching("{ status = ok }"), vec!["ok"]);
    assert_eq!(
        one("{ status = ok }", "ok"),
        strs(&["pod.wait_ready", "ingress.wait_ready"])
    );
    assert_eq!(one("{ status = unset }", "health").len(), 4);
    assert_eq!(
        one("{ status != unset }", "ok"),
        strs(&["pod.wait_ready", "ingress.wait_ready"])
    );
}

#[test]
fn status_message() {
    assert_eq!(
        one(r#"{ statusMessage = "timeout" }"#, "err"),
        strs(&["k8s.create_pod", "pod.wait_ready"])
    );
    assert_eq!(
        matching(r#"{ statusMessage = "pod never became ready" }"#),
        vec!["err"]
    );
}

#[test]
fn kinds() {
    assert_eq!(
        one("{ kind = server }", "ok"),
        strs(&["POST /clone", "POST /api/v1/pods"])
    );
    assert_eq!(one("{ kind = client }", "health"), strs(&["db.ping"]));
    assert_eq!(matching("{ kind = producer }"), vec!["health"]);
    assert_eq!(
        one("{ kind = consumer }", "health"),
        strs(&["queue.consume"])
    );
    assert_eq!(
        one("{ kind = internal }", "ok"),
        strs(&["pod.wait_ready", "ingress.wait_ready"])
    );
    assert!(matching("{ kind = unspecified }").is_empty());
}

#[test]
fn span_duration() {
    assert_eq!(matching("{ duration > 1s }"), vec!["err"]);
    assert_eq!(
        one("{ duration > 1s }", "err"),
        strs(&["POST /clone", "k8s.create_pod", "pod.wait_ready"])
    );
    assert_eq!(one("{ duration >= 1s }", "ok"), strs(&["POST /clone"]));
    assert_eq!(
        one("{ duration < 1ms }", "health"),
        strs(&["queue.publish", "queue.consume"])
    );
    assert_eq!(
        one("{ duration <= 1ms }", "health"),
        strs(&["db.ping", "queue.publish", "queue.consume"])
    );
    assert_eq!(
        one("{ span:duration = 50us }", "health"),
        strs(&["queue.consume"])
    );
}

#[test]
fn root_name_and_root_service() {
    assert_eq!(matching(r#"{ rootName = "GET /healthz" }"#), vec!["health"]);
    assert_eq!(one(r#"{ rootName = "GET /healthz" }"#, "health").len(), 4);
    assert_eq!(
        matching(r#"{ rootServiceName = "wp-k8s-service" }"#),
        vec!["ok", "err", "health"]
    );
    assert!(matching(r#"{ rootServiceName = "kube-apiserver" }"#).is_empty());
}

#[test]
fn trace_duration() {
    assert_eq!(matching("{ traceDuration > 2s }"), vec!["err"]);
    assert_eq!(matching("{ traceDuration = 1s }"), vec!["ok"]);
    assert_eq!(matching("{ traceDuration < 3ms }"), vec!["health"]);
}

#[test]
fn span_and_trace_ids() {
    assert_eq!(
        one(r#"{ span:id = "0000000000000302" }"#, "health"),
        strs(&["db.ping"])
    );
    assert_eq!(
        matching(r#"{ trace:id = "ab000000000000000000000000000002" }"#),
        vec!["err"]
    );
    assert_eq!(
        one(r#"{ span:parentID = "0000000000000102" }"#, "ok"),
        strs(&["pod.wait_ready", "POST /api/v1/pods"])
    );
}

#[test]
fn child_count() {
    assert_eq!(matching("{ childCount = 2 }"), vec!["ok", "health"]);
    assert_eq!(one("{ childCount = 2 }", "ok"), strs(&["k8s.create_pod"]));
    assert_eq!(one("{ childCount = 3 }", "err"), strs(&["k8s.create_pod"]));
    assert_eq!(
        one("{ childCount = 0 }", "health"),
        strs(&["db.ping", "queue.consume"])
    );
}

#[test]
fn nested_set_intrinsics() {
    assert_eq!(one("{ nestedSetLeft = 1 }", "ok"), strs(&["POST /clone"]));
    assert_eq!(one("{ nestedSetRight = 10 }", "ok"), strs(&["POST /clone"]));
    assert_eq!(
        one("{ nestedSetParent = 2 }", "ok"),
        strs(&["pod.wait_ready", "POST /api/v1/pods"])
    );
    assert_eq!(
        one("{ nestedSetParent < 0 }", "health"),
        strs(&["GET /healthz"])
    );
}

#[test]
fn event_name_and_attributes() {
    assert_eq!(matching(r#"{ event:name = "exception" }"#), vec!["err"]);
    assert_eq!(
        one(r#"{ event:name = "exception" }"#, "err"),
        strs(&["pod.wait_ready"])
    );
    assert_eq!(
        matching(r#"{ event.exception.message =~ "deadline.*" }"#),
        vec!["err"]
    );
    assert_eq!(
        one("{ event.bytes = 512 }", "ok"),
        strs(&["k8s.create_pod"])
    );
}

#[test]
fn event_time_since_start() {
    assert_eq!(
        one("{ event:timeSinceStart > 3s }", "err"),
        strs(&["pod.wait_ready"])
    );
    assert_eq!(matching("{ event:timeSinceStart < 20ms }"), vec!["ok"]);
}

#[test]
fn event_conditions_hold_for_one_event() {
    // Both conditions on the same event: the exception event has no bytes.
    assert!(matching(r#"{ event:name = "exception" && event.bytes = 512 }"#).is_empty());
    assert_eq!(
        matching(r#"{ event:name = "request.sent" && event.bytes = 512 }"#),
        vec!["ok"]
    );
}

#[test]
fn event_condition_or_span_condition_on_span_without_events() {
    assert_eq!(
        one(
            r#"{ event:name = "exception" || name = "POST /clone" }"#,
            "err"
        ),
        strs(&["POST /clone", "pod.wait_ready"])
    );
}

#[test]
fn links() {
    assert_eq!(
        one(
            r#"{ link:traceID = "ab000000000000000000000000000001" }"#,
            "err"
        ),
        strs(&["pod.wait_ready"])
    );
    assert_eq!(
        matching(r#"{ link:spanID = "0000000000000103" }"#),
        vec!["err"]
    );
    assert_eq!(
        matching(r#"{ link.link.reason = "retry-of" }"#),
        vec!["err"]
    );
    assert!(matching(r#"{ link:spanID = "0000000000000104" }"#).is_empty());
}

#[test]
fn instrumentation_scope() {
    assert_eq!(
        one(r#"{ instrumentation:name = "worker.tracer" }"#, "health"),
        strs(&["queue.consume"])
    );
    assert_eq!(
        matching(r#"{ instrumentation:version = "1.2.0" }"#),
        vec!["ok", "err", "health"]
    );
    assert_eq!(
        one(r#"{ instrumentation.lib.lang = "python" }"#, "health").len(),
        4
    );
}

#[test]
fn span_attribute_int() {
    assert_eq!(
        one("{ span.http.status_code = 201 }", "ok"),
        strs(&["POST /clone", "POST /api/v1/pods"])
    );
    assert_eq!(
        one("{ span.http.status_code = 201 }", "err"),
        strs(&["POST /api/v1/pods"])
    );
    assert_eq!(matching("{ span.http.status_code >= 500 }"), vec!["err"]);
}

#[test]
fn resource_attributes() {
    assert_eq!(
        matching(r#"{ resource.service.name = "kube-apiserver" }"#),
        vec!["ok", "err"]
    );
    assert_eq!(
        one(r#"{ resource.service.name = "kube-apiserver" }"#, "err"),
        strs(&["POST /api/v1/pods", "GET /api/v1/pods/wp-def"])
    );
    assert_eq!(one("{ resource.replicas = 2 }", "health").len(), 3);
}

#[test]
fn unscoped_attribute_reads_span_then_resource() {
    assert_eq!(
        one(r#"{ .http.method = "GET" }"#, "err"),
        strs(&["GET /api/v1/pods/wp-def"])
    );
    assert_eq!(
        one(r#"{ .k8s.namespace.name = "wp" }"#, "ok"),
        strs(&[
            "POST /clone",
            "k8s.create_pod",
            "pod.wait_ready",
            "ingress.wait_ready"
        ])
    );
    assert!(matching(r#"{ span.k8s.namespace.name = "wp" }"#).is_empty());
}

#[test]
fn float_attribute_and_mixed_numeric_comparison() {
    assert_eq!(
        one("{ span.retry.ratio > 1 }", "err"),
        strs(&["POST /clone"])
    );
    assert_eq!(matching("{ span.retry.ratio = 0.5 }"), vec!["ok"]);
    assert_eq!(
        one("{ span.http.status_code > 200.5 }", "ok"),
        strs(&["POST /clone", "POST /api/v1/pods"])
    );
    assert_eq!(
        matching("{ span.http.status_code > 200.5 }"),
        vec!["ok", "err"]
    );
}

#[test]
fn bool_attribute() {
    assert_eq!(matching("{ span.cached = true }"), vec!["err"]);
    assert_eq!(one("{ span.cached = false }", "ok"), strs(&["POST /clone"]));
    assert_eq!(one("{ span.cached != true }", "ok"), strs(&["POST /clone"]));
}

#[test]
fn nil_tests_existence() {
    assert_eq!(
        one("{ span.db.system != nil }", "health"),
        strs(&["db.ping"])
    );
    assert_eq!(matching("{ span.db.system != nil }"), vec!["health"]);
    assert_eq!(
        one("{ span.http.method = nil }", "health"),
        strs(&["queue.publish", "queue.consume"])
    );
}

#[test]
fn missing_attribute_is_false_even_for_not_equal() {
    assert_eq!(
        one("{ span.attempt != 1 }", "err"),
        strs(&["k8s.create_pod"])
    );
    assert!(matching("{ span.attempt != 1 }").contains(&"err"));
    assert!(!matching("{ span.attempt != 1 }").contains(&"health"));
}

#[test]
fn type_mismatch_is_false() {
    assert!(matching(r#"{ span.http.status_code = "201" }"#).is_empty());
    assert!(matching("{ span.http.method > 5 }").is_empty());
    assert!(matching(r#"{ span.http.status_code != "201" }"#).is_empty());
}

#[test]
fn regex_is_anchored() {
    assert_eq!(
        one(r#"{ name =~ "POST.*" }"#, "ok"),
        strs(&["POST /clone", "POST /api/v1/pods"])
    );
    assert!(matching(r#"{ name =~ "pods" }"#).is_empty());
    assert_eq!(
        one(r#"{ name =~ ".*pods.*" }"#, "ok"),
        strs(&["POST /api/v1/pods"])
    );
}

#[test]
fn negated_regex() {
    assert_eq!(
        one(r#"{ name !~ ".*wait.*" }"#, "ok"),
        strs(&["POST /clone", "k8s.create_pod", "POST /api/v1/pods"])
    );
    // A missing attribute matches neither form.
    assert_eq!(
        one(r#"{ span.db.system !~ "mysql" }"#, "health"),
        strs(&["db.ping"])
    );
}

#[test]
fn regex_on_intrinsic_status_message_alternation() {
    assert_eq!(
        one(r#"{ statusMessage =~ "timeout|pod never.*" }"#, "err"),
        strs(&["POST /clone", "k8s.create_pod", "pod.wait_ready"])
    );
}

#[test]
fn invalid_regex_is_an_eval_error() {
    let q = parse(r#"{ name =~ "(" }"#).unwrap();
    let err = compile(&q).unwrap_err();
    assert!(err.0.starts_with("invalid regex \"(\""), "{}", err.0);
    let t = trace_ok();
    let trace = TraceData::new(&t);
    assert_eq!(evaluate(&q, &trace), Err(err));
}

#[test]
fn arithmetic_add_sub() {
    assert_eq!(
        one("{ span.http.status_code - 1 = 200 }", "ok"),
        strs(&["POST /clone", "POST /api/v1/pods"])
    );
    assert_eq!(
        one("{ span.attempt + 2 = 5 }", "err"),
        strs(&["k8s.create_pod"])
    );
}

#[test]
fn arithmetic_mul_div_mod_pow() {
    assert_eq!(matching("{ span.attempt * 2 = 6 }"), vec!["err"]);
    assert_eq!(
        one("{ span.http.status_code / 100 = 5 }", "err"),
        strs(&["POST /clone"])
    );
    assert_eq!(
        one("{ span.http.status_code % 100 = 1 }", "ok"),
        strs(&["POST /clone", "POST /api/v1/pods"])
    );
    assert_eq!(matching("{ span.attempt ^ 2 = 9 }"), vec!["err"]);
}

#[test]
fn unary_minus_and_duration_arithmetic() {
    assert_eq!(matching("{ -span.attempt = -3 }"), vec!["err"]);
    assert_eq!(
        one("{ duration * 2 > 8s }", "err"),
        strs(&["POST /clone", "k8s.create_pod", "pod.wait_ready"])
    );
}

#[test]
fn and_or_inside_filter() {
    assert_eq!(
        one("{ kind = server && status = error }", "err"),
        strs(&["POST /clone"])
    );
    assert_eq!(
        one(
            r#"{ name = "db.ping" || name = "queue.consume" }"#,
            "health"
        ),
        strs(&["db.ping", "queue.consume"])
    );
}

#[test]
fn not_inside_filter() {
    assert_eq!(
        matching("{ !(status = error) && kind = client }"),
        vec!["ok", "health"]
    );
    assert_eq!(
        one("{ !(status = error) && kind = client }", "health"),
        strs(&["db.ping"])
    );
}

#[test]
fn parent_scoped_attribute() {
    assert_eq!(
        one(r#"{ parent.span.k8s.pod.name = "wp-abc" }"#, "ok"),
        strs(&["pod.wait_ready", "POST /api/v1/pods"])
    );
    assert_eq!(
        one(
            r#"{ parent.resource.service.name = "wp-k8s-service" && resource.service.name = "worker" }"#,
            "health"
        ),
        strs(&["queue.consume"])
    );
}

#[test]
fn compiled_query_is_reusable_across_traces() {
    let q = compile(&parse("{ status = error }").unwrap()).unwrap();
    let counts: Vec<usize> = traces()
        .iter()
        .map(|(_, t)| q.evaluate(&TraceData::new(t)).len())
        .collect();
    assert_eq!(counts, vec![0, 1, 0]);
    assert!(q.matches(&TraceData::new(&traces()[1].1)));
}

#[test]
fn empty_trace_yields_nothing() {
    assert!(eval_on("{}", &[]).is_empty());
}

#[test]
fn array_attribute_matches_any_element() {
    assert_eq!(
        one(r#"{ span.db.hosts = "pg-2" }"#, "health"),
        strs(&["db.ping"])
    );
    assert!(matching(r#"{ span.db.hosts = "pg-3" }"#).is_empty());
    assert_eq!(matching(r#"{ span.db.hosts =~ "pg-.*" }"#), vec!["health"]);
    assert!(matching(r#"{ span.db.hosts != "pg-1" }"#).is_empty());
    assert_eq!(
        one(r#"{ span.db.hosts != "pg-3" }"#, "health"),
        strs(&["db.ping"])
    );
    assert_eq!(
        one("{ span.db.hosts != nil }", "health"),
        strs(&["db.ping"])
    );
}
