"""OpenTelemetry traces and metrics, off unless AUDITBOT_TELEMETRY says where to send them.

`configure_telemetry("otlp" | "azure_monitor", ...)` installs the SDK's tracer and
meter providers with an exporter: OTLP over HTTP (its endpoint and headers from
the standard `OTEL_EXPORTER_OTLP_*` variables, e.g. an OpenTelemetry Collector),
or Azure Monitor (Application Insights, from `APPLICATIONINSIGHTS_CONNECTION_STRING`).
Off, nothing of the SDK is imported and the instruments below are the API's
no-ops, so the code that records them costs next to nothing.

What is measured, every name under `auditbot.` and every attribute an id or a
kind, never content:

- traces: each HTTP request (aiohttp server: route, status, duration), each
  database statement (SQLAlchemy: the SQL with placeholders, never values),
  each outbox delivery and each scheduled job, nested as they happen;
- `auditbot.outbox.queue_depth` (messages due and not yet sent, read every few
  seconds by the sending instance), `auditbot.outbox.sent` (messages Teams
  accepted), `auditbot.outbox.send.duration` (s, claim to accepted),
  `auditbot.outbox.throttled` (429 answers), `auditbot.outbox.retries`
  (by `reason`: the HTTP status or error kind), `auditbot.outbox.given_up`
  (by `outcome`: failed or unreachable);
- `auditbot.scheduler.job.runs` (by `job` and `outcome`),
  `auditbot.scheduler.job.duration` (s) and `auditbot.scheduler.job.items`
  (what each run did);
- the HTTP server's own `http.server.*` metrics.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal

from opentelemetry import metrics, trace

log = logging.getLogger(__name__)

Exporter = Literal["off", "otlp", "azure_monitor"]

meter = metrics.get_meter("auditbot")
tracer = trace.get_tracer("auditbot")

OUTBOX_SENT = meter.create_counter(
    "auditbot.outbox.sent", unit="{message}", description="Messages Teams accepted"
)
OUTBOX_SEND_DURATION = meter.create_histogram(
    "auditbot.outbox.send.duration",
    unit="s",
    description="From a delivery starting to Teams accepting it (limits' waits included)",
)
OUTBOX_THROTTLED = meter.create_counter(
    "auditbot.outbox.throttled", unit="{response}", description="429 answers from Teams"
)
OUTBOX_RETRIES = meter.create_counter(
    "auditbot.outbox.retries", unit="{delivery}", description="Deliveries put back to retry"
)
OUTBOX_GIVEN_UP = meter.create_counter(
    "auditbot.outbox.given_up", unit="{message}", description="Messages recorded as not sent"
)
JOB_RUNS = meter.create_counter("auditbot.scheduler.job.runs", unit="{run}")
JOB_DURATION = meter.create_histogram("auditbot.scheduler.job.duration", unit="s")
JOB_ITEMS = meter.create_counter(
    "auditbot.scheduler.job.items", unit="{item}", description="What the scheduled jobs did"
)

_state: dict[str, Any] = {"enabled": False, "queue_depth": None, "providers": []}


def _observe_depth(_options: Any) -> Iterable[metrics.Observation]:
    depth = _state["queue_depth"]
    return [] if depth is None else [metrics.Observation(depth)]


meter.create_observable_gauge(
    "auditbot.outbox.queue_depth",
    callbacks=[_observe_depth],
    unit="{message}",
    description="Messages due and not yet sent, as the sending instance last read them",
)


def enabled() -> bool:
    return bool(_state["enabled"])


def set_queue_depth(depth: int) -> None:
    _state["queue_depth"] = depth


def configure_telemetry(
    exporter: Exporter, *, service_name: str = "auditbot", version: str = "", instance: str = ""
) -> Callable[[], None]:
    """Install the providers and exporter; returns what flushes and stops them. "off" does
    nothing. Call once per process, before the app is built (it instruments aiohttp's
    Application class)."""
    if exporter == "off":
        return lambda: None
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    span_exporter, metric_exporter = _exporters(exporter)
    attributes = {"service.name": os.environ.get("OTEL_SERVICE_NAME") or service_name}
    if version:
        attributes["service.version"] = version
    if instance:
        attributes["service.instance.id"] = instance
    resource = Resource.create(attributes)
    tracing = TracerProvider(resource=resource)
    tracing.add_span_processor(BatchSpanProcessor(span_exporter))
    metering = MeterProvider(
        resource=resource, metric_readers=[PeriodicExportingMetricReader(metric_exporter)]
    )
    trace.set_tracer_provider(tracing)
    metrics.set_meter_provider(metering)
    # Every aiohttp Application made from now on traces and measures its requests.
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor

    AioHttpServerInstrumentor().instrument()
    _state.update(enabled=True, providers=[tracing, metering])
    log.info("telemetry: traces and metrics exported by %s", exporter)

    def shutdown() -> None:
        for provider in (tracing, metering):
            provider.shutdown()

    return shutdown


def _exporters(exporter: Exporter) -> tuple[Any, Any]:
    if exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter(), OTLPMetricExporter()
    from azure.monitor.opentelemetry.exporter import (
        AzureMonitorMetricExporter,
        AzureMonitorTraceExporter,
    )

    return AzureMonitorTraceExporter(), AzureMonitorMetricExporter()


def instrument_engine(engine: Any) -> None:
    """Trace an AsyncEngine's statements (SQL with placeholders, never values)."""
    if not enabled():
        return
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # Its declared range stops before SQLAlchemy 2.1, but the engine events it listens to are
    # 2.1's too; tests/bot/test_telemetry.py checks the statements' spans arrive.
    SQLAlchemyInstrumentor().instrument(
        engine=engine.sync_engine, enable_commenter=False, skip_dep_check=True
    )


async def traced_job(name: str, run: Callable[[], Awaitable[int]]) -> int:
    """Run a scheduled job in a span, counting its run, duration and what it did."""
    from time import perf_counter

    started = perf_counter()
    outcome = "failed"
    with tracer.start_as_current_span(f"job {name}", attributes={"auditbot.job": name}):
        try:
            done = await run()
            outcome = "ok"
            JOB_ITEMS.add(max(done, 0), {"job": name})
            return done
        finally:
            JOB_RUNS.add(1, {"job": name, "outcome": outcome})
            JOB_DURATION.record(perf_counter() - started, {"job": name})


__all__ = [
    "JOB_DURATION",
    "JOB_ITEMS",
    "JOB_RUNS",
    "OUTBOX_GIVEN_UP",
    "OUTBOX_RETRIES",
    "OUTBOX_SEND_DURATION",
    "OUTBOX_SENT",
    "OUTBOX_THROTTLED",
    "configure_telemetry",
    "enabled",
    "instrument_engine",
    "set_queue_depth",
    "traced_job",
    "tracer",
]
