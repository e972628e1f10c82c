"""The audit wizard's steps, and what stops an auditor moving on, as pure rules.

A wizard is the audit tool's sections in order, framed by two steps every
audit has: first the audit conversation with the practitioner (DOMAIN.md
step 5: an audit is done *with* the practitioner, and step 6 checks they
were contacted), last a summary to confirm. What a step asks is decided by
its section's kind alone, so any tool file works with no code of its own.

Answers are kept exactly as a card sends them, strings by input id, one
mapping per step, so a card can be drawn again as it was typed, days later
on another device. `step_fields` says which inputs a step reads and what
each may hold (so a payload is checked before it is used); `validate_step`
says, field by field, what must be put right before moving on;
`validate_audit` runs every step again before submission.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from workflow.errors import GradeRuleBroken
from workflow.grades import Grade, check_grade
from workflow.tools import (
    AuditTool,
    ChecklistAnswer,
    RecommendationScope,
    Section,
    SectionKind,
)

# Step ids that no section can have (section ids start with a letter).
CONVERSATION = "_conversation"
SAFEGUARDING = "safeguarding_actions"  # the overall step's "immediate safeguarding actions"
SUMMARY = "_summary"

YES = "yes"
NO = "no"
ON = "true"  # a toggle's values
OFF = "false"

# Characters of typed text one card may hold. A card travels as JSON with every non-ASCII
# character escaped (6 bytes each), so this keeps a card under Teams' 80 KB whatever is typed.
CARD_TEXT_BUDGET = 9000
MAX_ROWS = 8  # recommendation rows in one section
TEXT_LIMIT = 4000  # a rationale, a narrative
NOTE_LIMIT = 2000  # a note, what someone said in feedback
COMMENT_LIMIT = 1500  # a comment on one KLOE, when there are few
ROW_LIMIT = 500  # one cell of a recommendation row
DATE_LIMIT = 10  # YYYY-MM-DD


def share_of_card(count: int, most: int) -> int:
    """The longest each of `count` texts on one card may be: at most `most`, and together
    within CARD_TEXT_BUDGET (never below 200 characters)."""
    return max(200, min(most, CARD_TEXT_BUDGET // max(count, 1)))


Answers = Mapping[str, Mapping[str, str]]  # step id -> input id -> value as typed


@dataclass(frozen=True)
class WizardStep:
    """One card of the wizard: a section of the tool, or the conversation or summary step."""

    id: str
    title: str
    section: Section | None = None
    # The overall step of a tool with a part B asks whether immediate safeguarding actions
    # were found: part B is then due sooner than the next supervision.
    asks_safeguarding: bool = False

    @property
    def kind(self) -> str:
        """The section's kind (a `SectionKind` value), or "conversation" / "summary"."""
        if self.section is not None:
            return self.section.kind.value
        return "conversation" if self.id == CONVERSATION else "summary"


@dataclass(frozen=True)
class Field:
    """An input a step reads: its id, the longest text it may hold, and, for a choice, the
    values it may take (anything else is a tampered or out-of-date card)."""

    id: str
    limit: int
    choices: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RecommendationRow:
    """A complete SMART recommendation: what, impact on the child, who (a staff id), when.

    A service-level recommendation has no owner from the audit (None): it belongs to the
    service, whose Head of Service or Audit Team gives it one."""

    scope: RecommendationScope
    action: str
    impact: str
    owner: int | None
    due: date


CONVERSATION_STEP = WizardStep(CONVERSATION, "The audit conversation with the practitioner")


def wizard_steps(tool: AuditTool) -> tuple[WizardStep, ...]:
    """The conversation step (none for a desktop audit), each section of the tool in
    order, then the summary."""
    conversation = () if tool.desktop else (CONVERSATION_STEP,)
    return (
        *conversation,
        *(
            WizardStep(
                section.id,
                section.title,
                section,
                asks_safeguarding=(
                    tool.part_b is not None and section.kind is SectionKind.OVERALL_GRADE
                ),
            )
            for section in tool.sections
        ),
        WizardStep(SUMMARY, "Check and submit"),
    )


def is_desktop(steps: Sequence[WizardStep]) -> bool:
    """A desktop audit: done from the record, with no conversation with the practitioner."""
    return not any(step.id == CONVERSATION for step in steps)


def step_index(steps: Sequence[WizardStep], step_id: str) -> int | None:
    return next((n for n, step in enumerate(steps) if step.id == step_id), None)


def row_count(mine: Mapping[str, str]) -> int:
    """How many recommendation rows a step shows: one to start with, at most MAX_ROWS."""
    try:
        rows = int(mine.get("rows", "1"))
    except ValueError:
        rows = 1
    return max(0, min(rows, MAX_ROWS))


ROW_CELLS = ("action", "impact", "owner", "due")
SERVICE_ROW_CELLS = ("action", "impact", "due")


def row_cells(section: Section | None) -> tuple[str, ...]:
    """The cells of a recommendation row: a service-level one has no owner (the service's
    Head of Service or Audit Team assigns one), a child-level one names who will do it."""
    if section is not None and section.scope is RecommendationScope.SERVICE:
        return SERVICE_ROW_CELLS
    return ROW_CELLS


def row_field(row: int, cell: str) -> str:
    return f"r{row}_{cell}"


def kloe_field(number: int) -> str:
    """The comment on the number-th KLOE (from 1); with no KLOEs, one general comment."""
    return f"kloe_{number}"


def step_fields(
    step: WizardStep, mine: Mapping[str, str], *, kloe_count: int, owners: frozenset[str]
) -> tuple[Field, ...]:
    """The inputs a step's card has, given what is saved for it (the number of rows)."""
    section = step.section
    if step.id == CONVERSATION:
        return (
            Field("held", 3, frozenset({YES, NO})),
            Field("held_on", DATE_LIMIT),
            Field("note", NOTE_LIMIT),
        )
    if section is None:
        return ()
    kind = section.kind
    if kind is SectionKind.CHECKLIST:
        answers = frozenset(answer.value for answer in ChecklistAnswer)
        items = tuple(Field(f"item_{item.id}", 20, answers) for item in section.items)
        return (*items, Field("note", NOTE_LIMIT))
    if kind in (SectionKind.GRADED_DOMAIN, SectionKind.OVERALL_GRADE):
        graded = (
            Field("grade", 30, frozenset(g.value for g in Grade)),
            Field("rationale", TEXT_LIMIT),
        )
        if kind is SectionKind.OVERALL_GRADE:
            met = Field("outcomes_met", 5, frozenset({ON, OFF}))
            if step.asks_safeguarding:
                return (*graded, met, Field(SAFEGUARDING, 5, frozenset({ON, OFF})))
            return (*graded, met)
        return graded
    if kind is SectionKind.FEEDBACK:
        methods = frozenset(section.methods)
        return tuple(
            field
            for source in section.sources
            for field in (
                Field(f"{source.id}_said", NOTE_LIMIT),
                Field(f"{source.id}_on", DATE_LIMIT),
                Field(f"{source.id}_method", 100, methods),
            )
        )
    if kind is SectionKind.KLOE_COMMENTS:
        count = max(kloe_count, 1)
        limit = share_of_card(count, COMMENT_LIMIT)
        return tuple(Field(kloe_field(n), limit) for n in range(1, count + 1))
    if kind is SectionKind.NARRATIVE:
        return (Field("text", TEXT_LIMIT),)
    if kind is SectionKind.RECOMMENDATIONS:
        return tuple(
            Field(
                row_field(row, cell),
                DATE_LIMIT if cell == "due" else ROW_LIMIT,
                owners if cell == "owner" else frozenset(),
            )
            for row in range(row_count(mine))
            for cell in row_cells(section)
        )
    return ()  # the practitioner's own section: read-only for the auditor


def parse_day(text: str | None) -> date | None:
    """A date as Input.Date sends it (YYYY-MM-DD), or None."""
    try:
        return date.fromisoformat(text) if text and len(text) == DATE_LIMIT else None
    except ValueError:
        return None


def grade_of(value: str | None) -> Grade | None:
    try:
        return Grade(value) if value else None
    except ValueError:
        return None


def grades_given(steps: Sequence[WizardStep], answers: Answers) -> dict[str, Grade]:
    """Each graded section's grade as saved, by section id (ungraded ones left out)."""
    found = {}
    for step in steps:
        if step.section is not None and step.section.graded:
            grade = grade_of(answers.get(step.id, {}).get("grade"))
            if grade is not None:
                found[step.id] = grade
    return found


def overall_step(steps: Sequence[WizardStep]) -> WizardStep:
    return next(s for s in steps if s.kind == SectionKind.OVERALL_GRADE)


def outcomes_met(steps: Sequence[WizardStep], answers: Answers) -> bool:
    """The auditor's answer: are the child's outcomes met or on the way to being met?"""
    return answers.get(overall_step(steps).id, {}).get("outcomes_met") == ON


def safeguarding_actions(steps: Sequence[WizardStep], answers: Answers) -> bool:
    """The auditor's answer: were immediate safeguarding actions found? (Asked only where
    the tool has a part B, which is then due sooner.)"""
    step = overall_step(steps)
    return step.asks_safeguarding and answers.get(step.id, {}).get(SAFEGUARDING) == ON


def practitioner_contacted(answers: Answers) -> bool:
    """True when the audit conversation with the practitioner is recorded, with its date."""
    mine = answers.get(CONVERSATION, {})
    return mine.get("held") == YES and parse_day(mine.get("held_on")) is not None


def primary_recommendations_step(steps: Sequence[WizardStep]) -> WizardStep | None:
    """Where below-Good work must have a recommendation: the first child-level section, else
    the first recommendations section."""
    sections = [s for s in steps if s.kind == SectionKind.RECOMMENDATIONS]
    child = [s for s in sections if s.section and s.section.scope is RecommendationScope.CHILD]
    found = child or sections
    return found[0] if found else None


def below_good(steps: Sequence[WizardStep], answers: Answers) -> bool:
    return any(grade.is_below_good for grade in grades_given(steps, answers).values())


def recommendations(steps: Sequence[WizardStep], answers: Answers) -> list[RecommendationRow]:
    """The complete rows of every recommendations section, in order (blank rows ignored)."""
    rows = []
    for step in steps:
        if step.section is None or step.section.kind is not SectionKind.RECOMMENDATIONS:
            continue
        mine = answers.get(step.id, {})
        scope = step.section.scope or RecommendationScope.CHILD
        wanted = row_cells(step.section)
        for row in range(row_count(mine)):
            cells = {cell: mine.get(row_field(row, cell), "").strip() for cell in wanted}
            due = parse_day(cells["due"])
            owned = "owner" not in cells or cells["owner"].isdigit()
            if cells["action"] and cells["impact"] and owned and due:
                owner = int(cells["owner"]) if "owner" in cells else None
                rows.append(RecommendationRow(scope, cells["action"], cells["impact"], owner, due))
    return rows


def validate_step(
    steps: Sequence[WizardStep],
    step: WizardStep,
    answers: Answers,
    *,
    today: date,
    owners: frozenset[str],
) -> dict[str, str]:
    """What must be put right before leaving `step` forwards: a message per input id.

    `answers` holds every step's answers (the rules for the overall grade and
    for recommendations look at the other steps' grades); `today` is the
    council's local date; `owners` the staff ids a recommendation may name.
    """
    mine = answers.get(step.id, {})
    section = step.section
    if step.id == CONVERSATION:
        return _conversation_errors(mine, today)
    if section is None:
        return {}
    kind = section.kind
    if kind is SectionKind.CHECKLIST:
        return {
            f"item_{item.id}": "Choose met, partly met, not met or not applicable."
            for item in section.items
            if not mine.get(f"item_{item.id}")
        }
    if kind is SectionKind.GRADED_DOMAIN:
        return _grade_errors(mine)
    if kind is SectionKind.OVERALL_GRADE:
        return _overall_errors(steps, step, answers)
    if kind is SectionKind.FEEDBACK:
        return _feedback_errors(section, mine, today)
    if kind is SectionKind.NARRATIVE and section.required and not mine.get("text", "").strip():
        return {"text": "Write something here: this section is part of every audit."}
    if kind is SectionKind.RECOMMENDATIONS:
        return _recommendation_errors(steps, step, answers, today, owners)
    return {}


def validate_audit(
    steps: Sequence[WizardStep], answers: Answers, *, today: date, owners: frozenset[str]
) -> list[tuple[WizardStep, dict[str, str]]]:
    """Every step that must be put right before the audit is submitted, in order."""
    found = []
    for step in steps:
        errors = validate_step(steps, step, answers, today=today, owners=owners)
        if errors:
            found.append((step, errors))
    return found


def _conversation_errors(mine: Mapping[str, str], today: date) -> dict[str, str]:
    held = mine.get("held")
    if held not in (YES, NO):
        return {"held": "Say whether you have had the audit conversation with the practitioner."}
    if held == NO:
        return {}
    problem = _past_day_problem(mine.get("held_on"), today, "the audit conversation")
    return {"held_on": problem} if problem else {}


def _past_day_problem(text: str | None, today: date, what: str) -> str | None:
    if not text:
        return f"Give the date of {what}."
    day = parse_day(text)
    if day is None:
        return f"Give the date of {what} as a date, for example {today:%d/%m/%Y}."
    if day > today:
        return f"The date of {what} can't be in the future."
    return None


def _grade_errors(mine: Mapping[str, str]) -> dict[str, str]:
    errors = {}
    if grade_of(mine.get("grade")) is None:
        errors["grade"] = "Choose a grade."
    if not mine.get("rationale", "").strip():
        errors["rationale"] = "Give your rationale for this grade: every grade needs one."
    return errors


def _overall_errors(
    steps: Sequence[WizardStep], step: WizardStep, answers: Answers
) -> dict[str, str]:
    mine = answers.get(step.id, {})
    errors = _grade_errors(mine)
    met = mine.get("outcomes_met") == ON
    grade = grade_of(mine.get("grade"))
    if grade is not None:
        try:
            check_grade(grade, met)
        except GradeRuleBroken as broken:
            errors["grade"] = str(broken)
    if not met:
        good = [
            s.title
            for s in steps
            if s.kind == SectionKind.GRADED_DOMAIN
            and (g := grade_of(answers.get(s.id, {}).get("grade"))) is not None
            and not g.is_below_good
        ]
        if good:
            errors["outcomes_met"] = (
                f"You graded {_and(good)} Good or Outstanding, but work is only Good or "
                "Outstanding when the child's outcomes are met or on the way to being met. "
                "Go back and change those grades, or record that the outcomes are being met."
            )
    return errors


def _feedback_errors(section: Section, mine: Mapping[str, str], today: date) -> dict[str, str]:
    errors = {}
    for source in section.sources:
        said, on, method = (
            mine.get(f"{source.id}_{part}", "") for part in ("said", "on", "method")
        )
        if not (said.strip() or on or method):
            continue  # not sought, or not appropriate: nothing to check
        if not said.strip():
            errors[f"{source.id}_said"] = (
                "Say what was said (no names), or clear the date and method."
            )
        problem = _past_day_problem(on, today, "the feedback")
        if problem:
            errors[f"{source.id}_on"] = problem
        if not method:
            errors[f"{source.id}_method"] = "Choose how the feedback was given."
    return errors


def _recommendation_errors(
    steps: Sequence[WizardStep],
    step: WizardStep,
    answers: Answers,
    today: date,
    owners: frozenset[str],
) -> dict[str, str]:
    mine = answers.get(step.id, {})
    errors: dict[str, str] = {}
    complete = 0
    for row in range(row_count(mine)):
        cells = {
            cell: mine.get(row_field(row, cell), "").strip() for cell in row_cells(step.section)
        }
        if not any(cells.values()):
            continue
        row_errors = _row_errors(cells, today, owners)
        errors.update({row_field(row, cell): message for cell, message in row_errors.items()})
        complete += not row_errors
    if complete == 0 and step == primary_recommendations_step(steps) and below_good(steps, answers):
        errors["rows"] = (
            "The work is graded below Good, so add at least one recommendation for the child: "
            "what should happen, the difference it will make, by whom and by when."
        )
    return errors


def _row_errors(cells: Mapping[str, str], today: date, owners: frozenset[str]) -> dict[str, str]:
    errors = {}
    if not cells["action"]:
        errors["action"] = "Say what should be done."
    if not cells["impact"]:
        errors["impact"] = "Say what difference it will make for the child."
    if "owner" in cells and cells["owner"] not in owners:
        errors["owner"] = "Choose who will do this."
    due = parse_day(cells["due"])
    if due is None:
        errors["due"] = "Give the date it should be done by."
    elif due <= today:
        errors["due"] = "Give a date after today: a recommendation is what happens next."
    return errors


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
