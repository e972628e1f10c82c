"""The reminder tick on a fixed clock: when each chase fires, the ladder, bundling, snooze
and downtime. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import scheduler.reminders as scheduler_reminders
from cards.reminders import LATE_NOTICE, SNOOZE
from dialogs.moderation import URGENT_CONFIRMED
from dialogs.programmes import load_programme
from storage import repositories as repo
from storage.enums import MeetingKind, MeetingState, RecommendationLevel, RecommendationStatus
from storage.models import OutboxMessage, Reminder, ReminderDay, Service
from storage.repositories import reminders as due
from tests.conftest import Database
from tests.factories import create_staff
from tests.scheduler.helpers import (
    actor,
    cast_in,
    chaser,
    conversations,
    count,
    end_of,
    events,
    late_audit,
    london,
    messages,
    texts,
    tick_at,
)
from workflow.calendar import FixedClock
from workflow.grades import Grade
from workflow.programme import shipped_programme, shipped_programmes
from workflow.roles import Role
from workflow.states import AuditState

# Fri 28 Aug 2026, then the August bank holiday weekend (Mon 31 Aug is a bank holiday).
FRIDAY_BEFORE_BANK_HOLIDAY = date(2026, 8, 28)


async def test_a_late_audit_is_chased_on_the_next_working_morning_not_over_a_bank_holiday_weekend(
    db: Database,
):
    cast = await cast_in(db)
    audit_id = await late_audit(db, cast, end_of(FRIDAY_BEFORE_BANK_HOLIDAY))

    for quiet in (
        london(2026, 8, 28, 16, 59),  # not yet late
        london(2026, 8, 28, 17, 30),  # late, but after hours
        london(2026, 8, 29, 10),  # Saturday
        london(2026, 8, 30, 10),  # Sunday
        london(2026, 8, 31, 10),  # the bank holiday
        london(2026, 9, 1, 8, 59),  # Tuesday, before the working day
    ):
        assert await tick_at(db, quiet) == 0, quiet
    assert await messages(db) == []

    assert await tick_at(db, london(2026, 9, 1, 9, 0)) == 1

    [message] = await messages(db, cast.auditor, "reminder")
    card = message.payload["card"]
    assert "submit the audit" in texts(card)
    assert LATE_NOTICE not in texts(card)
    [event] = await events(db, "reminder_sent", audit_id)
    assert event.actor_label == "scheduler"
    assert event.after["to"] == cast.auditor.id and event.after["rung"] == 1


async def test_the_first_reminder_after_the_october_clock_change_waits_for_9_london_time(
    db: Database,
):
    # Clocks go back on Sun 25 Oct 2026: 09:00 London on Monday is 09:00 UTC, not 08:00.
    cast = await cast_in(db)
    await late_audit(db, cast, end_of(date(2026, 10, 23)))

    assert await tick_at(db, london(2026, 10, 26, 8, 30)) == 0
    monday_0830_utc = london(2026, 10, 26, 8, 30)
    assert monday_0830_utc.hour == 8  # GMT again
    assert await tick_at(db, london(2026, 10, 26, 8, 59)) == 0
    assert await tick_at(db, london(2026, 10, 26, 9, 0)) == 1


async def test_at_most_one_bundled_reminder_per_person_per_day(db: Database):
    cast = await cast_in(db)
    first = await late_audit(db, cast, end_of(date(2026, 11, 16)))
    second = await late_audit(db, cast, end_of(date(2026, 11, 18)))
    async with db.sessions.begin() as session:
        action = await repo.add_recommendation(
            session, first, RecommendationLevel.CHILD, "Update the plan", None, cast.auditor.id,
            date(2026, 11, 17),
        )  # fmt: skip

    assert await tick_at(db, london(2026, 11, 23, 9, 5)) == 1
    assert await tick_at(db, london(2026, 11, 23, 9, 6)) == 0
    assert await tick_at(db, london(2026, 11, 23, 16, 0)) == 0

    [message] = await messages(db, cast.auditor)
    shown = texts(message.payload["card"])
    assert shown.count("submit the audit") == 2
    assert f"Action {action.id}: Update the plan" in shown
    assert len(await events(db, "reminder_sent")) == 3
    assert {e.entity_id for e in await events(db, "reminder_sent")} == {first, second}
    # Daily, not more: the next working day brings one more.
    assert await tick_at(db, london(2026, 11, 24, 9, 0)) == 1
    assert len(await messages(db, cast.auditor)) == 2


async def test_the_ladder_copies_the_team_manager_then_tells_the_head_of_service(db: Database):
    cast = await cast_in(db)
    audit_id = await late_audit(db, cast, end_of(date(2026, 11, 20)))

    # Mon 23 Nov is the first reminder; 3 working days on (Thu) the TM; 5 (Mon 30) the HoS.
    for day in (23, 24, 25):
        assert await tick_at(db, london(2026, 11, day, 9, 30)) == 1
    assert await messages(db, cast.manager) == []
    assert await tick_at(db, london(2026, 11, 26, 9, 30)) == 1
    [copy] = await messages(db, cast.manager, "reminder_copy")
    assert "Escalated" in texts(copy.payload["card"])
    reminders = await messages(db, cast.auditor, "reminder")
    assert "team manager" in texts(reminders[-1].payload["card"])
    assert await tick_at(db, london(2026, 11, 27, 9, 30)) == 1
    assert await messages(db, cast.head) == []
    assert await tick_at(db, london(2026, 11, 30, 9, 30)) == 1
    [told] = await messages(db, cast.head, "reminder_copy")
    assert "Head of Service" in texts(told.payload["card"])

    escalations = await events(db, "reminder_escalated", audit_id)
    assert [(e.after["rung"], e.after["copied"]) for e in escalations] == [
        (2, [cast.manager.id]),
        (3, [cast.head.id]),
    ]
    assert len(await messages(db, cast.manager)) == 1  # copied once, when the rung was reached
    assert [e.after["rung"] for e in await events(db, "reminder_sent", audit_id)] == [
        1, 1, 1, 2, 2, 3,
    ]  # fmt: skip


async def test_the_ladder_follows_the_programmes_route_to_the_lead_auditor(db: Database):
    """Haringey's late work goes to the service's lead auditor, then the Head of Service,
    not to the owner's line manager."""
    cast = await cast_in(db)
    audit_id = await late_audit(db, cast, end_of(date(2026, 11, 20)))
    codes = [service.code for service in shipped_programme("haringey").services]
    async with db.sessions.begin() as session:
        service = await session.get(Service, cast.service_id)
        lead = await create_staff(
            session, roles=[(Role.LEAD_AUDITOR, service)], display_name="Leah Auditor"
        )
        loaded = await load_programme(
            session, shipped_programmes()["haringey"], actor="test",
            now=london(2026, 11, 1, 9, 0),
            services_as={c: (service.code if c == "FR" else None) for c in codes},
        )  # fmt: skip
        audit = await repo.get_audit(session, audit_id)
        cycle = await repo.get_cycle(session, audit.cycle_id)
        cycle.programme_version_id = loaded.version.id

    for day in (23, 24, 25, 26):
        assert await tick_at(db, london(2026, 11, day, 9, 30)) == 1
    assert await messages(db, cast.manager) == []
    [copy] = await messages(db, lead, "reminder_copy")
    assert "Lead Auditor" in texts(copy.payload["card"])
    reminders = await messages(db, cast.auditor, "reminder")
    assert "The Lead Auditor, Leah Auditor, has been copied" in texts(reminders[-1].payload["card"])
    await tick_at(db, london(2026, 11, 27, 9, 30))
    assert await tick_at(db, london(2026, 11, 30, 9, 30)) == 1
    [told] = await messages(db, cast.head, "reminder_copy")
    assert "Head of Service" in texts(told.payload["card"])
    escalations = await events(db, "reminder_escalated", audit_id)
    assert [(e.after["rung"], e.after["copied"]) for e in escalations] == [
        (2, [lead.id]),
        (3, [cast.head.id]),
    ]


async def test_snooze_holds_a_reminder_for_a_working_day_and_only_for_the_person_reminded(
    db: Database,
):
    cast = await cast_in(db)
    audit_id = await late_audit(db, cast, end_of(date(2026, 11, 19)))
    # Friday's reminder, snoozed: Monday passes quietly, Tuesday brings it back.
    assert await tick_at(db, london(2026, 11, 20, 9, 0)) == 1
    [message] = await messages(db, cast.auditor)
    ids = _button_data(message.payload["card"], SNOOZE)

    refused = await conversations(db, london(2026, 11, 20, 9, 30)).on_card_action(
        actor(cast.manager), SNOOZE, ids
    )
    assert "Only the person this reminder was sent to" in texts(refused)
    async with db.sessions() as session:
        [reminder] = await due.list_reminders(session)
        assert reminder.snoozed_until is None

    card = await conversations(db, london(2026, 11, 20, 9, 30)).on_card_action(
        actor(cast.auditor), SNOOZE, ids
    )
    assert "Snoozed: no reminder about these until Tue 24 Nov" in texts(card)
    again = await conversations(db, london(2026, 11, 20, 9, 31)).on_card_action(
        actor(cast.auditor), SNOOZE, ids
    )
    assert "Snoozed" in texts(again)
    assert len(await events(db, "reminder_snoozed", audit_id)) == 1

    assert await tick_at(db, london(2026, 11, 23, 9, 0)) == 0
    assert await tick_at(db, london(2026, 11, 23, 16, 0)) == 0
    assert await tick_at(db, london(2026, 11, 24, 9, 0)) == 1


async def test_a_restart_after_three_days_of_downtime_sends_each_missed_reminder_once_marked_late(
    db: Database,
):
    cast = await cast_in(db)
    first = await late_audit(db, cast, end_of(date(2026, 11, 20)))
    assert await tick_at(db, london(2026, 11, 23, 9, 0)) == 1
    # Down from Mon 23 Nov 17:00 to Thu 26 Nov 14:00; meanwhile another audit fell due.
    second = await late_audit(db, cast, end_of(date(2026, 11, 24)))

    back = london(2026, 11, 26, 14, 0)
    assert await tick_at(db, back) == 1
    for minute in range(1, 5):
        assert await tick_at(db, back + timedelta(minutes=minute)) == 0

    reminders = await messages(db, cast.auditor, "reminder")
    assert len(reminders) == 2
    assert LATE_NOTICE in texts(reminders[-1].payload["card"])
    for audit_id in (first, second):
        late = [e for e in await events(db, "reminder_sent", audit_id) if e.after["late"]]
        assert len(late) == 1
    assert await count(db, ReminderDay) == 2


async def test_a_reminder_sent_on_time_is_not_marked_late(db: Database):
    cast = await cast_in(db)
    await late_audit(db, cast, end_of(date(2026, 11, 20)))
    # The service ran all weekend (ticks out of hours do nothing) and on Monday morning.
    for at in (london(2026, 11, 21, 10), london(2026, 11, 23, 8, 59)):
        assert await tick_at(db, at) == 0
    assert await tick_at(db, london(2026, 11, 23, 9, 0)) == 1
    assert await tick_at(db, london(2026, 11, 24, 9, 0)) == 1
    for message in await messages(db, cast.auditor):
        assert LATE_NOTICE not in texts(message.payload["card"])


async def test_each_kind_of_late_work_reaches_the_person_who_owes_it(db: Database):
    cast = await cast_in(db)
    thursday = date(2026, 11, 19)
    moderation = await late_audit(
        db, cast, end_of(thursday), state=AuditState.SUBMITTED,
        moderation_due_at=end_of(thursday),
    )  # fmt: skip
    urgent = await late_audit(
        db, cast, end_of(thursday), state=AuditState.MODERATED,
        final_grade=Grade.INADEQUATE, urgent_issues_due_at=end_of(thursday),
    )  # fmt: skip
    confirmed = await late_audit(
        db, cast, end_of(thursday), state=AuditState.MODERATED,
        final_grade=Grade.INADEQUATE, urgent_issues_due_at=end_of(thursday),
    )  # fmt: skip
    booking = await late_audit(
        db, cast, end_of(thursday), state=AuditState.MODERATED, uopp_due_at=end_of(thursday)
    )
    held = await late_audit(db, cast, end_of(thursday), state=AuditState.UOPP_BOOKED)
    async with db.sessions.begin() as session:
        for audit_id in (urgent, confirmed):
            audit = await repo.get_audit(session, audit_id)
            audit.team_manager_id = cast.manager.id
        await repo.record_event(session, cast.manager, "audit", confirmed, URGENT_CONFIRMED)
        await repo.add_meeting(session, booking, MeetingKind.UOPP, cast.head.id)
        meeting = await repo.add_meeting(
            session, held, MeetingKind.UOPP, cast.auditor.id,
            starts_at=london(2026, 11, 18, 10), ends_at=london(2026, 11, 18, 11),
        )  # fmt: skip
        meeting.state = MeetingState.BOOKED
        meeting.chair_id = cast.moderator.id

    assert await tick_at(db, london(2026, 11, 20, 9, 0)) == 3

    def shown(message: OutboxMessage) -> str:
        return texts(message.payload["card"])

    [to_moderator] = await messages(db, cast.moderator, "reminder")
    assert "moderate the audit" in shown(to_moderator)
    assert "record whether the UoPP meeting took place" in shown(to_moderator)
    [to_manager] = await messages(db, cast.manager, "reminder")
    assert shown(to_manager).count("confirm the urgent issues") == 1
    [to_head] = await messages(db, cast.head, "reminder")
    assert "book the UoPP meeting" in shown(to_head)
    chased = {(e.after["chase"], e.entity_id) for e in await events(db, "reminder_sent")}
    assert chased == {
        ("moderation", moderation),
        ("uopp_record", held),
        ("urgent_issues", urgent),
        ("uopp_booking", booking),
    }


async def test_work_done_or_no_longer_late_is_not_chased(db: Database):
    cast = await cast_in(db)
    submitted = await late_audit(db, cast, end_of(date(2026, 11, 19)), state=AuditState.SUBMITTED)
    closed = await late_audit(db, cast, end_of(date(2026, 11, 19)), state=AuditState.CLOSED)
    async with db.sessions.begin() as session:
        done = await repo.add_recommendation(
            session, closed, RecommendationLevel.SERVICE, "Audit supervision", None,
            cast.auditor.id, date(2026, 11, 10),
        )  # fmt: skip
        done.status = RecommendationStatus.DONE
        await repo.add_recommendation(
            session, submitted, RecommendationLevel.CHILD, "Not yet due", None,
            cast.auditor.id, date(2026, 11, 20),
        )  # fmt: skip

    assert await tick_at(db, london(2026, 11, 20, 12, 0)) == 0
    assert await count(db, Reminder) == 0


async def test_an_action_is_late_once_its_working_day_has_ended(db: Database):
    cast = await cast_in(db)
    audit_id = await late_audit(db, cast, end_of(date(2026, 12, 31)), state=AuditState.UOPP_HELD)
    async with db.sessions.begin() as session:
        await repo.add_recommendation(
            session, audit_id, RecommendationLevel.CHILD, "Visit", None, cast.auditor.id,
            date(2026, 11, 20),
        )  # fmt: skip
    assert await tick_at(db, london(2026, 11, 20, 16, 0)) == 0
    assert await tick_at(db, london(2026, 11, 23, 9, 0)) == 1


def _button_data(card: dict, verb: str) -> dict:
    found: list[dict] = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute" and node.get("verb") == verb:
                found.append(node["data"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(card)
    [data] = found
    return data


async def test_one_persons_failure_does_not_hold_up_the_others_and_is_retried(
    db: Database, monkeypatch
):
    cast = await cast_in(db)
    await late_audit(db, cast, end_of(date(2026, 11, 19)))
    await late_audit(db, cast, end_of(date(2026, 11, 19)), state=AuditState.SUBMITTED,
                     moderation_due_at=end_of(date(2026, 11, 19)))  # fmt: skip
    real = scheduler_reminders.remind_person

    async def broken_for_the_auditor(session, owner, chased, **kwargs):
        if owner.id == cast.auditor.id:
            raise RuntimeError("connection lost")
        await real(session, owner, chased, **kwargs)

    monkeypatch.setattr(scheduler_reminders, "remind_person", broken_for_the_auditor)
    # One chaser ticking on: the two people share a transaction, each in a savepoint; the
    # next minute's tick reads all due work again (the auditor's is no longer new).
    clock = FixedClock(london(2026, 11, 20, 9, 0))
    ticking = chaser(db, clock)
    assert await ticking.tick() == 1
    assert len(await messages(db, cast.moderator, "reminder")) == 1
    assert await messages(db, cast.auditor) == []
    assert await count(db, ReminderDay) == 1

    monkeypatch.setattr(scheduler_reminders, "remind_person", real)
    clock.advance(timedelta(minutes=1))
    assert await ticking.tick() == 1
    assert len(await messages(db, cast.auditor, "reminder")) == 1


async def test_the_daily_sweep_settles_reminders_whose_work_is_done(db: Database):
    cast = await cast_in(db)
    submitted = await late_audit(db, cast, end_of(date(2026, 11, 19)))
    still_late = await late_audit(db, cast, end_of(date(2026, 11, 19)))
    assert await tick_at(db, london(2026, 11, 20, 9, 0)) == 1
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, submitted)
        audit.state = AuditState.SUBMITTED

    sweep = london(2026, 11, 21, 7, 0)
    assert await chaser(db, FixedClock(sweep)).settle() == 1
    assert await chaser(db, FixedClock(sweep)).settle() == 0
    async with db.sessions() as session:
        done = await due.get_reminder(session, "audit", submitted)
        late = await due.get_reminder(session, "audit", still_late)
    assert done is not None and done.done_at == sweep
    assert late is not None and late.done_at is None


async def test_a_service_can_climb_its_own_ladder_sooner(db: Database):
    cast = await cast_in(db, reminder_tm_after_working_days=1, reminder_hos_after_working_days=2)
    await late_audit(db, cast, end_of(date(2026, 11, 20)))

    for day in (23, 24, 25):
        assert await tick_at(db, london(2026, 11, day, 9, 30)) == 1
    [copy] = await messages(db, cast.manager, "reminder_copy")
    [told] = await messages(db, cast.head, "reminder_copy")
    assert "Escalated" in texts(copy.payload["card"]) and told is not None
    assert [e.after["rung"] for e in await events(db, "reminder_sent")] == [1, 2, 3]


async def test_work_owed_by_a_leaver_goes_to_the_audit_team_once(db: Database):
    cast = await cast_in(db)
    audit_id = await late_audit(db, cast, end_of(date(2026, 11, 19)))
    async with db.sessions.begin() as session:
        service = await session.get(Service, cast.service_id)
        audit_team = await create_staff(session, roles=[(Role.AUDIT_TEAM, service)])
        auditor = await repo.get_staff(session, cast.auditor.id)
        auditor.active = False

    assert await tick_at(db, london(2026, 11, 20, 9, 0)) == 0
    assert await tick_at(db, london(2026, 11, 23, 9, 0)) == 0

    [told] = await messages(db, audit_team, "reminder_owner_left")
    assert "nobody to chase" in texts(told.payload["card"])
    assert await messages(db, cast.auditor) == []
    assert len(await events(db, "reminder_owner_left", audit_id)) == 1


async def test_an_organiser_who_has_not_chosen_from_the_options_is_chased(db: Database):
    cast = await cast_in(db)
    thursday = date(2026, 11, 19)
    waiting = await late_audit(
        db, cast, end_of(thursday), state=AuditState.MODERATED, uopp_due_at=end_of(thursday)
    )
    async with db.sessions.begin() as session:
        meeting = await repo.add_meeting(session, waiting, MeetingKind.UOPP, cast.head.id)
        meeting.state = MeetingState.NEEDS_ORGANISER

    assert await tick_at(db, london(2026, 11, 20, 9, 0)) == 1

    [to_organiser] = await messages(db, cast.head, "reminder")
    assert "book the UoPP meeting" in texts(to_organiser.payload["card"])


async def test_a_late_completeness_check_is_chased_with_the_audit_manager(db: Database):
    """The Audit Team's check is chased like any other late work: its service's Audit
    Manager (else the first of its Audit Team) is reminded, up the same ladder."""
    cast = await cast_in(db)
    async with db.sessions.begin() as session:
        service = await session.get(Service, cast.service_id)
        member = await create_staff(session, roles=[(Role.AUDIT_TEAM, service)])
        manager = await create_staff(session, roles=[(Role.AUDIT_MANAGER, service)])
    checked_by = end_of(date(2026, 11, 20))
    audit_id = await late_audit(
        db, cast, end_of(date(2026, 11, 18)), state=AuditState.SUBMITTED,
        check_due_at=checked_by, moderation_due_at=end_of(date(2026, 11, 30)),
    )  # fmt: skip

    assert await tick_at(db, london(2026, 11, 20, 16, 0)) == 0  # not late yet
    assert await tick_at(db, london(2026, 11, 23, 9, 0)) == 1

    [message] = await messages(db, manager, "reminder")
    assert "check the audit is complete" in texts(message.payload["card"])
    assert await messages(db, member, "reminder") == []
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, audit_id)
        assert audit is not None
        audit.check_due_at = None  # the check recorded
    await chaser(db, FixedClock(london(2026, 11, 24, 7, 0))).settle()
    assert await tick_at(db, london(2026, 11, 24, 9, 0)) == 0
