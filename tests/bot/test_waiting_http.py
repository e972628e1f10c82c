"""Decisions waiting on someone are reachable again from `my audits`, over real HTTP.

Reported from the pilot: once the completeness card was gone (a reload, another
device, a chat scrolled away), `my audits`, `my actions` and `status` showed the
Audit Team nothing to do, and only a member who had never opened the chat could
still act. Now each decision waiting on a person is listed with Open, which
answers with its card as it stands, whose buttons then act as ever.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dialogs.cycles import CycleRequest
from dialogs.kloes import propose_cycle
from storage import repositories as repo
from storage.enums import ExemptionState
from storage.models import Staff
from tests.bot.test_card_actions import AUDIT_TEAM, HOS, open_demo_cycle, person, press
from tests.bot.test_messages import card_of, texts_in
from tests.bot.test_wizard_http import (
    allocated,
    allocation_card,
    answer_every_step,
    audit_now,
    click,
    staff,
)
from tests.conftest import Database
from tests.dialogs.test_wizard_cards import buttons
from tests.harness import RunningBot
from workflow.calendar import SystemClock
from workflow.grades import Grade
from workflow.rules import ProgrammeRules
from workflow.states import AuditState


async def say(bot: RunningBot, who: Staff, text: str) -> dict[str, Any]:
    """Type `text` in the bot's chat as `who`; the card the bot answers with."""
    return card_of(await bot.say(who.aad_object_id, text, who.display_name))


def opens(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The data of each Open button on a `my audits` card."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute" and node.get("verb") == "waiting.open":
                found.append(node["data"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    return found


async def test_the_audit_team_gets_back_to_a_completeness_check_from_my_audits(
    db: Database, teams_bot: RunningBot
):
    audit = await allocated(db, "EH")
    auditor = await staff(db, audit.auditor_id)
    card = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")
    summary, _ = await answer_every_step(teams_bot, auditor, card, Grade.GOOD)
    await click(teams_bot, auditor, summary, "Submit the audit")
    alex = await person(db, AUDIT_TEAM)

    listed = await say(teams_bot, alex, "my audits")

    assert "Audit Team: check the audit is complete" in texts_in(listed)
    [item] = [o for o in opens(listed) if o["item"] == "completeness"]
    check = await press(teams_bot, alex, "waiting.open", **item)
    assert "Check the audit of case" in texts_in(check)
    accept = buttons(check)["Accept: send for moderation"]
    accepted = await press(teams_bot, alex, accept["verb"], **accept["data"])
    assert "The moderator has been asked to moderate." in texts_in(accepted)
    assert (await audit_now(db, audit.id)).check_due_at is None
    after = await say(teams_bot, alex, "my audits")
    assert [o for o in opens(after) if o["item"] == "completeness"] == []

    practitioner = await staff(db, audit.practitioner_id)
    refused = await press(teams_bot, practitioner, "waiting.open", **item)
    assert "Only the people it waits on can do this" in texts_in(refused)


async def test_an_exemption_is_reachable_by_the_head_of_service_then_the_audit_team(
    db: Database, teams_bot: RunningBot
):
    audit = await open_demo_cycle(db)
    auditor = await staff(db, audit.auditor_id)
    await press(teams_bot, auditor, "exemption.request", audit_id=audit.id, reason="Conflict")
    hos, alex = await person(db, HOS), await person(db, AUDIT_TEAM)

    [decide] = [
        o for o in opens(await say(teams_bot, hos, "my audits")) if o["item"] == "exemption"
    ]
    decision = await press(teams_bot, hos, "waiting.open", **decide)
    approve = buttons(decision)["Approve"]
    approved = await press(teams_bot, hos, approve["verb"], **approve["data"])
    assert "Approved by Helen Whitfield" in texts_in(approved)

    listed = await say(teams_bot, alex, "my audits")
    assert "Audit Team: reallocate after an approved exemption" in texts_in(listed)
    [item] = [o for o in opens(listed) if o["item"] == "reallocation"]
    card = await press(teams_bot, alex, "waiting.open", **item)
    now = buttons(card)["Reallocate now"]
    done = await press(teams_bot, alex, now["verb"], **now["data"])
    assert "Reallocated to" in texts_in(done)
    async with db.sessions() as session:
        request = await repo.latest_exemption_request(session, audit.id)
    assert request is not None and request.state is ExemptionState.APPROVED
    assert (await audit_now(db, audit.id)).state is AuditState.REALLOCATED


async def test_kloes_waiting_for_approval_are_reachable_by_each_approver(
    db: Database, teams_bot: RunningBot
):
    await open_demo_cycle(db)  # the demo organisation
    async with db.sessions.begin() as session:
        proposer = await repo.get_staff_by_upn(session, AUDIT_TEAM)
        await propose_cycle(
            session,
            CycleRequest(service_code="CSC", month=date(2027, 2, 1), seed=1, total=2,
                         kloes=("Is the child's voice heard?",)),
            actor=proposer, now=SystemClock().now(), rules=ProgrammeRules(),
        )  # fmt: skip
    hos = await person(db, HOS)

    listed = await say(teams_bot, hos, "my audits")

    assert "Head of Service: approve the KLOEs" in texts_in(listed)
    [item] = [o for o in opens(listed) if o["item"] == "kloe"]
    card = await press(teams_bot, hos, "waiting.open", **item)
    assert "Is the child's voice heard?" in texts_in(card)
    assert "Approve" in " ".join(buttons(card))
