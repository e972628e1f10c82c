"""`auditbot demo --programme NAME` runs a shipped programme on the demo council: its
services on the demo's two, the cycles opened under it, and only once."""

from __future__ import annotations

import asyncio
import os

import pytest
from sqlalchemy import select

from bot.cli import main
from storage.db import make_engine, session_factory
from storage.models import Cycle, ProgrammeVersion


@pytest.fixture
def demo_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AUDITBOT_"):
            monkeypatch.delenv(name)


def stored(path) -> tuple[list[tuple[str, int]], list[tuple[str, str, int | None]]]:
    async def read():
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        try:
            async with session_factory(engine)() as session:
                rows = await session.scalars(select(ProgrammeVersion))
                versions = [(v.programme_key, v.version) for v in rows]
                rows = await session.scalars(select(Cycle).order_by(Cycle.id))
                cycles = [(c.title, c.audit_tool_id, c.programme_version_id) for c in rows]
                return versions, cycles
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_the_demo_runs_hillingdons_programme_on_its_childrens_social_care(
    demo_env, tmp_path, capsys
):
    path = tmp_path / "demo.sqlite3"
    assert (
        main(["demo", "--database", str(path), "--no-serve", "--programme", "hillingdon-csc"]) == 0
    )
    out = capsys.readouterr().out
    assert "Programme Internal monthly audits (Children's Social Care): CSC as CSC." in out

    versions, cycles = stored(path)
    assert versions == [("hillingdon-csc", 1)]
    csc = [cycle for cycle in cycles if cycle[0].startswith("Children's Social Care")]
    assert csc and all(tool == "hillingdon_monthly_audit" and version == 1
                       for _, tool, version in csc)  # fmt: skip
    early_help = [cycle for cycle in cycles if cycle[0].startswith("Early Help")]
    assert all(version is None for _, _, version in early_help)  # not in Hillingdon's programme

    assert (
        main(["demo", "--database", str(path), "--no-serve", "--programme", "hillingdon-csc"]) == 0
    )
    assert "Programme hillingdon-csc is in force already." in capsys.readouterr().out
    assert stored(path)[0] == [("hillingdon-csc", 1)]
