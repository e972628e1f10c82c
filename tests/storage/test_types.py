from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from storage import repositories as repo
from storage.enums import OutboxState
from storage.models import OutboxMessage
from tests.conftest import SQLITE_ONLY, Database
from tests.factories import create_staff

LONDON = ZoneInfo("Europe/London")


async def test_aware_datetimes_come_back_aware_utc(db: Database):
    summer_evening = datetime(2025, 7, 1, 18, 30, tzinfo=LONDON)  # BST, UTC+1
    async with db.sessions.begin() as session:
        message = await repo.enqueue_message(
            session, None, "k", {}, "key", not_before=summer_evening
        )
        message_id = message.id
    async with db.sessions() as session:
        stored = await session.get(OutboxMessage, message_id)
        assert stored is not None
        assert stored.next_attempt_at.tzinfo is UTC
        assert stored.next_attempt_at == datetime(2025, 7, 1, 17, 30, tzinfo=UTC)
        assert stored.created_at.tzinfo is UTC


@SQLITE_ONLY
async def test_sqlite_stores_utc_wall_time(db: Database):
    plus_five = timezone(timedelta(hours=5))
    async with db.sessions.begin() as session:
        await repo.enqueue_message(
            session, None, "k", {}, "key", not_before=datetime(2025, 1, 1, 5, 0, tzinfo=plus_five)
        )
    async with db.engine.connect() as connection:
        raw = await connection.scalar(text("SELECT next_attempt_at FROM outbox"))
    assert str(raw).startswith("2025-01-01 00:00:00")


async def test_comparisons_with_aware_times_work_across_zones(db: Database):
    due = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)  # the night the clocks go forward
    async with db.sessions.begin() as session:
        await repo.enqueue_message(session, None, "k", {}, "key", not_before=due)
    async with db.sessions.begin() as session:
        just_before = datetime(2025, 3, 30, 0, 29, tzinfo=UTC).astimezone(LONDON)
        assert await repo.claim_due_messages(session, "w", just_before) == []
        at_london_time = datetime(2025, 3, 30, 0, 30, tzinfo=LONDON)  # GMT, equal to due
        assert len(await repo.claim_due_messages(session, "w", at_london_time)) == 1


async def test_naive_datetimes_are_refused(db: Database):
    async with db.sessions() as session:
        with pytest.raises(StatementError, match="naive datetime"):
            await repo.enqueue_message(
                session, None, "k", {}, "key", not_before=datetime(2025, 1, 1, 9, 0)
            )


async def test_enum_columns_refuse_values_outside_the_enum(db: Database):
    async with db.sessions() as session:
        staff = await create_staff(session)
        session.add(
            OutboxMessage(
                idempotency_key="x", recipient_id=staff.id, kind="k", payload={}, state="lost"
            )
        )
        with pytest.raises(StatementError, match="lost"):
            await session.flush()


async def test_enum_columns_read_back_as_enum_members(db: Database):
    async with db.sessions.begin() as session:
        await repo.enqueue_message(session, None, "k", {}, "key")
    async with db.sessions() as session:
        (message,) = await repo.list_messages(session)
        assert message.state is OutboxState.PENDING
    async with db.engine.connect() as connection:
        assert await connection.scalar(text("SELECT state FROM outbox")) == "pending"
