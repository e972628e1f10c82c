"""The Inadequate fast path: who is told at once when an audit is submitted Inadequate."""

from __future__ import annotations

from dataclasses import dataclass

from microsoft_teams.cards import CardElement

from cards.base import card, facts, heading, paragraph
from cards.escalations import escalation_actions


@dataclass(frozen=True)
class FastPathView:
    audit_id: int
    case_ref: str
    practitioner: str
    team_manager: str
    auditor: str
    moderator: str
    moderation_due: str  # formatted local date
    urgent_days: int  # working days the TM has after the moderated outcome
    uopp_days: int  # working days to the UoPP after an Inadequate moderation


_WHAT_YOU_DO = {
    "practitioner": "Your team manager will talk to you about what happens next. You'll see "
    "the moderated grades and can discuss them.",
    "team_manager": "Once it is moderated Inadequate you must address the urgent issues "
    "within {urgent} working days; I'll send you a card to confirm it.",
    "coordinator": "You attend the UoPP meeting and, until the work reaches Good, report "
    "progress weekly to the Head of Service and the Audit Manager.",
    "audit_manager": "Once moderated, you convene and lead the UoPP meeting within {uopp} "
    "working days.",
    "head_of_service": "You attend the UoPP meeting and receive weekly progress reports until "
    "the work reaches Good.",
}


def fast_path_card(view: FastPathView, part: str) -> dict:
    """For one of the people told at once; `part` is their role in this (a key above)."""
    if part == "practitioner":
        title = f"Your work on case {view.case_ref} was graded Inadequate"
    else:
        title = f"Case {view.case_ref} was graded Inadequate"
    body: list[CardElement] = [
        heading(title),
        paragraph(
            f"{view.auditor} submitted the audit of {view.practitioner}'s work on case "
            f"{view.case_ref} graded Inadequate. It must be moderated within 1 working day."
        ),
        facts(
            [
                ("Practitioner", view.practitioner),
                ("Team manager", view.team_manager),
                ("Moderator", view.moderator),
                ("Moderation due", view.moderation_due),
            ]
        ),
        paragraph(_WHAT_YOU_DO[part].format(urgent=view.urgent_days, uopp=view.uopp_days)),
    ]
    return card(
        body,
        fallback=f"{title}; moderation due {view.moderation_due}",
        actions=escalation_actions(view.audit_id),
    )
