"""The fuzz's database (tests/fuzz/world.py), and the running bot shared with tests/bot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.test_card_actions import open_demo_cycle
from tests.conftest import Database
from tests.fuzz.world import World, build_world


@pytest.fixture(scope="module")
def world(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    built = build_world(sqlite_template, tmp_path_factory.mktemp("fuzz"))
    yield built
    built.close()


@pytest.fixture
async def demo_data_loaded(db: Database) -> None:
    """The demo organisation with a cycle open, in `db` (for the invoke fuzz)."""
    await open_demo_cycle(db)
