"""One outbox sender across instances on one PostgreSQL (bot/election.py): the instance holding
the lock sends, the others stand by, and one takes over when the sender stops, dies or loses
its database session."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from bot.election import SENDER_LOCK, SenderElection
from tests.conftest import POSTGRES_ONLY, Database


class Recorder:
    """A sender that notes when it was started and stopped (the election's only contract)."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    async def start(self) -> None:
        self.log.append(f"{self.name} starts")

    async def stop(self) -> None:
        self.log.append(f"{self.name} stops")


def elect(db: Database, name: str, log: list[str]) -> SenderElection:
    return SenderElection(
        db.url, Recorder(name, log), retry_seconds=0.05, check_seconds=0.05, quiet_seconds=0.1
    )


async def until(condition, what: str) -> None:
    async with asyncio.timeout(30):
        while not condition():
            await asyncio.sleep(0.02)


async def lock_holders(db: Database) -> list[int]:
    async with db.engine.connect() as connection:
        found = await connection.execute(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND ((classid::bigint << 32) | objid::bigint) = :key"
            ),
            {"key": SENDER_LOCK},
        )
        return [row[0] for row in found]


@POSTGRES_ONLY
async def test_one_instance_sends_and_another_takes_over_when_it_stops(db: Database):
    log: list[str] = []
    first, second = elect(db, "first", log), elect(db, "second", log)
    await first.start()
    await until(lambda: first.sending, "the first to send")
    await second.start()
    await asyncio.sleep(0.5)  # ten of the second's tries: it stands by
    assert log == ["first starts"] and not second.sending
    assert len(await lock_holders(db)) == 1

    await first.stop()
    await until(lambda: second.sending, "the second to take over")
    await second.stop()
    assert log == ["first starts", "first stops", "second starts", "second stops"]
    assert await lock_holders(db) == []


@POSTGRES_ONLY
async def test_a_sender_that_loses_its_database_session_stops_and_another_takes_over(db: Database):
    log: list[str] = []
    first, second = elect(db, "first", log), elect(db, "second", log)
    await first.start()
    await until(lambda: first.sending, "the first to send")
    await second.start()
    [holder] = await lock_holders(db)

    async with db.engine.connect() as connection:  # as a failover or an administrator would
        await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": holder})
    await until(lambda: second.sending and "first stops" in log, "the second to take over")
    assert not first.sending
    # Which came first depends on two timers (the first's check, the second's quiet wait),
    # so only the outcome is asserted; bot/election.py sizes the wait to cover the check.
    assert sorted(log) == ["first starts", "first stops", "second starts"]

    await second.stop()
    await first.stop()
    assert log[-1] == "second stops" and await lock_holders(db) == []
