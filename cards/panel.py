"""City of London's Senior Leadership Moderation Panel: the chair's card recording the
panel's final grading of one review, with the chair's deciding say where members disagreed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from microsoft_teams.cards import CardElement, Choice, ChoiceSetInput, ToggleInput

from cards.base import attention, card, facts, heading, paragraph, record_form, text_input
from cards.escalations import escalation_actions
from workflow.grades import Grade

PANEL_DECIDE = "panel.decide"
SEND_TO_PANEL = "to_panel"  # the tier-one moderator's toggle on the moderation form
DECISION_LIMIT = 2000


@dataclass(frozen=True)
class PanelView:
    audit_id: int
    case_ref: str
    reviewer: str
    practitioner: str
    initial_grade: str
    tier_one_grade: Grade
    tier_one_by: str
    meeting: str  # when the panel meets, or that it is still being booked
    members: Sequence[str]  # those sitting for this review
    stood_aside: Sequence[str]  # members whose own review this is
    decided: str | None = None  # once recorded: what the panel decided, by whom
    asked: str | None = None  # who disagreed with the tier-one grade and asked for the panel
    values: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None
    notice: str | None = None


def panel_card(view: PanelView) -> dict:
    """For the panel's chair: the review's grades so far, who sits, and the decision."""
    body: list[CardElement] = [
        heading(f"Moderation panel: review of case {view.case_ref}"),
        facts(
            [
                ("Reviewer", view.reviewer),
                ("Practitioner", view.practitioner),
                ("Reviewer's grade", view.initial_grade),
                (f"Moderated by {view.tier_one_by}", view.tier_one_grade.label),
                ("Panel meets", view.meeting),
                ("Sitting", ", ".join(view.members) or "nobody"),
            ]
        ),
    ]
    if view.asked:
        body.append(paragraph(view.asked))
    if view.stood_aside:
        body.append(
            paragraph(
                f"{', '.join(view.stood_aside)} stands aside for this review: it is their own.",
                subtle=True,
            )
        )
    fallback = f"Moderation panel: review of case {view.case_ref}"
    if view.decided is not None:
        body.append(paragraph(f"**{view.decided}**"))
        if view.notice:
            body.append(attention(view.notice))
        return card(body, fallback=fallback, actions=escalation_actions(view.audit_id))
    body.append(
        paragraph(
            "After the panel's discussion with the reviewer, record its final grading. Where "
            "members or the reviewer disagreed, yours is the deciding say.",
            subtle=True,
        )
    )
    if view.notice:
        body.append(attention(view.notice))
    chosen = view.values.get("grade") or view.tier_one_grade.value
    body.append(
        ChoiceSetInput(
            id="grade",
            label="The panel's final grade",
            choices=[Choice(title=grade.label, value=grade.value) for grade in Grade],
            value=chosen,
            is_required=True,
            error_message="Choose the panel's final grade.",
        )
    )
    body.append(
        ToggleInput(
            id="chair_decided",
            label="Disagreement",
            title="Members or the reviewer disagreed: I used my deciding say",
            value=view.values.get("chair_decided") or "false",
            value_on="true",
            value_off="false",
            wrap=True,
        )
    )
    why = text_input(
        "rationale",
        "The panel's reasons and recommendations (no names or case details)",
        error="Say what the panel agreed and why.",
    )
    why.value = view.values.get("rationale") or None
    body.append(why)
    return record_form(
        body,
        fallback=fallback,
        error=view.error,
        button=("Record the panel's decision", PANEL_DECIDE, {"audit_id": view.audit_id}),
        more=escalation_actions(view.audit_id),
    )
