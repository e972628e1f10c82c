"""What people are told when a cycle opens: one card per part they play in an audit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from microsoft_teams.cards import CardElement, ExecuteAction

from cards.base import ask, card, execute, facts, heading, paragraph, text_input
from cards.wizard import START_AUDIT

REQUEST_EXEMPTION = "exemption.request"
ACKNOWLEDGE = "allocation.seen"


@dataclass(frozen=True)
class AllocationView:
    audit_id: int
    case_ref: str
    service: str
    team: str
    practitioner: str
    team_manager: str
    auditor: str
    moderator: str
    tool: str
    kloes: Sequence[str]
    audit_due: str  # already formatted, e.g. "Mon 23 Nov 2026"
    moderation_due: str
    version: int = 1  # the audit's version, which "Start audit" carries
    period: str = "the last 6 months of work"  # what the audit looks back over
    desktop: bool = False  # done from the record, with no conversation with the practitioner
    own_section: bool = True  # the tool has a section the practitioner writes
    # What happens once the audit is submitted, a line per stage, by the programme.
    after_audit: Sequence[str] = (
        "The audit is moderated, and you'll see the grades and can discuss them.",
        "A follow-up meeting agrees what to do next.",
    )
    # When the reader pressed "I've seen this" (formatted), or "" until they do.
    acknowledged: str = ""


def _seen(view: AllocationView, part: str) -> list[ExecuteAction]:
    """The "I've seen this" button, until it has been pressed (the Audit Team's tracker
    lists who has not pressed it after a few working days)."""
    if view.acknowledged:
        return []
    return [execute("I've seen this", ACKNOWLEDGE, {"audit_id": view.audit_id, "part": part})]


def _seen_line(view: AllocationView) -> list[CardElement]:
    return (
        [paragraph(f"You said you'd seen this on {view.acknowledged}.", subtle=True)]
        if (view.acknowledged)
        else []
    )


def _kloes(view: AllocationView) -> CardElement:
    lines = "\n".join(f"{n}. {text}" for n, text in enumerate(view.kloes, 1))
    return paragraph(f"**Key lines of enquiry**\n\n{lines}" if lines else "No KLOEs were set.")


def auditor_card(view: AllocationView, *, exemption: str | None = None) -> dict:
    """The auditor's allocation: "Start audit" (which, once started, shows where the audit
    is), and "Ask to be exempt" until a request is made."""
    body: list[CardElement] = [
        heading(f"You're auditing case {view.case_ref}"),
        facts(
            [
                ("Practitioner", f"{view.practitioner} ({view.team})"),
                ("Audit tool", view.tool),
                ("Moderator", view.moderator),
                ("Audit due", view.audit_due),
                ("Moderation due", view.moderation_due),
            ]
        ),
        _kloes(view),
        paragraph(
            (
                f"A desktop audit: work from the record, covering {view.period}; no "
                "conversation with the practitioner is needed."
                if view.desktop
                else f"Do the audit with the practitioner, as a conversation, covering "
                f"{view.period}. Record family feedback where you can."
            )
            + " I'll remind you before it's due.",
            subtle=True,
        ),
    ]
    fallback = f"You're auditing case {view.case_ref}, due {view.audit_due}"
    start = execute(
        "Start audit",
        START_AUDIT,
        {"audit_id": view.audit_id, "version": view.version},
        positive=True,
    )
    body += _seen_line(view)
    if exemption:
        body.append(paragraph(exemption))
        return card(body, fallback=fallback, actions=[start, *_seen(view, "auditor")])
    return card(
        body,
        fallback=fallback,
        actions=[
            start,
            *_seen(view, "auditor"),
            ask(
                "Ask to be exempt",
                [
                    text_input(
                        "reason",
                        "Why can't you do this audit? (no names or case details)",
                        error="Give a reason: the Head of Service decides on it.",
                    )
                ],
                submit="Send to the Head of Service",
                verb=REQUEST_EXEMPTION,
                data={"audit_id": view.audit_id},
            ),
        ],
    )


def moderator_card(view: AllocationView) -> dict:
    body: list[CardElement] = [
        heading(f"You're moderating case {view.case_ref}"),
        facts(
            [
                ("Auditor", view.auditor),
                ("Practitioner", f"{view.practitioner} ({view.team})"),
                ("Audit tool", view.tool),
                ("Moderation due", view.moderation_due),
            ]
        ),
        _kloes(view),
        paragraph("I'll send you the audit to moderate once the auditor submits it.", subtle=True),
        *_seen_line(view),
    ]
    return card(
        body, fallback=f"You're moderating case {view.case_ref}", actions=_seen(view, "moderator")
    )


def practitioner_card(view: AllocationView) -> dict:
    body: list[CardElement] = [
        heading(f"Your work on case {view.case_ref} has been picked for audit"),
        paragraph(
            f"{view.auditor} will audit it"
            + (" from the record" if view.desktop else " with you")
            + ". Audits are about learning together: they look at "
            f"{view.period} and what difference it made for the child."
        ),
        facts([("Auditor", view.auditor), ("Audit due", view.audit_due)]),
        paragraph(
            "**What happens next**\n\n"
            + "\n".join(f"- {line}" for line in _practitioner_steps(view)),
        ),
        paragraph(f"Your team manager, {view.team_manager}, has a copy of this.", subtle=True),
        *_seen_line(view),
    ]
    return card(
        body,
        fallback=f"Your work on case {view.case_ref} has been picked for audit",
        actions=_seen(view, "practitioner"),
    )


def _practitioner_steps(view: AllocationView) -> list[str]:
    first = (
        "It is a desktop audit: no conversation with you is needed."
        if view.desktop
        else f"{view.auditor} will arrange a conversation with you about the work."
    )
    section = (
        [
            "Your own section of the audit comes with this message: write it before the audit "
            "is submitted."
        ]
        if view.own_section
        else []
    )
    return [first, *section, *view.after_audit]


def team_manager_card(view: AllocationView) -> dict:
    body: list[CardElement] = [
        heading(f"Copy: {view.practitioner}'s case {view.case_ref} picked for audit"),
        facts(
            [
                ("Practitioner", view.practitioner),
                ("Auditor", view.auditor),
                ("Audit due", view.audit_due),
            ]
        ),
        paragraph("You're copied on messages about your practitioners' audits.", subtle=True),
        *_seen_line(view),
    ]
    return card(
        body,
        fallback=f"Copy: case {view.case_ref} picked for audit",
        actions=_seen(view, "team_manager"),
    )
