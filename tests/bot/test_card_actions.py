"""Card buttons (Action.Execute) over real HTTP: KLOE approval and auditor exemptions.

Each test drives the bot as Teams does: an `adaptiveCard/action` invoke posted
to /api/messages, answered in the HTTP response with the card to show.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from dialogs.cycles import CycleRequest, open_cycle
from dialogs.kloes import propose_cycle
from storage import repositories as repo
from storage.demo import load_demo
from storage.enums import CycleState, ExemptionState
from storage.models import AuditEvent, KloeApproval, OutboxMessage, Staff
from tests.bot.test_messages import texts_in
from tests.conftest import Database
from tests.harness import RunningBot, teams_activity
from workflow.calendar import SystemClock
from workflow.rules import ProgrammeRules
from workflow.states import AuditState

KLOES = ("Is the child's lived experience visible?", "Does oversight prevent drift?")


async def press(bot: RunningBot, person: Staff, verb: str, **data) -> dict:
    """Press a card button as `person`; return the card Teams would show in its place."""
    activity = teams_activity(
        bot.connector,
        aad_object_id=person.aad_object_id,
        name=person.display_name,
        type="invoke",
        name_="adaptiveCard/action",
        value={
            "action": {"type": "Action.Execute", "verb": verb, "data": data},
            "trigger": "manual",
        },
    )
    activity["name"] = activity.pop("name_")
    response = await bot.post(activity)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["statusCode"] == 200
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    return body["value"]


async def person(db: Database, upn: str) -> Staff:
    async with db.sessions() as session:
        staff = await repo.get_staff_by_upn(session, upn)
    assert staff is not None
    return staff


HOS = "helen.whitfield@demo-council.gov.uk"
COORDINATOR = "tom.fletcher@demo-council.gov.uk"
DIRECTOR = "margaret.okafor@demo-council.gov.uk"
AUDIT_TEAM = "alex.wilber@demo-council.gov.uk"
PRACTITIONER = "isaiah.langer@demo-council.gov.uk"


async def proposed_cycle(db: Database) -> int:
    async with db.sessions.begin() as session:
        await load_demo(session)
        proposer = await repo.get_staff_by_upn(session, AUDIT_TEAM)
        proposed = await propose_cycle(
            session,
            CycleRequest(service_code="CSC", month=date(2026, 12, 1), seed=3, total=6, kloes=KLOES),
            actor=proposer,
            now=SystemClock().now(),
            rules=ProgrammeRules(),
        )
    return proposed.cycle_id


async def count(db: Database, model, *where) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def test_proposing_sends_each_approver_a_card(db: Database):
    cycle_id = await proposed_cycle(db)

    async with db.sessions() as session:
        messages = await repo.list_messages(session)
        recipients = {m.recipient_id for m in messages if m.kind == "kloe_approval"}
        cycle = await repo.get_cycle(session, cycle_id)
    approvers = {(await person(db, upn)).id for upn in (HOS, COORDINATOR, DIRECTOR)}
    assert recipients == approvers
    assert cycle.state is CycleState.PROPOSED
    assert await repo_audit_count(db, cycle_id) == 0  # nothing picked before approval


async def repo_audit_count(db: Database, cycle_id: int) -> int:
    async with db.sessions() as session:
        return len(await repo.list_audits_in_cycle(session, cycle_id))


async def test_cycle_opens_only_when_all_three_have_approved(db: Database, teams_bot: RunningBot):
    cycle_id = await proposed_cycle(db)

    card = await press(
        teams_bot,
        await person(db, HOS),
        "kloe.decide",
        cycle_id=cycle_id,
        role="head_of_service",
        decision="approved",
    )
    assert "Waiting for the others" in texts_in(card)
    assert "actions" not in card
    await press(
        teams_bot,
        await person(db, COORDINATOR),
        "kloe.decide",
        cycle_id=cycle_id,
        role="coordinator",
        decision="approved",
    )
    assert await repo_audit_count(db, cycle_id) == 0

    card = await press(
        teams_bot,
        await person(db, DIRECTOR),
        "kloe.decide",
        cycle_id=cycle_id,
        role="divisional_director",
        decision="approved",
    )

    assert "the cycle is open" in texts_in(card)
    assert await repo_audit_count(db, cycle_id) == 6
    allocation_notices = await count(db, OutboxMessage, OutboxMessage.kind == "allocation")
    assert allocation_notices == 6 * 4
    audit_team_told = await count(
        db, OutboxMessage, OutboxMessage.idempotency_key.like("cycle:opened:%")
    )
    assert audit_team_told >= 1


async def test_someone_else_pressing_approve_is_refused_and_nothing_changes(
    db: Database, teams_bot: RunningBot
):
    cycle_id = await proposed_cycle(db)
    events_before = await count(db, AuditEvent)

    card = await press(
        teams_bot,
        await person(db, PRACTITIONER),
        "kloe.decide",
        cycle_id=cycle_id,
        role="head_of_service",
        decision="approved",
    )

    assert "This isn't yours to do" in texts_in(card)
    assert "Head of Service for Children's Social Care" in texts_in(card)
    assert await count(db, KloeApproval) == 0
    assert await count(db, AuditEvent) == events_before


async def test_pressing_approve_twice_records_one_decision(db: Database, teams_bot: RunningBot):
    cycle_id = await proposed_cycle(db)
    hos = await person(db, HOS)

    first = await press(
        teams_bot,
        hos,
        "kloe.decide",
        cycle_id=cycle_id,
        role="head_of_service",
        decision="approved",
    )
    events = await count(db, AuditEvent)
    second = await press(
        teams_bot,
        hos,
        "kloe.decide",
        cycle_id=cycle_id,
        role="head_of_service",
        decision="approved",
    )

    assert second == first
    assert await count(db, KloeApproval) == 1
    assert await count(db, AuditEvent) == events


async def test_sending_back_needs_a_comment_and_tells_the_audit_team(
    db: Database, teams_bot: RunningBot
):
    cycle_id = await proposed_cycle(db)
    director = await person(db, DIRECTOR)

    refused = await press(
        teams_bot,
        director,
        "kloe.decide",
        cycle_id=cycle_id,
        role="divisional_director",
        decision="sent_back",
        comment="  ",
    )
    assert "Say what should change" in texts_in(refused)
    assert await count(db, KloeApproval) == 0

    card = await press(
        teams_bot,
        director,
        "kloe.decide",
        cycle_id=cycle_id,
        role="divisional_director",
        decision="sent_back",
        comment="Add a KLOE on neglect",
    )
    assert "sent back" in texts_in(card)
    async with db.sessions() as session:
        cycle = await repo.get_cycle(session, cycle_id)
        told = [
            m
            for m in await repo.list_messages(session)
            if m.idempotency_key.startswith(f"cycle:sent_back:{cycle_id}")
        ]
    assert cycle.state is CycleState.SENT_BACK
    assert told and "Add a KLOE on neglect" in told[0].payload["text"]

    stale = await press(
        teams_bot,
        await person(db, HOS),
        "kloe.decide",
        cycle_id=cycle_id,
        role="head_of_service",
        decision="approved",
    )
    assert "sent back to the Audit Team" in texts_in(stale)
    assert await count(db, KloeApproval) == 1


async def open_demo_cycle(db: Database):
    async with db.sessions.begin() as session:
        await load_demo(session)
        opened = await open_cycle(
            session,
            CycleRequest(service_code="CSC", month=date(2026, 12, 1), seed=3, total=4, kloes=KLOES),
            rules=ProgrammeRules(),
            now=SystemClock().now(),
        )
        audits = await repo.list_audits_in_cycle(session, opened.cycle_id)
    return audits[0]


async def test_exemption_from_request_to_reallocation(db: Database, teams_bot: RunningBot):
    audit = await open_demo_cycle(db)
    async with db.sessions() as session:
        auditor = await repo.get_staff(session, audit.auditor_id)
    hos = await person(db, HOS)

    card = await press(
        teams_bot,
        auditor,
        "exemption.request",
        audit_id=audit.id,
        reason="I supervised this practitioner last year",
    )
    assert "Waiting for the Head of Service" in texts_in(card)
    async with db.sessions() as session:
        request = await repo.open_exemption_request(session, audit.id)
        to_hos = [
            m
            for m in await repo.list_messages(session, recipient_id=hos.id)
            if m.kind == "exemption"
        ]
    assert request is not None and len(to_hos) == 1

    refused = await press(
        teams_bot, auditor, "exemption.decide", request_id=request.id, decision="approved"
    )
    assert "Head of Service for Children's Social Care" in texts_in(refused)

    decided = await press(
        teams_bot, hos, "exemption.decide", request_id=request.id, decision="approved"
    )
    assert "Approved by Helen Whitfield" in texts_in(decided)
    again = await press(
        teams_bot, hos, "exemption.decide", request_id=request.id, decision="declined"
    )
    assert again == decided

    audit_team = await person(db, AUDIT_TEAM)
    done = await press(teams_bot, audit_team, "audit.reallocate", audit_id=audit.id)
    assert "Reallocated to" in texts_in(done)
    async with db.sessions() as session:
        old = await repo.get_audit(session, audit.id)
        new = await repo.successor_of(session, audit.id)
        request = await repo.latest_exemption_request(session, audit.id)
    assert old.state is AuditState.REALLOCATED
    assert new.auditor_id != auditor.id and new.state is AuditState.ALLOCATED
    assert request.state is ExemptionState.APPROVED

    twice = await press(teams_bot, audit_team, "audit.reallocate", audit_id=audit.id)
    assert "Already reallocated to" in texts_in(twice)
    async with db.sessions() as session:
        assert len(await repo.list_audits_in_cycle(session, audit.cycle_id)) == 5

    stale = await press(teams_bot, auditor, "exemption.request", audit_id=audit.id, reason="again")
    assert "can no longer be exempted" in texts_in(stale)


async def test_an_exemption_request_without_a_reason_changes_nothing(
    db: Database, teams_bot: RunningBot
):
    audit = await open_demo_cycle(db)
    async with db.sessions() as session:
        auditor = await repo.get_staff(session, audit.auditor_id)

    card = await press(teams_bot, auditor, "exemption.request", audit_id=audit.id, reason="")

    assert "Give a reason" in texts_in(card)
    async with db.sessions() as session:
        assert await repo.latest_exemption_request(session, audit.id) is None


async def test_a_button_from_an_unknown_person_or_an_unknown_verb_is_refused(
    db: Database, teams_bot: RunningBot
):
    audit = await open_demo_cycle(db)
    stranger = Staff(aad_object_id="0f0f0f0f-0000-4000-8000-000000000000", display_name="Stranger")

    card = await press(teams_bot, stranger, "exemption.request", audit_id=audit.id, reason="x")
    assert "not in auditbot's staff list" in texts_in(card)

    async with db.sessions() as session:
        auditor = await repo.get_staff(session, audit.auditor_id)
    card = await press(teams_bot, auditor, "no.such.verb", audit_id=audit.id)
    assert "out of date" in texts_in(card)


async def test_kloe_cards_show_only_criteria_on_declared_attributes(
    db: Database, teams_bot: RunningBot
):
    """A thematic plan stored before attributes had to be declared (a criterion such as
    young_person=<a name>) is never shown to the three approvers, and cannot open."""
    cycle_id = await proposed_cycle(db)
    async with db.sessions.begin() as session:
        cycle = await repo.get_cycle(session, cycle_id)
        criteria = {"plan": "CP", "young_person": "Jane Smith"}
        cycle.selection_plan = {**cycle.selection_plan, "total": 3, "criteria": criteria}

    shown = []
    for upn, role in ((HOS, "head_of_service"), (COORDINATOR, "coordinator")):
        card = await press(
            teams_bot, await person(db, upn), "kloe.decide",
            cycle_id=cycle_id, role=role, decision="approved",
        )  # fmt: skip
        shown.append(texts_in(card))
    card = await press(
        teams_bot, await person(db, DIRECTOR), "kloe.decide",
        cycle_id=cycle_id, role="divisional_director", decision="approved",
    )  # fmt: skip
    shown.append(texts_in(card))

    for text in shown:
        assert "plan = CP" in text
        assert "1 criterion on an attribute not declared (not shown)" in text
        assert "Jane" not in text and "young_person" not in text
    async with db.sessions() as session:
        cycle = await repo.get_cycle(session, cycle_id)
        told = [m for m in await repo.list_messages(session) if m.kind == "audit_team"]
    assert cycle.state is CycleState.KLOE_APPROVED
    assert await repo_audit_count(db, cycle_id) == 0
    [reason] = {m.payload["text"] for m in told if "could not be allocated" in m.payload["text"]}
    assert "young_person is not a declared case attribute" in reason and "Jane" not in reason
