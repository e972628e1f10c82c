"""A realistic programme for digest and follow-up tests: two services, two cycles each, 300 audits.

Early Help (2 teams) and Children's Social Care (3 teams), each with a Head
of Service, the Audit Team, trained auditors working in other teams,
moderators, practitioners and team managers, and one Divisional Director
over both. Each service has last month's cycle (October 2026, all moderated)
and this month's (November 2026, every stage from allocated to UoPP held),
75 audits each: grades drawn with a fixed seed, moderation raising or
lowering some, Inadequate work with urgent issues, disputes waiting for a
decision, exemption requests, overdue audits, moderations, UoPPs and SMART
actions, meetings booked and held, and next month's KLOEs waiting for Early
Help's Head of Service.

The builder keeps, as it writes, what a reader of each service should see
(`Expected`), worked out from the rows it chose rather than by querying, so a
digest test compares two independent accounts.

"Now" is Monday 23 November 2026, 08:00 in London (GMT), the digest's hour.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage import repositories as repo
from storage.enums import (
    CycleState,
    MeetingKind,
    MeetingState,
    RecommendationLevel,
    ServiceKind,
)
from storage.models import Audit, Cycle, Service, Staff, Team
from tests.factories import create_staff
from workflow.grades import Grade
from workflow.moderation import DisputeState
from workflow.roles import Role
from workflow.states import AuditState

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
WEEK_START = NOW - timedelta(days=7)
PREVIOUS_MONTH = date(2026, 10, 1)
CURRENT_MONTH = date(2026, 11, 1)
AUDITS_PER_CYCLE = 75
GRADES = (Grade.OUTSTANDING, Grade.GOOD, Grade.REQUIRES_IMPROVEMENT, Grade.INADEQUATE)
GRADE_WEIGHTS = (1, 5, 3, 1)

# This month's audits by state, in the order they are written (75 in all).
CURRENT_STATES = (
    [AuditState.ALLOCATED] * 10
    + [AuditState.IN_PROGRESS] * 8
    + [AuditState.SUBMITTED] * 10
    + [AuditState.MODERATED] * 20
    + [AuditState.DISPUTED] * 3
    + [AuditState.UOPP_BOOKED] * 12
    + [AuditState.UOPP_HELD] * 12
)
PREVIOUS_STATES = [AuditState.CLOSED] * 40 + [AuditState.UOPP_HELD] * 35


FIRST = (
    "Amara",
    "Ben",
    "Chloe",
    "Dev",
    "Ellie",
    "Farah",
    "George",
    "Hana",
    "Isaac",
    "Jade",
    "Kofi",
    "Laura",
    "Marek",
    "Nadia",
    "Owen",
    "Priya",
    "Rhys",
    "Sofia",
    "Tom",
    "Yusuf",
)
LAST = ("Adebayo", "Brennan", "Chowdhury", "Doyle", "Evans", "Fischer", "Grant", "Hussain",
        "Iqbal", "Jones", "Kowalski", "Lewis", "Mensah", "Novak", "O'Neill", "Patel", "Quinn",
        "Rahman", "Silva", "Taylor", "Walsh")  # fmt: skip
_people = itertools.count()


def person_name() -> str:
    """A fictional staff name (the dataset's people need names to read like a council's)."""
    n = next(_people)
    return f"{FIRST[n % 20]} {LAST[(n * 7 + n // 20) % 21]}"


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@dataclass
class Expected:
    """What a Head of Service of the whole service should read this week."""

    grades_current: Counter[Grade] = field(default_factory=Counter)
    grades_previous: Counter[Grade] = field(default_factory=Counter)
    raised: int = 0
    lowered: int = 0
    unchanged: int = 0
    allocated: int = 0
    submitted: int = 0
    moderated: int = 0
    inadequate_open: int = 0
    overdue: Counter[str] = field(default_factory=Counter)  # what -> how many
    decisions: int = 0
    booked: int = 0
    held: int = 0
    case_refs: set[str] = field(default_factory=set)


@dataclass
class ServiceData:
    service: Service
    teams: list[Team]
    head: Staff
    audit_team: Staff
    cycles: dict[str, Cycle]  # "previous", "current"
    expected: Expected


@dataclass
class Dataset:
    services: dict[str, ServiceData]  # by code
    director: Staff


async def build_dataset(session: AsyncSession, *, seed: int = 2026) -> Dataset:
    global _people
    _people = itertools.count()  # the same names every build
    rng = random.Random(seed)
    director = await create_staff(session, display_name="Diana Okafor")
    services = {}
    for code, name, kind, team_names in (
        ("EH", "Early Help", ServiceKind.EARLY_HELP, ("Family Support", "Young People")),
        ("CSC", "Children's Social Care", ServiceKind.CHILDRENS_SOCIAL_CARE,
         ("Child Protection", "Children Looked After", "Assessment")),
    ):  # fmt: skip
        services[code] = await _service(session, rng, code, name, kind, team_names, director)
    await _kloes_waiting(session, services["EH"])
    return Dataset(services, director)


async def _service(
    session: AsyncSession,
    rng: random.Random,
    code: str,
    name: str,
    kind: ServiceKind,
    team_names: tuple[str, ...],
    director: Staff,
) -> ServiceData:
    service = await repo.add_service(session, code, name, kind)
    await repo.assign_role(session, director.id, Role.DIVISIONAL_DIRECTOR, service.id)
    teams = [
        await repo.add_team(session, service.id, f"{code}-{n}", team)
        for n, team in enumerate(team_names, 1)
    ]
    head = await create_staff(
        session, roles=[(Role.HEAD_OF_SERVICE, service)], display_name=f"Head of {name}"
    )
    audit_team = await create_staff(
        session,
        roles=[(Role.AUDIT_TEAM, service), (Role.AUDIT_MANAGER, service)],
        display_name=f"{code} Audit Team",
    )
    await create_staff(session, roles=[(Role.COORDINATOR, service)], display_name=person_name())
    practitioners, managers, auditors, moderators = {}, {}, [], []
    auditor_team: dict[int, int] = {}
    for team in teams:
        managers[team.id] = await create_staff(
            session, roles=[(Role.TEAM_MANAGER, team)], display_name=person_name()
        )
        practitioners[team.id] = [
            await create_staff(
                session, roles=[(Role.PRACTITIONER, team)], display_name=person_name()
            )
            for _ in range(4)
        ]
        for _ in range(2):  # trained auditors who work in this team audit the others
            auditor = await create_staff(
                session,
                roles=[(Role.AUDITOR, service), (Role.PRACTITIONER, team)],
                auditor_trained=True,
                display_name=person_name(),
            )
            auditors.append(auditor)
            auditor_team[auditor.id] = team.id
        moderators.append(
            await create_staff(
                session, roles=[(Role.MODERATOR, service)], display_name=person_name()
            )
        )
    cases = []
    for n in range(1, 2 * AUDITS_PER_CYCLE + 1):
        team = teams[n % len(teams)]
        cases.append(
            await repo.add_case(
                session,
                f"{code}-26-{n:04d}",
                team.id,
                practitioners[team.id][n % 4].id,
                date(2025, 6, 1),
            )
        )
    expected = Expected()
    cycles = {}
    for label, month, states, chunk in (
        ("previous", PREVIOUS_MONTH, PREVIOUS_STATES, cases[AUDITS_PER_CYCLE:]),
        ("current", CURRENT_MONTH, CURRENT_STATES, cases[:AUDITS_PER_CYCLE]),
    ):
        cycle = await repo.create_cycle(
            session, service.id, f"{name} audits, {month:%B %Y}", month,
            "col_practice_impact_review", ["Is the child's lived experience visible?"],
        )  # fmt: skip
        cycle.state = CycleState.OPEN
        cycle.selection_seed = month.year * 100 + month.month
        cycle.selection_method = "random"
        cycle.opened_at = at(month + timedelta(days=1), 9)
        cycles[label] = cycle
        rows = []
        for index, (case, state) in enumerate(zip(chunk, states, strict=True)):
            auditor = auditors[index % len(auditors)]
            if auditor_team[auditor.id] == case.team_id:  # independent of the case's team
                auditor = auditors[(index + 2) % len(auditors)]
            rows.append(
                _audit_fields(
                    rng, label, index, state, case, auditor,
                    moderators[index % len(moderators)], managers[case.team_id], expected,
                )
            )  # fmt: skip
            expected.case_refs.add(case.case_ref)
        audits = await repo.add_audits(session, cycle.id, rows)
        if label == "current":
            await _current_extras(session, audits, expected)
        else:
            await _previous_extras(session, audits)
    return ServiceData(service, teams, head, audit_team, cycles, expected)


def _audit_fields(
    rng: random.Random,
    label: str,
    index: int,
    state: AuditState,
    case,  # noqa: ANN001
    auditor: Staff,
    moderator: Staff,
    manager: Staff,
    expected: Expected,
) -> dict:
    month = PREVIOUS_MONTH if label == "previous" else CURRENT_MONTH
    fields: dict = {
        "case_id": case.id,
        "practitioner_id": case.practitioner_id,
        "auditor_id": auditor.id,
        "moderator_id": moderator.id,
        "team_manager_id": manager.id,
        "state": state,
        "created_at": at(month + timedelta(days=1), 9),
        "due_at": at(date(month.year, month.month, 20), 17),
        "moderation_due_at": at(date(month.year, month.month, 30), 17),
    }
    this_week = label == "current" and index % 5 == 0
    if label == "current" and state is AuditState.ALLOCATED and index % 2 == 0:
        # reallocated or late-added this week: still due next Friday
        fields["created_at"] = WEEK_START + timedelta(days=2)
        fields["due_at"] = at(date(2026, 11, 27), 17)
        expected.allocated += 1
    if state in (AuditState.ALLOCATED, AuditState.IN_PROGRESS):
        if fields["due_at"] < NOW:
            expected.overdue["Audit"] += 1
        return fields
    initial = rng.choices(GRADES, GRADE_WEIGHTS)[0]
    fields["initial_grade"] = initial
    submitted = WEEK_START + timedelta(days=1) if this_week else at(month.replace(day=12), 10)
    fields["submitted_at"] = submitted
    if label == "current" and WEEK_START <= submitted < NOW:
        expected.submitted += 1
    if state is AuditState.SUBMITTED:
        if index % 4 == 0:  # late moderation
            fields["moderation_due_at"] = at(date(2026, 11, 19), 17)
            expected.overdue["Moderation"] += 1
        return fields
    moderated = initial
    roll = rng.random()
    if roll < 0.15 and initial.rank < 4:
        moderated = GRADES[GRADES.index(initial) - 1]
    elif roll < 0.35 and initial.rank > 1:
        moderated = GRADES[GRADES.index(initial) + 1]
    fields["moderated_grade"] = moderated
    fields["final_grade"] = moderated
    moderated_at = at(month.replace(day=10), 15)
    if this_week:
        moderated_at = WEEK_START + timedelta(days=3)
    fields["moderated_at"] = moderated_at
    if label == "current" and WEEK_START <= moderated_at < NOW:
        expected.moderated += 1
    grades = expected.grades_current if label == "current" else expected.grades_previous
    grades[moderated] += 1
    if label == "current":
        if moderated.rank > initial.rank:
            expected.raised += 1
        elif moderated.rank < initial.rank:
            expected.lowered += 1
        else:
            expected.unchanged += 1
    uopp_due = at(date(2026, 11, 20) if index % 3 else date(2026, 11, 27), 17)
    if moderated is Grade.INADEQUATE and label == "previous" and state is not AuditState.CLOSED:
        expected.inadequate_open += 1  # open, its urgent issues long since confirmed
        fields["urgent_issues_due_at"] = at(date(2026, 10, 19), 17)
    if label == "current":
        fields["uopp_due_at"] = uopp_due
        if state in (AuditState.MODERATED, AuditState.UOPP_BOOKED) and uopp_due < NOW:
            expected.overdue["UoPP"] += 1
        if moderated is Grade.INADEQUATE and state is not AuditState.CLOSED:
            expected.inadequate_open += 1
            fields["urgent_issues_due_at"] = at(date(2026, 11, 18), 17)
            if index % 2:  # not confirmed by the team manager
                expected.overdue["Urgent issues"] += 1
    return fields


async def _current_extras(session: AsyncSession, audits: list[Audit], expected: Expected) -> None:
    for index, audit in enumerate(audits):
        if audit.final_grade is Grade.INADEQUATE and index % 2 == 0:
            await repo.record_event(
                session, audit.team_manager_id, "audit", audit.id, "urgent_issues_confirmed",
                None, {"note": "Done"}, at=at(date(2026, 11, 17)),
            )  # fmt: skip
        if audit.state is AuditState.DISPUTED:
            dispute = await repo.add_dispute(
                session, audit.id, audit.practitioner_id, "The grade misses recent work.",
                at=at(date(2026, 11, 17)),
            )  # fmt: skip
            dispute.state = DisputeState.ESCALATED
            dispute.escalated_at = at(date(2026, 11, 19))
            expected.decisions += 1
        if audit.state is AuditState.ALLOCATED and index in (1, 3):
            request = await repo.add_exemption_request(
                session, audit.id, audit.auditor_id, "I supervised this practitioner last year."
            )
            request.created_at = at(date(2026, 11, 17), 10)
            expected.decisions += 1
        if audit.state in (AuditState.UOPP_BOOKED, AuditState.UOPP_HELD):
            meeting = await repo.add_meeting(
                session, audit.id, MeetingKind.UOPP, audit.auditor_id,
                [(audit.auditor_id, True), (audit.practitioner_id, True)],
                starts_at=NOW + timedelta(days=2), ends_at=NOW + timedelta(days=2, hours=1),
            )  # fmt: skip
            if audit.state is AuditState.UOPP_BOOKED:
                meeting.state = MeetingState.BOOKED
                expected.booked += 1
            else:
                meeting.state = MeetingState.HELD
                meeting.held_on = date(2026, 11, 18) if index % 2 else date(2026, 11, 10)
                meeting.starts_at = at(meeting.held_on, 10)
                expected.held += 1 if index % 2 else 0
        if audit.final_grade is not None and audit.final_grade.is_below_good:
            due_on = date(2026, 11, 20) if index % 3 == 0 else date(2026, 12, 18)
            await repo.add_recommendation(
                session, audit.id, RecommendationLevel.CHILD,
                "Update the plan with the child's own words, and review it with the family.",
                "The child's wishes shape the plan.", audit.practitioner_id, due_on,
            )  # fmt: skip
            if due_on < NOW.date():
                expected.overdue["SMART action"] += 1
    await session.flush()


async def _previous_extras(session: AsyncSession, audits: list[Audit]) -> None:
    for audit in audits:
        if audit.final_grade is Grade.INADEQUATE:
            await repo.record_event(
                session, audit.team_manager_id, "audit", audit.id, "urgent_issues_confirmed",
                None, {"note": "Done"}, at=at(date(2026, 10, 16)),
            )  # fmt: skip
        if audit.state is AuditState.UOPP_HELD:
            meeting = await repo.add_meeting(
                session, audit.id, MeetingKind.UOPP, audit.auditor_id, [],
                starts_at=at(date(2026, 10, 22), 10),
            )  # fmt: skip
            meeting.state = MeetingState.HELD
            meeting.held_on = date(2026, 10, 22)
    await session.flush()


async def _kloes_waiting(session: AsyncSession, data: ServiceData) -> None:
    cycle = await repo.create_cycle(
        session, data.service.id, "Early Help audits, January 2027", date(2027, 1, 1),
        "th_understanding_our_practice",
        ["How well do plans reflect the family's own words?", "Is drift spotted and acted on?"],
    )  # fmt: skip
    cycle.proposed_by_id = data.audit_team.id
    cycle.selection_plan = {"seed": 7, "total": 20, "quotas": {}, "criteria": {}}
    data.expected.decisions += 1
    await session.flush()
