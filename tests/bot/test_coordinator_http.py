"""The coordinator's parts, driven over real HTTP as Teams sends them: disputing a moderated
grade (coordinator disputes -> moderator revises -> result out again) and the weekly progress
report on Inadequate work (prompted by the daily job, answered on the card, forwarded)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from dialogs.moderation import ask_moderator
from dialogs.progress_reports import prompt_progress_reports
from storage import repositories as repo
from tests.bot.test_card_actions import press
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import (
    RULES,
    agree_all,
    cast_in,
    disagree,
    execute_data,
    load_audit,
    messages_to,
    texts,
    verbs,
)
from tests.harness import RunningBot, bot_settings, start_bot
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from workflow.calendar import FixedClock
from workflow.grades import Grade
from workflow.moderation import OVERALL
from workflow.states import AuditState

TUESDAY = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
NEXT_TUESDAY = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TUESDAY)


@pytest.fixture
async def bot(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn, clock: FixedClock
) -> AsyncIterator[RunningBot]:
    server, running = await start_bot(bot_settings(db, identity), connector, identity, clock)
    yield running
    await running.http.close()
    await server.close()


async def moderated(db: Database, bot: RunningBot, *, overall: Grade, to: Grade):
    cast = await cast_in(db, overall=overall)
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        await ask_moderator(session, audit, now=TUESDAY, rules=RULES)
    [ask] = await messages_to(db, cast.moderator, "moderation")
    answers = agree_all()
    if to is not overall:
        answers.update(disagree(OVERALL, to, "Planning drifted"))
    data = execute_data(ask.payload["card"], "moderation.save")
    await press(bot, cast.moderator, "moderation.save", **data, **answers)
    return cast


async def test_a_coordinator_disputes_and_the_moderator_revises(db: Database, bot: RunningBot):
    cast = await moderated(db, bot, overall=Grade.GOOD, to=Grade.REQUIRES_IMPROVEMENT)
    [result] = await messages_to(db, cast.coordinator, "moderation")
    assert "dispute.raise" in verbs(result.payload["card"])

    shown = await press(
        bot, cast.coordinator, "dispute.raise",
        **execute_data(result.payload["card"], "dispute.raise"), reason="The plan is on track",
    )  # fmt: skip

    assert "waiting for the moderator" in texts(shown)
    [asked] = await messages_to(db, cast.moderator, "dispute")
    assert "The plan is on track" in texts(asked.payload["card"])
    form = await press(
        bot, cast.moderator, "dispute.open_revision",
        **execute_data(asked.payload["card"], "dispute.open_revision"),
    )  # fmt: skip
    revised = await press(
        bot, cast.moderator, "dispute.revise",
        **execute_data(form, "dispute.revise"), **agree_all(),
        revision_note="Agreed after talking it through", actions_arising="Review in a month",
    )  # fmt: skip

    assert "dispute.revise" not in verbs(revised)
    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.MODERATED and audit.final_grade is Grade.GOOD
    again = [m for m in await messages_to(db, cast.coordinator, "moderation") if m != result]
    assert again and "Review in a month" in texts(again[-1].payload["card"])


async def test_the_weekly_progress_report_round_trip(
    db: Database, bot: RunningBot, clock: FixedClock
):
    cast = await moderated(db, bot, overall=Grade.INADEQUATE, to=Grade.INADEQUATE)
    clock.set(NEXT_TUESDAY)

    assert await prompt_progress_reports(db.sessions, clock, RULES) == 1
    [prompt] = await messages_to(db, cast.coordinator, "progress_report")
    shown = await press(
        bot, cast.coordinator, "progress.report",
        **execute_data(prompt.payload["card"], "progress.report"),
        progress="Visits are weekly again",
    )  # fmt: skip

    assert "Reported this week" in texts(shown)
    for reader in (cast.head_of_service, cast.audit_manager):
        [told] = await messages_to(db, reader, "progress_report")
        assert "Visits are weekly again" in told.payload["text"]
    assert await prompt_progress_reports(db.sessions, clock, RULES) == 0
