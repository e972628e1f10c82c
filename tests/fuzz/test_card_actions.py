"""Hostile presses of every card button: none is accepted, none escapes as an error.

Each example presses one button of a declared card action (dialogs.actions.ACTIONS)
through `Conversations.on_card_action`, as the Teams handler does, against one
SQLite database holding the demo organisation with live cycles, proposals and
exemption requests (tests/fuzz/world.py). The answer must be a card fit to
send, and unless the person pressing is the one the workflow names and the
data is a genuine button's, the database must be exactly as it was.

Runs are reproducible (derandomized, no example database), so CI sees the
same examples every time; AUDITBOT_FUZZ_EXAMPLES sets how many per action.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from dialogs import flows  # noqa: F401 (declares every card action)
from dialogs.actions import ACTIONS
from tests.fuzz.known_bugs import known_bug
from tests.fuzz.strategies import SPECS, Press, generic_presses, presses
from tests.fuzz.world import World, actor_for
from tests.render.checks import card_problems

# AUDITBOT_FUZZ_EXAMPLES=2000 searches harder locally; CI keeps the quick default.
EXAMPLES = int(os.environ.get("AUDITBOT_FUZZ_EXAMPLES", "100"))


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def press_button(world: World, verb: str, press: Press) -> None:
    """Press, then check the answer and what changed; undo a legitimate change."""
    bug = known_bug(world, verb, press)
    try:
        card = world.act(press.actor, verb, press.data)
    except Exception:
        if bug is None:
            raise
        card = None
    changed = world.changed()
    if changed:
        world.restore()
    event("legitimate" if press.legitimate else "hostile")
    event("changed the database" if changed else "changed nothing")
    if bug is not None and (card is None or (changed and not press.legitimate)):
        event(f"known bug: {bug[:40]}")
        return
    assert isinstance(card, dict) and card.get("type") == "AdaptiveCard", card
    assert card_problems(card) == []
    if not press.legitimate:
        assert not changed, f"{verb}: {press!r} changed {', '.join(changed)}"


@pytest.mark.parametrize("verb", sorted(SPECS))
@fuzz(EXAMPLES)
@given(data=st.data())
def test_no_hostile_press_changes_anything(world: World, verb: str, data: st.DataObject):
    press_button(world, verb, data.draw(presses(world, verb), label="press"))


@pytest.mark.parametrize("verb", sorted(set(ACTIONS) - set(SPECS)))
@fuzz(max(EXAMPLES // 3, 10))
@given(data=st.data())
def test_strangers_and_ids_of_nothing_change_nothing(world: World, verb: str, data: st.DataObject):
    """Card actions the fuzz has no spec for yet: strangers, people without a role or
    who have left, and ids that name nothing, from anyone."""
    press_button(world, verb, data.draw(generic_presses(world), label="press"))


@fuzz(EXAMPLES // 2)
@given(
    verb=st.one_of(
        st.text(max_size=40),
        st.sampled_from(sorted(ACTIONS)).map(str.upper),
        st.sampled_from(sorted(ACTIONS)).map(lambda verb: f" {verb}"),
        st.sampled_from(["", ".", "__init__", "exemption", "kloe.decide.", "help"]),
    ).filter(lambda verb: verb not in ACTIONS),
    data=st.data(),
)
def test_a_button_no_action_declares_changes_nothing(world: World, verb: str, data: st.DataObject):
    """Even from the person a genuine button names, with its genuine data."""
    action = data.draw(st.sampled_from(sorted(SPECS)), label="genuine action")
    subject = data.draw(st.sampled_from([s for s in world.subjects[action] if s.legit]))
    person = next(p for p in world.people if p.id in subject.legit)
    card = world.act(actor_for(person), verb, dict(subject.data))
    assert "out of date" in str(card)
    assert not world.changed()


def test_the_world_has_something_live_for_every_specified_action(world: World):
    """Guards the fuzz itself: each spec has subjects, some with someone who may act."""
    for verb in SPECS:
        assert verb in ACTIONS, f"{verb} is fuzzed but no longer declared"
        assert any(subject.legit for subject in world.subjects[verb]), verb
