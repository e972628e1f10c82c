"""Fixtures the dialogs' Graph tests share: the Graph stand-in on loopback, Graph's retry
waits recorded instead of slept, and a GraphCalendar (the real msgraph-sdk) on them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.config import load_settings
from bot.graph import GraphCalendar, build_calendar
from tests.harness import DEPLOYED
from tests.standins.graph import GraphStandIn


class RecordedWaits(list[float]):
    """Graph's retry waits, remembered instead of slept."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
async def graph() -> AsyncIterator[GraphStandIn]:
    async with GraphStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def waits() -> RecordedWaits:
    return RecordedWaits()


@pytest.fixture
async def calendar(graph: GraphStandIn, waits: RecordedWaits) -> AsyncIterator[GraphCalendar]:
    settings: dict[str, Any] = {**DEPLOYED, **graph.settings(), "graph_max_retries": 2}
    built = build_calendar(load_settings(**settings), sleep=waits)
    assert built is not None
    yield built
    await built.close()
