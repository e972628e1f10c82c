"""The Audit Team's completeness check of a submitted audit: accept, return, invalidate."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from storage.models import AuditEvent
from tests.conftest import Database
from tests.dialogs.test_wizard import NOW, TODAY, World, make_world, start, walk_to
from tests.dialogs.test_wizard_cards import buttons, errors_in, inputs_of, step_of, texts
from workflow.grades import Grade
from workflow.states import AuditState


@pytest.fixture
async def world(db: Database) -> World:
    return await make_world(db)


async def submitted(world: World, grade: Grade = Grade.GOOD, **typed: str) -> dict[str, Any]:
    """Submit an audit; `typed` overrides answers on the conversation step. Returns the
    Audit Team's check card."""
    card = await start(world)
    if typed:
        card = await world.click(world.auditor, card, "Save and continue", **typed)
    card = await walk_to(world, card, "_summary", grade)
    await world.click(world.auditor, card, "Submit the audit")
    checks = await world.messages(world.audit_team, "completeness")
    return checks[-1].payload["card"]


def form_button(card: dict[str, Any], title: str) -> dict[str, Any]:
    return buttons(card)[title]


async def use_form(world: World, card: dict[str, Any], title: str, **typed: str):
    button = form_button(card, title)
    return await world.press(world.audit_team, button["verb"], **button["data"], **typed)


async def test_accepting_asks_the_moderator_and_a_second_press_changes_nothing(world):
    check = await submitted(world)

    accepted = await use_form(world, check, "Accept: send for moderation")
    events = await world.count(AuditEvent)
    again = await use_form(world, check, "Accept: send for moderation")

    assert "Accepted by Alex Audit" in texts(accepted)
    assert "completeness.accept" not in str(accepted)
    assert again == accepted
    assert await world.count(AuditEvent) == events
    assert len(await world.messages(world.moderator, "moderation")) == 1
    assert (await world.audit()).state is AuditState.SUBMITTED


async def test_only_the_audit_team_may_decide(world):
    check = await submitted(world)

    refused = await world.press(
        world.auditor,
        "completeness.accept",
        **form_button(check, "Accept: send for moderation")["data"],
    )

    assert "Only the Audit Team for Early Help" in texts(refused)
    assert not await world.messages(world.moderator, "moderation")


async def test_returning_needs_reasons_and_keeps_what_was_typed(world):
    check = await submitted(world)
    due = (TODAY + timedelta(days=3)).isoformat()

    card = await use_form(world, check, "Return to the auditor", reasons="", due=due)

    assert errors_in(card) == ["Error: To return the audit, say what the auditor must put right."]
    assert (await world.audit()).state is AuditState.SUBMITTED
    past = (TODAY - timedelta(days=1)).isoformat()
    card = await use_form(world, check, "Return to the auditor", reasons="Add KLOEs", due=past)
    assert "has passed" in errors_in(card)[0]
    assert inputs_of(form_button_card(card))["reasons"]["value"] == "Add KLOEs"


def form_button_card(card: dict[str, Any]) -> dict[str, Any]:
    [form] = [a["card"] for a in card["actions"] if a.get("title") == "Return to the auditor"]
    return form


async def test_a_returned_audit_reopens_at_the_first_gap_and_resubmits_to_the_audit_team(world):
    check = await submitted(world, held="no", held_on="")
    assert "No audit conversation with the practitioner is recorded." in texts(check)
    due = (TODAY + timedelta(days=5)).isoformat()

    decided = await use_form(
        world, check, "Return to the auditor", reasons="Hold the conversation first", due=due
    )

    assert "Returned to the auditor by Alex Audit" in texts(decided)
    audit = await world.audit()
    assert audit.state is AuditState.RETURNED
    assert audit.due_at is not None and audit.due_at.date() == TODAY + timedelta(days=5)
    [told] = [
        m
        for m in await world.messages(world.auditor, "completeness")
        if "returned" in m.idempotency_key
    ]
    returned = told.payload["card"]
    assert "Hold the conversation first" in texts(returned)
    [copy] = await world.messages(world.head_of_service, "completeness")
    assert (
        "Copy" in copy.payload["summary"] and "Hold the conversation first" in copy.payload["text"]
    )

    card = await world.click(world.auditor, returned, "Continue audit")
    assert step_of(card) == "_conversation"
    assert "Returned by the Audit Team" in texts(card)
    card = await world.click(
        world.auditor,
        card,
        "Save and continue",
        held="yes",
        held_on=(TODAY - timedelta(days=1)).isoformat(),
    )
    card = await walk_to(world, card, "_summary", Grade.GOOD)
    done = await world.click(world.auditor, card, "Resubmit the audit")

    assert "Submitted" in texts(done)
    assert (await world.audit()).state is AuditState.SUBMITTED
    checks = await world.messages(world.audit_team, "completeness")
    assert len(checks) == 2
    assert "resubmitted after 1 return" in texts(checks[-1].payload["card"])
    found = texts(checks[-1].payload["card"])
    assert "No audit conversation" not in found  # fixed; only the practitioner's part is left
    assert "The automatic check found 1 gap" in found
    assert "The practitioner's own section is not written." in found
    stale = await use_form(world, check, "Accept: send for moderation")
    assert "completeness.accept" in str(stale) and "resubmitted after 1 return" in texts(stale)
    assert await world.count(AuditEvent, AuditEvent.action == "resubmit") == 1


async def test_an_audit_without_a_practitioner_conversation_can_be_invalidated(world):
    check = await submitted(world, held="no", held_on="")
    assert "Invalidate" in [a["title"] for a in check["actions"]]

    card = await use_form(world, check, "Invalidate the audit", invalid_reasons="")
    assert errors_in(card) == ["Error: To invalidate the audit, say why."]

    card = await use_form(world, check, "Invalidate the audit", invalid_reasons="No conversation")

    assert "Invalidated by Alex Audit" in texts(card)
    assert (await world.audit()).state is AuditState.INVALIDATED
    for person in (world.auditor, world.practitioner):
        [told] = [m for m in await world.messages(person, "completeness")]
        assert "invalidated" in told.payload["text"]


async def test_an_audit_with_a_practitioner_conversation_cannot_be_invalidated(world):
    check = await submitted(world)
    assert "Invalidate" not in [a["title"] for a in check["actions"]]
    data = form_button(check, "Accept: send for moderation")["data"]

    card = await world.press(
        world.audit_team, "completeness.invalidate", **data, invalid_reasons="Because"
    )

    assert "can't be invalidated here" in texts(card)
    assert (await world.audit()).state is AuditState.SUBMITTED


async def test_the_submission_time_is_the_clock_s(world):
    await submitted(world)
    assert (await world.audit()).submitted_at == NOW
