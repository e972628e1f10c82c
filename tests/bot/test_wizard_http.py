"""Whole audits driven over real HTTP, as Teams drives them: `adaptiveCard/action` invokes
posted to /api/messages, each answered with the card that replaces the pressed one.

The demo council's cycles use both shipped full tools: Children's Social Care
audits with City of London's Practice and Impact Review, Early Help with Tower
Hamlets' Understanding our Practice. Every step is answered from the card the
bot returned, as a person would.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from dialogs.cycles import CycleRequest, open_cycle
from dialogs.reflection_request import OPEN_FOR_REFLECTION
from storage import repositories as repo
from storage.demo import load_demo
from storage.enums import GradeStage, RecommendationLevel
from storage.models import Audit, AuditEvent, Staff
from tests.bot.test_card_actions import AUDIT_TEAM, KLOES, person, press
from tests.bot.test_messages import card_of
from tests.conftest import Database
from tests.dialogs.test_wizard_cards import (
    buttons,
    choices,
    errors_in,
    fill_step,
    inputs_of,
    press_data,
    step_of,
    texts,
)
from tests.harness import RunningBot
from workflow.calendar import SystemClock
from workflow.grades import Grade
from workflow.rules import ProgrammeRules
from workflow.states import AuditState


def today() -> date:
    return SystemClock().now().astimezone(ZoneInfo("Europe/London")).date()


async def allocated(db: Database, service_code: str) -> Audit:
    async with db.sessions.begin() as session:
        await load_demo(session)
        opened = await open_cycle(
            session,
            CycleRequest(
                service_code=service_code, month=date(2026, 12, 1), seed=3, total=4, kloes=KLOES
            ),
            rules=ProgrammeRules(),
            now=SystemClock().now(),
        )
        audits = await repo.list_audits_in_cycle(session, opened.cycle_id)
    return audits[0]


async def allocated_alone(db: Database) -> Audit:
    """An Early Help audit whose practitioner has no other audit open for their section."""
    audit = await allocated(db, "EH")
    async with db.sessions() as session:
        cycle = await repo.list_audits_in_cycle(session, audit.cycle_id)
        for candidate in cycle:
            theirs = await repo.list_audits_for_staff(
                session, candidate.practitioner_id, OPEN_FOR_REFLECTION
            )
            if [a.id for a in theirs if a.practitioner_id == candidate.practitioner_id] == [
                candidate.id
            ]:
                return candidate
    raise AssertionError("every practitioner in the demo cycle has another audit open")


async def staff(db: Database, staff_id: int) -> Staff:
    async with db.sessions() as session:
        found = await repo.get_staff(session, staff_id)
    assert found is not None
    return found


async def audit_now(db: Database, audit_id: int) -> Audit:
    async with db.sessions() as session:
        audit = await repo.get_audit(session, audit_id)
    assert audit is not None
    return audit


async def card_sent(db: Database, to: Staff, kind: str) -> dict[str, Any]:
    async with db.sessions() as session:
        messages = await repo.list_messages(session, recipient_id=to.id)
    return [m for m in messages if m.kind == kind][-1].payload["card"]


async def reflection_request(db: Database, audit: Audit) -> dict[str, Any]:
    """The practitioner's request for their own section, for this audit (they may have
    several audits, each asked at allocation)."""
    async with db.sessions() as session:
        messages = await repo.list_messages(session, recipient_id=audit.practitioner_id)
    key = f"reflection:audit:{audit.id}:request"
    [card] = [m.payload["card"] for m in messages if m.idempotency_key.startswith(key)]
    return card


async def card_sent_text(db: Database, to: Staff, kind: str) -> str:
    async with db.sessions() as session:
        messages = await repo.list_messages(session, recipient_id=to.id)
    return str([m for m in messages if m.kind == kind][-1].payload["text"])


async def case_ref_of(db: Database, audit: Audit) -> str:
    async with db.sessions() as session:
        case = await repo.get_case(session, audit.case_id)
    assert case is not None
    return case.case_ref


async def allocation_card(db: Database, audit: Audit) -> dict[str, Any]:
    """The auditor's allocation card for this audit (they may have others, or other parts)."""
    async with db.sessions() as session:
        messages = await repo.list_messages(session, recipient_id=audit.auditor_id)
    key = f"allocated:audit:{audit.id}:auditor:"
    [card] = [m.payload["card"] for m in messages if m.idempotency_key.startswith(key)]
    return card


async def click(bot: RunningBot, who: Staff, card: dict[str, Any], title: str, **typed: str):
    return await press(bot, who, buttons(card)[title]["verb"], **press_data(card, title, **typed))


async def answer_every_step(
    bot: RunningBot, auditor: Staff, card: dict[str, Any], grade: Grade
) -> tuple[dict[str, Any], list[str]]:
    """Answer each step as the auditor until the summary; the steps seen, in order."""
    seen = []
    while step_of(card) != "_summary":
        seen.append(step_of(card))
        typed = fill_step(card, grade, today=today(), outcomes_met=not grade.is_below_good)
        card = await click(bot, auditor, card, "Save and continue", **typed)
        assert not errors_in(card), errors_in(card)
        assert len(seen) < 30
    return card, seen


async def test_a_good_audit_from_the_allocation_card_to_the_moderator(
    db: Database, teams_bot: RunningBot
):
    audit = await allocated(db, "CSC")
    auditor = await staff(db, audit.auditor_id)
    allocation = await allocation_card(db, audit)

    card = await click(teams_bot, auditor, allocation, "Start audit")
    summary, seen = await answer_every_step(teams_bot, auditor, card, Grade.GOOD)
    assert seen == [
        "_conversation",
        "review_focus",
        "practice_standards",
        "journey_of_the_child",
        "needs_support_outcomes",
        "management_oversight",
        "identity",
        "multi_agency",
        "feedback",
        "summary",
        "child_recommendations",
        "service_recommendations",
    ]
    assert "The completeness check finds nothing missing." in texts(summary)
    done = await click(teams_bot, auditor, summary, "Submit the audit")

    assert "Submitted: audit of case" in texts(done)
    submitted = await audit_now(db, audit.id)
    assert submitted.state is AuditState.SUBMITTED
    assert submitted.initial_grade is Grade.GOOD and submitted.outcomes_met is True
    async with db.sessions() as session:
        grades = await repo.list_section_grades(session, audit.id, GradeStage.INITIAL)
    assert len(grades) == 6 and {g.grade for g in grades} == {Grade.GOOD}

    audit_team = await person(db, AUDIT_TEAM)
    check = await card_sent(db, audit_team, "completeness")
    accepted = await click(teams_bot, audit_team, check, "Accept: send for moderation")
    assert "The moderator has been asked to moderate." in texts(accepted)
    moderator = await staff(db, audit.moderator_id)
    moderation = await card_sent(db, moderator, "moderation")
    assert "Journey of the Child" in texts(moderation)


async def test_a_requires_improvement_audit_with_the_practitioner_s_own_section(
    db: Database, teams_bot: RunningBot
):
    audit = await allocated(db, "EH")
    auditor = await staff(db, audit.auditor_id)
    practitioner = await staff(db, audit.practitioner_id)
    card = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")

    request = await reflection_request(db, audit)
    saved = await click(
        teams_bot, practitioner, request, "Send my section", prompt_3="Plans were co-produced."
    )
    assert "Saved." in texts(saved)

    summary, seen = await answer_every_step(teams_bot, auditor, card, Grade.REQUIRES_IMPROVEMENT)
    assert len(seen) == 14 and "practitioner_section" in seen
    assert "Written by the practitioner" in texts(summary)
    await click(teams_bot, auditor, summary, "Submit the audit")

    submitted = await audit_now(db, audit.id)
    assert submitted.initial_grade is Grade.REQUIRES_IMPROVEMENT
    assert submitted.outcomes_met is False
    async with db.sessions() as session:
        recommendations = await repo.list_recommendations(session, audit.id)
    owners = {r.level: r.owner_id for r in recommendations}
    assert owners == {RecommendationLevel.CHILD: practitioner.id, RecommendationLevel.SERVICE: None}


async def test_a_service_level_action_gets_its_owner_from_the_head_of_service(
    db: Database, teams_bot: RunningBot
):
    """Reported: the practitioner became the owner of every action, service-level ones too,
    and a SMART date of today was accepted."""
    audit = await allocated(db, "EH")
    auditor = await staff(db, audit.auditor_id)
    card = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")
    while step_of(card) != "service_recommendations":
        typed = fill_step(card, Grade.REQUIRES_IMPROVEMENT, today=today(), outcomes_met=False)
        card = await click(teams_bot, auditor, card, "Save and continue", **typed)
        assert not errors_in(card), errors_in(card)
    assert "r0_owner" not in inputs_of(card)
    assert "belongs to the service" in texts(card)
    row = {"r0_action": "Supervision every four weeks", "r0_impact": "Plans kept to"}
    refused = await click(
        teams_bot, auditor, card, "Save and continue", **row, r0_due=today().isoformat()
    )
    assert "Error: Give a date after today" in " ".join(errors_in(refused))
    tomorrow = (today() + timedelta(days=1)).isoformat()
    summary = await click(teams_bot, auditor, refused, "Save and continue", **row, r0_due=tomorrow)
    await click(teams_bot, auditor, summary, "Submit the audit")

    async with db.sessions() as session:
        [service_action] = [
            r
            for r in await repo.list_recommendations(session, audit.id)
            if r.level is RecommendationLevel.SERVICE
        ]
    assert service_action.owner_id is None
    head = await person(db, "samuel.adeyemi@demo-council.gov.uk")
    owners = await card_sent(db, head, "action_owners")
    grace = await person(db, "grace.mensah@demo-council.gov.uk")
    practitioner = await staff(db, audit.practitioner_id)
    field = f"owner_{service_action.id}"
    assert practitioner.display_name not in str(choices(owners, field))

    wrong = await click(teams_bot, auditor, owners, "Save owners", **{field: str(grace.id)})
    assert "Only the Head of Service or the Audit Team" in texts(wrong)
    saved = await click(teams_bot, head, owners, "Save owners", **{field: str(grace.id)})

    assert "Saved: each owner has been told." in texts(saved)
    assert f"Owner: {grace.display_name}" in texts(saved)
    async with db.sessions() as session:
        given = await repo.get_recommendation(session, service_action.id)
        mine = await repo.list_open_recommendations_for_owner(session, grace.id)
    assert given is not None and given.owner_id == grace.id
    assert [r.id for r in mine] == [service_action.id]
    told = await card_sent_text(db, grace, "action_owners")
    assert f"case {(await case_ref_of(db, audit))}" in told and "my actions" in told


async def test_a_returned_audit_is_fixed_and_resubmitted(db: Database, teams_bot: RunningBot):
    audit = await allocated(db, "CSC")
    auditor = await staff(db, audit.auditor_id)
    card = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")
    card = await click(teams_bot, auditor, card, "Save and continue", held="no")
    summary, _ = await answer_every_step(teams_bot, auditor, card, Grade.GOOD)
    await click(teams_bot, auditor, summary, "Submit the audit")
    audit_team = await person(db, AUDIT_TEAM)
    check = await card_sent(db, audit_team, "completeness")
    assert "No audit conversation with the practitioner is recorded." in texts(check)

    fix_by = (today() + timedelta(days=7)).isoformat()
    form = buttons(check)["Return to the auditor"]
    returned = await press(
        teams_bot,
        audit_team,
        form["verb"],
        **form["data"],
        reasons="Talk to the worker",
        due=fix_by,
    )
    assert "Returned to the auditor" in texts(returned)
    assert (await audit_now(db, audit.id)).state is AuditState.RETURNED

    told = await card_sent(db, auditor, "completeness")
    card = await click(teams_bot, auditor, told, "Continue audit")
    assert step_of(card) == "_conversation"
    yesterday = (today() - timedelta(days=1)).isoformat()
    card = await click(teams_bot, auditor, card, "Save and continue", held="yes", held_on=yesterday)
    summary, _ = await answer_every_step(teams_bot, auditor, card, Grade.GOOD)
    await click(teams_bot, auditor, summary, "Resubmit the audit")

    assert (await audit_now(db, audit.id)).state is AuditState.SUBMITTED
    again = await card_sent(db, audit_team, "completeness")
    assert "found nothing missing" in texts(again)


async def test_stop_and_resume_another_day_keeps_every_answer(db: Database, teams_bot: RunningBot):
    audit = await allocated(db, "CSC")
    auditor = await staff(db, audit.auditor_id)
    card = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")
    card = await click(
        teams_bot,
        auditor,
        card,
        "Save and continue",
        **fill_step(card, Grade.GOOD, today=today(), outcomes_met=True),
    )

    stopped = await click(teams_bot, auditor, card, "Save and stop", kloe_1="Half written")
    resumed = await press(teams_bot, auditor, "wizard.resume", audit_id=audit.id)

    assert "Everything is saved" in texts(stopped)
    assert step_of(resumed) == "review_focus"
    assert inputs_of(resumed)["kloe_1"]["value"] == "Half written"
    again = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")
    assert again == resumed  # "Start audit" once started shows where the audit is


async def test_validation_messages_keep_what_was_typed(db: Database, teams_bot: RunningBot):
    audit = await allocated(db, "CSC")
    auditor = await staff(db, audit.auditor_id)
    card = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")
    summary, _ = await answer_every_step(teams_bot, auditor, card, Grade.GOOD)
    card = await click(teams_bot, auditor, summary, "Back")
    card = await click(teams_bot, auditor, card, "Back")
    assert step_of(card) == "child_recommendations"

    card = await click(
        teams_bot, auditor, card, "Save and continue", r0_owner="", r0_action="Keep this text"
    )

    assert "Error: Choose who will do this." in errors_in(card)
    assert inputs_of(card)["r0_action"]["value"] == "Keep this text"


async def test_wrong_person_stale_card_and_repeats_change_nothing(
    db: Database, teams_bot: RunningBot
):
    audit = await allocated(db, "CSC")
    auditor = await staff(db, audit.auditor_id)
    practitioner = await staff(db, audit.practitioner_id)
    allocation = await allocation_card(db, audit)

    refused = await click(teams_bot, practitioner, allocation, "Start audit")
    assert "Only the auditor allocated to this audit can do this" in texts(refused)
    assert (await audit_now(db, audit.id)).state is AuditState.ALLOCATED

    first = await click(teams_bot, auditor, allocation, "Start audit")
    step_two = await click(
        teams_bot,
        auditor,
        first,
        "Save and continue",
        **fill_step(first, Grade.GOOD, today=today(), outcomes_met=True),
    )
    events = await count_events(db)
    version = (await audit_now(db, audit.id)).version

    repeat = await click(teams_bot, auditor, first, "Save and continue", held="no")
    stale_stop = await click(teams_bot, auditor, first, "Save and stop")
    other = await click(teams_bot, practitioner, step_two, "Save and continue")

    assert stale_stop == step_two  # nothing typed on it: just the card as it stands
    assert step_of(repeat) == step_of(step_two)  # typed on it: shown back, not saved
    assert "Not saved: what you typed on the older copy" in texts(repeat)
    assert "This isn't yours to do" in texts(other)
    assert await count_events(db) == events
    assert (await audit_now(db, audit.id)).version == version


async def count_events(db: Database) -> int:
    async with db.sessions() as session:
        return await session.scalar(select(func.count()).select_from(AuditEvent))


async def submitted_inadequate(db: Database, bot: RunningBot) -> tuple[Audit, Staff]:
    """An Early Help audit taken through the wizard to Inadequate and submitted, over HTTP;
    with its moderator, asked at once (the fast path)."""
    audit = await allocated(db, "EH")
    auditor = await staff(db, audit.auditor_id)
    card = await click(bot, auditor, await allocation_card(db, audit), "Start audit")
    summary, _ = await answer_every_step(bot, auditor, card, Grade.INADEQUATE)
    await click(bot, auditor, summary, "Submit the audit")
    return await audit_now(db, audit.id), await staff(db, audit.moderator_id)


async def moderate_agreeing(bot: RunningBot, moderator: Staff, card: dict[str, Any]) -> None:
    agree = {i: "agree" for i in inputs_of(card) if i.startswith("agree__")}
    shown = await click(bot, moderator, card, "Save moderation", **agree)
    assert "agreed with the auditor's overall grade" in texts(shown), texts(shown)


async def test_the_completeness_check_is_still_recorded_after_fast_path_moderation(
    db: Database, teams_bot: RunningBot
):
    """Reported: an Inadequate audit moderated before the Audit Team's check answered Accept
    with "This audit is waiting for its UoPP meeting" and recorded nothing."""
    audit, moderator = await submitted_inadequate(db, teams_bot)
    await moderate_agreeing(teams_bot, moderator, await card_sent(db, moderator, "moderation"))
    assert (await audit_now(db, audit.id)).state is AuditState.MODERATED
    audit_team = await person(db, AUDIT_TEAM)
    check = await card_sent(db, audit_team, "completeness")

    recorded = await click(teams_bot, audit_team, check, "Accept as complete")

    assert "Recorded as complete by Alex Wilber." in texts(recorded)
    after = await audit_now(db, audit.id)
    assert after.check_due_at is None and after.state is AuditState.MODERATED
    async with db.sessions() as session:
        events = [e.action for e in await repo.list_events(session, "audit", audit.id)]
        moderation_cards = [
            m for m in await repo.list_messages(session, recipient_id=moderator.id)
            if m.kind == "moderation"
        ]  # fmt: skip
    assert "completeness_accepted" in events
    assert len(moderation_cards) == 1  # asked once, at submission
    again = await click(teams_bot, audit_team, check, "Accept as complete")
    assert "Recorded as complete by Alex Wilber." in texts(again)


async def test_an_audit_moderated_first_can_be_recorded_incomplete(
    db: Database, teams_bot: RunningBot
):
    audit, moderator = await submitted_inadequate(db, teams_bot)
    await moderate_agreeing(teams_bot, moderator, await card_sent(db, moderator, "moderation"))
    audit_team = await person(db, AUDIT_TEAM)
    check = await card_sent(db, audit_team, "completeness")  # drawn at submission
    fix_by = (today() + timedelta(days=7)).isoformat()

    now = await click(
        teams_bot, audit_team, check, "Return to the auditor", reasons="x", due=fix_by
    )
    assert "was moderated before the completeness check" in texts(now)
    assert "Return to the auditor" not in buttons(now)
    shown = await click(
        teams_bot, audit_team, now, "Record as incomplete", reasons="Family feedback missing."
    )

    # Typed with its own full stop, as in the Playground: quoted with one, not two.
    assert "Recorded as incomplete by Alex Wilber: Family feedback missing. The" in texts(shown)
    auditor = await staff(db, audit.auditor_id)
    told = await card_sent_text(db, auditor, "completeness")
    assert "Family feedback missing" in told and "moderation and UoPP meeting go on" in told
    after = await audit_now(db, audit.id)
    assert after.state is AuditState.MODERATED and after.check_due_at is None


async def test_the_practitioner_is_asked_for_their_section_with_their_allocation(
    db: Database, teams_bot: RunningBot
):
    """Reported: the request came after the audit was submitted, even moderated."""
    audit = await allocated(db, "EH")
    practitioner = await staff(db, audit.practitioner_id)
    async with db.sessions() as session:
        mine = await repo.list_messages(session, recipient_id=practitioner.id)
    notice = next(m for m in mine if m.idempotency_key.startswith(f"allocated:audit:{audit.id}:"))
    request = next(m for m in mine if m.idempotency_key.startswith(f"reflection:audit:{audit.id}"))
    assert request.payload["bundle"] == notice.payload["bundle"]  # one message, the same day

    saved = await click(
        teams_bot, practitioner, request.payload["card"], "Send my section",
        prompt_1="We built the plan with the family.",
    )  # fmt: skip

    assert "Saved." in texts(saved)
    assert (await audit_now(db, audit.id)).state is AuditState.ALLOCATED  # before it starts


async def test_a_section_sent_after_submission_is_not_saved_and_shown_back(
    db: Database, teams_bot: RunningBot
):
    audit = await allocated(db, "EH")
    auditor = await staff(db, audit.auditor_id)
    practitioner = await staff(db, audit.practitioner_id)
    request = await reflection_request(db, audit)
    card = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")
    summary, _ = await answer_every_step(teams_bot, auditor, card, Grade.GOOD)
    assert "Not written yet" in texts(summary)
    await click(teams_bot, auditor, summary, "Submit the audit")
    check = await card_sent(db, await person(db, AUDIT_TEAM), "completeness")
    assert "The practitioner's own section is not written." in texts(check)
    before = (await audit_now(db, audit.id)).draft

    late = await click(
        teams_bot, practitioner, request, "Send my section", prompt_2="Too late, but mine."
    )

    shown = texts(late)
    assert "Not saved: the audit was submitted before your section arrived" in shown
    assert "Too late, but mine." in shown
    assert "Send my section" not in buttons(late)
    assert (await audit_now(db, audit.id)).draft == before


async def test_a_section_typed_in_chat_after_submission_is_shown_back_not_saved(
    db: Database, teams_bot: RunningBot
):
    """Reported in the Playground: the practitioner's section typed into the chat after the
    audit was submitted got "I didn't recognise that" and the list of commands."""
    audit = await allocated_alone(db)
    auditor = await staff(db, audit.auditor_id)
    practitioner = await staff(db, audit.practitioner_id)
    card = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")
    summary, _ = await answer_every_step(teams_bot, auditor, card, Grade.GOOD)
    await click(teams_bot, auditor, summary, "Submit the audit")
    before, events = (await audit_now(db, audit.id)).draft, await count_events(db)

    said = "I built trust by visiting weekly and agreeing the plan together."
    late = card_of(await teams_bot.say(practitioner.aad_object_id, said))
    thanks = card_of(await teams_bot.say(practitioner.aad_object_id, "thanks"))

    shown = texts(late)
    assert "Not saved: the audit was submitted before your section arrived" in shown
    assert said in shown and await case_ref_of(db, audit) in shown
    assert "You had not written your section when it was submitted." in shown
    assert "Please write your own section" not in shown
    assert "Send my section" not in buttons(late)
    assert "I didn't recognise that" in texts(thanks)  # a word or two is not a section
    assert (await audit_now(db, audit.id)).draft == before
    assert await count_events(db) == events


async def test_text_typed_on_an_older_copy_of_a_step_is_shown_back_not_dropped(
    db: Database, teams_bot: RunningBot
):
    """Reported: saving an older copy of a step, after the step was saved from another
    copy, jumped the card on and silently dropped what was typed."""
    audit = await allocated(db, "CSC")
    auditor = await staff(db, audit.auditor_id)
    first = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")
    typed = fill_step(first, Grade.GOOD, today=today(), outcomes_met=True)
    moved_on = await click(teams_bot, auditor, first, "Save and continue", **typed)
    saved = (await audit_now(db, audit.id)).draft

    other = {**typed, "note": "Typed on the laptop: the family joined by phone."}
    shown = await click(teams_bot, auditor, first, "Save and continue", **other)

    assert step_of(shown) == step_of(moved_on) != step_of(first)
    assert "This audit moved on since this copy of the card was drawn" in texts(shown)
    assert "Typed on the laptop: the family joined by phone." in texts(shown)
    assert (await audit_now(db, audit.id)).draft == saved  # nothing overwritten
