"""The Heads of Service's weekly digest (Monday 08:00 by default; the lead's scheduler runs it).

Each Head of Service gets one card covering every service (or team) they head:
the grade mix of the current cycle against the previous one, the week's
allocations, submissions and moderations, how moderation moved grades,
Inadequate work and its urgent actions, what is overdue and whose it is, UoPP
meetings, re-audits, and the decisions waiting for them with a button each.

The message is queued with `dialogs.notify.tell` under a key naming the ISO
week and the person, so a second run that week, or a second instance, sends
nothing more. The week is the seven days before the run.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cards.dates import OVERDUE, day_label
from cards.digest import (
    MAX_DECISIONS,
    MAX_ITEMS_PER_OWNER,
    MAX_LISTED,
    MAX_OWNERS,
    Decision,
    DigestView,
    GradeMix,
    InadequateWork,
    ModerationChanges,
    OverdueItem,
    OwnerOverdue,
    digest_card,
)
from dialogs.notify import tell
from scheduler.follow_up import reaudit_due_for_cycle
from storage import repositories as repo
from storage.models import FollowUpKind, Staff
from storage.repositories import digest as reads
from workflow.calendar import Clock, WorkingCalendar
from workflow.grades import Grade
from workflow.roles import Role
from workflow.rules import ProgrammeRules
from workflow.states import AuditState
from workspace.links import page_link

log = logging.getLogger(__name__)

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Reader:
    """Who the digest is for, and the part of the organisation it covers."""

    staff: Staff
    service_ids: tuple[int, ...]
    team_ids: tuple[int, ...]


async def send_weekly_digests(
    sessions: async_sessionmaker[AsyncSession],
    clock: Clock,
    rules: ProgrammeRules,
    *,
    tracker_url: str | None = None,
) -> int:
    """Queue this week's digest for every Head of Service; returns how many were queued now
    (0 for anyone already sent one this ISO week)."""
    now = clock.now()
    calendar = WorkingCalendar.from_rules(rules)
    week = calendar.local_date(now).isocalendar()
    key = f"digest:{week.year}-W{week.week:02d}"
    async with sessions() as session:
        readers = await digest_readers(session)
    queued = 0
    for reader in readers:
        try:
            async with sessions.begin() as session:
                if await reads.message_queued(session, f"{key}:to:{reader.staff.id}"):
                    continue
                view = await build_digest(session, reader, now=now, rules=rules)
                view = replace(
                    view,
                    tracker_url=tracker_url,
                    reports_url=page_link(tracker_url, "reports") if tracker_url else None,
                )
                await tell(
                    session,
                    reader.staff.id,
                    "digest",
                    key,
                    summary=f"Your weekly audit digest, week {week.week}",
                    card=digest_card(view),
                )
                queued += 1
        except Exception:  # a bug or the database: the others still get theirs
            log.exception("weekly digest for staff=%s failed", reader.staff.id)
    log.info("weekly digests queued: %s of %s", queued, len(readers))
    return queued


async def digest_readers(session: AsyncSession) -> list[Reader]:
    """Every active Head of Service with the services and teams they head."""
    whole: dict[int, set[int]] = defaultdict(set)
    teams: dict[int, set[int]] = defaultdict(set)
    services: dict[int, set[int]] = defaultdict(set)
    people: dict[int, Staff] = {}
    for held in await reads.heads_of_service(session):
        people[held.staff.id] = held.staff
        services[held.staff.id].add(held.service_id)
        if held.team_id is None:
            whole[held.staff.id].add(held.service_id)
        else:
            teams[held.staff.id].add(held.team_id)
    readers = []
    for staff_id, staff in people.items():
        covered = set(teams[staff_id])
        if whole[staff_id]:
            covered |= set(await reads.team_ids_of_services(session, whole[staff_id]))
        readers.append(Reader(staff, tuple(sorted(services[staff_id])), tuple(sorted(covered))))
    return readers


async def build_digest(
    session: AsyncSession, reader: Reader, *, now: datetime, rules: ProgrammeRules
) -> DigestView:
    """Everything on one Head of Service's card, read in a handful of queries."""
    calendar = WorkingCalendar.from_rules(rules)
    today = calendar.local_date(now)
    since = now - WEEK
    teams = reader.team_ids
    cycles = await reads.graded_cycle_months(session, reader.service_ids)
    current, previous = _two_latest_months(cycles)
    counts = await reads.week_counts(session, teams, since, now)
    booked, held = await reads.meeting_counts(session, teams, today - WEEK, today)
    # Work whose urgent issues are still open comes first.
    inadequate = sorted(
        await reads.open_inadequate(session, teams), key=lambda row: row.urgent_confirmed
    )
    late = await reads.late_audits(session, teams, now)
    actions = await reads.late_actions(session, teams, today)
    overdue = _overdue_items(late, actions, now, calendar)
    decisions = await _decisions(session, reader, today, calendar)
    owner_names = await repo.staff_by_ids(session, {owner for owner in overdue if owner})
    services = [await repo.get_service(session, s) for s in reader.service_ids]
    by_owner = _by_owner(overdue, owner_names)
    return DigestView(
        person=reader.staff.display_name,
        services=[service.name for service in services if service is not None],
        week=_week_label(today),
        today=today,
        current=await _mix(session, current, teams),
        previous=await _mix(session, previous, teams),
        allocated=counts.allocated,
        submitted=counts.submitted,
        moderated=counts.moderated,
        changes=await _changes(session, current, teams),
        inadequate=[
            InadequateWork(row.case_ref, _urgent_state(row, now, calendar, today))
            for row in inadequate[:MAX_LISTED]
        ],
        inadequate_total=len(inadequate),
        overdue=by_owner[:MAX_OWNERS],
        overdue_total=sum(len(items) for items in overdue.values()),
        owners_total=len(by_owner),
        uopps_booked=booked,
        uopps_held=held,
        reaudits=await _reaudits(session, reader, cycles, now, rules, today),
        decisions=decisions[:MAX_DECISIONS],
        decisions_total=len(decisions),
    )


def _two_latest_months(
    cycles: Sequence[reads.CycleMonth],
) -> tuple[list[reads.CycleMonth], list[reads.CycleMonth]]:
    """The cycles of the newest month, and of the month before it that had cycles."""
    months = sorted({cycle.month for cycle in cycles}, reverse=True)
    pick = [[c for c in cycles if c.month == month] for month in months[:2]]
    return (pick[0] if pick else [], pick[1] if len(pick) > 1 else [])


async def _mix(
    session: AsyncSession, cycles: Sequence[reads.CycleMonth], teams: Collection[int]
) -> GradeMix | None:
    if not cycles:
        return None
    counts = await reads.final_grade_counts(session, [c.cycle_id for c in cycles], teams)
    return GradeMix(
        cycle=f"{cycles[0].month:%B %Y}",
        counts={grade.label: counts.get(grade, 0) for grade in Grade},
    )


async def _changes(
    session: AsyncSession, cycles: Sequence[reads.CycleMonth], teams: Collection[int]
) -> ModerationChanges:
    raised = lowered = unchanged = 0
    for initial, moderated, n in await reads.moderation_pairs(
        session, [c.cycle_id for c in cycles], teams
    ):
        if moderated.rank > initial.rank:
            raised += n
        elif moderated.rank < initial.rank:
            lowered += n
        else:
            unchanged += n
    return ModerationChanges(raised, lowered, unchanged)


def _overdue_items(
    late: Sequence[reads.LateAudit],
    actions: Sequence[reads.LateAction],
    now: datetime,
    calendar: WorkingCalendar,
) -> dict[int | None, list[OverdueItem]]:
    """Overdue items keyed by the id of the person who owes them (None: nobody allocated)."""
    found: dict[int | None, list[OverdueItem]] = defaultdict(list)

    def add(what: str, owner: int | None, due: datetime | None, ref: str) -> None:
        if due is not None and due < now:
            found[owner].append(OverdueItem(what, ref, calendar.local_date(due)))

    for audit in late:
        if audit.state in reads.AWAITING_AUDIT:
            add("Audit", audit.auditor_id, audit.due_at, audit.case_ref)
        if audit.state is AuditState.SUBMITTED:
            add("Moderation", audit.moderator_id, audit.moderation_due_at, audit.case_ref)
        if audit.final_grade is Grade.INADEQUATE and not audit.urgent_confirmed:
            add("Urgent issues", audit.team_manager_id, audit.urgent_issues_due_at, audit.case_ref)
        if audit.state in reads.AWAITING_UOPP:
            what = (
                "UoPP meeting not held"
                if audit.state is AuditState.UOPP_BOOKED
                else ("UoPP meeting not booked")
            )
            add(what, audit.auditor_id, audit.uopp_due_at, audit.case_ref)
    for action in actions:
        found[action.owner_id].append(OverdueItem("SMART action", action.case_ref, action.due_on))
    return found


def _by_owner(
    overdue: dict[int | None, list[OverdueItem]], names: dict[int, Staff]
) -> list[OwnerOverdue]:
    rows = []
    for owner, items in overdue.items():
        name = names[owner].display_name if owner in names else "Nobody allocated"
        ordered = sorted(items, key=lambda item: (item.due_on, item.case_ref))
        rows.append(OwnerOverdue(name, ordered[:MAX_ITEMS_PER_OWNER], len(items)))
    return sorted(rows, key=lambda row: (-row.total, row.owner))


def _urgent_state(
    row: reads.InadequateRow, now: datetime, calendar: WorkingCalendar, today: date
) -> str:
    if row.urgent_confirmed:
        return "Urgent issues confirmed dealt with"
    if row.urgent_issues_due_at is None:
        return "Waiting for moderation"
    when = day_label(calendar.local_date(row.urgent_issues_due_at), today)
    if row.urgent_issues_due_at < now:
        return f"{OVERDUE}: urgent issues were due {when}"
    return f"Urgent issues due {when}"


async def _decisions(
    session: AsyncSession, reader: Reader, today: date, calendar: WorkingCalendar
) -> list[Decision]:
    teams = reader.team_ids
    exemptions = await reads.waiting_exemptions(session, teams)
    disputes = await reads.waiting_disputes(session, teams)
    kloes = await reads.kloes_waiting_for(session, reader.service_ids, Role.HEAD_OF_SERVICE)
    names = await repo.staff_by_ids(
        session, {e.auditor_id for e in exemptions} | {d.raised_by_id for d in disputes}
    )

    def name(staff_id: int) -> str:
        return names[staff_id].display_name if staff_id in names else "Someone"

    def on(at: datetime | None) -> str:
        return f" on {day_label(calendar.local_date(at), today)}" if at else ""

    found: list[tuple[str, Decision]] = []
    for e in exemptions:
        found.append((e.asked_at.isoformat(), Decision(
            "exemption", e.request_id, f"Exemption request: case {e.case_ref}",
            f"{name(e.auditor_id)} asked to be exempt from auditing it{on(e.asked_at)}.",
            f"Open request {e.case_ref}",
        )))  # fmt: skip
    for d in disputes:
        found.append(((d.escalated_at or datetime.min).isoformat(), Decision(
            "dispute", d.audit_id, f"Disputed grade: case {d.case_ref}",
            f"{name(d.raised_by_id)} asked for a decision{on(d.escalated_at)}.",
            f"Open dispute {d.case_ref}",
        )))  # fmt: skip
    for k in kloes:
        found.append((k.month.isoformat(), Decision(
            "kloe", k.cycle_id, f"Key lines of enquiry: {k.title}",
            f"For the {k.month:%B %Y} cycle: approve them or send them back.",
            f"Open KLOEs for {k.month:%B %Y}",
        )))  # fmt: skip
    return [decision for _, decision in sorted(found, key=lambda pair: pair[0])]


async def _reaudits(
    session: AsyncSession,
    reader: Reader,
    cycles: Sequence[reads.CycleMonth],
    now: datetime,
    rules: ProgrammeRules,
    today: date,
) -> list[str]:
    """Re-audit samples drawn this week, and those falling due before next week's digest."""
    titles = {cycle.cycle_id: cycle.title for cycle in cycles}
    lines = []
    for done in await reads.follow_ups_done_between(
        session, reader.service_ids, FollowUpKind.REAUDIT, now - WEEK, now
    ):
        picked = len(done.details.get("case_refs", []))
        what = {
            "allocated": "allocated",
            "not_allocated": "could not be allocated; the Audit Team has the reasons",
            "nothing_below_good": "not needed: nothing fell below Good",
        }.get(done.outcome, done.outcome)
        cases = "1 case" if picked == 1 else f"{picked} cases"
        lines.append(
            f"{titles.get(done.cycle_id or 0, 'A cycle')}: {cases} picked for re-audit, {what}."
        )
    below = await reads.below_good_counts(session, list(titles), reader.team_ids)
    sampled = await reads.follow_up_keys(session, reader.service_ids, FollowUpKind.REAUDIT)
    services = {s: await repo.get_service(session, s) for s in reader.service_ids}
    for cycle in cycles:
        if not below.get(cycle.cycle_id) or f"reaudit:cycle:{cycle.cycle_id}" in sampled:
            continue
        service = services.get(cycle.service_id)
        own = rules.with_overrides(service.rules_overrides or {}) if service else rules
        due = reaudit_due_for_cycle(own, WorkingCalendar.from_rules(own), cycle.month)
        if due.day <= today + WEEK:
            lines.append(
                f"{cycle.title}: {below[cycle.cycle_id]} audits below Good; at least "
                f"{own.reaudit_fraction:.0%} are re-audited from {day_label(due.day, today)}."
            )
    return lines


def _week_label(today: date) -> str:
    """The digest's week, and the seven days up to this run that its figures count."""
    week = today.isocalendar()
    first = today - WEEK
    return f"Week {week.week}, {week.year}: the seven days since {first:%a} {first.day} {first:%b}"
