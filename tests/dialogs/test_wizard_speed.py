"""What keeps a wizard step quick under load: few statements per press, the audit's cycle,
case and KLOEs read together, and presses that arrive together all answered correctly.

The figures themselves are in bench/wizard_step.py; these tests pin the
causes, not the times.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError

from dialogs.conversation import Actor
from storage import repositories as repo
from storage.models import Audit, AuditEvent, Cycle
from tests.dialogs.test_wizard import TODAY, make_world, start
from tests.dialogs.test_wizard_cards import fill_step, press_data, step_of
from tests.factories import (
    create_audit,
    create_case,
    create_cycle,
    create_service,
    create_staff,
    create_team,
)
from workflow.grades import Grade
from workflow.roles import Role


async def test_a_wizard_step_reads_and_writes_in_five_statements(db):
    world = await make_world(db)
    card = await start(world)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            statements.append(statement.split()[0].upper())

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        typed = fill_step(card, Grade.GOOD, today=TODAY, outcomes_met=True)
        following = await world.click(world.auditor, card, "Save and continue", **typed)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)

    assert step_of(following) != step_of(card)
    # who is pressing, the audit (locked) with its cycle + case + KLOEs, its people with who
    # may own a recommendation (once, not again for the next card), the draft, its trail row
    assert statements == ["SELECT"] * 3 + ["UPDATE", "INSERT"]


async def test_an_audits_cycle_case_and_kloes_come_in_one_read_with_kloes_in_order(session):
    service = await create_service(session)
    team = await create_team(session, service=service)
    practitioner = await create_staff(session, roles=[(Role.PRACTITIONER, team)])
    case = await create_case(session, team=team, practitioner=practitioner, case_ref="EH-77")
    with_kloes = await create_cycle(session, service=service, kloes=("First", "Second", "Third"))
    without = await create_cycle(session, service=service, kloes=())

    cycle, found_case, kloes = await repo.cycle_case_and_kloes(session, with_kloes.id, case.id)
    assert (cycle.id, found_case.case_ref, kloes) == (
        with_kloes.id,
        "EH-77",
        [
            "First",
            "Second",
            "Third",
        ],
    )
    cycle, found_case, kloes = await repo.cycle_case_and_kloes(session, without.id, case.id)
    assert (cycle.id, found_case.id, kloes) == (without.id, case.id, [])


async def test_a_press_reads_its_audit_afresh_and_locked_with_cycle_case_and_kloes(db):
    async with db.sessions() as session:
        service = await create_service(session)
        cycle = await create_cycle(session, service=service, kloes=("First", "Second"))
        audit = await create_audit(session, cycle=cycle)
        case_ref = (await repo.get_case(session, audit.case_id)).case_ref
        await session.commit()
    ids = (audit.id, cycle.id)

    async with db.sessions() as session, db.sessions() as other:
        held = await session.get(Audit, ids[0])  # in this session's identity map, unlocked
        await session.commit()  # on SQLite, a reader holds the write lock until it ends
        async with other.begin():
            changed = await other.get(Audit, ids[0])
            changed.draft = {"wizard": {"step": "changed"}}
        found = await repo.audit_cycle_case_and_kloes_for_update(session, ids[0])
        assert found is not None
        audit, cycle, case, kloes = found
        assert audit is held and audit.draft == {"wizard": {"step": "changed"}}  # afresh
        assert (cycle.id, case.case_ref, kloes) == (ids[1], case_ref, ["First", "Second"])
        if db.engine.dialect.name == "postgresql":
            async with other.begin():
                with pytest.raises(DBAPIError, match="could not obtain lock"):
                    await other.execute(_locking(Audit, ids[0]))
            async with other.begin():  # the audit alone: its cycle is free to lock
                assert (await other.execute(_locking(Cycle, ids[1]))).scalar() is not None
        assert await repo.audit_cycle_case_and_kloes_for_update(session, 10**9) is None


def _locking(model: type, row_id: int):
    return select(model).where(model.id == row_id).with_for_update(nowait=True)


async def test_the_same_press_arriving_five_times_at_once_saves_once(db):
    world = await make_world(db)
    card = await start(world)
    typed = fill_step(card, Grade.GOOD, today=TODAY, outcomes_met=True)

    cards = await asyncio.gather(
        *(world.click(world.auditor, card, "Save and continue", **typed) for _ in range(5))
    )

    # Teams retries and double taps: one press saves, the rest see the step it saved to
    assert {step_of(answer) for answer in cards} == {step_of(cards[0])} != {step_of(card)}
    async with db.sessions() as session:
        saved = await session.scalars(
            select(AuditEvent).where(
                AuditEvent.entity_id == world.audit_id, AuditEvent.action == "draft_saved"
            )
        )
        assert len(saved.all()) == 1


async def test_many_auditors_pressing_at_once_each_get_their_next_step(db):
    world = await make_world(db)
    auditors, audit_ids = [world.auditor], [world.audit_id]
    async with db.sessions.begin() as session:
        first = await repo.get_audit(session, world.audit_id)
        cycle = await repo.get_cycle(session, first.cycle_id)
        case = await repo.get_case(session, first.case_id)
        team = await repo.get_team(session, case.team_id)
        service = await repo.get_service(session, cycle.service_id)
        for n in range(5):
            auditor = await create_staff(
                session, roles=[(Role.AUDITOR, service)], auditor_trained=True
            )
            practitioner = await create_staff(session, roles=[(Role.PRACTITIONER, team)])
            other = await create_case(
                session, team=team, practitioner=practitioner, case_ref=f"EH-{n + 10}"
            )
            audit = await create_audit(
                session, cycle=cycle, case=other, auditor=auditor, moderator=world.moderator,
                team_manager=world.team_manager, due_at=first.due_at,
                moderation_due_at=first.moderation_due_at,
            )  # fmt: skip
            auditors.append(auditor)
            audit_ids.append(audit.id)

    async def press(auditor, verb, data):
        actor = Actor(auditor.aad_object_id, "tenant", auditor.display_name)
        return await world.bot.on_card_action(actor, verb, data)

    async def start_and_step(auditor, audit_id):
        async with db.sessions() as session:
            version = (await repo.get_audit(session, audit_id)).version
        card = await press(auditor, "audit.start", {"audit_id": audit_id, "version": version})
        typed = fill_step(card, Grade.GOOD, today=TODAY, outcomes_met=True)
        return card, await press(
            auditor, "wizard.next", press_data(card, "Save and continue", **typed)
        )

    pairs = await asyncio.gather(
        *(start_and_step(*a) for a in zip(auditors, audit_ids, strict=True))
    )

    for before, after in pairs:
        assert step_of(after) != step_of(before)
    async with db.sessions() as session:
        saved = await session.scalars(select(AuditEvent).where(AuditEvent.action == "draft_saved"))
        assert {event.entity_id for event in saved.all()} == set(audit_ids)
