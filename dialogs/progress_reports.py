"""The coordinator's weekly progress report on Inadequate work (DOMAIN.md, the fast path:
"until the work reaches Good, the coordinator reports progress weekly to the HoS and the
Audit Manager").

`prompt_progress_reports` is for the scheduler to call every day. Work whose
moderated or final grade is Inadequate, whose final grade has not reached Good
and whose audit is still live, gets one prompt per ISO week to the coordinators
covering the case: on the first working day at least
`inadequate_progress_report_days` after moderation or the last prompt. The
coordinator answers on the card; the report goes to the Head of Service and
the Audit Manager and into the audit's trail. A second answer, or an answer
on last week's card, changes nothing and shows this week's card.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cards.dates import day
from cards.moderation import grade_label
from cards.notice import notice_card
from cards.progress_reports import (
    PROGRESS_LIMIT,
    REPORT_PROGRESS,
    ProgressReportView,
    progress_report_card,
)
from dialogs.actions import ActionContext, card_action
from dialogs.inadequate import programme_fast_path
from dialogs.moderation import coordinators_of
from dialogs.notify import tell
from dialogs.programmes import audit_rules
from storage import repositories as repo
from storage.models import Audit, AuditEvent
from workflow.calendar import Clock, WorkingCalendar
from workflow.grades import Grade
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.states import AuditState

log = logging.getLogger(__name__)

PROMPTED = "progress_report_requested"
REPORTED = "progress_reported"
# Moderated, and not ended: the states in which the work's grade stands.
REPORTING_STATES = frozenset(
    {
        AuditState.MODERATED,
        AuditState.DISPUTED,
        AuditState.DECIDED,
        AuditState.UOPP_BOOKED,
        AuditState.UOPP_HELD,
        AuditState.FOLLOW_UP,
    }
)
READERS = (Role.HEAD_OF_SERVICE, Role.AUDIT_MANAGER)


def needs_progress_reports(audit: Audit) -> bool:
    """Inadequate work that has not reached Good, in an audit still running, in a programme
    with the fast path (its weekly reports are part of it)."""
    inadequate = Grade.INADEQUATE in (audit.moderated_grade, audit.final_grade)
    if not programme_fast_path(audit):
        return False
    at_good = audit.final_grade in (Grade.GOOD, Grade.OUTSTANDING)
    return audit.state in REPORTING_STATES and inadequate and not at_good


def iso_week(day_: date) -> str:
    year, week, _ = day_.isocalendar()
    return f"{year}-W{week:02d}"


async def prompt_progress_reports(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, rules: ProgrammeRules
) -> int:
    """Ask the coordinators for this week's report on each piece of Inadequate work that is
    due one; returns how many prompts were queued. Safe to call as often as you like: an
    audit is prompted at most once per ISO week (its trail row and the messages' keys say
    so), and never on a day that is not a working day."""
    now = clock.now()
    queued = 0
    async with sessions.begin() as session:
        for candidate in await repo.list_audits_in_states(session, REPORTING_STATES):
            if not needs_progress_reports(candidate):
                continue
            audit = await repo.get_audit_for_update(session, candidate.id)
            if audit is not None and needs_progress_reports(audit):
                queued += await _prompt(session, audit, now, rules)
    if queued:
        log.info("progress reports requested: %s", queued)
    return queued


async def _prompt(session: AsyncSession, audit: Audit, now: datetime, rules: ProgrammeRules) -> int:
    rules = await audit_rules(session, audit, rules)
    calendar = WorkingCalendar.from_rules(rules)
    today = calendar.local_date(now)
    week = iso_week(today)
    if not calendar.is_working_day(today):
        return 0
    last = await repo.latest_event(session, "audit", audit.id, PROMPTED)
    if last is not None and (last.after or {}).get("week") == week:
        return 0
    if await _report_of_week(session, audit, week) is not None:
        return 0
    since = last.occurred_at if last is not None else (audit.moderated_at or now)
    if (today - calendar.local_date(since)).days < rules.inadequate_progress_report_days:
        return 0
    coordinators = await coordinators_of(session, audit)
    if not coordinators:
        log.warning("no coordinator to report progress on audit %s", audit.id)
        return 0
    view = await progress_view(session, audit, week, today=today, rules=rules)
    for person in coordinators:
        await tell(
            session,
            person.id,
            "progress_report",
            f"progress:audit:{audit.id}:week:{week}",
            summary=f"Case {view.case_ref}: report this week's progress ({view.grade} work)",
            card=progress_report_card(view),
        )
    await repo.record_event(
        session,
        "system",
        "audit",
        audit.id,
        PROMPTED,
        None,
        {"week": week, "coordinators": [person.id for person in coordinators]},
        at=now,
    )
    return len(coordinators)


async def _report_of_week(session: AsyncSession, audit: Audit, week: str) -> AuditEvent | None:
    latest = await repo.latest_event(session, "audit", audit.id, REPORTED)
    return latest if latest is not None and (latest.after or {}).get("week") == week else None


async def progress_view(
    session: AsyncSession, audit: Audit, week: str, *, today: date, rules: ProgrammeRules
) -> ProgressReportView:
    case = await repo.get_case(session, audit.case_id)
    team = await repo.get_team(session, case.team_id)
    practitioner = await repo.get_staff(session, audit.practitioner_id)
    latest = await repo.latest_event(session, "audit", audit.id, REPORTED)
    reported = last_report = None
    if latest is not None:
        words = await _report_words(session, latest, rules.timezone)
        if (latest.after or {}).get("week") == week:
            reported = words
        else:
            last_report = words
    monday = date.fromisocalendar(today.isocalendar()[0], today.isocalendar()[1], 1)
    return ProgressReportView(
        audit_id=audit.id,
        case_ref=case.case_ref,
        team=team.name if team else "",
        practitioner=practitioner.display_name if practitioner else "",
        grade=grade_label(audit.final_grade),
        week=week,
        week_words=f"week of {day(monday, rules.timezone)}",
        last_report=last_report,
        reported=reported,
    )


async def _report_words(session: AsyncSession, event: AuditEvent, timezone: str) -> str:
    by = await repo.get_staff(session, event.actor_id) if event.actor_id else None
    name = by.display_name if by else "the coordinator"
    return f"{name} on {day(event.occurred_at, timezone)}: {(event.after or {}).get('report')}"


# --- the coordinator's answer ------------------------------------------------------------


async def _load(context: ActionContext) -> Audit | None:
    return await repo.get_audit_for_update(context.session, context.number("audit_id"))


async def _refuse_unless_coordinator(context: ActionContext, audit: Audit) -> str | None:
    if any(p.id == context.staff.id for p in await coordinators_of(context.session, audit)):
        return None
    return "a coordinator for the team whose work this is"


@card_action(REPORT_PROGRESS, load=_load, refuse=_refuse_unless_coordinator)
async def report_progress(context: ActionContext, audit: Audit) -> dict[str, Any]:
    """This week's report, once: recorded, and forwarded to the Head of Service and the
    Audit Manager. Last week's card, or a second press, shows this week's card."""
    session = context.session
    case_ref = (await repo.get_case(session, audit.case_id)).case_ref
    if not needs_progress_reports(audit):
        return notice_card(
            f"Weekly progress: case {case_ref}",
            "No more weekly reports are needed: the work has reached Good, or the audit has "
            "ended. Nothing was changed.",
        )
    rules = await audit_rules(session, audit, context.rules)
    today = WorkingCalendar.from_rules(rules).local_date(context.now)
    week = iso_week(today)
    view = await progress_view(session, audit, week, today=today, rules=rules)
    text = context.text("progress", limit=PROGRESS_LIMIT)
    if view.reported is not None:
        return progress_report_card(view)
    if context.text("week", limit=10) != week:
        return progress_report_card(
            view,
            text=text,
            notice="That card was for an earlier week, so nothing was sent. This is this "
            "week's: check your report and send it here.",
        )
    if not text:
        return progress_report_card(view, error="Say briefly how the improvement plan is going.")
    await repo.record_event(
        session,
        context.staff,
        "audit",
        audit.id,
        REPORTED,
        None,
        {"week": week, "report": text},
        at=context.now,
    )
    await session.flush()
    await _forward(session, audit, view, context.staff.display_name, text)
    log.info("progress reported on audit %s for %s", audit.id, week)
    return progress_report_card(await progress_view(session, audit, week, today=today, rules=rules))


async def _forward(
    session: AsyncSession, audit: Audit, view: ProgressReportView, by: str, text: str
) -> None:
    cycle = await repo.get_cycle(session, audit.cycle_id)
    case = await repo.get_case(session, audit.case_id)
    readers: dict[int, None] = {}
    for role in READERS:
        for person in await repo.list_staff_with_role_for_team(
            session, role, cycle.service_id, case.team_id
        ):
            readers[person.id] = None
    for person_id in readers:
        await tell(
            session,
            person_id,
            "progress_report",
            f"progress:audit:{audit.id}:week:{view.week}:reported",
            summary=f"Case {view.case_ref}: weekly progress on {view.grade} work",
            text=f"Weekly progress on case {view.case_ref} ({view.grade}, {view.week_words}), "
            f"from {by}, coordinator: {text}",
        )
