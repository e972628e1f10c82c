"""A local stand-in for the Bot Connector service that Teams bots talk to.

It listens on 127.0.0.1 and answers the v3 conversation routes as Teams
does (shapes from the Bot Connector REST reference and Teams' documented
status codes): send to a conversation, reply to an activity, create a 1:1
conversation. It records every activity it accepts, so tests can count what
arrived exactly once, and it can be told to behave like Teams on a bad day:

- enforce rate limits (`conversation_limits`, `app_limits`, each a sequence
  of (count, seconds) windows; `with_teams_limits()` uses Teams' documented
  ones) and answer 429 with Retry-After when a request would exceed them;
- throttle the next requests (`throttle_next`) or every k-th send
  (`throttle_every`), or fail them (`fail_next`, a list of statuses such as 503);
- answer 403 MessageWritesBlocked for people in `blocked` (they blocked the
  bot), 403 BotNotInConversationRoster for people in `not_installed`, and 404
  ConversationNotFound for conversation ids in `gone`;
- refuse requests without a token it trusts (`tokens`, the tokens the managed identity
  stand-in issued), with 401 as the Bot Connector does; None accepts any (demo mode);
- stall: hold requests before accepting them (`stall_before_accepting`, as
  if Teams had not received them yet) or after accepting them
  (`stall_after_accepting`, as if the answer were lost), until `drop_stalled`.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

Limits = Sequence[tuple[int, float]]
TEAMS_CONVERSATION_LIMITS: Limits = ((7, 1.0), (8, 2.0), (60, 30.0), (1800, 3600.0))
TEAMS_APP_LIMITS: Limits = ((50, 1.0),)


@dataclass
class Sent:
    conversation_id: str
    activity: dict[str, Any]
    reply_to: str | None
    authorization: str | None
    at: float = 0.0  # the stand-in's clock when it accepted the activity


@dataclass
class Created:
    user_id: str
    tenant_id: str
    conversation_id: str
    authorization: str | None


@dataclass
class ConnectorStandIn:
    """Run with `async with ConnectorStandIn() as connector:`; `connector.url` is the serviceUrl."""

    sent: list[Sent] = field(default_factory=list)
    throttle_next: int = 0
    throttle_every: int = 0
    retry_after_seconds: int = 1
    conversation_limits: Limits = ()
    app_limits: Limits = ()
    clock: Callable[[], float] = time.monotonic
    fail_next: list[int] = field(default_factory=list)
    blocked: set[str] = field(default_factory=set)
    not_installed: set[str] = field(default_factory=set)
    gone: set[str] = field(default_factory=set)
    # Accept sends with 200 and no body, as the Agents Playground does.
    empty_answers: bool = False
    # Bearer tokens it accepts (the set may grow as they are issued); None accepts anything.
    tokens: set[str] | None = None
    unauthorised: int = 0
    created: list[Created] = field(default_factory=list)
    throttled: int = 0
    # Of those, refused by the app-wide (tenant) limit rather than a conversation's.
    throttled_by_app_limit: int = 0
    # When each send request arrived, accepted or not: what Teams counts against its limits.
    arrived: list[float] = field(default_factory=list)
    failed: int = 0
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _sends: itertools.count = field(default_factory=lambda: itertools.count(1))
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _server: TestServer | None = None
    _members: dict[str, str] = field(default_factory=dict)
    _app_log: deque[float] = field(default_factory=deque)
    _conversation_logs: dict[str, deque[float]] = field(default_factory=dict)
    _stall: tuple[str, int] | None = None
    _stalled: int = 0
    _unstall: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def with_teams_limits(cls, **options: Any) -> ConnectorStandIn:
        return cls(
            conversation_limits=TEAMS_CONVERSATION_LIMITS, app_limits=TEAMS_APP_LIMITS, **options
        )

    @property
    def url(self) -> str:
        assert self._server is not None
        return str(self._server.make_url("/")).rstrip("/") + "/"

    async def __aenter__(self) -> ConnectorStandIn:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation_id}/activities", self._send)
        app.router.add_post(
            "/v3/conversations/{conversation_id}/activities/{activity_id}", self._send
        )
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self.drop_stalled()
        await self._server.close()

    async def wait_for(self, count: int, timeout: float = 60.0) -> list[Sent]:
        """Wait until `count` activities have arrived; event-driven, not a sleep loop."""
        await self.wait_until(lambda: len(self.sent) >= count, timeout)
        return self.sent

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        """Wait until condition() holds; it is checked whenever a request is answered or held."""
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(condition), timeout)

    def member_of(self, conversation_id: str, user_id: str) -> None:
        """Say whose 1:1 chat a conversation is (for chats the stand-in did not create)."""
        self._members[conversation_id] = user_id.lower()

    def stall_before_accepting(self, after: int) -> None:
        """Once `after` activities are accepted, hold further sends unaccepted."""
        self._stall = ("before", after)

    def stall_after_accepting(self, after: int) -> None:
        """Once `after` activities are accepted, accept further sends but hold their answers."""
        self._stall = ("after", after)

    @property
    def stalled(self) -> int:
        return self._stalled

    def drop_stalled(self) -> None:
        """Stop stalling; held requests end (unaccepted ones are never recorded)."""
        self._stall = None
        self._unstall.set()
        self._unstall = asyncio.Event()

    def _authorised(self, request: web.Request) -> bool:
        if self.tokens is None:
            return True
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme == "Bearer" and token in self.tokens:
            return True
        self.unauthorised += 1
        return False

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _denied()
        self.arrived.append(self.clock())
        refused = self._refuse_first(None)
        if refused is not None:
            return refused
        body = await request.json()
        members = body.get("members") or []
        tenant_id = body.get("tenantId") or ((body.get("channelData") or {}).get("tenant") or {})
        if isinstance(tenant_id, dict):
            tenant_id = tenant_id.get("id")
        if body.get("isGroup") or len(members) != 1 or not tenant_id:
            return _error(400, "BadSyntax", "Incorrect conversation creation parameters")
        user_id = str(members[0].get("id", "")).lower().removeprefix("29:")
        if user_id in self.not_installed:
            return _error(403, "BotNotInConversationRoster", "The bot is not part of the roster.")
        conversation_id = f"a:created-{user_id}"
        self._members[conversation_id] = user_id
        self._count(None)
        async with self._arrived:
            self.created.append(
                Created(user_id, tenant_id, conversation_id, request.headers.get("Authorization"))
            )
            self._arrived.notify_all()
        return web.json_response({"id": conversation_id}, status=201)

    async def _send(self, request: web.Request) -> web.StreamResponse:
        if not self._authorised(request):
            return _denied()
        conversation_id = request.match_info["conversation_id"]
        self.arrived.append(self.clock())
        every = self.throttle_every and next(self._sends) % self.throttle_every == 0
        if self.throttle_next > 0 or every:
            self.throttle_next = max(0, self.throttle_next - 1)
            self.throttled += 1
            return _error(
                429,
                "Throttled",
                "Too many requests",
                headers={"Retry-After": str(self.retry_after_seconds)},
            )
        if request.content_type != "application/json":
            return _error(400, "BadArgument", "Content-Type must be application/json")
        activity = await request.json()
        if not activity.get("type"):
            return _error(400, "BadArgument", "Activity type is required")
        refused = self._refuse_first(conversation_id)
        if refused is not None:
            return refused
        if conversation_id in self.gone:
            return _error(404, "ConversationNotFound", "Conversation not found.")
        user_id = (
            self._members.get(conversation_id)
            or str((activity.get("recipient") or {}).get("aadObjectId") or "").lower()
        )
        if user_id in self.not_installed:
            return _error(403, "BotNotInConversationRoster", "The bot is not part of the roster.")
        if user_id in self.blocked:
            return _error(403, "MessageWritesBlocked", "The user has blocked the bot.")
        if self._stalls("before"):
            await self._hold()
            return _error(503, "ServiceUnavailable", "Try again later")
        stall_answer = self._stalls("after")
        sent = Sent(
            conversation_id=conversation_id,
            activity=activity,
            reply_to=request.match_info.get("activity_id"),
            authorization=request.headers.get("Authorization"),
            at=self.clock(),
        )
        self._count(conversation_id)
        async with self._arrived:
            self.sent.append(sent)
            self._arrived.notify_all()
        if stall_answer:
            await self._hold()
        if self.empty_answers:
            return web.Response(status=200)
        return web.json_response({"id": f"1:{next(self._ids)}"}, status=201)

    def _refuse_first(self, conversation_id: str | None) -> web.Response | None:
        """Injected failures first, then the rate limits, as Teams' front door would."""
        if self.fail_next:
            self.failed += 1
            return _error(self.fail_next.pop(0), "ServiceError", "Something went wrong")
        wait = self._over_limit(conversation_id)
        if wait is not None:
            self.throttled += 1
            self.throttled_by_app_limit += _wait(self._app_log, self.app_limits, self.clock()) > 0
            return _error(
                429,
                "Throttled",
                "Too many requests",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        return None

    def _over_limit(self, conversation_id: str | None) -> float | None:
        """Seconds until the request would fit, or None when it fits now."""
        now = self.clock()
        waits = [_wait(self._app_log, self.app_limits, now)]
        if conversation_id is not None:
            log = self._conversation_logs.get(conversation_id, deque())
            waits.append(_wait(log, self.conversation_limits, now))
        longest = max(waits)
        return longest if longest > 0 else None

    def _count(self, conversation_id: str | None) -> None:
        now = self.clock()
        self._app_log.append(now)
        if conversation_id is not None:
            self._conversation_logs.setdefault(conversation_id, deque()).append(now)

    def _stalls(self, when: str) -> bool:
        if self._stall is None:
            return False
        mode, after = self._stall
        return mode == when and len(self.sent) >= after

    async def _hold(self) -> None:
        unstall = self._unstall
        async with self._arrived:
            self._stalled += 1
            self._arrived.notify_all()
        await unstall.wait()


def _wait(log: deque[float], limits: Limits, now: float) -> float:
    """How long until one more request fits every (count, seconds) window of this log."""
    wait = 0.0
    for count, seconds in limits:
        if len(log) >= count:
            wait = max(wait, log[-count] + seconds - now)
    return wait


def _denied() -> web.Response:
    return web.json_response(
        {"message": "Authorization has been denied for this request."}, status=401
    )


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )
