"""Engines, sessions, health and migrations.

One URL names the database everywhere (settings, CLI, tests). Sync driver
names are accepted and swapped for the async ones, so an operator can paste
the URL their hosting gives them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_BACKEND_ALIASES = {"postgres": "postgresql"}


def async_url(url: str | URL) -> URL:
    """The URL with its async driver: sqlite -> aiosqlite, postgresql -> asyncpg.

    asyncpg does not understand libpq's sslmode, so it is passed on as ssl.
    """
    parsed = make_url(url)
    backend = parsed.drivername.split("+", 1)[0]
    backend = _BACKEND_ALIASES.get(backend, backend)
    if backend not in _ASYNC_DRIVERS:
        raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")
    parsed = parsed.set(drivername=_ASYNC_DRIVERS[backend])
    if backend == "postgresql" and "sslmode" in parsed.query:
        sslmode = parsed.query["sslmode"]
        parsed = parsed.difference_update_query(["sslmode"]).update_query_dict({"ssl": sslmode})
    return parsed


def make_engine(url: str | URL, **engine_options: Any) -> AsyncEngine:
    """An async engine; SQLite gets foreign keys on, WAL, a busy timeout, and transactions
    that take the write lock when they begin.

    Why the last: a SQLite transaction that reads, then writes, cannot wait for
    another writer (its snapshot would be stale), so under concurrent card presses
    it fails with "database is locked" whatever the busy timeout. Beginning with
    BEGIN IMMEDIATE makes transactions queue for the lock instead. PostgreSQL,
    the production database, needs none of this.

    engine_options go to create_async_engine (e.g. connect_args, poolclass).
    """
    engine = create_async_engine(async_url(url), **engine_options)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_immediately)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA journal_mode=WAL")
    finally:
        cursor.close()
    # The driver would otherwise issue its own deferred BEGIN; _begin_immediately does it.
    dbapi_connection.isolation_level = None


def _begin_immediately(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit (cards are built after it)."""
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine, timeout: float = 2.0) -> bool:
    """True when the database answers a trivial query within timeout seconds."""
    try:
        async with asyncio.timeout(timeout):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
        log.warning("database ping failed: %s", type(error).__name__)
        return False
    return True


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at storage/migrations; no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade_on(connection: Connection, revision: str) -> None:
    command.upgrade(alembic_config(connection), revision)


async def async_upgrade(target: str | URL | AsyncEngine, revision: str = "head") -> None:
    """Migrate the database to revision, from inside an event loop.

    target is a URL or an engine (an engine lets callers pass connect_args).
    Alembic is synchronous, so it runs on the connection via run_sync, in one
    transaction.
    """
    engine = target if isinstance(target, AsyncEngine) else make_engine(target)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_on, revision)
    finally:
        if engine is not target:
            await engine.dispose()
    log.info("database migrated to %s", revision)


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database to revision from sync code (the CLI).

    Called from a thread that already runs an event loop, it migrates on a
    helper thread with its own loop rather than failing.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(async_upgrade(url, revision))
        return
    errors: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(async_upgrade(url, revision))
        except BaseException as error:  # noqa: BLE001 - re-raised on the caller's thread
            errors.append(error)

    worker = threading.Thread(target=run, name="alembic-upgrade")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
