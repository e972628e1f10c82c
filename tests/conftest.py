"""Database fixtures shared by every test package.

`db` runs each test on SQLite and on PostgreSQL, both built by the real
migrations. SQLite: a fresh file per test, copied from one migrated
template. PostgreSQL: AUDITBOT_TEST_POSTGRES_URL names a server; each test
session gets its own database on it (so people and CI jobs sharing a server
do not trample each other), migrated once and dropped at the end, and every
test starts from empty tables. Without the variable the PostgreSQL half is
skipped, except in CI (CI=true), where it fails: CI must not go green
without PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.db import make_engine, session_factory, upgrade
from storage.models import Base

# The bot over HTTP, authenticated, with its stand-ins: fixtures for every test package.
pytest_plugins = ["tests.harness"]

POSTGRES_URL_VARIABLE = "AUDITBOT_TEST_POSTGRES_URL"
T = TypeVar("T")


@pytest.fixture(autouse=True)
def _scheduler_off_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Services built by tests run on the real clock; their scheduler's daily (07:00) and
    weekly (Monday 08:00) jobs would fire into whichever test spans that minute. Tests of
    the scheduler switch it on (scheduler_enabled=True) or drive the jobs on a FixedClock."""
    monkeypatch.setenv("AUDITBOT_SCHEDULER_ENABLED", "false")


@dataclass
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    url: str
    dialect: str  # "sqlite" or "postgresql"


def run_in_own_loop(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a fresh loop, even when called inside a running one."""

    async def main() -> T:
        return await make()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "auditbot.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The URL of this session's migrated PostgreSQL database."""
    server_url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not server_url:
        message = f"{POSTGRES_URL_VARIABLE} is not set (run .ci/postgres to start a server)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests cannot be skipped in CI: {message}")
        pytest.skip(message)
    url = run_in_own_loop(lambda: _create_session_database(server_url))
    upgrade(url)
    yield url
    if url != server_url:
        run_in_own_loop(lambda: _drop_database(server_url, url))


@pytest.fixture
def empty_postgres(postgres_url: str) -> Iterator[str]:
    """The URL of a new PostgreSQL database with nothing in it, dropped after the test."""
    server_url = os.environ[POSTGRES_URL_VARIABLE]
    url = run_in_own_loop(lambda: _create_session_database(server_url))
    if url == server_url:
        pytest.skip("the test user may not create databases")
    yield url
    run_in_own_loop(lambda: _drop_database(server_url, url))


async def _create_session_database(server_url: str) -> str:
    """A new database for this session; without CREATEDB, the given one with a fresh schema."""
    base = make_url(server_url)
    name = f"{base.database}_{os.getpid()}_{secrets.token_hex(3)}"
    engine = make_engine(base, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            try:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
            except DBAPIError:
                await connection.execute(text("DROP SCHEMA public CASCADE"))
                await connection.execute(text("CREATE SCHEMA public"))
                return server_url
    finally:
        await engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


async def _drop_database(server_url: str, url: str) -> None:
    engine = make_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            name = make_url(url).database
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


async def _empty_tables(engine: AsyncEngine) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


# For a test that means something on one database only (a PostgreSQL feature, or
# how SQLite stores a value): it then runs on that database alone.
POSTGRES_ONLY = pytest.mark.parametrize(
    "db", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
SQLITE_ONLY = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database: each test runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "auditbot.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        await _empty_tables(engine)
    yield Database(engine, session_factory(engine), url, engine.dialect.name)
    await engine.dispose()


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    """A session on `db`; the test commits (or not) as the code under test would."""
    async with db.sessions() as session:
        yield session
