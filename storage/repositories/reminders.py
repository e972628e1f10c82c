"""Due work: what is overdue in the domain tables, and the claims on chasing it.

What is owed and by when lives in audits, meetings and recommendations;
`overdue_items` reads it in one query (a UNION ALL of indexed branches),
leaving out items whose reminder is held (reminded recently or snoozed). The
chasing itself is remembered in `reminders`; a reminder is claimed before it
is sent: the rows with FOR UPDATE SKIP LOCKED on PostgreSQL, and on both
databases a conditional UPDATE (only rows still due are taken), plus a
`reminder_days` row per person and local day, so two instances never send a
person two reminders on one day.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Date,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    false,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import BindParameter

from storage.enums import MeetingState, RecommendationStatus
from storage.models import (
    Audit,
    AuditEvent,
    Case,
    Cycle,
    CycleMeeting,
    CycleMeetingKind,
    Meeting,
    Recommendation,
    Reminder,
    ReminderDay,
    RoleAssignment,
    SchedulerRun,
    Staff,
)
from storage.repositories._sql import UPSERT_INSERTS, upsert_insert
from workflow.grades import Grade
from workflow.roles import Role
from workflow.states import AuditState

S = AuditState
AUDITING = (S.ALLOCATED, S.IN_PROGRESS, S.RETURNED)
# After moderation the team manager's urgent issues stay owed until confirmed.
AFTER_MODERATION = (S.MODERATED, S.DISPUTED, S.DECIDED, S.UOPP_BOOKED, S.UOPP_HELD, S.FOLLOW_UP)
ENDED = (S.CLOSED, S.INVALIDATED, S.REALLOCATED)
LIVE = tuple(state for state in S if state not in ENDED)
URGENT_CONFIRMED = "urgent_issues_confirmed"
PANEL_REFERRED, PANEL_DECIDED = "panel_referred", "panel_decided"
INSERT_BATCH = 1000
# The kinds of late work, in the order due_work_queries returns their queries.
KINDS = (
    "audit",
    "moderation",
    "urgent_issues",
    "uopp_booking",
    "uopp_record",
    "action",
    "completeness",
    "part_b",
    "group_moderation",
    "panel",
)  # the audit event dialogs/moderation.py records

# A meeting not booked yet: waiting for the booker, being booked, or for the organiser to
# choose one of the options offered when nobody's diaries had a common slot.
NOT_YET_BOOKED = (MeetingState.PROPOSED, MeetingState.BOOKING, MeetingState.NEEDS_ORGANISER)


@dataclass(frozen=True)
class OverdueItem:
    """One piece of late work. due_at is None for actions (they carry due_on instead) and for
    UoPP records (the caller adds the recording time to ends_at)."""

    kind: str
    subject_id: int
    audit_id: int
    owner_id: int
    due_at: datetime | None
    due_on: date | None


def _not_held(kind: str, subject: Any, now: Any) -> Any:
    """No reminder row yet, or one whose hold (repeat interval, snooze) is over; with now
    None, everything overdue whether held or not."""
    if now is None:
        return true()
    held = exists().where(
        Reminder.kind == kind,
        Reminder.subject_id == subject,
        Reminder.next_at > now,
    )
    return ~held


# The due-work queries' parameters, given when they run: the queries are built once.
NOW: BindParameter[Any] = bindparam("now")
TODAY: BindParameter[Any] = bindparam("today")
SINCE: BindParameter[Any] = bindparam("since")


def _reopened(kind: str) -> Any:
    return bindparam(f"reopened_{kind}", expanding=True)


def _query_parameters(
    now: datetime,
    today: date,
    since: datetime | None = None,
    reopened: Mapping[str, Collection[int]] | None = None,
) -> dict[str, Any]:
    """The values the due-work queries (`due_work_queries`) run with."""
    values: dict[str, Any] = {"now": now, "today": today}
    if since is not None:
        values["since"] = since
        values.update({f"reopened_{k}": sorted((reopened or {}).get(k, ())) for k in KINDS})
    return values


def overdue_queries(
    now: datetime,
    today: date,
    *,
    held: bool = False,
    since: datetime | None = None,
    reopened: Mapping[str, Collection[int]] | None = None,
) -> list[Any]:
    """The due-work queries with these values bound in (see `due_work_queries`): for a
    caller that runs them once, or wants to see them (the bench's plans)."""
    values = _query_parameters(now, today, since, reopened)
    return [query.params(**values) for query in _queries_for(since, reopened, held=held)]


def _queries_for(
    since: datetime | None, reopened: Mapping[str, Collection[int]] | None, *, held: bool = False
) -> tuple[Any, ...]:
    """The cached due-work queries for a sweep (`since` None) or a read between sweeps,
    with the action branch only when an action's hold ended."""
    actions = since is None or bool((reopened or {}).get("action"))
    return due_work_queries(held=held, between_sweeps=since is not None, actions=actions)


@functools.cache
def due_work_queries(
    *, held: bool = False, between_sweeps: bool = False, actions: bool = True
) -> tuple[Any, ...]:
    """The due-work queries, one per kind of late work: every overdue item whose reminder is
    not held, as of the parameters `now` and `today` (`_query_parameters`). Run apart, each
    keeps its own index plan (as one UNION ALL, PostgreSQL took twice as long as the six
    together). Meetings past their end are returned for the caller to add the recording
    time. With held=True, held items are included too.

    `between_sweeps`: only what may have fallen due since the parameter `since` (when the
    caller last looked, earlier the same local day): a stored deadline at or after it, or
    an item whose hold ended since (`reopened_<kind>`, subject ids). Each branch is then a
    range on its deadline's index, whatever the number of items long late and held; the
    action branch is left out unless `actions`. Built once per combination and cached:
    building them was most of a quiet tick's own work.
    """
    now, today, since = NOW, TODAY, SINCE if between_sweeps else None
    hold = None if held else now
    reopened = {kind: _reopened(kind) for kind in KINDS} if between_sweeps else None

    def fresh(kind: str, subject: Any, deadline: Any) -> Any:
        if since is None or reopened is None:
            return true()
        # An action (deadline None) is late from the day after its date: none falls due
        # during a day.
        passed = false() if deadline is None else deadline >= since
        return or_(passed, subject.in_(reopened[kind]))

    none_date = cast(null(), Date).label("due_on")
    branches: list[Any] = [
        select(
            literal_column("'audit'").label("kind"),
            Audit.id.label("subject_id"),
            Audit.id.label("audit_id"),
            Audit.auditor_id.label("owner_id"),
            Audit.due_at.label("due_at"),
            none_date,
        ).where(
            Audit.state.in_(AUDITING),
            Audit.due_at < now,
            fresh("audit", Audit.id, Audit.due_at),
            _not_held("audit", Audit.id, hold),
        ),
        select(
            literal_column("'moderation'"),
            Audit.id,
            Audit.id,
            Audit.moderator_id,
            Audit.moderation_due_at,
            null(),
        ).where(
            Audit.state == S.SUBMITTED,
            Audit.moderation_due_at < now,
            Audit.moderator_id.is_not(None),
            fresh("moderation", Audit.id, Audit.moderation_due_at),
            _not_held("moderation", Audit.id, hold),
        ),
        select(
            literal_column("'urgent_issues'"),
            Audit.id,
            Audit.id,
            Audit.team_manager_id,
            Audit.urgent_issues_due_at,
            null(),
        ).where(
            Audit.urgent_issues_due_at < now,
            Audit.state.in_(AFTER_MODERATION),
            Audit.final_grade == Grade.INADEQUATE,
            Audit.team_manager_id.is_not(None),
            ~exists().where(
                AuditEvent.entity == "audit",
                AuditEvent.entity_id == Audit.id,
                AuditEvent.action == URGENT_CONFIRMED,
            ),
            fresh("urgent_issues", Audit.id, Audit.urgent_issues_due_at),
            _not_held("urgent_issues", Audit.id, hold),
        ),
    ]
    booking_due = func.coalesce(Meeting.extended_to, Audit.uopp_due_at)
    branches.append(
        select(
            literal_column("'uopp_booking'"),
            Meeting.id,
            Meeting.audit_id,
            Meeting.organiser_id,
            booking_due,
            null(),
        )
        .join(Audit, Audit.id == Meeting.audit_id)
        .where(
            Meeting.state.in_(NOT_YET_BOOKED),
            booking_due < now,
            Audit.state.in_(LIVE),
            fresh("uopp_booking", Meeting.id, booking_due),
            _recent_bookings(since, now, reopened and reopened["uopp_booking"]),
            _not_held("uopp_booking", Meeting.id, hold),
        )
    )
    branches.append(
        select(
            literal_column("'uopp_record'"),
            Meeting.id,
            Meeting.audit_id,
            func.coalesce(Meeting.chair_id, Meeting.organiser_id),
            Meeting.ends_at,
            null(),
        )
        .join(Audit, Audit.id == Meeting.audit_id)
        .where(
            Meeting.state == MeetingState.BOOKED,
            Meeting.ends_at < now,
            Audit.state.in_(LIVE),
            fresh("uopp_record", Meeting.id, Meeting.ends_at),
            _not_held("uopp_record", Meeting.id, hold),
        )
    )
    branches.append(
        select(
            literal_column("'action'"),
            Recommendation.id,
            Recommendation.audit_id,
            Recommendation.owner_id,
            null(),
            Recommendation.due_on,
        ).where(
            Recommendation.status.in_(OPEN_ACTION_STATES),
            Recommendation.due_on < today,
            Recommendation.owner_id.is_not(None),
            # Only the few late actions are looked up, by primary key, not every audit.
            ~exists().where(
                Audit.id == Recommendation.audit_id,
                Audit.state.in_((S.INVALIDATED, S.REALLOCATED)),
            ),
            fresh("action", Recommendation.id, None),
            _not_held("action", Recommendation.id, hold),
        )
    )
    checker = _audit_team_lead()
    branches.append(
        select(
            literal_column("'completeness'"),
            Audit.id,
            Audit.id,
            checker,
            Audit.check_due_at,
            null(),
        ).where(
            Audit.check_due_at < now,
            Audit.state.in_(LIVE),
            checker.is_not(None),
            fresh("completeness", Audit.id, Audit.check_due_at),
            _not_held("completeness", Audit.id, hold),
        )
    )
    branches.append(
        select(
            literal_column("'part_b'"),
            Audit.id,
            Audit.id,
            Audit.practitioner_id,
            Audit.part_b_due_at,
            null(),
        ).where(
            Audit.part_b_due_at < now,
            Audit.state.in_(LIVE),
            fresh("part_b", Audit.id, Audit.part_b_due_at),
            _not_held("part_b", Audit.id, hold),
        )
    )
    branches.append(
        select(
            literal_column("'group_moderation'"),
            Audit.id,
            Audit.id,
            CycleMeeting.organiser_id,
            Audit.moderation_due_at,
            null(),
        )
        .join(
            CycleMeeting,
            and_(
                CycleMeeting.cycle_id == Audit.cycle_id,
                CycleMeeting.kind == CycleMeetingKind.MODERATION_GROUP,
            ),
        )
        .where(
            Audit.state == S.SUBMITTED,
            Audit.moderator_id.is_(None),
            Audit.moderation_due_at < now,
            fresh("group_moderation", Audit.id, Audit.moderation_due_at),
            _not_held("group_moderation", Audit.id, hold),
        )
    )
    # From the few panel meetings to their cycles' reviews referred and not yet decided; the
    # caller adds the recording time to the meeting's end (or, unbooked, its window's end).
    panel_ends = func.coalesce(CycleMeeting.ends_at, CycleMeeting.window_ends_at)
    branches.append(
        select(
            literal_column("'panel'"),
            Audit.id,
            Audit.id,
            CycleMeeting.organiser_id,
            panel_ends,
            null(),
        )
        .select_from(CycleMeeting)
        .join(Audit, Audit.cycle_id == CycleMeeting.cycle_id)
        .where(
            CycleMeeting.kind == CycleMeetingKind.PANEL,
            panel_ends < now,
            # Said again as a list of cycles, so SQLite reads the audits of those cycles by
            # index rather than every audit (it would start from audits otherwise).
            Audit.cycle_id.in_(
                select(CycleMeeting.cycle_id).where(CycleMeeting.kind == CycleMeetingKind.PANEL)
            ),
            Audit.state.in_(LIVE),
            _has_event(PANEL_REFERRED),
            ~_has_event(PANEL_DECIDED),
            fresh("panel", Audit.id, panel_ends),
            _not_held("panel", Audit.id, hold),
        )
    )
    if not actions:
        # Between sweeps an action falls due only by its hold ending: without one, the
        # branch is left out (SQLite would read its whole index to learn it finds nothing).
        kinds = zip(KINDS, branches, strict=True)
        branches = [branch for kind, branch in kinds if kind != "action"]
    if between_sweeps:  # small ranges: one statement
        return (union_all(*branches),)
    return tuple(branches)


def _recent_bookings(since: Any, now: Any, reopened: Any) -> Any:
    """Between sweeps, the UoPP meetings whose booking deadline may have passed since
    `since`: extended since, their audit's UoPP due since (by its index), or reopened; the
    exact deadline is checked beside it."""
    if since is None:
        return true()
    recent = select(Audit.id).where(Audit.uopp_due_at >= since, Audit.uopp_due_at < now)
    return or_(Meeting.extended_to >= since, Meeting.audit_id.in_(recent), Meeting.id.in_(reopened))


def _has_event(action: str) -> Any:
    return exists().where(
        AuditEvent.entity == "audit",
        AuditEvent.entity_id == Audit.id,
        AuditEvent.action == action,
    )


def _audit_team_lead() -> Any:
    """Who is chased for an audit's completeness check: its service's Audit Manager, else
    a member of its Audit Team (the lowest id, so always the same one), while active."""

    def first(role: Role) -> Any:
        return (
            select(func.min(RoleAssignment.staff_id))
            .join(Cycle, Cycle.service_id == RoleAssignment.service_id)
            .join(Staff, Staff.id == RoleAssignment.staff_id)
            .where(Cycle.id == Audit.cycle_id, RoleAssignment.role == role, Staff.active.is_(True))
            .scalar_subquery()
        )

    return func.coalesce(first(Role.AUDIT_MANAGER), first(Role.AUDIT_TEAM))


OPEN_ACTION_STATES = (
    RecommendationStatus.OPEN,
    RecommendationStatus.PARTLY,
    RecommendationStatus.NOT_YET,
)


async def overdue_items(
    session: AsyncSession, now: datetime, today: date, *, since: datetime | None = None
) -> list[OverdueItem]:
    """Every overdue item not held by a recent reminder or a snooze (today is the local date).

    With `since` (when the caller last looked, the same local day), only what may have
    fallen due since: see `due_work_queries`. Those branches are small ranges, so they go
    as one UNION ALL, with the holds that ended read first from the due queue's index."""
    reopened = await holds_ended(session, since, now) if since is not None else {}
    values = _query_parameters(now, today, since, reopened)
    rows = [
        row
        for query in _queries_for(since, reopened)
        for row in (await session.execute(query, values)).all()
    ]
    return [
        OverdueItem(kind, subject_id, audit_id, owner_id, due_at, due_on)
        for kind, subject_id, audit_id, owner_id, due_at, due_on in rows
    ]


async def holds_ended(
    session: AsyncSession, since: datetime, now: datetime
) -> dict[str, list[int]]:
    """The items whose reminder hold (repeat day, snooze) ended after `since` and by `now`,
    by kind: the due queue, read by its next_at index."""
    query = select(Reminder.kind, Reminder.subject_id).where(
        Reminder.next_at > since, Reminder.next_at <= now, Reminder.done_at.is_(None)
    )
    ended: dict[str, list[int]] = {}
    for kind, subject_id in (await session.execute(query)).all():
        ended.setdefault(kind, []).append(subject_id)
    return ended


async def settle_reminders(session: AsyncSession, now: datetime, today: date) -> int:
    """Mark done the chasing of every item that is no longer overdue (submitted, moderated,
    confirmed, booked, recorded, done, or given a later date); how many were settled."""
    settled = 0
    for kind, query in zip(KINDS, overdue_queries(now, today, held=True), strict=True):
        still_due = select(list(query.subquery().c)[1])
        result = await session.execute(
            update(Reminder)
            .where(
                Reminder.kind == kind,
                Reminder.done_at.is_(None),
                Reminder.subject_id.not_in(still_due),
            )
            .values(done_at=now)
            .execution_options(synchronize_session=False)
        )
        settled += int(getattr(result, "rowcount", 0) or 0)
    return settled


async def ensure_reminders(
    session: AsyncSession, items: Sequence[tuple[str, int, int, int, datetime]]
) -> None:
    """Create the chasing row of each (kind, subject_id, audit_id, owner_id, due_at) that has
    none; rows that exist are left alone (another instance may be using them)."""
    if not items:
        return
    # In key order, so two instances inserting the same rows wait for each other rather than
    # deadlock on PostgreSQL's unique index.
    values = [
        {"kind": k, "subject_id": s, "audit_id": a, "owner_id": o, "due_at": d}
        for k, s, a, o, d in sorted(items, key=lambda item: (item[0], item[1]))
    ]
    # In batches: a statement may carry at most 32,767 parameters on PostgreSQL.
    for start in range(0, len(values), INSERT_BATCH):
        insert = upsert_insert(session, Reminder).values(values[start : start + INSERT_BATCH])
        await session.execute(insert.on_conflict_do_nothing(index_elements=["kind", "subject_id"]))


_CLAIM_REMINDERS = (
    select(Reminder)
    .where(
        tuple_(Reminder.kind, Reminder.subject_id).in_(bindparam("keys", expanding=True)),
        or_(Reminder.next_at.is_(None), Reminder.next_at <= bindparam("now")),
    )
    .order_by(Reminder.id)
    .with_for_update(skip_locked=True)
    .execution_options(populate_existing=True)
)


async def claim_reminders(
    session: AsyncSession, keys: Collection[tuple[str, int]], now: datetime
) -> list[Reminder]:
    """Lock and return the chasing rows of these (kind, subject_id) items that are still due
    (not held past now). Rows another instance holds are skipped (SKIP LOCKED)."""
    if not keys:
        return []
    return list((await session.scalars(_CLAIM_REMINDERS, {"keys": list(keys), "now": now})).all())


@dataclass(frozen=True)
class Reminded:
    """What one reminder sent changes in its chasing row."""

    reminder_id: int
    rung: int
    first_reminded_on: date
    next_at: datetime
    due_at: datetime
    owner_id: int


_MARK_REMINDED = (
    update(Reminder)
    .where(
        Reminder.id == bindparam("b_id"),
        or_(Reminder.next_at.is_(None), Reminder.next_at <= bindparam("b_now")),
    )
    .values(
        rung=bindparam("b_rung"),
        first_reminded_on=bindparam("b_first"),
        last_reminded_at=bindparam("b_now"),
        reminders_sent=Reminder.reminders_sent + 1,
        next_at=bindparam("b_next"),
        due_at=bindparam("b_due"),
        owner_id=bindparam("b_owner"),
        snoozed_until=None,
        done_at=None,
        updated_at=bindparam("b_now"),
    )
)


async def mark_reminded(session: AsyncSession, now: datetime, marks: Sequence[Reminded]) -> None:
    """Record the reminders in one statement (executemany). Call only on rows this
    transaction claimed with claim_reminders: they are locked (PostgreSQL) or the write lock
    is held (SQLite), so each row is still due; the condition is kept all the same."""
    if not marks:
        return
    connection = await session.connection()
    await connection.execute(
        _MARK_REMINDED,
        [
            {
                "b_id": m.reminder_id,
                "b_now": now,
                "b_rung": m.rung,
                "b_first": m.first_reminded_on,
                "b_next": m.next_at,
                "b_due": m.due_at,
                "b_owner": m.owner_id,
            }
            for m in marks
        ],
    )


async def hold_reminders(
    session: AsyncSession, reminder_ids: Collection[int], until: datetime
) -> None:
    """Keep these items out of the due-work query until `until` (nobody to remind now)."""
    if reminder_ids:
        await session.execute(
            update(Reminder)
            .where(Reminder.id.in_(list(reminder_ids)))
            .values(next_at=until)
            .execution_options(synchronize_session=False)
        )


_CLAIM_DAY = {
    dialect: (
        insert(ReminderDay)
        .values(
            owner_id=bindparam("owner_id"),
            day=bindparam("day"),
            sent_at=bindparam("sent_at"),
            items=bindparam("items"),
        )
        .on_conflict_do_nothing(index_elements=["owner_id", "day"])
        .returning(ReminderDay.id)
    )
    for dialect, insert in UPSERT_INSERTS.items()
}


async def claim_reminder_day(
    session: AsyncSession, owner_id: int, day: date, now: datetime, items: int
) -> bool:
    """Take today's one bundled reminder for this person; False if it was already taken
    (by this instance earlier, or another one)."""
    claim = _CLAIM_DAY[session.get_bind().dialect.name]
    taken = {"owner_id": owner_id, "day": day, "sent_at": now, "items": items}
    return (await session.scalar(claim, taken)) is not None


async def correct_reminder_day(session: AsyncSession, owner_id: int, day: date, items: int) -> None:
    """Set how many items the person's reminder today holds after all; with none, give the
    day back (nothing was sent, so a later tick may still remind them today)."""
    mine = (ReminderDay.owner_id == owner_id) & (ReminderDay.day == day)
    if items:
        await session.execute(update(ReminderDay).where(mine).values(items=items))
    else:
        await session.execute(delete(ReminderDay).where(mine))


async def reminded_today(session: AsyncSession, owner_ids: Collection[int], day: date) -> set[int]:
    """Of these people, those who already had their reminder on this local day."""
    if not owner_ids:
        return set()
    query = select(ReminderDay.owner_id).where(
        ReminderDay.day == day, ReminderDay.owner_id.in_(list(owner_ids))
    )
    return set((await session.scalars(query)).all())


async def get_reminders_for_update(
    session: AsyncSession, reminder_ids: Collection[int]
) -> list[Reminder]:
    if not reminder_ids:
        return []
    query = (
        select(Reminder)
        .where(Reminder.id.in_(list(reminder_ids)))
        .order_by(Reminder.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.scalars(query)).all())


async def get_reminder(session: AsyncSession, kind: str, subject_id: int) -> Reminder | None:
    query = select(Reminder).where(Reminder.kind == kind, Reminder.subject_id == subject_id)
    return await session.scalar(query.execution_options(populate_existing=True))


async def list_reminders(session: AsyncSession) -> list[Reminder]:
    return list((await session.scalars(select(Reminder).order_by(Reminder.id))).all())


async def restart_reminder(
    session: AsyncSession, kind: str, subject_id: int, due_at: datetime
) -> None:
    """A new deadline (an action's new date): the ladder starts again from the bottom."""
    await session.execute(
        update(Reminder)
        .where(Reminder.kind == kind, Reminder.subject_id == subject_id)
        .values(
            due_at=due_at,
            rung=0,
            first_reminded_on=None,
            next_at=None,
            snoozed_until=None,
            done_at=None,
        )
        .execution_options(synchronize_session=False)
    )


async def finish_reminder(session: AsyncSession, kind: str, subject_id: int, now: datetime) -> None:
    """The item is done: nothing more to chase."""
    await session.execute(
        update(Reminder)
        .where(Reminder.kind == kind, Reminder.subject_id == subject_id, Reminder.done_at.is_(None))
        .values(done_at=now)
        .execution_options(synchronize_session=False)
    )


_RECOMMENDATIONS_BY_IDS = select(Recommendation).where(
    Recommendation.id.in_(bindparam("ids", expanding=True))
)


async def recommendations_by_ids(
    session: AsyncSession, ids: Collection[int]
) -> dict[int, Recommendation]:
    """Several actions at once, by id (the ones on one reminder)."""
    if not ids:
        return {}
    found = await session.scalars(_RECOMMENDATIONS_BY_IDS, {"ids": list(ids)})
    return {action.id: action for action in found.all()}


@dataclass(frozen=True)
class AuditPlace:
    case_ref: str
    service_id: int


async def audit_places(session: AsyncSession, audit_ids: Collection[int]) -> dict[int, AuditPlace]:
    """Each audit's case reference and service, in one query."""
    if not audit_ids:
        return {}
    query = (
        select(Audit.id, Case.case_ref, Cycle.service_id)
        .join(Case, Case.id == Audit.case_id)
        .join(Cycle, Cycle.id == Audit.cycle_id)
        .where(Audit.id.in_(list(audit_ids)))
    )
    return {
        row.id: AuditPlace(row.case_ref, row.service_id)
        for row in (await session.execute(query)).all()
    }


async def last_run_at(session: AsyncSession, name: str) -> datetime | None:
    """When the named scheduled job last finished, or None if it never has."""
    return await session.scalar(select(SchedulerRun.last_run_at).where(SchedulerRun.name == name))


async def record_run(session: AsyncSession, name: str, at: datetime) -> None:
    """Note that the named job finished at `at` (never moving the time backwards)."""
    insert = upsert_insert(session, SchedulerRun).values(name=name, last_run_at=at)
    insert = insert.on_conflict_do_update(
        index_elements=["name"],
        set_={"last_run_at": func.max(SchedulerRun.last_run_at, insert.excluded.last_run_at)}
        if session.get_bind().dialect.name == "sqlite"
        else {"last_run_at": func.greatest(SchedulerRun.last_run_at, insert.excluded.last_run_at)},
    )
    await session.execute(insert)
