"""City of London's two tiers, over HTTP as people do it: the Head of Safeguarding and QA
moderates each Practice and Impact Review and chooses which go to the Senior Leadership
Moderation Panel; the panel's meeting is booked with its chair, members and the reviewer;
a member whose own review it is stands aside; the chair records the panel's final grading,
with the deciding say where members disagreed, once, and nobody else can."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from bot.demo import _load_programme
from cards.panel import PANEL_DECIDE, SEND_TO_PANEL
from dialogs.cycles import CycleRequest, open_cycle
from dialogs.group_meeting import book_group_meetings, meeting_time
from dialogs.local_calendar import LocalCalendar
from storage import repositories as repo
from storage.demo import load_demo
from storage.models import Audit, CycleMeeting, CycleMeetingKind, CycleMeetingState
from tests.bot.test_card_actions import AUDIT_TEAM, KLOES, person, press
from tests.bot.test_waiting_http import opens, say
from tests.bot.test_wizard_http import (
    allocation_card,
    answer_every_step,
    audit_now,
    click,
    staff,
)
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import execute_data, messages_to, texts
from tests.dialogs.test_wizard_cards import inputs_of
from tests.harness import RunningBot
from tests.scheduler.helpers import events, tick_at
from workflow.calendar import SystemClock, WorkingCalendar
from workflow.grades import Grade
from workflow.moderation import AGREE
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.states import AuditState

SAVE = "moderation.save"
HOSQA = "rukhsana.begum@demo-council.gov.uk"
CHAIR = "elizabeth.carr@demo-council.gov.uk"
MEMBERS = ("Olivia Grant", "Marcus Bell", "Rukhsana Begum", "Helen Whitfield")


async def reviews(db: Database, count: int) -> list[Audit]:
    async with db.sessions.begin() as session:
        await load_demo(session)
        await _load_programme(session, "city-of-london")
        opened = await open_cycle(
            session,
            CycleRequest(
                service_code="CSC", month=date(2026, 12, 1), seed=3, total=count, kloes=KLOES
            ),
            rules=ProgrammeRules(),
            now=SystemClock().now(),
        )
        return await repo.list_audits_in_cycle(session, opened.cycle_id)


async def tier_one(db: Database, bot: RunningBot, audit: Audit, *, to_panel: bool) -> dict:
    """Reviewed Good, accepted, and moderated agreeing by the Head of Safeguarding and QA,
    who says whether it goes to the panel: the result the moderator is shown."""
    auditor = await staff(db, audit.auditor_id)
    card = await click(bot, auditor, await allocation_card(db, audit), "Start audit")
    summary, _ = await answer_every_step(bot, auditor, card, Grade.GOOD)
    await click(bot, auditor, summary, "Submit the audit")
    audit_team = await person(db, AUDIT_TEAM)
    checks = [m.payload["card"] for m in await messages_to(db, audit_team, "completeness")]
    await click(bot, audit_team, checks[-1], "Accept: send for moderation")
    moderator = await person(db, HOSQA)
    forms = [
        m.payload["card"]
        for m in await messages_to(db, moderator, "moderation")
        if m.idempotency_key.startswith(f"moderate:audit:{audit.id}:")
    ]
    form = forms[-1]
    assert "Send this review to the panel once moderated" in texts(form)
    answers = {key: AGREE for key in inputs_of(form) if key.startswith("agree__")}
    answers[SEND_TO_PANEL] = "true" if to_panel else "false"
    return await press(bot, moderator, SAVE, **execute_data(form, SAVE), **answers)


async def test_a_review_the_moderator_sends_goes_to_the_panel_and_its_chair_decides(
    db: Database, teams_bot: RunningBot
):
    sent, kept = await reviews(db, 2)
    await tier_one(db, teams_bot, kept, to_panel=False)
    assert not await events(db, "panel_referred", kept.id)
    assert (await audit_now(db, kept.id)).final_grade is Grade.GOOD
    # Not closed: its reviewer may still ask the panel.
    assert (await audit_now(db, kept.id)).state is AuditState.MODERATED

    result = await tier_one(db, teams_bot, sent, to_panel=True)
    assert "goes on to the Senior Leadership Moderation Panel" in texts(result)
    assert "Dispute the grade" not in texts(result)

    chair = await person(db, CHAIR)
    [message] = await messages_to(db, chair, "panel")
    card = message.payload["card"]
    for name in MEMBERS:
        assert name in texts(card)
    assert "stands aside" not in texts(card)
    reviewer = await staff(db, sent.auditor_id)
    [told] = await messages_to(db, reviewer, "panel")
    assert "goes to the panel" in texts(told.payload["card"])

    # The panel's meeting: the chair, its members and the reviewer, booked once.
    calendar = LocalCalendar(db.sessions, ProgrammeRules())
    assert await book_group_meetings(db.sessions, calendar, SystemClock(), ProgrammeRules()) == 1
    async with db.sessions() as session:
        [meeting] = (await session.scalars(select(CycleMeeting))).all()
    assert meeting.kind is CycleMeetingKind.PANEL and meeting.state is CycleMeetingState.BOOKED
    assert meeting.ends_at - meeting.starts_at == timedelta(minutes=90)
    assert {chair.id, reviewer.id} <= set(meeting.attendee_ids) and len(meeting.attendee_ids) == 6
    for person_id in meeting.attendee_ids:
        who = await _staff(db, person_id)
        [booked] = await messages_to(db, who, "moderation_group_meeting")
        assert meeting_time(meeting, "Europe/London") in texts(booked.payload["card"])

    listed = await say(teams_bot, chair, "my audits")
    assert "Panel chair: record the panel's decision" in texts(listed)
    [item] = [o for o in opens(listed) if o["item"] == "panel"]
    assert "Record the panel's decision" in texts(
        await press(teams_bot, chair, "waiting.open", **item)
    )

    moderator = await person(db, HOSQA)
    wrong = await press(teams_bot, moderator, PANEL_DECIDE, audit_id=sent.id, grade="good",
                        rationale="x", chair_decided="false")  # fmt: skip
    assert "Only the chair of the moderation panel can do this" in texts(wrong)
    blank = await press(
        teams_bot, chair, PANEL_DECIDE, **execute_data(card, PANEL_DECIDE),
        grade="requires_improvement", chair_decided="true", rationale="",
    )  # fmt: skip
    assert "Say what the panel agreed and why" in texts(blank)

    decided = await press(
        teams_bot, chair, PANEL_DECIDE, **execute_data(card, PANEL_DECIDE),
        grade="requires_improvement", chair_decided="true",
        rationale="Plans drift; the panel split, the chair decided.",
    )  # fmt: skip

    assert (
        "Requires Improvement to be Good, recorded by Elizabeth Carr with the chair's deciding say"
        in (texts(decided))
    )
    after = await audit_now(db, sent.id)
    assert after.final_grade is Grade.REQUIRES_IMPROVEMENT
    assert after.state is AuditState.CLOSED  # the panel's decision was all that was owed
    [trail] = await events(db, "panel_decided", sent.id)
    assert trail.after["panel"]["chair_decided"] is True
    practitioner = await staff(db, sent.practitioner_id)
    results = [
        m for m in await messages_to(db, practitioner, "moderation")
        if m.idempotency_key.startswith(f"panel:audit:{sent.id}")
    ]  # fmt: skip
    assert len(results) == 1
    final = texts(results[0].payload["card"])
    assert "Final: the moderation panel's grading." in final
    assert (
        "The moderation panel agreed the final grade with its chair's deciding say: Requires "
        "Improvement to be Good (the auditor's Good, the moderator's Good)." in final
    )
    assert "Panel: Plans drift; the panel split, the chair decided." in final
    assert after.moderated_grade is Grade.GOOD  # the tier-one moderator's, kept
    again = await press(teams_bot, chair, PANEL_DECIDE, **execute_data(card, PANEL_DECIDE),
                        grade="good", chair_decided="false", rationale="Again")  # fmt: skip
    assert "already recorded, so nothing was changed" in texts(again)
    assert (await audit_now(db, sent.id)).final_grade is Grade.REQUIRES_IMPROVEMENT
    assert not [o for o in opens(await say(teams_bot, chair, "my audits")) if o["item"] == "panel"]


async def test_a_member_whose_own_review_it_is_stands_aside(db: Database, teams_bot: RunningBot):
    [review] = await reviews(db, 1)
    reviewer = await staff(db, review.auditor_id)
    async with db.sessions.begin() as session:
        cycle = await repo.get_cycle(session, review.cycle_id)
        await repo.assign_role(session, reviewer.id, Role.ASSISTANT_DIRECTOR, cycle.service_id)

    await tier_one(db, teams_bot, review, to_panel=True)

    chair = await person(db, CHAIR)
    [message] = await messages_to(db, chair, "panel")
    assert f"{reviewer.display_name} stands aside for this review: it is their own." in texts(
        message.payload["card"]
    )
    [referred] = await events(db, "panel_referred", review.id)
    assert referred.after["stood_aside"] == [reviewer.id]
    assert reviewer.id not in referred.after["sitting"]


async def _staff(db: Database, staff_id: int):
    async with db.sessions() as session:
        return await repo.get_staff(session, staff_id)


async def test_a_reviewer_who_disagrees_with_tier_one_asks_the_panel_and_its_chair_decides(
    db: Database, teams_bot: RunningBot
):
    """City of London's dispute route: disagreement goes to the panel, whose chair has the
    deciding say; Tower Hamlets' "Dispute the grade" is not on offer, and not accepted."""
    [review] = await reviews(db, 1)
    await tier_one(db, teams_bot, review, to_panel=False)
    reviewer = await staff(db, review.auditor_id)
    practitioner = await staff(db, review.practitioner_id)
    [result] = [
        m.payload["card"] for m in await messages_to(db, reviewer, "moderation")
        if m.idempotency_key.startswith(f"moderated:audit:{review.id}:")
    ]  # fmt: skip
    assert "Ask the panel" in texts(result)
    assert "Dispute the grade" not in texts(result)
    assert "its independent chair has the deciding say" in texts(result)
    ask = "panel.ask"
    moderator = await person(db, HOSQA)
    wrong = await press(teams_bot, moderator, ask, audit_id=review.id, reason="I would")
    assert "Only the reviewer, the practitioner whose work was reviewed" in texts(wrong)
    blank = await press(teams_bot, practitioner, ask, audit_id=review.id, reason=" ")
    assert "Give your reason: the panel's chair reads it. Nothing was sent." in texts(blank)
    dispute = await press(teams_bot, practitioner, "dispute.raise",
                          audit_id=review.id, version=1, reason="x")  # fmt: skip
    assert "does not take disputes to the moderator" in texts(dispute)
    assert not await events(db, "panel_referred", review.id)

    asked = await press(teams_bot, reviewer, ask, audit_id=review.id,
                        reason="The plan's drift was not weighed.")  # fmt: skip
    assert f"{reviewer.display_name} asked for the panel." in texts(asked)
    [referred] = await events(db, "panel_referred", review.id)
    assert referred.after["asked_by"] == reviewer.id
    chair = await person(db, CHAIR)
    [message] = await messages_to(db, chair, "panel")
    assert (
        f"{reviewer.display_name} asked for the panel: The plan's drift was not weighed."
        in texts(message.payload["card"])
    )
    told = [
        m for m in await messages_to(db, practitioner, "moderation")
        if m.idempotency_key.startswith(f"panel:audit:{review.id}:asked:")
    ]  # fmt: skip
    assert len(told) == 1 and "Ask the panel" not in texts(told[0].payload["card"])
    assert not [  # the reviewer has it as the answer to their press
        m for m in await messages_to(db, reviewer, "moderation")
        if m.idempotency_key.startswith(f"panel:audit:{review.id}:asked:")
    ]  # fmt: skip

    again = await press(teams_bot, practitioner, ask, audit_id=review.id, reason="Me too")
    assert "already with the moderation panel, so nothing was changed" in texts(again)
    assert len(await events(db, "panel_referred", review.id)) == 1
    assert len(await messages_to(db, chair, "panel")) == 1

    decided = await press(
        teams_bot, chair, PANEL_DECIDE, **execute_data(message.payload["card"], PANEL_DECIDE),
        grade="requires_improvement", chair_decided="true", rationale="Drift weighed.",
    )  # fmt: skip
    assert "with the chair's deciding say" in texts(decided)
    assert (await audit_now(db, review.id)).final_grade is Grade.REQUIRES_IMPROVEMENT


async def test_a_panel_decision_not_recorded_after_its_meeting_is_chased_with_the_chair(
    db: Database, teams_bot: RunningBot
):
    [review] = await reviews(db, 1)
    await tier_one(db, teams_bot, review, to_panel=True)
    calendar = LocalCalendar(db.sessions, ProgrammeRules())
    assert await book_group_meetings(db.sessions, calendar, SystemClock(), ProgrammeRules()) == 1
    async with db.sessions() as session:
        [meeting] = (await session.scalars(select(CycleMeeting))).all()
    chair = await person(db, CHAIR)
    days = WorkingCalendar.from_rules(ProgrammeRules())
    ended = days.local_date(meeting.ends_at)

    # Chased once the recording time after the meeting (as a UoPP meeting's chair is) is over.
    recording = days.add_working_days(ended, ProgrammeRules().uopp_record_working_days)
    await tick_at(db, days.start_of_working_day(recording) + timedelta(hours=1))
    assert not await messages_to(db, chair, "reminder")
    after = days.add_working_days(recording, 1)
    await tick_at(db, days.start_of_working_day(after) + timedelta(hours=1))
    [reminder] = await messages_to(db, chair, "reminder")
    assert "record the moderation panel's decision (as its chair)" in texts(
        reminder.payload["card"]
    )

    [message] = await messages_to(db, chair, "panel")
    await press(
        teams_bot, chair, PANEL_DECIDE, **execute_data(message.payload["card"], PANEL_DECIDE),
        grade="good", chair_decided="false", rationale="Agreed with tier one.",
    )  # fmt: skip
    later = days.add_working_days(after, 3)
    await tick_at(db, days.start_of_working_day(later) + timedelta(hours=1))
    assert len(await messages_to(db, chair, "reminder")) == 1
