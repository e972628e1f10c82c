"""The body of each wizard step, by the kind of section it is (no code per audit tool).

Inputs carry no `isRequired`: the bot checks answers when "Save and
continue" is pressed, so "Back" and "Save and stop" always keep what was
typed, however unfinished. Each problem is shown under its own field, in
the attention colour and in words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from microsoft_teams.cards import (
    ActionSet,
    AdaptiveCard,
    CardElement,
    Choice,
    ChoiceSetInput,
    Container,
    ShowCardAction,
    TextBlock,
    TextInput,
    ToggleInput,
)

from cards.base import VERSION, execute, facts, paragraph
from cards.dates import date_input
from workflow.grades import Grade
from workflow.tools import ChecklistAnswer, SectionKind, grade_definitions
from workflow.wizard_rules import (
    MAX_ROWS,
    NO,
    OFF,
    ON,
    SAFEGUARDING,
    YES,
    WizardStep,
    grade_of,
    kloe_field,
    row_cells,
    row_count,
    row_field,
    step_fields,
)
from workflow.words import agreeing, counted

ADD_ROW = "wizard.add_row"
REMOVE_ROW = "wizard.remove_row"

SHOWN_LIMIT = 1500  # characters of someone else's text shown read-only on a card


@dataclass(frozen=True)
class StepInputs:
    """What a step's body needs besides its section: what is saved, and what is wrong."""

    mine: Mapping[str, str]  # this step's answers, as typed
    errors: Mapping[str, str]
    kloes: Sequence[str]
    owners: Sequence[tuple[str, str]]  # (staff id, "Name (part)") a recommendation may name
    grades: Sequence[tuple[str, str]]  # (section title, grade label) so far, for the overall step
    data: Mapping[str, object]  # what every button on the step sends (audit, version, step)
    today: str  # YYYY-MM-DD: recommendations are due after it, things seen on or before it


def clip(text: str | None, limit: int = SHOWN_LIMIT) -> str:
    """Someone's text as a card shows it, cut at `limit` so a card stays small."""
    if not text:
        return ""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def error_block(message: str) -> TextBlock:
    """A problem, next to its field: attention colour and words (colour is never enough)."""
    return TextBlock(
        text=f"Error: {message}", wrap=True, color="Attention", weight="Bolder", spacing="None"
    )


def problems_summary(count: int) -> TextBlock:
    """The line above a form with problems: how many, and that nothing typed was lost."""
    needs = agreeing(count, "needs", "need")
    where = "it is explained under its field" if count == 1 else "each is explained under its field"
    return error_block(
        f"{counted(count, 'answer')} {needs} your attention; {where}. "
        "Nothing you typed has been lost."
    )


def subheading(text: str) -> TextBlock:
    return TextBlock(text=text, weight="Bolder", size="Medium", wrap=True, separator=True)


def step_body(step: WizardStep, inputs: StepInputs) -> list[CardElement]:
    """The inputs of one step, each followed by its problem when there is one."""
    kind = step.kind
    build = {
        "conversation": _conversation,
        SectionKind.CHECKLIST.value: _checklist,
        SectionKind.GRADED_DOMAIN.value: _graded,
        SectionKind.OVERALL_GRADE.value: _overall,
        SectionKind.FEEDBACK.value: _feedback,
        SectionKind.KLOE_COMMENTS.value: _kloes,
        SectionKind.NARRATIVE.value: _narrative,
        SectionKind.RECOMMENDATIONS.value: _recommendations,
    }.get(kind)
    return build(step, inputs) if build else []


def _checked(element: CardElement, field_id: str, inputs: StepInputs) -> list[CardElement]:
    message = inputs.errors.get(field_id)
    return [element, error_block(message)] if message else [element]


def _text(
    field_id: str, label: str, inputs: StepInputs, limit: int, *, multiline: bool = True
) -> list[CardElement]:
    box = TextInput(
        id=field_id,
        label=label,
        value=inputs.mine.get(field_id) or None,
        is_multiline=multiline or None,
        max_length=limit,
    )
    return _checked(box, field_id, inputs)


def _choice(
    field_id: str,
    label: str,
    choices: Sequence[tuple[str, str]],
    inputs: StepInputs,
    *,
    expanded: bool = False,
) -> list[CardElement]:
    box = ChoiceSetInput(
        id=field_id,
        label=label,
        style="expanded" if expanded else "compact",
        placeholder=None if expanded else "Choose",
        value=inputs.mine.get(field_id) or None,
        choices=[Choice(title=title, value=value) for value, title in choices],
    )
    return _checked(box, field_id, inputs)


def _date(
    field_id: str,
    label: str,
    inputs: StepInputs,
    *,
    earliest: str | None = None,
    latest: str | None = None,
) -> list[CardElement]:
    box = date_input(
        field_id, label, value=inputs.mine.get(field_id), earliest=earliest, latest=latest
    )
    return _checked(box, field_id, inputs)


def _limit(step: WizardStep, inputs: StepInputs, field_id: str) -> int:
    fields = step_fields(
        step,
        inputs.mine,
        kloe_count=len(inputs.kloes),
        owners=frozenset(v for v, _ in inputs.owners),
    )
    return next(field.limit for field in fields if field.id == field_id)


def _conversation(step: WizardStep, inputs: StepInputs) -> list[CardElement]:
    return [
        paragraph(
            "An audit is done with the practitioner: a conversation about the work, not a file "
            "read alone. Record when you had it; the Audit Team checks that you did."
        ),
        *_choice(
            "held",
            "Have you had the audit conversation with the practitioner?",
            [(YES, "Yes"), (NO, "Not yet")],
            inputs,
            expanded=True,
        ),
        *_date("held_on", "Date of the conversation", inputs, latest=inputs.today),
        *_text(
            "note",
            "Anything to note about it (optional, no names)",
            inputs,
            _limit(step, inputs, "note"),
        ),
    ]


def _checklist(step: WizardStep, inputs: StepInputs) -> list[CardElement]:
    assert step.section is not None
    answers = [(answer.value, answer.label) for answer in ChecklistAnswer]
    body: list[CardElement] = []
    for item in step.section.items:
        body += _choice(f"item_{item.id}", item.text, answers, inputs)
    label = step.section.note_label or "Notes"
    body += _text("note", f"{label} (optional)", inputs, _limit(step, inputs, "note"))
    return body


def _grade_help() -> ActionSet:
    """The four grade definitions, one tap away."""
    definitions = grade_definitions()
    lines: list[CardElement] = [
        paragraph(f"**{grade.label}**: {definitions[grade]}") for grade in Grade
    ]
    shown = ShowCardAction(
        title="What the grades mean", card=AdaptiveCard(version=VERSION, body=lines)
    )
    return ActionSet(actions=[shown])


def _grade_inputs(step: WizardStep, inputs: StepInputs, label: str) -> list[CardElement]:
    grades = [(grade.value, grade.label) for grade in Grade]
    return [
        *_choice("grade", label, grades, inputs, expanded=True),
        _grade_help(),
        *_text(
            "rationale",
            "Your rationale for this grade (what in the work shows it; no names)",
            inputs,
            _limit(step, inputs, "rationale"),
        ),
    ]


def _graded(step: WizardStep, inputs: StepInputs) -> list[CardElement]:
    return _grade_inputs(step, inputs, "Grade for this section")


def _overall(step: WizardStep, inputs: StepInputs) -> list[CardElement]:
    body: list[CardElement] = []
    if inputs.grades:
        body += [subheading("Your grades so far"), facts(inputs.grades)]
    met = inputs.mine.get("outcomes_met") == ON
    toggle = ToggleInput(
        id="outcomes_met",
        label="The child's outcomes",
        title="Met, or on the way to being met",
        value=ON if met else OFF,
        value_on=ON,
        value_off=OFF,
        wrap=True,
    )
    body += _checked(toggle, "outcomes_met", inputs)
    if step.asks_safeguarding:
        found = inputs.mine.get(SAFEGUARDING) == ON
        safeguarding = ToggleInput(
            id=SAFEGUARDING,
            label="Immediate safeguarding actions",
            title="Found: part B is due sooner than the next supervision",
            value=ON if found else OFF,
            value_on=ON,
            value_off=OFF,
            wrap=True,
        )
        body += _checked(safeguarding, SAFEGUARDING, inputs)
    body += _grade_inputs(step, inputs, "Overall grade for the work")
    return body


def _feedback(step: WizardStep, inputs: StepInputs) -> list[CardElement]:
    assert step.section is not None
    methods = [(method, method) for method in step.section.methods]
    body: list[CardElement] = [
        paragraph(
            "Leave a source empty if its feedback was not sought or not appropriate.", subtle=True
        )
    ]
    for source in step.section.sources:
        said = f"{source.id}_said"
        body.append(subheading(source.label))
        # Each label names its source, so a screen reader tells the three apart.
        label = source.label
        body += _text(
            said, f"{label}: what was said (no names)", inputs, _limit(step, inputs, said)
        )
        body += _date(f"{source.id}_on", f"{label}: date", inputs, latest=inputs.today)
        body += _choice(f"{source.id}_method", f"{label}: how", methods, inputs)
    return body


def _kloes(step: WizardStep, inputs: StepInputs) -> list[CardElement]:
    if not inputs.kloes:
        return [
            paragraph("No key lines of enquiry were set for this cycle.", subtle=True),
            *_text(
                kloe_field(1),
                "Your comments (optional)",
                inputs,
                _limit(step, inputs, kloe_field(1)),
            ),
        ]
    body: list[CardElement] = []
    for number, kloe in enumerate(inputs.kloes, 1):
        field_id = kloe_field(number)
        body += _text(field_id, f"KLOE {number}: {kloe}", inputs, _limit(step, inputs, field_id))
    return body


def _narrative(step: WizardStep, inputs: StepInputs) -> list[CardElement]:
    return _text("text", step.title, inputs, _limit(step, inputs, "text"))


def _recommendations(step: WizardStep, inputs: StepInputs) -> list[CardElement]:
    assert step.section is not None
    labels = {column.id: column.label for column in step.section.columns}
    rows = row_count(inputs.mine)
    body: list[CardElement] = [
        paragraph(
            "Make each one SMART: what should happen, the difference it will make for the "
            "child, who will do it and by when. Leave a row empty to skip it.",
            subtle=True,
        )
    ]
    if "rows" in inputs.errors:
        body.append(error_block(inputs.errors["rows"]))
    for row in range(rows):
        body.append(_row(step, inputs, row, labels))
    if rows < MAX_ROWS:
        add = execute("Add another recommendation", ADD_ROW, dict(inputs.data))
        body.append(ActionSet(actions=[add]))
    else:
        body.append(paragraph(f"You can add up to {MAX_ROWS} here.", subtle=True))
    return body


def _row(step: WizardStep, inputs: StepInputs, row: int, labels: Mapping[str, str]) -> Container:
    def cell(name: str) -> str:
        return row_field(row, name)

    def label(column: str) -> str:  # numbered, so a screen reader tells the rows apart
        return f"{row + 1}. {labels[column]}"

    items: list[CardElement] = [subheading(f"Recommendation {row + 1}")]
    items += _text(cell("action"), label("action"), inputs, _limit(step, inputs, cell("action")))
    items += _text(cell("impact"), label("impact"), inputs, _limit(step, inputs, cell("impact")))
    if "owner" in row_cells(step.section):
        items += _choice(cell("owner"), label("by_whom"), inputs.owners, inputs)
    else:
        items.append(paragraph(SERVICE_OWNER_NOTE, subtle=True))
    tomorrow = (date.fromisoformat(inputs.today) + timedelta(days=1)).isoformat()
    items += _date(cell("due"), label("by_when"), inputs, earliest=tomorrow)
    remove = execute(f"Remove recommendation {row + 1}", REMOVE_ROW, {**inputs.data, "row": row})
    items.append(ActionSet(actions=[remove]))
    return Container(items=items)


SERVICE_OWNER_NOTE = (
    "A service-level action belongs to the service: its Head of Service, or the Audit Team, "
    "gives it an owner once the audit is submitted."
)


def grade_words(value: str | None) -> str:
    grade = grade_of(value)
    return grade.label if grade else "Not graded"
