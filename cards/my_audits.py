"""`my audits`: what is yours to do in the audits you are part of, soonest due first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from microsoft_teams.cards import ActionSet, CardElement, Container, TextBlock

from cards.base import card, execute, heading, paragraph
from cards.dates import OVERDUE, due_block, due_text
from workflow.words import counted

# Enough for anyone's real workload, and well under Teams' message size.
MAX_SHOWN = 40


@dataclass(frozen=True)
class AuditTask:
    """One line of the list: a case reference, your part, the audit's state in words, a date."""

    case_ref: str  # or, for KLOEs waiting for approval, the cycle's title
    part: str
    state: str | None  # the audit's state in words; None for an item that is not an audit
    due_on: date | None
    overdue: bool
    button: tuple[str, str, dict[str, Any]] | None = None  # (title, verb, data): what to press next


def my_audits_card(tasks: Sequence[AuditTask], *, today: date) -> dict:
    """The list, in the order given (the caller sorts by due date), or a friendly empty card."""
    if not tasks:
        return card(
            [
                heading("Nothing to do right now"),
                paragraph(
                    "You have nothing to do in any live audit. When you are allocated an "
                    "audit or a moderation, or your work is picked for audit, I'll tell you."
                ),
            ],
            fallback="Nothing to do in any live audit right now.",
        )
    overdue = sum(task.overdue for task in tasks)
    summary = f"{counted(len(tasks), 'thing')} for you"
    if overdue:
        summary += f", {overdue} of them {OVERDUE.lower()}"
    body: list[CardElement] = [heading("Your audits"), paragraph(f"{summary}, soonest due first.")]
    body.extend(_task(task, today) for task in tasks[:MAX_SHOWN])
    if len(tasks) > MAX_SHOWN:
        body.append(paragraph(f"And {len(tasks) - MAX_SHOWN} more, due later.", subtle=True))
    body.append(
        paragraph("Type **status** and a case reference for one audit's details.", subtle=True)
    )
    fallback = "; ".join(
        f"{task.case_ref}: {task.part} ({due_text(task.due_on, task.overdue, today)})"
        for task in tasks[:MAX_SHOWN]
    )
    return card(body, fallback=fallback)


def not_in_staff_list_card() -> dict:
    """For someone auditbot does not know: who can add them, and nothing about any audit."""
    return card(
        [
            heading("I can't find you in the staff list"),
            paragraph(
                "You have no roles in the audit programme yet, so there is nothing I can show "
                "you. If you think you should, ask your Audit Team to add you."
            ),
        ],
        fallback="You are not in the staff list: ask your Audit Team to add you.",
    )


def _task(task: AuditTask, today: date) -> Container:
    return Container(
        separator=True,
        spacing="Medium",
        items=[
            TextBlock(text=task.case_ref, weight="Bolder", wrap=True),
            paragraph(task.part),
            *([paragraph(f"The audit is {task.state}.", subtle=True)] if task.state else []),
            due_block(task.due_on, task.overdue, today),
            *([ActionSet(actions=[execute(*task.button, positive=True)])] if task.button else []),
        ],
    )
