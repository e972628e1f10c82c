"""What every auditbot card shares."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from microsoft_teams.cards import (
    AdaptiveCard,
    CardElement,
    ExecuteAction,
    Fact,
    FactSet,
    OpenUrlAction,
    ShowCardAction,
    TextBlock,
    TextInput,
)

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


def execute(
    title: str, verb: str, data: dict[str, Any], *, positive: bool = False
) -> ExecuteAction:
    """A button that sends `verb` and `data` to the bot, which answers with the card to show."""
    return ExecuteAction(title=title, verb=verb, data=data, style="positive" if positive else None)


def record_form(
    body: list[CardElement],
    *,
    fallback: str,
    error: str | None,
    button: tuple[str, str, dict[str, Any]],
    more: Sequence[Any] = (),
) -> dict:
    """A card that records something: its body, the error (if any) under it, and the one
    positive button (title, verb, data) before any `more` actions."""
    if error:
        body.append(attention(error))
    title, verb, data = button
    return card(body, fallback=fallback, actions=[execute(title, verb, data, positive=True), *more])


def open_url(title: str, url: str) -> OpenUrlAction:
    """A button that opens a page (the workspace tab, say) in Teams or the browser."""
    return OpenUrlAction(title=title, url=url)


def ask(
    title: str,
    inputs: Sequence[CardElement],
    *,
    submit: str,
    verb: str,
    data: dict[str, Any],
) -> ShowCardAction:
    """A button that opens a small form inside the card, sent with `verb` when submitted."""
    form = AdaptiveCard(version=VERSION, body=list(inputs), actions=[execute(submit, verb, data)])
    return ShowCardAction(title=title, card=form)


def text_input(
    input_id: str, label: str, *, required: bool = True, error: str, multiline: bool = True
) -> TextInput:
    """A labelled text box (labels are required for accessibility)."""
    return TextInput(
        id=input_id,
        label=label,
        is_required=required or None,
        error_message=error or None,
        is_multiline=multiline or None,
        max_length=2000,
    )


def attention(text: str) -> TextBlock:
    """A bold line in the attention colour: a notice or a problem the reader must see."""
    return TextBlock(text=text, wrap=True, color="Attention", weight="Bolder")


def facts(pairs: Sequence[tuple[str, str]]) -> FactSet:
    return FactSet(facts=[Fact(title=name, value=value) for name, value in pairs])
