"""Recording a UoPP meeting (DOMAIN.md step 9), as pure rules.

After the meeting, its chair says whether it took place (and on what day),
the SMART improvement plan agreed (each action with an owner from the
meeting and a due date) and whether the grade is raised in light of
progress. Only *that* the meeting happened, the plan and a raise are kept:
never what was said.

The chair's answers travel on the cards, strings by input id, until the
record is confirmed (nothing is stored on the way), so every rule here
takes those strings and says, field by field, what must be put right.
Everything is checked again when the record is confirmed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from workflow.calendar import WorkingCalendar
from workflow.deadlines import BookingWindow, second_uopp_due
from workflow.errors import GradeRuleBroken
from workflow.grades import Grade, check_grade
from workflow.rules import ProgrammeRules
from workflow.wizard_rules import DATE_LIMIT, grade_of, parse_day

MAX_ACTIONS = 8  # actions in one improvement plan: a plan, not a task list
ACTION_LIMIT = 500  # characters in one action
REASON_LIMIT = 2000  # characters in the reason for raising the grade
NO_CHANGE = "no_change"  # the grade choice that keeps the grade as it is
ON, OFF = "true", "false"  # a toggle's values

HELD_ON = "held_on"
ACTIONS = "actions"  # how many action rows the plan card shows
GRADE = "grade"
REASON = "reason"
OUTCOMES = "outcomes_met"
ACTION_CELLS = ("action", "owner", "due")

Draft = Mapping[str, str]  # the chair's answers so far, as the cards send them


def action_field(row: int, cell: str) -> str:
    """The input id of one cell of an action row (rows from 0)."""
    return f"a{row}_{cell}"


def action_count(draft: Draft) -> int:
    """How many action rows the plan shows: one to start with, at most MAX_ACTIONS."""
    try:
        rows = int(draft.get(ACTIONS, "1"))
    except ValueError:
        rows = 1
    return max(1, min(rows, MAX_ACTIONS))


def draft_limits() -> dict[str, int]:
    """Every answer a card may carry, with the longest it may be; anything else is ignored."""
    limits = {HELD_ON: DATE_LIMIT, ACTIONS: 2, GRADE: 32, REASON: REASON_LIMIT, OUTCOMES: 8}
    for row in range(MAX_ACTIONS):
        limits[action_field(row, "action")] = ACTION_LIMIT
        limits[action_field(row, "owner")] = 12
        limits[action_field(row, "due")] = DATE_LIMIT
    return limits


@dataclass(frozen=True)
class PlanAction:
    """One action of the improvement plan: what, who (a staff id), by when."""

    action: str
    owner_id: int
    due_on: date


@dataclass(frozen=True)
class GradeDecision:
    """The grade after the meeting: `raised_to` None keeps it; a raise needs a reason."""

    raised_to: Grade | None
    reason: str


# --- did it take place ------------------------------------------------------------------


def held_on_problem(text: str | None, *, today: date, earliest: date) -> str | None:
    """What is wrong with the date the chair gave, or None: a date, not in the future,
    not before the meeting was booked."""
    if not text:
        return "Give the date the meeting took place."
    day = parse_day(text)
    if day is None:
        return f"Give the date as a date, for example {today:%d/%m/%Y}."
    if day > today:
        return "The meeting can't have taken place in the future: give the date it was held."
    if day < earliest:
        return (
            f"The meeting was booked on {earliest:%d/%m/%Y}, so it can't have taken place "
            "before then."
        )
    return None


# --- the improvement plan ---------------------------------------------------------------


def plan_from(
    draft: Draft, *, today: date, owners: frozenset[int]
) -> tuple[list[PlanAction], dict[str, str]]:
    """The plan's complete actions, and a problem per field (empty rows are skipped).

    A plan needs at least one action; each names what will be done, an owner
    from the meeting and a date after today.
    """
    plan: list[PlanAction] = []
    errors: dict[str, str] = {}
    for row in range(action_count(draft)):
        cells = {cell: draft.get(action_field(row, cell), "").strip() for cell in ACTION_CELLS}
        if not any(cells.values()):
            continue
        row_errors = _row_problems(cells, today, owners)
        if row_errors:
            errors.update({action_field(row, cell): text for cell, text in row_errors.items()})
            continue
        plan.append(PlanAction(cells["action"], int(cells["owner"]), _day(cells["due"])))
    if not plan and not errors:
        errors[ACTIONS] = (
            "Add at least one action the meeting agreed: what will be done, by whom and by when."
        )
    return plan, errors


def _day(text: str) -> date:
    day = parse_day(text)
    assert day is not None
    return day


def _row_problems(cells: Mapping[str, str], today: date, owners: frozenset[int]) -> dict[str, str]:
    errors = {}
    if not cells["action"]:
        errors["action"] = "Say what will be done."
    if not (cells["owner"].isdigit() and int(cells["owner"]) in owners):
        errors["owner"] = "Choose who will do it, from the people at the meeting."
    due = parse_day(cells["due"])
    if due is None:
        errors["due"] = "Give the date it should be done by."
    elif due <= today:
        errors["due"] = "Give a date in the future: the plan is what happens next."
    return errors


def with_action_added(draft: Draft) -> dict[str, str]:
    """The draft with one more (empty) action row, up to MAX_ACTIONS."""
    return {**draft, ACTIONS: str(min(action_count(draft) + 1, MAX_ACTIONS))}


def with_action_removed(draft: Draft, removed: int) -> dict[str, str]:
    """The draft without row `removed` (the rows after it move up); one empty row is left
    when the last goes. Raises ValueError for a row that is not shown."""
    rows = action_count(draft)
    if not 0 <= removed < rows:
        raise ValueError(f"no action row {removed}")
    kept = [
        {cell: draft.get(action_field(row, cell), "") for cell in ACTION_CELLS}
        for row in range(rows)
        if row != removed
    ]
    changed = {key: value for key, value in draft.items() if not _is_action_cell(key)}
    for row, cells in enumerate(kept):
        changed.update({action_field(row, cell): value for cell, value in cells.items()})
    changed[ACTIONS] = str(max(len(kept), 1))
    return changed


def _is_action_cell(key: str) -> bool:
    head, _, cell = key.partition("_")
    return head[:1] == "a" and head[1:].isdigit() and cell in ACTION_CELLS


# --- the grade ----------------------------------------------------------------------------


def higher_grades(current: Grade | None) -> list[Grade]:
    """The grades a UoPP may raise the work to, lowest first (a grade is never lowered here)."""
    if current is None:
        return []
    return sorted((g for g in Grade if g.rank > current.rank), key=lambda g: g.rank)


def grade_from(draft: Draft, current: Grade | None) -> tuple[GradeDecision, dict[str, str]]:
    """Whether the grade is raised, and a problem per field.

    "No change" needs nothing more. A raise must be to a higher grade, with a
    reason; to Good or Outstanding only when the child's outcomes are now met
    or on the way to being met (the same rule as the audit's grade).
    """
    choice = draft.get(GRADE, "")
    reason = draft.get(REASON, "").strip()
    if choice == NO_CHANGE:
        return GradeDecision(None, ""), {}
    grade = grade_of(choice)
    if grade is None:
        return GradeDecision(None, reason), {
            GRADE: "Say whether the grade stays as it is or is raised."
        }
    if grade not in higher_grades(current):
        return GradeDecision(None, reason), {
            GRADE: "Choose a grade higher than the current one, or no change."
        }
    errors = {}
    if not reason:
        errors[REASON] = "Say what progress since the audit justifies raising the grade."
    try:
        check_grade(grade, draft.get(OUTCOMES) == ON)
    except GradeRuleBroken:
        errors[OUTCOMES] = (
            f"Work is only {grade.label} when the child's outcomes are met or on the way to "
            "being met. Confirm that they are, or choose a lower grade."
        )
    return GradeDecision(grade, reason), errors


# --- booking again, and the second UoPP ------------------------------------------------------


def window_working_days(calendar: WorkingCalendar, first: date, last: date) -> int:
    """How many working days a booking window spans (at least one)."""
    return max(1, calendar.working_days_between(calendar.previous_working_day(first), last))


def window_of(calendar: WorkingCalendar, first: date, working_days: int) -> BookingWindow:
    """`working_days` working days from `first` (moved to a working day)."""
    first = calendar.on_or_after(first)
    last = calendar.add_working_days(first, max(working_days, 1) - 1)
    return BookingWindow(
        first, last, calendar.start_of_working_day(first), calendar.end_of_working_day(last)
    )


def rebook_window(calendar: WorkingCalendar, today: date, working_days: int) -> BookingWindow:
    """When a meeting that did not take place is booked again: from the next working day,
    for as many working days as the first window had."""
    return window_of(calendar, calendar.next_working_day(today), working_days)


def second_uopp_window(
    rules: ProgrammeRules, calendar: WorkingCalendar, first_uopp_on: date
) -> BookingWindow:
    """After Inadequate, the second UoPP's window: from `second_uopp_weeks` after the first
    meeting (the next working day if that is not one), for `uopp_working_days` working days,
    so it is never earlier than the plan was given to work."""
    due = second_uopp_due(rules, calendar, first_uopp_on)
    return window_of(calendar, due.day, rules.uopp_working_days)
