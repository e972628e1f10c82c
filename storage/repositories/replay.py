"""The demo's replayed time, shared by its processes through the database.

`auditbot tick --at` (and `auditbot demo clock`) in demo mode store how far the
demo's clock is moved from the real time; the demo service reads it before
each turn and each scheduled job, so a replayed day is one clock for card
presses and ticks alike. Kept as one row of bot_state, under an auditbot key.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import BotState
from storage.repositories._sql import upsert_insert

KEY = "auditbot:demo-clock"


async def replay_shift(session: AsyncSession) -> float:
    """Seconds the demo's clock is moved from the real time (0 when not replaying)."""
    document = await session.scalar(select(BotState.document).where(BotState.key == KEY))
    return float((document or {}).get("shift_seconds", 0.0))


async def set_replay_shift(session: AsyncSession, seconds: float) -> None:
    insert = upsert_insert(session, BotState).values(
        key=KEY, document={"shift_seconds": seconds}, version=1
    )
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=["key"], set_={"document": {"shift_seconds": seconds}}
        )
    )
