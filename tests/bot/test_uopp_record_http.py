"""The UoPP record driven over real HTTP: the chair's buttons are `adaptiveCard/action`
invokes posted to /api/messages as Teams sends them, each answered with the next card.

The meeting is booked directly, as the booker leaves it; the bot's clock is fixed on the
morning after the meeting.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest

from storage import repositories as repo
from storage.enums import MeetingKind, MeetingState, RecommendationSource
from storage.models import OutboxMessage, Staff
from tests.bot.test_card_actions import press
from tests.bot.test_moderation_http import checked
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import count_rows, execute_data, load_audit, texts
from tests.dialogs.test_uopp_record_setup import (
    ANSWERED_AT,
    asked,
    inputs_of,
    meetings_of,
    plan_row,
    uopp_actions,
)
from tests.harness import RunningBot, bot_settings, start_bot
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from workflow.calendar import FixedClock
from workflow.grades import Grade
from workflow.states import AuditState


@pytest.fixture
async def bot(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn
) -> AsyncIterator[RunningBot]:
    """The bot on the test database, on a fixed clock."""
    settings = bot_settings(db, identity)
    server, running = await start_bot(settings, connector, identity, FixedClock(ANSWERED_AT))
    yield running
    await running.http.close()
    await server.close()


async def click(bot: RunningBot, person: Staff, card: dict, verb: str, **typed: Any) -> dict:
    """Press `verb` on `card` with the card's inputs (as shown, or as typed)."""
    data = {**execute_data(card, verb), **inputs_of(card), **typed}
    return checked(await press(bot, person, verb, **data))


async def test_the_chair_records_an_inadequate_uopp_over_http(db: Database, bot: RunningBot):
    booked = await asked(db, grade=Grade.INADEQUATE)
    cast, chair = booked.cast, booked.chair
    async with db.sessions() as session:
        [question] = [
            m for m in await repo.list_messages(session, recipient_id=chair.id)
            if m.kind == "uopp_record"
        ]  # fmt: skip
    card = checked(question.payload["card"])

    refused = await click(bot, cast.practitioner, card, "uopp.held")
    assert "This isn't yours to do" in texts(refused)

    plan = await click(bot, chair, card, "uopp.held", held_on="2026-12-01")
    assert "The improvement plan agreed" in texts(plan)
    action = "Safety plan reviewed weekly"
    wrong = await click(bot, chair, plan, "uopp.plan_done",
                        **plan_row(0, action, cast.outsider, "2026-12-01"))  # fmt: skip
    assert "Choose who will do it, from the people at the meeting." in texts(wrong)
    grade = await click(bot, chair, wrong, "uopp.plan_done",
                        **plan_row(0, action, cast.team_manager, "2026-12-18"))  # fmt: skip
    check = await click(bot, chair, grade, "uopp.grade_done", grade="requires_improvement",
                        reason="Visits are weekly and the child is seen alone")  # fmt: skip
    assert "Raised from Inadequate to Requires Improvement to be Good" in texts(check)
    recorded = await click(bot, chair, check, "uopp.confirm")
    again = await click(bot, chair, check, "uopp.confirm")

    assert f"The UoPP meeting for case {cast.case_ref} took place" in texts(recorded)
    assert again == recorded
    audit = await load_audit(db, booked.audit_id)
    assert (audit.state, audit.final_grade) == (
        AuditState.UOPP_HELD, Grade.REQUIRES_IMPROVEMENT,
    )  # fmt: skip
    [action] = await uopp_actions(db, booked.audit_id)
    assert (action.owner_id, action.due_on, action.source) == (
        cast.team_manager.id, date(2026, 12, 18), RecommendationSource.UOPP,
    )  # fmt: skip
    first, second = await meetings_of(db, booked.audit_id)
    assert (first.state, first.held_on) == (MeetingState.HELD, date(2026, 12, 1))
    assert (second.kind, second.state, second.chair_id) == (
        MeetingKind.SECOND_UOPP, MeetingState.PROPOSED, cast.coordinator.id,
    )  # fmt: skip
    records = await count_rows(
        db, OutboxMessage, OutboxMessage.idempotency_key.like("uopp:record:%")
    )
    assert records == 5  # TM, practitioner, coordinator, Head of Service, Audit Team
