"""When a programme's cycles fall due, so the scheduler can ask for each in time.

A programme's timetable lists recurring cycles (every N months, or named
months), rolling timetables (each listed service N times a year, in turn) and
thematic cycles (in named months, or N times a year spread out; a thematic
cycle may take the place of that month's recurring one). Ad hoc cycles are
asked for, never timetabled. `cycles_in_year` lays a year out, one entry per
service and month; `due_to_propose` says which should be proposed now: from
the day the KLOEs and the selection need to start (the programme's lead
weeks before the audit month) until the month begins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from workflow.programme.model import Cases, Programme, Recurring, Rolling, Thematic
from workflow.roles import Role

MONTHS = range(1, 13)
# However short a programme's lead time, the proposer is asked at least this long before.
MIN_NOTICE = timedelta(weeks=2)


@dataclass(frozen=True)
class DueCycle:
    """One cycle of the timetable for one service and month."""

    name: str
    kind: str  # recurring, rolling or thematic
    service: str
    month: date  # the first day of the audit month
    cases: Cases
    services_sharing: int  # how many services share the cycle's cases (per_cycle)
    tool: str | None
    tool_per_cycle: bool = False
    # Who is asked for it beside the programme's `proposed_to` (a theme's setters).
    asked: tuple[Role, ...] = ()

    @property
    def key(self) -> str:
        """Names the cycle for idempotency: the same entry is asked for once."""
        return f"{self.kind}:{self.name}:{self.service}:{self.month:%Y-%m}"


def cycles_in_year(programme: Programme, year: int) -> list[DueCycle]:
    """Every timetabled cycle of `year`, by month then service."""
    found: list[DueCycle] = []
    themed: set[tuple[str, int]] = set()
    for cycle in programme.timetable.cycles:
        if isinstance(cycle, Thematic):
            for month in _thematic_months(cycle):
                for code in cycle.services:
                    found.append(_entry(cycle, code, year, month))
                    if cycle.instead_of_recurring:
                        themed.add((code, month))
    for cycle in programme.timetable.cycles:
        if isinstance(cycle, Recurring):
            for month in _recurring_months(cycle):
                for code in cycle.services:
                    if (code, month) not in themed:
                        found.append(_entry(cycle, code, year, month))
        elif isinstance(cycle, Rolling):
            for code, month in _rolling(cycle):
                if (code, month) not in themed:
                    found.append(_entry(cycle, code, year, month, sharing=1))
    return sorted(found, key=lambda due: (due.month, due.service, due.kind))


def due_to_propose(programme: Programme, today: date) -> list[DueCycle]:
    """The cycles to ask for now: their asking day has come and their month has not."""
    ahead = max(
        MIN_NOTICE,
        timedelta(weeks=programme.kloes.lead_weeks + programme.selection.weeks_after_kloe),
    )
    due = []
    for year in (today.year, today.year + 1):
        for entry in cycles_in_year(programme, year):
            if entry.month - ahead <= today < entry.month:
                due.append(entry)
    return due


def suggested_cases(entry: DueCycle, *, teams: int, auditors: int) -> int:
    """How many cases the entry's service audits, from the programme's numbers."""
    cases = entry.cases
    if cases.per_team is not None:
        return max(1, cases.per_team * teams)
    if cases.per_auditor is not None:
        return max(1, cases.per_auditor * auditors)
    total = cases.per_cycle or 1
    return max(1, round(total / max(1, entry.services_sharing)))


def _entry(
    cycle: Recurring | Rolling | Thematic, code: str, year: int, month: int, sharing: int = 0
) -> DueCycle:
    return DueCycle(
        name=cycle.name,
        kind=cycle.kind,
        service=code,
        month=date(year, month, 1),
        cases=cycle.cases,
        services_sharing=sharing or len(cycle.services),
        tool=cycle.tool,
        tool_per_cycle=isinstance(cycle, Thematic) and cycle.tool_per_cycle,
        asked=tuple(cycle.theme_set_by) if isinstance(cycle, Thematic) else (),
    )


def _recurring_months(cycle: Recurring) -> list[int]:
    if cycle.months:
        return sorted(month.number for month in cycle.months)
    every = cycle.every_months or 1
    start = cycle.starting.number
    return [month for month in MONTHS if (month - start) % every == 0]


def _rolling(cycle: Rolling) -> list[tuple[str, int]]:
    """Each service `times_a_year`, in turn, spread evenly over the year."""
    slots = len(cycle.services) * cycle.times_a_year
    return [
        (cycle.services[slot % len(cycle.services)], slot * 12 // slots + 1)
        for slot in range(slots)
    ]


def _thematic_months(cycle: Thematic) -> list[int]:
    if cycle.months:
        return sorted(month.number for month in cycle.months)
    count = cycle.times_a_year
    return [slot * 12 // count + 1 for slot in range(count)] if count else []
