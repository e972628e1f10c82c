"""The external check of a moderation group's audits (Tower Hamlets CSC: "An external social
work consultant is employed to check the accuracy and impact of the audit programme twice a
year. The consultant reviews a sample of audits with practitioners, auditors and the
moderators and checks the file record. The findings are reported to the CSCIB").

`start_external_checks` is a daily job. In each month the programme's check falls in (twice
a year: January and July), for each service its group moderates, it draws a seeded sample of
the audits moderated since the last check (the seed, the population and the ids are
recorded, so the draw can be explained and repeated) and sends it to whoever holds the
checker's role. Each check is recorded once under its key in `follow_ups`, so running the
job again, or on two instances, draws nothing twice. The checker records their findings on
the card, once; the Audit Team is told them.
"""

from __future__ import annotations

import logging
import random
import zlib
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cards.dates import day
from cards.external_check import (
    FINDINGS_LIMIT,
    RECORD_EXTERNAL_CHECK,
    CheckedAudit,
    ExternalCheckView,
    external_check_card,
)
from cards.notice import notice_card
from dialogs.access import audit_team_ids
from dialogs.actions import ActionContext, card_action
from dialogs.notify import tell
from dialogs.programmes import programme_of_version
from storage import repositories as repo
from storage.models import Audit, Cycle, FollowUp, FollowUpKind, Service
from storage.repositories import follow_up as follow_ups
from storage.repositories import programmes as versions
from workflow.calendar import Clock, WorkingCalendar, add_months
from workflow.grades import Grade
from workflow.programme.model import GroupModeration
from workflow.rules import ProgrammeRules
from workflow.states import AuditState

log = logging.getLogger(__name__)

NOT_CHECKED = (AuditState.INVALIDATED, AuditState.REALLOCATED)


async def start_external_checks(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, rules: ProgrammeRules
) -> int:
    """Draw and send each external check that falls in this month; how many were sent."""
    calendar = WorkingCalendar.from_rules(rules)
    now = clock.now()
    today = calendar.local_date(now)
    if not calendar.is_working_day(today):
        return 0
    due: list[tuple[str, GroupModeration]] = []
    async with sessions() as session:
        for version in await versions.programmes_in_force(session):
            programme = await programme_of_version(session, version.id)
            for service in programme.services:
                moderation = programme.moderation_for(service.code)
                if isinstance(moderation, GroupModeration):
                    if today.month in moderation.external_check_months():
                        due.append((service.code, moderation))
    sent = 0
    for code, moderation in due:
        async with sessions.begin() as session:
            service = await repo.get_service_by_code(session, code)
            if service is not None:
                sent += await _start(session, service, moderation, today, now, rules.timezone)
    return sent


async def _start(
    session: AsyncSession,
    service: Service,
    moderation: GroupModeration,
    today: date,
    now: datetime,
    timezone: str,
) -> int:
    month = today.replace(day=1)
    key = f"external_check:service:{service.id}:{month:%Y-%m}"
    since = add_months(month, -(12 // moderation.external_check_times_a_year))
    zone = ZoneInfo(timezone)
    population = list(
        await session.scalars(
            select(Audit.id)
            .join(Cycle, Cycle.id == Audit.cycle_id)
            .where(
                Cycle.service_id == service.id,
                Audit.moderated_at >= datetime.combine(since, datetime.min.time(), zone),
                Audit.moderated_at < datetime.combine(month, datetime.min.time(), zone),
                Audit.state.not_in(NOT_CHECKED),
            )
            .order_by(Audit.id)
        )
    )
    seed = zlib.crc32(key.encode())
    chosen = sorted(
        random.Random(seed).sample(
            population, min(moderation.external_check_sample, len(population))
        )
    )
    checkers: dict[int, None] = {}
    for role in moderation.external_check_by:
        for person in await repo.list_staff_with_role(session, role, service.id):
            checkers[person.id] = None
    outcome = "sample_sent" if chosen and checkers else "nothing_to_check"
    if chosen and not checkers:
        outcome = "nobody_to_check"
    recorded = await follow_ups.record_follow_up(
        session,
        key,
        FollowUpKind.EXTERNAL_CHECK,
        service_id=service.id,
        due_on=today,
        done_at=now,
        outcome=outcome,
        details={
            "since": since.isoformat(),
            "until": month.isoformat(),
            "seed": seed,
            "population": len(population),
            "audit_ids": chosen,
            "checkers": list(checkers),
            "findings_to": moderation.external_check_findings_to,
        },
    )
    if recorded is None:
        return 0  # drawn already, by an earlier run or another instance
    await repo.record_event(
        session, "scheduler", "service", service.id, "external_check_drawn", None,
        {"follow_up": key, **recorded.details}, at=now,
    )  # fmt: skip
    if outcome == "nothing_to_check":
        return 0
    if outcome == "nobody_to_check":
        log.warning("external check %s: nobody holds the checker's role", key)
        for person in await audit_team_ids(session, service.id):
            await tell(
                session, person, "external_check", f"{key}:nobody",
                summary=f"Nobody can do {service.name}'s external check",
                card=notice_card(
                    f"Nobody can do {service.name}'s external check",
                    f"{len(chosen)} audits were drawn for this month's external check, but "
                    "nobody holds the checker's role. Give someone the role and tell them.",
                ),
            )  # fmt: skip
        return 0
    view = await check_view(session, recorded, timezone=timezone)
    for person_id in checkers:
        await tell(
            session, person_id, "external_check", key,
            summary=f"External check: {len(chosen)} of {service.name}'s audits to review",
            card=external_check_card(view),
        )  # fmt: skip
    return 1


async def check_view(
    session: AsyncSession,
    check: FollowUp,
    *,
    timezone: str,
    findings: str = "",
    error: str | None = None,
    notice: str | None = None,
) -> ExternalCheckView:
    details = check.details
    service = await repo.get_service(session, check.service_id)
    audits = [await repo.get_audit(session, audit_id) for audit_id in details["audit_ids"]]
    ids = {i for a in audits if a for i in (a.auditor_id, a.moderator_id, a.practitioner_id)}
    if details.get("recorded_by"):
        ids.add(details["recorded_by"])
    people = await repo.staff_by_ids(session, {i for i in ids if i is not None})

    def name(staff_id: int | None) -> str:
        return people[staff_id].display_name if staff_id in people else "not known"

    rows = []
    for audit in audits:
        if audit is None:
            continue
        case = await repo.get_case(session, audit.case_id)
        team = await repo.get_team(session, case.team_id) if case.team_id else None
        rows.append(
            CheckedAudit(
                case_ref=case.case_ref,
                team=team.name if team else "",
                auditor=name(audit.auditor_id),
                moderated_by=f"the moderation group (recorded by {name(audit.moderator_id)})",
                practitioner=name(audit.practitioner_id),
                grades=_grades(audit),
            )
        )
    since, until = date.fromisoformat(details["since"]), date.fromisoformat(details["until"])
    last = add_months(until, -1)
    recorded = None
    if details.get("recorded_at"):
        at = datetime.fromisoformat(details["recorded_at"])
        recorded = f"Findings recorded by {name(details['recorded_by'])} on {day(at, timezone)}"
    return ExternalCheckView(
        check_id=check.id,
        service=service.name if service else "",
        period=f"{since:%B %Y} to {last:%B %Y}",
        drawn=(
            f"{len(rows)} of the {details['population']} audits moderated in that period, "
            f"drawn at random with seed {details['seed']} (recorded, so the draw can be repeated)."
        ),
        audits=rows,
        report_to=details.get("findings_to") or "the Audit Team",
        findings=details.get("findings", findings),
        recorded=recorded,
        error=error,
        notice=notice,
    )


def _grades(audit: Audit) -> str:
    initial = Grade(audit.initial_grade).label if audit.initial_grade else "not graded"
    moderated = Grade(audit.moderated_grade).label if audit.moderated_grade else "not moderated"
    return f"{initial}, moderated {moderated}"


# --- the checker records findings -------------------------------------------------------


async def _load_check(context: ActionContext) -> FollowUp | None:
    return await follow_ups.follow_up_for_update(
        context.session, context.number("check_id"), FollowUpKind.EXTERNAL_CHECK
    )


async def _refuse_unless_checker(context: ActionContext, check: FollowUp) -> str | None:
    if context.staff.id in check.details.get("checkers", ()):
        return None
    return "the external checker this sample was sent to"


@card_action(RECORD_EXTERNAL_CHECK, load=_load_check, refuse=_refuse_unless_checker)
async def record_findings(context: ActionContext, check: FollowUp) -> dict[str, Any]:
    session, timezone = context.session, context.rules.timezone
    if check.details.get("recorded_at"):
        return external_check_card(
            await check_view(
                session,
                check,
                timezone=timezone,
                notice="The findings were already recorded, so nothing was changed.",
            )
        )
    findings = context.text("findings", limit=FINDINGS_LIMIT)
    if not findings:
        return external_check_card(
            await check_view(
                session, check, timezone=timezone, error="Write your findings. Nothing was saved."
            )
        )
    check.details = {
        **check.details,
        "findings": findings,
        "recorded_by": context.staff.id,
        "recorded_at": context.now.isoformat(),
    }
    await session.flush()
    await repo.record_event(
        session, context.staff, "service", check.service_id, "external_check_recorded", None,
        {"follow_up": check.key, "findings": findings}, at=context.now,
    )  # fmt: skip
    view = await check_view(session, check, timezone=timezone)
    for person in await audit_team_ids(session, check.service_id):
        await tell(
            session, person, "external_check", f"{check.key}:recorded",
            summary=f"External check findings: {view.service}, {view.period}",
            card=notice_card(
                f"External check findings: {view.service}, {view.period}",
                findings,
                [("Checked by", context.staff.display_name), ("For", view.report_to),
                 ("Audits checked", ", ".join(a.case_ref for a in view.audits))],
            ),
        )  # fmt: skip
    log.info("external check %s recorded by staff=%s", check.id, context.staff.id)
    return external_check_card(view)
