"""Hostile `adaptiveCard/action` invokes over real HTTP: never a server error.

Teams (or anyone holding a token) can post an invoke whose value is missing,
not an object, names another action type, carries data that is not an object,
or is huge. The bot must answer each with the card to show (200) or a Bot
Framework error (4xx), never a 5xx, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogs import flows  # noqa: F401 (declares every card action)
from dialogs.actions import ACTIONS
from tests.conftest import Database
from tests.fuzz.strategies import JSON, NOT_TEXT
from tests.harness import RunningBot, teams_activity

AUDIT_TEAM_AAD = "710a5d02-4435-5ac8-af63-1c74d553e317"  # Alex Wilber, demo Audit Team
HUGE = st.sampled_from([10_000, 200_000, 900_000]).map(lambda n: "x" * n)
VERBS = st.one_of(st.sampled_from(sorted(ACTIONS)), st.text(max_size=30), HUGE, NOT_TEXT, st.none())
ACTION_TYPES = st.one_of(
    st.just("Action.Execute"),
    st.sampled_from(["Action.Submit", "Action.OpenUrl", "action.execute", "", "Action.Execute "]),
    NOT_TEXT,
    st.none(),
)
DATA = st.one_of(JSON, st.dictionaries(st.text(max_size=12), JSON, max_size=5))


@st.composite
def actions(draw: st.DrawFn) -> dict[str, Any]:
    action: dict[str, Any] = {}
    for key, values in (("type", ACTION_TYPES), ("verb", VERBS), ("data", DATA)):
        if draw(st.integers(0, 4)):
            action[key] = draw(values)
    if draw(st.booleans()):
        action.update(draw(st.dictionaries(st.text(max_size=8), JSON, max_size=2)))
    return action


def values() -> st.SearchStrategy[Any]:
    """What an invoke's `value` may hold: nothing, junk, or an action of any shape."""
    return st.one_of(
        st.just(None),
        JSON,
        st.fixed_dictionaries({"action": actions() | JSON}, optional={"trigger": JSON}),
        st.fixed_dictionaries({"action": actions(), "trigger": st.just("manual")}).map(
            lambda value: {**value, "extra": "x" * 50_000}
        ),
    )


def invoke(bot: RunningBot, aad_object_id: str, value: Any, *, omit_value: bool) -> dict:
    activity = teams_activity(bot.connector, aad_object_id=aad_object_id, type="invoke")
    activity["name"] = "adaptiveCard/action"
    if omit_value:
        activity.pop("value", None)
    else:
        activity["value"] = value
    return activity


@settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one bot and database for every example
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(
    value=values(),
    omit_value=st.booleans(),
    stranger=st.booleans(),
)
async def test_hostile_invokes_never_get_a_server_error(
    db: Database,
    teams_bot: RunningBot,
    demo_data_loaded: None,
    value: Any,
    omit_value: bool,
    stranger: bool,
):
    aad = "0f0f0f0f-0000-4000-8000-000000000000" if stranger else AUDIT_TEAM_AAD
    response = await teams_bot.post(invoke(teams_bot, aad, value, omit_value=omit_value))

    assert response.status < 500, f"{response.status} for value={value!r:.300}"
    if response.status == 200:
        body = await response.json()
        assert body["type"] in (
            "application/vnd.microsoft.card.adaptive",
            "application/vnd.microsoft.error",
        )


async def test_a_body_over_a_megabyte_is_refused_not_a_server_error(
    teams_bot: RunningBot, demo_data_loaded: None
):
    value = {"action": {"type": "Action.Execute", "verb": "x", "data": {"x": "y" * 1_100_000}}}
    response = await teams_bot.post(invoke(teams_bot, AUDIT_TEAM_AAD, value, omit_value=False))
    assert response.status == 413


async def test_an_action_of_another_type_is_a_bad_request(
    teams_bot: RunningBot, demo_data_loaded: None
):
    value = {"action": {"type": "Action.Submit", "verb": "kloe.decide", "data": {}}}
    response = await teams_bot.post(invoke(teams_bot, AUDIT_TEAM_AAD, value, omit_value=False))
    body = await response.json()
    assert response.status == 400 and body["type"] == "application/vnd.microsoft.error"
