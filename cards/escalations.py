"""The two escalations every audit card offers, one action away (DOMAIN.md).

A serious safeguarding concern goes to the team manager and the Audit
Manager at once; evidence of unaddressed racism or discrimination goes to
the Head of Safeguarding and QA. Every card about an audit appends
`escalation_actions(audit.id)` to its own actions.
"""

from __future__ import annotations

from microsoft_teams.cards import AdaptiveCard, ShowCardAction, TextBlock, TextInput

from cards.base import VERSION, execute

RAISE_SAFEGUARDING = "escalate.safeguarding"
REPORT_DISCRIMINATION = "escalate.discrimination"
# Each form's input has its own id: both forms sit on the same card, and Adaptive Cards
# requires ids to be unique across a card.
CONCERN_INPUT = {
    RAISE_SAFEGUARDING: "safeguarding_concern",
    REPORT_DISCRIMINATION: "discrimination_concern",
}

CONCERN_LIMIT = 1000  # characters in a concern's description
NO_NAMES = (
    "Don't write the child's name or case details here: the case reference goes with it, "
    "and the person it reaches will contact you."
)


def _concern_form(title: str, label: str, submit: str, verb: str, audit_id: int) -> ShowCardAction:
    description = TextInput(
        id=CONCERN_INPUT[verb],
        label=label,
        is_required=True,
        error_message="Describe the concern in a sentence or two (no names).",
        is_multiline=True,
        max_length=CONCERN_LIMIT,
        placeholder="No names: the case reference is sent with it.",
    )
    form = AdaptiveCard(
        version=VERSION,
        body=[TextBlock(text=NO_NAMES, wrap=True, is_subtle=True), description],
        actions=[execute(submit, verb, {"audit_id": audit_id})],
    )
    return ShowCardAction(title=title, card=form)


def escalation_actions(audit_id: int) -> list[ShowCardAction]:
    """ "Raise a safeguarding concern" and "Report discrimination concern" for one audit."""
    return [
        _concern_form(
            "Raise a safeguarding concern",
            "What is the safeguarding concern?",
            "Send to the team manager and Audit Manager now",
            RAISE_SAFEGUARDING,
            audit_id,
        ),
        _concern_form(
            "Report discrimination concern",
            "What racism or discrimination have you seen that is not being addressed?",
            "Send to the Head of Safeguarding and QA",
            REPORT_DISCRIMINATION,
            audit_id,
        ),
    ]
