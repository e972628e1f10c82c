"""Engines, sessions, health and migrations.

One URL names the database everywhere (settings, CLI, tests). Sync driver
names are accepted and swapped for the async ones, so an operator can paste
the URL their hosting gives them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sqlite3
import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_driver
from storage.errors import DatabaseUnavailable
from workflow.words import counted

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"

# How long a SQLite statement waits for another writer's lock before failing. Anything that
# must finish in bounded time (an outbox claim) has to allow for it.
SQLITE_BUSY_TIMEOUT_SECONDS = 15.0

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


# `?azure_entra=managed_identity` on a PostgreSQL URL: sign in with a Microsoft Entra token from
# the managed identity (Azure Database for PostgreSQL's Entra authentication), no password. The
# identity is AZURE_CLIENT_ID's user-assigned one, else the system-assigned one.
ENTRA_PARAMETER = "azure_entra"
POSTGRES_ENTRA_SCOPE = "https://ossrdbms-aad.database.windows.net/.default"


def entra_password(kind: str) -> Any:
    """asyncpg's password as a coroutine function: a fresh (cached until near expiry) Entra
    token for each new connection, so a pool outliving a token's hour keeps connecting."""
    if kind != "managed_identity":
        raise ValueError(f"{ENTRA_PARAMETER}={kind!r}: only managed_identity is supported")
    credential: Any = None

    async def token() -> str:
        nonlocal credential
        if credential is None:
            # The synchronous credential, asked on a worker thread: the asynchronous one holds
            # an aiohttp session that nothing would close when the engine goes (a
            # ResourceWarning at every shutdown), and a token is asked only per new connection.
            from azure.identity import ManagedIdentityCredential

            credential = ManagedIdentityCredential(client_id=os.environ.get("AZURE_CLIENT_ID"))
        return str((await asyncio.to_thread(credential.get_token, POSTGRES_ENTRA_SCOPE)).token)

    return token


def make_engine(
    url: str | URL,
    *,
    busy_timeout: float = SQLITE_BUSY_TIMEOUT_SECONDS,
    **engine_options: Any,
) -> AsyncEngine:
    """An async engine; SQLite gets foreign keys on, WAL, a busy timeout, and transactions
    that take the write lock when they begin, through storage.sqlite_driver (whose
    statements inside such a transaction run on the event loop's thread, with no trip to
    aiosqlite's, since they have nothing left to wait for).

    Why the last: a SQLite transaction that reads, then writes, cannot wait for
    another writer (its snapshot would be stale), so under concurrent card presses
    it fails with "database is locked" whatever the busy timeout. Beginning with
    BEGIN IMMEDIATE makes transactions queue for the lock instead. PostgreSQL,
    the production database, needs none of this.

    `busy_timeout` (seconds) bounds how long a SQLite statement waits for another
    writer's lock (AUDITBOT_DATABASE_BUSY_TIMEOUT_SECONDS in the service).
    engine_options go to create_async_engine (e.g. connect_args, poolclass).
    """
    # A failing statement's error names the statement, never the values in it (answers typed
    # into a card, say), so logs stay free of content.
    engine_options.setdefault("hide_parameters", True)
    parsed = async_url(url)
    entra = parsed.query.get(ENTRA_PARAMETER)
    if entra is not None:
        parsed = parsed.difference_update_query([ENTRA_PARAMETER])
        connect_args = dict(engine_options.get("connect_args") or {})
        connect_args["password"] = entra_password(str(entra))
        engine_options["connect_args"] = connect_args
    if parsed.get_backend_name() == "sqlite":
        engine_options.setdefault("module", sqlite_driver.dbapi())
    engine = create_async_engine(parsed, **engine_options)
    if engine.dialect.name == "sqlite":

        def configure(dbapi_connection: Any, _record: Any) -> None:
            _configure_sqlite(dbapi_connection, busy_timeout)

        event.listen(engine.sync_engine, "connect", configure)
        event.listen(engine.sync_engine, "begin", _begin_immediately)
    return engine


def _configure_sqlite(dbapi_connection: Any, busy_timeout: float) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
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


# What /healthz reads: the schema version, and the newest row of the table the outbox
# sender reads every second, through its primary key. A query of no table (SELECT 1) would
# answer "healthy" for a file whose pages are overwritten.
HEALTH_QUERIES = (
    "SELECT version_num FROM alembic_version",
    "SELECT id FROM outbox ORDER BY id DESC LIMIT 1",
)


async def ping(engine: AsyncEngine, timeout: float = 2.0) -> bool:
    """True when the database answers reads of real tables within timeout seconds."""
    try:
        async with asyncio.timeout(timeout):
            async with engine.connect() as connection:
                for query in HEALTH_QUERIES:
                    await connection.execute(text(query))
    except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
        log.warning("database ping failed: %s", type(error).__name__)
        return False
    return True


async def check_database(url: str | URL, timeout: float = 10.0) -> None:
    """Raise DatabaseUnavailable, with one line saying what is wrong and what to do, unless
    the database can be opened and read.

    On SQLite the folder must exist and the file pass SQLite's quick check (every page
    read, so a damaged file stops the start instead of failing later, one query at a
    time); on PostgreSQL the server must accept the connection and answer a query. Either
    way a database already migrated must answer for its schema version. Call it before
    migrating or serving.
    """
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite":
        await asyncio.to_thread(_check_sqlite_file, parsed)
        return
    engine = make_engine(parsed)
    try:
        async with asyncio.timeout(timeout), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            if await connection.run_sync(lambda sync: inspect(sync).has_table("alembic_version")):
                await connection.execute(text(HEALTH_QUERIES[0]))
    except TimeoutError:
        raise DatabaseUnavailable(
            f"{_where(parsed)} did not answer within {timeout:g} s; check that it is running "
            "and AUDITBOT_DATABASE_URL points at it"
        ) from None
    except Exception as error:
        raise DatabaseUnavailable(describe_database_error(error, parsed)) from None
    finally:
        await engine.dispose()


def _check_sqlite_file(url: URL) -> None:
    """The SQLite half of check_database. The file is opened read-only, without the pragmas
    auditbot's engines set (switching to WAL writes to the file): a file refused here is
    left exactly as it was. A file that does not exist yet is fine, in a folder that does."""
    if not url.database or url.database == ":memory:":
        return
    path = Path(url.database).expanduser().resolve()
    if not path.parent.is_dir():
        raise DatabaseUnavailable(
            f"the folder {path.parent} for the SQLite file does not exist; create it, or "
            "point AUDITBOT_DATABASE_URL at a file in an existing folder"
        )
    if not path.exists():
        return
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            found = [row[0] for row in db.execute("PRAGMA quick_check")]
            if (
                found == ["ok"]
                and db.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'"
                ).fetchone()
            ):
                db.execute(HEALTH_QUERIES[0]).fetchall()
    except sqlite3.Error as error:
        raise DatabaseUnavailable(describe_database_error(error, url)) from None
    if found != ["ok"]:
        problems = counted(len(found), "problem")
        raise DatabaseUnavailable(
            f"{_where(url)} is damaged (SQLite's quick check found {problems}, "
            f"the first: {str(found[0])[:120]}); restore it from a backup"
        )


def describe_database_error(error: BaseException, url: str | URL) -> str:
    """One line for an operator: what went wrong opening the database at `url`, and what to
    do. Names the file or the server, never the password."""
    parsed = async_url(url)
    where = _where(parsed)
    cause = getattr(error, "orig", None) or error
    message = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    if parsed.get_backend_name() == "sqlite":
        lowered = message.lower()
        if "not a database" in lowered:
            return (
                f"{where} is not a SQLite database; point AUDITBOT_DATABASE_URL at auditbot's "
                "database file, or restore it from a backup"
            )
        if "malformed" in lowered or "corrupt" in lowered:
            return f"{where} is damaged ({message}); restore it from a backup"
        if "unable to open" in lowered or "readonly" in lowered:
            return f"cannot open {where} ({message}); check that auditbot may read and write it"
        if "locked" in lowered:
            return f"{where} is locked by another process; stop it, or wait and try again"
        return f"cannot use {where} ({message}); check AUDITBOT_DATABASE_URL"
    if isinstance(cause, socket.gaierror):
        return f"cannot find the PostgreSQL host {parsed.host!r}; check AUDITBOT_DATABASE_URL"
    if isinstance(cause, OSError):
        reason = cause.strerror or type(cause).__name__
        return (
            f"cannot reach {where} ({reason}); check that the server is running and "
            "AUDITBOT_DATABASE_URL points at it"
        )
    return f"{where} refused: {message}; check AUDITBOT_DATABASE_URL and the database's users"


def _where(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return f"the SQLite file {url.database}"
    return f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at storage/migrations; no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


# The PostgreSQL advisory lock every migration holds, so that instances starting together
# against one database migrate it once: the first migrates, the others wait for its commit
# and find nothing left to do. (Any fixed 64-bit number; this one spells "auditbot".)
MIGRATION_LOCK = 0x6175646974626F74


def _upgrade_on(connection: Connection, revision: str) -> tuple[str | None, str | None]:
    """Migrate on this connection; the schema revision before and after."""
    before = _revision_on(connection)
    command.upgrade(alembic_config(connection), revision)
    return before, _revision_on(connection)


def _revision_on(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The schema revision this auditbot's code expects."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def schema_revision(url: str | URL) -> str | None:
    """The database's schema revision (None for an empty database)."""
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_revision_on)
    finally:
        await engine.dispose()


async def async_upgrade(target: str | URL | AsyncEngine, revision: str = "head") -> None:
    """Migrate the database to revision, from inside an event loop.

    target is a URL or an engine (an engine lets callers pass connect_args).
    Alembic is synchronous, so it runs on the connection via run_sync, in one
    transaction. On PostgreSQL that transaction first takes MIGRATION_LOCK, so
    several instances starting at once migrate the schema once between them.
    """
    engine = target if isinstance(target, AsyncEngine) else make_engine(target)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                )
            before, after = await connection.run_sync(_upgrade_on, revision)
    finally:
        if engine is not target:
            await engine.dispose()
    if before == after:
        log.info("database schema already at %s", after)
    else:
        log.info("database migrated from %s to %s", before or "empty", after)


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
