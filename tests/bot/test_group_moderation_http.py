"""Moderation by a group, as Tower Hamlets' Children's Social Care does it ("moderated by a
group consisting of the Divisional Director, the Heads of Service, Group Managers and
Quality Assurance Officers"): nobody is named at allocation; once the Audit Team accepts an
audit, every member of the group with no part in it gets the form, any of them records the
group's moderation once, and someone outside the group cannot."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from bot.demo import _load_programme
from dialogs.cycles import CycleRequest, open_cycle
from dialogs.group_meeting import book_group_meetings, meeting_time
from dialogs.local_calendar import LocalCalendar
from storage import repositories as repo
from storage.demo import load_demo
from storage.models import Audit, CycleMeeting, CycleMeetingState, Moderation
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
from tests.dialogs.test_moderation_setup import count_rows, execute_data, messages_to, texts
from tests.dialogs.test_wizard_cards import inputs_of
from tests.harness import RunningBot
from tests.scheduler.helpers import tick_at
from workflow.calendar import SystemClock, WorkingCalendar
from workflow.grades import Grade
from workflow.moderation import AGREE
from workflow.rules import ProgrammeRules
from workflow.states import AuditState

SAVE = "moderation.save"


async def csc_audit(db: Database) -> Audit:
    """One audit of the demo's CSC running Tower Hamlets CSC's programme (group moderation)."""
    async with db.sessions.begin() as session:
        await load_demo(session)
        await _load_programme(session, "th-qaf-csc-yjs")
        opened = await open_cycle(
            session,
            CycleRequest(service_code="CSC", month=date(2026, 12, 1), seed=3, total=1, kloes=KLOES),
            rules=ProgrammeRules(),
            now=SystemClock().now(),
        )
        [audit] = await repo.list_audits_in_cycle(session, opened.cycle_id)
        return audit


def agreeing(card: dict) -> dict[str, str]:
    return {key: AGREE for key in inputs_of(card) if key.startswith("agree__")}


async def test_any_member_of_the_group_records_its_moderation_once(
    db: Database, teams_bot: RunningBot
):
    audit = await csc_audit(db)
    assert audit.moderator_id is None
    assert "the moderation group, at its meeting" in texts(await allocation_card(db, audit))
    auditor = await staff(db, audit.auditor_id)
    card = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")
    summary, _ = await answer_every_step(teams_bot, auditor, card, Grade.GOOD)
    submitted = await click(teams_bot, auditor, summary, "Submit the audit")
    assert "then the moderation group moderates it at its meeting" in texts(submitted)

    # The group's meeting, booked in auditbot's own calendar between the day the audits are
    # due and the moderation deadline, and every member told.
    booked = await book_group_meetings(
        db.sessions, LocalCalendar(db.sessions, ProgrammeRules()), SystemClock(), ProgrammeRules()
    )
    assert booked == 1
    async with db.sessions() as session:
        [meeting] = (await session.scalars(select(CycleMeeting))).all()
    assert meeting.state is CycleMeetingState.BOOKED and meeting.calendar == "local"
    assert audit.due_at < meeting.starts_at and meeting.ends_at <= audit.moderation_due_at
    assert meeting.ends_at - meeting.starts_at == timedelta(minutes=120)
    assert (
        await book_group_meetings(
            db.sessions,
            LocalCalendar(db.sessions, ProgrammeRules()),
            SystemClock(),
            ProgrammeRules(),
        )
        == 0
    )  # booked once

    audit_team = await person(db, AUDIT_TEAM)
    [check] = [m.payload["card"] for m in await messages_to(db, audit_team, "completeness")]
    shown = await click(teams_bot, audit_team, check, "Accept: send to the moderation group")

    # The demo's CSC group: its Divisional Director, Head of Service and coordinator.
    members = [
        await person(db, f"{name}@demo-council.gov.uk")
        for name in ("margaret.okafor", "helen.whitfield", "tom.fletcher")
    ]
    assert "Sent to the moderation group (3 members)" in texts(shown)
    assert f"It meets on {meeting_time(meeting, 'Europe/London')}." in texts(shown)
    for member in members:
        [told] = await messages_to(db, member, "moderation_group_meeting")
        assert meeting_time(meeting, "Europe/London") in texts(told.payload["card"])
    forms = {}
    for member in members:
        [message] = await messages_to(db, member, "moderation")
        forms[member.id] = message.payload["card"]
    first, second, _ = members
    listed = await say(teams_bot, first, "my audits")
    assert "Moderation group: record the group's moderation" in texts(listed)
    [item] = [o for o in opens(listed) if o["item"] == "group"]
    assert "Save moderation" in texts(await press(teams_bot, first, "waiting.open", **item))

    outsider = await press(
        teams_bot, auditor, SAVE, **execute_data(forms[first.id], SAVE), **agreeing(forms[first.id])
    )
    assert "Only a member of the moderation group with no part in this audit" in texts(outsider)

    result = await press(
        teams_bot, second, SAVE,
        **execute_data(forms[second.id], SAVE), **agreeing(forms[second.id]),
    )  # fmt: skip
    after = await audit_now(db, audit.id)
    assert after.state is AuditState.MODERATED and after.moderator_id == second.id
    assert after.final_grade is Grade.GOOD
    assert "Good" in texts(result)

    again = await press(
        teams_bot, first, SAVE, **execute_data(forms[first.id], SAVE), **agreeing(forms[first.id])
    )
    assert await count_rows(db, Moderation, Moderation.audit_id == audit.id) == 1
    assert not [o for o in opens(await say(teams_bot, first, "my audits")) if o["item"] == "group"]
    assert (await audit_now(db, audit.id)).moderator_id == second.id
    # The result, not a form, naming the group and who recorded its moderation.
    assert f"Moderator\nThe moderation group (recorded by {second.display_name})" in texts(again)
    assert "The moderation group agreed with the auditor's overall grade: Good." in texts(again)


async def test_a_moderation_the_group_has_not_recorded_is_chased_with_its_organiser(
    db: Database, teams_bot: RunningBot
):
    audit = await csc_audit(db)
    auditor = await staff(db, audit.auditor_id)
    card = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")
    summary, _ = await answer_every_step(teams_bot, auditor, card, Grade.GOOD)
    await click(teams_bot, auditor, summary, "Submit the audit")
    audit_team = await person(db, AUDIT_TEAM)
    [check] = [m.payload["card"] for m in await messages_to(db, audit_team, "completeness")]
    await click(teams_bot, audit_team, check, "Accept: send to the moderation group")
    async with db.sessions() as session:
        [meeting] = (await session.scalars(select(CycleMeeting))).all()
    organiser = await staff(db, meeting.organiser_id)
    due = (await audit_now(db, audit.id)).moderation_due_at
    calendar = WorkingCalendar.from_rules(ProgrammeRules())

    await tick_at(db, due - timedelta(hours=1))
    assert not await messages_to(db, organiser, "reminder")
    next_day = calendar.add_working_days(calendar.local_date(due), 1)
    await tick_at(db, calendar.start_of_working_day(next_day) + timedelta(hours=1))
    [reminder] = await messages_to(db, organiser, "reminder")
    assert "see the moderation group records its moderation" in texts(reminder.payload["card"])

    member = await person(db, "tom.fletcher@demo-council.gov.uk")
    [form] = [m.payload["card"] for m in await messages_to(db, member, "moderation")]
    await press(teams_bot, member, SAVE, **execute_data(form, SAVE), **agreeing(form))
    later = calendar.add_working_days(next_day, 3)
    await tick_at(db, calendar.start_of_working_day(later) + timedelta(hours=1))
    assert len(await messages_to(db, organiser, "reminder")) == 1
