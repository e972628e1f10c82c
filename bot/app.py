"""The aiohttp application Teams talks to: /api/messages and /healthz."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from botbuilder.core import Bot
from botbuilder.integration.aiohttp import CloudAdapter

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
        problem = await _not_an_activity(request)
        if problem:
            return web.json_response({"error": problem}, status=400)
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


async def _not_an_activity(request: web.Request) -> str | None:
    """Why the body cannot be an activity, checked before the SDK, which raises (a 500)
    on bodies that are not objects or whose parties are not objects."""
    try:
        body = await request.json()
    except ValueError:
        return "The body is not JSON."
    if not isinstance(body, dict) or not isinstance(body.get("type"), str):
        return "The body is not an activity."
    for party in ("from", "recipient", "conversation"):
        if party in body and not isinstance(body[party], dict):
            return f"The activity's {party!r} must be an object."
    return None
