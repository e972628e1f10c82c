"""SQLite through storage.sqlite_driver: inside a transaction (which holds the write lock)
statements make no trip to aiosqlite's thread; what can wait (BEGIN IMMEDIATE, COMMIT, a
transaction that has not taken the lock) makes one; everything a statement leaves (rows,
row count, last row id, errors) comes back as SQLAlchemy expects."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import greenlet_spawn

from storage import sqlite_driver
from storage.db import make_engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'driver.sqlite3'}")
    async with engine.begin() as connection:
        await connection.execute(
            text("CREATE TABLE thing (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
        )
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every trip to a SQLite connection's thread: the statement sent, or the function's name
    (`commit`, `rollback`)."""
    sent: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        statement = args[1] if len(args) > 1 and isinstance(args[1], str) else None
        sent.append(statement or getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return sent


async def test_in_a_transaction_statements_make_no_trip_only_begin_and_commit_do(
    engine: AsyncEngine, trips: list[str]
):
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO thing (name) VALUES ('a'), ('b')"))
        rows = (await connection.execute(text("SELECT id, name FROM thing ORDER BY id"))).all()
        assert trips == ["BEGIN IMMEDIATE"]
    assert trips == ["BEGIN IMMEDIATE", "commit"]
    assert [tuple(row) for row in rows] == [(1, "a"), (2, "b")]


async def test_waiting_for_the_write_lock_leaves_the_event_loop_free(tmp_path: Path):
    """A second writer's BEGIN IMMEDIATE waits on its connection's thread until the first
    commits; meanwhile the event loop goes on (here, counting ticks the first writer waits
    for before it commits: a BEGIN that blocked the loop would never see them)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'lock.sqlite3'}", busy_timeout=60)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE thing (name TEXT)"))
        first = await engine.connect()
        await first.begin()
        await first.execute(text("INSERT INTO thing VALUES ('first')"))

        async def second() -> list[str]:
            async with engine.begin() as connection:
                await connection.execute(text("INSERT INTO thing VALUES ('second')"))
                return list((await connection.scalars(text("SELECT name FROM thing"))).all())

        waiting = asyncio.create_task(second())
        ticks = 0
        for _ in range(5):
            await asyncio.sleep(0.01)
            ticks += 1
        assert not waiting.done()  # it cannot have the lock: the first still holds it
        await first.commit()
        await first.close()
        assert await waiting == ["first", "second"]
        assert ticks == 5
    finally:
        await engine.dispose()


async def test_a_writer_that_cannot_get_the_lock_gets_sqlalchemys_error(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'locked.sqlite3'}", busy_timeout=0.05)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE thing (name TEXT)"))
        async with engine.begin() as holder:
            await holder.execute(text("INSERT INTO thing VALUES ('held')"))
            with pytest.raises(OperationalError, match="locked"):
                async with engine.begin() as late:
                    await late.execute(text("INSERT INTO thing VALUES ('late')"))
        async with engine.begin() as connection:
            assert await connection.scalar(text("SELECT count(*) FROM thing")) == 1
    finally:
        await engine.dispose()


async def test_a_transaction_that_has_not_taken_the_lock_still_sends_its_statements(
    engine: AsyncEngine, tmp_path: Path, trips: list[str]
):
    """A deferred BEGIN takes no lock, so its first write may wait for one: that statement
    goes to the thread, never onto the event loop."""

    def deferred() -> int:
        connection = sqlite_driver.dbapi().connect(str(tmp_path / "driver.sqlite3"))
        try:
            connection.isolation_level = None
            cursor = connection.cursor()
            cursor.execute("BEGIN")
            cursor.execute("INSERT INTO thing (name) VALUES ('deferred')")
            connection.commit()
            cursor.execute("SELECT count(*) FROM thing")
            return cursor.fetchone()[0]
        finally:
            connection.close()

    assert await greenlet_spawn(deferred) == 1
    assert trips[:3] == ["BEGIN", "INSERT INTO thing (name) VALUES ('deferred')", "commit"]


async def test_row_counts_last_row_ids_and_many_rows_come_back(engine: AsyncEngine):
    async with engine.begin() as connection:
        inserted = await connection.execute(text("INSERT INTO thing (name) VALUES ('a')"))
        assert inserted.lastrowid == 1
        many = await connection.execute(
            text("INSERT INTO thing (name) VALUES (:name)"), [{"name": "b"}, {"name": "c"}]
        )
        assert many.rowcount == 2
        renamed = await connection.execute(text("UPDATE thing SET name = name || '!'"))
        assert renamed.rowcount == 3
        assert (await connection.execute(text("SELECT 1 WHERE 0"))).first() is None
        assert await connection.scalar(text("SELECT count(*) FROM thing")) == 3


async def test_a_failing_statement_raises_sqlalchemys_error_and_the_connection_goes_on(
    engine: AsyncEngine,
):
    async with engine.connect() as connection:
        await connection.execute(text("INSERT INTO thing (name) VALUES ('a')"))
        with pytest.raises(IntegrityError):
            await connection.execute(text("INSERT INTO thing (name) VALUES ('a')"))
        await connection.rollback()
        with pytest.raises(OperationalError, match="no such table"):
            await connection.execute(text("SELECT * FROM missing_table"))
        await connection.rollback()
        assert await connection.scalar(text("SELECT count(*) FROM thing")) == 0


async def test_streamed_results_still_come_through_a_server_side_cursor(engine: AsyncEngine):
    async with engine.begin() as connection:
        await connection.execute(
            text("INSERT INTO thing (name) VALUES (:name)"),
            [{"name": f"n{n}"} for n in range(250)],
        )
        streamed = await connection.stream(text("SELECT name FROM thing ORDER BY id"))
        names = [row.name async for row in streamed]
    assert names == [f"n{n}" for n in range(250)]
