"""A stand-in for wp-k8s-service, instrumented with the OpenTelemetry SDK.

It runs one `/clone` workflow exported over OTLP/gRPC and one over
OTLP/HTTP: a root `POST /clone` server span with children for the
Kubernetes API call, the pod creation and the ingress readiness (the
HTTP one fails at the ingress), logs through the OTLP log exporter (with
the active trace context), and a provisioning-duration histogram and a
clones counter through the OTLP metric exporter. It prints the trace ids
as JSON so the test can look them up in Cairn.

Usage: wp_k8s_service.py --grpc HOST:PORT --http http://HOST:PORT --tenant T --run R
"""

import argparse
import json
import logging
import time

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode


def resource(namespace):
    return Resource.create(
        {
            "service.name": "wp-k8s-service",
            "service.namespace": "wp-platform",
            "service.instance.id": "wp-k8s-service-7d9f-abcde",
            "k8s.namespace.name": namespace,
            "k8s.pod.name": "wp-k8s-service-7d9f-abcde",
            "deployment.environment": "staging",
        }
    )


def clone_workflow(tracer, log, clone_id, fail_ingress):
    """One /clone request; returns its trace id (hex) and duration (s)."""
    started = time.time()
    with tracer.start_as_current_span(
        "POST /clone",
        kind=SpanKind.SERVER,
        attributes={
            "http.request.method": "POST",
            "http.route": "/clone",
            "clone.id": clone_id,
            "wordpress.namespace": "wordpress-staging",
        },
    ) as root:
        log.info("clone %s requested", clone_id)
        with tracer.start_as_current_span(
            "k8s.api create_pod",
            kind=SpanKind.CLIENT,
            attributes={"k8s.api.verb": "create", "k8s.api.resource": "pods"},
        ):
            time.sleep(0.01)
        with tracer.start_as_current_span(
            "pod.create", attributes={"k8s.pod.name": f"wp-{clone_id}"}
        ):
            time.sleep(0.02)
            log.info("pod wp-%s created", clone_id)
        with tracer.start_as_current_span("ingress.wait_ready") as ingress:
            time.sleep(0.01)
            if fail_ingress:
                ingress.set_status(Status(StatusCode.ERROR, "ingress not ready after 180s"))
                root.set_status(Status(StatusCode.ERROR, "clone failed"))
                root.set_attribute("http.response.status_code", 500)
                log.error("clone %s failed: ingress not ready", clone_id)
            else:
                root.set_attribute("http.response.status_code", 201)
                log.info("clone %s ready", clone_id)
        trace_id = format(root.get_span_context().trace_id, "032x")
    return trace_id, time.time() - started


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--grpc", required=True, help="OTLP/gRPC endpoint host:port")
    ap.add_argument("--http", required=True, help="OTLP/HTTP base URL")
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--run", required=True)
    args = ap.parse_args()
    grpc_headers = (("x-scope-orgid", args.tenant),)
    http_headers = {"X-Scope-OrgID": args.tenant}

    # Logs over OTLP/gRPC, through the standard logging module.
    logger_provider = LoggerProvider(resource=resource("wordpress-staging"))
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(
            OTLPLogExporter(endpoint=args.grpc, insecure=True, headers=grpc_headers)
        )
    )
    log = logging.getLogger("wp_k8s_service")
    log.setLevel(logging.INFO)
    log.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))

    # Metrics over OTLP/HTTP (cumulative temporality, the default).
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{args.http}/v1/metrics", headers=http_headers),
        export_interval_millis=60_000,
    )
    meter_provider = MeterProvider(resource=resource("wordpress-staging"), metric_readers=[reader])
    meter = meter_provider.get_meter("wp_k8s_service")
    provisioning = meter.create_histogram(
        "clone_provisioning_duration", unit="s", description="Time to provision a clone"
    )
    created = meter.create_counter("clones_created", description="Clones created")

    out = {}
    for transport, exporter in (
        ("grpc", GrpcSpanExporter(endpoint=args.grpc, insecure=True, headers=grpc_headers)),
        ("http", HttpSpanExporter(endpoint=f"{args.http}/v1/traces", headers=http_headers)),
    ):
        provider = TracerProvider(resource=resource("wordpress-staging"))
        provider.add_span_processor(BatchSpanProcessor(exporter))
        tracer = provider.get_tracer("wp_k8s_service")
        clone_id = f"{args.run}-{transport}"
        trace_id, seconds = clone_workflow(tracer, log, clone_id, fail_ingress=transport == "http")
        provisioning.record(seconds, {"namespace": "wordpress-staging", "transport": transport})
        created.add(1, {"namespace": "wordpress-staging"})
        if not provider.force_flush(10_000):
            raise SystemExit(f"span export over {transport} did not finish")
        provider.shutdown()
        out[transport] = trace_id

    if not logger_provider.force_flush(10_000):
        raise SystemExit("log export did not finish")
    logger_provider.shutdown()
    if not meter_provider.force_flush(10_000):
        raise SystemExit("metric export did not finish")
    meter_provider.shutdown()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
