"""Moderation cards: the moderator's form, the result everyone sees, the urgent-issues check.

The form asks, per section the tool's moderation template names and for the
overall grade, agree or disagree; a disagreement takes the moderator's grade
and a rationale. When the bot sends the form back with `errors`, each
message sits under its field and `values` keeps what was typed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from microsoft_teams.cards import (
    AdaptiveCard,
    CardElement,
    Choice,
    ChoiceSetInput,
    Column,
    ColumnSet,
    Container,
    ShowCardAction,
    TextBlock,
    TextInput,
    ToggleInput,
)

from cards.base import VERSION, ask, card, execute, facts, heading, paragraph, text_input
from cards.escalations import escalation_actions
from cards.panel import SEND_TO_PANEL
from cards.wizard_steps import problems_summary
from workflow.grades import Grade
from workflow.moderation import AGREE, DISAGREE, disagree_with, field_id, parse_grade_value
from workflow.tools import grade_definitions

MODERATE = "moderation.save"
OPEN_MODERATION = "moderation.open"  # the form as it stands, from `my audits`
DISPUTE = "dispute.raise"
# City of London: disagreement with tier-one moderation goes to the panel, whose chair decides.
ASK_PANEL = "panel.ask"
CONFIRM_URGENT = "moderation.urgent_confirmed"

RATIONALE_LIMIT = 2000  # characters in a moderator's rationale
ACTIONS_ARISING = "actions_arising"  # the input id of the template's "actions arising"
ACTIONS_ARISING_LIMIT = 2000  # characters
SHOWN_LIMIT = 1200  # characters of someone's rationale shown on a card


def clip(text: str | None, limit: int = SHOWN_LIMIT) -> str:
    """Someone's text as a card shows it: whole, or cut at `limit` with an ellipsis, so
    a card stays well under Teams' size limit whatever was typed."""
    if not text:
        return ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def grade_label(value: Grade | str | None) -> str:
    if value is None:
        return "Not graded"
    try:
        return Grade(value).label
    except ValueError:
        return str(value)


@dataclass(frozen=True)
class ModeratedSection:
    """One question on the moderator's form, with what the auditor recorded."""

    key: str  # a section id, or OVERALL
    title: str
    question: str
    graded: bool
    initial_grade: Grade | None = None
    initial_rationale: str | None = None


@dataclass(frozen=True)
class ModerationView:
    audit_id: int
    version: int
    case_ref: str
    auditor: str
    practitioner: str
    tool: str
    due: str  # formatted local date
    fast_path: bool  # the auditor graded the work Inadequate
    sections: Sequence[ModeratedSection]  # the overall question last
    # A panel programme whose tier-one moderator chooses the reviews the panel sees.
    panel_choice: bool = False


def _agree_choices(section: ModeratedSection) -> list[Choice]:
    """Agree or disagree; for a graded section each disagreement names its grade, so the
    grade always follows the choice and nothing picked can be left unread."""
    if not section.graded:
        return [Choice(title="Agree", value=AGREE), Choice(title="Disagree", value=DISAGREE)]
    initial = section.initial_grade
    agree = f"Agree: {grade_label(initial)}" if initial else "Agree"
    return [Choice(title=agree, value=AGREE)] + [
        Choice(title=f"Disagree: {grade.label}", value=disagree_with(grade))
        for grade in Grade
        if grade is not initial
    ]


def _chosen(section: ModeratedSection, values: Mapping[str, str]) -> str:
    """The choice to show again: what was sent, in the choice's own form."""
    chosen = values.get(field_id("agree", section.key)) or ""
    grade = values.get(field_id("grade", section.key)) or ""
    if section.graded and chosen == DISAGREE and parse_grade_value(grade) is not None:
        return disagree_with(Grade(grade))
    return chosen


def _error(message: str) -> TextBlock:
    return TextBlock(text=message, wrap=True, color="Attention", weight="Bolder", spacing="None")


def _question(
    section: ModeratedSection, values: Mapping[str, str], errors: Mapping[str, str]
) -> list[CardElement]:
    key = section.key
    items: list[CardElement] = [
        TextBlock(text=section.title, weight="Bolder", size="Medium", wrap=True, separator=True)
    ]
    if section.graded:
        items.append(facts([("Auditor's grade", grade_label(section.initial_grade))]))
    if section.initial_rationale:
        items.append(paragraph(f"Auditor's rationale: {clip(section.initial_rationale)}"))
    items.append(
        ChoiceSetInput(
            id=field_id("agree", key),
            label=section.question,
            style="expanded",
            is_required=True,
            error_message="Choose agree or disagree.",
            value=_chosen(section, values) or None,
            choices=_agree_choices(section),
        )
    )
    for kind in ("agree", "grade"):
        if field_id(kind, key) in errors:
            items.append(_error(errors[field_id(kind, key)]))
    items.append(
        TextInput(
            id=field_id("why", key),
            label="Comments: optional if you agree, your rationale if you disagree",
            is_multiline=True,
            max_length=RATIONALE_LIMIT,
            value=values.get(field_id("why", key)) or None,
        )
    )
    if field_id("why", key) in errors:
        items.append(_error(errors[field_id("why", key)]))
    return [Container(items=items)]


def _actions_arising(values: Mapping[str, str]) -> Container:
    """The template's last question: what should happen now, for everyone to see."""
    return Container(
        separator=True,
        items=[
            TextInput(
                id=ACTIONS_ARISING,
                label="Actions arising from this moderation, if any (no names or case details)",
                is_multiline=True,
                max_length=ACTIONS_ARISING_LIMIT,
                value=values.get(ACTIONS_ARISING) or None,
            )
        ],
    )


def grade_help() -> ShowCardAction:
    """A button that shows the four grade definitions, so they are one tap away."""
    definitions = grade_definitions()
    lines = [paragraph(f"**{grade.label}**: {definitions[grade]}") for grade in Grade]
    return ask_only("Grade definitions", lines)


def ask_only(title: str, body: Sequence[CardElement]) -> ShowCardAction:
    """A button that opens read-only text inside the card (no submit)."""
    return ShowCardAction(title=title, card=AdaptiveCard(version=VERSION, body=list(body)))


def moderation_card(
    view: ModerationView,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    notice: str | None = None,
    verb: str = MODERATE,
    submit: str = "Save moderation",
    intro: Sequence[CardElement] = (),
    extra_inputs: Sequence[CardElement] = (),
    data: Mapping[str, Any] | None = None,
) -> dict:
    """The moderator's form. The revision after a dispute reuses it with another `verb`,
    an `intro` and `extra_inputs`."""
    values = values or {}
    errors = errors or {}
    body: list[CardElement] = [
        heading(f"Moderate the audit of case {view.case_ref}"),
        facts(
            [
                ("Auditor", view.auditor),
                ("Practitioner", view.practitioner),
                ("Audit tool", view.tool),
                ("Moderation due", view.due),
            ]
        ),
        *intro,
        paragraph(
            "Moderators do not re-audit the file: judge whether the evidence in the audit "
            "supports each grade. Every disagreement needs your grade and a rationale.",
            subtle=True,
        ),
    ]
    if view.fast_path:
        body.insert(1, paragraph("**Graded Inadequate: moderate within 1 working day.**"))
    if notice:
        body.append(TextBlock(text=notice, wrap=True, color="Attention", weight="Bolder"))
    if errors:
        body.append(problems_summary(len(errors)))
    for section in view.sections:
        body += _question(section, values, errors)
    body.append(_actions_arising(values))
    if view.panel_choice:
        body.append(
            ToggleInput(
                id=SEND_TO_PANEL,
                label="Senior Leadership Moderation Panel",
                title="Send this review to the panel once moderated",
                value=values.get(SEND_TO_PANEL) or "false",
                value_on="true",
                value_off="false",
                wrap=True,
            )
        )
    body += list(extra_inputs)
    payload = {"audit_id": view.audit_id, "version": view.version, **(data or {})}
    return card(
        body,
        fallback=f"Moderate the audit of case {view.case_ref}",
        actions=[
            execute(submit, verb, payload, positive=True),
            grade_help(),
            *escalation_actions(view.audit_id),
        ],
    )


@dataclass(frozen=True)
class ResultRow:
    """One section's grades side by side: the auditor's, the moderator's and, after a
    decided dispute, the decision."""

    title: str
    grades: Sequence[str]  # labels, one per column of the result
    note: str | None = None  # e.g. "Changed: <rationale>"


@dataclass(frozen=True)
class ResultView:
    audit_id: int
    version: int
    case_ref: str
    auditor: str
    moderator: str
    practitioner: str
    columns: Sequence[str]  # e.g. ("Auditor", "Moderator") or (..., "Decision")
    rows: Sequence[ResultRow]  # sections, then the overall grade
    headline: str
    status: str | None = None  # where a dispute stands, or what the reader can do
    extra: Sequence[tuple[str, str]] = field(default_factory=tuple)  # more facts
    actions_arising: str | None = None  # the moderator's, from the template


def _side_by_side(row: ResultRow, columns: Sequence[str]) -> Container:
    cells = [
        Column(
            width="stretch",
            items=[
                TextBlock(text=label, is_subtle=True, wrap=True, size="Small"),
                TextBlock(text=grade, wrap=True, weight="Bolder"),
            ],
        )
        for label, grade in zip(columns, row.grades, strict=True)
    ]
    items: list[CardElement] = [
        TextBlock(text=row.title, weight="Bolder", wrap=True),
        ColumnSet(columns=cells),
    ]
    if row.note:
        items.append(paragraph(clip(row.note), subtle=True))
    return Container(items=items, separator=True)


def result_card(
    view: ResultView,
    *,
    dispute: bool = False,
    ask_panel: bool = False,
    error: str | None = None,
    reason: str = "",
) -> dict:
    """The moderation result. With `dispute`, the reader (practitioner or team manager)
    can dispute the grade with a reason; with `ask_panel` (City of London, whose panel's
    chair has the deciding say) the reader can ask for the review to go to the panel."""
    body: list[CardElement] = [
        heading(f"Moderation of case {view.case_ref}"),
        paragraph(view.headline),
        facts([("Auditor", view.auditor), ("Moderator", view.moderator), *view.extra]),
    ]
    body += [_side_by_side(row, view.columns) for row in view.rows]
    if view.actions_arising:
        body.append(
            Container(
                separator=True,
                items=[
                    TextBlock(text="Actions arising", weight="Bolder", wrap=True),
                    paragraph(clip(view.actions_arising)),
                ],
            )
        )
    if view.status:
        body.append(paragraph(view.status))
    if error:
        body.append(_error(error))
    actions: list[Any] = []
    if dispute:
        why = text_input(
            "reason",
            "Why do you disagree with the moderated grade? (no names or case details)",
            error="Give your reason: the moderator discusses it with you.",
        )
        why.value = reason or None
        actions.append(
            ask(
                "Dispute the grade",
                [why],
                submit="Send to the moderator",
                verb=DISPUTE,
                data={"audit_id": view.audit_id, "version": view.version},
            )
        )
    if ask_panel:
        why = text_input(
            "reason",
            "Why should the panel look at this review? (no names or case details)",
            error="Give your reason: the panel's chair reads it.",
        )
        why.value = reason or None
        actions.append(
            ask(
                "Ask the panel",
                [why],
                submit="Send to the panel",
                verb=ASK_PANEL,
                data={"audit_id": view.audit_id},
            )
        )
    actions += escalation_actions(view.audit_id)
    return card(
        body, fallback=f"Moderation of case {view.case_ref}: {view.headline}", actions=actions
    )


@dataclass(frozen=True)
class UrgentIssuesView:
    audit_id: int
    version: int
    case_ref: str
    practitioner: str
    due: str
    confirmed: str | None = None  # "Confirmed by <name> on <date>: <note>"


def urgent_issues_card(
    view: UrgentIssuesView, *, error: str | None = None, note: str = "", notice: str | None = None
) -> dict:
    """For the team manager after an Inadequate moderated grade: confirm the urgent issues
    are addressed, with a note, by the deadline."""
    body: list[CardElement] = [
        heading(f"Urgent issues: case {view.case_ref}"),
        paragraph(
            f"The audit of {view.practitioner}'s work on case {view.case_ref} was moderated "
            "Inadequate. As team manager, make sure the urgent issues are addressed and confirm "
            "it here."
        ),
        facts([("Due", view.due)]),
    ]
    fallback = f"Urgent issues on case {view.case_ref}: confirm by {view.due}"
    if view.confirmed:
        body.append(paragraph(view.confirmed))
        return card(body, fallback=fallback, actions=escalation_actions(view.audit_id))
    if notice:
        body.append(TextBlock(text=notice, wrap=True, color="Attention", weight="Bolder"))
    what = text_input(
        "note",
        "What was done about the urgent issues? (no names or case details)",
        error="Say briefly what was done.",
    )
    what.value = note or None
    body.append(what)
    if error:
        body.append(_error(error))
    return card(
        body,
        fallback=fallback,
        actions=[
            execute(
                "Confirm the urgent issues are addressed",
                CONFIRM_URGENT,
                {"audit_id": view.audit_id, "version": view.version},
                positive=True,
            ),
            *escalation_actions(view.audit_id),
        ],
    )
