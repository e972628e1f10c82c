"""The help card: what you can say to auditbot."""

from __future__ import annotations

from collections.abc import Sequence

from microsoft_teams.cards import CardElement, Fact, FactSet

from cards.base import card, heading, paragraph


def help_card(commands: Sequence[tuple[str, str]], *, intro: str | None = None) -> dict:
    """List the chat commands, each with what it does. `commands` is (command, meaning)."""
    body: list[CardElement] = [heading("What I can do")]
    if intro:
        body.append(paragraph(intro))
    body.append(
        FactSet(facts=[Fact(title=command, value=meaning) for command, meaning in commands])
    )
    body.append(
        paragraph(
            "Commands are not case-sensitive. I only ever show case references, never a "
            "child's name: please don't paste case details into this chat.",
            subtle=True,
        )
    )
    fallback = "Commands: " + ", ".join(command for command, _ in commands)
    return card(body, fallback=fallback)
