"""The request for the practitioner's own section, as made at allocation: which tools ask
for one, how the request is kept in the audit's draft, its card, and until when it is open.

Kept apart from dialogs/practitioner.py (the answering flows, which know the chat
commands), so allocation can ask without importing the conversation machinery.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cards.dates import day
from cards.practitioner import ReflectionView, reflection_request_card
from dialogs.wizard_facts import AuditFacts
from storage.models import Audit
from workflow.states import AuditState
from workflow.tools import AuditTool, Section, SectionKind

# While the practitioner may write or change their section: until the audit is submitted.
OPEN_FOR_REFLECTION = frozenset({AuditState.ALLOCATED, AuditState.IN_PROGRESS, AuditState.RETURNED})


def reflection_section(tool: AuditTool) -> Section | None:
    return next((s for s in tool.sections if s.kind is SectionKind.PRACTITIONER_REFLECTION), None)


def opened_request(now: datetime) -> dict[str, Any]:
    """The draft's record of a request for the practitioner's section, just made."""
    return {"requested_at": now.isoformat(), "answers": {}, "saved_at": None}


def reflection_open(audit: Audit) -> bool:
    return audit.state in OPEN_FOR_REFLECTION


def request_card(
    audit: Audit, tool: AuditTool, case_ref: str, auditor: str
) -> dict[str, Any] | None:
    """The request card for an audit whose section was asked for at allocation."""
    section = reflection_section(tool)
    if section is None:
        return None
    view = ReflectionView(
        audit_id=audit.id,
        case_ref=case_ref,
        auditor=auditor,
        title=section.title,
        guidance=section.guidance,
        prompts=section.prompts,
        answers={},
        saved_on=None,
        can_change=True,
    )
    return reflection_request_card(view)


def reflection_view(
    facts: AuditFacts, draft: dict[str, Any] | None = None, *, timezone: str
) -> ReflectionView | None:
    """The practitioner's section as saved, or None when it was never asked for."""
    section = facts.reflection_section
    saved = (draft if draft is not None else facts.audit.draft or {}).get("practitioner")
    if section is None or saved is None:
        return None
    saved_at = saved.get("saved_at")
    requested_at = saved.get("requested_at")
    return ReflectionView(
        audit_id=facts.audit.id,
        case_ref=facts.case_ref,
        auditor=facts.name(facts.audit.auditor_id),
        title=section.title,
        guidance=section.guidance,
        prompts=section.prompts,
        answers=dict(saved.get("answers") or {}),
        saved_on=day(datetime.fromisoformat(saved_at), timezone) if saved_at else None,
        can_change=reflection_open(facts.audit),
        asked_on=day(datetime.fromisoformat(requested_at), timezone) if requested_at else None,
    )
