"""One outbox sender at a time across every instance on one PostgreSQL.

Teams limits an app across the tenant (50 requests a second). Each sender keeps
that limit exactly for its own requests (bot/ratelimit.py), so several instances
each sending would together exceed it. Rather than share a budget through the
database on every request, the instances elect one sender: whoever holds a
PostgreSQL session-level advisory lock sends; the others try again every
`retry_seconds`. The lock lives on a connection of its own: a sender whose process
dies, or whose connection breaks, loses the lock with it, and another instance
takes over within `retry_seconds`.

Where the handover could overlap. A sender checks that it still holds its
connection every `check_seconds` and stops sending when it does not; a new sender
waits `quiet_seconds` (that check plus the longest app-wide window) before its
first request, so requests of one that lost the lock without knowing it yet have
left Teams' window first. A sender that has stopped sending but whose database
session lingers (a network partition the server has not noticed) keeps the lock
until the server drops it: messages wait then, and are not lost.

On SQLite there is one instance, which simply sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.pool import NullPool

from storage.db import make_engine

log = logging.getLogger(__name__)

# The advisory lock the outbox sender holds (any fixed 64-bit number; this spells "outbox!").
SENDER_LOCK = 0x6F7574626F7821


class Sender(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class SenderElection:
    """Start the sender while this instance holds SENDER_LOCK; `start`/`stop` as the sender's."""

    CHECK_SECONDS = 2.0

    def __init__(
        self,
        database_url: str | URL,
        sender: Sender,
        *,
        retry_seconds: float = 5.0,
        check_seconds: float = CHECK_SECONDS,
        quiet_seconds: float = 3.0,
    ) -> None:
        # AUTOCOMMIT: the lock belongs to the session, so no transaction is left open; NullPool:
        # closing the connection ends the session and so releases the lock.
        self._engine = make_engine(database_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self._sender = sender
        self._retry = retry_seconds
        self._check = check_seconds
        self._quiet = quiet_seconds
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sending = False

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="outbox-election")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        await self._engine.dispose()

    async def _run(self) -> None:
        waiting_said = False
        while not self._stopping.is_set():
            try:
                async with self._engine.connect() as connection:
                    if await self._take(connection):
                        waiting_said = False
                        await self._send_while_held(connection)
                    elif not waiting_said:
                        log.info("another instance sends the outbox; this one stands by")
                        waiting_said = True
            except Exception as error:  # the database went away: try again later
                log.warning("outbox sender election failed (%s); trying again", error)
            await self._pause(self._retry)

    @staticmethod
    async def _take(connection: AsyncConnection) -> bool:
        query = text("SELECT pg_try_advisory_lock(:key)")
        return bool(await connection.scalar(query, {"key": SENDER_LOCK}))

    async def _send_while_held(self, connection: AsyncConnection) -> None:
        log.info("this instance sends the outbox (after %g s for any previous sender)", self._quiet)
        if await self._pause(self._quiet):
            return
        await self._sender.start()
        self.sending = True
        try:
            while not await self._pause(self._check):
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            log.warning("lost the outbox sender's lock (%s); stopping sending", error)
        finally:
            self.sending = False
            await self._sender.stop()

    async def _pause(self, seconds: float) -> bool:
        """Wait; True if told to stop meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()
