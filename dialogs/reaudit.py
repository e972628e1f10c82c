"""Re-audits of work below Good (DOMAIN.md step 10), where people take part in them.

`open_reaudit_cycle` opens a cycle of its own for re-audited cases, allocated as any cycle
is; the daily sweep (`scheduler/follow_up.py`) uses it for each cycle's sample. Once a
sample is moderated the sweep tells the Audit Team what it found; where it has not
consistently improved and the programme says so ("If the 10% have not consistently
improved, the audit team may repeat the exercise on all the work that fell below good"),
their card offers to re-audit the rest, which `reaudit_the_rest` does, once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.follow_up import REAUDIT_ALL, ReauditResultView, reaudit_result_card
from dialogs.access import AUDIT_TEAM_ROLES
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.cycles import CycleRequestError, allocate_picked, write_audits
from dialogs.notices import send_allocation_notices
from storage import repositories as repo
from storage.enums import CycleState
from storage.models import Cycle, FollowUp, FollowUpKind, Service
from storage.repositories import follow_up as follow_ups
from storage.repositories.digest import REAUDIT_METHOD
from storage.repositories.follow_up import FollowUpCandidate
from workflow.calendar import WorkingCalendar
from workflow.rules import ProgrammeRules
from workflow.selection import ReauditSample

log = logging.getLogger(__name__)


async def open_reaudit_cycle(
    session: AsyncSession,
    source: Cycle,
    chosen: Sequence[FollowUpCandidate],
    service: Service,
    rules: ProgrammeRules,
    sample: ReauditSample,
    now: datetime,
    *,
    title: str | None = None,
    actor: Any = "scheduler",
) -> Cycle:
    """A cycle of its own for the re-audits, opened and allocated as any cycle is."""
    calendar = WorkingCalendar.from_rules(rules)
    # The first month with room for the audit and then its moderation, so moderation
    # (due on the month's last working day) never falls before the audit is due.
    room = rules.audit_due_working_days + rules.moderation_working_days
    month = calendar.add_working_days(calendar.local_date(now), room).replace(day=1)
    kloes = [kloe.text for kloe in await repo.list_kloes(session, source.id)]
    cycle = await repo.create_cycle(
        session, service.id, title or f"Re-audit of {source.title}", month,
        source.audit_tool_id, kloes,
    )  # fmt: skip
    # A re-audit runs under the programme its first audit ran under.
    cycle.programme_version_id = source.programme_version_id
    cases = await repo.cases_by_ids(session, {c.audit.case_id for c in chosen})
    picked = sorted(cases.values(), key=lambda case: case.case_ref)
    allocations = await allocate_picked(session, cycle, picked)
    cycle.state = CycleState.OPEN
    cycle.selection_seed = int(sample.seed)
    cycle.selection_method = REAUDIT_METHOD
    cycle.selection_explanation = sample.explanation
    cycle.selection_plan = {"reaudit_of": source.id, "seed": cycle.selection_seed}
    cycle.opened_at = now
    await session.flush()
    await repo.record_event(
        session, actor, "cycle", cycle.id, "opened", None, repo.snapshot(cycle), at=now
    )
    teams = {team.id: team for team in await repo.list_teams(session, service.id)}
    audits = await write_audits(session, cycle, picked, allocations, rules, now, actor, teams)
    await send_allocation_notices(session, cycle, audits, timezone=rules.timezone)
    return cycle


async def reaudit_result_view(
    session: AsyncSession, result: FollowUp, **changes: Any
) -> ReauditResultView:
    source = await repo.get_cycle(session, result.cycle_id) if result.cycle_id else None
    details = result.details
    allocated = None
    if details.get("rest_cycle_id"):
        rest = await repo.get_cycle(session, details["rest_cycle_id"])
        allocated = rest.title if rest else None
    view = ReauditResultView(
        result_id=result.id,
        source=source.title if source else "",
        reaudited=int(details.get("reaudited", 0)),
        still_below=tuple(details.get("still_below", ())),
        rest=tuple(details.get("rest", ())),
        offer_all=bool(details.get("offer_all")),
        report_to=str(details.get("report_to", "")),
        allocated=allocated,
    )
    return replace(view, **changes)


# --- the Audit Team re-audits the rest --------------------------------------------------


async def _load_result(context: ActionContext) -> FollowUp | None:
    return await follow_ups.follow_up_for_update(
        context.session, context.number("result_id"), FollowUpKind.REAUDIT_RESULT
    )


async def _refuse_unless_audit_team(context: ActionContext, result: FollowUp) -> str | None:
    if await repo.holds_role(
        context.session, context.staff.id, tuple(AUDIT_TEAM_ROLES), result.service_id
    ):
        return None
    return "the service's Audit Team"


@card_action(REAUDIT_ALL, load=_load_result, refuse=_refuse_unless_audit_team)
async def reaudit_the_rest(context: ActionContext, result: FollowUp) -> dict[str, Any]:
    session = context.session
    details = result.details
    if details.get("rest_cycle_id"):
        view = await reaudit_result_view(
            session, result, notice="The rest was already allocated, so nothing was changed."
        )
        return reaudit_result_card(view)
    if not details.get("offer_all") or not details.get("rest"):
        raise ActionRefused("Nothing to re-audit", "There is no other work below Good to re-audit.")
    source = await repo.get_cycle(session, result.cycle_id or 0)
    service = await repo.get_service(session, result.service_id)
    assert source is not None and service is not None
    wanted = set(details["rest"])
    chosen = [
        c for c in await follow_ups.below_good_in_cycle(session, source.id) if c.case_ref in wanted
    ]
    rules = context.rules.with_overrides(service.rules_overrides or {})
    sample = ReauditSample(
        case_refs=tuple(sorted(wanted)),
        seed=int(source.selection_seed or source.id),
        explanation=(
            f"All the work below Good in {source.title} not re-audited in the sample, asked for "
            f"by {context.staff.display_name} because the sample had not consistently improved."
        ),
    )
    try:
        async with session.begin_nested():
            cycle = await open_reaudit_cycle(
                session, source, chosen, service, rules, sample, context.now,
                title=f"Re-audit of all work below Good in {source.title}",
                actor=context.staff,
            )  # fmt: skip
    except CycleRequestError as error:
        view = await reaudit_result_view(session, result, notice=f"Nothing was allocated: {error}")
        return reaudit_result_card(view)
    result.details = {**details, "rest_cycle_id": cycle.id}
    await session.flush()
    await repo.record_event(
        session, context.staff, "cycle", source.id, "reaudit_all_allocated", None,
        {"follow_up": result.key, "cycle_id": cycle.id, "case_refs": sorted(wanted)},
        at=context.now,
    )  # fmt: skip
    log.info("re-audit of the rest of cycle %s allocated in cycle %s", source.id, cycle.id)
    return reaudit_result_card(await reaudit_result_view(session, result))
