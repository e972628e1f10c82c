"""The tracker: one row per audit with the tracking sheet's columns (DOMAIN.md "What is
tracked": practitioner, team, auditor, moderator, initial and moderated grade,
recommendations and actions, whether the UoPP or part B took place, whether a re-audit is
required), its deadlines, what is late, and who has not yet said they have seen their
allocation notice. Only the audits the reader may see (`workspace/scope.py`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, partial
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import repositories as repo
from storage.enums import MeetingKind, MeetingState, RecommendationStatus
from storage.models import (
    Acknowledgement,
    Audit,
    AuditEvent,
    Case,
    Cycle,
    Meeting,
    Recommendation,
    Service,
    Staff,
    Team,
)
from workflow.calendar import WorkingCalendar
from workflow.grades import Grade
from workflow.states import AuditState
from workspace.scope import Filters, audits_joined, filtered, visible, visible_audit_ids
from workspace.sheets import Column, Sheet

COLUMNS = (
    Column("case_ref", "Case"),
    Column("service", "Service"),
    Column("cycle", "Cycle"),
    Column("team", "Team"),
    Column("practitioner", "Practitioner"),
    Column("auditor", "Auditor"),
    Column("moderator", "Moderator"),
    Column("state", "State"),
    Column("initial_grade", "Initial grade"),
    Column("moderated_grade", "Moderated grade"),
    Column("final_grade", "Final grade"),
    Column("actions", "Recommendations and actions"),
    Column("follow_up", "UoPP or part B"),
    Column("reaudit", "Re-audit"),
    Column("audit_due", "Audit due", "date"),
    Column("moderation_due", "Moderation due", "date"),
    Column("uopp_due", "UoPP due", "date"),
    Column("late", "Late"),
    Column("not_acknowledged", "Not acknowledged"),
)
BELOW_GOOD = frozenset({Grade.REQUIRES_IMPROVEMENT, Grade.INADEQUATE})
PART_B_RECORDED = "part_b_recorded"  # dialogs/part_b_request.RECORDED
ACK_PARTS = ("practitioner", "team_manager", "auditor", "moderator")


@dataclass(frozen=True)
class Acknowledging:
    """When people are expected to have pressed "I've seen this" on an allocation notice."""

    calendar: WorkingCalendar
    within_working_days: int = 2


async def tracker_sheet(
    session: AsyncSession,
    reader: Staff,
    *,
    now: datetime,
    acknowledging: Acknowledging,
    filters: Filters | None = None,
) -> Sheet:
    """The reader's rows, newest cycle first: one query for the sheet's own columns, and one
    each for the recommendations, meetings, part B, re-audits and acknowledgements of the
    same audits."""
    filters = filters or Filters()
    zone = acknowledging.calendar.zone
    practitioner, auditor, moderator, manager = (aliased(Staff) for _ in range(4))
    query = audits_joined(
        Audit.id, Audit.state, Audit.initial_grade, Audit.moderated_grade, Audit.final_grade,
        Audit.due_at, Audit.moderation_due_at, Audit.uopp_due_at, Audit.part_b_due_at,
        Audit.created_at, Case.case_ref, Cycle.title, Service.code, Team.name,
        practitioner.display_name, auditor.display_name, moderator.display_name,
        manager.display_name, Audit.practitioner_id, Audit.team_manager_id, Audit.auditor_id,
        Audit.moderator_id,
    )  # fmt: skip
    query = (
        query.join(practitioner, practitioner.id == Audit.practitioner_id)
        .join(auditor, auditor.id == Audit.auditor_id)
        .outerjoin(moderator, moderator.id == Audit.moderator_id)
        .outerjoin(manager, manager.id == Audit.team_manager_id)
        .where(await visible(session, reader))
        .order_by(Cycle.month.desc(), Audit.id)
    )
    query = filtered(query, filters)
    found = (await session.execute(query)).all()
    chosen = audits_joined(Audit.id).where(await visible(session, reader))
    ids = filtered(chosen, filters).scalar_subquery()
    extras = await _extras(session, ids)
    today = acknowledging.calendar.local_date(now)
    # A cycle's audits are allocated on a few days: the working-day sum once for each.
    acknowledge_by = cache(
        partial(acknowledging.calendar.add_working_days, n=acknowledging.within_working_days)
    )
    rows = []
    for (audit_id, state, initial, moderated, final, due, moderation_due, uopp_due, part_b_due,
         created, case_ref, cycle_title, service_code, team_name, practitioner_name, auditor_name,
         moderator_name, manager_name, *part_ids) in found:  # fmt: skip
        state = AuditState(state)
        late = _late(state, due, moderation_due, uopp_due, part_b_due, now)
        if filters.late_only and not late:
            continue
        expected_by = acknowledge_by(created.astimezone(zone).date())
        names = dict(zip(ACK_PARTS, (practitioner_name, manager_name, auditor_name,
                                     moderator_name), strict=True))  # fmt: skip
        unacknowledged = (
            [
                f"{names[part]} ({part.replace('_', ' ')})"
                for part, person in zip(ACK_PARTS, part_ids, strict=True)
                if person is not None and person not in extras.acknowledged[audit_id]
            ]
            if today > expected_by and state is not AuditState.CLOSED
            else []
        )
        rows.append(
            {
                "audit_id": audit_id,
                "case_ref": case_ref,
                "service": service_code,
                "cycle": cycle_title,
                "team": team_name or "",
                "practitioner": practitioner_name or "",
                "auditor": auditor_name or "",
                "moderator": moderator_name or "",
                "state": state.label,
                "initial_grade": _grade(initial),
                "moderated_grade": _grade(moderated),
                "final_grade": _grade(final),
                "actions": extras.actions.get(audit_id, ""),
                "follow_up": "; ".join(extras.follow_up[audit_id]),
                "reaudit": extras.reaudit.get(
                    audit_id, "Required" if final and Grade(final) in BELOW_GOOD else ""
                ),
                "audit_due": _day(due, zone),
                "moderation_due": _day(moderation_due, zone),
                "uopp_due": _day(uopp_due, zone),
                "late": late,
                "not_acknowledged": ", ".join(unacknowledged),
            }
        )
    return Sheet("Tracker", COLUMNS, rows)


@dataclass
class _Extras:
    actions: dict[int, str]
    follow_up: defaultdict[int, list[str]]
    reaudit: dict[int, str]
    acknowledged: defaultdict[int, set[int]]


async def _extras(session: AsyncSession, ids: Any) -> _Extras:
    extras = _Extras({}, defaultdict(list), {}, defaultdict(set))
    open_ = func.sum(case((Recommendation.status != RecommendationStatus.DONE, 1), else_=0))
    actions = select(Recommendation.audit_id, func.count(), open_).where(
        Recommendation.audit_id.in_(ids)
    )
    for audit_id, total, still_open in await session.execute(
        actions.group_by(Recommendation.audit_id)
    ):
        extras.actions[audit_id] = f"{total} ({still_open or 0} open)"
    meetings = select(Meeting.audit_id, Meeting.state, Meeting.held_on).where(
        Meeting.audit_id.in_(ids), Meeting.kind == MeetingKind.UOPP
    )
    for audit_id, state, held_on in await session.execute(meetings.order_by(Meeting.id)):
        words = {
            MeetingState.HELD: f"UoPP held {held_on.isoformat() if held_on else ''}".strip(),
            MeetingState.NOT_HELD: "UoPP not held",
            MeetingState.BOOKED: "UoPP booked",
        }.get(MeetingState(state))
        if words:
            extras.follow_up[audit_id] = [words]  # the latest meeting's word
    part_b = select(AuditEvent.entity_id).where(
        AuditEvent.entity == "audit",
        AuditEvent.action == PART_B_RECORDED,
        AuditEvent.entity_id.in_(ids),
    )
    for (audit_id,) in await session.execute(part_b):
        extras.follow_up[audit_id].append("part B recorded")
    later = aliased(Audit)
    reaudits = select(later.predecessor_id, later.state, later.final_grade).where(
        later.predecessor_id.in_(ids)
    )
    for predecessor, reaudit_state, grade in await session.execute(reaudits.order_by(later.id)):
        assert predecessor is not None
        extras.reaudit[predecessor] = "Re-audited: " + (
            Grade(grade).label if grade else AuditState(reaudit_state).label.lower()
        )
    acknowledged = select(Acknowledgement.audit_id, Acknowledgement.staff_id).where(
        Acknowledgement.audit_id.in_(ids)
    )
    for audit_id, staff_id in await session.execute(acknowledged):
        extras.acknowledged[audit_id].add(staff_id)
    return extras


def _late(
    state: AuditState,
    due: datetime | None,
    moderation_due: datetime | None,
    uopp_due: datetime | None,
    part_b_due: datetime | None,
    now: datetime,
) -> str:
    """What the audit owes that is past its deadline now."""
    if state in (AuditState.ALLOCATED, AuditState.IN_PROGRESS, AuditState.RETURNED):
        return "audit" if due and due < now else ""
    if state is AuditState.SUBMITTED:
        return "moderation" if moderation_due and moderation_due < now else ""
    if uopp_due and uopp_due < now and state is AuditState.MODERATED:
        return "UoPP meeting"
    if part_b_due and part_b_due < now:
        return "part B"
    return ""


def _grade(grade: Grade | None) -> str:
    return Grade(grade).label if grade else ""


def _day(moment: datetime | None, zone: Any) -> date | None:
    return moment.astimezone(zone).date() if moment is not None else None


HISTORY_COLUMNS = (
    Column("at", "When (UTC)"),
    Column("who", "Who"),
    Column("action", "What"),
    Column("before", "Before"),
    Column("after", "After"),
)


async def audit_history(session: AsyncSession, reader: Staff, audit_id: int) -> Sheet | None:
    """One audit's trail, oldest first; None when the reader may not see the audit."""
    if audit_id not in await visible_audit_ids(session, reader):
        return None
    events = await repo.list_events(session, "audit", audit_id)
    people = await repo.staff_by_ids(session, {e.actor_id for e in events if e.actor_id})
    return Sheet(
        "Audit trail",
        HISTORY_COLUMNS,
        [
            {
                "at": event.occurred_at.isoformat(),
                "who": (
                    people[event.actor_id].display_name
                    if event.actor_id in people
                    else event.actor_label or "system"
                ),
                "action": event.action,
                "before": _json(event.before),
                "after": _json(event.after),
            }
            for event in events
        ],
    )


def _json(value: Sequence[Any] | dict[str, Any] | None) -> str:
    return json.dumps(value, default=str, sort_keys=True) if value else ""
