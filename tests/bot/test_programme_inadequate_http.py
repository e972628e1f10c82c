"""The Inadequate fast path is Tower Hamlets Early Help's choice. A programme without it
(Hillingdon: "escalates the finding to the relevant Team Manager immediately") tells the
people it names at once, and the audit goes on as any other: checked, then moderated by
the month's end, its meeting on the ordinary timescale, no weekly reports. Driven over
HTTP through the wizard, as the auditor submits."""

from __future__ import annotations

from datetime import date

from dialogs.cycles import CycleRequest, open_cycle
from dialogs.inadequate import FAST_PATH_KEY
from dialogs.programmes import load_programme
from dialogs.progress_reports import needs_progress_reports
from storage import repositories as repo
from storage.demo import load_demo
from storage.models import Audit
from tests.bot.test_card_actions import AUDIT_TEAM, KLOES, person
from tests.bot.test_wizard_http import (
    allocation_card,
    answer_every_step,
    audit_now,
    card_sent,
    click,
    moderate_agreeing,
    staff,
)
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import messages_to
from tests.harness import RunningBot
from workflow.calendar import SystemClock, WorkingCalendar
from workflow.grades import Grade
from workflow.programme import shipped_programmes
from workflow.rules import ProgrammeRules

WITHOUT_FAST_PATH = (
    shipped_programmes()["th-early-help"]
    .replace("fast_path = true", "fast_path = false")
    .replace(
        'escalate_to = ["practitioner", "team_manager", "coordinator", "audit_manager", '
        '"head_of_service"]',
        'escalate_to = ["team_manager"]',
    )
)


async def allocated_under(db: Database, programme: str) -> Audit:
    """An Early Help audit of the demo council, its cycle opened under `programme`."""
    async with db.sessions.begin() as session:
        await load_demo(session)
        await load_programme(session, programme, actor="test", now=SystemClock().now())
        opened = await open_cycle(
            session,
            CycleRequest(service_code="EH", month=date(2026, 12, 1), seed=3, total=4, kloes=KLOES),
            rules=ProgrammeRules(),
            now=SystemClock().now(),
        )
        return (await repo.list_audits_in_cycle(session, opened.cycle_id))[0]


async def test_without_the_fast_path_inadequate_is_escalated_and_goes_on_as_usual(
    db: Database, teams_bot: RunningBot
):
    assert "fast_path = false" in WITHOUT_FAST_PATH and '["team_manager"]' in WITHOUT_FAST_PATH
    audit = await allocated_under(db, WITHOUT_FAST_PATH)
    due_by_months_end = audit.moderation_due_at
    auditor = await staff(db, audit.auditor_id)
    moderator = await staff(db, audit.moderator_id)
    team_manager = await staff(db, audit.team_manager_id)
    practitioner = await staff(db, audit.practitioner_id)
    card = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")
    summary, _ = await answer_every_step(teams_bot, auditor, card, Grade.INADEQUATE)

    await click(teams_bot, auditor, summary, "Submit the audit")

    submitted = await audit_now(db, audit.id)
    assert submitted.draft[FAST_PATH_KEY] is False
    assert submitted.moderation_due_at == due_by_months_end  # not one working day
    assert await messages_to(db, moderator, "moderation") == []  # asked after the check
    [escalated] = await messages_to(db, team_manager, "inadequate")
    assert "graded the work on case" in escalated.payload["text"]
    assert await messages_to(db, practitioner, "inadequate") == []

    audit_team = await person(db, AUDIT_TEAM)
    await click(
        teams_bot,
        audit_team,
        await card_sent(db, audit_team, "completeness"),
        "Accept: send for moderation",
    )
    await moderate_agreeing(teams_bot, moderator, await card_sent(db, moderator, "moderation"))

    moderated = await audit_now(db, audit.id)
    assert moderated.final_grade is Grade.INADEQUATE
    assert moderated.urgent_issues_due_at is None
    calendar = WorkingCalendar.from_rules(ProgrammeRules())
    days = calendar.working_days_between(
        moderated.moderated_at.date(), moderated.uopp_due_at.date()
    )
    assert days == 5  # the ordinary UoPP timescale, not the fast path's three days
    assert not needs_progress_reports(moderated)


async def test_with_the_fast_path_the_moderator_is_asked_at_submission(
    db: Database, teams_bot: RunningBot
):
    audit = await allocated_under(db, shipped_programmes()["th-early-help"])
    auditor = await staff(db, audit.auditor_id)
    moderator = await staff(db, audit.moderator_id)
    card = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")
    summary, _ = await answer_every_step(teams_bot, auditor, card, Grade.INADEQUATE)

    await click(teams_bot, auditor, summary, "Submit the audit")

    submitted = await audit_now(db, audit.id)
    assert submitted.draft[FAST_PATH_KEY] is True
    assert len(await messages_to(db, moderator, "moderation")) == 1
    assert len(await messages_to(db, await staff(db, audit.practitioner_id), "inadequate")) == 1
