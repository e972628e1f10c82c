"""The bugs the fuzz found, one test each, kept as regression tests now they are fixed.

A new bug the fuzz finds goes here first as xfail(strict=True), with its entry in
known_bugs.py (or the filter in test_invoke_http.py), until it is fixed.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Database
from tests.fuzz.world import World, actor_for
from tests.harness import RunningBot, teams_activity

AUDIT_TEAM_AAD = "710a5d02-4435-5ac8-af63-1c74d553e317"  # Alex Wilber, demo Audit Team
GENUINE_PROPOSAL = {"service": "CSC", "month": "2027-02", "cases": "3", "kloes": "Is it safe?"}


def proposer(world: World) -> Any:
    return actor_for(next(p for p in world.people if p.name == "Alex Wilber"))


def press(world: World, actor: Any, verb: str, data: dict[str, Any]) -> tuple[Any, list[str]]:
    try:
        card: Any = world.act(actor, verb, data)
    except Exception as error:  # noqa: BLE001 (the bug is that it escapes)
        card = error
    changed = world.changed()
    if changed:
        world.restore()
    return card, changed


def test_an_auditor_who_has_left_cannot_ask_to_be_exempt(world: World):
    leaver = next(p for p in world.outsiders if not p.active and p.name != "Fay Former")
    audit = next(s for s in world.subjects["exemption.request"] if not s.legit)
    card, changed = press(
        world, actor_for(leaver), "exemption.request", {**audit.data, "reason": "I'm leaving."}
    )
    assert changed == []


def test_an_audit_team_member_who_has_left_cannot_propose_a_cycle(world: World):
    former = next(p for p in world.outsiders if p.name == "Fay Former")
    card, changed = press(world, actor_for(former), "cycle.propose", GENUINE_PROPOSAL)
    assert changed == []


@pytest.mark.parametrize("month", ["1999-01", "0001-01", "9999-12", "2026-11"])
def test_a_cycle_is_proposed_only_for_a_month_the_form_offers(world: World, month: str):
    card, changed = press(
        world, proposer(world), "cycle.propose", {**GENUINE_PROPOSAL, "month": month}
    )
    assert changed == []
    assert "Propose an audit cycle" in str(card)


@pytest.mark.parametrize("cases", ["inf", "1e400", "-inf"])
def test_an_infinite_number_of_cases_brings_the_form_back(world: World, cases: str):
    card, changed = press(
        world, proposer(world), "cycle.propose", {**GENUINE_PROPOSAL, "cases": cases}
    )
    assert isinstance(card, dict), repr(card)
    assert "from 1 to 500" in str(card)


async def post_invoke(bot: RunningBot, value: Any) -> int:
    activity = teams_activity(bot.connector, aad_object_id=AUDIT_TEAM_AAD, type="invoke")
    activity["name"] = "adaptiveCard/action"
    activity["value"] = value
    return (await bot.post(activity)).status


@pytest.mark.parametrize("action", ["Action.Execute", [1, 2], True, 5])
async def test_an_action_that_is_not_an_object_is_a_bad_request(
    teams_bot: RunningBot, demo_data_loaded: None, action: Any
):
    assert await post_invoke(teams_bot, {"action": action}) == 400


@pytest.mark.parametrize("verb", [["kloe.decide"], {"verb": "kloe.decide"}])
async def test_a_verb_that_is_not_text_is_refused(
    teams_bot: RunningBot, demo_data_loaded: None, verb: Any
):
    value = {"action": {"type": "Action.Execute", "verb": verb, "data": {}}}
    assert await post_invoke(teams_bot, value) < 500


async def test_text_with_a_nul_character_is_refused_not_a_server_error(
    db: Database, teams_bot: RunningBot, demo_data_loaded: None
):
    """PostgreSQL cannot store U+0000 in text (asyncpg: CharacterNotInRepertoireError)."""
    data = {**GENUINE_PROPOSAL, "kloes": "Is it\x00 safe?"}
    value = {"action": {"type": "Action.Execute", "verb": "cycle.propose", "data": data}}
    assert await post_invoke(teams_bot, value) == 200


@pytest.mark.parametrize(
    "body",
    [b"{{{{", b"[1, 2]", b'"invoke"', b'{"type": "invoke", "from": "someone"}',
     b'{"type": "invoke", "conversation": "c"}'],
)  # fmt: skip
async def test_a_body_that_is_not_an_activity_is_a_bad_request(teams_bot: RunningBot, body: bytes):
    headers = {
        "Content-Type": "application/json",
        **teams_bot.auth_headers(teams_bot.connector.url),
    }
    response = await teams_bot.http.post(
        f"{teams_bot.url}/api/messages", data=body, headers=headers
    )
    assert response.status == 400
