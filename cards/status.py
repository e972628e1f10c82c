"""`status CASE-REF`: one case's audits as the person asking may see them.

Refusal and "no such case" are the same card, word for word, so that
whether a case is being audited never leaks to someone who may not see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from microsoft_teams.cards import CardElement, Container, Fact, FactSet, TextBlock

from cards.base import card, heading, paragraph
from cards.dates import day_fact

# A case has one audit per cycle; a handful is all anyone needs in chat.
MAX_SHOWN = 5
EXAMPLE_REF = "CSC-26-0001"


@dataclass(frozen=True)
class DueDate:
    label: str  # "Audit due"
    due_on: date | None
    overdue: bool


@dataclass(frozen=True)
class AuditStatus:
    case_ref: str
    cycle_title: str
    cycle_open: bool
    state: str  # in words
    team: str
    practitioner: str
    auditor: str
    moderator: str | None
    due_dates: Sequence[DueDate] = field(default_factory=tuple)
    grades: Sequence[tuple[str, str]] = field(default_factory=tuple)  # ("Moderated grade", "Good")


def status_card(audits: Sequence[AuditStatus], *, today: date) -> dict:
    """The case's audits in the order given (live ones in open cycles first)."""
    case_ref = audits[0].case_ref
    body: list[CardElement] = [heading(f"Audit of {case_ref}")]
    body.extend(_audit(audit, today) for audit in audits[:MAX_SHOWN])
    if len(audits) > MAX_SHOWN:
        body.append(paragraph(f"And {len(audits) - MAX_SHOWN} earlier audits.", subtle=True))
    first = audits[0]
    fallback = f"{case_ref}: the audit is {first.state}; auditor {first.auditor}."
    return card(body, fallback=fallback)


def audit_not_found_card() -> dict:
    """For an unknown reference and for an audit the person may not see alike."""
    return card(
        [
            heading("No audit found"),
            paragraph("I can't find an audit for that reference that you can see."),
            paragraph(
                "Check the reference. You can see an audit if you are allocated to it, "
                "manage someone who is, or are in its service's Audit Team.",
                subtle=True,
            ),
        ],
        fallback="I can't find an audit for that reference that you can see.",
    )


def bad_reference_card(*, missing: bool) -> dict:
    """The reference is missing or is not shaped like one. What was typed is not repeated."""
    if missing:
        message = f"Type **status** and the case reference, e.g. status {EXAMPLE_REF}."
    else:
        message = (
            "That doesn't look like a case reference. A reference is letters, digits, hyphens "
            f"or slashes, with at least one digit, e.g. status {EXAMPLE_REF}. Please don't type "
            "a child's name here."
        )
    return card(
        [heading("Which case?"), paragraph(message)],
        fallback="Type status and a case reference.",
    )


def _audit(audit: AuditStatus, today: date) -> Container:
    title = audit.cycle_title if audit.cycle_open else f"{audit.cycle_title} (cycle closed)"
    facts = [
        Fact(title="State", value=audit.state[:1].upper() + audit.state[1:]),
        Fact(title="Team", value=audit.team),
        Fact(title="Practitioner", value=audit.practitioner),
        Fact(title="Auditor", value=audit.auditor),
        Fact(title="Moderator", value=audit.moderator or "Not allocated yet"),
    ]
    facts += [
        Fact(title=due.label, value=day_fact(due.due_on, due.overdue, today))
        for due in audit.due_dates
    ]
    facts += [Fact(title=label, value=grade) for label, grade in audit.grades]
    if not audit.grades:
        facts.append(Fact(title="Grades", value="None yet"))
    return Container(
        separator=True,
        spacing="Medium",
        items=[TextBlock(text=title, weight="Bolder", wrap=True), FactSet(facts=facts)],
    )
