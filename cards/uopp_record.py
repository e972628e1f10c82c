"""The UoPP record: the chair's cards after the meeting, and the record everyone gets.

The chair answers four cards in turn: did it take place (and when), the
improvement plan agreed, whether the grade is raised, and a last check
before it is recorded. Nothing is saved until then: every button carries
the answers so far (`draft`), and each card's own inputs come back with it.
Each problem sits under its field, with what was typed kept. Cards carry
case references only, and never ask for what was said in the meeting.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from microsoft_teams.cards import (
    ActionSet,
    CardElement,
    Choice,
    ChoiceSetInput,
    Container,
    TextBlock,
    TextInput,
    ToggleInput,
)

from cards.base import ask, card, execute, facts, heading, paragraph
from cards.dates import date_input
from cards.escalations import escalation_actions
from cards.wizard_steps import error_block, problems_summary, subheading
from workflow.grades import Grade
from workflow.uopp_record import (
    ACTION_CELLS,
    ACTION_LIMIT,
    ACTIONS,
    GRADE,
    HELD_ON,
    MAX_ACTIONS,
    NO_CHANGE,
    OFF,
    ON,
    OUTCOMES,
    REASON,
    REASON_LIMIT,
    action_count,
    action_field,
)

HELD = "uopp.held"
NOT_HELD = "uopp.not_held"
ADD_ACTION = "uopp.add_action"
REMOVE_ACTION = "uopp.remove_action"
PLAN_DONE = "uopp.plan_done"
GRADE_DONE = "uopp.grade_done"
BACK = "uopp.back"
CONFIRM = "uopp.confirm"

# Which card a button was pressed on, for "Back".
QUESTION, PLAN, GRADE_STEP, CHECK = "question", "plan", "grade", "check"
STEPS = (QUESTION, PLAN, GRADE_STEP, CHECK)


@dataclass(frozen=True)
class MeetingView:
    """What the chair's cards show about one meeting (names, dates already formatted)."""

    meeting_id: int
    audit_id: int
    version: int  # the audit's, when the card was drawn
    case_ref: str
    second: bool  # the second UoPP after an Inadequate grade
    scheduled: str  # "Tue 1 Dec 2026, 10:00"
    scheduled_day: str  # YYYY-MM-DD, the date input's default
    earliest: str  # YYYY-MM-DD: the day it was booked
    today: str  # YYYY-MM-DD in the council's time zone
    tomorrow: str  # YYYY-MM-DD: the earliest an action may be due
    chair: str
    people: Sequence[tuple[str, str]]  # (staff id, "Name (part)"): who may own an action
    grade: Grade | None  # the grade as it stands
    grades_above: Sequence[Grade] = ()  # what it may be raised to
    told: str = "the team manager, practitioner and coordinator"

    @property
    def title(self) -> str:
        meeting = "second UoPP meeting" if self.second else "UoPP meeting"
        return f"The {meeting} for case {self.case_ref}"

    @property
    def question(self) -> str:
        meeting = "second UoPP meeting" if self.second else "UoPP meeting"
        return f"Did the {meeting} for case {self.case_ref} take place?"

    def data(self, draft: Mapping[str, str], step: str, inputs: Sequence[str] = ()) -> dict:
        """What every button on a card sends: the meeting, the audit's version, the step,
        and the answers so far except those the card itself asks (its inputs send them)."""
        carried = {key: value for key, value in draft.items() if key not in set(inputs)}
        return {
            **carried,
            "meeting_id": self.meeting_id,
            "version": self.version,
            "step": step,
        }


@dataclass(frozen=True)
class PlanLine:
    action: str
    owner: str  # a name
    due: str  # a formatted date


@dataclass(frozen=True)
class RecordSummary:
    """What is (or will be) recorded: the date, the plan, the grade, what follows."""

    case_ref: str
    second: bool
    held_on: str  # a formatted date
    chair: str
    plan: Sequence[PlanLine]
    grade_line: str  # "Stays Requires Improvement to be Good" or "Raised from ... to ..."
    reason: str = ""
    next_meeting: str | None = None  # the second UoPP's window, after Inadequate
    told: str = "the team manager, practitioner and coordinator"

    @property
    def meeting(self) -> str:
        return "second UoPP meeting" if self.second else "UoPP meeting"


@dataclass(frozen=True)
class NotHeldView:
    case_ref: str
    second: bool
    scheduled: str
    window: str  # "between Wed 2 Dec 2026 and Tue 8 Dec 2026"
    recorded_by: str

    @property
    def meeting(self) -> str:
        return "second UoPP meeting" if self.second else "UoPP meeting"


@dataclass(frozen=True)
class Problems:
    """What the bot found wrong with a card's answers, by input id, and a note to show."""

    errors: Mapping[str, str] = field(default_factory=dict)
    notice: str | None = None


def _top(view: MeetingView, step: str, problems: Problems | None) -> list[CardElement]:
    number = STEPS.index(step) + 1
    body: list[CardElement] = [
        heading(view.question if step == QUESTION else _STEP_TITLES[step]),
        paragraph(f"{view.title} · step {number} of {len(STEPS)}", subtle=True),
    ]
    if problems and problems.notice:
        body.append(TextBlock(text=problems.notice, wrap=True, weight="Bolder", color="Attention"))
    if problems and problems.errors:
        body.append(problems_summary(len(problems.errors)))
    return body


_STEP_TITLES = {
    PLAN: "The improvement plan agreed",
    GRADE_STEP: "Is the grade raised?",
    CHECK: "Check and record",
}


def _checked(element: CardElement, input_id: str, problems: Problems | None) -> list[CardElement]:
    message = (problems.errors if problems else {}).get(input_id)
    return [element, error_block(message)] if message else [element]


def _card(view: MeetingView, body: list[CardElement], actions: list[Any]) -> dict:
    return card(
        body,
        fallback=f"{view.title}: record whether it took place",
        actions=[*actions, *escalation_actions(view.audit_id)],
    )


# --- 1. did it take place ---------------------------------------------------------------


def held_question_card(
    view: MeetingView, draft: Mapping[str, str] | None = None, problems: Problems | None = None
) -> dict:
    """Sent to the chair once the meeting's time has passed."""
    draft = draft or {}
    data = view.data(draft, QUESTION, [HELD_ON])
    body = _top(view, QUESTION, problems)
    body += [
        paragraph(f"It was booked for {view.scheduled}, chaired by {view.chair}."),
        paragraph(
            "Only that it took place is recorded, then the improvement plan agreed and whether "
            "the grade is raised. Not what was said.",
            subtle=True,
        ),
    ]
    held_on = date_input(
        HELD_ON,
        "The date it took place",
        value=draft.get(HELD_ON) or view.scheduled_day,
        earliest=view.earliest,
        latest=view.today,
    )
    body += _checked(held_on, HELD_ON, problems)
    no = ask(
        "No, it did not take place",
        [
            paragraph(
                "I'll record that it did not take place and book it again with the same "
                "people, from the next working day. Everyone invited is told."
            )
        ],
        submit="It did not take place: book it again",
        verb=NOT_HELD,
        data=view.data(draft, QUESTION),
    )
    return _card(view, body, [execute("Yes, it took place", HELD, data, positive=True), no])


# --- 2. the plan ------------------------------------------------------------------------


def plan_card(
    view: MeetingView, draft: Mapping[str, str], problems: Problems | None = None
) -> dict:
    rows = action_count(draft)
    inputs = [action_field(row, cell) for row in range(rows) for cell in ACTION_CELLS]
    data = view.data(draft, PLAN, inputs)
    body = _top(view, PLAN, problems)
    body.append(
        paragraph(
            "Record each action the meeting agreed, to fold into the child's plan: what will "
            "be done, who will do it and by when. Leave a row empty to skip it. No names of "
            "the child or family.",
            subtle=True,
        )
    )
    body += _checked(TextBlock(text="Actions", weight="Bolder", wrap=True), ACTIONS, problems)
    for row in range(rows):
        body.append(_action_row(view, draft, problems, row, rows, data))
    if rows < MAX_ACTIONS:
        body.append(ActionSet(actions=[execute("Add another action", ADD_ACTION, data)]))
    else:
        body.append(paragraph(f"A plan can have up to {MAX_ACTIONS} actions.", subtle=True))
    return _card(
        view,
        body,
        [execute("Continue", PLAN_DONE, data, positive=True), execute("Back", BACK, data)],
    )


def _action_row(
    view: MeetingView,
    draft: Mapping[str, str],
    problems: Problems | None,
    row: int,
    rows: int,
    data: dict,
) -> Container:
    def cell(name: str) -> str:
        return action_field(row, name)

    number = row + 1  # in every label, so a screen reader tells the rows apart
    what = TextInput(
        id=cell("action"),
        label=f"{number}. What will be done",
        value=draft.get(cell("action")) or None,
        is_multiline=True,
        max_length=ACTION_LIMIT,
    )
    who = ChoiceSetInput(
        id=cell("owner"),
        label=f"{number}. Who will do it",
        style="compact",
        placeholder="Choose",
        value=draft.get(cell("owner")) or None,
        choices=[Choice(title=name, value=value) for value, name in view.people],
    )
    when = date_input(
        cell("due"), f"{number}. By when", value=draft.get(cell("due")), earliest=view.tomorrow
    )
    items: list[CardElement] = [subheading(f"Action {number}")]
    for element, input_id in ((what, cell("action")), (who, cell("owner")), (when, cell("due"))):
        items += _checked(element, input_id, problems)
    if rows > 1:
        remove = execute(f"Remove action {number}", REMOVE_ACTION, {**data, "row": row})
        items.append(ActionSet(actions=[remove]))
    return Container(items=items)


# --- 3. the grade -----------------------------------------------------------------------


def _grade_label(grade: Grade | None) -> str:
    return grade.label if grade else "Not graded"


def grade_card(
    view: MeetingView, draft: Mapping[str, str], problems: Problems | None = None
) -> dict:
    data = view.data(draft, GRADE_STEP, [GRADE, REASON, OUTCOMES])
    body = _top(view, GRADE_STEP, problems)
    body.append(facts([("Grade now", _grade_label(view.grade))]))
    choices = [Choice(title=f"No change: it stays {_grade_label(view.grade)}", value=NO_CHANGE)]
    choices += [Choice(title=f"Raise it to {g.label}", value=g.value) for g in view.grades_above]
    if not view.grades_above:
        body.append(paragraph("The grade is already the highest there is.", subtle=True))
    grade_input = ChoiceSetInput(
        id=GRADE,
        label="In light of the progress since the audit, is the grade raised?",
        style="expanded",
        value=draft.get(GRADE) or None,
        choices=choices,
    )
    body += _checked(grade_input, GRADE, problems)
    if view.grades_above:
        reason = TextInput(
            id=REASON,
            label="If raised: the progress that justifies it (no names)",
            value=draft.get(REASON) or None,
            is_multiline=True,
            max_length=REASON_LIMIT,
        )
        body += _checked(reason, REASON, problems)
    if any(not g.is_below_good for g in view.grades_above):
        outcomes = ToggleInput(
            id=OUTCOMES,
            label="If raised to Good or Outstanding: the child's outcomes",
            title="Met, or on the way to being met",
            value=ON if draft.get(OUTCOMES) == ON else OFF,
            value_on=ON,
            value_off=OFF,
            wrap=True,
        )
        body += _checked(outcomes, OUTCOMES, problems)
    return _card(
        view,
        body,
        [execute("Continue", GRADE_DONE, data, positive=True), execute("Back", BACK, data)],
    )


# --- 4. check, and the record -----------------------------------------------------------


def _record_body(summary: RecordSummary) -> list[CardElement]:
    body: list[CardElement] = [
        facts(
            [
                ("Took place on", summary.held_on),
                ("Chaired by", summary.chair),
                ("Grade", summary.grade_line),
            ]
        )
    ]
    if summary.reason:
        body.append(paragraph(f"Why the grade was raised: {summary.reason}"))
    body.append(subheading(f"The improvement plan ({len(summary.plan)})"))
    for number, line in enumerate(summary.plan, 1):
        body.append(paragraph(f"{number}. {line.action}"))
        body.append(paragraph(f"{line.owner}, by {line.due}", subtle=True))
    if summary.next_meeting:
        body.append(paragraph(summary.next_meeting))
    return body


def check_card(view: MeetingView, draft: Mapping[str, str], summary: RecordSummary,
               problems: Problems | None = None) -> dict:  # fmt: skip
    """The last card before recording: what will be kept and who will be told."""
    data = view.data(draft, CHECK)
    body = _top(view, CHECK, problems)
    body += _record_body(summary)
    body.append(
        paragraph(
            f"Recording it sends this to {summary.told}. The actions are tracked until done.",
            subtle=True,
        )
    )
    return _card(
        view,
        body,
        [execute("Record the meeting", CONFIRM, data, positive=True), execute("Back", BACK, data)],
    )


def record_card(summary: RecordSummary) -> dict:
    """The record: for the chair once recorded, and for everyone it is sent to."""
    title = f"The {summary.meeting} for case {summary.case_ref} took place"
    body: list[CardElement] = [heading(title), *_record_body(summary)]
    body.append(
        paragraph(
            "Each action's owner finds it under **my actions**. Only that the meeting took "
            "place is recorded, not what was said.",
            subtle=True,
        )
    )
    return card(body, fallback=f"{title} on {summary.held_on}")


def not_held_card(view: NotHeldView, *, for_chair: bool = False) -> dict:
    """That the meeting did not take place and will be booked again: for the chair who said
    so, and for everyone invited."""
    title = f"The {view.meeting} for case {view.case_ref} did not take place"
    said = "You recorded" if for_chair else f"{view.recorded_by} recorded"
    body: list[CardElement] = [
        heading(title),
        paragraph(f"{said} that the meeting booked for {view.scheduled} did not take place."),
        paragraph(
            f"It will be booked again with the same people, {view.window}. "
            "Everyone invited will get the new time."
        ),
    ]
    return card(body, fallback=f"{title}; it will be booked again {view.window}")
