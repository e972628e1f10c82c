"""Helpers shared by the repositories (not for callers)."""

from collections.abc import Callable
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

# Each dialect's INSERT that supports ON CONFLICT, by dialect name: for a statement built once
# per dialect when the module loads.
UPSERT_INSERTS: dict[str, Callable[[Any], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def upsert_insert(session: AsyncSession, table: Any) -> Any:
    """An INSERT that supports ON CONFLICT on the session's dialect (SQLite or PostgreSQL)."""
    return UPSERT_INSERTS[session.get_bind().dialect.name](table)
