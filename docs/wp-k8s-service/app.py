"""wp-k8s-service, a runnable example instrumented with OpenTelemetry.

A FastAPI service that clones (`POST /clone`) and restores
(`POST /restore`) WordPress sites into the `wordpress-staging` and
`wordpress-production` namespaces. Kubernetes and RDS are simulated with
short sleeps, so it runs anywhere; the telemetry is the real thing and is
exactly what docs/metrics-contract.md lists: the spans of each workflow
(API request -> RDS -> Kubernetes API call -> pod creation -> plugins ->
ingress ready), the wp.* metrics, and JSON log lines with trace ids.

Failures can be injected per request with `?fail=<reason>` or for every
request with WP_INJECT_FAILURE=<reason> (optionally WP_INJECT_FAILURE_RATE,
0..1), where reason is rds_unavailable, k8s_api_error, timeout or
plugin_install_failed. Expired clones are deleted every
WP_CLEANUP_INTERVAL_SECONDS (60); WP_INJECT_CLEANUP_FAILURE=1 makes those
deletions fail (logged at error).

The clones themselves live in CLUSTER, an in-memory stand-in for the
Kubernetes API's view of the clone objects; the wp.clones.active gauge
counts what it holds, as the real service counts the clone objects that
exist in the cluster.

Run: uvicorn app:app --port 8080 --no-access-log   (see the guide,
docs/instrumenting-wp-k8s-service.md, for the environment).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from fastapi import FastAPI, HTTPException, Query
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.trace import SpanKind, Status, StatusCode
from pydantic import BaseModel, Field

from telemetry import setup_telemetry

Reason = Literal["rds_unavailable", "k8s_api_error", "timeout", "plugin_install_failed"]
Namespace = Literal["wordpress-staging", "wordpress-production"]

# Where the simulated pieces "live" (attributes and labels only).
RDS_HOST = os.environ.get("WP_RDS_HOST", "wp-clones-db.cluster-c9x2.eu-west-1.rds.amazonaws.com")
RDS_INSTANCE = os.environ.get("WP_RDS_INSTANCE", "wp-clones-db")
CLONE_DOMAIN = os.environ.get("WP_CLONE_DOMAIN", "clones.example.com")
# Multiplies every simulated delay (0 makes the workflow instant).
DELAY_SCALE = float(os.environ.get("WP_DELAY_SCALE", "1"))

# HTTP status of a failed workflow, by reason (all 5xx: the server span
# then ends in error, as the contract says).
FAILURE_STATUS = {
    "rds_unavailable": 503,
    "k8s_api_error": 502,
    "timeout": 504,
    "plugin_install_failed": 500,
}
INJECTED_FAILURE = os.environ.get("WP_INJECT_FAILURE") or None
if INJECTED_FAILURE is not None and INJECTED_FAILURE not in FAILURE_STATUS:
    raise SystemExit(f"WP_INJECT_FAILURE must be one of {', '.join(FAILURE_STATUS)}")


class WorkflowRequest(BaseModel):
    source_site: str = Field("www.example.com", description="Site to clone, or the site whose backup is restored")
    target_namespace: Namespace = "wordpress-staging"
    plugins: list[str] = Field(default_factory=lambda: ["woocommerce", "wordfence", "wp-super-cache"])
    ttl_seconds: int = Field(86400, ge=1, le=604800, description="Lifetime of the clone")


@dataclass
class Clone:
    clone_id: str
    target_namespace: str
    expires_at: float


class SimulatedCluster:
    """The clone objects as the Kubernetes API lists them (in the real
    service: the pods labelled as clones, from an informer's cache). Every
    replica sees the same objects, whichever replica created them, and
    they outlive a restart of the service; here they live in this process,
    which is the whole simulated cluster."""

    def __init__(self) -> None:
        self._clones: dict[str, Clone] = {}

    def create(self, clone: Clone) -> None:
        self._clones[clone.clone_id] = clone

    def delete(self, clone_id: str) -> None:
        del self._clones[clone_id]

    def list(self) -> list[Clone]:
        return list(self._clones.values())

    def count_by_namespace(self) -> dict[str, int]:
        """What the wp.clones.active gauge reports at each collection."""
        return dict(Counter(c.target_namespace for c in self._clones.values()))


CLUSTER = SimulatedCluster()

# Providers, instruments (the gauge reads CLUSTER), the counters' series
# created at 0, and the JSON logger.
TELEMETRY = setup_telemetry(count_clones=CLUSTER.count_by_namespace, db_instance=RDS_INSTANCE)
TRACER = TELEMETRY.tracer
M = TELEMETRY.instruments
LOG = TELEMETRY.logger


class StepFailed(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


async def pause(seconds: float) -> None:
    await asyncio.sleep(seconds * DELAY_SCALE * random.uniform(0.8, 1.2))


@contextlib.contextmanager
def step(name: str, kind: SpanKind = SpanKind.INTERNAL, **attributes):
    """A child span of the workflow; a StepFailed inside it marks it as error."""
    with TRACER.start_as_current_span(
        name, kind=kind, attributes=attributes, set_status_on_exception=False
    ) as span:
        try:
            yield span
        except StepFailed as failure:
            span.set_status(Status(StatusCode.ERROR, failure.message))
            raise


def k8s_api_call(verb: str, resource: str, code: int, started: float) -> None:
    M.k8s_api_request_duration.record(
        time.perf_counter() - started,
        {"verb": verb, "resource": resource, "code": str(code)},
    )


def choose_failure(fail: str | None) -> str | None:
    if fail:
        return fail
    injected = INJECTED_FAILURE
    if injected and random.random() < float(os.environ.get("WP_INJECT_FAILURE_RATE", "1")):
        return injected
    return None


async def run_workflow(operation: str, body: WorkflowRequest, fail: str | None) -> dict:
    """The clone/restore workflow; raises HTTPException on failure."""
    started = time.perf_counter()
    clone_id = f"c-{uuid.uuid4().hex[:8]}"
    ns = body.target_namespace
    pod = f"wp-{clone_id}"
    fields = {"clone_id": clone_id, "target_namespace": ns}
    with TRACER.start_as_current_span(
        f"wp.{operation}",
        attributes={
            "wp.clone.id": clone_id,
            "wp.target_namespace": ns,
            "wp.source_site": body.source_site,
        },
        set_status_on_exception=False,
    ) as workflow:
        LOG.info("%s %s of %s requested", operation, clone_id, body.source_site, extra=fields)
        try:
            with step("rds.connect", SpanKind.CLIENT, **{"db.system": "mysql", "server.address": RDS_HOST}):
                await pause(0.05)
                if fail == "rds_unavailable":
                    M.rds_connection_errors.add(1, {"db_instance": RDS_INSTANCE, "error": "refused"})
                    raise StepFailed(fail, "RDS connection refused")

            with step(
                "k8s.api create_pod",
                SpanKind.CLIENT,
                **{"k8s.namespace.name": ns, "k8s.pod.name": pod},
            ) as call:
                t0 = time.perf_counter()
                await pause(0.03)
                code = 500 if fail == "k8s_api_error" else 201
                call.set_attribute("http.response.status_code", code)
                k8s_api_call("create", "pods", code, t0)
                if code >= 400:
                    raise StepFailed(fail, f"Kubernetes API returned {code} creating pod {pod}")

            with step("pod.create", **{"k8s.namespace.name": ns, "k8s.pod.name": pod}):
                await pause(0.2)
                LOG.info("pod %s running in %s", pod, ns, extra=fields)

            with step("wp.plugins.install", **{"wp.plugin.count": len(body.plugins)}):
                for i, plugin in enumerate(body.plugins):
                    t0 = time.perf_counter()
                    await pause(0.05)
                    if fail == "plugin_install_failed" and i == len(body.plugins) - 1:
                        raise StepFailed(fail, f"plugin {plugin} failed to install")
                    M.plugin_installation_duration.record(time.perf_counter() - t0, {"plugin": plugin})

            ingress = pod
            url = f"https://{clone_id}.{CLONE_DOMAIN}/"
            with step("ingress.wait_ready", **{"k8s.ingress.name": ingress, "url.full": url}):
                for _ in range(3):  # poll the ingress status
                    t0 = time.perf_counter()
                    await pause(0.03)
                    k8s_api_call("get", "ingresses", 200, t0)
                if fail == "timeout":
                    raise StepFailed(fail, f"ingress {ingress} not ready before the deadline")
        except StepFailed as failure:
            workflow.set_status(Status(StatusCode.ERROR, failure.message))
            M.clones_failed.add(
                1, {"operation": operation, "target_namespace": ns, "reason": failure.reason}
            )
            LOG.error("%s %s failed: %s", operation, clone_id, failure.message, extra=fields)
            raise HTTPException(FAILURE_STATUS[failure.reason], f"{operation} failed: {failure.message}")

        elapsed = time.perf_counter() - started
        CLUSTER.create(Clone(clone_id, ns, time.time() + body.ttl_seconds))
        M.clones_created.add(1, {"operation": operation, "target_namespace": ns})
        M.provisioning_duration.record(elapsed, {"operation": operation, "target_namespace": ns})
        M.clone_ttl.record(body.ttl_seconds, {"target_namespace": ns})
        LOG.info("%s %s ready at %s in %.2fs", operation, clone_id, url, elapsed, extra=fields)
        return {"clone_id": clone_id, "url": url, "target_namespace": ns, "ttl_seconds": body.ttl_seconds}


async def cleanup_expired(fail: bool | None = None) -> dict[str, int]:
    """Deletes the clones whose TTL has passed; returns the counts by result."""
    if fail is None:
        fail = os.environ.get("WP_INJECT_CLEANUP_FAILURE", "") in ("1", "true")
    now = time.time()
    results = {"success": 0, "failure": 0}
    for clone in [c for c in CLUSTER.list() if c.expires_at <= now]:
        fields = {"clone_id": clone.clone_id, "target_namespace": clone.target_namespace}
        t0 = time.perf_counter()
        await pause(0.02)
        code = 500 if fail else 200
        k8s_api_call("delete", "pods", code, t0)
        result = "failure" if fail else "success"
        M.clone_cleanups.add(1, {"target_namespace": clone.target_namespace, "result": result})
        results[result] += 1
        if fail:
            LOG.error("expired clone %s not deleted: Kubernetes API returned %d", clone.clone_id, code, extra=fields)
            continue
        CLUSTER.delete(clone.clone_id)
        LOG.info("expired clone %s deleted", clone.clone_id, extra=fields)
    return results


async def cleanup_loop() -> None:
    interval = float(os.environ.get("WP_CLEANUP_INTERVAL_SECONDS", "60"))
    while True:
        await asyncio.sleep(interval)
        await cleanup_expired()


@contextlib.asynccontextmanager
async def lifespan(_app: FastAPI):
    task = asyncio.create_task(cleanup_loop())
    LOG.info("wp-k8s-service started")
    try:
        yield
    finally:
        task.cancel()
        TELEMETRY.force_flush()


app = FastAPI(title="wp-k8s-service", lifespan=lifespan)


@app.post("/clone", status_code=201)
async def clone(body: WorkflowRequest, fail: Reason | None = Query(None)) -> dict:
    return await run_workflow("clone", body, choose_failure(fail))


@app.post("/restore", status_code=201)
async def restore(body: WorkflowRequest, fail: Reason | None = Query(None)) -> dict:
    return await run_workflow("restore", body, choose_failure(fail))


@app.get("/health")
async def health() -> dict:
    return {"status": "ok", "active_clones": len(CLUSTER.list())}


# Server spans "POST /clone" and http.server.request.duration by http.route;
# the per-message ASGI "receive"/"send" spans are left out.
FastAPIInstrumentor.instrument_app(
    app,
    tracer_provider=TELEMETRY.tracer_provider,
    meter_provider=TELEMETRY.meter_provider,
    exclude_spans=["receive", "send"],
)


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="0.0.0.0", port=int(os.environ.get("PORT", "8080")), access_log=False)
