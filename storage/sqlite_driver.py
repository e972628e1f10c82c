"""aiosqlite, with statements inside a transaction run where they are called.

aiosqlite runs each SQLite connection on a thread of its own, and SQLAlchemy's
adapter awaits that thread four times for every statement: to make a cursor, to
execute, to fetch the rows and to close the cursor. Each trip wakes the thread,
then the event loop, and waits for the GIL both ways: on a card press under load
those trips cost more than SQLite's own work. So this cursor does a statement
start to finish in one call, and brings back the rows, the description, the row
count and the last row id together.

Where that call runs:
- Inside a transaction, on the event loop's own thread, with no trip at all.
  Every transaction here begins with BEGIN IMMEDIATE (storage.db), so it already
  holds SQLite's write lock: nothing it does can wait for another connection, and
  a trip would only add cost. What such a statement costs the loop is SQLite's own
  work, far less than what SQLAlchemy then does with its rows on the loop anyway.
- Anything that can wait goes to the connection's thread, once: BEGIN IMMEDIATE
  (which waits for the write lock up to the busy timeout), COMMIT (which syncs the
  file to disk), rolling a transaction back, and any statement outside a transaction
  or in one that began without the lock.

It reaches aiosqlite's thread the way SQLAlchemy's own adapter does for its
isolation level (`Connection._execute`, the connection's work queue); server-side
cursors (`stream`) keep SQLAlchemy's cursor. Pass `dbapi()` as create_async_engine's
`module` for a sqlite+aiosqlite URL.
"""

from __future__ import annotations

import collections
import sqlite3
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

_Outcome = tuple[Any, int, int | None, list[Any] | None]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any) -> _Outcome:
    """On aiosqlite's thread: the statement, start to finish, and everything it left."""
    cursor = connection.cursor()
    try:
        cursor.execute(operation, () if parameters is None else parameters)
        rows = cursor.fetchall() if cursor.description else None
        return cursor.description, cursor.rowcount, cursor.lastrowid, rows
    finally:
        cursor.close()


def _run_many(connection: sqlite3.Connection, operation: str, rows: Any) -> _Outcome:
    cursor = connection.cursor()
    try:
        cursor.executemany(operation, rows)
        return cursor.description, cursor.rowcount, cursor.lastrowid, None
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A cursor whose statement, rows and close are one call: here inside a transaction,
    else on the connection's thread. There is no driver cursor to keep: what the statement
    left is held here."""

    __slots__ = ("_description", "_rowcount", "_lastrowid")
    _awaitable_cursor_close = False

    def __init__(self, adapt_connection: AsyncAdapt_aiosqlite_connection):
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = collections.deque()
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    def _keep(self, outcome: _Outcome) -> None:
        self._description, self._rowcount, self._lastrowid, rows = outcome
        self._rows = collections.deque(rows or ())

    async def _trip(self, run: Any, operation: Any, parameters: Any) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        adapted: OneTripConnection = self._adapt_connection  # type: ignore[assignment]
        if adapted.holds_write_lock() and not adapted._execute_mutex.locked():
            # Nothing to wait for, and nothing of this connection's on its thread: no trip.
            self._keep(run(connection._conn, operation, parameters))
            return
        async with adapted._execute_mutex:
            self._keep(await connection._execute(run, connection._conn, operation, parameters))
        words = operation.upper().split()[:2] if isinstance(operation, str) else []
        if words[:1] == ["BEGIN"]:
            adapted.began_immediate = words[1:] in (["IMMEDIATE"], ["EXCLUSIVE"])

    async def _execute_async(self, operation: Any, parameters: Any) -> None:
        await self._trip(_run, operation, parameters)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> None:
        await self._trip(_run_many, operation, seq_of_parameters)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("began_immediate",)
    _cursor_cls = OneTripCursor  # type: ignore[assignment]
    began_immediate: bool  # whether the latest BEGIN took the write lock

    def holds_write_lock(self) -> bool:
        """Whether the transaction under way began by taking the write lock."""
        return self._connection._conn.in_transaction and self.began_immediate

    def rollback(self) -> None:
        # The pool rolls back every connection given back to it, mostly just after a commit:
        # with no transaction there is nothing to undo (sqlite3's rollback would do nothing),
        # so no trip.
        connection = self._connection._connection
        if connection is not None and connection.in_transaction:
            super().rollback()


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        # Statements in a transaction run on the event loop's thread, not the one that
        # opened the connection (SQLAlchemy's default for a file; said here as relied on).
        kw["check_same_thread"] = False
        adapted = super().connect(*arg, **kw)  # SQLAlchemy's connecting, then our cursor
        connection = OneTripConnection(self, adapted._connection)
        connection.began_immediate = False
        return connection


def dbapi() -> OneTripDBAPI:
    """The module to give create_async_engine for SQLite."""
    return OneTripDBAPI(aiosqlite, sqlite3)
