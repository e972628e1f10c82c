"""What an audit is waiting for, and each allocated person's part in it, in words.

Pure functions of an audit's stored state and deadlines (no I/O), shared by
`my audits`, `status` and `cycle status` so they agree on what is overdue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.models import Audit
from workflow.roles import Party
from workflow.states import AuditState

S = AuditState
AUDITING = frozenset({S.ALLOCATED, S.IN_PROGRESS, S.RETURNED})
AFTER_MODERATION = frozenset({S.MODERATED, S.DECIDED, S.UOPP_BOOKED})


@dataclass(frozen=True)
class Step:
    """The next thing the audit waits for ("audit", "moderation", "UoPP meeting") and its date."""

    what: str
    due_at: datetime | None

    def overdue(self, now: datetime) -> bool:
        return self.due_at is not None and now > self.due_at


@dataclass(frozen=True)
class Part:
    """One person's part in one audit: what they do ("Auditor: start the audit") and by when."""

    party: Party
    label: str
    due_at: datetime | None

    def overdue(self, now: datetime) -> bool:
        return self.due_at is not None and now > self.due_at


def current_step(audit: Audit) -> Step | None:
    """What the audit is waiting for now; None once nothing in it has a date (or it ended)."""
    if audit.state in AUDITING:
        return Step("audit", audit.due_at)
    if audit.state is S.SUBMITTED:
        return Step("moderation", audit.moderation_due_at)
    if audit.state in AFTER_MODERATION and audit.uopp_due_at is not None:
        return Step("UoPP meeting", audit.uopp_due_at)
    return None


_AUDITOR = {
    S.ALLOCATED: "start the audit",
    S.IN_PROGRESS: "finish and submit the audit",
    S.RETURNED: "complete the audit and resubmit it",
}


def parts_for(audit: Audit, staff_id: int, practitioner_name: str) -> list[Part]:
    """What this person has to do, or to follow, in this audit, for each part they play.

    Auditor: start, finish or complete the audit by its due date, then attend
    the UoPP meeting. Moderator: moderate by the moderation due date (shown
    from allocation, so it can be planned). Practitioner: their work is being
    audited (their own section is due with the audit), then the UoPP meeting.
    Team manager: the same for their practitioner's audit, plus the urgent
    issues after an Inadequate grade. Nothing is listed once the UoPP meeting
    has been held: follow-up actions are in `my actions`.
    """
    parts: list[Part] = []
    state = audit.state
    if audit.auditor_id == staff_id:
        if state in _AUDITOR:
            parts.append(Part(Party.AUDITOR, f"Auditor: {_AUDITOR[state]}", audit.due_at))
        elif state in AFTER_MODERATION and audit.uopp_due_at is not None:
            parts.append(Part(Party.AUDITOR, "Auditor: attend the UoPP meeting", audit.uopp_due_at))
    if audit.moderator_id == staff_id:
        if state is S.SUBMITTED:
            parts.append(
                Part(Party.MODERATOR, "Moderator: moderate the audit", audit.moderation_due_at)
            )
        elif state in AUDITING:
            label = "Moderator: moderate the audit once it is submitted"
            parts.append(Part(Party.MODERATOR, label, audit.moderation_due_at))
        elif state is S.DISPUTED:
            parts.append(Part(Party.MODERATOR, "Moderator: talk the disputed grade through", None))
    if audit.practitioner_id == staff_id:
        parts.extend(
            _followed(
                audit, Party.PRACTITIONER, "Practitioner: your work", "; write your own section"
            )
        )
    if audit.team_manager_id == staff_id:
        whose = f"Team manager: {practitioner_name}'s work"
        parts.extend(_followed(audit, Party.TEAM_MANAGER, whose))
        if audit.urgent_issues_due_at is not None and state in AFTER_MODERATION:
            label = "Team manager: address the urgent issues after an Inadequate grade"
            parts.append(Part(Party.TEAM_MANAGER, label, audit.urgent_issues_due_at))
    return parts


def _followed(audit: Audit, party: Party, whose: str, while_audited: str = "") -> list[Part]:
    """The part of someone whose work is audited (or who manages it)."""
    state = audit.state
    if state in AUDITING:
        return [Part(party, f"{whose} is being audited{while_audited}", audit.due_at)]
    if state is S.SUBMITTED:
        return [Part(party, f"{whose} is with the moderator", None)]
    if state is S.DISPUTED:
        return [Part(party, f"{whose}: the moderated grade is disputed", None)]
    if state in AFTER_MODERATION and audit.uopp_due_at is not None:
        return [Part(party, f"{whose}: attend the UoPP meeting", audit.uopp_due_at)]
    return []


def state_words(audit: Audit) -> str:
    """How the audit's state reads in a sentence ("it is <words>"): an audit whose grade
    stood without moderation (not drawn for the sample, or none in its programme) is not
    called moderated."""
    if audit.state is S.MODERATED and audit.moderated_grade is None:
        return "not moderated: the auditor's grade stands"
    return audit.state.label
