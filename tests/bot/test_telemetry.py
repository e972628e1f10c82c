"""OpenTelemetry from a served process: `auditbot serve` with AUDITBOT_TELEMETRY=otlp sends
traces and metrics to a collector over OTLP/HTTP: each request, each SQL statement, each
outbox delivery and scheduled job as spans; the outbox's queue depth, sends, send latency,
429s and retries and the jobs' runs as metrics; and never anything a person wrote or read.
Off (the default), nothing is exported and the SDK is not even imported."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bot.test_json_logs import _contents, _count
from tests.bot.test_outbox_processes import ROOT, Service
from tests.cluster import NOW, build_council, open_a_cycle
from tests.conftest import Database
from tests.harness import APP_ID, TENANT_ID
from tests.presses import ANSWER, start_audits
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from tests.standins.otlp import AppInsightsStandIn, CollectorStandIn


async def test_a_served_process_exports_traces_and_metrics_without_content(
    db: Database,
    connector: ConnectorStandIn,
    identity: IdentityStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    code = await build_council(db.url, auditors=3, cases=6)
    audits = await open_a_cycle(db.url, code, 3)
    connector.throttle_next = 2  # Teams says 429 twice
    connector.retry_after_seconds = 0
    async with CollectorStandIn() as collector:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")
        monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "500")
        service = await Service.start(
            db, connector, identity, tmp_path, "otel",
            telemetry="otlp", scheduler_enabled="true", scheduler_tick_seconds="5",
        )  # fmt: skip
        try:
            url = await service.url()
            token = identity.issue_token(audience=APP_ID, service_url=connector.url)
            await start_audits(
                url,
                token,
                audits,
                service_url=connector.url,
                tenant=TENANT_ID,
                app_id=APP_ID,
                today=NOW.date(),
            )
            queued = await _count(db)
            await connector.wait_until(lambda: len(connector.sent) >= queued, timeout=60)

            def seen() -> bool:
                return (
                    collector.total("auditbot.outbox.sent") >= queued
                    and "auditbot.scheduler.job.runs" in collector.metrics
                    and "auditbot.outbox.queue_depth" in collector.metrics
                )

            async with asyncio.timeout(60):
                while not seen():
                    await asyncio.sleep(0.2)
        finally:
            await service.stop()

    names = {span.name for span in collector.spans}
    assert "POST /api/messages" in names, sorted(names)
    assert "outbox deliver" in names and any(n.startswith("job ") for n in names)
    statements = [s for s in collector.spans if s.attributes.get("db.system")]
    sql = [str(s.attributes.get("db.statement", "")) for s in statements]
    # Statements with their placeholders; the values never leave (checked on the bytes below).
    assert any(q.startswith("INSERT") and ("?" in q or "$1" in q) for q in sql), sql[:5]
    # A press's statements are children of its request's span.
    requests = {s.trace_id for s in collector.spans if s.name == "POST /api/messages"}
    assert any(s.trace_id in requests and s.parent for s in statements)
    assert collector.resources[0]["service.name"] == "auditbot"

    assert collector.total("auditbot.outbox.sent") == queued
    assert collector.total("auditbot.outbox.throttled") == 2
    assert collector.total("auditbot.outbox.retries", reason="HTTP 429") == 2
    assert collector.metrics["auditbot.outbox.send.duration"]
    assert collector.total("auditbot.scheduler.job.runs", outcome="ok") > 0
    assert any(name.startswith("http.server") for name in collector.metrics)

    exported = b"".join(collector.raw)
    assert ANSWER.encode() not in exported
    for text in await _contents(db):
        assert text.encode() not in exported, text


def test_telemetry_is_off_by_default_and_imports_nothing_of_the_sdk():
    probe = (
        "import sys; from bot.service import build_service; from bot.config import load_settings;"
        "from telemetry import otel;"
        "app = build_service(load_settings(demo=True));"
        "print(otel.enabled(), any(m.startswith('opentelemetry.sdk') for m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(ROOT)},
    )  # fmt: skip
    assert result.stdout.split() == ["False", "False"]


async def test_azure_monitor_receives_requests_statements_and_metrics(
    db: Database,
    connector: ConnectorStandIn,
    identity: IdentityStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    code = await build_council(db.url, auditors=2, cases=4)
    await open_a_cycle(db.url, code, 2)
    async with AppInsightsStandIn() as insights:
        monkeypatch.setenv("APPLICATIONINSIGHTS_CONNECTION_STRING", insights.connection_string)
        monkeypatch.setenv("APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL", "true")
        monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "200")
        monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "500")
        service = await Service.start(
            db, connector, identity, tmp_path, "insights", telemetry="azure_monitor"
        )
        try:
            await service.url()
            queued = await _count(db)
            await connector.wait_until(lambda: len(connector.sent) >= queued, timeout=60)

            def seen() -> bool:
                names = insights.names()
                return "auditbot.outbox.sent" in names and "GET /healthz" in names

            async with asyncio.timeout(60):
                while not seen():
                    assert not insights.paths, insights.paths
                    await asyncio.sleep(0.2)
        finally:
            await service.stop()
    kinds = {e.get("data", {}).get("baseType") for e in insights.envelopes}
    assert {"RequestData", "RemoteDependencyData", "MetricData"} <= kinds, kinds
    exported = b"".join(insights.raw)
    for text in await _contents(db):
        assert text.encode() not in exported, text
