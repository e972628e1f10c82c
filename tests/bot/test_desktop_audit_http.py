"""A desktop audit, as Hillingdon's ad hoc audits are "completed as a desktop exercise":
the auditor works from the record with no conversation step, the completeness check does
not look for one, the Audit Team cannot invalidate it for the want of one, and the
practitioner is told nobody will ask them for a conversation."""

from __future__ import annotations

from datetime import date

from dialogs.cycles import CycleRequest, open_cycle
from dialogs.programmes import load_programme
from storage import repositories as repo
from storage.demo import load_demo
from storage.models import Audit
from tests.bot.test_card_actions import AUDIT_TEAM, person
from tests.bot.test_wizard_http import (
    allocation_card,
    answer_every_step,
    audit_now,
    click,
    staff,
)
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import messages_to, texts
from tests.harness import RunningBot
from workflow.calendar import SystemClock
from workflow.grades import Grade
from workflow.programme import shipped_programmes
from workflow.rules import ProgrammeRules
from workflow.states import AuditState

HILLINGDON = shipped_programmes()["hillingdon-csc"]


async def desktop_audit(db: Database) -> Audit:
    async with db.sessions.begin() as session:
        await load_demo(session)
        await load_programme(session, HILLINGDON, actor="test", now=SystemClock().now())
        opened = await open_cycle(
            session,
            CycleRequest(
                service_code="CSC",
                month=date(2026, 12, 1),
                seed=3,
                total=1,
                tool_id="hillingdon_ad_hoc_desktop",
                kloes=["Is the child's plan reviewed on time?"],
            ),
            rules=ProgrammeRules(),
            now=SystemClock().now(),
        )
        [audit] = await repo.list_audits_in_cycle(session, opened.cycle_id)
        return audit


async def test_a_desktop_audit_has_no_conversation_and_cannot_be_invalidated_for_it(
    db: Database, teams_bot: RunningBot
):
    audit = await desktop_audit(db)
    auditor = await staff(db, audit.auditor_id)
    practitioner = await staff(db, audit.practitioner_id)
    allocation = await allocation_card(db, audit)
    assert "A desktop audit: work from the record" in texts(allocation)
    assert "the last 6 months of work, or since the latest referral if that is sooner" in texts(
        allocation
    )
    [told] = [m.payload["card"] for m in await messages_to(db, practitioner, "allocation")]
    assert "It is a desktop audit: no conversation with you is needed." in texts(told)
    assert "complete part B of the audit at your next supervision" in texts(told)

    card = await click(teams_bot, auditor, allocation, "Start audit")
    summary, seen = await answer_every_step(teams_bot, auditor, card, Grade.GOOD)
    assert seen[0] == "key_lines_of_enquiry" and "_conversation" not in seen
    assert "The completeness check finds nothing missing." in texts(summary)
    await click(teams_bot, auditor, summary, "Submit the audit")

    audit_team = await person(db, AUDIT_TEAM)
    [check] = [m.payload["card"] for m in await messages_to(db, audit_team, "completeness")]
    assert "no conversation with the practitioner is needed" in texts(check)
    assert "Invalidate" not in texts(check)
    after = await audit_now(db, audit.id)
    assert after.state is AuditState.SUBMITTED
