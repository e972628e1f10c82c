"""Every turn keeps the person's chat, but a chat saved moments ago is not written again
(it was a second write transaction on every card press); installing always writes."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from storage.models import ConversationRef
from storage.repositories.conversations import forget_conversation_ref
from tests.conftest import Database
from tests.harness import TENANT_ID, RunningBot, teams_activity


async def saved_chat(db: Database, aad_id: str) -> ConversationRef | None:
    async with db.sessions() as session:
        return await session.scalar(
            select(ConversationRef).where(ConversationRef.aad_object_id == aad_id)
        )


async def say(bot: RunningBot, aad_id: str, **fields) -> None:
    activity = teams_activity(bot.connector, aad_object_id=aad_id, text="help", **fields)
    response = await bot.post(activity)
    assert response.status in (200, 201), await response.text()


async def test_talking_again_in_a_saved_chat_does_not_write_it_again(
    db: Database, teams_bot: RunningBot
):
    aad_id = str(uuid.uuid4())
    await say(teams_bot, aad_id)
    first = await saved_chat(db, aad_id)
    assert first is not None

    await say(teams_bot, aad_id)
    await say(teams_bot, aad_id)

    again = await saved_chat(db, aad_id)
    assert again is not None
    assert again.updated_at == first.updated_at


async def test_a_new_chat_for_the_same_person_is_saved_at_once(db: Database, teams_bot: RunningBot):
    aad_id = str(uuid.uuid4())
    await say(teams_bot, aad_id)

    moved = {"id": f"a:moved-{aad_id}", "conversationType": "personal", "tenantId": TENANT_ID}
    await say(teams_bot, aad_id, conversation=moved)

    saved = await saved_chat(db, aad_id)
    assert saved is not None
    assert saved.conversation_id == f"a:moved-{aad_id}"


async def test_installing_again_saves_a_chat_the_outbox_forgot_moments_ago(
    db: Database, teams_bot: RunningBot
):
    aad_id = str(uuid.uuid4())
    await say(teams_bot, aad_id)
    async with db.sessions.begin() as session:
        assert await forget_conversation_ref(session, aad_id, TENANT_ID, f"a:personal-{aad_id}")
    assert await saved_chat(db, aad_id) is None

    install = teams_activity(
        teams_bot.connector, aad_object_id=aad_id, type="installationUpdate", action="add"
    )
    response = await teams_bot.post(install)
    assert response.status in (200, 201), await response.text()

    saved = await saved_chat(db, aad_id)
    assert saved is not None
    assert saved.conversation_id == f"a:personal-{aad_id}"
