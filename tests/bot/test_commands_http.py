"""Each chat command over real HTTP: a Teams message in, the card arrives at the connector."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from storage import repositories as repo
from storage.enums import RecommendationLevel
from storage.models import Staff
from tests.bot.test_messages import card_of, texts_in
from tests.conftest import Database
from tests.factories import create_audit, create_case, create_service, create_staff, create_team
from tests.harness import RunningBot
from workflow.roles import Role
from workflow.states import AuditState

NOW = datetime.now(UTC)


async def ask(bot: RunningBot, person: Staff, text: str) -> dict:
    sent = await bot.say(person.aad_object_id, text, person.display_name)
    assert sent.conversation_id == f"a:personal-{person.aad_object_id}"
    card = card_of(sent)
    assert card["version"] == "1.5"
    return card


async def an_audit(db: Database):
    async with db.sessions.begin() as session:
        service = await create_service(session)
        team = await create_team(session, service=service)
        case = await create_case(session, team=team, case_ref="CSC-26-0007")
        audit = await create_audit(
            session, case=case, state=AuditState.IN_PROGRESS, due_at=NOW - timedelta(days=1)
        )
        auditor = await repo.get_staff(session, audit.auditor_id)
    return service, audit, auditor


async def test_my_audits_over_http(db: Database, teams_bot: RunningBot):
    _, _, auditor = await an_audit(db)

    text = texts_in(await ask(teams_bot, auditor, "My Audits"))

    assert "CSC-26-0007" in text
    assert "Auditor: finish and submit the audit" in text
    assert "Overdue: was due" in text


async def test_my_actions_over_http(db: Database, teams_bot: RunningBot):
    _, audit, _ = await an_audit(db)
    async with db.sessions.begin() as session:
        owner = await repo.get_staff(session, audit.team_manager_id)
        await repo.add_recommendation(
            session,
            audit.id,
            RecommendationLevel.CHILD,
            "Hold a review meeting with the family",
            None,
            owner.id,
            date.today() + timedelta(days=7),
        )

    text = texts_in(await ask(teams_bot, owner, "my actions"))

    assert "CSC-26-0007" in text
    assert "Hold a review meeting with the family" in text


async def test_status_over_http_for_someone_allowed(db: Database, teams_bot: RunningBot):
    service, _, _ = await an_audit(db)
    async with db.sessions.begin() as session:
        head = await create_staff(session, roles=[(Role.HEAD_OF_SERVICE, service)])

    text = texts_in(await ask(teams_bot, head, "status csc-26-0007"))

    assert "Audit of CSC-26-0007" in text
    assert "In progress" in text


async def test_status_over_http_for_someone_not_allowed(db: Database, teams_bot: RunningBot):
    await an_audit(db)
    async with db.sessions.begin() as session:
        stranger = await create_staff(session)

    text = texts_in(await ask(teams_bot, stranger, "status CSC-26-0007"))

    assert "I can't find an audit for that reference that you can see." in text
    assert "CSC-26-0007" not in text


async def test_cycle_status_over_http_for_the_audit_team(db: Database, teams_bot: RunningBot):
    service, _, _ = await an_audit(db)
    async with db.sessions.begin() as session:
        audit_team = await create_staff(session, roles=[(Role.AUDIT_TEAM, service)])

    text = texts_in(await ask(teams_bot, audit_team, "cycle status"))

    assert "Overdue: 1 audit" in text
    assert "CSC-26-0007: audit was due" in text


async def test_cycle_status_over_http_for_someone_else_is_refused_politely(
    db: Database, teams_bot: RunningBot
):
    _, _, auditor = await an_audit(db)

    card = await ask(teams_bot, auditor, "cycle status")
    text = texts_in(card)

    assert "Only the Audit Team or the Audit Manager can use **cycle status**" in text
    assert "my audits" in text
    assert "Overdue" not in text
