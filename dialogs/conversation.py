"""The entry points the Teams handler calls: messages, greetings, references."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cards.welcome import welcome_card
from dialogs import flows  # noqa: F401 (declares the card actions)
from dialogs.actions import ActionContext, ActionRefused, run_action
from dialogs.commands import CommandContext, run_command
from dialogs.practitioner import reflection_from_chat
from dialogs.reminders import action_progress_from_chat
from storage.repositories.conversations import save_conversation_ref
from storage.repositories.people import get_service, get_staff_by_aad_id, get_team, roles_of
from workflow.calendar import Clock, SystemClock
from workflow.rules import ProgrammeRules
from workflow.text import clean_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Actor:
    """Who is acting, as Teams identifies them. Only aad_object_id is trusted for identity."""

    aad_object_id: str | None
    tenant_id: str | None
    display_name: str


@dataclass(frozen=True)
class Reply:
    """What to say back: text, a card (Adaptive Card JSON), or both."""

    text: str | None = None
    card: dict[str, Any] | None = None


class Conversations:
    """Holds what conversations need (database, rules, clock) and answers turns."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        rules: ProgrammeRules | None = None,
        clock: Clock | None = None,
        before_turn: Callable[[], Awaitable[None]] | None = None,
        tracker_url: str | None = None,
    ) -> None:
        """`before_turn` runs before each turn acts (the demo reads its replayed time);
        `tracker_url` is where `cycle status` links to the workspace."""
        self._tracker_url = tracker_url
        self._sessions = sessions
        self._rules = rules or ProgrammeRules()
        self._clock = clock or SystemClock()
        self._before_turn = before_turn
        self._saved_chats = _SavedChats()
        self._turns = _Turns(sessions)

    async def on_card_action(self, actor: Actor, verb: str, data: dict[str, Any]) -> dict[str, Any]:
        """A card button (Action.Execute): act, or refuse, and return the card to show now.

        A refusal rolls back whatever the action had written, so the person
        acting never leaves anything half-done.
        """
        if self._before_turn is not None:
            await self._before_turn()
        try:
            async with self._sessions() as session, self._turns.turn(), session.begin():
                staff = await _staff_of(session, actor)
                if staff is not None and not staff.active:
                    raise ActionRefused(
                        "You're no longer on auditbot's staff list",
                        "You have left (or been retired from) auditbot's staff list, so you "
                        "can't act on this card; your audits are being handed on. If that's "
                        "wrong, ask your Audit Team. Nothing was changed.",
                    )
                if staff is None:
                    raise ActionRefused(
                        "I don't know you yet",
                        "You're not in auditbot's staff list, so you can't act on this card. "
                        "Ask your Audit Team to add you.",
                    )
                context = ActionContext(
                    session=session,
                    staff=staff,
                    data=data,
                    now=self._clock.now(),
                    rules=self._rules,
                )
                return await run_action(context, verb)
        except ActionRefused as refusal:
            return refusal.card

    async def on_message(self, actor: Actor, text: str) -> Reply:
        """A chat message: a practitioner's answer to an open reflection request, or a command."""
        text = clean_text(text)
        if self._before_turn is not None:
            await self._before_turn()
        async with self._sessions() as session, session.begin():
            answered = await reflection_from_chat(
                session,
                await _staff_of(session, actor),
                text,
                now=self._clock.now(),
                timezone=self._rules.timezone,
            ) or await action_progress_from_chat(  # "done 12": progress on an action
                session,
                await _staff_of(session, actor),
                text,
                now=self._clock.now(),
                rules=self._rules,
            )
        if answered is not None:
            return Reply(card=answered)
        async with self._sessions() as session:
            staff = await _staff_of(session, actor)
            context = CommandContext(
                session=session,
                actor_name=actor.display_name,
                staff=staff,
                clock=self._clock,
                timezone=self._rules.timezone,
                tracker_url=self._tracker_url,
            )
            card = await run_command(context, text)
        return Reply(card=card)

    async def welcome(self, actor: Actor) -> Reply:
        """The greeting on install: who you are in the audit programme."""
        async with self._sessions() as session:
            staff = await _staff_of(session, actor)
            roles = await describe_roles(session, staff.id) if staff else []
            name = staff.display_name if staff else actor.display_name
        log.info("greeting staff=%s known=%s", staff.id if staff else None, staff is not None)
        return Reply(card=welcome_card(name, roles))

    async def remember(
        self, actor: Actor, reference: dict[str, Any], *, installing: bool = False
    ) -> None:
        """Keep the person's conversation reference so auditbot can message them later.

        Every turn calls this; a chat this process saved in the last few minutes is
        not written again (that was a second write transaction on every card press).
        Installing always writes: the outbox may have forgotten the chat since.
        """
        if not actor.aad_object_id or not actor.tenant_id:
            return
        conversation = reference.get("conversation") or {}
        chat = (conversation.get("id", ""), reference.get("serviceUrl", ""))
        key = (actor.aad_object_id.lower(), actor.tenant_id.lower())
        if not installing and self.saved_lately(actor, chat):
            return
        async with self._sessions() as session, self._turns.turn(), session.begin():
            await save_conversation_ref(
                session,
                aad_object_id=actor.aad_object_id,
                tenant_id=actor.tenant_id,
                conversation_id=chat[0],
                service_url=chat[1],
                reference=reference,
            )
        self._saved_chats.saved(key, chat)

    def saved_lately(self, actor: Actor, chat: tuple[str | None, str | None]) -> bool:
        """Whether this process saved this person's chat (conversation id, service URL) in
        the last few minutes: then `remember` has nothing to write, and the caller need not
        even build the reference."""
        if not actor.aad_object_id or not actor.tenant_id:
            return False
        key = (actor.aad_object_id.lower(), actor.tenant_id.lower())
        return self._saved_chats.recently_saved(key, (chat[0] or "", chat[1] or ""))


class _Turns:
    """This process's turns that use the database (card actions, saving a chat) take their
    turn in the order they came, each from BEGIN to COMMIT: one at a time on SQLite, up
    to the connection pool's size at once on PostgreSQL.

    SQLite lets one transaction write at a time (ours take the lock at BEGIN);
    the others poll for it with sleeps of up to 100 ms, so the lock goes to
    whoever polls first, not who came first. At 50 users pressing at once the
    slowest presses waited three times the median; in turn, the p95 halves
    (bench/wizard_step.py).

    PostgreSQL locks rows, so presses run side by side, but not without end: with
    all 50 in flight, each press's seven round trips interleaved with every other's
    and some presses lost out at each one (the slowest took four times the median,
    p95 about 600 ms). Letting in as many as the pool has connections, first come
    first served, takes the p95 to about 390 ms, with the median no slower (the
    pool's overflow stays for the scheduler, the outbox and the workspace).
    """

    DEFAULT_AT_ONCE = 5  # SQLAlchemy's default pool size, for a pool that does not say

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        bind = sessions.kw.get("bind")
        self._at_once = 0 if bind is None else _turns_at_once(bind)
        self._gates: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    def turn(self) -> contextlib.AbstractAsyncContextManager[Any]:
        if not self._at_once:
            return contextlib.nullcontext()
        loop = asyncio.get_running_loop()
        if loop not in self._gates:
            # one loop at a time: drop the last one's
            self._gates = {loop: asyncio.Semaphore(self._at_once)}
        return self._gates[loop]


def _turns_at_once(bind: Any) -> int:
    if bind.dialect.name == "sqlite":
        return 1
    size = getattr(bind.pool, "size", None)
    return size() if callable(size) else _Turns.DEFAULT_AT_ONCE


class _SavedChats:
    """The chats (conversation id, service URL) this process saved per person lately.

    Bounded in time, so a chat the outbox forgot (Teams said it was gone) is saved
    again within minutes at most, and in size, so it cannot grow without end.
    """

    SECONDS = 300.0
    MOST = 10_000

    def __init__(self) -> None:
        self._saved: dict[tuple[str, str], tuple[tuple[str, str], float]] = {}

    def recently_saved(self, key: tuple[str, str], chat: tuple[str, str]) -> bool:
        found = self._saved.get(key)
        return found is not None and found[0] == chat and time.monotonic() - found[1] < self.SECONDS

    def saved(self, key: tuple[str, str], chat: tuple[str, str]) -> None:
        if len(self._saved) >= self.MOST:
            self._saved.clear()
        self._saved[key] = (chat, time.monotonic())


async def describe_roles(session: AsyncSession, staff_id: int) -> list[tuple[str, str]]:
    """Each role someone holds as (label, where), e.g. ("Auditor", "Children's Social Care")."""
    described = []
    for held in await roles_of(session, staff_id):
        if held.team_id is not None:
            team = await get_team(session, held.team_id)
            where = team.name if team else held.scope_code
        else:
            service = await get_service(session, held.service_id)
            where = service.name if service else held.scope_code
        described.append((held.role.label, where))
    return described


async def _staff_of(session: AsyncSession, actor: Actor) -> Any:
    if not actor.aad_object_id:
        return None
    return await get_staff_by_aad_id(session, actor.aad_object_id)
