"""The UoPP options and extension buttons pressed over real HTTP, as Teams sends them: an
`adaptiveCard/action` invoke to /api/messages, answered with the card that replaces it."""

from __future__ import annotations

from storage.enums import MeetingState
from tests.bot.test_card_actions import press
from tests.bot.test_moderation_http import bot, clock  # noqa: F401 (the bot on a fixed clock)
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import execute_data, messages_to, texts, verbs
from tests.dialogs.test_uopp_booking import no_slot, the_meeting, tick, utc


async def test_the_organiser_books_an_option_from_the_card(db: Database, bot):  # noqa: F811
    cast, offer = await no_slot(db)
    pick = {**execute_data(offer.payload["card"], "uopp.pick"), "option": 2}

    refused = await press(bot, cast.team_manager, "uopp.pick", **pick)
    shown = await press(bot, cast.auditor, "uopp.pick", **pick)
    again = await press(bot, cast.auditor, "uopp.pick", **{**pick, "option": 0})

    assert "Only the organiser of this UoPP meeting" in texts(refused)
    assert "Booking Wed 25 Nov 2026, 10:00 to 11:00 (GMT)" in texts(shown)
    assert "uopp.pick" not in verbs(shown)
    assert "Booking Wed 25 Nov 2026, 10:00" in texts(again)
    assert await tick(db) == 1
    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.BOOKED and meeting.starts_at == utc(2026, 11, 25, 10)


async def test_the_audit_team_extends_from_the_card(db: Database, bot):  # noqa: F811
    cast, offer = await no_slot(db)
    ask = execute_data(offer.payload["card"], "uopp.ask_extension")
    asked = await press(bot, cast.auditor, "uopp.ask_extension", **ask, reason="TM on leave")
    assert "waiting for them" in texts(asked)
    [extension] = await messages_to(db, cast.audit_team, "uopp_booking")
    grant = execute_data(extension.payload["card"], "uopp.extend")

    granted = await press(bot, cast.audit_team, "uopp.extend", **grant, extend_to="2026-12-03")

    assert "Extended to Thu 3 Dec 2026" in texts(granted)
    assert "uopp.extend" not in verbs(granted)
    meeting = await the_meeting(db, cast.audit_id)
    assert meeting.state is MeetingState.PROPOSED
    assert meeting.extended_to == utc(2026, 12, 3, 17)
