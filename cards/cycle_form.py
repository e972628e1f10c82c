"""The Audit Team's form for proposing a cycle from the chat."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from microsoft_teams.cards import CardElement, Choice, ChoiceSetInput, NumberInput, TextBlock

from cards.base import card, execute, heading, paragraph, text_input

PROPOSE = "cycle.propose"


def cycle_form_card(
    services: Sequence[tuple[str, str]],
    months: Sequence[tuple[str, str]],
    *,
    values: Mapping[str, str] | None = None,
    error: str | None = None,
) -> dict:
    """`services` and `months` are (value, label) pairs; `values` keeps what was typed
    when the form comes back with an `error`."""
    values = values or {}
    body: list[CardElement] = [
        heading("Propose an audit cycle"),
        paragraph(
            "The key lines of enquiry go to the Head of Service, the coordinator and the "
            "Divisional Director. Cases are picked at random, with a recorded seed, once all "
            "three approve."
        ),
    ]
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
    return card(
        body,
        fallback="Propose an audit cycle",
        actions=[execute("Send the KLOEs for approval", PROPOSE, {}, positive=True)],
    )


def _number(text: str | None) -> float | None:
    """What was typed, shown again only if it is an ordinary number."""
    try:
        number = float(text) if text else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None
