"""Moderation: the moderator's card, saving it, the result, and the urgent issues after
an Inadequate moderated grade."""

from __future__ import annotations

from datetime import UTC, datetime

from dialogs.moderation import ask_moderator
from storage import repositories as repo
from storage.models import OutboxMessage
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import (
    COL_DOMAINS,
    NOW,
    RULES,
    cast_in,
    count_rows,
    execute_data,
    messages_to,
    texts,
    verbs,
)
from workflow.grades import Grade


async def ask(db: Database, audit_id: int, now: datetime = NOW) -> None:
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, audit_id)
        await ask_moderator(session, audit, now=now, rules=RULES)


async def test_should_send_the_moderator_each_section_s_grade_and_rationale(db: Database):
    cast = await cast_in(db, overall=Grade.REQUIRES_IMPROVEMENT)

    await ask(db, cast.audit_id)

    [message] = await messages_to(db, cast.moderator, "moderation")
    card = message.payload["card"]
    shown = texts(card)
    assert card["version"] == "1.5"
    assert cast.case_ref in message.payload["summary"]
    for section_id in COL_DOMAINS:
        assert f"Evidence for {section_id}" in shown
    assert "Requires Improvement to be Good" in shown
    assert "Do you agree with the overall grading given?" in shown
    assert {"moderation.save", "escalate.safeguarding", "escalate.discrimination"} <= verbs(card)
    audit = await repo_audit(db, cast.audit_id)
    assert execute_data(card, "moderation.save") == {"audit_id": audit.id, "version": audit.version}


async def test_should_ask_once_per_version_of_the_audit(db: Database):
    cast = await cast_in(db)

    await ask(db, cast.audit_id)
    await ask(db, cast.audit_id)

    assert await count_rows(db, OutboxMessage, OutboxMessage.kind == "moderation") == 1


async def test_should_carry_the_version_the_audit_commits_at_when_changed_in_the_same_go(
    db: Database,
):
    cast = await cast_in(db)

    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        audit.moderation_due_at = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
        await ask_moderator(session, audit, now=NOW, rules=RULES)

    [message] = await messages_to(db, cast.moderator, "moderation")
    audit = await repo_audit(db, cast.audit_id)
    assert execute_data(message.payload["card"], "moderation.save")["version"] == audit.version


async def repo_audit(db: Database, audit_id: int):
    async with db.sessions() as session:
        return await repo.get_audit(session, audit_id)
