"""Moderation as the programme says, driven over HTTP as people do it: Hillingdon's QA
service moderates a sample drawn reproducibly when each audit is accepted, and the rest
keep the auditor's grade; a programme without moderation lets every grade stand. The
Audit Team's card says which, and why."""

from __future__ import annotations

from datetime import date

from dialogs.cycles import CycleRequest, open_cycle
from dialogs.programmes import load_programme
from storage import repositories as repo
from storage.demo import load_demo
from storage.models import Audit, Meeting
from tests.bot.test_card_actions import AUDIT_TEAM, KLOES, person
from tests.bot.test_wizard_http import (
    allocation_card,
    answer_every_step,
    audit_now,
    click,
    staff,
)
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import count_rows, messages_to, texts
from tests.harness import RunningBot
from workflow.calendar import SystemClock
from workflow.grades import Grade
from workflow.moderation_sample import decide
from workflow.programme import shipped_programmes
from workflow.rules import ProgrammeRules
from workflow.states import AuditState

# With the cycle's seed 3, audits 1 to 4 draw 0.313, 0.500, 0.191 and 0.268: two in, two out.
HILLINGDON_30 = shipped_programmes()["hillingdon-csc"].replace("percent = 10", "percent = 30")
NO_MODERATION = shipped_programmes()["th-early-help"].replace(
    'mode = "every_audit"\nby = ["moderator"]', 'mode = "none"'
)


async def opened_under(db: Database, programme: str, service: str, cases: int) -> list[Audit]:
    """The demo council's audits of a cycle opened under `programme`."""
    async with db.sessions.begin() as session:
        await load_demo(session)
        await load_programme(session, programme, actor="test", now=SystemClock().now())
        opened = await open_cycle(
            session,
            CycleRequest(
                service_code=service, month=date(2026, 12, 1), seed=3, total=cases, kloes=KLOES
            ),
            rules=ProgrammeRules(),
            now=SystemClock().now(),
        )
        return await repo.list_audits_in_cycle(session, opened.cycle_id)


async def submitted_and_accepted(db: Database, bot: RunningBot, audit: Audit, *, then: str) -> dict:
    """Walk the audit to Good, submit it (the auditor is told what happens `then`), and
    accept it as the Audit Team: their card."""
    auditor = await staff(db, audit.auditor_id)
    card = await click(bot, auditor, await allocation_card(db, audit), "Start audit")
    summary, _ = await answer_every_step(bot, auditor, card, Grade.GOOD)
    submitted = await click(bot, auditor, summary, "Submit the audit")
    assert then in texts(submitted)
    audit_team = await person(db, AUDIT_TEAM)
    checks = [
        m.payload["card"]
        for m in await messages_to(db, audit_team, "completeness")
        if f"case {await _ref(db, audit)}" in texts(m.payload["card"])
    ]
    [title] = [
        t for t in ("Accept: draw for the moderation sample", "Accept as complete")
        if t in texts(checks[-1])
    ]  # fmt: skip
    return await click(bot, audit_team, checks[-1], title)


async def _ref(db: Database, audit: Audit) -> str:
    async with db.sessions() as session:
        case = await repo.get_case(session, audit.case_id)
    return case.case_ref


async def test_a_sample_is_drawn_reproducibly_and_the_rest_keep_their_grade(
    db: Database, teams_bot: RunningBot
):
    audits = await opened_under(db, HILLINGDON_30, "CSC", 4)
    assert all(audit.moderator_id is None for audit in audits)  # named when drawn
    told = texts(await allocation_card(db, audits[0]))
    assert "chosen if the audit is drawn for the moderation sample" in told
    async with db.sessions() as session:
        cycle = await repo.get_cycle(session, audits[0].cycle_id)
    outcomes = []
    for audit in audits:
        shown = await submitted_and_accepted(
            db, teams_bot, audit, then="then it is drawn for the moderation sample"
        )
        expected = decide(
            seed=cycle.selection_seed, audit_id=audit.id, initial_grade=Grade.GOOD, percent=30
        )
        assert expected.why in texts(shown)
        after = await audit_now(db, audit.id)
        auditor = await staff(db, audit.auditor_id)
        if expected.in_sample:
            assert after.state is AuditState.SUBMITTED and after.moderator_id is not None
            moderator = await staff(db, after.moderator_id)
            assert moderator.id != auditor.id
            assert len(await messages_to(db, moderator, "moderation")) >= 1
            assert f"{moderator.display_name} has been asked to moderate it." in texts(shown)
        else:
            assert after.state is AuditState.MODERATED
            assert (after.final_grade, after.moderated_grade) == (Grade.GOOD, None)
            [told] = [
                m for m in await messages_to(db, auditor, "grade_stands")
                if m.idempotency_key.startswith(f"grade_stands:audit:{audit.id}")
            ]  # fmt: skip
            assert "The auditor's grade, Good, stands." in told.payload["text"]
            again = await click(teams_bot, auditor, await allocation_card(db, audit), "Start audit")
            assert "not moderated: the auditor's grade stands" in texts(again)
            assert await count_rows(db, Meeting, Meeting.audit_id == audit.id) == 0  # part B
        outcomes.append(expected.in_sample)
    assert True in outcomes and False in outcomes, outcomes


async def test_without_moderation_every_grade_stands_and_the_follow_up_goes_on(
    db: Database, teams_bot: RunningBot
):
    assert 'mode = "none"' in NO_MODERATION
    [audit, *_] = await opened_under(db, NO_MODERATION, "EH", 1)
    assert audit.moderator_id is None
    told = texts(await allocation_card(db, audit))
    assert "none: this programme does not moderate audits" in told

    shown = await submitted_and_accepted(
        db, teams_bot, audit, then="this programme does not moderate audits."
    )

    assert "This programme does not moderate audits." in texts(shown)
    after = await audit_now(db, audit.id)
    assert after.state is AuditState.MODERATED and after.final_grade is Grade.GOOD
    assert after.uopp_due_at is not None  # Tower Hamlets Early Help still meets after every audit
    assert await count_rows(db, Meeting, Meeting.audit_id == audit.id) == 1
    practitioner = await staff(db, audit.practitioner_id)
    assert len(await messages_to(db, practitioner, "grade_stands")) == 1
