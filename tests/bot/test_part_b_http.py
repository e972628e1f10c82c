"""Part B at supervision, as Hillingdon follows up an audit: once the grade is final, the
practitioner and team manager get part B of the audit form, due at the next supervision
(20 working days) or within 2 working days when the auditor found immediate safeguarding
actions; either records it once, the wrong person and a second press change nothing, and
the practitioner is chased like any other late work until it is recorded."""

from __future__ import annotations

from datetime import date, timedelta

from cards.part_b import answer_field
from dialogs.cycles import CycleRequest, open_cycle
from dialogs.programmes import load_programme
from storage import repositories as repo
from storage.demo import load_demo
from storage.models import Audit
from tests.bot.test_card_actions import AUDIT_TEAM, KLOES, person, press
from tests.bot.test_waiting_http import opens, say
from tests.bot.test_wizard_http import allocation_card, audit_now, click, staff
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import messages_to, texts
from tests.dialogs.test_wizard_cards import errors_in, fill_step, step_of
from tests.harness import RunningBot
from tests.scheduler.helpers import events, tick_at
from workflow.calendar import SystemClock, WorkingCalendar
from workflow.grades import Grade
from workflow.programme import shipped_programmes
from workflow.rules import ProgrammeRules
from workflow.states import AuditState
from workflow.wizard_rules import SAFEGUARDING

# Hillingdon's programme with nothing moderated, so each grade stands once accepted.
HILLINGDON = (
    shipped_programmes()["hillingdon-csc"]
    .replace('mode = "sample"', 'mode = "none"')
    .replace('by = ["qa_officer", "head_of_safeguarding_qa"]\nsample = { percent = 10 }\n', "")
    .replace('findings_to = ["smt"]\n', "")
)


async def hillingdon_audits(db: Database, cases: int) -> list[Audit]:
    async with db.sessions.begin() as session:
        await load_demo(session)
        await load_programme(session, HILLINGDON, actor="test", now=SystemClock().now())
        opened = await open_cycle(
            session,
            CycleRequest(
                service_code="CSC", month=date(2026, 12, 1), seed=3, total=cases, kloes=KLOES
            ),
            rules=ProgrammeRules(),
            now=SystemClock().now(),
        )
        return await repo.list_audits_in_cycle(session, opened.cycle_id)


async def graded_and_accepted(
    db: Database, bot: RunningBot, audit: Audit, *, safeguarding: bool
) -> None:
    """The auditor grades the audit Good (saying whether immediate safeguarding actions were
    found) and submits it; the Audit Team accepts it, and the grade stands."""
    auditor = await staff(db, audit.auditor_id)
    card = await click(bot, auditor, await allocation_card(db, audit), "Start audit")
    while step_of(card) != "_summary":
        typed = fill_step(card, Grade.GOOD, today=date.today(), outcomes_met=True)
        if SAFEGUARDING in typed:
            assert "Immediate safeguarding actions" in texts(card)
            typed[SAFEGUARDING] = "true" if safeguarding else "false"
        card = await click(bot, auditor, card, "Save and continue", **typed)
        assert not errors_in(card), errors_in(card)
    if safeguarding:
        assert "immediate safeguarding actions" in texts(card)
    await click(bot, auditor, card, "Submit the audit")
    audit_team = await person(db, AUDIT_TEAM)
    [check] = [m.payload["card"] for m in await messages_to(db, audit_team, "completeness")]
    await click(bot, audit_team, check, "Accept as complete")


async def part_b_card_of(db: Database, who, audit: Audit) -> dict:
    [message] = [
        m for m in await messages_to(db, who, "part_b")
        if m.idempotency_key.startswith(f"part_b:audit:{audit.id}:to")
    ]  # fmt: skip
    return message.payload["card"]


async def test_part_b_goes_to_the_practitioner_and_manager_and_is_recorded_once(
    db: Database, teams_bot: RunningBot
):
    [audit] = await hillingdon_audits(db, 1)
    practitioner = await staff(db, audit.practitioner_id)
    manager = await staff(db, audit.team_manager_id)
    auditor = await staff(db, audit.auditor_id)
    told = texts(await allocation_card(db, audit))
    assert "the last 6 months of work, or since the latest referral if that is sooner" in told

    await graded_and_accepted(db, teams_bot, audit, safeguarding=False)

    after = await audit_now(db, audit.id)
    assert after.state is AuditState.MODERATED and after.final_grade is Grade.GOOD
    assert after.uopp_due_at is None  # no UoPP meeting: part B instead
    calendar = WorkingCalendar.from_rules(ProgrammeRules())
    [asked] = await events(db, "part_b_requested", audit.id)
    graded_on = calendar.local_date(asked.occurred_at)
    assert asked.after["working_days"] == 20 and asked.after["safeguarding"] is False
    due_day = calendar.add_working_days(graded_on, 20)
    assert calendar.local_date(after.part_b_due_at) == due_day
    card = await part_b_card_of(db, practitioner, audit)
    assert "Complete it at your next supervision" in texts(card)
    assert "Note the findings of the audit" in texts(card)
    assert texts(await part_b_card_of(db, manager, audit)) == texts(card)

    # Lost in the chat, it is in both people's `my audits`, with Open.
    for who in (practitioner, manager):
        listed = await say(teams_bot, who, "my audits")
        assert "record part B of the audit" in texts(listed)
        [item] = [o for o in opens(listed) if o["item"] == "part_b"]
        assert "Record part B" in texts(await press(teams_bot, who, "waiting.open", **item))
    outsider = await press(teams_bot, auditor, "waiting.open", **item)
    assert "Only the person it waits on can do this" in texts(outsider)

    refused = await click(teams_bot, auditor, card, "Record part B")
    assert "Only the practitioner whose work was audited, or their team manager" in texts(refused)
    blank = await click(teams_bot, practitioner, card, "Record part B", **{answer_field(1): "x"})
    assert "Answer every question before recording part B (not yet: 2, 3)" in texts(blank)
    assert not await events(db, "part_b_recorded", audit.id)

    answers = {answer_field(n): f"Agreed in supervision, point {n}" for n in (1, 2, 3)}
    recorded = await click(teams_bot, manager, card, "Record part B", **answers)

    assert f"Recorded by {manager.display_name}" in texts(recorded)
    assert "Agreed in supervision, point 2" in texts(recorded)
    recorded_now = await audit_now(db, audit.id)
    assert recorded_now.part_b_due_at is None
    assert recorded_now.state is AuditState.CLOSED  # part B was all that was owed
    copies = await messages_to(db, practitioner, "part_b")
    assert len([m for m in copies if "recorded" in m.idempotency_key]) == 1
    audit_team = await person(db, AUDIT_TEAM)
    assert any("recorded" in m.idempotency_key for m in await messages_to(db, audit_team, "part_b"))
    again = await click(teams_bot, practitioner, card, "Record part B", **answers)
    assert "Part B was already recorded, so nothing was changed." in texts(again)
    assert len(await events(db, "part_b_recorded", audit.id)) == 1
    assert not [
        o for o in opens(await say(teams_bot, manager, "my audits")) if o["item"] == "part_b"
    ]

    # Recorded, it is no longer chased.
    late = after.part_b_due_at + timedelta(days=7)
    await tick_at(db, late)
    assert not await messages_to(db, practitioner, "reminder")


async def test_safeguarding_actions_bring_part_b_forward_and_it_is_chased_when_late(
    db: Database, teams_bot: RunningBot
):
    [audit] = await hillingdon_audits(db, 1)
    practitioner = await staff(db, audit.practitioner_id)

    await graded_and_accepted(db, teams_bot, audit, safeguarding=True)

    after = await audit_now(db, audit.id)
    [asked] = await events(db, "part_b_requested", audit.id)
    assert asked.after["working_days"] == 2 and asked.after["safeguarding"] is True
    calendar = WorkingCalendar.from_rules(ProgrammeRules())
    due_day = calendar.add_working_days(calendar.local_date(asked.occurred_at), 2)
    assert calendar.local_date(after.part_b_due_at) == due_day
    card = await part_b_card_of(db, practitioner, audit)
    assert "Immediate safeguarding actions were found in the audit" in texts(card)

    # The working day after it was due, at 10:00, the practitioner is reminded.
    next_day = calendar.add_working_days(due_day, 1)
    await tick_at(db, calendar.start_of_working_day(next_day) + timedelta(hours=1))
    [reminder] = await messages_to(db, practitioner, "reminder")
    assert "record part B of the audit with your team manager" in texts(reminder.payload["card"])
