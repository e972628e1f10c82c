"""Teams activities posted over HTTP reach the bot, and its replies reach the connector."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import func, select

from storage.models import ConversationRef
from tests.conftest import Database
from tests.factories import create_service, create_staff, create_team
from tests.harness import APP_ID, RunningBot, teams_activity
from tests.standins.identity import IdentityStandIn
from workflow.roles import Role


def card_of(sent) -> dict:
    attachments = sent.activity.get("attachments") or []
    assert attachments, f"expected a card, got {sent.activity}"
    assert attachments[0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachments[0]["content"]


def texts_in(card: dict) -> str:
    found: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("text", "title", "value"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return "\n".join(found)


async def test_help_message_is_answered_with_the_help_card(teams_bot: RunningBot):
    aad_id = str(uuid.uuid4())
    response = await teams_bot.post(
        teams_activity(teams_bot.connector, aad_object_id=aad_id, text="HELP")
    )

    assert response.status in (200, 201)
    [sent] = await teams_bot.connector.wait_for(1)
    assert sent.conversation_id == f"a:personal-{aad_id}"
    card = card_of(sent)
    assert card["version"] == "1.5"
    assert "What I can do" in texts_in(card)
    assert "help" in texts_in(card)


async def test_unknown_command_gets_the_help_card_not_an_error(teams_bot: RunningBot):
    activity = teams_activity(
        teams_bot.connector, aad_object_id=str(uuid.uuid4()), text="what's for lunch"
    )
    await teams_bot.post(activity)

    [sent] = await teams_bot.connector.wait_for(1)
    text = texts_in(card_of(sent))
    assert "didn't recognise" in text
    assert "lunch" not in text  # what people type is never echoed back


async def test_install_greets_the_user_with_the_roles_they_hold(
    db: Database, teams_bot: RunningBot
):
    async with db.sessions.begin() as session:
        service = await create_service(session, name="Children's Social Care", code="CSC")
        team = await create_team(session, service=service, name="Child Protection")
        person = await create_staff(
            session,
            display_name="Priya Shah",
            roles=[(Role.AUDITOR, service), (Role.TEAM_MANAGER, team)],
        )
    activity = teams_activity(
        teams_bot.connector,
        aad_object_id=person.aad_object_id,
        type="conversationUpdate",
        membersAdded=[{"id": "28:auditbot"}],
    )
    await teams_bot.post(activity)

    [sent] = await teams_bot.connector.wait_for(1)
    text = texts_in(card_of(sent))
    assert "Hello Priya" in text
    assert "Auditor (Children's Social Care)" in text
    assert "Team Manager (Child Protection)" in text


async def test_install_by_someone_not_in_the_staff_list_says_who_can_add_them(
    teams_bot: RunningBot,
):
    activity = teams_activity(
        teams_bot.connector,
        aad_object_id=str(uuid.uuid4()),
        name="Sam Newstarter",
        type="conversationUpdate",
        membersAdded=[{"id": "28:auditbot"}],
    )
    await teams_bot.post(activity)

    [sent] = await teams_bot.connector.wait_for(1)
    text = texts_in(card_of(sent))
    assert "Hello Sam" in text
    assert "ask your Audit Team to add you" in text


async def test_talking_to_the_bot_stores_the_conversation_reference(
    db: Database, teams_bot: RunningBot
):
    aad_id = str(uuid.uuid4())
    await teams_bot.post(teams_activity(teams_bot.connector, aad_object_id=aad_id, text="help"))
    await teams_bot.connector.wait_for(1)

    async with db.sessions() as session:
        saved = await session.scalar(
            select(ConversationRef).where(ConversationRef.aad_object_id == aad_id)
        )
    assert saved is not None
    assert saved.conversation_id == f"a:personal-{aad_id}"
    assert saved.service_url == teams_bot.connector.url


async def test_request_without_a_token_is_refused_and_changes_nothing(
    db: Database, teams_bot: RunningBot
):
    aad_id = str(uuid.uuid4())
    response = await teams_bot.post(
        teams_activity(teams_bot.connector, aad_object_id=aad_id, text="help"), signed=False
    )

    assert response.status == 401
    assert teams_bot.connector.sent == []
    async with db.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(ConversationRef))
    assert count == 0


def install_activity(connector, aad_id: str) -> dict:
    return teams_activity(connector, aad_object_id=aad_id, type="installationUpdate", action="add")


async def test_request_with_a_valid_channel_token_is_accepted(
    db: Database, teams_bot: RunningBot, identity: IdentityStandIn
):
    aad_id = str(uuid.uuid4())
    token = identity.issue_token(audience=APP_ID, service_url=teams_bot.connector.url)
    response = await teams_bot.post(
        install_activity(teams_bot.connector, aad_id),
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status in (200, 201)
    async with db.sessions() as session:
        saved = await session.scalar(
            select(ConversationRef).where(ConversationRef.aad_object_id == aad_id)
        )
    assert saved is not None


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(
            lambda identity, url: IdentityStandIn().issue_token(audience=APP_ID, service_url=url),
            id="signed-by-another-key",
        ),
        pytest.param(
            lambda identity, url: identity.issue_token(audience=str(uuid.uuid4()), service_url=url),
            id="for-another-bot",
        ),
        pytest.param(
            lambda identity, url: identity.issue_token(
                audience=APP_ID, service_url="https://elsewhere.example/"
            ),
            id="other-service-url",
        ),
        pytest.param(
            lambda identity, url: identity.issue_token(
                audience=APP_ID, service_url=url, exp=1_000_000_000
            ),
            id="expired",
        ),
        pytest.param(
            lambda identity, url: identity.issue_token(audience=APP_ID, service_url=url, exp=None),
            id="never-expires",
        ),
        pytest.param(
            lambda identity, url: identity.issue_token(
                audience=APP_ID, service_url=url, exp="tomorrow"
            ),
            id="expiry-not-a-time",
        ),
        pytest.param(
            lambda identity, url: identity.issue_token(
                audience=APP_ID, service_url=url, nbf=int(time.time()) + 3600
            ),
            id="not-valid-yet",
        ),
        pytest.param(lambda identity, url: "not.a.token", id="garbage"),
    ],
)
async def test_request_with_an_invalid_token_is_refused_and_changes_nothing(
    db: Database, teams_bot: RunningBot, identity: IdentityStandIn, forge
):
    token = forge(identity, teams_bot.connector.url)
    response = await teams_bot.post(
        install_activity(teams_bot.connector, str(uuid.uuid4())),
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status == 401
    assert teams_bot.connector.sent == []
    async with db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ConversationRef)) == 0


async def test_healthz_reports_the_database_reachable(teams_bot: RunningBot):
    response = await teams_bot.http.get(f"{teams_bot.url}/healthz")

    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": True}


async def test_messages_must_be_json(teams_bot: RunningBot):
    headers = {"Content-Type": "text/plain", **teams_bot.auth_headers(teams_bot.connector.url)}
    response = await teams_bot.http.post(
        f"{teams_bot.url}/api/messages", data="help", headers=headers
    )

    assert response.status == 415


def card_press(teams_bot: RunningBot, aad_object_id: str, value: dict) -> dict:
    """An adaptiveCard/action invoke from this person, carrying `value`."""
    press = teams_activity(
        teams_bot.connector, aad_object_id=aad_object_id, type="invoke", value=value
    )
    press["name"] = "adaptiveCard/action"  # (teams_activity's own `name` is the sender's)
    return press


async def test_a_card_press_is_answered_with_an_adaptive_card_invoke_response(
    db: Database, teams_bot: RunningBot
):
    """The invoke's answer as Teams reads it: status 200, and the body an Adaptive Card
    invoke response carrying the card (written by TeamsAdapter as plain JSON)."""
    async with db.sessions.begin() as session:
        person = await create_staff(session)
    press = card_press(
        teams_bot,
        person.aad_object_id,
        {"action": {"type": "Action.Execute", "verb": "no.such.verb", "data": {}}},
    )

    response = await teams_bot.post(press)

    assert response.status == 200
    body = await response.json()
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert body["value"]["type"] == "AdaptiveCard"


async def test_a_press_that_is_not_action_execute_is_refused_with_an_error_body(
    db: Database, teams_bot: RunningBot
):
    async with db.sessions.begin() as session:
        person = await create_staff(session)
    press = card_press(
        teams_bot, person.aad_object_id, {"action": {"type": "Action.Submit", "data": {}}}
    )

    response = await teams_bot.post(press)

    assert response.status == 400
    assert await response.json() == {
        "statusCode": 400,
        "type": "application/vnd.microsoft.error",
        "value": {"code": "BadRequest", "message": "Only Action.Execute with a verb is supported."},
    }
