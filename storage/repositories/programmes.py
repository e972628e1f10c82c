"""Programme versions: load one, find what is in force, and what a cycle runs under."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.enums import CycleState
from storage.models import Cycle, ProgrammeVersion


async def programmes_in_force(session: AsyncSession) -> list[ProgrammeVersion]:
    """The latest version of each programme that has not been retired, by key."""
    query = (
        select(ProgrammeVersion)
        .where(ProgrammeVersion.retired_at.is_(None))
        .order_by(ProgrammeVersion.programme_key)
    )
    return list(await session.scalars(query))


async def add_programme_version(
    session: AsyncSession,
    *,
    key: str,
    name: str,
    text: str,
    document: dict[str, Any],
    loaded_by_id: int | None,
    loaded_by_label: str | None,
    now: datetime,
) -> ProgrammeVersion:
    """A new version of programme `key`, in force from now; the one it replaces retires."""
    latest = await session.scalar(
        select(func.max(ProgrammeVersion.version)).where(ProgrammeVersion.programme_key == key)
    )
    for previous in await session.scalars(
        select(ProgrammeVersion).where(
            ProgrammeVersion.programme_key == key, ProgrammeVersion.retired_at.is_(None)
        )
    ):
        previous.retired_at = now
    version = ProgrammeVersion(
        programme_key=key,
        version=(latest or 0) + 1,
        name=name,
        text=text,
        document=document,
        loaded_at=now,
        loaded_by_id=loaded_by_id,
        loaded_by_label=loaded_by_label,
    )
    session.add(version)
    await session.flush()
    return version


async def get_programme_version(session: AsyncSession, version_id: int) -> ProgrammeVersion | None:
    return await session.get(ProgrammeVersion, version_id)


async def cycles_running_under(session: AsyncSession, version_ids: list[int]) -> int:
    """How many cycles that have not closed run under these versions."""
    if not version_ids:
        return 0
    query = select(func.count(Cycle.id)).where(
        Cycle.programme_version_id.in_(version_ids), Cycle.state != CycleState.CLOSED
    )
    return int(await session.scalar(query) or 0)


async def older_versions_running(session: AsyncSession, key: str) -> list[tuple[int, int]]:
    """(version, cycles not closed) for each retired version of `key` still in use."""
    query = (
        select(ProgrammeVersion.version, func.count(Cycle.id))
        .join(Cycle, Cycle.programme_version_id == ProgrammeVersion.id)
        .where(
            ProgrammeVersion.programme_key == key,
            ProgrammeVersion.retired_at.is_not(None),
            Cycle.state != CycleState.CLOSED,
        )
        .group_by(ProgrammeVersion.version)
        .order_by(ProgrammeVersion.version)
    )
    return [(int(number), int(count)) for number, count in (await session.execute(query)).all()]
