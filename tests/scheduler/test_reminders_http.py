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
from tests.conftest import SQLITE_ONLY, Database
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
from tests.scheduler.test_tick_cli import run_tick
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


async def _chat(bot: RunningBot, connector: ConnectorStandIn, person, text: str) -> str:
    """Say `text` in chat as `person`; the text of the bot's reply."""
    reply = await bot.say(person.aad_object_id, text)
    return texts(reply.activity["attachments"][0]["content"])


async def test_a_chat_answer_to_an_action_says_what_is_wrong(
    db: Database, bot: RunningBot, connector: ConnectorStandIn
):
    """Reported: "done 999" and "not yet 1 yesterday" were answered "I didn't recognise
    that"; the person needs to hear which actions are theirs, and that a date must lie
    ahead."""
    cast, _audit_id, action_id, _card = await _reminded(db)
    others = []
    async with db.sessions.begin() as session:
        action = await repo.get_recommendation(session, action_id)
        assert action is not None
        for n in (1, 2):
            other = await repo.add_recommendation(
                session, action.audit_id, RecommendationLevel.CHILD, f"Visit {n}", None,
                cast.auditor.id, date(2026, 12, 18),
            )  # fmt: skip
            others.append(other.id)
    mine = sorted([action_id, *others])

    no_such = await _chat(bot, connector, cast.auditor, "done 999")
    past = await _chat(bot, connector, cast.auditor, f"not yet {action_id} yesterday")
    today = await _chat(bot, connector, cast.auditor, f"not yet {action_id} 2026-11-23")
    nobody = await _chat(bot, connector, cast.manager, "done 999")

    assert f"You have no action 999: yours are {mine[0]} to {mine[-1]}." in no_such
    assert "Give a date after today (Monday 23 November 2026); nothing was changed." in past
    assert "Give a date after today (Monday 23 November 2026)" in today
    assert "You have no open actions, so there is no action 999 to update." in nobody
    # The how-to under each uses the person's own action and a date still ahead, not "12".
    assert f"**done {mine[0]}**" in no_such and "2026-11-30" in no_such
    assert f"**not yet {action_id} 2026-11-30**" in past
    assert "**done" not in nobody
    for reply in (no_such, past, today, nobody):
        assert "didn't recognise" not in reply
    async with db.sessions() as session:
        unchanged = await repo.get_recommendation(session, action_id)
        assert unchanged is not None and unchanged.due_on == date(2026, 11, 19)


@SQLITE_ONLY
async def test_replaying_a_day_in_the_demo_moves_card_presses_too(
    db: Database, demo_bot: RunningBot, tmp_path
):
    """Reported: under `auditbot tick --at`, a snooze pressed on a replayed Wed 9 Dec said
    "no reminder until Tue 8 Dec" (the real clock), and the person was reminded again the
    next replayed day. The demo has one clock: replaying a time moves card presses too."""
    cast = await cast_in(db)
    await late_audit(db, cast, end_of(date(2026, 12, 4)))
    wednesday = london(2026, 12, 9, 10, 0)

    code, out = await run_tick(db, "--job", "reminders", "--at", wednesday.isoformat())
    assert code == 0, out
    [message] = await messages(db, cast.auditor, "reminder")
    [data] = [a["data"] for a in message.payload["card"]["actions"] if a.get("verb") == SNOOZE]

    shown = await press(demo_bot, cast.auditor, SNOOZE, **data)

    assert "Snoozed: no reminder about these until Fri 11 Dec" in texts(shown)
    async with db.sessions() as session:
        [snoozed] = [r.snoozed_until for r in await due.list_reminders(session)]
    assert snoozed == london(2026, 12, 11, 9, 0)
    thursday = london(2026, 12, 10, 10, 0).isoformat()
    code, out = await run_tick(db, "--job", "reminders", "--at", thursday)
    assert (code, out.strip()) == (0, "reminders: 0")  # the next replayed day: still snoozed
