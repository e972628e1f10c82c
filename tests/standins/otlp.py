"""Where telemetry goes, locally: an OpenTelemetry collector (OTLP over HTTP, protobuf) and
Application Insights' ingestion endpoint (`AppInsightsStandIn`), as the exporters send to them.

`POST /v1/traces` and `POST /v1/metrics` are decoded with opentelemetry-proto and
kept: `spans` (name and attributes), `metrics` (name -> the data points' values and
attributes), and `raw` (every body as received, to search for what must not be
there). Answers 200 with an empty export response, as a collector does.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@dataclass
class Span:
    name: str
    kind: str
    attributes: dict[str, Any]
    trace_id: str
    parent: str


@dataclass
class CollectorStandIn:
    spans: list[Span] = field(default_factory=list)
    metrics: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    resources: list[dict[str, Any]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    _server: TestServer | None = None

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    async def __aenter__(self) -> CollectorStandIn:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/traces", self._traces)
        app.router.add_post("/v1/metrics", self._metrics)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            await self._server.close()

    async def _traces(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.raw.append(body)
        export = ExportTraceServiceRequest.FromString(body)
        for resource in export.resource_spans:
            self.resources.append(_attributes(resource.resource.attributes))
            for scope in resource.scope_spans:
                for span in scope.spans:
                    self.spans.append(
                        Span(
                            span.name,
                            str(span.kind),
                            _attributes(span.attributes),
                            span.trace_id.hex(),
                            span.parent_span_id.hex(),
                        )
                    )
        return web.Response(body=b"", content_type="application/x-protobuf")

    async def _metrics(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.raw.append(body)
        export = ExportMetricsServiceRequest.FromString(body)
        for resource in export.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    data = MessageToDict(metric)
                    points = next(
                        (v["dataPoints"] for v in data.values() if isinstance(v, dict)), []
                    )
                    self.metrics.setdefault(metric.name, []).extend(points)
        return web.Response(body=b"", content_type="application/x-protobuf")

    def total(self, name: str, **attributes: str) -> float:
        """The latest cumulative sum of a counter's points with these attributes."""
        latest: dict[str, float] = {}
        for point in self.metrics.get(name, []):
            found = {a["key"]: next(iter(a["value"].values())) for a in point.get("attributes", [])}
            if all(found.get(k) == v for k, v in attributes.items()):
                key = repr(sorted(found.items()))
                latest[key] = float(
                    point.get("asInt", point.get("asDouble", point.get("count", 0)))
                )
        return sum(latest.values())


def _attributes(pairs: Any) -> dict[str, Any]:
    """key -> value, whatever the value's type (stringValue, intValue, ...)."""
    found: dict[str, Any] = {}
    for pair in pairs:
        value = MessageToDict(pair.value)
        found[pair.key] = next(iter(value.values())) if value else None
    return found


@dataclass
class AppInsightsStandIn:
    """Application Insights' ingestion endpoint (`POST /v2.1/track`), as the Azure Monitor
    exporter sends to it: a JSON array of envelopes (gzip or plain). Keeps `envelopes` and
    answers what it accepted, as the service does."""

    envelopes: list[dict[str, Any]] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)  # requests it did not expect
    _server: TestServer | None = None

    @property
    def connection_string(self) -> str:
        assert self._server is not None
        endpoint = str(self._server.make_url("")).rstrip("/")
        return (
            "InstrumentationKey=00000000-0000-4000-8000-000000000001;"
            f"IngestionEndpoint={endpoint}/;LiveEndpoint={endpoint}/"
        )

    async def __aenter__(self) -> AppInsightsStandIn:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{anything:.*}", self._route)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            await self._server.close()

    async def _route(self, request: web.Request) -> web.Response:
        # The service takes //v2.1/track too: connection strings end their endpoint with "/".
        if request.method == "POST" and request.path.lstrip("/") in ("v2.1/track", "v2/track"):
            return await self._track(request)
        self.paths.append(f"{request.method} {request.path}")
        return web.Response(status=404)

    async def _track(self, request: web.Request) -> web.Response:
        body = await request.read()
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        self.raw.append(body)
        text = body.decode()
        items = (
            json.loads(text)
            if text.lstrip().startswith("[")
            else [json.loads(line) for line in text.splitlines() if line.strip()]
        )
        self.envelopes.extend(items)
        return web.json_response(
            {"itemsReceived": len(items), "itemsAccepted": len(items), "errors": []}
        )

    def names(self) -> set[str]:
        """Request and dependency names, and metric names, received."""
        found: set[str] = set()
        for envelope in self.envelopes:
            data = envelope.get("data", {}).get("baseData", {})
            if "name" in data:
                found.add(str(data["name"]))
            for metric in data.get("metrics", []):
                found.add(str(metric.get("name")))
        return found
