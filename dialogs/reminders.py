"""Reminders about late work, as people see them: the bundled card, the copies up the
ladder, the snooze button, and answers about SMART actions (card or chat).

The scheduler (`scheduler/reminders.py`) decides who is reminded about what;
`remind_person` turns one person's decisions into the audit trail and outbox
rows, in the scheduler's transaction. The actions here run in the card
action's transaction, as every flow does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.dates import day
from cards.notice import notice_card
from cards.reminders import (
    ACTION_PROGRESS,
    NOTE_LIMIT,
    SNOOZE,
    CopyView,
    ReminderLine,
    ReminderView,
    action_answer_card,
    action_problem_card,
    example_day,
    reminder_card,
    reminder_copy_card,
)
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.moderation import audit_team_of
from dialogs.notify import tell
from dialogs.programmes import audit_escalation_route
from storage import repositories as repo
from storage.enums import RecommendationStatus
from storage.models import Recommendation, Reminder, Staff
from storage.repositories import reminders as due
from workflow.calendar import WorkingCalendar
from workflow.reminders import (
    Chase,
    Decision,
    Rung,
    action_due,
    snoozed_until,
    valid_new_date,
    working_days_late,
)
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.words import counted

ACTOR = "scheduler"
MAX_SNOOZED = 200  # reminder ids on one card; more means a tampered card


@dataclass(frozen=True)
class Chased:
    """One item in one person's reminder: what it is and what the ladder decided."""

    reminder_id: int
    kind: Chase
    subject_id: int
    audit_id: int
    due_at: datetime
    decision: Decision


async def remind_person(
    session: AsyncSession,
    owner: Staff,
    chased: Sequence[Chased],
    *,
    now: datetime,
    calendar: WorkingCalendar,
    places: Mapping[int, due.AuditPlace],
) -> None:
    """Write the trail and queue the day's bundled card (and copies up the ladder) for one
    person, in the caller's transaction, which has claimed these items. `places`: the items'
    audits' case references and services (the caller reads them for a whole batch)."""
    today = calendar.local_date(now)
    chased = sorted(chased, key=lambda c: c.due_at)
    lines = await _lines(session, chased, places, calendar, today)
    ladder = _Ladder(session, owner)
    # (person, rung) -> the lines they are copied on, and as whom
    copies: dict[tuple[int, Rung], tuple[str, list[ReminderLine]]] = {}
    # The trail, one INSERT per action rather than a row at a time through the session:
    # the first tick of a working day writes it for thousands of people (bench/first_tick.py).
    sent: list[tuple[int, None, dict[str, Any]]] = []
    escalated: list[tuple[int, None, dict[str, Any]]] = []
    for item, line in zip(chased, lines, strict=True):
        decision, service_id = item.decision, places[item.audit_id].service_id
        chase = {"chase": item.kind.value, "subject_id": item.subject_id, "to": owner.id}
        rung = int(decision.rung)
        sent.append(
            (
                item.audit_id,
                None,
                {**chase, "rung": rung, "due_at": item.due_at, "late": decision.late},
            )
        )
        if not decision.escalated:
            continue
        role, people = await ladder.rung(item.audit_id, service_id, decision.rung)
        for person in people:
            copies.setdefault((person.id, decision.rung), (_as_whom(role), []))[1].append(line)
        copied = [person.id for person in people]
        escalated.append((item.audit_id, None, {**chase, "rung": rung, "copied": copied}))
    await repo.record_events(session, ACTOR, "audit", "reminder_sent", sent, at=now)
    await repo.record_events(session, ACTOR, "audit", "reminder_escalated", escalated, at=now)
    top = max(int(item.decision.rung) for item in chased)
    second = ladder.named(Rung.TEAM_MANAGER)
    # The last rung's role, once reached (today or on an earlier day), by the first route
    # that has one.
    told = None
    if top >= Rung.HEAD_OF_SERVICE:
        for item in chased:
            route = await audit_escalation_route(session, item.audit_id)
            if len(route) > 1:
                told = route[1]
                break
    view = ReminderView(
        owner_name=owner.display_name,
        today=today,
        reminder_ids=tuple(item.reminder_id for item in chased),
        lines=tuple(lines),
        team_manager_copied=second[1] if second else None,
        copied_as=_yours(second[0]) if second else "your team manager",
        head_of_service_told=told is not None,
        told_as=f"the {told.label}" if told else "the Head of Service",
    )
    count = len(lines)
    await tell(
        session,
        owner.id,
        "reminder",
        f"reminder:{today.isoformat()}:rung{top}",
        summary=f"Reminder: {count} late item{'s' if count != 1 else ''}",
        card=reminder_card(view),
        bundle=f"reminders:{today.isoformat()}",
    )
    for (person_id, rung), (as_whom, copied_lines) in copies.items():
        await _copy(session, person_id, owner, as_whom, copied_lines, today, rung)


class _Ladder:
    """Who each escalated rung reaches for one owner, by each audit's programme route
    (`[escalation] route`): the owner's team manager, or whoever holds the route's role in
    the audit's service (the owner left out), looked up once each."""

    def __init__(self, session: AsyncSession, owner: Staff) -> None:
        self._session, self._owner = session, owner
        self._found: dict[tuple[Role, int], list[Staff]] = {}
        self._reached: dict[Rung, tuple[Role, list[str]]] = {}

    async def rung(self, audit_id: int, service_id: int, rung: Rung) -> tuple[Role, list[Staff]]:
        route = await audit_escalation_route(self._session, audit_id)
        step = 0 if rung is Rung.TEAM_MANAGER else 1
        if step >= len(route):
            return Role.HEAD_OF_SERVICE, []  # a one-step route has no third rung
        role = route[step]
        key = (role, service_id)
        if key not in self._found:
            self._found[key] = await self._holders(role, service_id)
        people = self._found[key]
        if people:
            named = self._reached.setdefault(rung, (role, []))[1]
            named += [p.display_name for p in people if p.display_name not in named]
        return role, people

    def named(self, rung: Rung) -> tuple[Role, str] | None:
        """The role and names reached at `rung` today, for the owner's card."""
        if rung not in self._reached:
            return None
        role, names = self._reached[rung]
        return role, ", ".join(names)

    async def _holders(self, role: Role, service_id: int) -> list[Staff]:
        if role is Role.TEAM_MANAGER:
            manager_id = self._owner.line_manager_id
            manager = await repo.get_staff(self._session, manager_id) if manager_id else None
            return [manager] if manager is not None and manager.active else []
        held = await repo.staff_holding_roles(self._session, [role], service_id)
        return sorted(
            {staff.id: staff for staff, _ in held if staff.id != self._owner.id}.values(),
            key=lambda staff: staff.id,
        )


def _as_whom(role: Role) -> str:
    """How a copy's reader is named on it ("their team manager", "Head of Service")."""
    return "their team manager" if role is Role.TEAM_MANAGER else role.label


def _yours(role: Role) -> str:
    return "your team manager" if role is Role.TEAM_MANAGER else f"the {role.label}"


async def work_of_a_leaver(
    session: AsyncSession,
    owner_id: int,
    rows: Sequence[Reminder],
    *,
    now: datetime,
    calendar: WorkingCalendar,
) -> None:
    """Late work owed by someone no longer active: the Audit Team covering each audit is told,
    once per item and deadline, to hand it on (it has no one else to chase)."""
    places = await due.audit_places(session, {row.audit_id for row in rows})
    for row in rows:
        audit = await repo.get_audit(session, row.audit_id)
        if audit is None:
            continue
        case_ref = places[row.audit_id].case_ref if row.audit_id in places else "unknown"
        what = Chase(row.kind).label
        due_on = calendar.local_date(row.due_at)
        told = {"chase": row.kind, "subject_id": row.subject_id, "owner": owner_id}
        told["due_on"] = due_on.isoformat()
        if any(
            event.action == "reminder_owner_left" and event.after == told
            for event in await repo.list_events(session, "audit", row.audit_id)
        ):
            continue  # told already about this deadline
        await repo.record_event(
            session, ACTOR, "audit", row.audit_id, "reminder_owner_left", None, told, at=now
        )
        for person in await audit_team_of(session, audit):
            await tell(
                session,
                person.id,
                "reminder_owner_left",
                f"reminder:left:{row.kind}:{row.subject_id}:{due_on.isoformat()}",
                summary=f"Case {case_ref}: late work owed by someone who has left",
                card=notice_card(
                    f"Case {case_ref}: nobody to chase",
                    f"Someone who has left auditbot's staff list still owes this: {what} "
                    f"(due {day(row.due_at, calendar.zone.key)}). Please hand it to someone "
                    "else; until then I can't remind anyone about it.",
                ),
            )


async def _copy(
    session: AsyncSession,
    to: int,
    owner: Staff,
    role: str,
    lines: Sequence[ReminderLine],
    today: date,
    rung: Rung,
) -> None:
    await tell(
        session,
        to,
        "reminder_copy",
        f"reminder:{today.isoformat()}:rung{int(rung)}:about:{owner.id}",
        summary=f"Escalated: {counted(len(lines), 'late item')} of {owner.display_name}",
        card=reminder_copy_card(CopyView(owner.display_name, today, role, tuple(lines))),
        bundle=f"reminders:{today.isoformat()}",
    )


async def _lines(
    session: AsyncSession,
    chased: Sequence[Chased],
    places: Mapping[int, due.AuditPlace],
    calendar: WorkingCalendar,
    today: date,
) -> list[ReminderLine]:
    actions = await due.recommendations_by_ids(
        session, [item.subject_id for item in chased if item.kind is Chase.ACTION]
    )
    lines = []
    for item in chased:
        action = actions.get(item.subject_id) if item.kind is Chase.ACTION else None
        place = places.get(item.audit_id)
        lines.append(
            ReminderLine(
                kind=item.kind.value,
                case_ref=place.case_ref if place else "unknown",
                what=item.kind.label,
                due_on=calendar.local_date(item.due_at),
                working_days_late=working_days_late(calendar, item.due_at, today),
                late=item.decision.late,
                action_id=action.id if action is not None else None,
                action_text=action.action if action is not None else None,
            )
        )
    return lines


# --- snooze -------------------------------------------------------------------------------


async def _load_snoozed(context: ActionContext) -> list[Reminder] | None:
    raw = context.text("reminders", limit=MAX_SNOOZED * 11)
    if not re.fullmatch(r"\d{1,10}(,\d{1,10})*", raw):
        raise ActionRefused("This card is out of date", "Please use the latest reminder I sent.")
    ids = {int(part) for part in raw.split(",")}
    if len(ids) > MAX_SNOOZED or any(not 0 < i < 2**31 for i in ids):
        raise ActionRefused("This card is out of date", "Please use the latest reminder I sent.")
    rows = await due.get_reminders_for_update(context.session, ids)
    return rows or None


async def _refuse_unless_reminded(context: ActionContext, rows: list[Reminder]) -> str | None:
    if all(row.owner_id == context.staff.id for row in rows):
        return None
    return "the person this reminder was sent to"


@card_action(SNOOZE, load=_load_snoozed, refuse=_refuse_unless_reminded)
async def snooze_reminder(context: ActionContext, rows: list[Reminder]) -> dict[str, Any]:
    """Hold every item on the card for a working day; pressing again changes nothing."""
    calendar = WorkingCalendar.from_rules(context.rules)
    until = snoozed_until(context.rules, calendar, context.now)
    for row in rows:
        if row.done_at is not None or (
            row.snoozed_until is not None and row.snoozed_until >= until
        ):
            continue
        row.snoozed_until = until
        row.next_at = max(row.next_at or until, until)
        await repo.record_event(
            context.session,
            context.staff,
            "audit",
            row.audit_id,
            "reminder_snoozed",
            None,
            {"chase": row.kind, "subject_id": row.subject_id, "until": until},
            at=context.now,
        )
    await context.session.flush()
    today = calendar.local_date(context.now)
    chased = [
        Chased(
            row.id,
            Chase(row.kind),
            row.subject_id,
            row.audit_id,
            row.due_at,
            Decision(Rung(max(row.rung, 1)), False, False, today, until),
        )
        for row in rows
    ]
    places = await due.audit_places(context.session, {row.audit_id for row in rows})
    lines = await _lines(context.session, chased, places, calendar, today)
    view = ReminderView(
        owner_name=context.staff.display_name,
        today=today,
        reminder_ids=tuple(row.id for row in rows),
        lines=tuple(lines),
        snoozed_until=calendar.local_date(until),
    )
    return reminder_card(view)


# --- action progress ----------------------------------------------------------------------

STATUSES = {
    "done": RecommendationStatus.DONE,
    "partly": RecommendationStatus.PARTLY,
    "not_yet": RecommendationStatus.NOT_YET,
}


class ProgressProblem(Exception):
    """An answer about an action that cannot be saved; the message says why."""


async def record_action_progress(
    session: AsyncSession,
    staff: Staff,
    action: Recommendation,
    answer: str,
    *,
    note: str,
    new_date: date | None,
    now: datetime,
    rules: ProgrammeRules,
    via: str,
) -> None:
    """Save the owner's answer on the recommendation (status, note, due date) with an audit
    event, and settle its reminder: done ends the chasing, a new date restarts the ladder.
    Raises ProgressProblem, having changed nothing, when the answer is incomplete."""
    calendar = WorkingCalendar.from_rules(rules)
    if answer not in STATUSES:
        raise ProgressProblem("Choose done, partly done or not yet.")
    if action.status is RecommendationStatus.DONE:
        raise ProgressProblem(f"Action {action.id} is already recorded as done; nothing changed.")
    if answer == "partly" and not note:
        raise ProgressProblem("Say briefly what has been done so far (partly done needs a note).")
    if answer == "not_yet":
        if new_date is None:
            raise ProgressProblem("Give a new date for the action (not yet needs a new date).")
        problem = valid_new_date(calendar, new_date, calendar.local_date(now))
        if problem:
            raise ProgressProblem(problem)
    before = repo.snapshot(action, ("status", "note", "due_on"))
    action.status = STATUSES[answer]
    if note:
        action.note = note
    if answer == "not_yet" and new_date is not None:
        action.due_on = new_date
    await repo.record_event(
        session,
        staff,
        "recommendation",
        action.id,
        "action_progress",
        before,
        {**repo.snapshot(action, ("status", "note", "due_on")), "via": via},
        at=now,
    )
    if answer == "done":
        await due.finish_reminder(session, Chase.ACTION.value, action.id, now)
    elif answer == "not_yet" and new_date is not None:
        await due.restart_reminder(
            session, Chase.ACTION.value, action.id, action_due(calendar, new_date)
        )
    await session.flush()


async def _load_action(context: ActionContext) -> Recommendation | None:
    return await repo.get_recommendation(context.session, context.number("recommendation"))


async def _refuse_unless_owner(context: ActionContext, action: Recommendation) -> str | None:
    return None if action.owner_id == context.staff.id else "the action's owner"


@card_action(ACTION_PROGRESS, load=_load_action, refuse=_refuse_unless_owner)
async def save_action_progress(context: ActionContext, action: Recommendation) -> dict[str, Any]:
    """The owner's answer from the reminder card."""
    answer = context.text(f"progress_{action.id}", limit=16)
    note = context.text(f"note_{action.id}", limit=NOTE_LIMIT)
    raw_date = context.text(f"new_date_{action.id}", limit=32)
    case_ref = await _case_ref(context.session, action)
    today = WorkingCalendar.from_rules(context.rules).local_date(context.now)
    try:
        new_date = _parse_date(raw_date, today) if raw_date else None
        await record_action_progress(
            context.session,
            context.staff,
            action,
            answer,
            note=note,
            new_date=new_date,
            now=context.now,
            rules=context.rules,
            via="card",
        )
    except ProgressProblem as problem:
        raise ActionRefused(f"Action {action.id} not saved", str(problem)) from None
    return action_answer_card(
        case_ref, action.id, answer, note=note or None, due_on=action.due_on, today=today
    )


CHAT_ANSWER = re.compile(
    r"^\s*(?P<answer>done|partly|not\s*yet)\s+(?:action\s+)?#?(?P<id>\d{1,9})\b\s*(?P<rest>.*)$",
    re.IGNORECASE | re.DOTALL,
)
DATE_FIRST = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4}|today|tomorrow|yesterday)\b\s*"
    r"(?P<note>.*)$",
    re.DOTALL | re.IGNORECASE,
)
RELATIVE_DAYS = {"yesterday": -1, "today": 0, "tomorrow": 1}


async def action_progress_from_chat(
    session: AsyncSession, staff: Staff | None, text: str, *, now: datetime, rules: ProgrammeRules
) -> dict[str, Any] | None:
    """A chat reply such as "done 12", "partly 12 what was done" or "not yet 12 2026-12-18"
    saved as progress on action 12, answered with a card; None when the message is not one,
    or the person owns no open action (so it goes on to the chat commands). Call inside a
    transaction, after an open reflection request has had its chance at the message."""
    match = CHAT_ANSWER.match(text)
    if match is None or staff is None or not staff.active:
        return None
    answer = re.sub(r"\s+", "_", match["answer"].lower()).replace("notyet", "not_yet")
    action_id = int(match["id"])
    rest = match["rest"].strip()
    today = WorkingCalendar.from_rules(rules).local_date(now)
    mine = sorted(a.id for a in await repo.list_open_recommendations_for_owner(session, staff.id))
    if action_id not in mine:
        return action_problem_card(
            _not_yours(action_id, mine), number=mine[0] if mine else None, today=today
        )

    def problem(message: str) -> dict[str, Any]:
        return action_problem_card(message, number=action_id, today=today)

    action = await repo.get_recommendation(session, action_id)
    assert action is not None
    new_date = None
    note = rest
    if answer == "not_yet":
        found = DATE_FIRST.match(rest)
        if found is None:
            return problem(
                f"Give the new date after the action's number, a day after today, e.g. "
                f"not yet {action_id} {example_day(today):%Y-%m-%d}."
            )
        note = found["note"].strip()
        try:
            new_date = _parse_date(found["date"], today)
        except ProgressProblem as refused:
            return problem(str(refused))
    if len(note) > NOTE_LIMIT:
        return problem(f"That note is too long: keep it under {NOTE_LIMIT} characters.")
    try:
        await record_action_progress(
            session,
            staff,
            action,
            answer,
            note=note,
            new_date=new_date,
            now=now,
            rules=rules,
            via="chat",
        )
    except ProgressProblem as refused:
        return problem(str(refused))
    case_ref = await _case_ref(session, action)
    return action_answer_card(
        case_ref, action.id, answer, note=note or None, due_on=action.due_on, today=today
    )


def _not_yours(action_id: int, mine: list[int]) -> str:
    """Why `action_id` cannot be answered: which actions the person does have."""
    if not mine:
        return (
            f"You have no open actions, so there is no action {action_id} to update. "
            "Nothing was changed."
        )
    if len(mine) == 1:
        yours = f"your one open action is {mine[0]}"
    elif mine == list(range(mine[0], mine[-1] + 1)):
        yours = f"yours are {mine[0]} to {mine[-1]}"
    else:
        yours = f"yours are {', '.join(map(str, mine[:-1]))} and {mine[-1]}"
    return f"You have no action {action_id}: {yours}. Nothing was changed."


def _parse_date(raw: str, today: date) -> date:
    shift = RELATIVE_DAYS.get(raw.lower())
    if shift is not None:
        return today + timedelta(days=shift)
    try:
        if "/" in raw:
            day, month, year = (int(part) for part in raw.split("/"))
            return date(year, month, day)
        return date.fromisoformat(raw)
    except ValueError:
        raise ProgressProblem(f"{raw!r} is not a date; write it as 2026-12-18.") from None


async def _case_ref(session: AsyncSession, action: Recommendation) -> str:
    places = await due.audit_places(session, {action.audit_id})
    place = places.get(action.audit_id)
    return place.case_ref if place else "unknown"
