"""What every bench shares: durable databases, scratch PostgreSQL databases, statement counts.

A bench measures auditbot as a council would run it, so PostgreSQL runs with fsync
and synchronous_commit on (a cluster of its own, started by .ci/postgres with
PGTEST_FSYNC=on, not the test suite's fsync-off one) and SQLite with WAL and
synchronous=FULL (the service's settings). `durability` reads back what the
database actually does, for the bench to print beside its figures.

PostgreSQL: AUDITBOT_BENCH_POSTGRES_URL names a server to use as it is (say in
your notes whether it is durable: the bench prints what it finds); otherwise the
durable cluster is started on port 54339. AUDITBOT_BENCH_SQLITE_ONLY=1 skips it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import make_engine

ROOT = Path(__file__).resolve().parents[1]
DURABLE_CLUSTER = {
    "PGTEST_DIR": "/tmp/auditbot-pg-durable",
    "PGTEST_PORT": "54339",
    "PGTEST_FSYNC": "on",
}


def postgres_server() -> str | None:
    """The PostgreSQL server the benches use (started durable when none is named), or None
    when AUDITBOT_BENCH_SQLITE_ONLY is set."""
    if os.environ.get("AUDITBOT_BENCH_SQLITE_ONLY"):
        return None
    named = os.environ.get("AUDITBOT_BENCH_POSTGRES_URL")
    if named:
        return named
    started = subprocess.run(
        [str(ROOT / ".ci" / "postgres")],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **DURABLE_CLUSTER},
    )
    return started.stdout.strip()


async def _admin(server_url: str, statement: str) -> None:
    engine = make_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def scratch_postgres(server_url: str, prefix: str = "auditbot_bench") -> AsyncIterator[str]:
    """A fresh database on the server for one measurement, dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(3)}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def durability(engine: AsyncEngine) -> str:
    """What the database does on commit, read from the database itself."""
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            journal = await connection.scalar(text("PRAGMA journal_mode"))
            level = await connection.scalar(text("PRAGMA synchronous"))
            names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
            return f"journal_mode={journal}, synchronous={names.get(level, level)}"
        fsync = await connection.scalar(text("SHOW fsync"))
        synchronous = await connection.scalar(text("SHOW synchronous_commit"))
        return f"fsync={fsync}, synchronous_commit={synchronous}"


class StatementCounter:
    """Counts the SQL statements an engine sends while counting is on (an executemany is
    one statement: one round trip). Use `with counter.counting(): ...`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        self._on = False
        event.listen(engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: Any) -> None:
        if self._on:
            self.count += 1

    @contextlib.contextmanager
    def counting(self) -> Iterator[StatementCounter]:
        self.count, self._on = 0, True
        try:
            yield self
        finally:
            self._on = False
