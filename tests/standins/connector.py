"""A local stand-in for the Bot Connector service that Teams bots talk to.

It listens on 127.0.0.1, answers the v3 conversation routes as the real
service does (shapes from the Bot Connector REST reference), records every
activity the bot sends, and can be told to throttle (429 with Retry-After) or
fail, so the bot's real HTTP client is exercised end to end.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Sent:
    conversation_id: str
    activity: dict[str, Any]
    reply_to: str | None
    authorization: str | None


@dataclass
class ConnectorStandIn:
    """Run with `async with ConnectorStandIn() as connector:`; `connector.url` is the serviceUrl."""

    sent: list[Sent] = field(default_factory=list)
    throttle_next: int = 0
    retry_after_seconds: int = 1
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("/")).rstrip("/") + "/"

    async def __aenter__(self) -> ConnectorStandIn:
        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation_id}/activities", self._send)
        app.router.add_post(
            "/v3/conversations/{conversation_id}/activities/{activity_id}", self._send
        )
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        await self._server.close()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Sent]:
        """Wait until `count` activities have arrived; event-driven, not a sleep loop."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.sent) >= count), timeout)
        return self.sent

    async def _send(self, request: web.Request) -> web.Response:
        if self.throttle_next > 0:
            self.throttle_next -= 1
            return web.json_response(
                {"error": {"code": "TooManyRequests", "message": "Too many requests"}},
                status=429,
                headers={"Retry-After": str(self.retry_after_seconds)},
            )
        if request.content_type != "application/json":
            return _bad_request("Content-Type must be application/json")
        activity = await request.json()
        if not activity.get("type"):
            return _bad_request("Activity type is required")
        sent = Sent(
            conversation_id=request.match_info["conversation_id"],
            activity=activity,
            reply_to=request.match_info.get("activity_id"),
            authorization=request.headers.get("Authorization"),
        )
        async with self._arrived:
            self.sent.append(sent)
            self._arrived.notify_all()
        return web.json_response({"id": f"1:{next(self._ids)}"}, status=201)


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": {"code": "BadArgument", "message": message}}, status=400)
