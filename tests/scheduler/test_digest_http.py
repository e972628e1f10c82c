"""The digest's buttons over real HTTP, pressed as Teams presses them (adaptiveCard/action)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from cards.digest import OPEN_DECISION
from scheduler.digest import send_weekly_digests
from storage.enums import ExemptionState
from storage.models import ExemptionRequest, OutboxMessage
from tests.bot.test_card_actions import press
from tests.conftest import Database
from tests.harness import RunningBot
from tests.render.checks import card_problems, execute_verbs, nodes
from tests.scheduler.dataset import NOW, Dataset, build_dataset
from workflow.calendar import FixedClock
from workflow.rules import ProgrammeRules


@pytest.fixture
async def world(db: Database) -> Dataset:
    async with db.sessions.begin() as session:
        return await build_dataset(session)


@pytest.fixture
async def bot(teams_bot: RunningBot) -> RunningBot:
    return teams_bot


def open_buttons(card: dict) -> list[dict]:
    return [
        node["data"]
        for _, node in nodes(card)
        if node.get("type") == "Action.Execute" and node.get("verb") == OPEN_DECISION
    ]


async def test_the_head_of_service_decides_an_exemption_from_the_digest(
    db: Database, world: Dataset, bot: RunningBot
):
    await send_weekly_digests(db.sessions, FixedClock(NOW), ProgrammeRules())
    head = world.services["EH"].head
    async with db.sessions() as session:
        digest = await session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.kind == "digest", OutboxMessage.recipient_id == head.id
            )
        )
    assert digest is not None
    [first, *_] = [b for b in open_buttons(digest.payload["card"]) if b["item"] == "exemption"]

    opened = await press(bot, head, OPEN_DECISION, **first)
    assert "exemption.decide" in execute_verbs(opened)
    assert card_problems(opened) == []

    approved = await press(
        bot, head, "exemption.decide", request_id=first["item_id"], decision="approved"
    )
    assert "Approved by" in json.dumps(approved)
    async with db.sessions() as session:
        request = await session.get(ExemptionRequest, first["item_id"])
    assert request is not None and request.state is ExemptionState.APPROVED

    again = await press(bot, head, OPEN_DECISION, **first)
    assert "exemption.decide" not in execute_verbs(again)
    assert "Approved by" in json.dumps(again)


async def test_another_services_head_cannot_open_it(db: Database, world: Dataset, bot: RunningBot):
    await send_weekly_digests(db.sessions, FixedClock(NOW), ProgrammeRules())
    async with db.sessions() as session:
        digest = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.recipient_id == world.services["EH"].head.id)
        )
    assert digest is not None
    button = open_buttons(digest.payload["card"])[0]

    answer = await press(bot, world.services["CSC"].head, OPEN_DECISION, **button)

    assert "isn't yours" in json.dumps(answer)
    assert execute_verbs(answer) == set()
