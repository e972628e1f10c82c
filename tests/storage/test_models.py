"""Every table: what goes in comes back out, with the right Python types, on both databases."""

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm.exc import StaleDataError

from storage import models as m
from storage.enums import (
    CaseStatus,
    CycleState,
    ExemptionState,
    GradeStage,
    KloeDecision,
    MeetingKind,
    MeetingState,
    OutboxState,
    RecommendationLevel,
    RecommendationSource,
    RecommendationStatus,
    ServiceKind,
)
from tests.conftest import Database
from workflow.grades import Grade
from workflow.moderation import DisputeState
from workflow.roles import Role
from workflow.states import AuditState

AT = datetime(2025, 3, 3, 9, 15, 30, 123000, tzinfo=UTC)


def rows(ids: dict[str, int]) -> list[tuple[str, type, dict[str, Any]]]:
    """One row per table, in dependency order; ids holds the ids saved so far."""
    return [
        (
            "service",
            m.Service,
            {
                "code": "CSC",
                "name": "Children's Social Care",
                "kind": ServiceKind.CHILDRENS_SOCIAL_CARE,
                "rules_overrides": {"uopp_working_days": 7},
            },
        ),
        ("team", m.Team, {"service_id": ids.get("service"), "code": "CSC-T1", "name": "Team 1"}),
        (
            "manager",
            m.Staff,
            {
                "aad_object_id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                "upn": "manager@council.example",
                "display_name": "A Manager",
                "email": "manager@council.example",
            },
        ),
        (
            "staff",
            m.Staff,
            {
                "aad_object_id": "3f2504e0-4f89-11d3-9a0c-0305e82c3302",
                "upn": "worker@council.example",
                "display_name": "A Worker",
                "email": "worker@council.example",
                "auditor_trained": True,
                "auditor_trained_on": date(2024, 11, 5),
                "line_manager_id": ids.get("manager"),
                "active": False,
            },
        ),
        (
            "role",
            m.RoleAssignment,
            {
                "staff_id": ids.get("staff"),
                "role": Role.AUDITOR,
                "service_id": ids.get("service"),
                "team_id": ids.get("team"),
            },
        ),
        (
            "case",
            m.Case,
            {
                "case_ref": "CSC/2025-0001",
                "team_id": ids.get("team"),
                "practitioner_id": ids.get("staff"),
                "status": CaseStatus.CLOSED,
                "attributes": {"plan": "CP", "age_band": "5-9"},
                "opened_on": date(2024, 6, 1),
            },
        ),
        (
            "involvement",
            m.CaseInvolvement,
            {"case_id": ids.get("case"), "staff_id": ids.get("manager")},
        ),
        (
            "programme",
            m.ProgrammeVersion,
            {
                "programme_key": "th-early-help",
                "version": 2,
                "name": "Understanding our Practice",
                "text": "[programme]\nid = 'th-early-help'\n# comments kept\n",
                "document": {"programme": {"id": "th-early-help"}, "services": [{"code": "CSC"}]},
                "loaded_at": AT,
                "loaded_by_id": ids.get("manager"),
                "loaded_by_label": "cli",
                "retired_at": AT,
            },
        ),
        (
            "cycle",
            m.Cycle,
            {
                "service_id": ids.get("service"),
                "title": "March",
                "month": date(2025, 3, 1),
                "state": CycleState.KLOE_APPROVED,
                "audit_tool_id": "col_pir",
                "selection_seed": 20250301,
                "selection_method": "random",
                "selection_explanation": "10 of 40 open cases",
                "selection_plan": {"total": 10, "quotas": {}, "criteria": {}},
                "proposed_by_id": ids.get("manager"),
                "opened_at": AT,
                "programme_version_id": ids.get("programme"),
            },
        ),
        ("kloe", m.Kloe, {"cycle_id": ids.get("cycle"), "position": 1, "text": "Voice?"}),
        (
            "approval",
            m.KloeApproval,
            {
                "cycle_id": ids.get("cycle"),
                "approver_id": ids.get("manager"),
                "approver_role": Role.HEAD_OF_SERVICE,
                "decision": KloeDecision.SENT_BACK,
                "comment": "Add one",
                "decided_at": AT,
            },
        ),
        (
            "audit",
            m.Audit,
            {
                "cycle_id": ids.get("cycle"),
                "case_id": ids.get("case"),
                "practitioner_id": ids.get("staff"),
                "team_manager_id": ids.get("manager"),
                "auditor_id": ids.get("manager"),
                "moderator_id": ids.get("staff"),
                "state": AuditState.MODERATED,
                "initial_grade": Grade.REQUIRES_IMPROVEMENT,
                "moderated_grade": Grade.INADEQUATE,
                "final_grade": Grade.INADEQUATE,
                "outcomes_met": False,
                "due_at": AT,
                "moderation_due_at": AT,
                "urgent_issues_due_at": AT,
                "uopp_due_at": AT,
                "submitted_at": AT,
                "moderated_at": AT,
                "draft": {"sections": {"journey": "ok"}},
            },
        ),
        (
            "successor",
            m.Audit,
            {
                "cycle_id": ids.get("cycle"),
                "case_id": ids.get("case"),
                "practitioner_id": ids.get("staff"),
                "auditor_id": ids.get("manager"),
                "predecessor_id": ids.get("audit"),
            },
        ),
        (
            "grade",
            m.SectionGrade,
            {
                "audit_id": ids.get("audit"),
                "section_id": "journey",
                "stage": GradeStage.MODERATED,
                "grade": Grade.GOOD,
                "rationale": "Clear",
                "by_staff_id": ids.get("staff"),
                "agreed": False,
            },
        ),
        (
            "moderation",
            m.Moderation,
            {
                "audit_id": ids.get("audit"),
                "moderator_id": ids.get("staff"),
                "overall_agreed": False,
                "overall_grade": Grade.INADEQUATE,
                "rationale": "Drift",
                "moderated_at": AT,
                "actions_arising": "Share the chronology template",
            },
        ),
        (
            "recommendation",
            m.Recommendation,
            {
                "audit_id": ids.get("audit"),
                "level": RecommendationLevel.SERVICE,
                "action": "Update plan",
                "impact_on_child": "Safer",
                "owner_id": ids.get("manager"),
                "due_on": date(2025, 4, 1),
                "status": RecommendationStatus.PARTLY,
                "note": "Half",
                "source": RecommendationSource.UOPP,
                "impact_noted": "Seen weekly",
                "reviewed_on": date(2025, 4, 2),
            },
        ),
        (
            "exemption",
            m.ExemptionRequest,
            {
                "audit_id": ids.get("audit"),
                "auditor_id": ids.get("manager"),
                "reason": "On leave",
                "state": ExemptionState.APPROVED,
                "decided_by_id": ids.get("manager"),
                "decided_at": AT,
                "comment": "Fine",
            },
        ),
        (
            "dispute",
            m.Dispute,
            {
                "audit_id": ids.get("audit"),
                "raised_by_id": ids.get("staff"),
                "reason": "The grade ignores recent visits",
                "state": DisputeState.DECIDED,
                "raised_at": AT,
                "moderator_response": "Stand by it",
                "responded_by_id": ids.get("manager"),
                "responded_at": AT,
                "escalation_note": "Still unhappy",
                "escalated_at": AT,
                "decided_grade": Grade.REQUIRES_IMPROVEMENT,
                "decision": "RI is fair",
                "decided_by_id": ids.get("manager"),
                "decided_at": AT,
            },
        ),
        (
            "meeting",
            m.Meeting,
            {
                "audit_id": ids.get("audit"),
                "kind": MeetingKind.SECOND_UOPP,
                "organiser_id": ids.get("manager"),
                "starts_at": AT,
                "ends_at": AT,
                "graph_event_id": "AAMkAD=",
                "join_url": "https://x",
                "state": MeetingState.HELD,
                "held_on": date(2025, 3, 10),
                "chair_id": ids.get("manager"),
                "window_starts_at": AT,
                "window_ends_at": AT,
                "length_minutes": 45,
                "calendar": "graph",
                "booking_attempts": 2,
                "last_error": "Graph answered 503 after 4 attempts",
                "extended_to": AT,
                "extension_reason": "Half term",
                "chair_asked_at": AT,
                "responses_checked_at": AT,
            },
        ),
        (
            "attendee",
            m.MeetingAttendee,
            {
                "meeting_id": ids.get("meeting"),
                "staff_id": ids.get("staff"),
                "required": False,
                "response": "accepted",
            },
        ),
        (
            "outbox",
            m.OutboxMessage,
            {
                "idempotency_key": "allocated:1",
                "recipient_id": ids.get("staff"),
                "conversation_key": "19:abc",
                "kind": "allocation",
                "payload": {"type": "message"},
                "state": OutboxState.UNREACHABLE,
                "attempts": 3,
                "next_attempt_at": AT,
                "claimed_by": "w1",
                "claimed_at": AT,
                "sent_at": AT,
                "last_error": "HTTP 403",
            },
        ),
        (
            "ref",
            m.ConversationRef,
            {
                "aad_object_id": "3f2504e0-4f89-11d3-9a0c-0305e82c3302",
                "tenant_id": "72f988bf-86f1-41af-91ab-2d7cd011db47",
                "conversation_id": "a:1x",
                "service_url": "https://smba/",
                "reference": {"conversation": {"id": "a:1x"}},
            },
        ),
        ("state", m.BotState, {"key": "conv/a:1x", "document": {"dialogStack": []}, "version": 4}),
        (
            "reminder",
            m.Reminder,
            {
                "kind": "action",
                "subject_id": 7,
                "audit_id": ids.get("audit"),
                "owner_id": ids.get("staff"),
                "due_at": AT,
                "rung": 2,
                "first_reminded_on": date(2025, 3, 4),
                "last_reminded_at": AT,
                "reminders_sent": 3,
                "next_at": AT,
                "snoozed_until": AT,
                "done_at": AT,
            },
        ),
        (
            "reminder_day",
            m.ReminderDay,
            {"owner_id": ids.get("staff"), "day": date(2025, 3, 4), "items": 2, "sent_at": AT},
        ),
        ("run", m.SchedulerRun, {"name": "reminders", "last_run_at": AT}),
        (
            "follow_up",
            m.FollowUp,
            {
                "key": "dip:audit:1",
                "kind": m.FollowUpKind.DIP_AUDIT,
                "service_id": ids.get("service"),
                "audit_id": ids.get("audit"),
                "cycle_id": ids.get("cycle"),
                "due_on": date(2025, 4, 14),
                "done_at": AT,
                "outcome": "task_created",
                "details": {"seed": 3},
            },
        ),
        (
            "event",
            m.AuditEvent,
            {
                "occurred_at": AT,
                "actor_id": ids.get("staff"),
                "actor_label": "staff",
                "entity": "audit",
                "entity_id": ids.get("audit"),
                "action": "moderated",
                "before": {"state": "submitted"},
                "after": {"state": "moderated"},
            },
        ),
        (
            "redaction",
            m.AuditEventRedaction,
            {"event_id": ids.get("event"), "redacted_at": AT, "reason": "undeclared attributes"},
        ),
        (
            "cycle_meeting",
            m.CycleMeeting,
            {
                "cycle_id": ids.get("cycle"),
                "kind": m.CycleMeetingKind.PANEL,
                "state": m.CycleMeetingState.BOOKED,
                "organiser_id": ids.get("staff"),
                "attendee_ids": [ids.get("staff")],
                "length_minutes": 90,
                "window_starts_at": AT,
                "window_ends_at": AT,
                "starts_at": AT,
                "ends_at": AT,
                "clash_ids": [ids.get("staff")],
                "event_id": "local-auditbot-group-1",
                "join_url": "https://teams.example/join",
                "calendar": "local",
                "attempts": 1,
                "last_error": "busy",
                "claimed_at": AT,
                "next_attempt_at": AT,
            },
        ),
        (
            "recommendation_review",
            m.RecommendationReview,
            {
                "service_id": ids.get("service"),
                "meeting_on": date(2025, 4, 2),
                "decided": "Carry on",
                "decisions": [{"recommendation_id": ids.get("recommendation"), "status": "done"}],
                "recorded_by_id": ids.get("staff"),
                "recorded_at": AT,
            },
        ),
        (
            "learning_item",
            m.LearningItem,
            {
                "service_id": ids.get("service"),
                "cycle_id": ids.get("cycle"),
                "audit_id": ids.get("audit"),
                "source": m.LearningSource.MODERATION,
                "theme": "Planning",
                "learning": "Plans lack timescales",
                "rag": m.Rag.AMBER,
                "owner_id": ids.get("manager"),
                "status": m.LearningStatus.EMBEDDED,
                "evidence": "Re-audits show it",
                "recorded_by_id": ids.get("staff"),
            },
        ),
        (
            "report_note",
            m.ReportNote,
            {
                "service_id": ids.get("service"),
                "period": "quarter:2025-Q2",
                "text": "1. Plans need timescales.",
                "updated_by_id": ids.get("staff"),
            },
        ),
        (
            "acknowledgement",
            m.Acknowledgement,
            {"audit_id": ids.get("audit"), "staff_id": ids.get("staff"), "acknowledged_at": AT},
        ),
        (
            "case_attribute",
            m.CaseAttribute,
            {"name": "plan", "allowed_values": ["cp", "cin"], "description": "The child's plan"},
        ),
        (
            "entra_membership",
            m.EntraMembership,
            {
                "group_id": "2b0f6c2e-5d0a-4a53-9a0e-6f1f1c3b8a10",
                "aad_object_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
            },
        ),
        (
            "entra_sync_state",
            m.EntraSyncState,
            {
                "feed": "users",
                "delta_link": "https://graph.microsoft.com/v1.0/users/delta()?$deltatoken=x",
                "synced_at": AT,
            },
        ),
    ]


async def test_every_model_round_trips(db: Database):
    ids: dict[str, int] = {}
    for name, _, _ in rows(ids):
        async with db.sessions.begin() as session:
            model, values = next((mo, v) for n, mo, v in rows(ids) if n == name)
            row = model(**values)
            session.add(row)
            await session.flush()
            identity = inspect(row).identity
            ids[name] = identity[0] if len(identity) == 1 else identity  # type: ignore[assignment]
    assert {model for _, model, _ in rows(ids)} >= set(
        mapper.class_ for mapper in m.Base.registry.mappers
    )
    async with db.sessions() as session:
        for name, model, values in rows(ids):
            stored = await session.get(model, ids[name])
            assert stored is not None
            for column, value in values.items():
                assert getattr(stored, column) == value, f"{name}.{column}"
                assert type(getattr(stored, column)) is type(value), f"{name}.{column}"


async def test_defaults_are_filled_in(db: Database):
    async with db.sessions.begin() as session:
        service = m.Service(code="EH", name="Early Help", kind=ServiceKind.EARLY_HELP)
        staff = m.Staff(aad_object_id="a", upn="b@c", display_name="d", email="b@c")
        session.add_all([service, staff])
    assert service.rules_overrides == {}
    assert staff.active is True and staff.auditor_trained is False
    assert staff.created_at.tzinfo is UTC and staff.updated_at.tzinfo is UTC


async def test_audit_version_rises_with_each_update_and_stale_writes_fail(db: Database):
    from tests.factories import create_audit

    async with db.sessions.begin() as session:
        audit = await create_audit(session)
    assert audit.version == 1
    async with db.sessions() as first, db.sessions() as second:
        theirs = await second.get(m.Audit, audit.id)
        await second.commit()  # a card drawn earlier: its transaction is long over
        mine = await first.get(m.Audit, audit.id)
        assert mine is not None and theirs is not None
        mine.state = AuditState.IN_PROGRESS
        await first.commit()
        assert mine.version == 2
        theirs.state = AuditState.RETURNED
        with pytest.raises(StaleDataError):
            await second.commit()
    async with db.sessions() as session:
        state = await session.scalar(select(m.Audit.state).where(m.Audit.id == audit.id))
        assert state is AuditState.IN_PROGRESS


async def test_foreign_keys_are_enforced(db: Database):
    from sqlalchemy.exc import IntegrityError

    async with db.sessions() as session:
        session.add(m.Team(service_id=999, code="X", name="Nowhere"))
        with pytest.raises(IntegrityError):
            await session.flush()
