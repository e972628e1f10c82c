"""Each shipped programme end to end on the demo council, on a fixed clock: the timetable
through a year (who is asked for each cycle, and when), then a cycle proposed from its
card and run through the programme's own stages over HTTP, with who was told what, every
deadline by the programme's rules, and the reminders when work is late."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest

from dialogs.external_check import start_external_checks
from dialogs.programmes import cycle_rules
from storage.enums import CycleState
from tests.bot.programme_year import CALENDAR, Year, london, moderate_agreeing
from tests.bot.test_card_actions import AUDIT_TEAM
from tests.bot.test_wizard_http import click, staff
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import texts
from tests.factories import create_staff
from tests.harness import bot_settings, start_bot
from tests.scheduler.helpers import events
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn
from workflow.calendar import FixedClock, WorkingCalendar
from workflow.deadlines import audit_due
from workflow.grades import Grade
from workflow.moderation_sample import decide
from workflow.rules import ProgrammeRules
from workflow.states import AuditState

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
    # The three themed months go to who sets the theme as well (the SMT, and the Head of
    # Safeguarding and QA, who is on the demo council).
    head_of_qa = await year.person(f"rukhsana.begum{DEMO}")
    themed = [m.payload["card"] for m in await year.told(head_of_qa, "timetable")]
    assert len(themed) == 3 and all("Thematic audit" in texts(card) for card in themed)

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
    assert after.state is AuditState.CLOSED  # nothing more is owed on it
    [closed] = await events(year.db, "closed", first.id)
    assert closed.before["state"] == "moderated"
    practitioner = await staff(year.db, first.practitioner_id)
    stands = await year.told(practitioner, "grade_stands")
    assert len(stands) == 1 and "Requires Improvement" in stands[0].payload["text"]
    assert await year.book_meetings() == 0

    # Once the second is late, its auditor is chased; nobody is chased about moderation.
    await year.remind(london(CALENDAR.next_working_day(CALENDAR.local_date(second.due_at))))
    chased = [e.after["chase"] for e in await events(year.db, "reminder_sent")]
    assert "audit" in chased and "moderation" not in chased and "uopp_booking" not in chased


async def test_city_of_london_reviews_moderated_in_two_tiers_with_the_panel(start):
    year: Year = await start("city-of-london")
    head_of_qa = await year.person(f"rukhsana.begum{DEMO}")
    audit_team = await year.person(AUDIT_TEAM)

    await year.run_timetable(2027, [head_of_qa, audit_team])

    # Monthly reviews and the two multi-agency audits, on both services, asked of the Head
    # of Safeguarding and QA, who selects the cases.
    year.assert_each_asked_once_in_time(2027, {"CSC", "EH"})
    assert len([key for key in year.asked if key[2].year == 2027]) == 28
    assert await year.told(audit_team, "timetable") == []

    name = "Practice and Impact Reviews"
    shown = await opened(year, head_of_qa, "CSC", JANUARY, 2, name)
    assert "the cycle is open: 2 audits allocated" in texts(shown)
    cycle = await year.cycle_of(f"{name}, January 2027")
    sent, kept = await year.audits(cycle)
    for review in (sent, kept):  # tier one: the Head of Safeguarding and QA, named now
        assert review.moderator_id == head_of_qa.id
        assert await year.allocation_told(review) == {
            "auditor", "moderator", "practitioner", "team_manager"
        }  # fmt: skip

    year.clock.set(london(CALENDAR.next_working_day(CALENDAR.local_date(year.clock.now())), 11))
    for review in (sent, kept):
        await year.do_audit(review, Grade.GOOD)
        await year.accept(review, "Accept: send for moderation")
    await moderate_agreeing(year, head_of_qa, kept, to_panel="false")
    result = await moderate_agreeing(year, head_of_qa, sent, to_panel="true")
    assert "goes on to the Senior Leadership Moderation Panel" in texts(result)
    referred_on = CALENDAR.local_date(year.clock.now())

    # The panel's meeting: its chair, members and the reviewer, within ten working days.
    assert await year.book_meetings() == 1
    chair = await year.person(f"elizabeth.carr{DEMO}")
    reviewer = await staff(year.db, sent.auditor_id)
    [booked] = await year.told(reviewer, "moderation_group_meeting")
    assert "Senior Leadership Moderation Panel: the meeting is booked" in texts(
        booked.payload["card"]
    )
    [planned] = await events(year.db, "panel_meeting_planned")
    assert {chair.id, reviewer.id} <= set(planned.after["attendees"])
    [when] = await events(year.db, "moderation_group_meeting_booked")
    starts = datetime.fromisoformat(when.after["starts_at"])
    assert referred_on < CALENDAR.local_date(starts) <= CALENDAR.add_working_days(referred_on, 10)

    # At the panel the members disagree; the chair's deciding say makes it Requires
    # Improvement, which everyone who had the result is sent again.
    [card] = [m.payload["card"] for m in await year.told(chair, "panel")]
    year.clock.set(starts + timedelta(hours=2))
    decided = await click(
        year.bot, chair, card, "Record the panel's decision",
        grade="requires_improvement", chair_decided="true", rationale="Drift in the plan.",
    )  # fmt: skip
    assert "with the chair's deciding say" in texts(decided)
    assert (await year.now(sent)).final_grade is Grade.REQUIRES_IMPROVEMENT
    assert (await year.now(kept)).final_grade is Grade.GOOD
    practitioner = await staff(year.db, sent.practitioner_id)
    final = [m for m in await year.told(practitioner, "moderation")
             if m.idempotency_key.startswith(f"panel:audit:{sent.id}")]  # fmt: skip
    assert len(final) == 1
    assert (await year.now(sent)).uopp_due_at is None  # no follow-up meeting in this programme


async def test_tower_hamlets_csc_on_a_rolling_timetable_moderated_by_a_group(start):
    year: Year = await start("th-qaf-csc-yjs")
    audit_team = await year.person(AUDIT_TEAM)

    await year.run_timetable(2027, [audit_team])

    # MASH and Assessment (run on the demo's CSC) twice a year on the rolling timetable,
    # Early Help every other month; Youth Service and YJS are not on the demo council.
    year.assert_each_asked_once_in_time(2027, {"CSC", "EH"})
    csc = sorted(month for (_, code, month) in year.asked if code == "CSC" and month.year == 2027)
    assert len(csc) == 2
    name = "Understanding our Practice: Children's Social Care"
    shown = await opened(year, audit_team, "CSC", csc[0], 2, name)
    assert "the cycle is open: 2 audits allocated" in texts(shown)
    cycle = await year.cycle_of(f"{name}, {csc[0]:%B %Y}")
    good, weaker = await year.audits(cycle)
    for audit in (good, weaker):
        assert audit.moderator_id is None  # the group moderates, at its meeting

    # The group's meeting is booked between the audits' due day and the moderation deadline.
    assert await year.book_meetings() == 1
    [when] = await events(year.db, "moderation_group_meeting_booked")
    starts = datetime.fromisoformat(when.after["starts_at"])
    assert good.due_at < starts and starts < good.moderation_due_at
    member = await year.person(f"helen.whitfield{DEMO}")
    assert len(await year.told(member, "moderation_group_meeting")) == 1

    year.clock.set(london(CALENDAR.next_working_day(CALENDAR.local_date(year.clock.now())), 11))
    for audit, grade in ((good, Grade.GOOD), (weaker, Grade.REQUIRES_IMPROVEMENT)):
        await year.do_audit(audit, grade)
        shown = await year.accept(audit, "Accept: send to the moderation group")
        assert "It meets on" in texts(shown)
    year.clock.set(starts + timedelta(minutes=30))  # at the meeting
    recorder = member  # any member of the group records its moderation
    for audit in (good, weaker):
        await moderate_agreeing(year, recorder, audit)
        assert (await year.now(audit)).moderator_id == recorder.id

    # A follow-up (UoPP) meeting for Requires Improvement only, within the programme's days.
    assert (await year.now(good)).uopp_due_at is None
    after = await year.now(weaker)
    assert after.uopp_due_at is not None and after.uopp_due_at > year.clock.now()
    assert await year.book_meetings() == 1

    # The external consultant's check, in the next of January and July: both audits the group
    # moderated are in its sample (the sample is six, the period holds two).
    async with year.db.sessions.begin() as session:
        consultant = await create_staff(
            session, roles=["external_consultant@CSC"], display_name="Dana Reyes"
        )
    moderated = CALENDAR.local_date(year.clock.now())
    if moderated.month < 7:
        check = date(moderated.year, 7, 1)
    else:
        check = date(moderated.year + 1, 1, 1)
    first_day = CALENDAR.next_working_day(check - timedelta(days=1))
    year.clock.set(london(first_day, 9, 30))
    assert await start_external_checks(year.db.sessions, year.clock, ProgrammeRules()) == 1
    [sample] = await year.told(consultant, "external_check")
    for audit in (good, weaker):
        assert f"Case {await year.ref(audit)}" in texts(sample.payload["card"])
    assert "2 of the 2 audits moderated in that period" in texts(sample.payload["card"])


async def test_tower_hamlets_early_help_kloes_approved_then_every_audit_moderated_and_met(start):
    year: Year = await start("th-early-help")
    audit_team = await year.person(AUDIT_TEAM)

    await year.run_timetable(2027, [audit_team])

    # Six cycles a year, every other month, asked of the Audit Team.
    year.assert_each_asked_once_in_time(2027, {"EH"})
    months = sorted(month for (_, code, month) in year.asked if month.year == 2027)
    assert len(months) == 6
    name = "Understanding our Practice"
    shown = await opened(year, audit_team, "EH", months[0], 2, name)
    assert "Sent for approval" in texts(shown)
    assert "Samuel Adeyemi (Head of Service), Grace Mensah" in texts(shown)
    cycle = await year.cycle_of(f"{name}, {months[0]:%B %Y}")
    assert cycle.state is CycleState.PROPOSED

    # The Head of Service, coordinator and Divisional Director each approve the KLOEs; the
    # cycle opens on the last approval.
    for upn, role in (("samuel.adeyemi", "Head of Service"), ("grace.mensah", "Coordinator"),
                      ("margaret.okafor", "Divisional Director")):  # fmt: skip
        approver = await year.person(f"{upn}{DEMO}")
        [message] = await year.told(approver, "kloe_approval")
        card = message.payload["card"]
        [title] = [t for t in texts(card).splitlines() if t.startswith("Approve as")]
        assert role in title
        await click(year.bot, approver, card, title)
    cycle = await year.cycle_of(f"{name}, {months[0]:%B %Y}")
    assert cycle.state is CycleState.OPEN
    first, second = await year.audits(cycle)
    for audit in (first, second):
        assert await year.allocation_told(audit) == {
            "auditor", "moderator", "practitioner", "team_manager"
        }  # fmt: skip

    year.clock.set(london(CALENDAR.next_working_day(CALENDAR.local_date(year.clock.now())), 11))
    await year.do_audit(first, Grade.GOOD)
    await year.accept(first, "Accept: send for moderation")
    moderator = await staff(year.db, first.moderator_id)
    await moderate_agreeing(year, moderator, first)
    after = await year.now(first)
    assert after.final_grade is Grade.GOOD and after.uopp_due_at is not None  # every audit meets
    assert await year.book_meetings() == 1
    assert (await year.now(first)).state.value == "uopp_booked"

    # The second, never submitted: its auditor is chased the working day after it was due.
    await year.remind(london(CALENDAR.next_working_day(CALENDAR.local_date(second.due_at))))
    chased = [(e.after["chase"], e.after["to"]) for e in await events(year.db, "reminder_sent")]
    assert ("audit", second.auditor_id) in chased
