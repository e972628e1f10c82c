"""The timetable asks for each cycle when it falls due, once, of whoever the programme
says proposes cycles: Hillingdon's Principal Social Worker gets January's monthly audit
as a filled-in form on 18 December, sends it with its focus, and the cycle opens at once
(no KLOE approval in that programme). Pressed over HTTP as Teams does, on a fixed clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from dialogs.programmes import load_programme
from dialogs.timetable import ask_for_due_cycles
from storage import repositories as repo
from storage.demo import load_demo
from storage.enums import CycleState
from storage.models import Cycle, Staff
from tests.bot.test_card_actions import AUDIT_TEAM, person
from tests.bot.test_wizard_http import click
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import messages_to, texts
from tests.harness import RunningBot, bot_settings, start_bot
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from workflow.calendar import FixedClock
from workflow.programme import shipped_programmes
from workflow.rules import ProgrammeRules

ASKING_DAY = datetime(2026, 12, 18, 9, 30, tzinfo=UTC)  # two weeks before January


@pytest.fixture
async def bot(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn
) -> AsyncIterator[RunningBot]:
    server, running = await start_bot(
        bot_settings(db, identity), connector, identity, FixedClock(ASKING_DAY)
    )
    yield running
    await running.http.close()
    await server.close()


async def hillingdon(db: Database) -> Staff:
    """The demo council running Hillingdon's programme: its Principal Social Worker."""
    async with db.sessions.begin() as session:
        await load_demo(session)
        await load_programme(
            session, shipped_programmes()["hillingdon-csc"], actor="test", now=ASKING_DAY
        )
        psw = await repo.get_staff_by_upn(session, "nia.okoye@demo-council.gov.uk")
        assert psw is not None
        return psw


async def tick(db: Database, at: datetime) -> int:
    return await ask_for_due_cycles(db.sessions, FixedClock(at), ProgrammeRules())


async def test_the_principal_social_worker_is_asked_for_januarys_audits_and_opens_them(
    db: Database, bot: RunningBot
):
    psw = await hillingdon(db)
    assert await tick(db, datetime(2026, 12, 17, 9, tzinfo=UTC)) == 0  # not yet

    assert await tick(db, ASKING_DAY) == 1
    assert await tick(db, ASKING_DAY) == 1  # asked again, but the message goes once
    [message] = await messages_to(db, psw, "timetable")
    form = message.payload["card"]
    assert "The timetable has Monthly case audits, January 2027 due" in texts(form)
    assert "5 cases" in texts(form)  # one per trained auditor
    assert "no approval step" in texts(form)
    assert await messages_to(db, await person(db, AUDIT_TEAM), "timetable") == []

    outsider = await person(db, AUDIT_TEAM)  # the Audit Team, not asked by this programme
    shown = await click(
        bot, psw, form, "Open the cycle", kloes="Are the child's outcomes met?", cases="5"
    )

    assert "the cycle is open: 5 audits allocated" in texts(shown), texts(shown)
    async with db.sessions() as session:
        [cycle] = list(await session.scalars(select(Cycle)))
        assert (cycle.title, cycle.state) == ("Monthly case audits, January 2027", CycleState.OPEN)
        assert cycle.audit_tool_id == "hillingdon_monthly_audit"
    assert await tick(db, ASKING_DAY) == 0  # proposed: not asked for again

    for who in (psw, outsider):  # pressed again, or by the Audit Team from a copy
        again = await click(bot, who, form, "Open the cycle", kloes="Anything", cases="5")
        assert "Monthly case audits, January 2027 was proposed already (it is open)" in texts(again)
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Cycle)) == 1
