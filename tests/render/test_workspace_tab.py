"""The workspace tab in headless Chromium, as demo people use it: each signs in with the
demo picker and sees only the audits they may; axe-core finds no serious or critical
problem on the page, in light or dark; the filters work from the keyboard alone; a row's
history opens. Screenshots are kept in test-artifacts/workspace/ to be looked at."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.models import Audit, Case, RecommendationReview, Staff
from tests.bot.test_card_actions import AUDIT_TEAM, HOS
from tests.bot.test_workspace_pages_http import graded_world
from tests.conftest import Database
from tests.harness import SQLITE_ONLY, RunningBot
from tests.render.harness import (
    HERE,
    ROOT,
    RendererUnavailable,
    ensure_node_packages,
    find_chromium,
)

SHOTS = ROOT / "test-artifacts" / "workspace"
SERIOUS = ("serious", "critical")


def browser() -> tuple[str, str]:
    try:
        return find_chromium(), ensure_node_packages()
    except RendererUnavailable as missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the browser tests: {missing}")
        pytest.skip(str(missing))


async def cases_of(db: Database, *where) -> set[str]:  # noqa: ANN002
    async with db.sessions() as session:
        query = select(Case.case_ref).join(Audit, Audit.case_id == Case.id).where(*where)
        return set((await session.scalars(query)).all())


@SQLITE_ONLY
async def test_each_demo_person_sees_their_audits_accessibly_in_the_tab(
    db: Database, demo_bot: RunningBot
):
    chromium, node = browser()
    await graded_world(db)
    async with db.sessions() as session:
        first = await session.scalar(select(Audit).order_by(Audit.id))
        practitioner = await session.get(Staff, first.practitioner_id)
    people = [AUDIT_TEAM, HOS, practitioner.upn]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        job = Path(scratch) / "job.json"
        job.write_text(
            json.dumps(
                {"chromium": chromium, "url": demo_bot.url, "people": people,
                 "screenshots": str(SHOTS), "writer": AUDIT_TEAM, "writerService": "EH",
                 "meetingOn": date.today().isoformat()}
            )
        )  # fmt: skip
        # The bot serves from this test's event loop: the browser runs beside it, awaited.
        process = await asyncio.create_subprocess_exec(
            node, str(HERE / "tab.mjs"), str(job), cwd=HERE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode == 0, err.decode()[-2000:]
    results = {r["upn"]: r for r in json.loads(out)["results"]}

    everything = await cases_of(db)
    assert set(results[AUDIT_TEAM]["rows"]) == everything
    assert set(results[practitioner.upn]["rows"]) == await cases_of(
        db, Audit.practitioner_id == practitioner.id
    )
    assert set(results[HOS]["rows"]) < everything
    team = results[AUDIT_TEAM]["pages"]
    assert team["recommendations"]["tables"] == [2, 0]  # two recommendations, no review yet
    assert team["calibration"]["tables"][0] >= 1 and team["reports"]["charts"] >= 2
    assert "How moderation changed grades" in team["reports"]["headings"]
    wrote = results[AUDIT_TEAM]["wrote"]
    assert (wrote["learning"], wrote["note"]) == (["Amber"], "1. Plans need timescales.")
    assert wrote["reviews"] == 1 and wrote["reviewStatus"].startswith("Recorded the review of 1")
    async with db.sessions() as session:
        [review] = (await session.scalars(select(RecommendationReview))).all()
    assert (review.decided, review.decisions[0]["status"]) == ("Keep going.", "partly")
    # The practitioner sees no service-wide page: no learning log, nothing to calibrate.
    theirs = results[practitioner.upn]["pages"]
    assert theirs["learning"]["tables"] == [0] and theirs["calibration"]["tables"][0] == 0
    for upn, result in results.items():
        serious = [v for v in result["violations"] if v["impact"] in SERIOUS]
        assert serious == [], (upn, serious)
        assert result["keyboard"] <= len(result["rows"])  # the State filter, by keyboard
        assert result["history"] >= 1  # the first row's history: allocated at least
        for name, shown in result["pages"].items():
            serious = [v for v in shown["violations"] if v["impact"] in SERIOUS]
            assert serious == [], (upn, name, serious)
            assert shown["download"] == f"{name}.{'pdf' if name == 'reports' else 'xlsx'}"
            assert shown["status"].startswith("Downloaded"), (upn, name, shown["status"])
        for shot in result["screenshots"]:
            assert Path(shot).stat().st_size > 10_000
