"""The Audit Team's form for proposing a cycle from the chat."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from microsoft_teams.cards import CardElement, Choice, ChoiceSetInput, NumberInput, TextBlock

from cards.base import card, execute, heading, paragraph, text_input

PROPOSE = "cycle.propose"
DEFAULT_APPROVAL = (
    "The key lines of enquiry go to the Head of Service, the coordinator and the Divisional "
    "Director. Cases are picked at random, with a recorded seed, once all three approve."
)
NO_APPROVAL = (
    "This programme has no approval step: cases are picked at random, with a recorded seed, "
    "and allocated as soon as you send it."
)


def cycle_form_card(
    services: Sequence[tuple[str, str]],
    months: Sequence[tuple[str, str]],
    *,
    values: Mapping[str, str] | None = None,
    error: str | None = None,
    intro: str | None = None,
    approval: str = DEFAULT_APPROVAL,
) -> dict:
    """`services` and `months` are (value, label) pairs; `values` keeps what was typed
    when the form comes back with an `error`. `intro` says why the form came (the
    timetable asking for a cycle); `approval` what happens to the KLOEs, by programme.
    A `title` in `values` names the cycle (the timetable's), and is sent back with it."""
    values = values or {}
    body: list[CardElement] = [heading("Propose an audit cycle")]
    if intro:
        body.append(paragraph(intro))
    body.append(paragraph(approval))
    if error:
        body.append(TextBlock(text=error, wrap=True, color="Attention", weight="Bolder"))
    body += [
        ChoiceSetInput(
            id="service",
            label="Service",
            is_required=True,
            error_message="Choose the service.",
            value=values.get("service") or services[0][0],
            choices=[Choice(title=label, value=value) for value, label in services],
        ),
        ChoiceSetInput(
            id="month",
            label="Audit month",
            is_required=True,
            error_message="Choose the month.",
            value=values.get("month") or months[0][0],
            choices=[Choice(title=label, value=value) for value, label in months],
        ),
        NumberInput(
            id="cases",
            label="How many cases to audit",
            is_required=True,
            min=1,
            max=500,
            value=_number(values.get("cases")),
            error_message="Give a number from 1 to 500.",
        ),
    ]
    kloes = text_input(
        "kloes", "Key lines of enquiry, one per line", error="Add at least one key line of enquiry."
    )
    kloes.value = values.get("kloes") or None
    body.append(kloes)
    send = "Open the cycle" if approval == NO_APPROVAL else "Send the KLOEs for approval"
    data = {"title": values["title"]} if values.get("title") else {}
    return card(
        body,
        fallback="Propose an audit cycle",
        actions=[execute(send, PROPOSE, data, positive=True)],
    )


def _number(text: str | None) -> float | None:
    """What was typed, shown again only if it is an ordinary number."""
    try:
        number = float(text) if text else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None
