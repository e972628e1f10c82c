"""Each shipped programme end to end on the demo council, on a fixed clock: the timetable
through a year (who is asked for each cycle, and when), then a cycle proposed from its
card and run through the programme's own stages over HTTP, with who was told what, every
deadline by the programme's rules, and the reminders when work is late."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from dialogs.programmes import cycle_rules
from storage.enums import CycleState
from tests.bot.programme_year import CALENDAR, Year, london, moderate_agreeing
from tests.bot.test_card_actions import AUDIT_TEAM
from tests.bot.test_wizard_http import click, staff
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import texts
from tests.harness import bot_settings, start_bot
from tests.scheduler.helpers import events
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from workflow.calendar import FixedClock, WorkingCalendar
from workflow.deadlines import audit_due
from workflow.grades import Grade
from workflow.moderation_sample import decide
from workflow.rules import ProgrammeRules

DEMO = "@demo-council.gov.uk"
JANUARY = date(2027, 1, 1)


@pytest.fixture
async def start(
    db: Database, connector: ConnectorStandIn, identity: IdentityStandIn
) -> AsyncIterator:
    """Start a programme's year: the bot on a clock the test moves."""
    running: list = []

    async def begin(programme_id: str) -> Year:
        clock = FixedClock(datetime(2026, 12, 1, 9, tzinfo=UTC))
        settings = bot_settings(db, identity, scheduler_enabled=False)
        server, bot = await start_bot(settings, connector, identity, clock)
        running.append((server, bot))
        year = Year(db, bot, clock, programme_id)
        await year.load()
        return year

    yield begin
    for server, bot in running:
        await bot.http.close()
        await server.close()


async def rules_of(year: Year, cycle) -> ProgrammeRules:
    async with year.db.sessions() as session:
        return await cycle_rules(session, cycle, ProgrammeRules())


async def opened(
    year: Year, proposer, service: str, month: date, cases: int, name: str | None = None
):
    """The proposer opens (or sends for approval) the cycle from the timetable's card, on
    the Monday it was asked for, at 10:00."""
    asked_on = year.asked_on(service, month, name)
    year.clock.set(london(asked_on, 10, 0))
    card = await year.timetable_card(proposer, service, month, name)
    title = "Open the cycle" if "Open the cycle" in texts(card) else "Send the KLOEs for approval"
    shown = await click(
        year.bot, proposer, card, title,
        kloes="Is the child's voice heard?\nDoes oversight prevent drift?",
        cases=str(cases),
    )  # fmt: skip
    return shown


async def test_hillingdon_a_year_of_monthly_audits_a_sample_moderated_and_part_b(start):
    year: Year = await start("hillingdon-csc")
    psw = await year.person(f"nia.okoye{DEMO}")
    audit_team = await year.person(AUDIT_TEAM)

    await year.run_timetable(2027, [psw, audit_team])

    # Nine monthly and three thematic cycles, each asked of the Principal Social Worker once,
    # in the fortnight before its month; the Audit Team is not asked in this programme.
    year.assert_each_asked_once_in_time(2027, {"CSC"})
    assert len([key for key in year.asked if key[2].year == 2027]) == 12
    assert await year.told(audit_team, "timetable") == []

    shown = await opened(year, psw, "CSC", JANUARY, 3, "Monthly case audits")
    assert "the cycle is open: 3 audits allocated" in texts(shown)
    opened_at = year.clock.now()
    cycle = await year.cycle_of("Monthly case audits, January 2027")
    assert cycle.state is CycleState.OPEN and cycle.audit_tool_id == "hillingdon_monthly_audit"
    rules = await rules_of(year, cycle)
    calendar = WorkingCalendar.from_rules(rules)
    audits = await year.audits(cycle)
    due = audit_due(rules, calendar, opened_at, audit_month=cycle.month).due_at
    for audit in audits:
        assert audit.due_at == due and audit.moderator_id is None  # named if drawn
        assert await year.allocation_told(audit) == {"auditor", "practitioner", "team_manager"}

    # The auditors of the first two submit the next working day: one found immediate
    # safeguarding actions (Good), the other grades Requires Improvement.
    year.clock.set(london(CALENDAR.next_working_day(CALENDAR.local_date(opened_at)), 11))
    first, second, late = audits
    await year.do_audit(first, Grade.GOOD, safeguarding=True)
    await year.do_audit(second, Grade.REQUIRES_IMPROVEMENT)
    qa = await year.person(f"rukhsana.begum{DEMO}")
    for audit, grade in ((first, Grade.GOOD), (second, Grade.REQUIRES_IMPROVEMENT)):
        shown = await year.accept(audit, "Accept: draw for the moderation sample")
        drawn = decide(seed=cycle.selection_seed, audit_id=audit.id, initial_grade=grade,
                       percent=10)  # fmt: skip
        assert drawn.why in texts(shown)
        if drawn.in_sample:
            assert (await year.now(audit)).moderator_id == qa.id
            await moderate_agreeing(year, qa, audit)
        after = await year.now(audit)
        assert after.final_grade is grade and after.uopp_due_at is None

    # Part B: due in 2 working days after safeguarding actions, else at the next supervision
    # (20 working days); the practitioner and team manager each have the form.
    graded_on = CALENDAR.local_date(year.clock.now())
    for audit, days in ((first, 2), (second, 20)):
        after = await year.now(audit)
        assert CALENDAR.local_date(after.part_b_due_at) == calendar.add_working_days(
            graded_on, days
        )
        for who in (audit.practitioner_id, audit.team_manager_id):
            assert len(await year.told(await staff(year.db, who), "part_b")) >= 1
    # The second's team manager records it at supervision; the first's is not recorded.
    manager = await staff(year.db, second.team_manager_id)
    [form] = [m.payload["card"] for m in await year.told(manager, "part_b")
              if m.idempotency_key.startswith(f"part_b:audit:{second.id}:to")]  # fmt: skip
    await click(year.bot, manager, form, "Record part B",
                answer_1="Noted", answer_2="Agreed actions", answer_3="None needed")  # fmt: skip
    assert (await year.now(second)).part_b_due_at is None

    # The working day after the first's part B was due, 09:30: its practitioner is chased;
    # once the third audit is late, its auditor is too. Nobody else is.
    first_after = await year.now(first)
    chase_day = CALENDAR.next_working_day(CALENDAR.local_date(first_after.part_b_due_at))
    await year.remind(london(chase_day))
    practitioner = await staff(year.db, first.practitioner_id)
    part_b = "record part B of the audit with your team manager"
    assert any(
        part_b in texts(m.payload["card"]) for m in await year.told(practitioner, "reminder")
    )
    chased = [e.after for e in await events(year.db, "reminder_sent", first.id)]
    assert [(c["chase"], c["to"]) for c in chased] == [("part_b", practitioner.id)]
    assert not [
        e for e in await events(year.db, "reminder_sent", second.id) if e.after["chase"] == "part_b"
    ]  # recorded: never chased
    late_day = CALENDAR.next_working_day(CALENDAR.local_date(late.due_at))
    await year.remind(london(late_day))
    late_auditor = await staff(year.db, late.auditor_id)
    reminders = await year.told(late_auditor, "reminder")
    assert reminders and "submit the audit" in texts(reminders[-1].payload["card"])
    assert len(await events(year.db, "part_b_recorded")) == 1
    assert timedelta(0) < late.due_at - opened_at


async def test_haringey_light_touch_audits_each_month_and_every_grade_stands(start):
    year: Year = await start("haringey")
    audit_team = await year.person(AUDIT_TEAM)

    await year.run_timetable(2027, [audit_team])

    # Each month's light-touch audits and the themed audits, asked of the Audit Team once.
    year.assert_each_asked_once_in_time(2027, {"CSC"})
    assert len([key for key in year.asked if key[2].year == 2027]) == 15
    card = await year.timetable_card(audit_team, "CSC", JANUARY, "Light touch audits")
    assert "50 cases" in texts(card)  # the programme's 50 a month, suggested

    shown = await opened(year, audit_team, "CSC", JANUARY, 2, "Light touch audits")
    assert "the cycle is open: 2 audits allocated" in texts(shown)
    cycle = await year.cycle_of("Light touch audits, January 2027")
    assert cycle.audit_tool_id == "haringey_light_touch"
    first, second = await year.audits(cycle)
    for audit in (first, second):
        assert audit.moderator_id is None
        assert await year.allocation_told(audit) == {"auditor", "practitioner", "team_manager"}

    year.clock.set(london(CALENDAR.next_working_day(CALENDAR.local_date(year.clock.now())), 11))
    submitted = await year.do_audit(first, Grade.REQUIRES_IMPROVEMENT)
    assert "this programme does not moderate audits" in texts(submitted)
    accepted = await year.accept(first, "Accept as complete")
    assert "The auditor's grade stands" in texts(accepted)
    after = await year.now(first)
    assert after.final_grade is Grade.REQUIRES_IMPROVEMENT and after.moderator_id is None
    assert after.uopp_due_at is None and after.part_b_due_at is None  # no meeting, no part B
    practitioner = await staff(year.db, first.practitioner_id)
    stands = await year.told(practitioner, "grade_stands")
    assert len(stands) == 1 and "Requires Improvement" in stands[0].payload["text"]
    assert await year.book_meetings() == 0

    # Once the second is late, its auditor is chased; nobody is chased about moderation.
    await year.remind(london(CALENDAR.next_working_day(CALENDAR.local_date(second.due_at))))
    chased = [e.after["chase"] for e in await events(year.db, "reminder_sent")]
    assert "audit" in chased and "moderation" not in chased and "uopp_booking" not in chased
