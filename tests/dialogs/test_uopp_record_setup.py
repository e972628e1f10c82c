"""A moderated audit with its UoPP meeting booked and over, for the UoPP record tests.

The booker that books the meeting is another flow; these tests write the
booked meeting directly, as the booker leaves it, with its trail row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from dialogs.uopp_record import ask_chairs
from storage import repositories as repo
from storage.enums import MeetingKind, MeetingState
from storage.models import Meeting, Recommendation, Staff
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import RULES, Cast, make_cast
from workflow.calendar import FixedClock
from workflow.grades import Grade
from workflow.states import AuditState

MODERATED_AT = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)  # Tuesday
BOOKED_AT = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # the same afternoon
STARTS_AT = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # Tuesday 1 December, 10:00 London
ENDS_AT = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
WINDOW = (datetime(2026, 11, 25, 9, 0, tzinfo=UTC), datetime(2026, 12, 1, 17, 0, tzinfo=UTC))
ASKED_AT = datetime(2026, 12, 1, 11, 5, tzinfo=UTC)  # the tick after the meeting ended
ANSWERED_AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)  # Wednesday, the chair answers


@dataclass
class Booked:
    """A cast around one audit, its booked meeting, and who chairs it."""

    cast: Cast
    meeting_id: int
    chair: Staff
    attendees: tuple[Staff, ...]

    @property
    def audit_id(self) -> int:
        return self.cast.audit_id


async def booked_meeting(
    db: Database,
    *,
    grade: Grade = Grade.REQUIRES_IMPROVEMENT,
    kind: MeetingKind = MeetingKind.UOPP,
    audit_state: AuditState | None = None,
    with_coordinator: bool = True,
) -> Booked:
    """An audit moderated at `grade` whose UoPP meeting (or second UoPP) was booked and has
    ended. The auditor chairs for Good and RI, the Audit Manager for Inadequate, the
    coordinator a second UoPP, as the booker's plan has it."""
    async with db.sessions.begin() as session:
        cast = await make_cast(session, overall=grade, state=AuditState.SUBMITTED)
        if not with_coordinator:
            await repo.revoke_role(
                session, cast.coordinator.id, "coordinator", cast.service.id, None
            )
        audit = await repo.get_audit(session, cast.audit_id)
        audit.moderated_grade = audit.final_grade = grade
        audit.moderated_at = MODERATED_AT
        if audit_state is None:
            audit_state = (
                AuditState.UOPP_HELD if kind is MeetingKind.SECOND_UOPP else AuditState.UOPP_BOOKED
            )
        audit.state = audit_state
        people = [cast.team_manager, cast.practitioner]
        if kind is MeetingKind.SECOND_UOPP:
            chair = cast.coordinator
            people.append(cast.coordinator)
        else:
            people.append(cast.auditor)
            chair = cast.auditor
            if grade is Grade.INADEQUATE:
                people += [cast.coordinator, cast.head_of_service, cast.audit_manager]
                chair = cast.audit_manager
        meeting = await repo.add_meeting(
            session,
            audit.id,
            kind,
            chair.id,
            [(person.id, True) for person in people],
            starts_at=STARTS_AT,
            ends_at=ENDS_AT,
        )
        meeting.state = MeetingState.BOOKED
        meeting.chair_id = chair.id
        meeting.window_starts_at, meeting.window_ends_at = WINDOW
        meeting.calendar = "local"
        await session.flush()
        await repo.record_event(
            session, "system", "audit", audit.id, "uopp_booked", None,
            {"state": "booked", "meeting_id": meeting.id}, at=BOOKED_AT,
        )  # fmt: skip
        return Booked(cast, meeting.id, chair, tuple(people))


async def asked(db: Database, **options: Any) -> Booked:
    """A booked meeting whose chair has just been asked whether it took place."""
    booked = await booked_meeting(db, **options)
    assert await ask_chairs(db.sessions, FixedClock(ASKED_AT), RULES) == 1
    return booked


async def meeting(db: Database, meeting_id: int) -> Meeting:
    async with db.sessions() as session:
        found = await repo.get_meeting(session, meeting_id)
    assert found is not None
    return found


async def meetings_of(db: Database, audit_id: int) -> list[Meeting]:
    async with db.sessions() as session:
        return await repo.list_meetings(session, audit_id)


async def attendee_ids(db: Database, meeting_id: int) -> list[tuple[int, bool]]:
    async with db.sessions() as session:
        return [(a.staff_id, a.required) for a in await repo.list_attendees(session, meeting_id)]


async def uopp_actions(db: Database, audit_id: int) -> list[Recommendation]:
    async with db.sessions() as session:
        query = select(Recommendation).where(Recommendation.audit_id == audit_id)
        return list((await session.scalars(query.order_by(Recommendation.id))).all())


def inputs_of(card: dict[str, Any]) -> dict[str, Any]:
    """Every input's current value on a card, as Teams sends them with a button's data."""
    found: dict[str, Any] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Input.") and "id" in node:
                found[node["id"]] = node.get("value", "")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


def plan_row(row: int, action: str, owner: Staff | int, due: str) -> dict[str, str]:
    owner_id = owner if isinstance(owner, int) else owner.id
    return {f"a{row}_action": action, f"a{row}_owner": str(owner_id), f"a{row}_due": due}
