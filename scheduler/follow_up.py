"""The daily follow-up sweeps (DOMAIN.md step 10): dip audits, re-audits, escalations,
each as the programme a cycle runs under says (`[reaudit]`; with no programme file,
Tower Hamlets Early Help's):

- A dip audit `dip_audit_weeks` after work was graded one of `dip_grades` (RI or
  Inadequate): a task for the Audit Team (a card, a trail row), and the audit moves to
  follow-up where its state allows.
- The re-audit of at least the programme's `fraction` (else `reaudit_fraction`, rounded
  up) of a cycle's below-Good work, `reaudit_months` after the cycle's moderation day:
  the sample is drawn with a recorded seed (`workflow.selection.reaudit_sample`)
  and allocated in a cycle of its own by the same rules as any cycle
  (`dialogs.cycles`), and everyone is told as for any allocation.
- Work still below Good `escalation_months` after its audit, with no later
  audit of the case at Good: escalated to the programme's `escalate_to` (the service's
  Divisional Director).

Each follow-up is one transaction that first records it in `follow_ups`
under a unique key, then writes its trail rows and outbox messages: running
the sweep twice, or on two instances at once, does each thing once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cards.dates import day
from cards.follow_up import (
    DipAuditView,
    EscalationView,
    ReauditView,
    dip_audit_card,
    escalation_card,
    reaudit_card,
    reaudit_result_card,
)
from dialogs.access import audit_team_ids
from dialogs.cycles import CycleRequestError
from dialogs.notify import tell
from dialogs.programmes import cycle_reaudit
from dialogs.reaudit import open_reaudit_cycle, reaudit_result_view
from storage import repositories as repo
from storage.models import Cycle, FollowUp, FollowUpKind, Service
from storage.repositories import follow_up as follow_ups
from storage.repositories.digest import NOT_COUNTED
from storage.repositories.follow_up import BELOW_GOOD, FollowUpCandidate
from workflow.calendar import Clock, WorkingCalendar, add_months
from workflow.deadlines import Deadline, dip_audit_due, escalation_due, reaudit_due
from workflow.programme.model import Reaudit
from workflow.roles import Party
from workflow.rules import ProgrammeRules
from workflow.selection import reaudit_sample
from workflow.states import Action, find_transition
from workflow.words import counted

log = logging.getLogger(__name__)

ACTOR = "scheduler"


@dataclass(frozen=True)
class ServiceRules:
    service: Service
    rules: ProgrammeRules
    calendar: WorkingCalendar


async def run_follow_ups(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, rules: ProgrammeRules
) -> int:
    """Start every follow-up that has fallen due; returns how many were started now.

    Daily is enough (each fires on its due working day, or at the first run after
    it if the service was down). Safe to run again, and on several instances.
    """
    now = clock.now()
    async with sessions() as session:
        services = await _service_rules(session, rules)
    if not services:
        return 0
    started = await _dip_audits(sessions, now, services)
    started += await _reaudits(sessions, now, services)
    started += await _reaudit_results(sessions, now, services)
    started += await _escalations(sessions, now, services)
    if started:
        log.info("follow-up sweep started %s follow-ups", started)
    return started


async def _service_rules(session: AsyncSession, rules: ProgrammeRules) -> dict[int, ServiceRules]:
    found = {}
    for service in await repo.list_services(session):
        own = rules.with_overrides(service.rules_overrides or {})
        found[service.id] = ServiceRules(service, own, WorkingCalendar.from_rules(own))
    return found


async def _one(
    sessions: async_sessionmaker[AsyncSession],
    what: str,
    step: Callable[[AsyncSession], Awaitable[int]],
) -> int:
    """Run one follow-up in its own transaction. A failure (a bug, the database) rolls back
    that one, is logged by ids, and is tried again at the next sweep, without holding up
    the rest."""
    try:
        async with sessions.begin() as session:
            return await step(session)
    except Exception:
        log.exception("follow-up failed: %s; it is tried again at the next sweep", what)
        return 0


def reaudit_due_for_cycle(
    rules: ProgrammeRules, calendar: WorkingCalendar, month: date
) -> Deadline:
    """When a cycle's below-Good work is re-audited: `reaudit_months` after the cycle's
    moderation day (the last working day of its month)."""
    moderation_day = calendar.last_working_day_of_month(month.year, month.month)
    return reaudit_due(rules, calendar, moderation_day)


# --- dip audits ------------------------------------------------------------------------


async def _dip_audits(
    sessions: async_sessionmaker[AsyncSession], now: datetime, services: dict[int, ServiceRules]
) -> int:
    # Due dates only move later (to a working day), so nothing moderated after this bound
    # is due; a day's margin covers local dates against UTC instants.
    weeks = min(s.rules.dip_audit_weeks for s in services.values())
    bound = now - timedelta(weeks=weeks) + timedelta(days=1)
    async with sessions() as session:
        found = [
            candidate
            for candidate in await follow_ups.dip_audit_candidates(session, bound)
            if _dip_audited(await cycle_reaudit(session, candidate.audit.cycle_id), candidate)
        ]
    return await _start_each_due(
        sessions, found, services, now, what="dip audit", due_of=dip_audit_due,
        start=_start_dip_audit,
    )  # fmt: skip


def _dip_audited(choice: Reaudit, candidate: FollowUpCandidate) -> bool:
    """Whether the audit's programme gives work of its grade a dip audit."""
    return choice.dip_audit and candidate.audit.final_grade in choice.dip_grades


async def _start_each_due(
    sessions: async_sessionmaker[AsyncSession],
    found: Sequence[FollowUpCandidate],
    services: dict[int, ServiceRules],
    now: datetime,
    *,
    what: str,
    due_of: Callable[[ProgrammeRules, WorkingCalendar, date], Deadline],
    start: Callable[..., Awaitable[int]],
) -> int:
    """Start, each in its own transaction, the follow-up of every candidate whose due day
    (counted from its moderation, in its service's calendar) has come."""
    started = 0
    for candidate in found:
        where = services[candidate.service_id]
        moderated_on = where.calendar.local_date(candidate.audit.moderated_at)
        due = due_of(where.rules, where.calendar, moderated_on)
        if where.calendar.local_date(now) < due.day:
            continue
        started += await _one(
            sessions, f"{what} of audit {candidate.audit.id}",
            partial(start, candidate=candidate, where=where, due=due, now=now),
        )  # fmt: skip
    return started


async def _start_dip_audit(
    session: AsyncSession,
    candidate: FollowUpCandidate,
    where: ServiceRules,
    due: Deadline,
    now: datetime,
) -> int:
    key = f"dip_audit:audit:{candidate.audit.id}"
    recorded = await follow_ups.record_follow_up(
        session, key, FollowUpKind.DIP_AUDIT, service_id=where.service.id, due_on=due.day,
        done_at=now, outcome="task_created", audit_id=candidate.audit.id,
    )  # fmt: skip
    if recorded is None:
        return 0
    audit = await repo.get_audit_for_update(session, candidate.audit.id)
    assert audit is not None and audit.final_grade is not None
    moved = False
    step = find_transition(audit.state, Action.START_FOLLOW_UP)
    if step is not None and Party.SYSTEM in step.parties:
        before = repo.snapshot(audit, ("state",))
        audit.state = step.target
        await session.flush()
        await repo.record_event(
            session, ACTOR, "audit", audit.id, "follow_up_started", before,
            repo.snapshot(audit, ("state",)), at=now,
        )  # fmt: skip
        moved = True
    recorded.details = {"moved_to_follow_up": moved, "state": audit.state.value}
    await repo.record_event(
        session, ACTOR, "audit", audit.id, "dip_audit_due", None,
        {"follow_up": key, "due_on": due.day, "grade": audit.final_grade}, at=now,
    )  # fmt: skip
    team = await repo.get_team(session, candidate.team_id)
    view = DipAuditView(
        case_ref=candidate.case_ref,
        service=where.service.name,
        team=team.name if team else "",
        grade=audit.final_grade.label,
        moderated_on=day(audit.moderated_at, where.rules.timezone),
        due_on=day(due.day),
        weeks=where.rules.dip_audit_weeks,
        moved_to_follow_up=moved,
    )
    for person in await audit_team_ids(session, where.service.id):
        await tell(
            session, person, "follow_up", f"follow_up:{key}",
            summary=f"Dip audit due: case {candidate.case_ref}", card=dip_audit_card(view),
        )  # fmt: skip
    return 1


# --- re-audits -------------------------------------------------------------------------


async def _reaudits(
    sessions: async_sessionmaker[AsyncSession], now: datetime, services: dict[int, ServiceRules]
) -> int:
    months = min(s.rules.reaudit_months for s in services.values())
    some_calendar = next(iter(services.values())).calendar
    latest_month = add_months(some_calendar.local_date(now).replace(day=1), -months)
    async with sessions() as session:
        cycles = [
            (cycle, choice)
            for cycle in await follow_ups.cycles_awaiting_reaudit(session, latest_month)
            if (choice := await cycle_reaudit(session, cycle.id)).sample
        ]
    started = 0
    for cycle, choice in cycles:
        where = services[cycle.service_id]
        due = reaudit_due_for_cycle(where.rules, where.calendar, cycle.month)
        if where.calendar.local_date(now) < due.day:
            continue
        fraction = choice.fraction or where.rules.reaudit_fraction
        started += await _one(
            sessions, f"re-audit of cycle {cycle.id}",
            partial(_start_reaudit, cycle_id=cycle.id, where=where, due=due, now=now,
                    fraction=fraction),
        )  # fmt: skip
    return started


def reaudit_seed(cycle: Cycle) -> int:
    """The re-audit sample's seed: the source cycle's own selection seed, or its id when it
    has none, so anyone can re-run the draw from the cycle's record."""
    return int(cycle.selection_seed) if cycle.selection_seed is not None else cycle.id


async def _start_reaudit(
    session: AsyncSession,
    cycle_id: int,
    where: ServiceRules,
    due: Deadline,
    now: datetime,
    fraction: float,
) -> int:
    key = f"reaudit:cycle:{cycle_id}"
    recorded = await follow_ups.record_follow_up(
        session, key, FollowUpKind.REAUDIT, service_id=where.service.id, due_on=due.day,
        done_at=now, outcome="pending", cycle_id=cycle_id,
    )  # fmt: skip
    if recorded is None:
        return 0
    source = await repo.get_cycle(session, cycle_id)
    assert source is not None
    population = await follow_ups.below_good_in_cycle(session, cycle_id)
    seed = reaudit_seed(source)
    sample = reaudit_sample(sorted({c.case_ref for c in population}), fraction, seed)
    recorded.details = {
        "seed": seed,
        "fraction": fraction,
        "below_good": len(population),
        "case_refs": list(sample.case_refs),
        "explanation": sample.explanation,
    }
    if not sample.case_refs:
        recorded.outcome = "nothing_below_good"
        await session.flush()
        return 1
    chosen = [c for c in population if c.case_ref in set(sample.case_refs)]
    view = ReauditView(
        source=source.title,
        service=where.service.name,
        below_good=len(population),
        case_refs=sample.case_refs,
        explanation=sample.explanation,
        cycle=None,
    )
    try:
        async with session.begin_nested():
            cycle = await open_reaudit_cycle(
                session, source, chosen, where.service, where.rules, sample, now
            )
        recorded.outcome = "allocated"
        recorded.details = {**recorded.details, "reaudit_cycle_id": cycle.id}
        view = ReauditView(**{**view.__dict__, "cycle": cycle.title})
    except CycleRequestError as error:
        log.info("re-audit of cycle %s could not be allocated", cycle_id)
        recorded.outcome = "not_allocated"
        recorded.details = {**recorded.details, "problem": str(error)}
        view = ReauditView(**{**view.__dict__, "problem": str(error)})
    await session.flush()
    await repo.record_event(
        session, ACTOR, "cycle", cycle_id, "reaudit_sampled", None,
        {"follow_up": key, "outcome": recorded.outcome, **recorded.details}, at=now,
    )  # fmt: skip
    for person in await audit_team_ids(session, where.service.id):
        await tell(
            session, person, "follow_up", f"follow_up:{key}",
            summary=f"Re-audit of {source.title}: {counted(len(sample.case_refs), 'case')}",
            card=reaudit_card(view),
        )  # fmt: skip
    return 1


async def _reaudit_results(
    sessions: async_sessionmaker[AsyncSession], now: datetime, services: dict[int, ServiceRules]
) -> int:
    """Once every re-audit of a sample has its final grade, the Audit Team hears what it
    found (and, where the programme allows, may re-audit the rest), once per sample."""
    async with sessions() as session:
        done = {
            f.key for f in await follow_ups.list_follow_ups(session, FollowUpKind.REAUDIT_RESULT)
        }
        samples = [
            f
            for f in await follow_ups.list_follow_ups(session, FollowUpKind.REAUDIT)
            if f.outcome == "allocated" and _result_key(f) not in done
        ]
    started = 0
    for sample in samples:
        where = services[sample.service_id]
        started += await _one(
            sessions, f"re-audit result of cycle {sample.cycle_id}",
            partial(_report_reaudit, sample_id=sample.id, where=where, now=now),
        )  # fmt: skip
    return started


def _result_key(sample: FollowUp) -> str:
    return f"reaudit_result:cycle:{sample.cycle_id}"


async def _report_reaudit(
    session: AsyncSession, sample_id: int, where: ServiceRules, now: datetime
) -> int:
    sample = await session.get(FollowUp, sample_id)
    assert sample is not None and sample.cycle_id is not None
    reaudits = await repo.list_audits_in_cycle(session, sample.details["reaudit_cycle_id"])
    counted_ = [a for a in reaudits if a.state not in NOT_COUNTED]
    if not counted_ or any(a.final_grade is None for a in counted_):
        return 0  # not all moderated yet
    refs = {a.id: (await repo.get_case(session, a.case_id)).case_ref for a in counted_}
    still_below = sorted(refs[a.id] for a in counted_ if a.final_grade in BELOW_GOOD)
    sampled = set(sample.details.get("case_refs", ()))
    rest = sorted(
        {c.case_ref for c in await follow_ups.below_good_in_cycle(session, sample.cycle_id)}
        - sampled
    )
    choice = await cycle_reaudit(session, sample.cycle_id)
    recorded = await follow_ups.record_follow_up(
        session, _result_key(sample), FollowUpKind.REAUDIT_RESULT,
        service_id=where.service.id, due_on=where.calendar.local_date(now), done_at=now,
        outcome="not_improved" if still_below else "improved", cycle_id=sample.cycle_id,
        details={
            "reaudit_cycle_id": sample.details["reaudit_cycle_id"],
            "reaudited": len(counted_),
            "still_below": still_below,
            "rest": rest,
            "offer_all": bool(choice.all_if_not_improved and still_below and rest),
            "report_to": choice.report_to,
        },
    )  # fmt: skip
    if recorded is None:
        return 0
    await repo.record_event(
        session, ACTOR, "cycle", sample.cycle_id, "reaudit_result", None,
        {"follow_up": recorded.key, "outcome": recorded.outcome, **recorded.details}, at=now,
    )  # fmt: skip
    view = await reaudit_result_view(session, recorded)
    for person in await audit_team_ids(session, where.service.id):
        await tell(
            session, person, "follow_up", f"follow_up:{recorded.key}",
            summary=f"Re-audit result: {view.source}", card=reaudit_result_card(view),
        )  # fmt: skip
    return 1


# --- escalations -----------------------------------------------------------------------


async def _escalations(
    sessions: async_sessionmaker[AsyncSession], now: datetime, services: dict[int, ServiceRules]
) -> int:
    months = min(s.rules.escalation_months for s in services.values())
    some_calendar = next(iter(services.values())).calendar
    # Month ends clamp (31 Aug + 6 months is 28 Feb), so the bound keeps a few days' margin.
    bound = datetime.combine(
        add_months(some_calendar.local_date(now), -months) + timedelta(days=4),
        datetime.min.time(),
        tzinfo=now.tzinfo,
    )
    async with sessions() as session:
        found = [
            candidate
            for candidate in await follow_ups.escalation_candidates(session, bound)
            if (await cycle_reaudit(session, candidate.audit.cycle_id)).escalate_to
        ]
    return await _start_each_due(
        sessions, found, services, now, what="escalation", due_of=escalation_due,
        start=_escalate,
    )  # fmt: skip


async def _escalate(
    session: AsyncSession,
    candidate: FollowUpCandidate,
    where: ServiceRules,
    due: Deadline,
    now: datetime,
) -> int:
    key = f"escalation:audit:{candidate.audit.id}"
    audit = candidate.audit
    choice = await cycle_reaudit(session, audit.cycle_id)
    directors = sorted(
        {
            staff.id
            for staff, _ in await repo.staff_holding_roles(
                session, choice.escalate_to, where.service.id
            )
        }
    )
    recorded = await follow_ups.record_follow_up(
        session, key, FollowUpKind.ESCALATION, service_id=where.service.id, due_on=due.day,
        done_at=now, outcome="escalated" if directors else "no_director",
        details={"to": directors}, audit_id=audit.id,
    )  # fmt: skip
    if recorded is None:
        return 0
    assert audit.final_grade is not None
    await repo.record_event(
        session, ACTOR, "audit", audit.id, "escalated_not_improved", None,
        {"follow_up": key, "to": directors, "grade": audit.final_grade, "due_on": due.day},
        at=now,
    )  # fmt: skip
    team = await repo.get_team(session, candidate.team_id)
    view = EscalationView(
        case_ref=candidate.case_ref,
        service=where.service.name,
        team=team.name if team else "",
        grade=audit.final_grade.label,
        moderated_on=day(audit.moderated_at, where.rules.timezone),
        months=where.rules.escalation_months,
    )
    # With no Divisional Director set up, the Audit Team hears instead, so it is not lost.
    for person in directors or await audit_team_ids(session, where.service.id):
        await tell(
            session, person, "follow_up", f"follow_up:{key}",
            summary=f"Escalated: case {candidate.case_ref} not improved",
            card=escalation_card(view),
        )  # fmt: skip
    return 1
