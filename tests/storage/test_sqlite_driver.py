"""SQLite through storage.sqlite_driver: one trip to aiosqlite's thread per statement, and
everything a statement leaves (rows, row count, last row id, errors) as SQLAlchemy expects."""

from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

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
    """The name of every function sent to a SQLite connection's thread."""
    sent: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return sent


async def test_a_statement_is_one_trip_to_the_connection_thread(
    engine: AsyncEngine, trips: list[str]
):
    async with engine.begin() as connection:
        await connection.execute(text("INSERT INTO thing (name) VALUES ('a'), ('b')"))
        trips.clear()
        rows = (await connection.execute(text("SELECT id, name FROM thing ORDER BY id"))).all()
        assert len(trips) == 1
    assert [tuple(row) for row in rows] == [(1, "a"), (2, "b")]


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
