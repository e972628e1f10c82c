"""Chat commands through `Conversations.on_message`: help lists what you may use."""

from __future__ import annotations

import uuid
from datetime import datetime

from dialogs.commands import COMMANDS, CommandContext, normalise, run_command
from dialogs.conversation import Actor, Conversations
from storage.models import Staff
from tests.bot.test_messages import texts_in
from tests.conftest import Database
from tests.factories import create_service, create_staff, create_team
from workflow.calendar import FixedClock
from workflow.roles import Role

TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
EVERYONE = ["help", "my audits", "my actions", "status"]


async def say(db: Database, who: Staff | str | None, text: str) -> dict:
    """What the bot answers `who` (a person, or an Azure AD id unknown to the staff list)."""
    if isinstance(who, Staff):
        actor = Actor(who.aad_object_id, TENANT_ID, who.display_name)
    else:
        actor = Actor(who or str(uuid.uuid4()), TENANT_ID, "Someone")
    reply = await Conversations(db.sessions).on_message(actor, text)
    assert reply.card is not None
    return reply.card


async def ask_as(db: Database, who: Staff, text: str, now: datetime) -> dict:
    """The same, with the clock stood at `now`."""
    async with db.sessions() as session:
        context = CommandContext(
            session=session, actor_name=who.display_name, staff=who, clock=FixedClock(now)
        )
        return await run_command(context, text)


def listed_commands(card: dict) -> list[str]:
    [facts] = [item for item in card["body"] if item["type"] == "FactSet"]
    return [fact["title"] for fact in facts["facts"]]


async def test_every_command_is_declared_with_what_it_means():
    names = [c.name for c in COMMANDS]

    assert {"help", "my audits", "my actions", "status", "cycle status"} <= set(names)
    assert all(c.meaning.endswith(".") for c in COMMANDS)


async def test_help_lists_only_what_a_practitioner_may_use(db: Database):
    async with db.sessions.begin() as session:
        team = await create_team(session)
        practitioner = await create_staff(session, roles=[(Role.PRACTITIONER, team)])

    listed = listed_commands(await say(db, practitioner, "help"))

    assert set(EVERYONE) <= set(listed)
    assert "cycle status" not in listed


async def test_help_lists_cycle_status_for_the_audit_team_and_the_audit_manager(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        audit_team = await create_staff(session, roles=[(Role.AUDIT_TEAM, service)])
        audit_manager = await create_staff(session, roles=[(Role.AUDIT_MANAGER, service)])

    for person in (audit_team, audit_manager):
        assert {*EVERYONE, "cycle status"} <= set(listed_commands(await say(db, person, "Help")))


async def test_someone_not_in_the_staff_list_gets_the_commands_anyone_may_use(db: Database):
    listed = listed_commands(await say(db, None, "help"))

    assert set(EVERYONE) <= set(listed)
    assert "cycle status" not in listed


async def test_a_command_someone_may_not_use_says_who_can_and_shows_their_help(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        head = await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, service)])

    card = await say(db, head, "CYCLE STATUS")
    text = texts_in(card)

    assert "Only the Audit Team or the Audit Manager can use **cycle status**" in text
    assert set(EVERYONE) <= set(listed_commands(card))
    assert "cycle status" not in listed_commands(card)


async def test_an_unknown_command_gets_the_help_card_without_echoing_what_was_typed(
    db: Database,
):
    card = await say(db, None, "my audits of Jane Doe's family")
    assert "Jane" not in texts_in(card)  # the command ran; nothing typed after it is echoed

    card = await say(db, None, "please show Jane Doe")
    text = texts_in(card)
    assert "didn't recognise" in text
    assert "Jane" not in text


async def test_commands_ignore_case_mentions_spacing_and_end_punctuation():
    assert normalise("  <at>auditbot</at>  My   AUDITS!  ") == "my audits"


async def test_a_deactivated_person_is_treated_as_not_in_the_staff_list(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        leaver = await create_staff(session, roles=[(Role.AUDIT_TEAM, service)], active=False)

    assert "ask your Audit Team to add you" in texts_in(await say(db, leaver, "my audits"))
    assert "cycle status" not in listed_commands(await say(db, leaver, "help"))
