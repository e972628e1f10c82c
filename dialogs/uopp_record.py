"""Recording the UoPP meeting (DOMAIN.md step 9): did it take place, the plan, the grade.

`ask_chairs` (the scheduler's tick calls it) sends each chair, once, a card
asking whether their booked meeting took place, when its end has passed.
The chair answers on four cards (`cards.uopp_record`); the answers travel
on the cards and nothing is written until the chair records the meeting.
Then, in one transaction: the meeting is held on the date given, the audit
moves on (`workflow.states`), the plan becomes tracked actions
(recommendations from the UoPP), a raised grade becomes the audit's final
grade, the trail gets its rows, and the record goes to the team manager,
practitioner and coordinator (and, when the work was graded RI or
Inadequate, the Head of Service and the Audit Team). After Inadequate, a
second UoPP is proposed in the same transaction for the booker to book.

"It did not take place" marks the meeting not held and proposes a new one
with the same people and chair, for the booker to book again.

Only the chair may press; anyone else is told so and nothing changes. A
repeated press, or one from an older card, changes nothing and shows the
meeting as it stands.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cards.uopp_record import (
    ADD_ACTION,
    BACK,
    CHECK,
    CONFIRM,
    GRADE_DONE,
    GRADE_STEP,
    HELD,
    NOT_HELD,
    PLAN_DONE,
    REMOVE_ACTION,
    MeetingView,
    Problems,
    check_card,
    grade_card,
    held_question_card,
    plan_card,
    record_card,
)
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.notify import tell
from dialogs.uopp_record_save import record_held, record_not_held
from dialogs.uopp_record_views import (
    KIND,
    Pressed,
    chair_of,
    current_card,
    load_meeting,
    meeting_view,
    read_draft,
    refuse_unless_chair,
    summary_of,
)
from storage import repositories as repo
from storage.enums import MeetingState
from storage.repositories.meetings import claim_chair_question, list_meetings_to_ask_chair
from workflow.calendar import Clock
from workflow.rules import ProgrammeRules
from workflow.uopp_record import (
    HELD_ON,
    GradeDecision,
    PlanAction,
    grade_from,
    held_on_problem,
    plan_from,
    with_action_added,
    with_action_removed,
)
from workflow.wizard_rules import parse_day

log = logging.getLogger(__name__)


# --- asking the chair -------------------------------------------------------------------


async def ask_chairs(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, rules: ProgrammeRules
) -> int:
    """Ask the chair of every booked meeting whose end has passed whether it took place.

    Each meeting is asked once, in its own transaction: its `chair_asked_at`
    is claimed with a conditional UPDATE and the chair's card is queued with
    it, so two services running this at once ask once between them. Returns
    how many chairs this call asked.
    """
    now = clock.now()
    async with sessions() as session:
        due = await list_meetings_to_ask_chair(session, now)
    asked = 0
    for meeting_id in due:
        async with sessions.begin() as session:
            if not await claim_chair_question(session, meeting_id, now):
                continue
            meeting = await repo.get_meeting(session, meeting_id)
            audit = await repo.get_audit(session, meeting.audit_id) if meeting else None
            if meeting is None or audit is None:
                continue
            view = await meeting_view(session, meeting, audit, now=now, rules=rules)
            await tell(
                session,
                chair_of(meeting),
                KIND,
                f"uopp:ask:meeting:{meeting.id}",
                summary=view.question,
                card=held_question_card(view),
            )
            await repo.record_event(
                session,
                "system",
                "meeting",
                meeting.id,
                "chair_asked",
                None,
                {"chair_id": chair_of(meeting), "asked_at": now},
                at=now,
            )
            asked += 1
    if asked:
        log.info("asked %s UoPP chair(s) whether their meeting took place", asked)
    return asked


# --- the chair's buttons ----------------------------------------------------------------


async def _open(context: ActionContext, pressed: Pressed) -> MeetingView | dict[str, Any]:
    """The view to answer with, or the card as things stand when this meeting is no
    longer waiting for its record (a repeat, or an older card)."""
    meeting = pressed.meeting
    if meeting.state is not MeetingState.BOOKED:
        return await current_card(context, pressed)
    if meeting.chair_asked_at is None:
        raise ActionRefused(
            "Not yet",
            "I'll ask you whether the meeting took place once its time has passed. "
            "Nothing was changed.",
        )
    return await meeting_view(
        context.session, meeting, pressed.audit, now=context.now, rules=context.rules
    )


@card_action(HELD, load=load_meeting, refuse=refuse_unless_chair)
async def took_place(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    opened = await _open(context, pressed)
    if isinstance(opened, dict):
        return opened
    draft = read_draft(context)
    problem = _held_on_problem(opened, draft)
    if problem:
        return held_question_card(opened, draft, Problems({HELD_ON: problem}))
    return plan_card(opened, draft)


def _held_on_problem(view: MeetingView, draft: Mapping[str, str]) -> str | None:
    return held_on_problem(
        draft.get(HELD_ON),
        today=_date(view.today),
        earliest=_date(view.earliest),
    )


def _date(text: str) -> date:
    value = parse_day(text)
    assert value is not None
    return value


@card_action(ADD_ACTION, load=load_meeting, refuse=refuse_unless_chair)
async def add_action(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    opened = await _open(context, pressed)
    if isinstance(opened, dict):
        return opened
    return plan_card(opened, with_action_added(read_draft(context)))


@card_action(REMOVE_ACTION, load=load_meeting, refuse=refuse_unless_chair)
async def remove_action(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    opened = await _open(context, pressed)
    if isinstance(opened, dict):
        return opened
    row = context.data.get("row")
    try:
        if isinstance(row, bool) or not isinstance(row, int):
            raise ValueError(row)
        draft = with_action_removed(read_draft(context), row)
    except ValueError:
        raise ActionRefused(
            "This card is out of date", "Please use the latest card I sent."
        ) from None
    return plan_card(opened, draft)


def _owners(view: MeetingView) -> frozenset[int]:
    return frozenset(int(value) for value, _ in view.people)


@card_action(PLAN_DONE, load=load_meeting, refuse=refuse_unless_chair)
async def plan_done(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    opened = await _open(context, pressed)
    if isinstance(opened, dict):
        return opened
    draft = read_draft(context)
    _, errors = plan_from(draft, today=_date(opened.today), owners=_owners(opened))
    if errors:
        return plan_card(opened, draft, Problems(errors))
    return grade_card(opened, draft)


@card_action(GRADE_DONE, load=load_meeting, refuse=refuse_unless_chair)
async def grade_done(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    opened = await _open(context, pressed)
    if isinstance(opened, dict):
        return opened
    draft = read_draft(context)
    _, errors = grade_from(draft, opened.grade)
    if errors:
        return grade_card(opened, draft, Problems(errors))
    return await _check_or_problem(context, pressed, opened, draft)


@card_action(BACK, load=load_meeting, refuse=refuse_unless_chair)
async def go_back(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    opened = await _open(context, pressed)
    if isinstance(opened, dict):
        return opened
    draft = read_draft(context)
    step = context.data.get("step")
    if step == CHECK:
        return grade_card(opened, draft)
    if step == GRADE_STEP:
        return plan_card(opened, draft)
    return held_question_card(opened, draft)


async def _check_or_problem(
    context: ActionContext,
    pressed: Pressed,
    view: MeetingView,
    draft: Mapping[str, str],
    *,
    notice: str | None = None,
) -> dict[str, Any]:
    """The check card, or the first card whose answers need putting right (everything is
    checked again: the answers travelled on the cards)."""
    checked = check_answers(view, draft)
    if isinstance(checked, dict):
        return checked
    held_on, plan, decision = checked
    summary = await summary_of(context.session, pressed, view, held_on, plan, decision,
                               rules=context.rules)  # fmt: skip
    return check_card(view, draft, summary, Problems(notice=notice) if notice else None)


def check_answers(
    view: MeetingView, draft: Mapping[str, str]
) -> dict[str, Any] | tuple[Any, list[PlanAction], GradeDecision]:
    """(held on, plan, grade decision), or the card of the first step with a problem."""
    problem = _held_on_problem(view, draft)
    if problem:
        return held_question_card(view, draft, Problems({HELD_ON: problem}))
    plan, errors = plan_from(draft, today=_date(view.today), owners=_owners(view))
    if errors:
        return plan_card(view, draft, Problems(errors))
    decision, errors = grade_from(draft, view.grade)
    if errors:
        return grade_card(view, draft, Problems(errors))
    return _date(draft[HELD_ON]), plan, decision


@card_action(CONFIRM, load=load_meeting, refuse=refuse_unless_chair)
async def confirm(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    opened = await _open(context, pressed)
    if isinstance(opened, dict):
        return opened
    draft = read_draft(context)
    if context.number("version") != pressed.audit.version:
        return await _check_or_problem(
            context,
            pressed,
            opened,
            draft,
            notice="This audit changed since this card was drawn, so nothing was recorded. "
            "Check the record against it and record it again.",
        )
    checked = check_answers(opened, draft)
    if isinstance(checked, dict):
        return checked
    held_on, plan, decision = checked
    summary = await record_held(context, pressed, opened, held_on, plan, decision)
    return record_card(summary)


@card_action(NOT_HELD, load=load_meeting, refuse=refuse_unless_chair)
async def did_not_take_place(context: ActionContext, pressed: Pressed) -> dict[str, Any]:
    opened = await _open(context, pressed)
    if isinstance(opened, dict):
        return opened
    return await record_not_held(context, pressed)
