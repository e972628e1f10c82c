"""What every auditbot card shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from microsoft_teams.cards import AdaptiveCard, CardElement, TextBlock

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION: Literal["1.5"] = "1.5"


def card(
    body: Sequence[CardElement], *, fallback: str, actions: Sequence[Any] | None = None
) -> dict:
    """A 1.5 card as the dict Teams expects, with a text fallback for old clients."""
    model = AdaptiveCard(
        version=VERSION,
        body=list(body),
        actions=list(actions) if actions else None,
        fallback_text=fallback,
    )
    # The model's own `schema` field serialises without its "$", so it is set here.
    return {"$schema": SCHEMA, **model.model_dump(by_alias=True, exclude_none=True, mode="json")}


def heading(text: str) -> TextBlock:
    return TextBlock(text=text, size="Large", weight="Bolder", wrap=True, style="heading")


def paragraph(text: str, *, subtle: bool = False) -> TextBlock:
    return TextBlock(text=text, wrap=True, is_subtle=subtle or None)
