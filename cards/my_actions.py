"""`my actions`: the SMART recommendations you own that are not done yet, overdue first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from microsoft_teams.cards import CardElement, Container, TextBlock

from cards.base import card, heading, paragraph
from cards.dates import OVERDUE, due_block, due_text

MAX_SHOWN = 40
# An action is the auditor's text about practice; a very long one is cut so the
# card stays well under Teams' message size. The whole text is on the audit.
MAX_ACTION_CHARS = 600


@dataclass(frozen=True)
class ActionItem:
    case_ref: str
    action: str
    level: str  # "Child-level" or "Service-level"
    status: str  # in words: "open", "partly done", "not yet done"
    due_on: date | None
    overdue: bool
    number: int | None = None  # what the owner types to answer in chat ("done 318")


def my_actions_card(items: Sequence[ActionItem], *, today: date) -> dict:
    """The actions in the order given (the caller puts overdue first), or a friendly empty card."""
    if not items:
        return card(
            [
                heading("No open actions"),
                paragraph(
                    "You don't own any open actions from audits. When an audit or a UoPP "
                    "meeting gives you one, it will be listed here."
                ),
            ],
            fallback="You have no open actions from audits.",
        )
    overdue = sum(item.overdue for item in items)
    summary = f"You own {len(items)} open action{'s' if len(items) != 1 else ''}"
    if overdue:
        summary += f", {overdue} of them {OVERDUE.lower()}"
    body: list[CardElement] = [heading("Your actions"), paragraph(summary + ".")]
    numbered = next((item.number for item in items if item.number is not None), None)
    if numbered is not None:
        body.append(
            paragraph(
                "To say how one is going, reply with its number: "
                f"**done {numbered}**, **partly {numbered}** and what was done, or "
                f"**not yet {numbered}** and a new working day as YYYY-MM-DD.",
                subtle=True,
            )
        )
    body.extend(_item(item, today) for item in items[:MAX_SHOWN])
    if len(items) > MAX_SHOWN:
        body.append(paragraph(f"And {len(items) - MAX_SHOWN} more, due later.", subtle=True))
    fallback = "; ".join(
        f"{item.case_ref} ({due_text(item.due_on, item.overdue, today)})"
        for item in items[:MAX_SHOWN]
    )
    return card(body, fallback=fallback)


def _item(item: ActionItem, today: date) -> Container:
    action = item.action.strip()
    if len(action) > MAX_ACTION_CHARS:
        action = action[: MAX_ACTION_CHARS - 1].rstrip() + "…"
    return Container(
        separator=True,
        spacing="Medium",
        items=[
            TextBlock(
                text=item.case_ref
                if item.number is None
                else f"{item.case_ref}: action {item.number}",
                weight="Bolder",
                wrap=True,
            ),
            paragraph(action),
            paragraph(f"{item.level} action, {item.status}.", subtle=True),
            due_block(item.due_on, item.overdue, today),
        ],
    )
