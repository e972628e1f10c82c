from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm.exc import StaleDataError

from storage import repositories as repo
from storage.enums import GradeStage, KloeDecision, MeetingKind, RecommendationLevel
from storage.errors import LiveAuditExists, NotFound, StaleRecord
from tests.conftest import Database
from tests.factories import create_audit, create_case, create_service, create_staff
from workflow.grades import Grade
from workflow.roles import Role
from workflow.states import AuditState


async def test_create_cycle_stores_the_month_and_numbered_kloes(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        cycle = await repo.create_cycle(
            session, service.id, "March", date(2025, 3, 17), "col_pir", ["Voice", "Plans"]
        )
    async with db.sessions() as session:
        kloes = await repo.list_kloes(session, cycle.id)
        cycles = await repo.list_cycles(session, service.id)
    assert cycle.month == date(2025, 3, 1)
    assert [(k.position, k.text) for k in kloes] == [(1, "Voice"), (2, "Plans")]
    assert [c.id for c in cycles] == [cycle.id]


async def test_a_second_kloe_decision_by_the_same_role_replaces_the_first(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        hos = await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, service)])
        cycle = await repo.create_cycle(session, service.id, "March", date(2025, 3, 1), "t")
        await repo.record_kloe_decision(
            session, cycle.id, hos.id, Role.HEAD_OF_SERVICE, KloeDecision.SENT_BACK, "Add one"
        )
        await repo.record_kloe_decision(
            session, cycle.id, hos.id, Role.HEAD_OF_SERVICE, KloeDecision.APPROVED
        )
    async with db.sessions() as session:
        (approval,) = await repo.list_kloe_approvals(session, cycle.id)
    assert (approval.decision, approval.comment) == (KloeDecision.APPROVED, None)


async def test_a_case_has_one_live_audit_per_cycle(db: Database):
    async with db.sessions.begin() as session:
        audit = await create_audit(session)
        with pytest.raises(LiveAuditExists):
            await repo.add_audit(
                session, audit.cycle_id, audit.case_id, audit.practitioner_id, audit.auditor_id
            )
        audit.state = AuditState.REALLOCATED
        successor = await repo.add_audit(
            session,
            audit.cycle_id,
            audit.case_id,
            audit.practitioner_id,
            audit.auditor_id,
            predecessor_id=audit.id,
        )
    async with db.sessions() as session:
        live = await repo.live_audit_for_case(session, audit.cycle_id, audit.case_id)
    assert live is not None and live.id == successor.id and live.predecessor_id == audit.id


async def test_bulk_allocation_refuses_a_case_already_live_and_adds_none(db: Database):
    async with db.sessions.begin() as session:
        audit = await create_audit(session)
        other = await create_audit(session, cycle=await repo.get_cycle(session, audit.cycle_id))
        row = {
            "practitioner_id": audit.practitioner_id,
            "auditor_id": audit.auditor_id,
            "state": AuditState.ALLOCATED,
        }
        with pytest.raises(LiveAuditExists):
            await repo.add_audits(session, audit.cycle_id, [{**row, "case_id": audit.case_id}])
    async with db.sessions() as session:
        assert [a.id for a in await repo.list_audits_in_cycle(session, audit.cycle_id)] == [
            audit.id,
            other.id,
        ]


async def test_bulk_allocation_keeps_every_rows_own_columns_and_order(db: Database):
    """Rows naming different columns (one with a grade, one without) each keep theirs; the
    audits come back in the order given, with their ids, defaults filled in."""
    async with db.sessions.begin() as session:
        first = await create_audit(session)
        cycle = await repo.get_cycle(session, first.cycle_id)
        cases = [await create_case(session, case_ref=f"BULK-{n}") for n in range(3)]
        rows = [
            {"case_id": cases[2].id, "practitioner_id": cases[2].practitioner_id,
             "auditor_id": first.auditor_id},
            {"case_id": cases[0].id, "practitioner_id": cases[0].practitioner_id,
             "auditor_id": first.auditor_id, "state": AuditState.MODERATED,
             "final_grade": Grade.GOOD},
            {"case_id": cases[1].id, "practitioner_id": cases[1].practitioner_id,
             "auditor_id": first.auditor_id},
        ]  # fmt: skip
        added = await repo.add_audits(session, cycle.id, rows)
    assert [a.case_id for a in added] == [cases[2].id, cases[0].id, cases[1].id]
    async with db.sessions() as session:
        stored = {a.case_id: a for a in await repo.list_audits_in_cycle(session, cycle.id)}
    assert stored[cases[0].id].final_grade is Grade.GOOD
    assert stored[cases[0].id].state is AuditState.MODERATED
    assert stored[cases[2].id].final_grade is None
    assert stored[cases[2].id].state is AuditState.ALLOCATED
    assert {stored[c.id].version for c in cases} == {1}
    assert {stored[c.id].id for c in cases} == {a.id for a in added}


async def test_a_stale_card_is_refused(db: Database):
    async with db.sessions.begin() as session:
        audit = await create_audit(session)
    async with db.sessions.begin() as session:
        current = await repo.get_audit_at_version(session, audit.id, 1)
        current.draft = {"journey": "drafted"}
    async with db.sessions.begin() as session:
        with pytest.raises(StaleRecord) as refused:
            await repo.get_audit_at_version(session, audit.id, 1)
        assert (refused.value.expected, refused.value.actual) == (1, 2)
        with pytest.raises(NotFound):
            await repo.get_audit_at_version(session, 999_999, 1)


async def test_saving_a_draft_moves_the_version_as_a_flush_would_and_refuses_a_stale_one(
    db: Database,
):
    async with db.sessions.begin() as session:
        audit = await create_audit(session)
    async with db.sessions() as first, db.sessions() as second:
        theirs = await repo.get_audit(second, audit.id)
        await second.commit()  # read at version 1, saved after someone else
        mine = await repo.get_audit_for_update(first, audit.id)
        assert mine is not None and theirs is not None
        await repo.save_draft(first, mine, {"wizard": {"step": "a"}})
        assert (mine.draft, mine.version) == ({"wizard": {"step": "a"}}, 2)
        assert not first.dirty  # what the audit holds is what was written
        mine.state = AuditState.IN_PROGRESS  # a later change flushes against version 2
        await first.commit()
        with pytest.raises(StaleDataError):
            await repo.save_draft(second, theirs, {"wizard": {"step": "b"}})
        await second.rollback()
    async with db.sessions() as session:
        stored = await repo.get_audit(session, audit.id)
        assert stored is not None
        assert (stored.draft, stored.version, stored.state) == (
            {"wizard": {"step": "a"}},
            3,
            AuditState.IN_PROGRESS,
        )


async def test_audits_are_listed_for_everyone_taking_part(db: Database):
    async with db.sessions.begin() as session:
        audit = await create_audit(session)
        await create_audit(session)
    async with db.sessions() as session:
        for person in (audit.auditor_id, audit.moderator_id, audit.practitioner_id):
            assert person is not None
            assert [a.id for a in await repo.list_audits_for_staff(session, person)] == [audit.id]
        none_submitted = await repo.list_audits_for_staff(
            session, audit.auditor_id, [AuditState.SUBMITTED]
        )
        allocated = await repo.list_audits_in_states(session, [AuditState.ALLOCATED])
        in_cycle = await repo.list_audits_in_cycle(session, audit.cycle_id)
    assert none_submitted == []
    assert len(allocated) == 2
    assert [a.id for a in in_cycle] == [audit.id]


async def test_section_grades_are_one_per_section_and_stage(db: Database):
    async with db.sessions.begin() as session:
        audit = await create_audit(session)
        for grade in (Grade.GOOD, Grade.REQUIRES_IMPROVEMENT):
            await repo.save_section_grade(
                session, audit.id, "journey", GradeStage.INITIAL, audit.auditor_id, grade, "Why"
            )
        await repo.save_section_grade(
            session,
            audit.id,
            "journey",
            GradeStage.MODERATED,
            audit.moderator_id,
            Grade.GOOD,
            "Evidence of progress",
            agreed=False,
        )
    async with db.sessions() as session:
        initial = await repo.list_section_grades(session, audit.id, GradeStage.INITIAL)
        every = await repo.list_section_grades(session, audit.id)
    assert [(g.section_id, g.grade) for g in initial] == [("journey", Grade.REQUIRES_IMPROVEMENT)]
    assert len(every) == 2


async def test_moderations_recommendations_and_meetings_belong_to_their_audit(db: Database):
    at = datetime(2025, 3, 20, 14, 0, tzinfo=UTC)
    async with db.sessions.begin() as session:
        audit = await create_audit(session)
        await repo.add_moderation(session, audit.id, audit.moderator_id, False, Grade.GOOD, "x", at)
        recommendation = await repo.add_recommendation(
            session,
            audit.id,
            RecommendationLevel.CHILD,
            "Visit",
            "Seen",
            audit.team_manager_id,
            date(2025, 4, 1),
        )
        meeting = await repo.add_meeting(
            session,
            audit.id,
            MeetingKind.UOPP,
            audit.auditor_id,
            [(audit.practitioner_id, True), (audit.moderator_id, False)],
            starts_at=at,
            ends_at=at,
        )
        meeting.graph_event_id = "AAMk="
        assert await repo.set_attendee_response(session, meeting.id, audit.practitioner_id, "ok")
        assert not await repo.set_attendee_response(session, meeting.id, audit.auditor_id, "ok")
    async with db.sessions() as session:
        (moderation,) = await repo.list_moderations(session, audit.id)
        owed = await repo.list_open_recommendations_for_owner(session, audit.team_manager_id)
        found = await repo.get_meeting_by_graph_event_id(session, "AAMk=")
        attendees = await repo.list_attendees(session, meeting.id)
    assert moderation.moderated_at == at
    assert [r.id for r in owed] == [recommendation.id]
    assert found is not None and found.id == meeting.id
    assert sorted((a.required, a.response) for a in attendees) == [(False, None), (True, "ok")]
