"""The daily follow-up sweeps on a fixed clock: dip audits, re-audit samples, escalations."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select

from dialogs.programmes import load_programme
from scheduler.follow_up import run_follow_ups
from storage import repositories as repo
from storage.models import Audit, AuditEvent, Case, Cycle, FollowUpKind, OutboxMessage, Staff
from storage.repositories import follow_up as follow_ups
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import act, execute_data, texts
from tests.factories import create_audit, create_case, create_cycle, create_service, create_staff
from workflow.calendar import FixedClock
from workflow.grades import Grade
from workflow.programme import shipped_programme, shipped_programmes
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.selection import reaudit_sample
from workflow.states import AuditState

RULES = ProgrammeRules()


def london_morning(day: date) -> FixedClock:
    """06:00 UTC: the daily sweep's hour, before the working day (GMT or BST alike)."""
    return FixedClock(datetime(day.year, day.month, day.day, 6, tzinfo=UTC))


def afternoon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 15, tzinfo=UTC)


@dataclass
class World:
    service_id: int
    teams: list[int]
    audit_team: Staff
    director: Staff
    auditors: list[Staff]
    moderators: list[Staff]
    managers: dict[int, Staff] = field(default_factory=dict)


async def make_world(db: Database, *, auditors_per_team: int = 2) -> World:
    async with db.sessions.begin() as session:
        service = await create_service(session, code="CSC", name="Children's Social Care")
        teams = [
            await repo.add_team(session, service.id, f"CSC-{n}", f"Team {n}") for n in (1, 2, 3)
        ]
        audit_team = await create_staff(
            session, roles=[(Role.AUDIT_TEAM, service)], display_name="Alex Wilber"
        )
        director = await create_staff(
            session, roles=[(Role.DIVISIONAL_DIRECTOR, service)], display_name="Diana Okafor"
        )
        await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, service)])
        auditors = [
            await create_staff(
                session,
                roles=[(Role.AUDITOR, service), (Role.PRACTITIONER, team)],
                auditor_trained=True,
            )
            for team in teams
            for _ in range(auditors_per_team)
        ]
        moderators = [
            await create_staff(session, roles=[(Role.MODERATOR, service)]) for _ in range(2)
        ]
        managers = {
            team.id: await create_staff(session, roles=[(Role.TEAM_MANAGER, team)])
            for team in teams
        }
        return World(
            service.id, [t.id for t in teams], audit_team, director, auditors, moderators, managers
        )


async def graded_audit(
    db: Database,
    world: World,
    *,
    month: date,
    grade: Grade,
    moderated_on: date,
    state: AuditState = AuditState.UOPP_HELD,
    case: Case | None = None,
    cycle: Cycle | None = None,
    team_index: int = 0,
) -> Audit:
    async with db.sessions.begin() as session:
        service = await repo.get_service(session, world.service_id)
        team = await repo.get_team(session, world.teams[team_index])
        if cycle is None:
            cycle = await create_cycle(session, service=service, month=month)
            cycle.selection_seed = 4242
        case = case or await create_case(session, team=team)
        # Who audited first does not matter here; with no auditors at all, someone who is not
        # one stands in, so the re-audit has nobody to allocate.
        auditor = world.auditors[0] if world.auditors else world.audit_team
        return await create_audit(
            session,
            cycle=cycle,
            case=case,
            auditor=auditor,
            moderator=world.moderators[0],
            team_manager=world.managers[team.id],
            state=state,
            initial_grade=grade,
            moderated_grade=grade,
            final_grade=grade,
            moderated_at=afternoon(moderated_on),
        )


async def sweep(db: Database, day: date) -> int:
    return await run_follow_ups(db.sessions, london_morning(day), RULES)


async def rows(db: Database, model, *where):  # noqa: ANN001, ANN201
    async with db.sessions() as session:
        return list(await session.scalars(select(model).where(*where)))


async def kinds_done(db: Database) -> list[FollowUpKind]:
    async with db.sessions() as session:
        return sorted(f.kind for f in await follow_ups.list_follow_ups(session))


# --- dip audits ------------------------------------------------------------------------


async def test_dip_audit_is_due_six_weeks_after_ri_and_fires_once(db: Database):
    world = await make_world(db)
    audit = await graded_audit(
        db, world, month=date(2026, 10, 1), grade=Grade.REQUIRES_IMPROVEMENT,
        moderated_on=date(2026, 10, 13),
    )  # fmt: skip

    assert await sweep(db, date(2026, 11, 23)) == 0
    assert await sweep(db, date(2026, 11, 24)) == 1  # Tue 13 Oct + 6 weeks
    assert await sweep(db, date(2026, 11, 24)) == 0
    assert await sweep(db, date(2026, 11, 25)) == 0

    assert await kinds_done(db) == [FollowUpKind.DIP_AUDIT]
    [moved] = await rows(db, Audit, Audit.id == audit.id)
    assert moved.state is AuditState.FOLLOW_UP
    actions = [e.action for e in await rows(db, AuditEvent, AuditEvent.entity_id == audit.id)]
    assert actions.count("follow_up_started") == 1 and actions.count("dip_audit_due") == 1
    [task] = await rows(db, OutboxMessage, OutboxMessage.kind == "follow_up")
    assert task.recipient_id == world.audit_team.id
    assert "Dip audit due" in task.payload["summary"]


async def test_a_bank_holiday_moves_the_dip_audit_to_the_next_working_day(db: Database):
    world = await make_world(db)
    await graded_audit(
        db, world, month=date(2026, 11, 1), grade=Grade.INADEQUATE,
        moderated_on=date(2026, 11, 16),
    )  # fmt: skip

    # Mon 16 Nov + 6 weeks is Mon 28 Dec 2026, the Boxing Day bank holiday (substitute day).
    assert await sweep(db, date(2026, 12, 28)) == 0
    assert await sweep(db, date(2026, 12, 29)) == 1


async def test_dip_audit_task_before_the_uopp_leaves_the_audit_where_it_is(db: Database):
    world = await make_world(db)
    audit = await graded_audit(
        db, world, month=date(2026, 10, 1), grade=Grade.INADEQUATE,
        moderated_on=date(2026, 10, 13), state=AuditState.MODERATED,
    )  # fmt: skip

    assert await sweep(db, date(2026, 11, 24)) == 1

    [same] = await rows(db, Audit, Audit.id == audit.id)
    assert same.state is AuditState.MODERATED
    async with db.sessions() as session:
        task = await follow_ups.get_follow_up(session, f"dip_audit:audit:{audit.id}")
    assert task is not None and task.details["moved_to_follow_up"] is False


async def test_good_work_needs_no_dip_audit_or_escalation(db: Database):
    world = await make_world(db)
    await graded_audit(
        db, world, month=date(2026, 6, 1), grade=Grade.GOOD, moderated_on=date(2026, 6, 10)
    )

    assert await sweep(db, date(2026, 11, 24)) == 0
    # June's moderation day is Tue 30 Jun; its re-audit check, on Wed 30 Dec, finds nothing.
    assert await sweep(db, date(2026, 12, 30)) == 1
    assert await kinds_done(db) == [FollowUpKind.REAUDIT]
    assert await rows(db, OutboxMessage) == []  # nothing below Good: no one to tell


# --- escalations -----------------------------------------------------------------------


async def test_work_not_improved_after_four_months_goes_to_the_divisional_director(
    db: Database,
):
    world = await make_world(db)
    audit = await graded_audit(
        db, world, month=date(2026, 7, 1), grade=Grade.REQUIRES_IMPROVEMENT,
        moderated_on=date(2026, 7, 20),
    )  # fmt: skip
    await sweep(db, date(2026, 9, 1))  # the dip audit, long before

    assert await sweep(db, date(2026, 11, 19)) == 0
    assert await sweep(db, date(2026, 11, 20)) == 1  # Mon 20 Jul + 4 months
    assert await sweep(db, date(2026, 11, 21)) == 0

    [escalation] = await rows(
        db, OutboxMessage, OutboxMessage.idempotency_key.like("follow_up:escalation:%")
    )
    assert escalation.recipient_id == world.director.id
    events = await rows(db, AuditEvent, AuditEvent.action == "escalated_not_improved")
    assert [e.entity_id for e in events] == [audit.id]


async def test_work_found_good_by_a_later_audit_is_not_escalated(db: Database):
    world = await make_world(db)
    first = await graded_audit(
        db, world, month=date(2026, 7, 1), grade=Grade.INADEQUATE,
        moderated_on=date(2026, 7, 20),
    )  # fmt: skip
    async with db.sessions() as session:
        case = await session.get(Case, first.case_id)
    await graded_audit(
        db, world, month=date(2026, 9, 1), grade=Grade.GOOD, moderated_on=date(2026, 9, 25),
        case=case,
    )  # fmt: skip

    await sweep(db, date(2026, 11, 20))

    assert FollowUpKind.ESCALATION not in await kinds_done(db)


# --- re-audits -------------------------------------------------------------------------


async def below_good_cycle(db: Database, world: World, count: int) -> Cycle:
    """May 2026: `count` audits below Good spread over the three teams, and two Good ones."""
    async with db.sessions.begin() as session:
        service = await repo.get_service(session, world.service_id)
        cycle = await create_cycle(session, service=service, month=date(2026, 5, 1))
        cycle.selection_seed = 20260501
    for n in range(count + 2):
        grade = Grade.GOOD if n >= count else (Grade.INADEQUATE if n % 4 == 0 else
                                                 Grade.REQUIRES_IMPROVEMENT)  # fmt: skip
        await graded_audit(
            db, world, month=cycle.month, grade=grade, moderated_on=date(2026, 5, 20),
            cycle=cycle, team_index=n % 3,
        )  # fmt: skip
    return cycle


async def test_reaudit_samples_at_least_a_tenth_reproducibly_and_allocates_it(db: Database):
    world = await make_world(db)
    source = await below_good_cycle(db, world, 23)

    await sweep(db, date(2026, 11, 27))
    assert FollowUpKind.REAUDIT not in await kinds_done(db)
    # May's moderation day is Fri 29 May; 6 months on is Sunday 29 Nov, so Monday 30 Nov.
    await sweep(db, date(2026, 11, 30))

    async with db.sessions() as session:
        record = await follow_ups.get_follow_up(session, f"reaudit:cycle:{source.id}")
        below = await follow_ups.below_good_in_cycle(session, source.id)
    assert record is not None and record.outcome == "allocated"
    expected = reaudit_sample([c.case_ref for c in below], 0.10, 20260501)
    assert len(expected.case_refs) == 3  # 10% of 23, rounded up
    assert record.details["case_refs"] == list(expected.case_refs)
    assert record.details["seed"] == 20260501

    [cycle] = await rows(db, Cycle, Cycle.selection_method == "reaudit")
    assert cycle.selection_explanation == expected.explanation
    audits = await rows(db, Audit, Audit.cycle_id == cycle.id)
    cases = {c.id: c for c in await rows(db, Case)}
    assert sorted(cases[a.case_id].case_ref for a in audits) == list(expected.case_refs)
    async with db.sessions() as session:
        memberships = await repo.team_ids_by_staff(session, [a.auditor_id for a in audits])
        staff = await repo.staff_by_ids(session, [a.auditor_id for a in audits])
    assert cycle.month == date(2026, 12, 1)  # 20 working days from Mon 30 Nov
    for audit in audits:
        assert audit.state is AuditState.ALLOCATED
        assert audit.due_at is not None and audit.moderation_due_at is not None
        assert audit.due_at < audit.moderation_due_at
        assert cases[audit.case_id].team_id not in memberships[audit.auditor_id]
        assert staff[audit.auditor_id].auditor_trained
        assert audit.auditor_id != cases[audit.case_id].practitioner_id
        assert audit.moderator_id != audit.auditor_id
    told = {m.idempotency_key.rsplit(":to:", 1)[0] for m in await rows(db, OutboxMessage)}
    for audit in audits:
        for part in ("auditor", "moderator", "practitioner", "team_manager"):
            assert f"allocated:audit:{audit.id}:{part}" in told
    assert f"follow_up:reaudit:cycle:{source.id}" in told

    before = len(await rows(db, OutboxMessage))
    assert await sweep(db, date(2026, 11, 30)) == 0
    assert await sweep(db, date(2026, 12, 1)) == 0
    assert len(await rows(db, OutboxMessage)) == before


async def test_a_reaudit_that_cannot_be_allocated_tells_the_audit_team_once(db: Database):
    world = await make_world(db, auditors_per_team=0)
    source = await below_good_cycle(db, world, 4)

    await sweep(db, date(2026, 11, 30))
    await sweep(db, date(2026, 12, 1))

    async with db.sessions() as session:
        record = await follow_ups.get_follow_up(session, f"reaudit:cycle:{source.id}")
    assert record is not None and record.outcome == "not_allocated"
    assert "cannot be allocated" in record.details["problem"]
    assert await rows(db, Cycle, Cycle.selection_method == "reaudit") == []
    told = await rows(db, OutboxMessage, OutboxMessage.idempotency_key.like("follow_up:reaudit:%"))
    assert [m.recipient_id for m in told] == [world.audit_team.id]


async def test_two_sweeps_at_once_do_each_follow_up_once(db: Database):
    world = await make_world(db)
    await below_good_cycle(db, world, 12)

    done = await asyncio.gather(sweep(db, date(2026, 11, 30)), sweep(db, date(2026, 11, 30)))

    kinds = await kinds_done(db)
    assert sum(done) == len(kinds)
    assert kinds.count(FollowUpKind.REAUDIT) == 1
    assert kinds.count(FollowUpKind.DIP_AUDIT) == 12
    assert kinds.count(FollowUpKind.ESCALATION) == 12
    assert len(await rows(db, Cycle, Cycle.selection_method == "reaudit")) == 1


async def test_one_failing_follow_up_does_not_hold_up_the_others(db: Database, monkeypatch):
    world = await make_world(db)
    await below_good_cycle(db, world, 4)

    async def broken(*args, **kwargs):
        raise RuntimeError("a bug in the re-audit")

    monkeypatch.setattr("scheduler.follow_up._start_reaudit", broken)
    started = await sweep(db, date(2026, 11, 30))

    kinds = await kinds_done(db)
    assert FollowUpKind.REAUDIT not in kinds
    assert kinds.count(FollowUpKind.DIP_AUDIT) == 4 and kinds.count(FollowUpKind.ESCALATION) == 4
    assert started == 8

    monkeypatch.undo()
    assert await sweep(db, date(2026, 12, 1)) == 1  # the re-audit, tried again the next day


async def test_escalation_from_a_months_last_day_lands_on_the_shorter_months_last_day(
    db: Database,
):
    world = await make_world(db)
    await graded_audit(
        db, world, month=date(2024, 10, 1), grade=Grade.INADEQUATE,
        moderated_on=date(2024, 10, 31),
    )  # fmt: skip
    await sweep(db, date(2024, 12, 31))  # the dip audit

    await sweep(db, date(2025, 2, 27))
    assert FollowUpKind.ESCALATION not in await kinds_done(db)
    await sweep(db, date(2025, 2, 28))  # Thu 31 Oct + 4 months, clamped to Fri 28 Feb
    assert FollowUpKind.ESCALATION in await kinds_done(db)


# --- as the programme says -------------------------------------------------------------


async def under_programme(db: Database, world: World, programme_id: str, code: str) -> Cycle:
    """A July 2026 cycle of the world's CSC running `programme_id`, its service `code` run
    as the CSC, and nothing else of it."""
    text = shipped_programmes()[programme_id]
    codes = [service.code for service in shipped_programme(programme_id).services]
    async with db.sessions.begin() as session:
        loaded = await load_programme(
            session, text, actor="test", now=afternoon(date(2026, 6, 1)),
            services_as={c: ("CSC" if c == code else None) for c in codes},
        )  # fmt: skip
        service = await repo.get_service(session, world.service_id)
        cycle = await create_cycle(session, service=service, month=date(2026, 7, 1))
        cycle.selection_seed = 4242
        cycle.programme_version_id = loaded.version.id
        return cycle


async def test_a_programme_without_dip_audits_re_audits_or_escalation_starts_none(
    db: Database,
):
    """Haringey's programme follows nothing up this way ("the emerging picture is fed back")."""
    world = await make_world(db)
    cycle = await under_programme(db, world, "haringey", "FR")
    for grade in (Grade.REQUIRES_IMPROVEMENT, Grade.INADEQUATE):
        await graded_audit(
            db, world, month=cycle.month, grade=grade, moderated_on=date(2026, 7, 20),
            cycle=cycle, state=AuditState.MODERATED,
        )  # fmt: skip

    for day in (date(2026, 9, 1), date(2026, 11, 20), date(2027, 1, 29), date(2027, 2, 1)):
        assert await sweep(db, day) == 0
    assert await kinds_done(db) == []
    assert await rows(db, OutboxMessage) == []


async def test_a_programme_with_dip_audits_and_re_audits_but_no_escalation(db: Database):
    """Tower Hamlets CSC's: dip audits after six weeks and a re-audit sample, and no
    escalation of work that has not improved (its framework describes none)."""
    world = await make_world(db)
    cycle = await under_programme(db, world, "th-qaf-csc-yjs", "CSC-MASH")
    audit = await graded_audit(
        db, world, month=cycle.month, grade=Grade.REQUIRES_IMPROVEMENT,
        moderated_on=date(2026, 7, 20), cycle=cycle,
    )  # fmt: skip

    assert await sweep(db, date(2026, 9, 1)) == 1
    assert await kinds_done(db) == [FollowUpKind.DIP_AUDIT]
    await sweep(db, date(2026, 11, 20))  # four months on: nobody is told it has not improved
    assert FollowUpKind.ESCALATION not in await kinds_done(db)
    await sweep(db, date(2027, 2, 1))  # July's moderation day + 6 months: the sample
    assert FollowUpKind.REAUDIT in await kinds_done(db)
    events = await rows(db, AuditEvent, AuditEvent.action == "escalated_not_improved")
    assert [e.entity_id for e in events if e.entity_id == audit.id] == []


async def test_a_re_audit_sample_not_improved_lets_the_audit_team_re_audit_the_rest_once(
    db: Database,
):
    """Early Help: "If the 10% have not consistently improved, the audit team may repeat the
    exercise on all the work that fell below good"."""
    world = await make_world(db)
    source = await below_good_cycle(db, world, 23)
    await sweep(db, date(2026, 11, 30))
    [reaudit_cycle] = await rows(db, Cycle, Cycle.selection_method == "reaudit")
    reaudits = await rows(db, Audit, Audit.cycle_id == reaudit_cycle.id)
    assert len(reaudits) == 3

    # Not all moderated yet: nothing to say.
    assert await sweep(db, date(2026, 12, 1)) == 0
    async with db.sessions.begin() as session:
        for n, audit in enumerate(await repo.list_audits_in_cycle(session, reaudit_cycle.id)):
            audit.final_grade = Grade.GOOD if n else Grade.REQUIRES_IMPROVEMENT
            audit.state = AuditState.MODERATED
    assert await sweep(db, date(2026, 12, 2)) == 1
    assert await sweep(db, date(2026, 12, 3)) == 0  # said once

    [told] = await rows(
        db, OutboxMessage, OutboxMessage.idempotency_key.like("follow_up:reaudit_result:%")
    )
    assert told.recipient_id == world.audit_team.id
    card = told.payload["card"]
    assert "2 of the 3 re-audited cases now reach Good." in texts(card)
    assert "Re-audit the other 20" in texts(card)
    data = execute_data(card, "reaudit.all")
    outsider = await act(db, world.director, "reaudit.all", **data)
    assert "Only the service's Audit Team can do this" in texts(outsider)

    done = await act(db, world.audit_team, "reaudit.all", **data)
    assert "The other below-Good work was allocated in Re-audit of all work below Good" in texts(
        done
    )
    rest = await rows(db, Cycle, Cycle.title.like("Re-audit of all work below Good%"))
    assert len(rest) == 1 and rest[0].state.value == "open"
    assert len(await rows(db, Audit, Audit.cycle_id == rest[0].id)) == 20
    again = await act(db, world.audit_team, "reaudit.all", **data)
    assert "already allocated, so nothing was changed" in texts(again)
    assert len(await rows(db, Cycle, Cycle.title.like("Re-audit of all work below Good%"))) == 1
    [trail] = await rows(db, AuditEvent, AuditEvent.action == "reaudit_all_allocated")
    assert trail.entity_id == source.id
