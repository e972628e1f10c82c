from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import IntegrityError

from storage import repositories as repo
from storage.models import AuditEvent
from tests.conftest import POSTGRES_ONLY, Database
from tests.factories import create_staff
from workflow.states import AuditState


async def _one_event(db: Database) -> int:
    async with db.sessions.begin() as session:
        event = await repo.record_event(session, "system", "audit", 7, "created", None, {"a": 1})
    return event.id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'tampered'",
        "UPDATE audit_events SET actor_id = NULL",
        "DELETE FROM audit_events",
    ],
)
async def test_the_database_refuses_to_change_or_delete_audit_events(db: Database, statement: str):
    await _one_event(db)
    async with db.engine.connect() as connection:
        with pytest.raises(IntegrityError, match="append-only"):
            await connection.execute(text(statement))
        await connection.rollback()
        assert await connection.scalar(text("SELECT action FROM audit_events")) == "created"


async def test_orm_updates_and_deletes_of_audit_events_fail_too(db: Database):
    event_id = await _one_event(db)
    async with db.sessions() as session:
        with pytest.raises(IntegrityError):
            await session.execute(
                update(AuditEvent).where(AuditEvent.id == event_id).values(action="x")
            )
        await session.rollback()
        with pytest.raises(IntegrityError):
            await session.execute(delete(AuditEvent).where(AuditEvent.id == event_id))


async def test_a_recorded_redaction_may_blank_before_and_after_and_nothing_else(db: Database):
    event_id = await _one_event(db)
    async with db.sessions.begin() as session:
        await repo.redact_event(session, event_id, None, {"a": "[purged]"}, reason="test")
    async with db.sessions() as session:
        [event] = await repo.list_events(session, "audit", 7)
    assert (event.action, event.after) == ("created", {"a": "[purged]"})

    async with db.engine.connect() as connection:
        for statement in (
            "UPDATE audit_events SET action = 'tampered'",
            "UPDATE audit_events SET entity_id = 8",
            "DELETE FROM audit_events",
            "UPDATE audit_event_redactions SET reason = 'nothing happened'",
            "DELETE FROM audit_event_redactions",
        ):
            with pytest.raises(IntegrityError, match="append-only"):
                await connection.execute(text(statement))
            await connection.rollback()


async def test_without_a_recorded_redaction_before_and_after_cannot_change(db: Database):
    event_id = await _one_event(db)
    async with db.engine.connect() as connection:
        with pytest.raises(IntegrityError, match="append-only"):
            await connection.execute(
                text("UPDATE audit_events SET after = NULL WHERE id = :id"), {"id": event_id}
            )


@POSTGRES_ONLY
async def test_truncate_still_empties_the_table_for_test_resets(db: Database):
    await _one_event(db)
    async with db.engine.begin() as connection:
        await connection.execute(text("TRUNCATE audit_events, audit_event_redactions"))
        assert await connection.scalar(text("SELECT count(*) FROM audit_events")) == 0


async def test_record_event_keeps_who_what_when_before_and_after(db: Database):
    at = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)
    async with db.sessions.begin() as session:
        actor = await create_staff(session)
        await repo.record_event(
            session,
            actor,
            "audit",
            42,
            "submitted",
            {"state": AuditState.IN_PROGRESS, "due": date(2025, 3, 31)},
            {"state": AuditState.SUBMITTED, "ids": {3, 1}},
            at=at,
        )
        await repo.record_event(session, "scheduler", "audit", 42, "reminded")
    async with db.sessions() as session:
        first, second = await repo.list_events(session, "audit", 42)
    assert (first.actor_id, first.actor_label, first.action) == (actor.id, None, "submitted")
    assert first.occurred_at == at
    assert first.before == {"state": "in_progress", "due": "2025-03-31"}
    assert first.after == {"state": "submitted", "ids": [1, 3]}
    assert (second.actor_id, second.actor_label, second.before) == (None, "scheduler", None)


async def test_a_person_acting_through_a_tool_keeps_both_names(db: Database):
    async with db.sessions.begin() as session:
        actor = await create_staff(session)
        event = await repo.record_event(session, actor.id, "staff", 1, "created", label="import")
    assert (event.actor_id, event.actor_label) == (actor.id, "import")


async def test_events_roll_back_with_the_change_they_describe(db: Database):
    with pytest.raises(RuntimeError):
        async with db.sessions.begin() as session:
            await repo.record_event(session, "system", "audit", 1, "created")
            raise RuntimeError("the change failed")
    async with db.sessions() as session:
        assert await repo.list_events(session, "audit", 1) == []
