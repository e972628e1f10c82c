"""The audit wizard through the card-action dispatcher: start, steps, validation, resume,
staleness, the practitioner's part and submission.

Each press goes through `Conversations.on_card_action`, the same call the
Teams handler makes, with a fixed clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from dialogs.conversation import Actor, Conversations
from dialogs.practitioner import reflection_from_chat
from storage import repositories as repo
from storage.enums import GradeStage, RecommendationLevel
from storage.models import Audit, AuditEvent, OutboxMessage, Staff
from tests.conftest import Database
from tests.dialogs.test_wizard_cards import (
    buttons,
    errors_in,
    fill_step,
    inputs_of,
    press_data,
    step_of,
    texts,
)
from tests.factories import (
    create_audit,
    create_case,
    create_cycle,
    create_service,
    create_staff,
    create_team,
)
from workflow.calendar import FixedClock
from workflow.grades import Grade
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.states import AuditState

NOW = datetime(2026, 12, 8, 11, 0, tzinfo=UTC)  # a Tuesday
TODAY = date(2026, 12, 8)
KLOES = ("Is the child's voice heard?", "Does oversight prevent drift?")


@dataclass
class World:
    db: Database
    bot: Conversations
    clock: FixedClock
    audit_id: int
    case_ref: str
    auditor: Staff
    practitioner: Staff
    team_manager: Staff
    moderator: Staff
    audit_team: Staff
    head_of_service: Staff
    outsider: Staff

    async def press(self, person: Staff, verb: str, **data: Any) -> dict[str, Any]:
        actor = Actor(person.aad_object_id, "tenant", person.display_name)
        return await self.bot.on_card_action(actor, verb, data)

    async def click(self, person: Staff, card: dict[str, Any], title: str, **typed: str):
        """Press the button called `title` on `card`, with what is typed into its inputs."""
        verb = buttons(card)[title]["verb"]
        return await self.press(person, verb, **press_data(card, title, **typed))

    async def audit(self) -> Audit:
        async with self.db.sessions() as session:
            audit = await repo.get_audit(session, self.audit_id)
        assert audit is not None
        return audit

    async def count(self, model, *where) -> int:
        async with self.db.sessions() as session:
            return await session.scalar(select(func.count()).select_from(model).where(*where))

    async def messages(self, person: Staff, kind: str) -> list[OutboxMessage]:
        async with self.db.sessions() as session:
            found = await repo.list_messages(session, recipient_id=person.id)
        return [message for message in found if message.kind == kind]


async def make_world(db: Database, tool: str = "th_understanding_our_practice") -> World:
    async with db.sessions.begin() as session:
        service = await create_service(session, name="Early Help")
        team = await create_team(session, service=service, name="Early Help North")
        head = await create_staff(
            session, display_name="Helen Head", roles=[(Role.HEAD_OF_SERVICE, service)]
        )
        team_manager = await create_staff(
            session, display_name="Tara Manager", roles=[(Role.TEAM_MANAGER, team)]
        )
        practitioner = await create_staff(
            session,
            display_name="Pat Practitioner",
            roles=[(Role.PRACTITIONER, team)],
            line_manager=team_manager,
        )
        auditor = await create_staff(
            session,
            display_name="Ann Auditor",
            roles=[(Role.AUDITOR, service)],
            auditor_trained=True,
            line_manager=head,
        )
        moderator = await create_staff(
            session, display_name="Mo Moderator", roles=[(Role.MODERATOR, service)]
        )
        audit_team = await create_staff(
            session, display_name="Alex Audit", roles=[(Role.AUDIT_TEAM, service)]
        )
        outsider = await create_staff(session, display_name="Olly Outsider")
        case = await create_case(session, team=team, practitioner=practitioner, case_ref="EH-1")
        cycle = await create_cycle(session, service=service, audit_tool_id=tool, kloes=KLOES)
        audit = await create_audit(
            session,
            cycle=cycle,
            case=case,
            auditor=auditor,
            moderator=moderator,
            team_manager=team_manager,
            due_at=NOW + timedelta(days=14),
            moderation_due_at=NOW + timedelta(days=20),
        )
    clock = FixedClock(NOW)
    bot = Conversations(db.sessions, rules=ProgrammeRules(), clock=clock)
    return World(
        db,
        bot,
        clock,
        audit.id,
        "EH-1",
        auditor,
        practitioner,
        team_manager,
        moderator,
        audit_team,
        head,
        outsider,
    )


@pytest.fixture
async def world(db: Database) -> World:
    return await make_world(db)


async def start(world: World) -> dict[str, Any]:
    audit = await world.audit()
    return await world.press(world.auditor, "audit.start", audit_id=audit.id, version=audit.version)


async def walk_to(world: World, card: dict[str, Any], step: str, grade: Grade) -> dict[str, Any]:
    """Answer each step and continue until the card shows `step`."""
    for _ in range(30):
        if step_of(card) == step:
            return card
        typed = fill_step(card, grade, today=TODAY, outcomes_met=not grade.is_below_good)
        card = await world.click(world.auditor, card, "Save and continue", **typed)
        assert not errors_in(card), errors_in(card)
    raise AssertionError(f"never reached {step}")


async def test_starting_moves_the_audit_on_asks_the_practitioner_and_shows_step_one(world):
    card = await start(world)

    audit = await world.audit()
    assert audit.state is AuditState.IN_PROGRESS
    assert step_of(card) == "_conversation"
    assert "step 1 of 15" in texts(card)
    [request] = await world.messages(world.practitioner, "reflection")
    assert "Connection: how did you build" in texts(request.payload["card"])
    assert await world.count(AuditEvent, AuditEvent.action == "started") == 1


async def test_only_the_auditor_may_start_and_a_second_press_changes_nothing(world):
    audit = await world.audit()
    refused = await world.press(
        world.outsider, "audit.start", audit_id=audit.id, version=audit.version
    )
    assert "Only the auditor allocated to this audit" in texts(refused)
    assert (await world.audit()).state is AuditState.ALLOCATED

    first = await start(world)
    events = await world.count(AuditEvent)
    again = await world.press(
        world.auditor, "audit.start", audit_id=audit.id, version=audit.version
    )

    assert again == first
    assert await world.count(AuditEvent) == events
    assert len(await world.messages(world.practitioner, "reflection")) == 1


async def test_an_auditor_waiting_on_an_exemption_cannot_start(world):
    async with world.db.sessions.begin() as session:
        await repo.add_exemption_request(session, world.audit_id, world.auditor.id, "Conflict")

    card = await start(world)

    assert "Waiting for the Head of Service" in texts(card)
    assert (await world.audit()).state is AuditState.ALLOCATED
    assert not await world.messages(world.practitioner, "reflection")


async def test_a_missing_grade_and_rationale_are_shown_by_their_fields_keeping_what_was_typed(
    world,
):
    card = await walk_to(world, await start(world), "relationship_and_direct_work", Grade.GOOD)

    card = await world.click(world.auditor, card, "Save and continue", grade="", rationale="  ")
    assert step_of(card) == "relationship_and_direct_work"
    assert errors_in(card)[1:] == [
        "Error: Choose a grade.",
        "Error: Give your rationale for this grade: every grade needs one.",
    ]

    card = await world.click(world.auditor, card, "Save and continue", grade="good", rationale="")
    assert inputs_of(card)["grade"]["value"] == "good"
    assert errors_in(card)[1:] == [
        "Error: Give your rationale for this grade: every grade needs one."
    ]


async def test_good_while_outcomes_are_not_met_is_refused_on_the_overall_step(world):
    card = await walk_to(world, await start(world), "overall_grade", Grade.GOOD)

    card = await world.click(
        world.auditor,
        card,
        "Save and continue",
        grade="good",
        rationale="Why",
        outcomes_met="false",
    )

    assert step_of(card) == "overall_grade"
    shown = "\n".join(errors_in(card))
    assert "only Good or Outstanding when the child's outcomes are met" in shown
    assert "Relationship-based practice and direct work" in shown  # domains graded Good too


async def test_below_good_work_needs_a_recommendation_and_rows_are_checked(world):
    card = await walk_to(
        world, await start(world), "smart_recommendations", Grade.REQUIRES_IMPROVEMENT
    )
    blank = {f"r0_{cell}": "" for cell in ("action", "impact", "owner", "due")}

    card = await world.click(world.auditor, card, "Save and continue", **blank)
    assert any("graded below Good" in error for error in errors_in(card))

    card = await world.click(
        world.auditor,
        card,
        "Save and continue",
        **blank | {"r0_action": "Update the plan", "r0_due": TODAY.isoformat()},
    )
    shown = errors_in(card)
    assert "Error: Say what difference it will make for the child." in shown
    assert "Error: Choose who will do this." in shown
    assert "Error: Give a date after today: a recommendation is what happens next." in shown
    assert inputs_of(card)["r0_action"]["value"] == "Update the plan"


async def test_rows_can_be_added_and_removed_keeping_the_others(world):
    card = await walk_to(world, await start(world), "smart_recommendations", Grade.GOOD)

    card = await world.click(world.auditor, card, "Add another recommendation", r0_action="First")
    card = await world.click(world.auditor, card, "Add another recommendation", r1_action="Second")
    assert {"r0_action", "r1_action", "r2_action"} <= set(inputs_of(card))

    remove_first = buttons(card)["Remove recommendation 1"]
    data = {**press_data(card, "Save and stop"), **remove_first["data"]}
    card = await world.press(world.auditor, remove_first["verb"], **data)

    assert inputs_of(card)["r0_action"]["value"] == "Second"
    assert "r2_action" not in inputs_of(card)


async def test_stop_then_resume_shows_the_same_step_with_what_was_saved(world):
    card = await walk_to(world, await start(world), "strengths", Grade.GOOD)

    stopped = await world.click(world.auditor, card, "Save and stop", text="Warm relationship")
    assert "Everything is saved" in texts(stopped)

    resumed = await world.click(world.auditor, stopped, "Continue audit")
    assert step_of(resumed) == "strengths"
    assert inputs_of(resumed)["text"]["value"] == "Warm relationship"


async def test_back_keeps_what_was_typed_without_checking_it(world):
    card = await walk_to(world, await start(world), "relationship_and_direct_work", Grade.GOOD)

    back = await world.click(world.auditor, card, "Back", grade="", rationale="Half a thought")
    assert step_of(back) == "practitioner_section"
    forward = await world.click(world.auditor, back, "Save and continue")
    assert inputs_of(forward)["rationale"]["value"] == "Half a thought"


async def test_a_stale_card_or_a_repeat_changes_nothing_and_shows_the_current_step(world):
    card = await walk_to(world, await start(world), "key_lines_of_enquiry", Grade.GOOD)
    old = card
    card = await world.click(world.auditor, card, "Save and continue", kloe_1="Yes", kloe_2="No")
    events = await world.count(AuditEvent)
    draft = (await world.audit()).draft

    repeat = await world.click(world.auditor, old, "Save and continue", kloe_1="Yes", kloe_2="No")
    again = await world.click(world.auditor, old, "Save and continue", kloe_1="Changed")

    assert repeat == card  # nothing typed differs: just the card as it stands
    assert step_of(again) == step_of(card)
    assert "This audit moved on since this copy of the card was drawn" in texts(again)
    assert "Not saved: what you typed on the older copy" in texts(again)
    assert "Changed" in texts(again)
    assert await world.count(AuditEvent) == events
    assert (await world.audit()).draft == draft


async def test_someone_else_pressing_a_wizard_button_is_refused_and_nothing_changes(world):
    card = await start(world)
    draft = (await world.audit()).draft

    refused = await world.click(world.practitioner, card, "Save and continue", held="no")

    assert "Only the auditor allocated to this audit" in texts(refused)
    assert (await world.audit()).draft == draft


async def test_a_tampered_choice_is_refused_and_nothing_is_saved(world):
    card = await walk_to(world, await start(world), "relationship_and_direct_work", Grade.GOOD)
    draft = (await world.audit()).draft

    refused = await world.click(world.auditor, card, "Save and continue", grade="superb")

    assert "out of date" in texts(refused)
    assert (await world.audit()).draft == draft


async def test_the_practitioner_writes_their_section_in_the_card_and_the_auditor_sees_it(world):
    card = await walk_to(world, await start(world), "practitioner_section", Grade.GOOD)
    [request] = await world.messages(world.practitioner, "reflection")

    saved = await world.click(
        world.practitioner, request.payload["card"], "Send my section", prompt_1="We met weekly"
    )
    assert "Saved." in texts(saved)
    assert inputs_of(saved)["prompt_1"]["value"] == "We met weekly"
    assert await world.count(AuditEvent, AuditEvent.action == "practitioner_section_saved") == 1
    [told] = await world.messages(world.auditor, "reflection")
    assert "EH-1" in told.payload["summary"]

    # The auditor's open card is not stale: the practitioner moved the version, not the wizard.
    card = await world.click(world.auditor, card, "Back")
    card = await world.click(world.auditor, card, "Save and continue")
    assert step_of(card) == "practitioner_section"
    assert "We met weekly" in texts(card)


async def test_a_chat_message_answers_an_open_request_once(world):
    await start(world)

    async with world.db.sessions.begin() as session:
        staff = await repo.get_staff(session, world.practitioner.id)
        command = await reflection_from_chat(
            session, staff, "my audits", now=NOW, timezone="Europe/London"
        )
        card = await reflection_from_chat(
            session, staff, "I built trust by visiting weekly.", now=NOW, timezone="Europe/London"
        )
        later = await reflection_from_chat(
            session, staff, "hello again", now=NOW, timezone="Europe/London"
        )
    assert command is None
    assert card is not None and "I saved your message" in texts(card)
    assert later is None  # answered: chat goes back to commands
    draft = (await world.audit()).draft
    assert draft["practitioner"]["answers"] == {"chat": "I built trust by visiting weekly."}
    assert draft["practitioner"]["via"] == "chat"


async def test_a_chat_message_from_someone_without_a_request_is_left_alone(world):
    async with world.db.sessions.begin() as session:
        staff = await repo.get_staff(session, world.practitioner.id)
        assert await reflection_from_chat(session, staff, "hello", now=NOW, timezone="UTC") is None


async def finish(world: World, grade: Grade) -> dict[str, Any]:
    card = await walk_to(world, await start(world), "_summary", grade)
    return await world.click(world.auditor, card, "Submit the audit")


async def test_submitting_saves_grades_recommendations_and_tells_the_audit_team(world):
    card = await finish(world, Grade.REQUIRES_IMPROVEMENT)

    assert "Submitted: audit of case EH-1" in texts(card)
    audit = await world.audit()
    assert audit.state is AuditState.SUBMITTED
    assert audit.initial_grade is Grade.REQUIRES_IMPROVEMENT
    assert audit.outcomes_met is False and audit.submitted_at == NOW
    async with world.db.sessions() as session:
        grades = await repo.list_section_grades(session, audit.id, GradeStage.INITIAL)
        recommendations = await repo.list_recommendations(session, audit.id)
    assert {g.section_id for g in grades} == {
        "relationship_and_direct_work",
        "understanding_the_family",
        "planning_and_impact",
        "thresholds_and_risk",
        "management_oversight",
        "overall_grade",
    }
    assert all(g.grade is Grade.REQUIRES_IMPROVEMENT and g.rationale for g in grades)
    assert [r.level for r in recommendations] == [
        RecommendationLevel.CHILD,
        RecommendationLevel.SERVICE,
    ]
    assert recommendations[0].owner_id == world.practitioner.id
    assert recommendations[0].due_on == TODAY + timedelta(days=30)
    [check] = await world.messages(world.audit_team, "completeness")
    # The practitioner never wrote their own section, and the check says so.
    assert "The practitioner's own section is not written." in texts(check.payload["card"])
    assert await world.count(AuditEvent, AuditEvent.action == "submit") == 1


async def test_submitting_twice_submits_once(world):
    card = await walk_to(world, await start(world), "_summary", Grade.GOOD)
    first = await world.click(world.auditor, card, "Submit the audit")
    events = await world.count(AuditEvent)

    second = await world.click(world.auditor, card, "Submit the audit")

    assert second == first
    assert await world.count(AuditEvent) == events
    assert len(await world.messages(world.audit_team, "completeness")) == 1


async def test_submitting_rechecks_every_step_and_reopens_the_first_problem(world):
    card = await walk_to(world, await start(world), "_summary", Grade.GOOD)
    async with world.db.sessions.begin() as session:
        audit = await repo.get_audit(session, world.audit_id)
        draft = dict(audit.draft)
        wizard = dict(draft["wizard"])
        answers = dict(wizard["answers"])
        answers["planning_and_impact"] = {**answers["planning_and_impact"], "rationale": ""}
        draft["wizard"] = {**wizard, "answers": answers}
        audit.draft = draft

    card = await world.click(world.auditor, card, "Submit the audit")

    assert step_of(card) == "planning_and_impact"
    assert "Before you submit" in texts(card)
    assert (await world.audit()).state is AuditState.IN_PROGRESS


async def test_an_inadequate_submission_takes_the_fast_path(world):
    await finish(world, Grade.INADEQUATE)

    audit = await world.audit()
    assert audit.initial_grade is Grade.INADEQUATE
    assert audit.moderation_due_at is not None and audit.moderation_due_at < NOW + timedelta(days=3)
    assert await world.messages(world.team_manager, "inadequate")
