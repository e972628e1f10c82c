import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import async_url, make_engine, ping, upgrade
from tests.conftest import Database


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("sqlite:///data/auditbot.db", "sqlite+aiosqlite:///data/auditbot.db"),
        ("sqlite+aiosqlite:///data/auditbot.db", "sqlite+aiosqlite:///data/auditbot.db"),
        ("sqlite+pysqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+psycopg2://u@h:5433/db", "postgresql+asyncpg://u@h:5433/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql://u@h/db?sslmode=require", "postgresql+asyncpg://u@h/db?ssl=require"),
    ],
)
def test_urls_are_normalised_to_async_drivers(given: str, expected: str):
    assert async_url(given).render_as_string() == expected


def test_unsupported_backends_are_refused():
    with pytest.raises(ValueError, match="mysql"):
        async_url("mysql://u@h/db")


async def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'pragmas.sqlite3'}")
    try:
        async with engine.connect() as connection:
            assert await connection.scalar(text("PRAGMA foreign_keys")) == 1
            assert await connection.scalar(text("PRAGMA journal_mode")) == "wal"
    finally:
        await engine.dispose()


async def test_ping_is_true_when_the_database_answers(db: Database):
    assert await ping(db.engine) is True


async def test_ping_is_false_when_the_database_is_not_listening():
    engine = make_engine("postgresql://nobody@127.0.0.1:9/none")
    try:
        assert await ping(engine, timeout=5) is False
    finally:
        await engine.dispose()


def _tables(path: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}


def test_upgrade_works_from_sync_code(tmp_path: Path):
    path = tmp_path / "cli.sqlite3"
    upgrade(f"sqlite:///{path}")
    assert {"audits", "audit_events", "alembic_version"} <= _tables(path)


async def test_upgrade_works_inside_a_running_event_loop(tmp_path: Path):
    path = tmp_path / "in-loop.sqlite3"
    upgrade(f"sqlite:///{path}")
    assert asyncio.get_running_loop().is_running()
    assert {"audits", "audit_events", "alembic_version"} <= _tables(path)
