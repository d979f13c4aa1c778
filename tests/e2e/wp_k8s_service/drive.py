"""Drives the wp-k8s-service example (docs/wp-k8s-service/app.py) against Cairn.

Started by tests/e2e_instrumentation.rs with the standard OTLP variables
pointing at a Cairn it started (OTEL_EXPORTER_OTLP_ENDPOINT,
OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_HEADERS with the tenant)
and CAIRN_URL / CAIRN_TENANT for the log push. It:

1. serves the example app with uvicorn on a free loopback port, exports
   the metrics once over OTLP and reads the SDK's Prometheus endpoint
   before any request (the start-up state: counters at 0), then sends it
   a fixed plan of requests over real HTTP (PLAN below; the Rust test
   asserts the same numbers);
2. lets two short-TTL clones expire and runs the cleanup twice, failing
   once and succeeding once;
3. reads the SDK's Prometheus endpoint (OTEL_METRICS_EXPORTER also
   includes `prometheus`), then flushes and shuts down the providers
   (traces, metrics and the OTLP log records go to Cairn);
4. ships the JSON lines the app wrote to stdout to Cairn's Loki push API
   the way Fluent Bit does in the cluster (Kubernetes metadata merged into
   the line, stream labels job/namespace/app/container);
5. prints one JSON object: the pod name, the trace id of each workflow
   request of the plan (by its key), the number of log lines shipped, the
   label names of each wp_* / http_server_request_duration_seconds*
   sample name on the Prometheus endpoint at the end (`scraped`), the
   wp_* counter and gauge samples on it before the first request
   (`startup`: name -> list of [labels, value]), and the `level` the JSON
   formatter writes for each Python level (`levels`).

Exits non-zero when a request answers an unexpected status.
"""

from __future__ import annotations

import asyncio
import calendar
import io
import json
import logging
import os
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

POD = "wp-k8s-service-7c9d8f6b5-e2e01"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "wp-k8s-service"

# Settings of the example, before it is imported (it reads them then).
# Set, not defaulted: the plan's numbers depend on them.
os.environ.update(
    {
        "POD_NAME": POD,
        "DEPLOYMENT_ENVIRONMENT": "e2e",
        "WP_DELAY_SCALE": "0.1",
        "WP_CLEANUP_INTERVAL_SECONDS": "3600",
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        # Metrics both pushed over OTLP and served for a Prometheus scrape,
        # to check that the two paths give the same names and labels.
        "OTEL_METRICS_EXPORTER": "otlp,prometheus",
        "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
        "OTEL_EXPORTER_PROMETHEUS_PORT": str(free_port()),
        "OTEL_METRIC_EXPORT_INTERVAL": "600000",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "OTEL_TRACES_SAMPLER": "parentbased_always_on",
    }
)
for name in ("OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "WP_INJECT_FAILURE", "WP_INJECT_CLEANUP_FAILURE"):
    os.environ.pop(name, None)
os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "http"

for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "CAIRN_URL", "CAIRN_TENANT"):
    if not os.environ.get(name):
        sys.exit(f"drive.py: {name} must be set")

sys.path.insert(0, str(EXAMPLE))
import uvicorn  # noqa: E402

import app as example  # noqa: E402  (docs/wp-k8s-service/app.py)
import telemetry  # noqa: E402  (docs/wp-k8s-service/telemetry.py)

STAGING = {"target_namespace": "wordpress-staging"}
PRODUCTION = {"target_namespace": "wordpress-production"}

# (key, method, path, body, expected status). Three plugins per workflow
# (the example's default).
PLAN = [
    ("success", "POST", "/clone", STAGING, 201),
    ("success_2", "POST", "/clone", {**STAGING, "ttl_seconds": 1}, 201),
    ("success_3", "POST", "/clone", {**STAGING, "ttl_seconds": 1}, 201),
    ("restore", "POST", "/restore", PRODUCTION, 201),
    ("restore_2", "POST", "/restore", PRODUCTION, 201),
    ("rds_unavailable", "POST", "/clone?fail=rds_unavailable", STAGING, 503),
    ("rds_unavailable_2", "POST", "/clone?fail=rds_unavailable", STAGING, 503),
    ("k8s_api_error", "POST", "/clone?fail=k8s_api_error", STAGING, 502),
    ("plugin_install_failed", "POST", "/clone?fail=plugin_install_failed", PRODUCTION, 500),
    ("timeout", "POST", "/restore?fail=timeout", PRODUCTION, 504),
    ("health", "GET", "/health", None, 200),
    ("health_2", "GET", "/health", None, 200),
]


def request(base: str, method: str, path: str, body: dict | None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        base + path, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


SCRAPED_SUFFIXES = ("_total", "_count", "_sum", "_bucket")


def scrape() -> list[tuple[str, dict[str, str], float]]:
    """The example's Prometheus endpoint: (sample name, labels, value) of
    each wp_* and http_server_request_duration_seconds* sample, without
    empty labels (Prometheus drops them when it scrapes), otel_scope_* and
    le."""
    host = os.environ["OTEL_EXPORTER_PROMETHEUS_HOST"]
    port = os.environ["OTEL_EXPORTER_PROMETHEUS_PORT"]
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition("{")
        name = name.split(" ")[0]
        if not name.startswith(("wp_", "http_server_request_duration_seconds")):
            continue
        if not (name.endswith(SCRAPED_SUFFIXES) or name == "wp_clones_active"):
            continue
        labels = {
            label: value
            for label, value in re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"', rest)
            if value and label != "le" and not label.startswith("otel_scope_")
        }
        samples.append((name, labels, float(line.rsplit(" ", 1)[1])))
    return samples


def label_names(samples: list[tuple[str, dict[str, str], float]]) -> dict[str, list[str]]:
    """For each sample name, the label names its samples carry."""
    found: dict[str, set[str]] = {}
    for name, labels, _ in samples:
        found.setdefault(name, set()).update(labels)
    return {name: sorted(labels) for name, labels in sorted(found.items())}


def formatted_levels() -> dict[str, str]:
    """The `level` JsonLineFormatter writes for each Python level."""
    formatter = telemetry.JsonLineFormatter()
    out = {}
    for name in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        record = logging.LogRecord("check", getattr(logging, name), __file__, 0, "x", None, None)
        out[name] = json.loads(formatter.format(record))["level"]
    return out


def ship_like_fluent_bit(lines: list[str]) -> int:
    """Pushes the app's stdout lines to Cairn as Fluent Bit's loki output
    would, with the Kubernetes metadata merged into each JSON line."""
    values = []
    for raw in lines:
        record = json.loads(raw)
        merged = {
            "timestamp": record.pop("timestamp"),
            "namespace": "wp-system",
            "pod": POD,
            "container": "wp-k8s-service",
            **record,
        }
        # "2026-11-27T10:15:02.123Z" -> nanoseconds
        secs = calendar.timegm(time.strptime(merged["timestamp"][:19], "%Y-%m-%dT%H:%M:%S"))
        ns = int(secs) * 1_000_000_000 + int(merged["timestamp"][20:23]) * 1_000_000
        values.append([str(ns), json.dumps(merged, separators=(",", ":"))])
    push = {
        "streams": [
            {
                "stream": {
                    "job": "fluent-bit",
                    "namespace": "wp-system",
                    "app": "wp-k8s-service",
                    "container": "wp-k8s-service",
                },
                "values": values,
            }
        ]
    }
    req = urllib.request.Request(
        os.environ["CAIRN_URL"].rstrip("/") + "/loki/api/v1/push",
        data=json.dumps(push).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "X-Scope-OrgID": os.environ["CAIRN_TENANT"]},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        if resp.status not in (200, 204):
            sys.exit(f"drive.py: Loki push answered {resp.status}")
    return len(values)


def main() -> None:
    stdout = io.StringIO()
    example.TELEMETRY.json_handler.setStream(stdout)

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(example.app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            sys.exit("drive.py: uvicorn did not start")
        time.sleep(0.05)

    # Start-up: one OTLP export and one scrape before any request. The
    # counters' series exist at 0 (initialise_counters), so the first
    # failure of each label set is an increase from 0 between two samples.
    if not example.TELEMETRY.meter_provider.force_flush(15_000):
        sys.exit("drive.py: the start-up metric export did not finish")
    # (The flush also queued a copy for the Prometheus reader, so a scrape
    # now may show a sample more than once: keep one per label set.)
    startup: dict[str, list] = {}
    for name, labels, value in scrape():
        if name.startswith("wp_") and (name.endswith("_total") or name == "wp_clones_active"):
            if [labels, value] not in startup.setdefault(name, []):
                startup[name].append([labels, value])

    trace_ids: dict[str, str] = {}
    failures = []
    for key, method, path, body, expected in PLAN:
        before = len(stdout.getvalue())
        status, _ = request(base, method, path, body)
        if status != expected:
            failures.append(f"{method} {path}: {status}, expected {expected}")
        # The workflow's log lines carry its trace id.
        for line in stdout.getvalue()[before:].splitlines():
            record = json.loads(line)
            if "trace_id" in record:
                trace_ids[key] = record["trace_id"]
                break
    if failures:
        sys.exit("drive.py: " + "; ".join(failures))

    # Expire the two clones with a 1 s TTL; one failing and one working cleanup.
    time.sleep(1.5)
    failed = asyncio.run(example.cleanup_expired(fail=True))
    done = asyncio.run(example.cleanup_expired(fail=False))
    if failed != {"success": 0, "failure": 2} or done != {"success": 2, "failure": 0}:
        sys.exit(f"drive.py: cleanups {failed} then {done}")

    # Read the Prometheus endpoint before the final flush (a flush collects
    # from every reader, which would queue a second copy for the next scrape).
    scraped = label_names(scrape())

    server.should_exit = True
    thread.join(30)
    if not example.TELEMETRY.force_flush(15_000):
        sys.exit("drive.py: the OTLP export did not finish")
    example.TELEMETRY.shutdown()

    lines = [line for line in stdout.getvalue().splitlines() if line.strip()]
    shipped = ship_like_fluent_bit(lines)
    print(
        json.dumps(
            {
                "pod": POD,
                "traces": trace_ids,
                "log_lines": shipped,
                "scraped": scraped,
                "startup": startup,
                "levels": formatted_levels(),
            }
        )
    )


if __name__ == "__main__":
    main()
