"""Dispute cards: the moderator's response, the disputer's view, and the final decision.

Each builds on the moderation result (`cards.moderation.ResultView`), so
everyone sees the initial, moderated and (once decided) final grades side by
side with what was said at each step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from microsoft_teams.cards import CardElement, Choice, ChoiceSetInput, TextBlock, TextInput

from cards.base import ask, execute, facts, heading, paragraph, text_input
from cards.moderation import RATIONALE_LIMIT, ResultView, clip, grade_help, result_card
from workflow.grades import Grade
from workflow.moderation import field_id

OPEN_REVISION = "dispute.open_revision"
REVISE = "dispute.revise"
STAND_BY = "dispute.stand_by"
ESCALATE = "dispute.escalate"
DECIDE = "dispute.decide"


@dataclass(frozen=True)
class DisputeView:
    audit_id: int
    version: int
    case_ref: str
    raised_by: str
    reason: str
    state: str  # a DisputeState value
    state_label: str
    moderator_response: str | None = None
    escalation_note: str | None = None
    decided_by: str | None = None
    decision: str | None = None


def dispute_facts(dispute: DisputeView) -> list[CardElement]:
    """What has been said so far, step by step."""
    elements: list[CardElement] = [
        facts([("Disputed by", dispute.raised_by)]),
        paragraph(f"**Their reason:** {clip(dispute.reason)}"),
    ]
    if dispute.moderator_response:
        elements.append(paragraph(f"**Moderator's response:** {clip(dispute.moderator_response)}"))
    if dispute.escalation_note:
        elements.append(paragraph(f"**Asking for a decision:** {clip(dispute.escalation_note)}"))
    if dispute.decision:
        elements.append(
            paragraph(f"**Decision by {dispute.decided_by}:** {clip(dispute.decision)}")
        )
    elements.append(paragraph(f"Where it stands: {dispute.state_label}."))
    return elements


def _with(result: dict[str, Any], extra: Sequence[CardElement], actions: Sequence[Any]) -> dict:
    """The result card with the dispute's story appended and these actions first."""
    built = dict(result)
    built["body"] = [*result["body"], *[_dump(e) for e in extra]]
    built["actions"] = [*[_dump(a) for a in actions], *result.get("actions", [])]
    return built


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(by_alias=True, exclude_none=True, mode="json")


def respond_card(
    result: ResultView,
    dispute: DisputeView,
    *,
    error: str | None = None,
    note: str = "",
    notice: str | None = None,
) -> dict:
    """For the moderator: discuss with the disputer, then revise the grades or stand by them."""
    extra: list[CardElement] = [heading(f"Dispute about case {dispute.case_ref}")]
    extra += dispute_facts(dispute)
    actions: list[Any] = []
    if dispute.state == "raised":
        extra.append(
            paragraph(
                f"Talk it through with {dispute.raised_by} first. Then revise the grades, or "
                "stand by them with a note; if they are still unhappy they can ask the Head of "
                "Service and Audit Team to decide."
            )
        )
        if notice:
            extra.append(TextBlock(text=notice, wrap=True, color="Attention", weight="Bolder"))
        if error:
            extra.append(TextBlock(text=error, wrap=True, color="Attention", weight="Bolder"))
        why = text_input(
            "note",
            "Why do you stand by the grades? (no names or case details)",
            error="Give a note for the person who disputed it.",
        )
        why.value = note or None
        data = {"audit_id": dispute.audit_id, "version": dispute.version}
        actions = [
            execute("Revise the grades", OPEN_REVISION, data),
            ask("Stand by the grades", [why], submit="Stand by the grades", verb=STAND_BY,
                data=data),
        ]  # fmt: skip
    return _with(result_card(result), extra, actions)


def revision_intro(dispute: DisputeView) -> list[CardElement]:
    return [
        paragraph(f"**Revising after a dispute by {dispute.raised_by}:** {clip(dispute.reason)}"),
    ]


def revision_note(value: str = "", error: str | None = None) -> list[CardElement]:
    note = TextInput(
        id="revision_note",
        label="What changed after your discussion? (sent to the person who disputed it)",
        is_multiline=True,
        is_required=True,
        error_message="Say what changed.",
        max_length=RATIONALE_LIMIT,
        value=value or None,
    )
    elements: list[CardElement] = [note]
    if error:
        elements.append(
            TextBlock(text=error, wrap=True, color="Attention", weight="Bolder", spacing="None")
        )
    return elements


def disputer_card(
    result: ResultView, dispute: DisputeView, *, can_escalate: bool, notice: str | None = None
) -> dict:
    """For the person who disputed: where it stands, and "Ask the Head of Service to decide"
    once the moderator has answered."""
    extra: list[CardElement] = [heading(f"Your dispute about case {dispute.case_ref}")]
    extra += dispute_facts(dispute)
    if notice:
        extra.append(TextBlock(text=notice, wrap=True, color="Attention", weight="Bolder"))
    actions: list[Any] = []
    if can_escalate:
        note = text_input(
            "note",
            "Anything the Head of Service should know? (optional; no names or case details)",
            required=False,
            error="",
        )
        actions.append(
            ask(
                "Ask the Head of Service to decide",
                [note],
                submit="Ask for a decision",
                verb=ESCALATE,
                data={"audit_id": dispute.audit_id, "version": dispute.version},
            )
        )
    return _with(result_card(result), extra, actions)


def copy_card(result: ResultView, dispute: DisputeView) -> dict:
    """For everyone else told about a dispute's step: the story so far, no actions but
    the escalations."""
    extra: list[CardElement] = [heading(f"Dispute about case {dispute.case_ref}")]
    extra += dispute_facts(dispute)
    return _with(result_card(result), extra, [])


@dataclass(frozen=True)
class DecisionRow:
    key: str  # a section id, or OVERALL
    title: str
    moderated: Grade | None


def decision_card(
    result: ResultView,
    dispute: DisputeView,
    rows: Sequence[DecisionRow],
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    notice: str | None = None,
) -> dict:
    """For the Head of Service and Audit Team: fix the final grades, with a rationale. The
    first to decide settles it; everyone else then sees the decision."""
    extra: list[CardElement] = [heading(f"Decide the dispute about case {dispute.case_ref}")]
    extra += dispute_facts(dispute)
    if dispute.state != "escalated":
        return _with(result_card(result), extra, [])
    values = values or {}
    errors = errors or {}
    extra.append(
        paragraph(
            "Your decision is final. Each grade starts at the moderated grade; change those "
            "you decide differently.",
            subtle=True,
        )
    )
    if notice:
        extra.append(TextBlock(text=notice, wrap=True, color="Attention", weight="Bolder"))
    for row in rows:
        key = field_id("grade", row.key)
        extra.append(
            ChoiceSetInput(
                id=key,
                label=f"Final grade: {row.title}",
                style="compact",
                is_required=True,
                error_message="Choose the final grade.",
                value=values.get(key) or (row.moderated.value if row.moderated else None),
                choices=[Choice(title=grade.label, value=grade.value) for grade in Grade],
            )
        )
        if key in errors:
            extra.append(_error(errors[key]))
    why_id = field_id("why", "overall")
    extra.append(
        TextInput(
            id=why_id,
            label="Rationale for the decision (no names or case details)",
            is_multiline=True,
            is_required=True,
            error_message="Give the rationale for the decision.",
            max_length=RATIONALE_LIMIT,
            value=values.get(why_id) or None,
        )
    )
    if why_id in errors:
        extra.append(_error(errors[why_id]))
    data = {"audit_id": dispute.audit_id, "version": dispute.version}
    actions = [execute("Decide: this is final", DECIDE, data, positive=True), grade_help()]
    return _with(result_card(result), extra, actions)


def _error(message: str) -> TextBlock:
    return TextBlock(text=message, wrap=True, color="Attention", weight="Bolder", spacing="None")
