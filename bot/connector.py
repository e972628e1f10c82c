"""The Bot Connector edge for proactive messages: send, create a 1:1 chat, say how it failed.

It uses botframework-connector's ConnectorClient with the credentials the
CloudAdapter's connector factory issues, so the bot signs proactive messages
exactly as it signs replies (and, in demo mode, sends them without a token).

What botframework-connector 4.17.1 with msrest 0.7.1 does, and why this
module does not call it the obvious way:

- The async ConnectorClient (`botframework.connector.aio`, what the factory
  returns and what `CloudAdapter.continue_conversation` uses) is `requests`
  run in the event loop's default thread pool. The request is signed on the
  event loop: `AppCredentials.signed_session` calls MSAL's
  `acquire_token_for_client`, a synchronous HTTPS call to Entra whenever
  MSAL's cache is empty, and the factory makes new credentials (a new, empty
  cache) for every client. `continue_conversation` makes a client per call, so
  each proactive message would freeze the bot for a token round trip.
- msrest attaches a urllib3 retry policy to the session (every 5xx). Under
  urllib3 2 it no longer covers POST, under urllib3 1 it would retry POSTs
  silently, sleeping in a thread and hiding the status from us.
- A failure raises `ErrorResponseException` whose `.response` is the
  `requests.Response`: the status, the `Retry-After` header and the body with
  Teams' error code are all there.

So each call runs the synchronous ConnectorClient in this module's own
bounded thread pool (signing included, so the loop never blocks), with
credentials made once per service URL (one MSAL cache, one token an hour), a
request timeout, and the SDK's retries off: the outbox decides retries and
keeps them in the database. Clients are leased from a pool, one caller at a
time each (msrest sessions are not thread-safe), and made ready before the
caller's `slot` is entered, so the slot is held from the moment the request
leaves to the moment its answer is back, not from a client construction
earlier.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import requests
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ChannelAccount, ConversationParameters
from botframework.connector import ConnectorClient
from msrest.exceptions import ClientRequestError, HttpOperationError

log = logging.getLogger(__name__)

T = TypeVar("T")
# Entered just before a request leaves, left once it is over; it may yield a function the
# connector calls, on its worker thread, the moment the answer is back.
Slot = AbstractAsyncContextManager[Callable[[], None] | None]


class ConnectorError(Exception):
    """The Bot Connector refused or could not be reached; never carries message content.

    `status` is None when no HTTP answer came back. `uncertain` is True when the
    request may have reached Teams before the failure (a read timeout, a reset
    connection), so trying again might deliver it twice.
    """

    def __init__(
        self,
        status: int | None,
        code: str | None = None,
        *,
        sub_code: str | None = None,
        retry_after: float | None = None,
        uncertain: bool = False,
    ) -> None:
        self.status = status
        self.code = code
        self.sub_code = sub_code
        self.retry_after = retry_after
        self.uncertain = uncertain
        super().__init__(self.reason)

    @property
    def reason(self) -> str:
        """What to record: `HTTP 403 MessageWritesBlocked`, or the transport error's type."""
        if self.status is None:
            return self.code or "no response"
        codes = " ".join(c for c in (self.code, self.sub_code) if c)
        return f"HTTP {self.status} {codes}".rstrip()


class BotConnector:
    """Proactive calls to the Bot Connector, off the event loop."""

    def __init__(
        self, adapter: CloudAdapter, app_id: str, *, workers: int = 16, timeout: float = 30.0
    ) -> None:
        self.app_id = app_id
        self._factory = adapter.bot_framework_authentication.create_connector_factory(
            adapter.create_claims_identity(app_id)
        )
        self._timeout = timeout
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bot-connector")
        self._credentials: dict[str, Any] = {}
        self._idle: dict[str, list[ConnectorClient]] = {}
        self._clients: list[ConnectorClient] = []

    async def send(
        self,
        service_url: str,
        conversation_id: str,
        activity: Activity,
        *,
        slot: Slot | None = None,
    ) -> str | None:
        """Append the activity to the conversation; returns the id Teams gave it.

        `slot` is entered just before the request leaves and left when its
        answer is back (a rate-limit slot); if entering raises, nothing is sent.
        If it yields a function, that is called on the worker thread as soon as
        the answer arrives, before the event loop hears of it.
        """

        def call(client: ConnectorClient) -> str | None:
            # Teams answers with the new activity's id; some channels (the Agents
            # Playground) accept with an empty body. Either way the message is delivered,
            # and treating the empty answer as a failure would send it again.
            answer = client.conversations.send_to_conversation(conversation_id, activity)
            return answer.id if answer is not None else None

        return await self._run(service_url, call, slot)

    async def create_personal_conversation(
        self,
        service_url: str,
        tenant_id: str,
        user_id: str,
        *,
        slot: Slot | None = None,
    ) -> tuple[str, str]:
        """The 1:1 chat between the bot and a user (Teams answers the same one again if it exists).

        `user_id` is the user's Entra object id or their `29:` id. Returns the
        conversation id and the service URL to use for it.
        """
        parameters = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=f"28:{self.app_id}") if self.app_id else None,
            members=[ChannelAccount(id=user_id)],
            tenant_id=tenant_id,
            channel_data={"tenant": {"id": tenant_id}},
        )

        def call(client: ConnectorClient) -> tuple[str, str]:
            created = client.conversations.create_conversation(parameters)
            return created.id, created.service_url or service_url

        return await self._run(service_url, call, slot)

    def close(self) -> None:
        """Stop the threads once running calls end, and close the HTTP sessions."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        for client in self._clients:
            client.close()
        self._clients.clear()
        self._idle.clear()

    async def _run(
        self, service_url: str, call: Callable[[ConnectorClient], T], slot: Slot | None
    ) -> T:
        client = await self._lease(service_url)
        try:
            async with slot or nullcontext() as answered:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(
                    self._pool, _call_in_thread, client, call, answered
                )
        finally:
            self._idle.setdefault(service_url, []).append(client)

    async def _lease(self, service_url: str) -> ConnectorClient:
        idle = self._idle.get(service_url)
        if idle:
            return idle.pop()
        credentials = await self._credentials_for(service_url)
        loop = asyncio.get_running_loop()
        client = await loop.run_in_executor(self._pool, self._new_client, service_url, credentials)
        self._clients.append(client)
        return client

    async def _credentials_for(self, service_url: str) -> Any:
        credentials = self._credentials.get(service_url)
        if credentials is None:
            # The async client is only asked for its credentials; it never sends.
            client = await self._factory.create(service_url, None)
            credentials = client.config.credentials
            self._credentials[service_url] = credentials
        return credentials

    def _new_client(self, service_url: str, credentials: Any) -> ConnectorClient:
        client = ConnectorClient(credentials, base_url=service_url)
        client.config.retry_policy.retries = 0
        client.config.connection.timeout = self._timeout
        return client


def _call_in_thread(
    client: ConnectorClient,
    call: Callable[[ConnectorClient], T],
    answered: Callable[[], None] | None,
) -> T:
    try:
        try:
            return call(client)
        finally:
            if answered is not None:
                answered()
    except HttpOperationError as error:
        raise error_from_response(error.response) from None
    except ClientRequestError as error:
        inner = getattr(error, "inner_exception", None) or error
        raise ConnectorError(None, type(inner).__name__, uncertain=not _never_sent(inner)) from None


def error_from_response(response: Any) -> ConnectorError:
    """Status, Teams' error code (and subCode) and Retry-After from a failed response."""
    code = sub_code = None
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        error = error if isinstance(error, dict) else {}
        code = _text(error.get("code"))
        sub_code = _text(error.get("subCode") or body.get("subCode"))
    return ConnectorError(
        int(response.status_code),
        code,
        sub_code=sub_code,
        retry_after=parse_retry_after(response.headers.get("Retry-After")),
    )


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _text(value: object) -> str | None:
    return value[:64] if isinstance(value, str) and value else None


def _never_sent(error: BaseException) -> bool:
    """True when the failure happened before any byte of the request left (connecting)."""
    seen: BaseException | None = error
    for _ in range(6):
        if seen is None:
            return False
        if isinstance(seen, requests.exceptions.ConnectTimeout):
            return True
        if type(seen).__name__ in ("NewConnectionError", "NameResolutionError"):
            return True
        reason = getattr(seen, "reason", None)
        nested = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = reason if isinstance(reason, BaseException) else nested or seen.__cause__
    return False
