"""Part B at supervision (Hillingdon): after the final grade, the practitioner and team
manager note the audit's findings and complete part B of the audit form "at the next
available supervision, or sooner if immediate safeguarding actions are identified".

`ask_for_part_b` runs in the transaction that sets the final grade (moderation, the
auditor's grade standing, a dispute decided): it sets when part B is due, by the
programme's working days (fewer when the auditor found immediate safeguarding actions),
records it in the audit's trail and sends both people the form, once. Either of them
records it, once (`dialogs/part_b.py`); the reminder ladder chases the practitioner
while it is owed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.dates import day
from cards.moderation import grade_label
from cards.part_b import PartBView, part_b_card
from dialogs.notify import tell
from dialogs.programmes import audit_follow_up, audit_rules
from dialogs.wizard_facts import wizard_state
from storage import repositories as repo
from storage.models import Audit
from workflow.calendar import WorkingCalendar
from workflow.deadlines import part_b_due
from workflow.rules import ProgrammeRules
from workflow.tools import PartB, load_tool
from workflow.wizard_rules import safeguarding_actions, wizard_steps

REQUESTED = "part_b_requested"
RECORDED = "part_b_recorded"


async def _part_b_of(session: AsyncSession, audit: Audit) -> PartB | None:
    cycle = await repo.get_cycle(session, audit.cycle_id)
    return load_tool(cycle.audit_tool_id).part_b if cycle is not None else None


def _safeguarding(audit: Audit, tool_id: str) -> bool:
    steps = wizard_steps(load_tool(tool_id))
    return safeguarding_actions(steps, wizard_state(audit, steps).answers)


async def ask_for_part_b(
    session: AsyncSession, audit: Audit, *, now: datetime, rules: ProgrammeRules
) -> None:
    """Where the audit's programme follows up with part B, set when it is due and send the
    form to the practitioner and team manager; once per audit (a revised grade after a
    dispute keeps the supervision it was due at)."""
    follow_up = await audit_follow_up(session, audit)
    part_b = await _part_b_of(session, audit)
    if follow_up.meeting != "part_b" or part_b is None:
        return
    if await repo.latest_event(session, "audit", audit.id, REQUESTED) is not None:
        return
    cycle = await repo.get_cycle(session, audit.cycle_id)
    safeguarding = _safeguarding(audit, cycle.audit_tool_id)
    days = (
        follow_up.part_b_safeguarding_working_days
        if safeguarding
        else follow_up.part_b_supervision_working_days
    )
    rules = await audit_rules(session, audit, rules)
    audit.part_b_due_at = part_b_due(
        WorkingCalendar.from_rules(rules), now, working_days=days
    ).due_at
    await session.flush()
    await repo.record_event(
        session,
        "system",
        "audit",
        audit.id,
        REQUESTED,
        None,
        {"due_at": audit.part_b_due_at, "safeguarding": safeguarding, "working_days": days},
        at=now,
    )
    view = await part_b_view(session, audit, timezone=rules.timezone)
    for person_id in (audit.practitioner_id, audit.team_manager_id):
        if person_id is not None:
            await tell(
                session,
                person_id,
                "part_b",
                f"part_b:audit:{audit.id}",
                summary=f"Case {view.case_ref}: complete part B of the audit by {view.due}",
                card=part_b_card(view),
            )


async def part_b_view(
    session: AsyncSession,
    audit: Audit,
    *,
    timezone: str,
    values: dict[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
) -> PartBView:
    cycle = await repo.get_cycle(session, audit.cycle_id)
    part_b = load_tool(cycle.audit_tool_id).part_b
    assert part_b is not None, "part B asked of a tool without one"
    case = await repo.get_case(session, audit.case_id)
    people = await repo.staff_by_ids(
        session, {p for p in (audit.practitioner_id, audit.team_manager_id) if p is not None}
    )
    requested = await repo.latest_event(session, "audit", audit.id, REQUESTED)
    done = await repo.latest_event(session, "audit", audit.id, RECORDED)
    asked = (requested.after or {}) if requested is not None else {}
    recorded, answers = None, ()
    if done is not None:
        by = people.get(done.actor_id) if done.actor_id else None
        recorded = (
            f"Recorded by {by.display_name if by else 'someone'} on "
            f"{day(done.occurred_at, timezone)}"
        )
        answers = tuple((done.after or {}).get("answers") or ())
    due_at = asked.get("due_at")
    return PartBView(
        audit_id=audit.id,
        version=audit.version,
        case_ref=case.case_ref,
        practitioner=_name(people, audit.practitioner_id),
        team_manager=_name(people, audit.team_manager_id),
        grade=grade_label(audit.final_grade),
        due=day(datetime.fromisoformat(due_at) if isinstance(due_at, str) else due_at, timezone),
        safeguarding=bool(asked.get("safeguarding")),
        title=part_b.title,
        guidance=part_b.guidance,
        prompts=part_b.prompts,
        recorded=recorded,
        answers=answers,
        values=values or {},
        error=error,
        notice=notice,
    )


def _name(people: dict[int, Any], staff_id: int | None) -> str:
    person = people.get(staff_id) if staff_id is not None else None
    return person.display_name if person is not None else "not known"
