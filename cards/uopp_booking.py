"""UoPP booking cards: the organiser's options when no time suits everyone, and the Audit
Team's extension. Case references only; times are already in words and local time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from microsoft_teams.cards import CardElement, Container

from cards.base import ask, card, execute, facts, heading, paragraph, text_input
from cards.dates import date_input

PICK_OPTION = "uopp.pick"
ASK_EXTENSION = "uopp.ask_extension"
GRANT_EXTENSION = "uopp.extend"
REASON_LIMIT = 1000


@dataclass(frozen=True)
class OptionView:
    when: str  # "Wed 25 Nov 2026, 09:00 to 10:00 (GMT)"
    clashes: tuple[str, ...]  # the names of required attendees who cannot make it


@dataclass(frozen=True)
class OptionsView:
    meeting_id: int
    offer: int
    case_ref: str
    deadline: str  # "Tue 1 Dec 2026"
    options: tuple[OptionView, ...]
    why: str = ""  # why there is nothing to offer (no time left, or the calendar failed)
    status: str | None = None  # once acted on: what happened; the card then has no buttons


def options_card(view: OptionsView) -> dict:
    """For the organiser: pick one of the least-bad times, or ask the Audit Team to extend."""
    body: list[CardElement] = [
        heading(f"Choose a time for the UoPP meeting: case {view.case_ref}"),
    ]
    fallback = f"No time before {view.deadline} suits everyone for the UoPP on {view.case_ref}"
    if view.options:
        body.append(
            paragraph(
                f"No time before the deadline ({view.deadline}) suits everyone who must attend. "
                "These are the times with the fewest clashes."
            )
        )
    else:
        body.append(
            paragraph(
                f"No time is left before the deadline ({view.deadline}) to offer. "
                + (view.why or "Ask the Audit Team to extend it.")
            )
        )
    data = {"meeting_id": view.meeting_id, "offer": view.offer}
    for number, option in enumerate(view.options):
        who = ", ".join(option.clashes) if option.clashes else "Nobody"
        rows: list[CardElement] = [
            paragraph(f"Option {number + 1}: {option.when}"),
            facts([("Cannot make it", who)]),
        ]
        if view.status is None:
            rows.append(paragraph("Book this option with the button below.", subtle=True))
        body.append(Container(items=rows, separator=True))
    if view.status is not None:
        body.append(paragraph(view.status))
        return card(body, fallback=f"{fallback}: {view.status}")
    actions: list[Any] = [
        execute(f"Book option {n + 1}", PICK_OPTION, {**data, "option": n}, positive=n == 0)
        for n in range(len(view.options))
    ]
    actions.append(
        ask(
            "Ask to extend",
            [
                text_input(
                    "reason",
                    "Why the meeting cannot happen by the deadline",
                    error="Give the Audit Team a reason.",
                )
            ],
            submit="Ask the Audit Team",
            verb=ASK_EXTENSION,
            data=data,
        )
    )
    return card(body, fallback=fallback, actions=actions)


@dataclass(frozen=True)
class ExtensionView:
    meeting_id: int
    offer: int
    case_ref: str
    asked_by: str  # the organiser, or "auditbot" when the calendar kept failing
    reason: str
    deadline: str
    earliest: str  # the first date that can be chosen, ISO (YYYY-MM-DD)
    status: str | None = None
    error: str | None = None


def extension_card(view: ExtensionView) -> dict:
    """For the Audit Team: extend the UoPP deadline to a date, which re-opens booking."""
    body: list[CardElement] = [
        heading(f"Extend the UoPP deadline: case {view.case_ref}"),
        paragraph(
            f"{view.asked_by} cannot find a time for the UoPP meeting before the deadline "
            f"({view.deadline})."
        ),
        facts([("Reason given", view.reason), ("Deadline now", view.deadline)]),
    ]
    fallback = f"Extend the UoPP deadline for case {view.case_ref}?"
    if view.status is not None:
        body.append(paragraph(view.status))
        return card(body, fallback=f"{fallback} {view.status}")
    if view.error:
        body.append(paragraph(f"Not extended: {view.error}"))
    inputs: list[CardElement] = [
        date_input(
            "extend_to",
            "Extend the deadline to",
            earliest=view.earliest,
            required=True,
            message="Choose a working day after the current deadline.",
        ),
        text_input(
            "note", "A note for the organiser (optional)", required=False, error="", multiline=False
        ),
    ]
    body.extend(inputs)
    data = {"meeting_id": view.meeting_id, "offer": view.offer}
    return card(
        body,
        fallback=fallback,
        actions=[execute("Grant the extension", GRANT_EXTENSION, data, positive=True)],
    )
