"""`open cycle`: the Audit Team proposes a cycle from the chat, with a form card."""

from __future__ import annotations

from bot.demo import _load_programme
from storage import repositories as repo
from storage.demo import load_demo
from storage.enums import CycleState
from tests.bot.test_card_actions import AUDIT_TEAM, HOS, PRACTITIONER, person, press
from tests.bot.test_messages import card_of, texts_in
from tests.conftest import Database
from tests.harness import RunningBot


async def say(bot: RunningBot, who, text: str) -> dict:
    return card_of(await bot.say(who.aad_object_id, text))


def inputs_of(card: dict) -> dict[str, dict]:
    return {element["id"]: element for element in card["body"] if "id" in element}


async def test_the_audit_team_gets_a_form_for_their_services(db: Database, teams_bot: RunningBot):
    async with db.sessions.begin() as session:
        await load_demo(session)

    form = await say(teams_bot, await person(db, AUDIT_TEAM), "Open cycle")

    fields = inputs_of(form)
    assert {c["value"] for c in fields["service"]["choices"]} == {"CSC", "EH"}
    assert fields["cases"]["label"] and fields["kloes"]["label"] and fields["month"]["label"]
    assert form["actions"][0]["verb"] == "cycle.propose"


async def test_others_are_told_who_can_open_a_cycle(db: Database, teams_bot: RunningBot):
    async with db.sessions.begin() as session:
        await load_demo(session)

    card = await say(teams_bot, await person(db, PRACTITIONER), "open cycle")

    assert (
        "Only the Audit Team, the Audit Manager, the Head of Safeguarding and QA, the Principal "
        "Social Worker, the Lead Auditor or the Senior Management Team can use"
    ) in texts_in(card)


async def test_whoever_the_programme_asks_to_propose_gets_the_form_and_others_are_told(
    db: Database, teams_bot: RunningBot
):
    async with db.sessions.begin() as session:
        await load_demo(session)
    head_of_qa = await person(db, "rukhsana.begum@demo-council.gov.uk")
    refused = await say(teams_bot, head_of_qa, "open cycle")
    assert "Your services' programmes do not ask you to propose cycles" in texts_in(refused)

    async with db.sessions.begin() as session:
        await _load_programme(session, "hillingdon-csc")
    psw = await person(db, "nia.okoye@demo-council.gov.uk")
    form = await say(teams_bot, psw, "open cycle")
    assert {c["value"] for c in inputs_of(form)["service"]["choices"]} == {"CSC"}
    # Hillingdon's themes are set by its SMT and Head of Safeguarding and QA: she may now.
    themed = await say(teams_bot, head_of_qa, "open cycle")
    assert "CSC" in {c["value"] for c in inputs_of(themed)["service"]["choices"]}


async def test_submitting_the_form_proposes_the_cycle(db: Database, teams_bot: RunningBot):
    async with db.sessions.begin() as session:
        await load_demo(session)

    card = await press(
        teams_bot,
        await person(db, AUDIT_TEAM),
        "cycle.propose",
        service="CSC",
        month="2027-01",
        cases="5",
        kloes="Is the child's voice heard?\n\nIs there drift?",
    )

    assert "Sent for approval" in texts_in(card)
    async with db.sessions() as session:
        service = await repo.get_service_by_code(session, "CSC")
        [cycle] = await repo.list_cycles(session, service.id)
        kloes = [k.text for k in await repo.list_kloes(session, cycle.id)]
        approvals = [m for m in await repo.list_messages(session) if m.kind == "kloe_approval"]
    assert cycle.state is CycleState.PROPOSED
    assert cycle.selection_plan["total"] == 5
    assert kloes == ["Is the child's voice heard?", "Is there drift?"]
    assert len(approvals) == 3


async def test_a_form_without_kloes_comes_back_with_what_was_typed(
    db: Database, teams_bot: RunningBot
):
    async with db.sessions.begin() as session:
        await load_demo(session)

    card = await press(
        teams_bot,
        await person(db, AUDIT_TEAM),
        "cycle.propose",
        service="CSC",
        month="2027-01",
        cases="7",
        kloes="   ",
    )

    assert "Add at least one key line of enquiry" in texts_in(card)
    assert inputs_of(card)["cases"]["value"] == 7
    async with db.sessions() as session:
        service = await repo.get_service_by_code(session, "CSC")
        assert await repo.list_cycles(session, service.id) == []


async def test_only_the_audit_team_may_submit_the_form(db: Database, teams_bot: RunningBot):
    async with db.sessions.begin() as session:
        await load_demo(session)

    card = await press(
        teams_bot,
        await person(db, HOS),
        "cycle.propose",
        service="CSC",
        month="2027-01",
        cases="5",
        kloes="Voice?",
    )

    assert "Only the Audit Team for Children's Social Care" in texts_in(card)
