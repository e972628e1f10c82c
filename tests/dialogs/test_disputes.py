"""Disputes: raised by the practitioner or TM, revised or stood by by the moderator, decided
by the Head of Service or Audit Team, whose decision is final."""

from __future__ import annotations

from datetime import UTC, datetime

from dialogs.moderation import ask_moderator
from storage import repositories as repo
from storage.enums import GradeStage
from storage.models import AuditEvent, Dispute, OutboxMessage
from tests.conftest import Database
from tests.dialogs.test_moderation_setup import (
    NOW,
    RULES,
    act,
    agree_all,
    cast_in,
    count_rows,
    disagree,
    execute_data,
    load_audit,
    messages_to,
    texts,
    verbs,
)
from tests.factories import create_service, create_staff
from workflow.grades import Grade
from workflow.moderation import OVERALL, DisputeState, field_id
from workflow.roles import Role
from workflow.states import AuditState

LATER = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # Wednesday
DOMAINS = (
    "journey_of_the_child",
    "needs_support_outcomes",
    "management_oversight",
    "identity",
    "multi_agency",
)


async def moderated(db: Database, *, overall=Grade.GOOD, moderated_to=Grade.REQUIRES_IMPROVEMENT):
    """An audit moderated from `overall` to `moderated_to`; returns the cast and the
    practitioner's result card."""
    cast = await cast_in(db, overall=overall)
    async with db.sessions.begin() as session:
        audit = await repo.get_audit(session, cast.audit_id)
        await ask_moderator(session, audit, now=NOW, rules=RULES)
    [ask] = await messages_to(db, cast.moderator, "moderation")
    answers = agree_all()
    if moderated_to is not overall:
        answers.update(disagree(OVERALL, moderated_to, "Planning drifted"))
    await act(
        db,
        cast.moderator,
        "moderation.save",
        **execute_data(ask.payload["card"], "moderation.save"),
        **answers,
    )
    [result] = await messages_to(db, cast.practitioner, "moderation")
    return cast, result.payload["card"]


async def latest(db: Database, audit_id: int) -> Dispute:
    async with db.sessions() as session:
        dispute = await repo.latest_dispute(session, audit_id)
    assert dispute is not None
    return dispute


async def test_should_let_the_practitioner_dispute_and_ask_the_moderator(db: Database):
    cast, card = await moderated(db)

    shown = await act(
        db, cast.practitioner, "dispute.raise", now=LATER,
        **execute_data(card, "dispute.raise"), reason="Recent visits were missed",
    )  # fmt: skip

    assert "waiting for the moderator" in texts(shown)
    assert (await load_audit(db, cast.audit_id)).state is AuditState.DISPUTED
    dispute = await latest(db, cast.audit_id)
    assert dispute.state is DisputeState.RAISED and dispute.raised_by_id == cast.practitioner.id
    [to_moderator] = await messages_to(db, cast.moderator, "dispute")
    assert "Recent visits were missed" in texts(to_moderator.payload["card"])
    assert {"dispute.open_revision", "dispute.stand_by"} <= verbs(to_moderator.payload["card"])
    assert len(await messages_to(db, cast.team_manager, "dispute")) == 1


async def test_should_refuse_a_dispute_from_anyone_else_or_without_a_reason(db: Database):
    cast, card = await moderated(db)
    data = execute_data(card, "dispute.raise")

    for someone in (cast.auditor, cast.moderator, cast.head_of_service, cast.outsider):
        shown = await act(db, someone, "dispute.raise", **data, reason="No")
        assert "This isn't yours to do" in texts(shown)
    empty = await act(db, cast.team_manager, "dispute.raise", **data, reason="  ")

    assert "Give your reason" in texts(empty)
    assert await count_rows(db, Dispute) == 0
    assert (await load_audit(db, cast.audit_id)).state is AuditState.MODERATED


async def test_should_record_one_dispute_when_both_press_or_one_presses_twice(db: Database):
    cast, card = await moderated(db)
    data = execute_data(card, "dispute.raise")

    first = await act(db, cast.practitioner, "dispute.raise", **data, reason="First")
    again = await act(db, cast.practitioner, "dispute.raise", **data, reason="First")
    other = await act(db, cast.team_manager, "dispute.raise", **data, reason="Me too")

    assert again == first
    assert "Pat Practitioner" in texts(other) and "dispute.escalate" not in verbs(other)
    assert await count_rows(db, Dispute) == 1
    assert await count_rows(db, AuditEvent, AuditEvent.action == "dispute_raised") == 1


async def test_a_revision_changes_the_grades_and_sends_the_result_again(db: Database):
    cast, card = await moderated(db)
    await act(
        db, cast.practitioner, "dispute.raise",
        **execute_data(card, "dispute.raise"), reason="Planning was fine",
    )  # fmt: skip
    [to_moderator] = await messages_to(db, cast.moderator, "dispute")
    form = await act(
        db, cast.moderator, "dispute.open_revision",
        **execute_data(to_moderator.payload["card"], "dispute.open_revision"),
    )  # fmt: skip
    assert "Planning drifted" in texts(form)  # starts from the moderator's answers
    data = execute_data(form, "dispute.revise")

    missing_note = await act(db, cast.moderator, "dispute.revise", **data, **agree_all())
    assert "Say what changed" in texts(missing_note)
    shown = await act(
        db, cast.moderator, "dispute.revise", now=LATER, **data, **agree_all(),
        revision_note="Agreed after talking: planning was reviewed",
    )  # fmt: skip

    assert "the moderator revised the grades" in texts(shown)
    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.MODERATED
    assert audit.moderated_grade is audit.final_grade is Grade.GOOD
    assert audit.moderated_at == LATER
    assert (await latest(db, cast.audit_id)).state is DisputeState.REVISED
    async with db.sessions() as session:
        assert len(await repo.list_moderations(session, audit.id)) == 2
    results = await messages_to(db, cast.practitioner, "moderation")
    assert len(results) == 2 and "dispute.escalate" in verbs(results[-1].payload["card"])
    assert len(await messages_to(db, cast.auditor, "moderation")) == 2
    again = await act(
        db, cast.moderator, "dispute.revise", **data, **agree_all(), revision_note="Again"
    )
    assert await count_rows(db, AuditEvent, AuditEvent.action == "dispute_revised") == 1
    assert "revised" in texts(again)


async def test_a_dispute_the_moderator_stands_by_is_decided_by_the_head_of_service(
    db: Database,
):
    cast, card = await moderated(db)
    await act(
        db, cast.team_manager, "dispute.raise",
        **execute_data(card, "dispute.raise"), reason="Too harsh",
    )  # fmt: skip
    [to_moderator] = await messages_to(db, cast.moderator, "dispute")
    await act(
        db, cast.moderator, "dispute.stand_by",
        **execute_data(to_moderator.payload["card"], "dispute.stand_by"),
        note="The evidence shows drift",
    )  # fmt: skip
    assert (await load_audit(db, cast.audit_id)).state is AuditState.MODERATED
    [stood_by] = await messages_to(db, cast.team_manager, "dispute")
    assert "The evidence shows drift" in texts(stood_by.payload["card"])
    escalate = execute_data(stood_by.payload["card"], "dispute.escalate")

    practitioner_tries = await act(db, cast.practitioner, "dispute.escalate", **escalate)
    assert "person who disputed" in texts(practitioner_tries)
    await act(db, cast.team_manager, "dispute.escalate", **escalate, note="Still unhappy")

    assert (await load_audit(db, cast.audit_id)).state is AuditState.DISPUTED
    [for_hos] = await messages_to(db, cast.head_of_service, "dispute")
    [for_team] = await messages_to(db, cast.audit_team, "dispute")
    decide = execute_data(for_hos.payload["card"], "dispute.decide")
    choice = {
        field_id("grade", OVERALL): Grade.GOOD.value,
        field_id("grade", "identity"): Grade.OUTSTANDING.value,
        **{
            field_id("grade", key): Grade.GOOD.value
            for key in (
                "journey_of_the_child",
                "needs_support_outcomes",
                "management_oversight",
                "multi_agency",
            )
        },
    }

    no_reason = await act(db, cast.head_of_service, "dispute.decide", **decide, **choice)
    assert "Give the rationale" in texts(no_reason)
    stranger = await act(
        db, cast.practitioner, "dispute.decide", **decide, **choice,
        **{field_id("why", OVERALL): "I decide"},
    )  # fmt: skip
    assert "Head of Service or the Audit Team" in texts(stranger)
    decided = await act(
        db, cast.head_of_service, "dispute.decide", now=LATER, **decide, **choice,
        **{field_id("why", OVERALL): "Good overall: the plan is working"},
    )  # fmt: skip

    assert "Decision by Helen Head" in texts(decided)
    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.DECIDED
    assert audit.final_grade is Grade.GOOD
    assert audit.moderated_grade is Grade.REQUIRES_IMPROVEMENT
    dispute = await latest(db, cast.audit_id)
    assert (
        dispute.state is DisputeState.DECIDED and dispute.decided_by_id == cast.head_of_service.id
    )
    async with db.sessions() as session:
        decided_rows = await repo.list_section_grades(session, audit.id, GradeStage.DECIDED)
    assert {row.section_id: row.grade for row in decided_rows} == {
        "identity": Grade.OUTSTANDING,
        "summary": Grade.GOOD,
    }
    for person in (cast.auditor, cast.practitioner, cast.team_manager, cast.moderator,
                   cast.audit_team, cast.audit_manager, cast.head_of_service):  # fmt: skip
        told = [
            m for m in await messages_to(db, person, "moderation")
            if m.idempotency_key.startswith(f"dispute:{dispute.id}:decided")
        ]  # fmt: skip
        assert len(told) == 1, person.display_name
        assert "Decision" in texts(told[0].payload["card"])

    events = await count_rows(db, AuditEvent)
    overruled = {**choice, field_id("grade", OVERALL): Grade.INADEQUATE.value}
    late = await act(
        db, cast.audit_team, "dispute.decide",
        **execute_data(for_team.payload["card"], "dispute.decide"), **overruled,
        **{field_id("why", OVERALL): "No"},
    )  # fmt: skip
    assert "Decision by Helen Head" in texts(late)
    assert "dispute.decide" not in verbs(late)
    assert (await load_audit(db, cast.audit_id)).final_grade is Grade.GOOD
    assert await count_rows(db, AuditEvent) == events


async def test_a_decision_of_inadequate_asks_the_team_manager_about_urgent_issues(db: Database):
    cast, card = await moderated(db, overall=Grade.REQUIRES_IMPROVEMENT,
                                 moderated_to=Grade.REQUIRES_IMPROVEMENT)  # fmt: skip
    await act(db, cast.practitioner, "dispute.raise", **execute_data(card, "dispute.raise"),
              reason="x")  # fmt: skip
    [to_moderator] = await messages_to(db, cast.moderator, "dispute")
    await act(
        db,
        cast.moderator,
        "dispute.stand_by",
        **execute_data(to_moderator.payload["card"], "dispute.stand_by"),
        note="y",
    )
    [stood_by] = await messages_to(db, cast.practitioner, "dispute")
    await act(
        db,
        cast.practitioner,
        "dispute.escalate",
        **execute_data(stood_by.payload["card"], "dispute.escalate"),
    )
    [for_team] = await messages_to(db, cast.audit_team, "dispute")
    data = execute_data(for_team.payload["card"], "dispute.decide")
    grades = {field_id("grade", key): Grade.GOOD.value for key in (
        "journey_of_the_child", "needs_support_outcomes", "management_oversight", "identity",
        "multi_agency")}  # fmt: skip

    await act(db, cast.audit_team, "dispute.decide", **data, **grades,
              **{field_id("grade", OVERALL): Grade.INADEQUATE.value,
                 field_id("why", OVERALL): "Worse than moderated"})  # fmt: skip

    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.DECIDED and audit.final_grade is Grade.INADEQUATE
    assert audit.urgent_issues_due_at is not None
    assert len(await messages_to(db, cast.team_manager, "urgent_issues")) == 1
    assert await count_rows(db, OutboxMessage, OutboxMessage.kind == "urgent_issues") == 1


# --- the coordinator may dispute too (DOMAIN.md step 8) ---------------------------------


async def test_the_coordinator_gets_the_result_with_the_dispute_button(db: Database):
    cast, _ = await moderated(db)

    [result] = await messages_to(db, cast.coordinator, "moderation")

    assert "dispute.raise" in verbs(result.payload["card"])
    assert cast.case_ref in result.payload["summary"]
    [auditors] = await messages_to(db, cast.auditor, "moderation")
    assert "dispute.raise" not in verbs(auditors.payload["card"])


async def test_a_coordinator_disputes_the_moderator_stands_by_and_the_head_of_service_decides(
    db: Database,
):
    cast, _ = await moderated(db)
    [result] = await messages_to(db, cast.coordinator, "moderation")

    shown = await act(
        db, cast.coordinator, "dispute.raise", now=LATER,
        **execute_data(result.payload["card"], "dispute.raise"), reason="Plan is on track",
    )  # fmt: skip

    assert "waiting for the moderator" in texts(shown)
    assert (await load_audit(db, cast.audit_id)).state is AuditState.DISPUTED
    dispute = await latest(db, cast.audit_id)
    assert dispute.raised_by_id == cast.coordinator.id
    [to_moderator] = await messages_to(db, cast.moderator, "dispute")
    assert "Plan is on track" in texts(to_moderator.payload["card"])
    for copied in (cast.practitioner, cast.team_manager):
        [copy] = await messages_to(db, copied, "dispute")
        assert "dispute.escalate" not in verbs(copy.payload["card"])

    await act(
        db, cast.moderator, "dispute.stand_by",
        **execute_data(to_moderator.payload["card"], "dispute.stand_by"), note="Drift shown",
    )  # fmt: skip
    [stood_by] = await messages_to(db, cast.coordinator, "dispute")
    assert "Drift shown" in texts(stood_by.payload["card"])
    escalate = execute_data(stood_by.payload["card"], "dispute.escalate")
    await act(db, cast.coordinator, "dispute.escalate", **escalate, note="Still disagree")

    assert (await load_audit(db, cast.audit_id)).state is AuditState.DISPUTED
    [for_hos] = await messages_to(db, cast.head_of_service, "dispute")
    decide = execute_data(for_hos.payload["card"], "dispute.decide")
    await act(
        db, cast.head_of_service, "dispute.decide", now=LATER, **decide,
        **{field_id("grade", key): Grade.GOOD.value for key in (*DOMAINS, OVERALL)},
        **{field_id("why", OVERALL): "Good: the plan is working"},
    )  # fmt: skip

    audit = await load_audit(db, cast.audit_id)
    assert audit.state is AuditState.DECIDED and audit.final_grade is Grade.GOOD
    told = [
        m for m in await messages_to(db, cast.coordinator, "moderation")
        if m.idempotency_key.startswith(f"dispute:{dispute.id}:decided")
    ]  # fmt: skip
    assert len(told) == 1 and "Decision" in texts(told[0].payload["card"])


async def test_a_coordinator_of_another_service_may_not_dispute(db: Database):
    cast, _ = await moderated(db)
    [result] = await messages_to(db, cast.coordinator, "moderation")
    async with db.sessions.begin() as session:
        elsewhere = await create_service(session, name="Youth Justice")
        stranger = await create_staff(
            session, display_name="Cora Elsewhere", roles=[(Role.COORDINATOR, elsewhere)]
        )

    refused = await act(
        db, stranger, "dispute.raise",
        **execute_data(result.payload["card"], "dispute.raise"), reason="Mine now",
    )  # fmt: skip

    assert "This isn't yours to do" in texts(refused)
    assert "or a coordinator" in texts(refused)
    assert await count_rows(db, Dispute) == 0
