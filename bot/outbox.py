"""The outbox sender: delivers outbox rows to Teams in the background, each once.

One loop claims due rows a batch at a time, groups them into deliveries
(bundles go as one message), and starts each delivery when its conversation
may take a message; every HTTP request then waits its turn under the app-wide
limit. A delivery finds the person's stored 1:1 chat or creates it, sends,
and records the outcome at once in its own transaction. Retries go back to
the database with a `next_attempt_at`, so a restart keeps them; nothing is
slept on in memory but the next rate-limit slot.

Exactly once, and where that stops. A row is claimed (committed) just before
it is sent, so:
- a crash before the claim, or between the claim and the request, or after a
  refused request, loses nothing and duplicates nothing: the claim goes stale,
  `release_stale_claims` returns the row to the queue after
  `claim_timeout_seconds`, and it is sent then, for the first time;
- on PostgreSQL several senders share the outbox: claims skip rows locked by
  another (SKIP LOCKED) and are conditional updates, and outcomes are
  recorded only under the claim they were taken with. Each claim has its own
  token (`claimed_by`, the sender's name and a number), so an outcome for an
  old claim can never undo a newer one, not even the same sender's;
- a claim never expires under a live sender. A send-and-record can take two
  requests (creating a chat, then sending) and two database writes (saving
  the chat, recording the outcome), each bounded: `send_budget`, which
  Settings requires to be less than `claim_timeout`. A send starts only
  while its claim has that long left, and rows waiting in the sender's queue
  (for a person's rate limit, say) are handed back by the sender itself
  before they come that close to expiring.
What remains: Teams' Bot Connector has no idempotency key. If the process
dies after Teams accepted a message and before the "sent" commit (one HTTP
response and one small UPDATE, committed per delivery), the message is sent
again after the restart: at most `concurrency` messages per crashed sender,
those it had in flight. A request that fails ambiguously (read timeout, reset
connection, a 5xx from a gateway after the service took it) is sent again
too: at most once more per such failure. Those sends are logged as possibly
repeated; nothing is ever lost. Claims expire by wall-clock time, so sender
hosts' clocks must agree to well within `claim_timeout - send_budget`, and a
sender frozen longer than that (a paused VM) may find another has already
sent its rows.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import secrets
import socket
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationReference,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import send_budget
from bot.connector import BotConnector, ConnectorError
from bot.delivery import (
    UNREACHABLE_REASONS,
    Delivery,
    RetryPolicy,
    Row,
    Verdict,
    build_activity,
    group_into_deliveries,
    judge,
    limit_key,
    queue_undelivered_notices,
)
from bot.ratelimit import Clock, RateLimiter, SystemClock, Ticket, Window, parse_windows
from storage.db import SQLITE_BUSY_TIMEOUT_SECONDS
from storage.models import ConversationRef, Staff
from storage.outage import Outage
from storage.repositories.conversations import (
    forget_conversation_ref,
    get_conversation_ref,
    save_conversation_ref,
)
from storage.repositories.outbox import (
    WAITING_FOR_A_CHAT,
    claim_due_messages,
    count_due_messages,
    mark_failed,
    mark_sent,
    mark_unreachable,
    recent_sends,
    recipient_chats,
    release_claims,
    release_stale_claims,
    retry_later,
)
from storage.repositories.people import get_staff
from telemetry import otel
from telemetry.logs import log_context

log = logging.getLogger(__name__)

TEAMS_LIMITS_PER_CONVERSATION = (Window(7, 1), Window(8, 2), Window(60, 30), Window(1800, 3600))
TEAMS_LIMITS_PER_APP = (Window(50, 1),)


@dataclass(frozen=True)
class SenderOptions:
    """How the sender behaves; `from_settings` reads them from the AUDITBOT_OUTBOX_* settings."""

    tenant_id: str = ""
    default_service_url: str = "https://smba.trafficmanager.net/uk/"
    app_windows: tuple[Window, ...] = TEAMS_LIMITS_PER_APP
    conversation_windows: tuple[Window, ...] = TEAMS_LIMITS_PER_CONVERSATION
    margin_seconds: float = 0.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    claim_timeout_seconds: float = 120.0
    request_timeout_seconds: float = 30.0
    # The longest one database write may wait for another's lock (SQLite's busy timeout).
    database_wait_seconds: float = SQLITE_BUSY_TIMEOUT_SECONDS
    concurrency: int = 16
    poll_seconds: float = 1.0
    batch_size: int = 50
    horizon_seconds: float = 1.0
    # Without a tenant to create a chat in (demo mode), how long to wait between tries for
    # someone to open one; talking to the bot brings their messages forward at once.
    wait_for_chat_seconds: float = 3600.0

    def __post_init__(self) -> None:
        if self.claim_timeout_seconds <= self.send_budget:
            raise ValueError(
                f"claim_timeout_seconds ({self.claim_timeout_seconds:g}) must be more than the "
                f"send budget ({self.send_budget:g}), or every claim would be handed back unsent"
            )

    @property
    def send_budget(self) -> float:
        """The longest a send-and-record can take once started (bot.config.send_budget)."""
        return send_budget(self.request_timeout_seconds, self.database_wait_seconds)

    @classmethod
    def from_settings(cls, settings: Any) -> SenderOptions:
        return cls(
            tenant_id=settings.tenant_id,
            default_service_url=settings.teams_service_url,
            app_windows=parse_windows(settings.outbox_app_limits),
            conversation_windows=parse_windows(settings.outbox_conversation_limits),
            margin_seconds=settings.outbox_limit_margin_seconds,
            retry=RetryPolicy(
                max_attempts=settings.outbox_max_attempts,
                base_seconds=settings.outbox_backoff_seconds,
                max_seconds=settings.outbox_backoff_max_seconds,
            ),
            claim_timeout_seconds=settings.outbox_claim_timeout_seconds,
            request_timeout_seconds=settings.outbox_request_timeout_seconds,
            database_wait_seconds=settings.database_busy_timeout_seconds,
            concurrency=settings.outbox_concurrency,
            poll_seconds=settings.outbox_poll_seconds,
            batch_size=max(settings.outbox_concurrency, _per_second(settings.outbox_app_limits)),
        )


class ClaimTooOld(Exception):
    """The rows' claim is too close to expiring to start a send on it."""


@dataclass(frozen=True)
class Target:
    """Where a delivery goes: a conversation at a service URL, and who is in it."""

    service_url: str
    conversation_id: str
    reference: dict[str, Any] | None
    person: Staff | None
    tenant_id: str | None = None


class OutboxSender:
    """Delivers the outbox. `start`/`stop` run it in the background; `drain` runs it until
    nothing is due (tests and benchmarks)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        connector: BotConnector,
        options: SenderOptions | None = None,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        worker: str | None = None,
    ) -> None:
        self._sessions = sessions
        self._connector = connector
        self._options = options or SenderOptions()
        self._clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._claims = itertools.count(1)
        self._limiter = RateLimiter(
            self._options.app_windows,
            self._options.conversation_windows,
            margin=self._options.margin_seconds,
            pending=self._options.request_timeout_seconds,
        )
        self._queue: list[Delivery] = []
        self._recipients: dict[int, tuple[Staff, ConversationRef | None]] = {}
        self._sending: dict[asyncio.Task[None], Delivery] = {}
        self._wake = asyncio.Event()
        self._never = asyncio.Event()
        self._answered = asyncio.Event()
        self._gate = asyncio.Lock()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._next_poll = float("-inf")
        self._next_sweep = float("-inf")
        self._outage = Outage(
            "the outbox sender", first_wait=self._options.poll_seconds, longest=60.0
        )

    async def start(self) -> None:
        """Run in the background until `stop`, counting first what was sent lately."""
        self._stopping = False
        await self._recall_recent_sends()
        self._task = asyncio.create_task(self._run(until_idle=False), name="outbox-sender")

    async def stop(self) -> None:
        """Claim nothing more, let sends under way finish and record, hand back the rest."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _recall_recent_sends(self) -> None:
        """Put what was sent within the longest window (by another instance that sent before
        this one took over, or by this process before a restart) in the limits' windows, so
        a new sender keeps each chat's limits from its first request, not an hour later."""
        now, mono = self._clock.now(), self._clock.monotonic()
        since = now - timedelta(seconds=self._limiter.longest_window)
        try:
            async with self._sessions() as session:
                sent = await recent_sends(session, since)
        except Exception as error:  # the loop's own backoff reports a failing database
            log.warning(
                "could not read recent sends (%s); the limits start empty", type(error).__name__
            )
            return
        for recipient_id, conversation, at in sent:
            at_mono = mono - (now - at).total_seconds()
            self._limiter.remember(limit_key(recipient_id, conversation), at_mono)
        if sent:
            log.info("outbox: %d messages of the last hour counted in the limits", len(sent))

    async def drain(self) -> None:
        """Deliver until nothing is due now and nothing is under way."""
        self._stopping = False
        self._next_poll = float("-inf")
        await self._run(until_idle=True)

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def in_flight(self) -> int:
        """Deliveries started and not yet recorded."""
        return len(self._sending)

    def wake(self) -> None:
        """Look for due rows now rather than at the next poll (e.g. just after queueing some)."""
        self._next_poll = float("-inf")
        self._wake.set()

    async def _run(self, *, until_idle: bool) -> None:
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    claimed = await self._step()
                    if until_idle and await self._idle(claimed):
                        return
                except Exception:  # the database went away, a bug: log, back off, carry on
                    wait = self._outage.failed(self._clock.monotonic(), log)
                    self._next_poll = self._clock.monotonic() + wait
                    self._next_sweep = max(self._next_sweep, self._next_poll)
                else:
                    self._outage.succeeded(self._clock.monotonic(), log)
                now = self._clock.monotonic()
                await self._clock.wait(self._wake, self._seconds_to_next(now))
        finally:
            await self._settle()

    async def _step(self) -> int:
        now = self._clock.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + max(1.0, self._options.claim_timeout_seconds / 4)
            self._limiter.forget_idle(now)
            await self._release_stale()
            if otel.enabled():
                async with self._sessions() as session:
                    otel.set_queue_depth(await count_due_messages(session, self._clock.now()))
        await self._release_expiring()
        claimed = 0
        if now >= self._next_poll and len(self._queue) < self._options.batch_size:
            claimed = await self._claim(now)
        self._dispatch(self._clock.monotonic())
        return claimed

    async def _idle(self, claimed: int) -> bool:
        if self._queue or self._sending or claimed:
            return False
        async with self._sessions() as session:
            return await count_due_messages(session, self._clock.now()) == 0

    async def _claim(self, now: float) -> int:
        waiting = Counter(d.key for d in [*self._queue, *self._sending.values()])
        busy = self._limiter.busy_conversations(now, self._options.horizon_seconds, waiting)
        limit = self._options.batch_size - len(self._queue)
        skip = {int(key.split(":")[1]) for key in busy if key.startswith("staff:")}
        claim = f"{self.worker}#{next(self._claims)}"
        async with self._sessions.begin() as session:
            messages = await claim_due_messages(
                session, claim, self._clock.now(), limit, skip_recipients=skip
            )
            rows = [Row.of(message) for message in messages]
            recipients = {row.recipient_id for row in rows if row.recipient_id is not None}
            tenant = self._options.tenant_id or None
            self._recipients.update(await recipient_chats(session, recipients, tenant))
        self._queue.extend(group_into_deliveries(rows))
        if len(rows) >= limit:
            self._next_poll = now
        else:
            self._next_poll = now + self._options.poll_seconds
            for key in busy:
                ready = self._limiter.conversation_ready_at(key, now, waiting.get(key, 0))
                self._next_poll = min(self._next_poll, ready)
        return len(rows)

    def _dispatch(self, now: float) -> None:
        """Start the deliveries whose conversation may take a message now, oldest first,
        one at a time per conversation so a person's messages keep their order."""
        sending = {delivery.key for delivery in self._sending.values()}
        for delivery in list(self._queue):
            if len(self._sending) >= self._options.concurrency:
                break
            if delivery.key in sending:
                continue
            if self._limiter.conversation_ready_at(delivery.key, now) > now:
                continue
            self._queue.remove(delivery)
            sending.add(delivery.key)
            task = asyncio.create_task(self._deliver(delivery))
            self._sending[task] = delivery
            task.add_done_callback(self._delivered)

    def _delivered(self, task: asyncio.Task[None]) -> None:
        self._sending.pop(task, None)
        self._wake.set()

    def _seconds_to_next(self, now: float) -> float:
        deadlines = [self._next_sweep, now + self._seconds_until_a_claim_expires()]
        if len(self._queue) < self._options.batch_size:
            deadlines.append(self._next_poll)
        if len(self._sending) < self._options.concurrency:
            sending = {delivery.key for delivery in self._sending.values()}
            deadlines += [
                self._limiter.conversation_ready_at(d.key, now)
                for d in self._queue
                if d.key not in sending
            ]
        return max(0.0, min(deadlines) - now)

    @asynccontextmanager
    async def _slot(self, delivery: Delivery, key: str | None) -> AsyncIterator[Callable[[], None]]:
        """Held from just before a request leaves until its answer is back: waits for the next
        slot under the limits, and refuses (ClaimTooOld, nothing sent) if the rows' claim might
        not outlast the request. Yields what the connector calls, on its worker thread, when
        the answer arrives: that moment, not when the event loop gets to it, ends the request
        for the limits."""
        ticket = await self._acquire(key)
        clock = self._clock
        try:
            if not self._claim_is_safe(delivery):
                raise ClaimTooOld(delivery.ids)
            yield lambda: ticket.done(clock.monotonic())
        finally:
            ticket.done(self._clock.monotonic())
            self._answered.set()

    async def _acquire(self, key: str | None) -> Ticket:
        """Wait for the next slot under the app's and the conversation's limits, first come first
        served, and take it. An answer coming back can bring the slot forward."""
        async with self._gate:
            while True:
                self._answered.clear()
                now = self._clock.monotonic()
                at = self._limiter.earliest(key, now)
                if at <= now:
                    return self._limiter.record(key, now)
                await self._clock.wait(self._answered, at - now)

    async def _deliver(self, delivery: Delivery) -> None:
        attributes = {"auditbot.outbox.messages": len(delivery.ids)}
        with (
            log_context(outbox_ids=list(delivery.ids)),
            otel.tracer.start_as_current_span("outbox deliver", attributes=attributes),
        ):
            await self._deliver_logged(delivery)

    async def _deliver_logged(self, delivery: Delivery) -> None:
        started = self._clock.monotonic()
        try:
            accepted = await self._send(delivery)
        except ClaimTooOld:
            await self._guarded(self._release(delivery), delivery)
            return
        except Exception as error:  # a bug or the database: keep the rows and try again later
            log.exception("outbox delivery failed: messages=%s", delivery.ids)
            await self._guarded(self._retry(delivery, type(error).__name__, None, None), delivery)
            return
        if accepted:
            otel.OUTBOX_SEND_DURATION.record(self._clock.monotonic() - started)
            otel.OUTBOX_SENT.add(len(delivery.ids))
            await self._record_sent(delivery)

    async def _send(self, delivery: Delivery) -> bool:
        """True when Teams accepted the message; False when a refusal was recorded instead."""
        target = await self._target(delivery)
        if target is None:
            return False
        activity = addressed(build_activity(delivery.rows), target)
        try:
            await self._connector.send(
                target.service_url,
                target.conversation_id,
                activity,
                slot=self._slot(delivery, delivery.key),
            )
        except ConnectorError as error:
            await self._refused(delivery, error, target.person, creating=False, target=target)
            return False
        return True

    async def _guarded(self, recording: Awaitable[None], delivery: Delivery) -> None:
        try:
            await recording
        except Exception:
            log.exception("could not record the outcome: messages=%s", delivery.ids)

    async def _target(self, delivery: Delivery) -> Target | None:
        """The conversation to send to: the stored one, or a new 1:1 chat, or None if recorded
        as undeliverable."""
        row = delivery.first
        if row.recipient_id is None:
            if not row.conversation_key:
                await self._record_failed(delivery, "no recipient", None)
                return None
            url = self._options.default_service_url
            return Target(url, row.conversation_key, None, None)
        tenant = self._options.tenant_id or None
        # Read with the claim; used once, since sending may create the chat it lacked.
        person, stored = self._recipients.pop(row.recipient_id, (None, None))
        if person is None:
            async with self._sessions() as session:
                person = await get_staff(session, row.recipient_id)
                assert person is not None  # outbox.recipient_id is a foreign key
                stored = await get_conversation_ref(session, person.aad_object_id, tenant)
        if not person.active:
            # Queued before they left (dialogs/leavers.py): not sent, and the Audit Team is told.
            await self._record_unreachable(delivery, person, "left", "retired")
            return None
        if stored is not None:
            return Target(
                stored.service_url,
                stored.conversation_id,
                stored.reference,
                person,
                stored.tenant_id,
            )
        if tenant is None:
            await self._wait_for_chat(delivery, person)
            return None
        try:
            conversation_id, service_url = await self._connector.create_personal_conversation(
                self._options.default_service_url,
                tenant,
                person.aad_object_id,
                slot=self._slot(delivery, None),
            )
        except ConnectorError as error:
            await self._refused(delivery, error, person, creating=True)
            return None
        reference = personal_reference(
            person, tenant, conversation_id, service_url, self._connector.app_id
        )
        async with self._sessions.begin() as session:
            await save_conversation_ref(
                session, person.aad_object_id, tenant, conversation_id, service_url, reference
            )
        log.info("created the 1:1 chat with staff=%s", person.id)
        return Target(service_url, conversation_id, reference, person, tenant)

    def _claim_left(self, delivery: Delivery) -> float:
        """Seconds until a sweeper may release the delivery's claim."""
        age = (self._clock.now() - delivery.claimed_at).total_seconds()
        return self._options.claim_timeout_seconds - age

    def _claim_is_safe(self, delivery: Delivery) -> bool:
        """Whether the send, and recording it, surely end before a sweeper may release the claim."""
        return self._claim_left(delivery) > self._options.send_budget

    def _seconds_until_a_claim_expires(self) -> float:
        """Until the first queued delivery may no longer start (then it is handed back)."""
        budget = self._options.send_budget
        return max(0.0, min((self._claim_left(d) - budget for d in self._queue), default=3600.0))

    async def _release_expiring(self) -> None:
        """Hand back the queued deliveries that can no longer start in time, before a sweeper
        could take their claims from under this live sender."""
        expiring = [delivery for delivery in self._queue if not self._claim_is_safe(delivery)]
        if not expiring:
            return
        for delivery in expiring:
            self._queue.remove(delivery)
        async with self._sessions.begin() as session:
            for delivery in expiring:
                await release_claims(session, delivery.ids, delivery.claim)
        log.info("handed back messages=%s still waiting their turn", [d.ids for d in expiring])
        self._next_poll = float("-inf")

    async def _refused(
        self,
        delivery: Delivery,
        error: ConnectorError,
        person: Staff | None,
        *,
        creating: bool,
        target: Target | None = None,
    ) -> None:
        verdict, why = judge(error, creating=creating)
        if error.uncertain:
            log.warning("send may have reached Teams: messages=%s (%s)", delivery.ids, error.reason)
        if verdict is Verdict.RETRY:
            await self._retry(delivery, error.reason, error.retry_after, person)
        elif verdict is Verdict.CONVERSATION_GONE and person is not None and target is not None:
            async with self._sessions.begin() as session:
                await forget_conversation_ref(
                    session, person.aad_object_id, target.tenant_id or "", target.conversation_id
                )
            await self._retry(delivery, error.reason, None, person, at_once=True)
        elif verdict is Verdict.UNREACHABLE and why is not None:
            await self._record_unreachable(delivery, person, why, error.reason)
        else:
            await self._record_failed(delivery, error.reason, person)

    async def _record_sent(self, delivery: Delivery) -> None:
        """Record the delivery at once: until this commits, a crash means sending it again.

        A failing database is retried briefly here, never by sending again, and only while
        the claim surely outlasts another try.
        """
        wait = self._options.database_wait_seconds
        for pause in (0.2, 1.0, 3.0, None):
            try:
                async with self._sessions.begin() as session:
                    recorded = await mark_sent(
                        session, delivery.ids, self._clock.now(), claim=delivery.claim
                    )
            except Exception:
                if pause is None or self._claim_left(delivery) <= pause + wait:
                    log.exception(
                        "sent but not recorded: messages=%s will be sent again when the claim "
                        "expires",
                        delivery.ids,
                    )
                    return
                log.warning("could not record sent messages=%s yet; retrying", delivery.ids)
                await self._clock.wait(self._never, pause)
                continue
            if recorded:
                log.debug("sent messages=%s", delivery.ids)
            else:
                log.error(
                    "sent, but the claim was gone: messages=%s may be sent again", delivery.ids
                )
            return

    async def _retry(
        self,
        delivery: Delivery,
        reason: str,
        retry_after: float | None,
        person: Staff | None,
        *,
        at_once: bool = False,
    ) -> None:
        delay = self._options.retry.delay(delivery.attempts, retry_after, self._rng)
        if delay is not None and at_once:
            delay = 0.0
        if delay is None:
            given_up = f"{reason} (gave up after {delivery.attempts} attempts)"
            await self._record_failed(delivery, given_up, person)
            return
        otel.OUTBOX_RETRIES.add(1, {"reason": _reason_kind(reason)})
        if reason.startswith("HTTP 429"):
            otel.OUTBOX_THROTTLED.add(1)
        if retry_after is not None and reason.startswith("HTTP 429"):
            self._limiter.hold(delivery.key, self._clock.monotonic() + retry_after)
        at = self._clock.now() + timedelta(seconds=delay)
        async with self._sessions.begin() as session:
            await retry_later(session, delivery.ids, reason, at, claim=delivery.claim)
        log.info("will retry messages=%s in %.1fs (%s)", delivery.ids, delay, reason)
        if delay < self._options.poll_seconds:
            self.wake()

    async def _wait_for_chat(self, delivery: Delivery, person: Staff) -> None:
        """No chat with the person and none can be created: wait for them to open one, a
        bounded number of times, then record them as unreachable."""
        wait = self._options.wait_for_chat_seconds
        if self._options.retry.delay(delivery.attempts, wait, self._rng) is None:
            await self._record_unreachable(delivery, person, "no_tenant", "no conversation")
            return
        at = self._clock.now() + timedelta(seconds=wait)
        async with self._sessions.begin() as session:
            await retry_later(session, delivery.ids, WAITING_FOR_A_CHAT, at, claim=delivery.claim)
        log.info("waiting for staff=%s to open a chat: messages=%s", person.id, delivery.ids)

    async def _record_unreachable(
        self, delivery: Delivery, person: Staff | None, why: str, reason: str
    ) -> None:
        await self._give_up(delivery, person, f"{reason} ({why})", UNREACHABLE_REASONS[why], True)

    async def _record_failed(self, delivery: Delivery, reason: str, person: Staff | None) -> None:
        problem = f"Teams refused it ({reason})"
        await self._give_up(delivery, person, reason, problem, False)

    async def _give_up(
        self,
        delivery: Delivery,
        person: Staff | None,
        reason: str,
        problem: str,
        unreachable: bool,
    ) -> None:
        """Record that the rows will not be delivered and, in the same transaction, tell the
        Audit Team, so nothing is dropped without someone knowing."""
        mark = mark_unreachable if unreachable else mark_failed
        outcome = "unreachable" if unreachable else "failed"
        otel.OUTBOX_GIVEN_UP.add(len(delivery.ids), {"outcome": outcome})
        told = 0
        async with self._sessions.begin() as session:
            if person is None and delivery.first.recipient_id is not None:
                person = await get_staff(session, delivery.first.recipient_id)
            if await mark(session, delivery.ids, reason, claim=delivery.claim):
                for row in delivery.rows:
                    told += await queue_undelivered_notices(session, row, person, problem)
        log.warning(
            "not delivered: messages=%s staff=%s %s: %s; audit team notices=%d",
            delivery.ids,
            person.id if person else None,
            "unreachable" if unreachable else "failed",
            reason,
            told,
        )
        if told:
            self.wake()

    async def _release(self, delivery: Delivery) -> None:
        async with self._sessions.begin() as session:
            await release_claims(session, delivery.ids, delivery.claim)
        self.wake()

    async def _release_stale(self) -> None:
        before = self._clock.now() - timedelta(seconds=self._options.claim_timeout_seconds)
        async with self._sessions.begin() as session:
            released = await release_stale_claims(session, before)
        if released:
            log.warning(
                "released %d messages claimed by a sender that stopped; sending them again "
                "(any it had already handed to Teams will arrive twice)",
                released,
            )
            self._next_poll = float("-inf")

    async def _settle(self) -> None:
        """On the way out: wait for sends under way to finish and record, hand back the rest."""
        if self._sending:
            await asyncio.wait(list(self._sending), timeout=self._options.send_budget + 5)
        queued, self._queue = self._queue, []
        self._recipients.clear()
        if queued:
            async with self._sessions.begin() as session:
                for delivery in queued:
                    await release_claims(session, delivery.ids, delivery.claim)


def addressed(activity: Activity, target: Target) -> Activity:
    """The activity addressed to the target conversation as a proactive message (no reply-to)."""
    if target.reference:
        reference = ConversationReference.deserialize(target.reference)
        TurnContext.apply_conversation_reference(activity, reference)
        activity.reply_to_id = None
    else:
        activity.conversation = ConversationAccount(id=target.conversation_id)
        activity.service_url = target.service_url
    return activity


def personal_reference(
    person: Staff, tenant_id: str, conversation_id: str, service_url: str, app_id: str
) -> dict[str, Any]:
    """A conversation reference for a 1:1 chat the bot created, as `remember` stores one."""
    reference = ConversationReference(
        user=ChannelAccount(id=person.aad_object_id, aad_object_id=person.aad_object_id),
        bot=ChannelAccount(id=f"28:{app_id}" if app_id else "auditbot"),
        conversation=ConversationAccount(
            id=conversation_id, conversation_type="personal", tenant_id=tenant_id, is_group=False
        ),
        channel_id="msteams",
        service_url=service_url,
    )
    serialized: dict[str, Any] = reference.serialize()
    return serialized


def _reason_kind(reason: str) -> str:
    """A retry's reason as a metric attribute: "HTTP 429", or the error's kind; no detail."""
    words = reason.split()
    if len(words) >= 2 and words[0] == "HTTP":
        return f"HTTP {words[1]}"
    return words[0][:40] if words else "unknown"


def _per_second(limits: str) -> int:
    """Requests a second the app windows allow (the batch to claim at a time)."""
    return max(1, int(min(w.count / w.seconds for w in parse_windows(limits))))
