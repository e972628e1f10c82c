"""Tower Hamlets CSC's external check: "An external social work consultant is employed to
check the accuracy and impact of the audit programme twice a year. The consultant reviews a
sample of audits ... The findings are reported to the CSCIB." In January and July the
scheduler draws a seeded sample of the audits the moderation group moderated in the six
months before and sends it to the consultant, once; the consultant records findings once,
over HTTP, and the Audit Team is told."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from bot.demo import _load_programme
from cards.external_check import RECORD_EXTERNAL_CHECK
from dialogs.cycles import CycleRequest, open_cycle
from dialogs.external_check import start_external_checks
from storage import repositories as repo
from storage.demo import load_demo
from storage.models import Audit, FollowUp, Staff
from tests.bot.test_card_actions import AUDIT_TEAM, KLOES, person, press
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import execute_data, messages_to, texts
from tests.factories import create_staff
from tests.harness import RunningBot
from tests.scheduler.helpers import events
from workflow.calendar import FixedClock, SystemClock
from workflow.grades import Grade
from workflow.rules import ProgrammeRules
from workflow.states import AuditState

RULES = ProgrammeRules()
JANUARY = datetime(2027, 1, 4, 9, 30, tzinfo=UTC)  # the first working Monday of January


async def moderated_audits(
    db: Database, programme: str = "th-qaf-csc-yjs"
) -> tuple[Staff, list[Audit], list[Audit]]:
    """The consultant; ten CSC audits the group moderated between July and December 2026;
    and three it must not draw (moderated in June, in January itself, or invalidated)."""
    async with db.sessions.begin() as session:
        await load_demo(session)
        await _load_programme(session, programme)
        consultant = await create_staff(
            session, roles=["external_consultant@CSC"], display_name="Dana Reyes (Consultant)"
        )
        opened = await open_cycle(
            session,
            CycleRequest(service_code="CSC", month=date(2026, 7, 1), seed=3, total=13,
                         kloes=KLOES),
            rules=RULES,
            now=SystemClock().now(),
        )  # fmt: skip
        audits = await repo.list_audits_in_cycle(session, opened.cycle_id)
        moderator = await repo.get_staff_by_upn(session, "tom.fletcher@demo-council.gov.uk")
        assert moderator is not None
        for number, audit in enumerate(audits):
            audit.state = AuditState.MODERATED
            audit.initial_grade, audit.moderated_grade = Grade.GOOD, Grade.REQUIRES_IMPROVEMENT
            audit.final_grade, audit.moderator_id = Grade.REQUIRES_IMPROVEMENT, moderator.id
            audit.moderated_at = datetime(2026, 7, 2, 12, tzinfo=UTC) + timedelta(days=15 * number)
        audits[10].moderated_at = datetime(2026, 6, 30, 12, tzinfo=UTC)
        audits[11].moderated_at = datetime(2027, 1, 1, 12, tzinfo=UTC)
        audits[12].state = AuditState.INVALIDATED
        await session.flush()
        return consultant, audits[:10], audits[10:]


async def refs(db: Database, audits: list[Audit]) -> set[str]:
    async with db.sessions() as session:
        return {(await repo.get_case(session, a.case_id)).case_ref for a in audits}


async def test_twice_a_year_a_seeded_sample_goes_to_the_consultant_who_records_findings(
    db: Database, teams_bot: RunningBot
):
    consultant, period, outside = await moderated_audits(db)

    assert await start_external_checks(db.sessions, FixedClock(JANUARY), RULES) == 1
    assert await start_external_checks(db.sessions, FixedClock(JANUARY), RULES) == 0
    later = JANUARY + timedelta(days=1)
    assert await start_external_checks(db.sessions, FixedClock(later), RULES) == 0
    [message] = await messages_to(db, consultant, "external_check")
    card = message.payload["card"]
    shown = texts(card)
    # (The programme names the demo's CSC as its first CSC service.)
    title = "External check: MASH and Assessment and Intervention, July 2026 to December 2026"
    assert title in shown
    assert "go to the Children's Services Continuous Improvement Board (CSCIB)" in shown
    drawn = {ref for ref in await refs(db, period) if f"Case {ref}" in shown}
    assert len(drawn) == 6
    assert not [ref for ref in await refs(db, outside) if f"Case {ref}" in shown]
    assert "6 of the 10 audits moderated in that period, drawn at random with seed" in shown
    async with db.sessions() as session:
        [check] = (
            await session.scalars(select(FollowUp).where(FollowUp.outcome == "sample_sent"))
        ).all()
    assert check.details["population"] == 10 and len(check.details["audit_ids"]) == 6
    [drawn_event] = [
        e for e in await events(db, "external_check_drawn") if e.entity_id == check.service_id
    ]
    assert drawn_event.entity == "service" and drawn_event.after["seed"] == check.details["seed"]

    audit_team = await person(db, AUDIT_TEAM)
    refused = await press(teams_bot, audit_team, RECORD_EXTERNAL_CHECK,
                          **execute_data(card, RECORD_EXTERNAL_CHECK), findings="Mine")  # fmt: skip
    assert "Only the external checker this sample was sent to can do this" in texts(refused)
    blank = await press(teams_bot, consultant, RECORD_EXTERNAL_CHECK,
                        **execute_data(card, RECORD_EXTERNAL_CHECK), findings="  ")  # fmt: skip
    assert "Write your findings. Nothing was saved." in texts(blank)

    findings = "Grades were accurate in five of six; plans lacked timescales in two."
    data = execute_data(card, RECORD_EXTERNAL_CHECK)
    recorded = await press(teams_bot, consultant, RECORD_EXTERNAL_CHECK, **data, findings=findings)
    assert "Findings recorded by Dana Reyes (Consultant)" in texts(recorded)
    [told] = await messages_to(db, audit_team, "external_check")
    assert findings in texts(told.payload["card"])
    again = await press(teams_bot, consultant, RECORD_EXTERNAL_CHECK,
                        **execute_data(card, RECORD_EXTERNAL_CHECK), findings="Other")  # fmt: skip
    assert "already recorded, so nothing was changed" in texts(again)
    assert len(await events(db, "external_check_recorded")) == 1


async def test_no_check_outside_its_months_or_without_one_in_the_programme(db: Database):
    consultant, _, _ = await moderated_audits(db)
    february = datetime(2027, 2, 1, 9, 30, tzinfo=UTC)
    assert await start_external_checks(db.sessions, FixedClock(february), RULES) == 0
    saturday = datetime(2027, 1, 2, 9, 30, tzinfo=UTC)
    assert await start_external_checks(db.sessions, FixedClock(saturday), RULES) == 0
    assert not await messages_to(db, consultant, "external_check")


async def test_a_programme_without_an_external_check_draws_nothing(db: Database):
    consultant, _, _ = await moderated_audits(db, "th-early-help")
    assert await start_external_checks(db.sessions, FixedClock(JANUARY), RULES) == 0
    assert not await messages_to(db, consultant, "external_check")
