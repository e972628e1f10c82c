"""The Inadequate fast path at submission: five people told at once, 1 working day to moderate."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dialogs.inadequate import on_submitted
from storage import repositories as repo
from storage.models import AuditEvent, OutboxMessage
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import RULES, cast_in, count_rows, load_audit
from workflow.grades import Grade

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
