"""The timetable asks for each cycle when it falls due, so nobody has to remember.

A daily job: for every programme in force, each timetabled cycle whose asking
day has come (its lead weeks before the audit month) and that has not been
proposed yet is sent, as a filled-in cycle form, to the people the programme
asks to propose cycles (the Audit Team; Hillingdon's Principal Social Worker;
City of London's Head of Safeguarding and QA) and, for a thematic cycle, to whoever sets
its theme as well (Hillingdon's SMT and Head of Safeguarding and QA). They add the key lines of
enquiry and send it; it then goes the way any proposed cycle goes. Each cycle
is asked for once, however often the job runs.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cards.cycle_form import cycle_form_card
from dialogs.cycle_form import approval_words
from dialogs.notify import tell
from dialogs.programmes import programme_of_version
from storage import repositories as repo
from storage.models import Service
from storage.repositories import programmes as versions
from workflow.calendar import Clock, WorkingCalendar
from workflow.programme import Programme
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.timetable import DueCycle, due_to_propose, suggested_cases

log = logging.getLogger(__name__)


async def ask_for_due_cycles(
    sessions: async_sessionmaker[AsyncSession], clock: Clock, rules: ProgrammeRules
) -> int:
    """Send the proposers the cycles the timetable says are due now; how many were asked."""
    today = WorkingCalendar.from_rules(rules).local_date(clock.now())
    asked = 0
    async with sessions.begin() as session:
        for version in await versions.programmes_in_force(session):
            programme = await programme_of_version(session, version.id)
            for entry in due_to_propose(programme, today):
                service = await repo.get_service_by_code(session, entry.service)
                if service is None or await _proposed(session, service, entry):
                    continue
                asked += await _ask(session, version.programme_key, programme, service, entry)
    if asked:
        log.info("timetable asked for %s cycles", asked)
    return asked


def cycle_title(entry: DueCycle) -> str:
    return f"{entry.name}, {entry.month:%B %Y}"


async def _proposed(session: AsyncSession, service: Service, entry: DueCycle) -> bool:
    title = cycle_title(entry)
    return any(
        cycle.month == entry.month and cycle.title == title
        for cycle in await repo.list_cycles(session, service.id)
    )


async def _ask(
    session: AsyncSession, key: str, programme: Programme, service: Service, entry: DueCycle
) -> int:
    people: dict[int, None] = {}
    for role in (*programme.timetable.proposed_to, *entry.asked):
        for person in await repo.list_staff_with_role(session, role, service.id):
            people[person.id] = None
    if not people:
        log.warning("timetable: nobody can propose %s for %s", cycle_title(entry), service.code)
        return 0
    teams = await repo.list_teams(session, service.id)
    auditors = [
        person
        for person in await repo.list_staff_with_role(session, Role.AUDITOR, service.id)
        if person.auditor_trained
    ]
    cases = suggested_cases(entry, teams=len(teams), auditors=len(auditors))
    month = f"{entry.month:%Y-%m}"
    intro = (
        f"The timetable has {cycle_title(entry)} due for {service.name}: "
        f"{_about(entry, cases)}. Add the key lines of enquiry (the focus of these audits) "
        "and send it."
    )
    card = cycle_form_card(
        [(service.code, service.name)],
        [(month, f"{entry.month:%B %Y}")],
        values={"service": service.code, "month": month, "cases": str(cases),
                "title": cycle_title(entry)},
        intro=intro,
        approval=await approval_words(session, service.code),
    )  # fmt: skip
    for person_id in people:
        await tell(
            session,
            person_id,
            "timetable",
            f"timetable:{key}:{entry.key}",
            summary=f"Time to propose {cycle_title(entry)} for {service.name}",
            card=card,
        )
    return 1


def _about(entry: DueCycle, cases: int) -> str:
    words = f"{cases} case{'s' if cases != 1 else ''}"
    if entry.kind == "thematic":
        words += (
            ", on a theme: to pick cases by criteria, use "
            "`auditbot cycle propose --criteria` instead"
        )
    if entry.tool_per_cycle:
        words += ", with a tool designed for it (name it with `--tool`)"
    return words
