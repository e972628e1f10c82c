"""A plain notice: a heading, a message and, optionally, facts."""

from __future__ import annotations

from collections.abc import Sequence

from microsoft_teams.cards import CardElement

from cards.base import card, facts, heading, paragraph


def notice_card(
    title: str,
    message: str,
    details: Sequence[tuple[str, str]] = (),
    *,
    footnote: str | None = None,
) -> dict:
    body: list[CardElement] = [heading(title), paragraph(message)]
    if details:
        body.append(facts(details))
    if footnote:
        body.append(paragraph(footnote, subtle=True))
    return card(body, fallback=f"{title}: {message}")
