"""The aiohttp application Teams talks to: /api/messages and /healthz."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from botbuilder.core import Bot
from botbuilder.integration.aiohttp import CloudAdapter

from telemetry.logs import log_context

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[bool]]


def create_app(
    adapter: CloudAdapter, bot: Bot, database_reachable: HealthCheck, *, require_token: bool
) -> web.Application:
    """Routes only; building the adapter, bot and database is the caller's job.

    With `require_token`, a request with no bearer token is refused before the
    SDK sees it: botbuilder's own check fails with a 500 on some paths.
    """

    async def messages(request: web.Request) -> web.StreamResponse:
        if require_token and not request.headers.get("Authorization", "").startswith("Bearer "):
            log.warning("refused /api/messages without a bearer token from %s", request.remote)
            return web.json_response({"error": "Unauthorized"}, status=401)
        if request.content_type != "application/json":
            return web.json_response({"error": "Content-Type must be application/json"}, status=415)
        body, problem = await _read_activity(request)
        if problem:
            return web.json_response({"error": problem}, status=400)
        with log_context(**_ids_of(request, body)):
            response = await adapter.process(request, bot)
        return response if response is not None else web.Response(status=201)

    async def healthz(request: web.Request) -> web.Response:
        reachable = await database_reachable()
        body = {"status": "ok" if reachable else "unavailable", "database": reachable}
        return web.json_response(body, status=200 if reachable else 503)

    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/api/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


async def _read_activity(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """The body, and why it cannot be an activity, checked before the SDK, which raises
    (a 500) on bodies that are not objects or whose parties are not objects."""
    try:
        body = await request.json()
    except ValueError:
        return {}, "The body is not JSON."
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return {}, "The body is not an activity."
    for party in ("from", "recipient", "conversation"):
        if party in body and not isinstance(body[party], dict):
            return body, f"The activity's {party!r} must be an object."
    return body, None


def _ids_of(request: web.Request, body: dict[str, Any]) -> dict[str, str | int | None]:
    """What the request's log lines carry: its id (the proxy's X-Request-ID, else a new one),
    the activity's id and type, and for a card press its verb and audit; never content."""
    ids: dict[str, str | int | None] = {
        "request_id": request.headers.get("X-Request-ID") or uuid.uuid4().hex[:16],
        "activity_id": _short(body.get("id")),
        "activity_type": _short(body.get("type")),
    }
    value = body.get("value")
    action = value.get("action") if isinstance(value, dict) else None
    if isinstance(action, dict):
        ids["verb"] = _short(action.get("verb"))
        data = action.get("data")
        audit = data.get("audit_id") if isinstance(data, dict) else None
        if isinstance(audit, int) and not isinstance(audit, bool):
            ids["audit_id"] = audit
    return ids


def _short(value: Any) -> str | None:
    """An id as a string of at most 80 characters, or None when it is not a string."""
    return value[:80] if isinstance(value, str) else None
