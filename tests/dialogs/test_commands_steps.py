"""Each allocated person's part in an audit, and what the audit waits for, in each state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dialogs.steps import current_step, parts_for
from storage.models import Audit
from workflow.roles import Party
from workflow.states import AuditState

DUE = datetime(2026, 12, 11, 17, 0, tzinfo=UTC)
MODERATION = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
UOPP = datetime(2026, 12, 18, 17, 0, tzinfo=UTC)
URGENT = datetime(2026, 12, 9, 17, 0, tzinfo=UTC)
AUDITOR, MODERATOR, PRACTITIONER, TEAM_MANAGER = 1, 2, 3, 4


def audit(state: AuditState, **fields) -> Audit:
    values = dict(
        auditor_id=AUDITOR,
        moderator_id=MODERATOR,
        practitioner_id=PRACTITIONER,
        team_manager_id=TEAM_MANAGER,
        state=state,
        due_at=DUE,
        moderation_due_at=MODERATION,
        uopp_due_at=UOPP,
    )
    values.update(fields)
    return Audit(**values)


def part_of(state: AuditState, staff_id: int, **fields):
    return parts_for(audit(state, **fields), staff_id, "Nadia Hussain")


@pytest.mark.parametrize(
    "state, words",
    [
        (AuditState.ALLOCATED, "start the audit"),
        (AuditState.IN_PROGRESS, "finish and submit"),
        (AuditState.RETURNED, "complete the audit and resubmit"),
    ],
)
def test_the_auditor_starts_or_finishes_by_the_due_date(state, words):
    [part] = part_of(state, AUDITOR)

    assert part.party is Party.AUDITOR
    assert words in part.label
    assert part.due_at == DUE


def test_the_auditor_has_nothing_to_do_while_the_audit_waits_for_moderation():
    assert part_of(AuditState.SUBMITTED, AUDITOR) == []


def test_the_moderator_moderates_by_the_moderation_date_planned_from_allocation():
    [planned] = part_of(AuditState.ALLOCATED, MODERATOR)
    [now] = part_of(AuditState.SUBMITTED, MODERATOR)

    assert planned.due_at == now.due_at == MODERATION
    assert "once it is submitted" in planned.label
    assert now.label == "Moderator: moderate the audit"
    assert part_of(AuditState.MODERATED, MODERATOR) == []


def test_the_practitioner_writes_their_section_while_their_work_is_audited():
    [part] = part_of(AuditState.IN_PROGRESS, PRACTITIONER)

    assert part.party is Party.PRACTITIONER
    assert "your own section" in part.label
    assert part.due_at == DUE


def test_the_team_manager_follows_their_practitioner_s_audit_by_name():
    [part] = part_of(AuditState.ALLOCATED, TEAM_MANAGER)

    assert part.label == "Team manager: Nadia Hussain's work is being audited"


def test_the_team_manager_also_owes_the_urgent_issues_after_inadequate():
    parts = part_of(AuditState.MODERATED, TEAM_MANAGER, urgent_issues_due_at=URGENT)

    assert [part.due_at for part in parts] == [UOPP, URGENT]
    assert "urgent issues" in parts[1].label


@pytest.mark.parametrize(
    "state", [AuditState.UOPP_HELD, AuditState.FOLLOW_UP, AuditState.CLOSED, AuditState.INVALIDATED]
)
def test_nobody_has_a_part_once_the_uopp_meeting_has_been_held_or_the_audit_ended(state):
    for staff_id in (AUDITOR, MODERATOR, PRACTITIONER, TEAM_MANAGER):
        assert part_of(state, staff_id) == []


@pytest.mark.parametrize(
    "state, what, due",
    [
        (AuditState.ALLOCATED, "audit", DUE),
        (AuditState.RETURNED, "audit", DUE),
        (AuditState.SUBMITTED, "moderation", MODERATION),
        (AuditState.UOPP_BOOKED, "UoPP meeting", UOPP),
    ],
)
def test_the_current_step_names_what_the_audit_waits_for(state, what, due):
    step = current_step(audit(state))

    assert step is not None
    assert (step.what, step.due_at) == (what, due)
    assert step.overdue(due + timedelta(seconds=1))
    assert not step.overdue(due)


def test_an_ended_audit_waits_for_nothing():
    assert current_step(audit(AuditState.CLOSED)) is None
    assert current_step(audit(AuditState.DISPUTED)) is None
