"""Turns that use the database are let in first come, first served: one at a time on SQLite
(one writer), as many as the connection pool holds on PostgreSQL."""

import asyncio

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker

from dialogs.conversation import _Turns
from storage.db import make_engine, session_factory
from tests.conftest import Database


async def _press_all(queue: _Turns, people: int) -> tuple[int, list[int]]:
    """Everyone asks for a turn and holds it until all have asked: how many got in at once,
    and the order everyone got in."""
    order: list[int] = []
    everyone_asked = asyncio.Event()

    async def press(person: int) -> None:
        async with queue.turn():
            order.append(person)
            await everyone_asked.wait()

    presses = [asyncio.create_task(press(person)) for person in range(people)]
    for _ in range(people * 3):  # every press runs up to its turn, or into it
        await asyncio.sleep(0)
    at_once = len(order)
    everyone_asked.set()
    await asyncio.gather(*presses)
    return at_once, order


async def test_turns_go_in_arrival_order_up_to_what_the_database_takes_at_once(db: Database):
    at_once, order = await _press_all(_Turns(db.sessions), 12)
    assert at_once == (1 if db.dialect == "sqlite" else 5)  # the pool's default size
    assert order == list(range(12))


@pytest.mark.postgres
async def test_a_bigger_pool_lets_more_turns_in_at_once(postgres_url: str):
    engine = make_engine(postgres_url, pool_size=8)
    try:
        at_once, order = await _press_all(_Turns(session_factory(engine)), 12)
    finally:
        await engine.dispose()
    assert (at_once, order) == (8, list(range(12)))


async def test_sessions_without_a_database_are_not_held_back():
    at_once, _ = await _press_all(_Turns(async_sessionmaker()), 12)
    assert at_once == 12


async def test_a_sqlite_pool_still_takes_one_writer_at_a_time(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'one.sqlite3'}", pool_size=8)
    try:
        at_once, _ = await _press_all(_Turns(session_factory(engine)), 4)
    finally:
        await engine.dispose()
    assert at_once == 1
