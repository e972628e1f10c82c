"""Exemption cards: the Head of Service's decision, and the Audit Team's reallocation (of an
exempted auditor's audit, or a leaver's), and the choice of a new moderator for a leaver's."""

from __future__ import annotations

from dataclasses import dataclass

from microsoft_teams.cards import CardElement

from cards.base import ask, card, execute, facts, heading, paragraph, text_input

DECIDE_EXEMPTION = "exemption.decide"
REALLOCATE = "audit.reallocate"
REPLACE_MODERATOR = "audit.replace_moderator"


@dataclass(frozen=True)
class ExemptionView:
    request_id: int
    audit_id: int
    case_ref: str
    auditor: str
    reason: str
    state: str  # requested / approved / declined
    decided_by: str | None
    comment: str | None


def exemption_decision_card(view: ExemptionView) -> dict:
    """For the Head of Service: approve or decline, until someone has."""
    body: list[CardElement] = [
        heading(f"Exemption request: case {view.case_ref}"),
        paragraph(f"{view.auditor} asks to be exempt from auditing case {view.case_ref}."),
        facts([("Auditor", view.auditor), ("Reason given", view.reason)]),
    ]
    fallback = f"{view.auditor} asks to be exempt from case {view.case_ref}"
    if view.state != "requested":
        outcome = f"{view.state.capitalize()} by {view.decided_by}."
        if view.comment:
            outcome += f" Note: {view.comment}"
        body.append(paragraph(outcome))
        return card(body, fallback=f"{fallback}: {outcome}")
    data = {"request_id": view.request_id}
    comment = text_input(
        "comment",
        "A note for the auditor (optional)",
        required=False,
        error="",
    )
    return card(
        body,
        fallback=fallback,
        actions=[
            execute("Approve", DECIDE_EXEMPTION, {**data, "decision": "approved"}, positive=True),
            ask(
                "Decline",
                [comment],
                submit="Decline the request",
                verb=DECIDE_EXEMPTION,
                data={**data, "decision": "declined"},
            ),
        ],
    )


def reallocate_card(view: ExemptionView, *, outcome: str | None = None) -> dict:
    """For the Audit Team: the exemption was approved, reallocate now (or from the CLI)."""
    body: list[CardElement] = [
        heading(f"Reallocate case {view.case_ref}"),
        paragraph(
            f"{view.decided_by} approved {view.auditor}'s exemption from auditing case "
            f"{view.case_ref}. Reallocating picks the least-loaded eligible auditor and tells "
            "them, the practitioner and the team manager."
        ),
    ]
    return _reallocation(body, f"Reallocate case {view.case_ref}", view.audit_id, outcome)


@dataclass(frozen=True)
class LeaverView:
    audit_id: int
    case_ref: str
    leaver: str
    state: str  # the audit's state, as it reads in a sentence


def leaver_card(view: LeaverView, *, outcome: str | None = None) -> dict:
    """For the Audit Team: the auditor has left; reallocate their audit (or from the CLI)."""
    body: list[CardElement] = [
        heading(f"Reallocate case {view.case_ref}"),
        paragraph(
            f"{view.leaver} has left, and their audit of case {view.case_ref} is {view.state}. "
            "Reallocating picks the least-loaded eligible auditor and tells them, the "
            "practitioner and the team manager; the work so far stays in the audit trail."
        ),
    ]
    fallback = f"Reallocate case {view.case_ref}: its auditor has left"
    return _reallocation(body, fallback, view.audit_id, outcome)


def moderator_leaver_card(view: LeaverView, *, outcome: str | None = None) -> dict:
    """For the Audit Team: the audit's moderator has left; choose another."""
    body: list[CardElement] = [
        heading(f"Choose a moderator for case {view.case_ref}"),
        paragraph(
            f"{view.leaver} has left, and was to moderate the audit of case {view.case_ref}, "
            f"which is {view.state}. Choosing picks the least-loaded independent moderator; "
            "if the moderation was already asked for, they are sent the form."
        ),
    ]
    fallback = f"Choose a moderator for case {view.case_ref}: its moderator has left"
    if outcome:
        body.append(paragraph(outcome))
        return card(body, fallback=f"{fallback}: {outcome}")
    return card(
        body,
        fallback=fallback,
        actions=[
            execute("Choose a moderator", REPLACE_MODERATOR, {"audit_id": view.audit_id},
                    positive=True)
        ],
    )  # fmt: skip


def _reallocation(
    body: list[CardElement], fallback: str, audit_id: int, outcome: str | None
) -> dict:
    """A reallocation card's end: what became of it, or the button (and the CLI's way)."""
    if outcome:
        body.append(paragraph(outcome))
        return card(body, fallback=f"{fallback}: {outcome}")
    body.append(
        paragraph(f"Or from the command line: auditbot audit reallocate {audit_id}", subtle=True)
    )
    return card(
        body,
        fallback=fallback,
        actions=[execute("Reallocate now", REALLOCATE, {"audit_id": audit_id}, positive=True)],
    )
