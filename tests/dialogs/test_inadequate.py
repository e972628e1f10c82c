"""The Inadequate fast path at submission: five people told at once, 1 working day to moderate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dialogs.inadequate import on_submitted
from storage import repositories as repo
from storage.models import AuditEvent, Moderation, OutboxMessage
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import RULES, cast_in, count_rows, load_audit
from tests.dialogs.test_wizard import TODAY, World, make_world, start, walk_to
from tests.dialogs.test_wizard_cards import buttons, inputs_of, texts
from workflow.grades import Grade
from workflow.moderation import AGREE
from workflow.states import AuditState

FRIDAY = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


async def submit(db: Database, audit_id: int, now: datetime) -> None:
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, audit_id)
        await on_submitted(session, audit, now=now, rules=RULES)


@pytest.mark.parametrize(
    ("submitted", "due"),
    [
        # Friday -> Monday, 17:00 London (GMT in November).
        (datetime(2026, 11, 27, 15, 0, tzinfo=UTC), datetime(2026, 11, 30, 17, 0, tzinfo=UTC)),
        # Friday before the Spring bank holiday -> Tuesday, 17:00 BST.
        (datetime(2026, 5, 22, 11, 0, tzinfo=UTC), datetime(2026, 5, 26, 16, 0, tzinfo=UTC)),
        # Christmas Eve 2026 (Thursday) -> Tuesday 29th: Christmas and Boxing Day (substitute).
        (datetime(2026, 12, 24, 10, 0, tzinfo=UTC), datetime(2026, 12, 29, 17, 0, tzinfo=UTC)),
    ],
)
async def test_should_give_the_moderator_one_working_day_after_an_inadequate_submission(
    db: Database, submitted: datetime, due: datetime
):
    cast = await cast_in(db, overall=Grade.INADEQUATE, submitted_at=submitted)

    await submit(db, cast.audit_id, submitted)

    assert (await load_audit(db, cast.audit_id)).moderation_due_at == due


async def test_should_tell_the_five_people_at_once_with_the_case_reference_only(db: Database):
    cast = await cast_in(db, overall=Grade.INADEQUATE, submitted_at=FRIDAY)

    await submit(db, cast.audit_id, FRIDAY)

    async with db.sessions() as session:
        told = [m for m in await repo.list_messages(session) if m.kind == "inadequate"]
    expected = {
        cast.practitioner.id,
        cast.team_manager.id,
        cast.coordinator.id,
        cast.audit_manager.id,
        cast.head_of_service.id,
    }
    assert {m.recipient_id for m in told} == expected
    assert len(told) == 5
    for message in told:
        assert cast.case_ref in message.payload["summary"]
        assert "Mon 30 Nov 2026" in message.payload["summary"]
        assert message.payload["card"]["version"] == "1.5"
    assert await count_rows(db, AuditEvent, AuditEvent.action == "inadequate_fast_path") == 1


async def test_should_tell_nobody_twice_when_an_audit_is_resubmitted(db: Database):
    cast = await cast_in(db, overall=Grade.INADEQUATE, submitted_at=FRIDAY)
    await submit(db, cast.audit_id, FRIDAY)
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        audit.submitted_at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)

    await submit(db, cast.audit_id, datetime(2026, 12, 1, 10, 0, tzinfo=UTC))

    assert await count_rows(db, OutboxMessage, OutboxMessage.kind == "inadequate") == 5
    audit = await load_audit(db, cast.audit_id)
    assert audit.moderation_due_at == datetime(2026, 12, 2, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize("grade", [Grade.OUTSTANDING, Grade.GOOD, Grade.REQUIRES_IMPROVEMENT])
async def test_should_do_nothing_for_work_graded_above_inadequate(db: Database, grade: Grade):
    cast = await cast_in(db, overall=grade)

    await submit(db, cast.audit_id, FRIDAY)

    assert (await load_audit(db, cast.audit_id)).moderation_due_at is None
    assert await count_rows(db, OutboxMessage) == 0


async def test_should_follow_the_service_s_own_fast_path_setting(db: Database):
    cast = await cast_in(db, overall=Grade.INADEQUATE, submitted_at=FRIDAY)
    async with db.sessions.begin() as session:
        service = await repo.get_service(session, cast.service.id)
        service.rules_overrides = {"inadequate_moderation_working_days": 2}

    await submit(db, cast.audit_id, FRIDAY)

    audit = await load_audit(db, cast.audit_id)
    assert audit.moderation_due_at == datetime(2026, 12, 1, 17, 0, tzinfo=UTC)


# --- the moderator is asked at submission, through the whole wizard -----------------------


async def submitted_inadequate(world: World) -> dict[str, Any]:
    """Submit the audit graded Inadequate; returns the Audit Team's check card."""
    card = await walk_to(world, await start(world), "_summary", Grade.INADEQUATE)
    await world.click(world.auditor, card, "Submit the audit")
    return (await world.messages(world.audit_team, "completeness"))[-1].payload["card"]


def agreeing(card: dict[str, Any]) -> dict[str, str]:
    return {key: AGREE for key in inputs_of(card) if key.startswith("agree__")}


async def moderate(world: World, card: dict[str, Any]) -> dict[str, Any]:
    return await world.click(world.moderator, card, "Save moderation", **agreeing(card))


async def moderation_cards(world: World) -> list[dict[str, Any]]:
    return [m.payload["card"] for m in await world.messages(world.moderator, "moderation")]


async def audit_team_press(world: World, check: dict[str, Any], title: str, **typed: str):
    button = buttons(check)[title]
    return await world.press(world.audit_team, button["verb"], **button["data"], **typed)


async def test_an_inadequate_submission_asks_the_moderator_at_once_with_one_working_day(db):
    world = await make_world(db)

    check = await submitted_inadequate(world)

    [card] = await moderation_cards(world)
    audit = await world.audit()
    assert audit.state is AuditState.SUBMITTED
    assert audit.moderation_due_at == datetime(2026, 12, 9, 17, 0, tzinfo=UTC)  # Wed 17:00
    assert "moderate within 1 working day" in texts(card)
    assert "Wed 9 Dec 2026" in texts(card)
    assert "Accept as complete" in buttons(check)  # the check still happens
    requested = await world.count(AuditEvent, AuditEvent.action == "moderation_requested")
    assert requested == 1


async def test_the_moderator_need_not_wait_for_the_completeness_check(db):
    world = await make_world(db)
    check = await submitted_inadequate(world)
    [card] = await moderation_cards(world)

    result = await moderate(world, card)

    assert "agreed with the auditor's overall grade: Inadequate" in texts(result)
    assert (await world.audit()).state is AuditState.MODERATED
    late = await audit_team_press(world, check, "Accept as complete")
    assert "Recorded as complete by" in texts(late)  # the check is still recorded
    assert "completeness.accept" not in str(late)
    assert len(await moderation_cards(world)) == 1


async def test_accepting_afterwards_asks_nobody_again_and_the_first_card_still_saves(db):
    world = await make_world(db)
    check = await submitted_inadequate(world)
    [card] = await moderation_cards(world)

    accepted = await audit_team_press(world, check, "Accept as complete")
    result = await moderate(world, card)

    assert "Accepted by Alex Audit" in texts(accepted)
    assert len(await moderation_cards(world)) == 1
    assert "nothing was saved" not in texts(result)
    assert (await world.audit()).state is AuditState.MODERATED
    assert await world.count(Moderation) == 1


async def test_a_returned_audit_cannot_be_moderated_until_it_is_resubmitted(db):
    world = await make_world(db)
    check = await submitted_inadequate(world)
    [first] = await moderation_cards(world)
    due = (TODAY + timedelta(days=2)).isoformat()
    await audit_team_press(world, check, "Return to the auditor", reasons="Add the KLOEs", due=due)
    events = await world.count(AuditEvent)

    refused = await moderate(world, first)

    assert "Back with the auditor" in texts(refused)
    assert "returned the audit of case EH-1 to the auditor" in texts(refused)
    assert (await world.audit()).state is AuditState.RETURNED
    assert await world.count(Moderation) == 0
    assert await world.count(AuditEvent) == events

    [returned] = [
        m.payload["card"]
        for m in await world.messages(world.auditor, "completeness")
        if "returned" in m.idempotency_key
    ]
    card = await world.click(world.auditor, returned, "Continue audit")
    card = await walk_to(world, card, "_summary", Grade.INADEQUATE)
    await world.click(world.auditor, card, "Resubmit the audit")

    old, new = await moderation_cards(world)
    assert old == first
    stale = await moderate(world, first)
    assert "nothing was saved" in texts(stale)
    assert await world.count(Moderation) == 0
    await moderate(world, new)
    assert (await world.audit()).state is AuditState.MODERATED
    assert await world.count(Moderation) == 1


async def test_work_graded_above_inadequate_waits_for_the_completeness_check(db):
    world = await make_world(db)
    card = await walk_to(world, await start(world), "_summary", Grade.REQUIRES_IMPROVEMENT)

    await world.click(world.auditor, card, "Submit the audit")

    assert await moderation_cards(world) == []
