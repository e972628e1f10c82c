"""Card actions (Action.Execute): declared once, each with who may act, answered with a card.

Every card button is a verb with data. The dispatcher is the one place that
checks, before any write, that the person acting is the one the workflow
names; anyone else gets a card saying who can act, and nothing changes.
Each handler runs in one transaction with its audit trail and outbox rows,
and returns the card that replaces the one the person pressed.

Handlers must be safe to repeat: Teams retries invokes, and people press
buttons on old cards. An action that has already happened, or whose card is
out of date, changes nothing and returns the card as things stand now.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.notice import notice_card
from storage.models import Staff
from workflow.rules import ProgrammeRules
from workflow.text import clean_text

log = logging.getLogger(__name__)

MAX_TEXT = 4000  # characters in any free-text answer on a card


class ActionRefused(Exception):
    """The action cannot be done as asked; `card` says why. Raised inside the transaction,
    so whatever the handler had written is rolled back."""

    def __init__(self, title: str, message: str) -> None:
        super().__init__(message)
        self.card = notice_card(title, message)


@dataclass(frozen=True)
class ActionContext:
    session: AsyncSession
    staff: Staff
    data: dict[str, Any]  # the button's data merged with the card's inputs
    now: datetime
    rules: ProgrammeRules

    def text(self, name: str, *, limit: int = MAX_TEXT) -> str:
        """An input's value, stripped; empty when missing. Anything but text, or text
        longer than `limit`, is refused before it is used."""
        value = self.data.get(name)
        if value is None:
            return ""
        if not isinstance(value, str):
            raise ActionRefused("This card is out of date", "Please use the latest card I sent.")
        value = clean_text(value)
        if len(value) > limit:
            raise ActionRefused(
                "That's too long", f"Please keep it under {limit} characters. Nothing was changed."
            )
        return value

    def number(self, name: str) -> int:
        """A whole-number field such as an id; anything else means a tampered or old card."""
        value = self.data.get(name)
        if isinstance(value, bool) or not isinstance(value, int | str):
            value = None
        try:
            number = int(value)  # type: ignore[arg-type]
            if not 0 < number < 2**31:
                raise ValueError
            return number
        except (TypeError, ValueError):
            raise ActionRefused(
                "This card is out of date", "Please use the latest message I sent you."
            ) from None


Loader = Callable[[ActionContext], Awaitable[Any]]
Guard = Callable[[ActionContext, Any], Awaitable[str | None]]
Handler = Callable[[ActionContext, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class CardAction:
    verb: str
    load: Loader  # the subject (audit, cycle, request) the action is about
    refuse: Guard  # None when the person may act, else who may
    handle: Handler


ACTIONS: dict[str, CardAction] = {}


def card_action(verb: str, *, load: Loader, refuse: Guard) -> Callable[[Handler], Handler]:
    """Declare a card action where it is implemented, with what it is about and who may act."""

    def register(handle: Handler) -> Handler:
        if verb in ACTIONS:
            raise ValueError(f"card action {verb!r} declared twice")
        ACTIONS[verb] = CardAction(verb, load, refuse, handle)
        return handle

    return register


async def run_action(context: ActionContext, verb: str) -> dict[str, Any]:
    """Check who is acting, then act; the caller owns the transaction."""
    action = ACTIONS.get(verb)
    if action is None:
        raise ActionRefused(
            "This card is out of date", "That button no longer does anything. Type help."
        )
    subject = await action.load(context)
    if subject is None:
        raise ActionRefused("Not found", "What this card is about no longer exists.")
    who_may = await action.refuse(context, subject)
    if who_may is not None:
        log.info("card action %s refused for staff=%s", verb, context.staff.id)
        raise ActionRefused(
            "This isn't yours to do", f"Only {who_may} can do this. Nothing was changed."
        )
    return await action.handle(context, subject)
