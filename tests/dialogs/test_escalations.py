"""Escalations one action away: safeguarding to the TM and Audit Manager, discrimination to the
Head of Safeguarding and QA; anyone who can see the audit may raise one, nobody else."""

from __future__ import annotations

from cards.base import card, paragraph
from cards.escalations import (
    CONCERN_LIMIT,
    RAISE_SAFEGUARDING,
    REPORT_DISCRIMINATION,
    escalation_actions,
)
from storage import repositories as repo
from storage.models import AuditEvent, OutboxMessage
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import act, cast_in, count_rows, texts


def test_every_audit_card_can_offer_both_escalations_with_a_labelled_limited_description():
    actions = escalation_actions(42)
    built = card([paragraph("An audit card")], fallback="x", actions=actions)

    titles = [action["title"] for action in built["actions"]]
    assert titles == ["Raise a safeguarding concern", "Report discrimination concern"]
    for action in built["actions"]:
        assert action["type"] == "Action.ShowCard"
        [_, description] = action["card"]["body"]
        assert description["isRequired"] is True
        assert description["label"]
        assert description["maxLength"] == CONCERN_LIMIT
        assert "child's name" in action["card"]["body"][0]["text"]
        [execute] = action["card"]["actions"]
        assert execute["type"] == "Action.Execute"
        assert execute["data"] == {"audit_id": 42}


async def test_should_send_a_safeguarding_concern_to_the_team_manager_and_audit_manager(
    db: Database,
):
    cast = await cast_in(db)

    shown = await act(
        db,
        cast.auditor,
        RAISE_SAFEGUARDING,
        audit_id=cast.audit_id,
        safeguarding_concern="Risk not acted on",
    )

    assert "Sent" in texts(shown)
    assert cast.team_manager.display_name in texts(shown)
    recipients = await _recipients(db, "safeguarding_concern")
    assert recipients == {cast.team_manager.id, cast.audit_manager.id}
    assert await count_rows(db, AuditEvent, AuditEvent.action == "safeguarding_concern") == 1


async def test_should_send_a_discrimination_concern_to_the_head_of_safeguarding_and_qa(
    db: Database,
):
    cast = await cast_in(db)

    await act(
        db,
        cast.practitioner,
        REPORT_DISCRIMINATION,
        audit_id=cast.audit_id,
        discrimination_concern="Racism",
    )

    assert await _recipients(db, "discrimination_concern") == {cast.head_of_safeguarding.id}
    assert await count_rows(db, AuditEvent, AuditEvent.action == "discrimination_concern") == 1


async def test_should_record_and_send_once_when_teams_retries_the_press(db: Database):
    cast = await cast_in(db)

    first = await act(
        db, cast.auditor, RAISE_SAFEGUARDING, audit_id=cast.audit_id, safeguarding_concern="X"
    )
    again = await act(
        db, cast.auditor, RAISE_SAFEGUARDING, audit_id=cast.audit_id, safeguarding_concern="X"
    )

    assert again == first
    assert await count_rows(db, AuditEvent, AuditEvent.action == "safeguarding_concern") == 1
    assert await count_rows(db, OutboxMessage) == 2


async def test_should_refuse_someone_who_cannot_see_the_audit_and_send_nothing(db: Database):
    cast = await cast_in(db)

    shown = await act(
        db, cast.outsider, RAISE_SAFEGUARDING, audit_id=cast.audit_id, safeguarding_concern="Nosy"
    )

    assert "This isn't yours to do" in texts(shown)
    assert await count_rows(db, OutboxMessage) == 0
    assert await count_rows(db, AuditEvent) == 0


async def test_should_refuse_an_empty_or_overlong_description(db: Database):
    cast = await cast_in(db)

    empty = await act(
        db, cast.auditor, RAISE_SAFEGUARDING, audit_id=cast.audit_id, safeguarding_concern=" "
    )
    long = await act(
        db,
        cast.auditor,
        RAISE_SAFEGUARDING,
        audit_id=cast.audit_id,
        safeguarding_concern="x" * (CONCERN_LIMIT + 1),
    )
    wrong_type = await act(
        db, cast.auditor, RAISE_SAFEGUARDING, audit_id=cast.audit_id, safeguarding_concern={"a": 1}
    )

    assert "Describe the concern" in texts(empty)
    assert "too long" in texts(long)
    assert "out of date" in texts(wrong_type)
    assert await count_rows(db, OutboxMessage) == 0


async def _recipients(db: Database, kind: str) -> set[int]:
    async with db.sessions() as session:
        return {m.recipient_id for m in await repo.list_messages(session) if m.kind == kind}
