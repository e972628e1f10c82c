"""Opening a cycle: selection and allocation written with their audit trail, or nothing at all."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from dialogs.cycles import CycleRequest, CycleRequestError, open_cycle
from dialogs.notices import send_allocation_notices
from storage import repositories as repo
from storage.demo import load_demo
from storage.models import Audit, AuditEvent, Cycle, OutboxMessage
from tests.conftest import Database
from tests.factories import create_case, create_service, create_staff, create_team
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.states import AuditState

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # a Monday
RULES = ProgrammeRules()


def csc_request(**fields) -> CycleRequest:
    values = dict(service_code="CSC", month=date(2026, 11, 1), seed=7, total=12)
    values.update(fields)
    return CycleRequest(**values)


async def open_demo_cycle(db: Database, request: CycleRequest):
    async with db.sessions.begin() as session:
        await load_demo(session)
    async with db.sessions.begin() as session:
        return await open_cycle(session, request, rules=RULES, now=NOW, actor="cli")


async def test_opening_a_cycle_allocates_every_selected_case_by_the_rules(db: Database):
    opened = await open_demo_cycle(db, csc_request())

    assert len(opened.allocations) == 12
    async with db.sessions() as session:
        audits = await repo.list_audits_in_cycle(session, opened.cycle_id)
        assert len(audits) == 12
        for audit in audits:
            assert audit.state is AuditState.ALLOCATED
            assert audit.auditor_id != audit.moderator_id
            auditor = await repo.get_staff(session, audit.auditor_id)
            assert auditor.auditor_trained
            case = await repo.get_case(session, audit.case_id)
            auditor_teams = {t.id for t in await repo.teams_of(session, audit.auditor_id)}
            assert case.team_id not in auditor_teams
            assert audit.auditor_id not in await repo.involved_staff_ids(session, case.id)
            assert audit.team_manager_id is not None


async def test_deadlines_are_set_in_working_days(db: Database):
    opened = await open_demo_cycle(db, csc_request())

    async with db.sessions() as session:
        [audit, *_] = await repo.list_audits_in_cycle(session, opened.cycle_id)
    # 15 working days from Mon 2 Nov 2026 is Mon 23 Nov; end of day 17:00 GMT.
    assert audit.due_at == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    # Last working day of November 2026 is Monday 30th.
    assert audit.moderation_due_at == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


async def test_the_same_seed_gives_the_same_sample(db: Database, tmp_path):
    first = await open_demo_cycle(db, csc_request(seed=99))
    async with db.sessions() as session:
        cycle = await session.get(Cycle, first.cycle_id)
        assert cycle.selection_seed == 99
        assert "seed 99" in cycle.selection_explanation
    picked_first = sorted(a.case_ref for a in first.allocations)

    async with db.sessions.begin() as session:
        again = await open_cycle(
            session, csc_request(seed=99, month=date(2026, 12, 1)), rules=RULES, now=NOW
        )
    assert sorted(a.case_ref for a in again.allocations) == picked_first


async def test_quotas_pick_per_team(db: Database):
    opened = await open_demo_cycle(db, csc_request(total=None, quotas={"CSC-CP": 2, "CSC-CLA": 4}))

    refs = {a.case_ref for a in opened.allocations}
    async with db.sessions() as session:
        teams = [
            (await repo.get_team(session, (await repo.get_case_by_ref(session, r)).team_id)).code
            for r in refs
        ]
    assert sorted(teams) == ["CSC-CLA"] * 4 + ["CSC-CP"] * 2


async def test_thematic_audit_picks_by_criteria(db: Database):
    opened = await open_demo_cycle(db, csc_request(total=None, criteria={"plan": "CP"}))

    async with db.sessions() as session:
        for allocation in opened.allocations:
            case = await repo.get_case_by_ref(session, allocation.case_ref)
            assert case.attributes["plan"] == "CP"
    assert len(opened.allocations) == 14


@pytest.mark.parametrize(
    ("criteria", "reason"),
    [
        (
            {"young_person": "Jane Smith"},
            "young_person is not a declared case attribute, so cases cannot be selected by it "
            "(declared: plan).",
        ),
        (
            {"plan": "Jane Smith"},
            "plan can only be one of CIN, CLA, CP, early_help_plan, family_support.",
        ),
    ],
)
async def test_a_thematic_criterion_must_be_a_declared_attribute_and_value(
    db: Database, criteria: dict[str, str], reason: str
):
    with pytest.raises(CycleRequestError) as refused:
        await open_demo_cycle(db, csc_request(total=None, criteria=criteria))

    assert str(refused.value) == reason
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Cycle)) == 0


async def test_opening_records_the_cycle_and_each_allocation_on_the_trail(db: Database):
    opened = await open_demo_cycle(db, csc_request())

    async with db.sessions() as session:
        cycle_events = await repo.list_events(session, "cycle", opened.cycle_id)
        allocated = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "allocated")
        )
    assert [e.action for e in cycle_events] == ["proposed", "opened"]
    assert cycle_events[0].actor_label == "cli"
    assert allocated == 12


async def test_opening_queues_each_persons_notice_in_the_same_transaction(db: Database):
    opened = await open_demo_cycle(db, csc_request(total=3))

    async with db.sessions() as session:
        audits = await repo.list_audits_in_cycle(session, opened.cycle_id)
        messages = await repo.list_messages(session)
    sent_to = sorted((m.recipient_id, m.payload["summary"]) for m in messages)
    expected = [
        person
        for audit in audits
        for person in (
            audit.auditor_id,
            audit.moderator_id,
            audit.practitioner_id,
            audit.team_manager_id,
        )
    ]
    assert sorted(r for r, _ in sent_to) == sorted(expected)
    assert {m.payload["bundle"] for m in messages} == {f"allocation:cycle:{opened.cycle_id}"}
    for message in messages:
        card = message.payload["card"]
        assert card["version"] == "1.5"
        assert "CSC-" in message.payload["summary"]  # case references, never names


async def test_the_bulk_writes_keep_every_audit_its_trail_row_and_notices_once(db: Database):
    """Audits, their trail rows and the notices go in as a few multi-row statements: each
    audit still has exactly its own "allocated" row (after the cycle's "opened"), each notice
    is queued once, and queueing the cycle's notices again (a retried job) adds nothing."""
    opened = await open_demo_cycle(db, csc_request(total=30))

    async with db.sessions() as session:
        audits = await repo.list_audits_in_cycle(session, opened.cycle_id)
        events = (
            await session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.in_(["opened", "allocated"]))
                .order_by(AuditEvent.id)
            )
        ).all()
        queued = {m.idempotency_key for m in await repo.list_messages(session)}
    assert len(audits) == 30
    assert [e.action for e in events] == ["opened"] + ["allocated"] * 30
    by_audit = {e.entity_id: e for e in events if e.action == "allocated"}
    assert set(by_audit) == {audit.id for audit in audits}
    for audit in audits:
        assert by_audit[audit.id].after == repo.snapshot(audit)
        assert by_audit[audit.id].actor_label == "cli"
    assert len(queued) == 30 * 4  # auditor, moderator, practitioner, team manager

    async with db.sessions.begin() as session:
        cycle = await session.get(Cycle, opened.cycle_id)
        await send_allocation_notices(session, cycle, audits, timezone=RULES.timezone)
    async with db.sessions() as session:
        again = [m.idempotency_key for m in await repo.list_messages(session)]
    assert sorted(again) == sorted(queued)


async def test_an_opening_that_fails_after_the_bulk_writes_leaves_nothing(db: Database):
    async with db.sessions.begin() as session:
        await load_demo(session)
    with pytest.raises(RuntimeError):
        async with db.sessions.begin() as session:
            await open_cycle(session, csc_request(total=30), rules=RULES, now=NOW, actor="cli")
            raise RuntimeError("the connection dropped before commit")

    async with db.sessions() as session:
        for model in (Cycle, Audit, OutboxMessage):
            assert await session.scalar(select(func.count()).select_from(model)) == 0, model
        trail = select(func.count()).where(AuditEvent.entity.in_(["cycle", "audit"]))
        assert await session.scalar(trail) == 0


async def test_a_case_nobody_may_audit_is_named_and_nothing_is_written(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session, code="YJ")
        team = await create_team(session, service=service, code="YJ-1")
        await create_case(session, team=team, case_ref="YJ-0001")
        # The only trained auditor works in the case's own team.
        await create_staff(
            session,
            roles=[(Role.AUDITOR, service), (Role.PRACTITIONER, team)],
            auditor_trained=True,
        )
        await create_staff(session, roles=[(Role.MODERATOR, service)])

    with pytest.raises(CycleRequestError) as raised:
        async with db.sessions.begin() as session:
            await open_cycle(
                session,
                CycleRequest(
                    service_code="YJ",
                    month=date(2026, 11, 1),
                    seed=1,
                    total=1,
                    tool_id="col_practice_impact_review",
                ),
                rules=RULES,
                now=NOW,
            )

    assert "YJ-0001" in str(raised.value)
    assert "nothing was opened" in str(raised.value)
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Cycle)) == 0
        assert await session.scalar(select(func.count()).select_from(Audit)) == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"service_code": "NOPE"}, "no service with code 'NOPE'"),
        ({"tool_id": "no_such_tool"}, "no audit tool called 'no_such_tool'"),
        ({"total": None}, "Say how many cases"),
        ({"total": None, "quotas": {"CSC-XX": 2}}, "No such team in this service: CSC-XX"),
    ],
)
async def test_a_bad_request_says_what_is_wrong(db: Database, fields, message):
    with pytest.raises(CycleRequestError, match=message):
        await open_demo_cycle(db, csc_request(**fields))
