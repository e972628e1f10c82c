"""Chat commands in the personal chat: declared once, matched case-insensitively.

An unknown command gets the help card, never an error. Each command says who
may use it, so the help card lists only what the person can do, and someone
asking for a command they may not use is told politely who can.

The commands live in their own modules (`dialogs.my_work`,
`dialogs.tracking`), declared with `@command`; importing this module
registers them all.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from cards.help import help_card
from storage.repositories.people import HeldRole, roles_of
from workflow.calendar import Clock, SystemClock
from workflow.roles import Role

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandContext:
    session: AsyncSession
    actor_name: str
    staff: Any  # storage.models.Staff, or None when the person is not in the staff list
    roles: tuple[HeldRole, ...] = ()  # filled in by run_command
    clock: Clock = field(default_factory=SystemClock)
    timezone: str = "Europe/London"
    tracker_url: str | None = None  # the workspace's tracker, when it is deployed

    def now(self) -> datetime:
        return self.clock.now()

    def local_day(self, moment: datetime) -> date:
        """The council's calendar date of an instant (deadlines are stored in UTC)."""
        return moment.astimezone(ZoneInfo(self.timezone)).date()

    def today(self) -> date:
        return self.local_day(self.now())


Handler = Callable[[CommandContext, str], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Command:
    name: str
    meaning: str
    handler: Handler
    roles: frozenset[Role] | None = None  # None: anyone may use it

    def usable_by(self, held: Collection[HeldRole]) -> bool:
        return self.roles is None or any(role.role in self.roles for role in held)

    def who_may_use(self) -> str:
        """ "the Audit Team or the Audit Manager", for a refusal."""
        ordered = [f"the {role.label}" for role in Role if self.roles and role in self.roles]
        if len(ordered) <= 2:
            return " or ".join(ordered)
        return f"{', '.join(ordered[:-1])} or {ordered[-1]}"


COMMANDS: list[Command] = []


def command(
    name: str, meaning: str, *, roles: Collection[Role] | None = None
) -> Callable[[Handler], Handler]:
    """Declare a chat command where it is implemented; `roles` limits who may use it
    (holding any of them, for any service or team)."""

    def register(handler: Handler) -> Handler:
        allowed = frozenset(roles) if roles is not None else None
        COMMANDS.append(Command(name=name, meaning=meaning, handler=handler, roles=allowed))
        return handler

    return register


def clean(text: str) -> str:
    """Without @mentions, punctuation at the ends or repeated spaces; case kept."""
    text = re.sub(r"<at>.*?</at>", " ", text)
    return " ".join(text.strip().strip(".!?").split())


def normalise(text: str) -> str:
    """Lower-case, without @mentions, punctuation at the ends or repeated spaces."""
    return clean(text).lower()


async def run_command(context: CommandContext, text: str) -> dict[str, Any]:
    """Answer one chat message with a card. The argument keeps the case it was typed in."""
    staff = context.staff if context.staff is not None and context.staff.active else None
    held = tuple(await roles_of(context.session, staff.id)) if staff is not None else ()
    context = replace(context, staff=staff, roles=held)
    words = clean(text).split()
    said = [word.lower() for word in words]
    for candidate in sorted(COMMANDS, key=lambda c: len(c.name), reverse=True):
        name = candidate.name.split()
        if said[: len(name)] != name:
            continue
        log.info("command %r staff=%s", candidate.name, staff.id if staff else None)
        if not candidate.usable_by(held):
            return help_for(
                held,
                intro=f"Only {candidate.who_may_use()} can use **{candidate.name}**. "
                "Here is what you can do.",
            )
        return await candidate.handler(context, " ".join(words[len(name) :]))
    # The text is not echoed back: people sometimes paste case details by mistake.
    return help_for(held, intro="I didn't recognise that. Here is what I can do.")


def help_for(held: Sequence[HeldRole], intro: str | None = None) -> dict[str, Any]:
    """The help card listing only the commands this person may use."""
    usable = [(c.name, c.meaning) for c in COMMANDS if c.usable_by(held)]
    return help_card(usable, intro=intro)


@command("help", "Show this list of what you can ask me.")
async def show_help(context: CommandContext, argument: str) -> dict[str, Any]:
    return help_for(context.roles)


# Registers the commands declared in these modules (they import `command` from here).
from dialogs import my_work, tracking  # noqa: E402, F401
