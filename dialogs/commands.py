"""Chat commands in the personal chat: declared once, matched case-insensitively.

An unknown command gets the help card, never an error. Each command says who
may use it, so the help card lists only what the person can do.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.help import help_card


@dataclass(frozen=True)
class CommandContext:
    session: AsyncSession
    actor_name: str
    staff: Any  # storage.models.Staff, or None when the person is not in the staff list


Handler = Callable[[CommandContext, str], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Command:
    name: str
    meaning: str
    handler: Handler


COMMANDS: list[Command] = []


def command(name: str, meaning: str) -> Callable[[Handler], Handler]:
    """Declare a chat command where it is implemented."""

    def register(handler: Handler) -> Handler:
        COMMANDS.append(Command(name=name, meaning=meaning, handler=handler))
        return handler

    return register


def normalise(text: str) -> str:
    """Lower-case, without @mentions, punctuation at the ends or repeated spaces."""
    text = re.sub(r"<at>.*?</at>", " ", text)
    return " ".join(text.strip().strip(".!?").lower().split())


async def run_command(context: CommandContext, text: str) -> dict[str, Any]:
    said = normalise(text)
    for candidate in sorted(COMMANDS, key=lambda c: len(c.name), reverse=True):
        if said == candidate.name or said.startswith(candidate.name + " "):
            argument = said[len(candidate.name) :].strip()
            return await candidate.handler(context, argument)
    # The text is not echoed back: people sometimes paste case details by mistake.
    return _help(intro="I didn't recognise that. Here is what I can do.")


def _help(intro: str | None = None) -> dict[str, Any]:
    return help_card([(c.name, c.meaning) for c in COMMANDS], intro=intro)


@command("help", "Show this list of what you can ask me.")
async def show_help(context: CommandContext, argument: str) -> dict[str, Any]:
    return _help()
