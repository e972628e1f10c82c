"""`status CASE-REF` (for those who may see the audit) and `cycle status` (for the Audit Team)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from cards.cycle_status import CycleSummary, OverdueAudit, Unreachable, cycle_status_card
from cards.my_audits import not_in_staff_list_card
from cards.status import AuditStatus, DueDate, audit_not_found_card, bad_reference_card, status_card
from dialogs.access import AUDIT_TEAM_ROLES, allocated_to, can_see_audit, scopes_for
from dialogs.commands import CommandContext, command
from dialogs.steps import current_step
from storage.enums import CycleState
from storage.imports.cases import CASE_REF
from storage.repositories.views import (
    AuditRow,
    CycleRow,
    audit_rows_for_case_ref,
    count_audits_by_state,
    live_audit_rows_in_cycle,
    open_cycles_in_services,
    unreachable_people,
)
from workflow.states import AuditState

# The date each step of current_step() is due by, as a status card names it.
STEP_DATES = (
    ("audit", "Audit due", "due_at"),
    ("moderation", "Moderation due", "moderation_due_at"),
    ("UoPP meeting", "UoPP meeting due", "uopp_due_at"),
)


@command("status", "One case's audit: type status and the case reference, e.g. status CSC-26-0001.")
async def status(context: CommandContext, argument: str) -> dict[str, Any]:
    """The case's audits the person may see; anything else reads as "no such audit"."""
    if context.staff is None:
        return not_in_staff_list_card()
    words = argument.split()
    if len(words) != 1 or not CASE_REF.match(words[0]):
        return bad_reference_card(missing=not words)
    visible = [
        row
        for row in await audit_rows_for_case_ref(context.session, words[0])
        if await can_see_audit(context.session, context.staff, row.audit, held=context.roles)
    ]
    if not visible:
        return audit_not_found_card()
    now = context.now()
    return status_card([_status_of(context, row, now) for row in visible], today=context.today())


def _status_of(context: CommandContext, row: AuditRow, now: datetime) -> AuditStatus:
    audit = row.audit
    step = current_step(audit)
    due_dates = []
    for what, label, attribute in STEP_DATES:
        due_at = getattr(audit, attribute)
        if due_at is None and what != "audit":
            continue
        overdue = step is not None and step.what == what and step.overdue(now)
        due_dates.append(DueDate(label, context.local_day(due_at) if due_at else None, overdue))
    if audit.urgent_issues_due_at is not None:
        urgent = context.local_day(audit.urgent_issues_due_at)
        due_dates.append(DueDate("Urgent issues due", urgent, False))
    grades = [
        (label, grade.label)
        for label, grade in (
            ("Auditor's grade", audit.initial_grade),
            ("Moderated grade", audit.moderated_grade),
            ("Final grade", audit.final_grade),
        )
        if grade is not None
    ]
    return AuditStatus(
        case_ref=row.case_ref,
        cycle_title=row.cycle_title,
        cycle_open=row.cycle_state is CycleState.OPEN,
        state=audit.state.label,
        team=row.team_name,
        practitioner=row.practitioner_name,
        auditor=row.auditor_name,
        moderator=row.moderator_name,
        due_dates=due_dates,
        grades=grades,
    )


@command(
    "cycle status",
    "Where each open cycle of your services stands: counts, overdue audits, who I couldn't reach.",
    roles=AUDIT_TEAM_ROLES,
)
async def cycle_status(context: CommandContext, argument: str) -> dict[str, Any]:
    """Every open cycle of the services (or teams) the person is Audit Team or Audit Manager for."""
    scopes = scopes_for(context.roles, AUDIT_TEAM_ROLES)
    summaries = [
        await _summarise(context, cycle, scopes[cycle.cycle.service_id])
        for cycle in await open_cycles_in_services(context.session, list(scopes))
    ]
    return cycle_status_card(summaries, today=context.today(), tracker_url=context.tracker_url)


async def _summarise(
    context: CommandContext, row: CycleRow, team_ids: frozenset[int] | None
) -> CycleSummary:
    session, now = context.session, context.now()
    counts = await count_audits_by_state(session, row.cycle.id, team_ids)
    live = await live_audit_rows_in_cycle(session, row.cycle.id, team_ids)
    overdue = []
    for audit_row in live:
        step = current_step(audit_row.audit)
        if step is not None and step.due_at is not None and step.overdue(now):
            due_on = context.local_day(step.due_at)
            overdue.append(
                OverdueAudit(
                    audit_row.case_ref, step.what, due_on, _waits_for(audit_row, step.what)
                )
            )
    overdue.sort(key=lambda late: (late.due_on, late.case_ref))
    people = set().union(*(allocated_to(audit_row.audit) for audit_row in live))
    unreachable = [
        Unreachable(person.display_name, _reason(person.error))
        for person in await unreachable_people(session, people)
    ]
    return CycleSummary(
        title=row.cycle.title,
        service=row.service_name,
        total=sum(counts.values()),
        counts=[(state.label, counts[state]) for state in AuditState if counts.get(state)],
        moderation_due_on=_usual_day(context, [r.audit.moderation_due_at for r in live]),
        overdue=overdue,
        unreachable=unreachable,
    )


def _waits_for(row: AuditRow, what: str) -> str:
    if what == "moderation":
        return f"moderator {row.moderator_name}" if row.moderator_name else "no moderator yet"
    return f"auditor {row.auditor_name}"


def _usual_day(context: CommandContext, moments: list[datetime | None]) -> date | None:
    """The cycle's moderation date: the one most audits share (Inadequate ones run faster)."""
    days = Counter(context.local_day(moment) for moment in moments if moment is not None)
    if not days:
        return None
    return max(days, key=lambda day: (days[day], day))


def _reason(error: str | None) -> str:
    """The sender's short reason code in words; never more than that is stored."""
    code = (error or "").lower()
    if "blocked" in code or "403" in code:
        return "has blocked auditbot in Teams"
    if "install" in code or "conversation" in code:
        return "has not installed auditbot in Teams"
    return "could not be reached"
