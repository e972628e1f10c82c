"""The reminder card's buttons and the chat answer, over real HTTP as Teams sends them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date

import pytest

from cards.reminders import ACTION_PROGRESS, SNOOZE
from storage import repositories as repo
from storage.enums import RecommendationLevel, RecommendationStatus
from storage.repositories import reminders as due
from tests.bot.test_card_actions import press
from tests.conftest import Database
from tests.harness import RunningBot, bot_settings, start_bot, teams_activity
from tests.scheduler.helpers import (
    cast_in,
    end_of,
    events,
    late_audit,
    london,
    messages,
    texts,
    tick_at,
)
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from workflow.calendar import FixedClock
from workflow.states import AuditState

MONDAY = london(2026, 11, 23, 10, 0)
MAX_CARD_BYTES = 80 * 1024


@pytest.fixture
async def bot(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn
) -> AsyncIterator[RunningBot]:
    settings = bot_settings(db, identity, scheduler_enabled=False)
    server, running = await start_bot(settings, connector, identity, FixedClock(MONDAY))
    yield running
    await running.http.close()
    await server.close()


async def _reminded(db: Database):
    cast = await cast_in(db)
    audit_id = await late_audit(db, cast, end_of(date(2026, 11, 18)))
    held = await late_audit(db, cast, end_of(date(2026, 12, 31)), state=AuditState.UOPP_HELD)
    async with db.sessions.begin() as session:
        action = await repo.add_recommendation(
            session, held, RecommendationLevel.SERVICE, "Supervision every four weeks", None,
            cast.auditor.id, date(2026, 11, 19),
        )  # fmt: skip
    assert await tick_at(db, MONDAY) == 1
    [message] = await messages(db, cast.auditor, "reminder")
    card = message.payload["card"]
    assert card["version"] == "1.5" and len(json.dumps(card).encode()) < MAX_CARD_BYTES
    return cast, audit_id, action.id, card


async def test_snooze_over_http(db: Database, bot: RunningBot):
    cast, audit_id, _action_id, card = await _reminded(db)
    [data] = [
        a["data"] for a in card["actions"] if a.get("verb") == SNOOZE
    ]  # the card's own button

    shown = await press(bot, cast.auditor, SNOOZE, **data)

    assert "Snoozed: no reminder about these until Wed 25 Nov" in texts(shown)
    async with db.sessions() as session:
        snoozed = [r.snoozed_until for r in await due.list_reminders(session)]
    assert snoozed == [london(2026, 11, 25, 9, 0)] * 2
    assert len(await events(db, "reminder_snoozed", audit_id)) == 1
    refused = await press(bot, cast.manager, SNOOZE, **data)
    assert "Only the person this reminder was sent to" in texts(refused)


async def test_action_progress_over_http_from_the_card_and_the_chat(
    db: Database, bot: RunningBot, connector: ConnectorStandIn
):
    cast, _audit_id, action_id, _card = await _reminded(db)

    shown = await press(
        bot, cast.auditor, ACTION_PROGRESS, recommendation=action_id,
        **{f"progress_{action_id}": "not_yet", f"new_date_{action_id}": "2026-12-07"},
    )  # fmt: skip

    assert "New date: Mon 7 Dec" in texts(shown)
    async with db.sessions() as session:
        action = await repo.get_recommendation(session, action_id)
        assert action is not None
        assert (action.status, action.due_on) == (RecommendationStatus.NOT_YET, date(2026, 12, 7))

    activity = teams_activity(
        connector, aad_object_id=cast.auditor.aad_object_id, text=f"done {action_id}"
    )
    response = await bot.post(activity)
    assert response.status in (200, 201)
    async with asyncio.timeout(60):
        while not any(f"Action {action_id} recorded" in _sent_text(s) for s in connector.sent):
            await asyncio.sleep(0.05)
    async with db.sessions() as session:
        action = await repo.get_recommendation(session, action_id)
        assert action is not None and action.status is RecommendationStatus.DONE
    assert [e.after["via"] for e in await events(db, "action_progress")] == ["card", "chat"]


def _sent_text(sent) -> str:
    return json.dumps(sent.activity)
