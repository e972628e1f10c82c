"""An external, independent moderator (Tower Hamlets' Youth Justice Service "deploys an
external independent moderator") joins as a Teams guest account holding only the
external_moderator role: they are named on the audits given to them, and see those and
nothing else, by chat command or card."""

from __future__ import annotations

from datetime import date

from cards.moderation import OPEN_MODERATION
from dialogs.cycles import CycleRequest, open_cycle
from dialogs.programmes import load_programme
from storage import repositories as repo
from storage.demo import load_demo
from storage.models import Audit, Staff
from tests.bot.test_card_actions import KLOES, press
from tests.bot.test_commands_http import ask
from tests.bot.test_messages import texts_in
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import texts
from tests.factories import create_staff
from tests.harness import RunningBot
from workflow.calendar import SystemClock
from workflow.programme import shipped_programmes
from workflow.rules import ProgrammeRules

# Early Help moderated by an external moderator, as Tower Hamlets moderates its YJS.
EXTERNAL = shipped_programmes()["th-early-help"].replace(
    'mode = "every_audit"\nby = ["moderator"]', 'mode = "external"\nby = ["external_moderator"]'
)
GUEST_UPN = "jo.rivers_independent.org#EXT#@democouncil.onmicrosoft.com"


async def opened(session, service: str, cases: int) -> list[Audit]:
    cycle = await open_cycle(
        session,
        CycleRequest(service_code=service, month=date(2026, 12, 1), seed=3, total=cases,
                     kloes=KLOES),
        rules=ProgrammeRules(),
        now=SystemClock().now(),
    )  # fmt: skip
    return await repo.list_audits_in_cycle(session, cycle.cycle_id)


async def guest_and_audits(db: Database) -> tuple[Staff, list[Audit], list[Audit]]:
    async with db.sessions.begin() as session:
        await load_demo(session)
        guest = await create_staff(
            session,
            roles=["external_moderator@EH"],
            display_name="Jo Rivers (Independent)",
            upn=GUEST_UPN,
        )
        await load_programme(session, EXTERNAL, actor="test", now=SystemClock().now())
        theirs = await opened(session, "EH", 2)
        others = await opened(session, "CSC", 1)
    return guest, theirs, others


async def refs(db: Database, audits: list[Audit]) -> list[str]:
    async with db.sessions() as session:
        return [(await repo.get_case(session, audit.case_id)).case_ref for audit in audits]


async def test_an_external_moderator_sees_only_the_audits_given_to_them(
    db: Database, teams_bot: RunningBot
):
    guest, theirs, others = await guest_and_audits(db)
    assert all(audit.moderator_id == guest.id for audit in theirs)
    assert all(audit.moderator_id != guest.id for audit in others)
    mine, not_mine = await refs(db, theirs), await refs(db, others)

    listed = texts_in(await ask(teams_bot, guest, "my audits"))
    assert all(ref in listed for ref in mine)
    assert not any(ref in listed for ref in not_mine)

    shown = texts_in(await ask(teams_bot, guest, f"status {mine[0]}"))
    assert f"Audit of {mine[0]}" in shown
    refused = texts_in(await ask(teams_bot, guest, f"status {not_mine[0]}"))
    assert "I can't find an audit for that reference that you can see." in refused
    assert not_mine[0] not in refused

    opened_card = await press(teams_bot, guest, OPEN_MODERATION, audit_id=others[0].id)
    assert "Only the moderator allocated to this audit can do this" in texts(opened_card)
    assert not_mine[0] not in texts(opened_card)
