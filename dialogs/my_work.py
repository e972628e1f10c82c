"""`my audits` and `my actions`: what is on a person's plate, soonest due first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cards.moderation import OPEN_MODERATION
from cards.my_actions import ActionItem, my_actions_card
from cards.my_audits import AuditTask, my_audits_card, not_in_staff_list_card
from cards.wizard import RESUME, START_AUDIT
from dialogs.commands import CommandContext, command
from dialogs.moderation import open_for_moderation
from dialogs.steps import parts_for, state_words
from dialogs.waiting import waiting_on
from storage.enums import RecommendationLevel, RecommendationStatus
from storage.models import Audit
from storage.repositories.views import live_audit_rows_for_staff, open_action_rows_for_owner
from workflow.roles import Party
from workflow.states import AuditState

ACTION_STATUS_WORDS = {
    RecommendationStatus.OPEN: "open",
    RecommendationStatus.PARTLY: "partly done",
    RecommendationStatus.NOT_YET: "not yet done",
}
LEVEL_WORDS = {
    RecommendationLevel.CHILD: "Child-level",
    RecommendationLevel.SERVICE: "Service-level",
}


@command(
    "my audits",
    "What is yours to do in audits, soonest due first, with the decisions waiting on you.",
)
async def my_audits(context: CommandContext, argument: str) -> dict[str, Any]:
    """Every part the person plays in live audits (open cycles, audit not ended)."""
    if context.staff is None:
        return not_in_staff_list_card()
    now = context.now()
    staff_id = context.staff.id
    found: list[tuple[datetime | None, AuditTask]] = []
    for row in await live_audit_rows_for_staff(context.session, staff_id):
        for part in parts_for(row.audit, staff_id, row.practitioner_name):
            due_on = context.local_day(part.due_at) if part.due_at else None
            task = AuditTask(
                row.case_ref,
                part.label,
                state_words(row.audit),
                due_on,
                part.overdue(now),
                button=_next_press(row.audit, part.party),
            )
            found.append((part.due_at, task))
    for item in await waiting_on(context.session, context.staff):
        due_on = context.local_day(item.due_at) if item.due_at else None
        overdue = item.due_at is not None and now > item.due_at
        found.append((item.due_at, item.task(due_on, overdue)))
    found.sort(key=lambda item: (item[0] is None, item[0] or now, item[1].case_ref))
    return my_audits_card([task for _, task in found], today=context.today())


def _next_press(audit: Audit, party: Party) -> tuple[str, str, dict[str, Any]] | None:
    """The auditor's way back into the wizard, and the moderator's to the moderation form,
    from the list."""
    if party is Party.MODERATOR and open_for_moderation(audit):
        return ("Moderate", OPEN_MODERATION, {"audit_id": audit.id})
    if party is not Party.AUDITOR:
        return None
    if audit.state is AuditState.ALLOCATED:
        return ("Start audit", START_AUDIT, {"audit_id": audit.id, "version": audit.version})
    if audit.state in (AuditState.IN_PROGRESS, AuditState.RETURNED):
        return ("Continue audit", RESUME, {"audit_id": audit.id})
    return None


@command(
    "my actions",
    "The actions from audits that you own and have not finished, numbered: reply "
    '"done N", "partly N" with what was done, or "not yet N" with a new date.',
)
async def my_actions(context: CommandContext, argument: str) -> dict[str, Any]:
    """Open, partly done and not-yet-done recommendations owned by the person, overdue first."""
    if context.staff is None:
        return not_in_staff_list_card()
    today = context.today()
    items = [
        ActionItem(
            case_ref=row.case_ref,
            action=row.recommendation.action,
            level=LEVEL_WORDS[row.recommendation.level],
            status=ACTION_STATUS_WORDS[row.recommendation.status],
            due_on=row.recommendation.due_on,
            overdue=row.recommendation.due_on is not None and row.recommendation.due_on < today,
            number=row.recommendation.id,
        )
        for row in await open_action_rows_for_owner(context.session, context.staff.id)
    ]
    return my_actions_card(items, today=today)
