"""Telling people what they have been allocated, the day it happens.

Called inside the transaction that opens a cycle (or reallocates an audit),
so the notices commit with the allocation or not at all. Everyone's cards for
one cycle share a bundle key, so an auditor with five audits gets one message.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from cards.allocation import (
    AllocationView,
    auditor_card,
    moderator_card,
    practitioner_card,
    team_manager_card,
)
from cards.dates import day
from dialogs.notify import Message, tell_all
from dialogs.programmes import cycle_path
from dialogs.reflection_request import request_card
from storage import repositories as repo
from storage.models import Audit, Cycle
from workflow.tools import SectionKind, load_tool

# The moderator line of an allocation card where the programme names nobody at allocation.
UNNAMED_MODERATOR = {
    "sample": "chosen if the audit is drawn for the moderation sample",
    "none": "none: this programme does not moderate audits",
    "group": "the moderation group, at its meeting",
}


async def allocation_views(
    session: AsyncSession, cycle: Cycle, audits: Sequence[Audit], *, timezone: str
) -> list[AllocationView]:
    """What the allocation cards show, read in a handful of queries."""
    service = await repo.get_service(session, cycle.service_id)
    kloes = [kloe.text for kloe in await repo.list_kloes(session, cycle.id)]
    audit_tool = load_tool(cycle.audit_tool_id)
    people = await repo.staff_by_ids(
        session,
        {
            person
            for audit in audits
            for person in (
                audit.auditor_id,
                audit.moderator_id,
                audit.practitioner_id,
                audit.team_manager_id,
            )
            if person is not None
        },
    )
    cases = await repo.cases_by_ids(session, {audit.case_id for audit in audits})
    teams = {team.id: team.name for team in await repo.list_teams(session, cycle.service_id)}

    def name(staff_id: int | None) -> str:
        return people[staff_id].display_name if staff_id in people else "not yet allocated"

    path = await cycle_path(session, cycle)
    unnamed = UNNAMED_MODERATOR.get(path.moderation.mode)
    own_section = any(
        section.kind is SectionKind.PRACTITIONER_REFLECTION for section in audit_tool.sections
    )

    return [
        AllocationView(
            audit_id=audit.id,
            version=audit.version,
            case_ref=cases[audit.case_id].case_ref,
            service=service.name if service else "",
            team=teams.get(cases[audit.case_id].team_id, ""),
            practitioner=name(audit.practitioner_id),
            team_manager=name(audit.team_manager_id),
            auditor=name(audit.auditor_id),
            moderator=(
                unnamed if unnamed and audit.moderator_id is None else name(audit.moderator_id)
            ),
            tool=audit_tool.title,
            kloes=kloes,
            audit_due=day(audit.due_at, timezone),
            moderation_due=day(audit.moderation_due_at, timezone),
            period=path.period,
            desktop=audit_tool.desktop,
            own_section=own_section,
            after_audit=path.after_audit(),
        )
        for audit in audits
    ]


async def send_allocation_notices(
    session: AsyncSession, cycle: Cycle, audits: Sequence[Audit], *, timezone: str
) -> None:
    """Queue the auditor's, moderator's, practitioner's and team manager's messages."""
    views = await allocation_views(session, cycle, audits, timezone=timezone)
    bundle = f"allocation:cycle:{cycle.id}"
    tool = load_tool(cycle.audit_tool_id)
    messages: list[Message] = []
    for audit, view in zip(audits, views, strict=True):
        ref = view.case_ref
        parts = (
            ("auditor", audit.auditor_id, f"You're auditing case {ref}", auditor_card),
            ("moderator", audit.moderator_id, f"You're moderating case {ref}", moderator_card),
            ("practitioner", audit.practitioner_id,
             f"Your work on case {ref} has been picked for audit", practitioner_card),
            ("team_manager", audit.team_manager_id, f"Copy: case {ref} picked for audit",
             team_manager_card),
        )  # fmt: skip
        for part, person_id, summary, build in parts:
            if person_id is None:
                continue
            messages.append(
                Message(person_id, "allocation", f"allocated:audit:{audit.id}:{part}",
                        summary=summary, card=build(view), bundle=bundle)
            )  # fmt: skip
        asked = (audit.draft or {}).get("practitioner")
        request = request_card(audit, tool, ref, view.auditor) if asked else None
        if request is not None:
            messages.append(
                Message(audit.practitioner_id, "reflection", f"reflection:audit:{audit.id}:request",
                        summary=f"Write your own section for the audit of case {ref}",
                        card=request, bundle=bundle)
            )  # fmt: skip
    await tell_all(session, messages)
