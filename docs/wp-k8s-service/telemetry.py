"""OpenTelemetry set-up for wp-k8s-service.

Builds the tracer, meter and logger providers from the standard
`OTEL_*` environment variables, with the resource, the histogram buckets
and the cumulative temporality that Cairn's dashboards and alerts expect
(docs/metrics-contract.md), creates the service's instruments (the
counters' series at 0 for every known label set; the active-clones gauge
read from the cluster's view through a callback), and configures the
`wp_k8s_service` logger to write one JSON object per line to stdout with
the contract's level names and the active trace and span ids (the format
Fluent Bit ships to Cairn).

Two ways to run it:

* Manual SDK set-up (the default): this module creates the providers.
  In Kubernetes the OpenTelemetry Operator can still supply the
  `OTEL_*` variables (pod annotation
  `instrumentation.opentelemetry.io/inject-sdk`).
* Operator auto-instrumentation (`inject-python`): the injected
  `sitecustomize` has already installed SDK providers before the app is
  imported; this module then only creates the instruments and the JSON
  logger on top of them (see the guide for what that mode cannot do).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, TextIO

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

SERVICE_NAME = "wp-k8s-service"
LOGGER_NAME = "wp_k8s_service"
SCOPE_NAME = "wp_k8s_service"

# Bucket boundaries from docs/metrics-contract.md. The dashboards'
# heatmap and the p95 alert read these `le` values, so they are set by
# Views (manual set-up) and as advisory boundaries on the instruments
# (which the SDK uses when no View applies, e.g. under auto-instrumentation).
PROVISIONING_BUCKETS = [10, 20, 30, 45, 60, 90, 120, 180, 240, 300, 420, 600]
PLUGIN_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120]
TTL_BUCKETS = [3600, 14400, 43200, 86400, 259200, 604800]
K8S_API_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
# The semantic-convention buckets of http.server.request.duration, extended
# because /clone and /restore answer only when the clone is ready.
HTTP_SERVER_BUCKETS = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
    30, 60, 120, 300, 600,
]

# The label values the contract lists. Every counter series made of them is
# created at zero when the service starts (initialise_counters), and the
# active-clones gauge reports every namespace, 0 included.
OPERATIONS = ("clone", "restore")
TARGET_NAMESPACES = ("wordpress-staging", "wordpress-production")
FAILURE_REASONS = ("rds_unavailable", "k8s_api_error", "timeout", "plugin_install_failed")
RDS_ERRORS = ("timeout", "refused", "auth", "too_many_connections")
CLEANUP_RESULTS = ("success", "failure")

# Python's level names -> the contract's `level` values.
LEVELS = (
    (logging.DEBUG, "debug"),
    (logging.INFO, "info"),
    (logging.WARNING, "warn"),
    (logging.ERROR, "error"),
)


def level_name(levelno: int) -> str:
    """`debug`, `info`, `warn`, `error` or `fatal`, the contract's set: a
    record gets the name of the first standard level at or above its own
    (WARNING -> warn, CRITICAL and anything above ERROR -> fatal)."""
    for bound, name in LEVELS:
        if levelno <= bound:
            return name
    return "fatal"


_CUMULATIVE = {
    kind: AggregationTemporality.CUMULATIVE
    for kind in (
        Counter,
        UpDownCounter,
        Histogram,
        ObservableCounter,
        ObservableUpDownCounter,
        ObservableGauge,
    )
}


@dataclass
class Instruments:
    """The service's own instruments (names, units: docs/metrics-contract.md)."""

    provisioning_duration: Any
    clones_active: Any
    clones_created: Any
    clones_failed: Any
    plugin_installation_duration: Any
    clone_ttl: Any
    clone_cleanups: Any
    rds_connection_errors: Any
    k8s_api_request_duration: Any


@dataclass
class Telemetry:
    tracer: trace.Tracer
    instruments: Instruments
    logger: logging.Logger
    json_handler: logging.StreamHandler
    tracer_provider: Any = None
    meter_provider: Any = None
    logger_provider: Any = None
    manual: bool = True
    _shutdowns: list[Callable[[], Any]] = field(default_factory=list)

    def force_flush(self, timeout_millis: int = 10_000) -> bool:
        """Exports everything buffered now; True when every provider succeeded."""
        ok = True
        for provider in (self.tracer_provider, self.meter_provider, self.logger_provider):
            if provider is not None and hasattr(provider, "force_flush"):
                ok = bool(provider.force_flush(timeout_millis)) and ok
        return ok

    def shutdown(self) -> None:
        for stop in self._shutdowns:
            stop()
        self._shutdowns.clear()


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: timestamp, level (`debug`, `info`, `warn`,
    `error` or `fatal`: see level_name), message, trace_id, span_id (when a
    span is active) and the clone fields passed with `extra=` (clone_id,
    target_namespace)."""

    EXTRA_FIELDS = ("clone_id", "target_namespace")

    def format(self, record: logging.LogRecord) -> str:
        when = _dt.datetime.fromtimestamp(record.created, tz=_dt.timezone.utc)
        line: dict[str, Any] = {
            "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{when.microsecond // 1000:03d}Z",
            "level": level_name(record.levelno),
            "message": record.getMessage(),
        }
        if record.exc_info:
            line["message"] += "\n" + self.formatException(record.exc_info)
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            line["trace_id"] = format(ctx.trace_id, "032x")
            line["span_id"] = format(ctx.span_id, "016x")
        for key in self.EXTRA_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        return json.dumps(line, separators=(",", ":"))


def build_resource() -> Resource:
    """The resource: `service.name=wp-k8s-service`, `k8s.namespace.name`,
    `deployment.environment` and `service.instance.id` (the pod name), each
    overridable through OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES.

    `service.namespace` is removed: Cairn (like Prometheus) would make the
    `job` label `<service.namespace>/wp-k8s-service`, and every dashboard
    and alert selects `job="wp-k8s-service"`."""
    attrs: dict[str, Any] = {
        "service.name": SERVICE_NAME,
        "k8s.namespace.name": os.environ.get("POD_NAMESPACE", "wp-system"),
        "deployment.environment": os.environ.get("DEPLOYMENT_ENVIRONMENT", "development"),
    }
    pod = os.environ.get("POD_NAME") or os.environ.get("HOSTNAME")
    if pod:
        attrs["service.instance.id"] = pod
        attrs["k8s.pod.name"] = pod
    attrs.update(OTELResourceDetector().detect().attributes)
    if os.environ.get("OTEL_SERVICE_NAME"):
        attrs["service.name"] = os.environ["OTEL_SERVICE_NAME"]
    if attrs.pop("service.namespace", None) is not None:
        logging.getLogger(LOGGER_NAME).warning(
            "service.namespace removed from the resource: the dashboards need job=%s",
            attrs["service.name"],
        )
    return Resource.create(attrs)


def _protocol(signal: str) -> str:
    return (
        os.environ.get(f"OTEL_EXPORTER_OTLP_{signal}_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).strip()


def _exporter_enabled(signal: str, default: str, name: str = "otlp") -> bool:
    """Whether OTEL_<signal>_EXPORTER (a comma-separated list) names `name`."""
    names = os.environ.get(f"OTEL_{signal}_EXPORTER", default)
    return name in [n.strip() for n in names.split(",")]


def _span_exporter():
    if _protocol("TRACES") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    return OTLPSpanExporter()


def _metric_exporter():
    # Cumulative temporality whatever OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE
    # says: Cairn refuses delta sums and histograms.
    if _protocol("METRICS") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    return OTLPMetricExporter(preferred_temporality=_CUMULATIVE)


def _log_exporter():
    if _protocol("LOGS") == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    return OTLPLogExporter()


def _views() -> list[View]:
    def buckets(name: str, bounds: list[float]) -> View:
        return View(
            instrument_name=name,
            aggregation=ExplicitBucketHistogramAggregation(boundaries=bounds),
        )

    return [
        buckets("http.server.request.duration", HTTP_SERVER_BUCKETS),
        buckets("wp.clone.provisioning.duration", PROVISIONING_BUCKETS),
        buckets("wp.plugin.installation.duration", PLUGIN_BUCKETS),
        buckets("wp.clone.ttl", TTL_BUCKETS),
        buckets("wp.k8s.api.request.duration", K8S_API_BUCKETS),
    ]


ClonesByNamespace = Callable[[], Mapping[str, int]]


def _active_clones_callback(count_clones: ClonesByNamespace):
    """The wp.clones.active callback: one observation per target namespace,
    the number of clone objects that exist in the cluster (0 included)."""

    def observe(_options: CallbackOptions) -> Iterable[Observation]:
        counts = dict(count_clones())
        for ns in TARGET_NAMESPACES:
            counts.setdefault(ns, 0)
        return [Observation(n, {"target_namespace": ns}) for ns, n in sorted(counts.items())]

    return observe


def create_instruments(meter: metrics.Meter, count_clones: ClonesByNamespace) -> Instruments:
    """The instruments of the contract. `count_clones` returns the number of
    clones that exist now, by target namespace, as the cluster sees them; the
    SDK calls it at every collection (each export or scrape)."""
    return Instruments(
        provisioning_duration=meter.create_histogram(
            "wp.clone.provisioning.duration",
            unit="s",
            description="Time from the API request to the clone's ingress being ready (successful clones and restores)",
            explicit_bucket_boundaries_advisory=PROVISIONING_BUCKETS,
        ),
        clones_active=meter.create_observable_gauge(
            "wp.clones.active",
            callbacks=[_active_clones_callback(count_clones)],
            unit="{clone}",
            description="Clones that exist in the cluster now, by target namespace (every replica reports the same count)",
        ),
        clones_created=meter.create_counter(
            "wp.clones.created",
            unit="{clone}",
            description="Successful clones and restores",
        ),
        clones_failed=meter.create_counter(
            "wp.clones.failed",
            unit="{clone}",
            description="Failed clones and restores, by reason",
        ),
        plugin_installation_duration=meter.create_histogram(
            "wp.plugin.installation.duration",
            unit="s",
            description="Time to install one WordPress plugin into a clone",
            explicit_bucket_boundaries_advisory=PLUGIN_BUCKETS,
        ),
        clone_ttl=meter.create_histogram(
            "wp.clone.ttl",
            unit="s",
            description="TTL given to each new clone",
            explicit_bucket_boundaries_advisory=TTL_BUCKETS,
        ),
        clone_cleanups=meter.create_counter(
            "wp.clone.cleanups",
            unit="{cleanup}",
            description="Expired clones deleted, by result",
        ),
        rds_connection_errors=meter.create_counter(
            "wp.rds.connection.errors",
            unit="{error}",
            description="Failed connections to the RDS database",
        ),
        k8s_api_request_duration=meter.create_histogram(
            "wp.k8s.api.request.duration",
            unit="s",
            description="Kubernetes API calls made by the service",
            explicit_bucket_boundaries_advisory=K8S_API_BUCKETS,
        ),
    )


def initialise_counters(instruments: Instruments, db_instance: str) -> None:
    """Creates every counter series of the contract's label values at 0.

    The SDK creates a series at its first `add`. A series that appears
    with the value 1 has no earlier sample to compare with, so PromQL's
    `increase()` and `rate()` miss that first failure. Adding 0 for each
    known label combination at start-up makes the series exist, at 0, from
    the first export or scrape."""
    for op in OPERATIONS:
        for ns in TARGET_NAMESPACES:
            instruments.clones_created.add(0, {"operation": op, "target_namespace": ns})
            for reason in FAILURE_REASONS:
                instruments.clones_failed.add(
                    0, {"operation": op, "target_namespace": ns, "reason": reason}
                )
    for error in RDS_ERRORS:
        instruments.rds_connection_errors.add(0, {"db_instance": db_instance, "error": error})
    for ns in TARGET_NAMESPACES:
        for result in CLEANUP_RESULTS:
            instruments.clone_cleanups.add(0, {"target_namespace": ns, "result": result})


def _json_logger(stream: TextIO) -> tuple[logging.Logger, logging.StreamHandler]:
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(os.environ.get("WP_LOG_LEVEL", "INFO").upper())
    logger.propagate = False
    for old in [h for h in logger.handlers if isinstance(h.formatter, JsonLineFormatter)]:
        logger.removeHandler(old)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLineFormatter())
    logger.addHandler(handler)
    return logger, handler


def setup_telemetry(
    count_clones: ClonesByNamespace, db_instance: str, stream: TextIO | None = None
) -> Telemetry:
    """Creates (or reuses) the providers, the instruments and the JSON logger,
    and creates the counters' series at 0 (initialise_counters).

    `count_clones` feeds the wp.clones.active gauge (the clones that exist in
    the cluster, by target namespace); `db_instance` is the RDS instance's
    name, the `db_instance` label of wp.rds.connection.errors.

    Environment (all standard OpenTelemetry variables):
    OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL (`grpc` or
    `http/protobuf`, the default), OTEL_EXPORTER_OTLP_HEADERS,
    OTEL_TRACES_SAMPLER(_ARG), OTEL_METRIC_EXPORT_INTERVAL,
    OTEL_TRACES_EXPORTER (`otlp` by default, `none` to turn off),
    OTEL_METRICS_EXPORTER (`otlp` by default; `prometheus` serves /metrics
    on OTEL_EXPORTER_PROMETHEUS_HOST:OTEL_EXPORTER_PROMETHEUS_PORT, default
    localhost:9464, for Prometheus to scrape; both may be listed),
    OTEL_LOGS_EXPORTER (`none` by default here, because Fluent
    Bit ships stdout; `otlp` sends the log records over OTLP too).
    """
    # The FastAPI instrumentation reads this once, when it first runs.
    os.environ.setdefault("OTEL_SEMCONV_STABILITY_OPT_IN", "http")
    stream = stream if stream is not None else sys.stdout
    logger, json_handler = _json_logger(stream)

    if isinstance(trace.get_tracer_provider(), SdkTracerProvider):
        # Auto-instrumentation (the Operator's inject-python) got here first.
        # Its OTLP log handler (OTEL_PYTHON_LOGGING_AUTO_INSTRUMENTATION_ENABLED)
        # sits on the root logger, so the records go up to it as well.
        logger.propagate = True
        instruments = create_instruments(metrics.get_meter(SCOPE_NAME), count_clones)
        initialise_counters(instruments, db_instance)
        return Telemetry(
            tracer=trace.get_tracer(SCOPE_NAME),
            instruments=instruments,
            logger=logger,
            json_handler=json_handler,
            tracer_provider=trace.get_tracer_provider(),
            meter_provider=metrics.get_meter_provider(),
            manual=False,
        )

    resource = build_resource()
    shutdowns: list[Callable[[], Any]] = []

    # Sampler: TracerProvider reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG.
    tracer_provider = SdkTracerProvider(resource=resource)
    if _exporter_enabled("TRACES", "otlp"):
        tracer_provider.add_span_processor(BatchSpanProcessor(_span_exporter()))
    trace.set_tracer_provider(tracer_provider)
    shutdowns.append(tracer_provider.shutdown)

    readers = []
    if _exporter_enabled("METRICS", "otlp"):
        # Push. Interval: OTEL_METRIC_EXPORT_INTERVAL (ms, default 60000).
        readers.append(PeriodicExportingMetricReader(_metric_exporter()))
    if _exporter_enabled("METRICS", "otlp", "prometheus"):
        # Pull: a /metrics endpoint for Prometheus to scrape (in the cluster,
        # job wp-k8s-service in deploy/collectors/kube-prometheus-stack-values.yaml).
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from prometheus_client import start_http_server

        start_http_server(
            port=int(os.environ.get("OTEL_EXPORTER_PROMETHEUS_PORT", "9464")),
            addr=os.environ.get("OTEL_EXPORTER_PROMETHEUS_HOST", "localhost"),
        )
        readers.append(PrometheusMetricReader())
    meter_provider = MeterProvider(resource=resource, metric_readers=readers, views=_views())
    metrics.set_meter_provider(meter_provider)
    shutdowns.append(meter_provider.shutdown)

    logger_provider = None
    if _exporter_enabled("LOGS", "none"):
        from opentelemetry._logs import set_logger_provider
        from opentelemetry.instrumentation.logging.handler import LoggingHandler
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

        logger_provider = LoggerProvider(resource=resource)
        logger_provider.add_log_record_processor(BatchLogRecordProcessor(_log_exporter()))
        set_logger_provider(logger_provider)
        otlp_handler = LoggingHandler(logger_provider=logger_provider)
        logger.addHandler(otlp_handler)
        shutdowns.append(logger_provider.shutdown)

    instruments = create_instruments(meter_provider.get_meter(SCOPE_NAME), count_clones)
    initialise_counters(instruments, db_instance)
    return Telemetry(
        tracer=tracer_provider.get_tracer(SCOPE_NAME),
        instruments=instruments,
        logger=logger,
        json_handler=json_handler,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        manual=True,
        _shutdowns=shutdowns,
    )
