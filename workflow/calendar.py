"""Working days, bank holidays and the clock.

A `WorkingCalendar` knows which local dates are working days (weekdays that
are not bank holidays or council closure days) and turns a local working day
into the UTC instants it starts and ends. Deadlines are counted in local
dates and fall due at the end of the working day, so they are right across
the clock changes in late March and late October.

Time comes in through a `Clock`; `SystemClock` is the only code in
`workflow/` that reads the real time.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays

from workflow.rules import ProgrammeRules

# A safety stop: no real calendar has this many non-working days in a row.
_MAX_NON_WORKING_RUN = 60


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real time. Pass it in at the edge (the service, the scheduler);
    never use it inside the rules."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ReplayClock:
    """The real time moved by `shift` seconds: the demo's one clock when replaying a day
    (`auditbot tick --at` in demo mode sets the shift, and card presses then happen at the
    replayed time too)."""

    def __init__(self, shift: float = 0.0) -> None:
        self.shift = shift

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.shift)


class FixedClock:
    """A clock that stands still until told to move, for tests and replays."""

    def __init__(self, at: datetime) -> None:
        self._at = to_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = to_utc(at)

    def advance(self, delta: timedelta) -> None:
        self._at = self._at + delta


def to_utc(moment: datetime) -> datetime:
    """`moment` in UTC. Naive datetimes are refused: their meaning is a guess."""
    _require_aware(moment)
    return moment.astimezone(UTC)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"A timezone-aware datetime is needed, got the naive {moment!r}.")


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later (or earlier), clamped to the
    month's last day: 31 August + 6 months is 28 (or 29) February."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    last = _stdlib_calendar.monthrange(year, month)[1]
    return date(year, month, min(day.day, last))


class WorkingCalendar:
    """Working days for one place: weekends, bank holidays from the `holidays`
    package (England and Wales by default), and any council closure days
    (e.g. the days between Christmas and New Year some councils close)."""

    def __init__(
        self,
        timezone: str = "Europe/London",
        country: str = "GB",
        subdivision: str | None = "ENG",
        *,
        working_day_start: time = time(9, 0),
        working_day_end: time = time(17, 0),
        closure_days: Iterable[date] = (),
    ) -> None:
        if working_day_start >= working_day_end:
            raise ValueError("The working day must start before it ends.")
        self.zone = ZoneInfo(timezone)
        self.working_day_start = working_day_start
        self.working_day_end = working_day_end
        self._holidays = holidays.country_holidays(country, subdiv=subdivision)
        self._closures = frozenset(closure_days)

    @classmethod
    def from_rules(
        cls, rules: ProgrammeRules, closure_days: Iterable[date] = ()
    ) -> WorkingCalendar:
        return cls(
            rules.timezone,
            rules.holiday_country,
            rules.holiday_subdivision,
            working_day_start=rules.working_day_start,
            working_day_end=rules.working_day_end,
            closure_days=closure_days,
        )

    # Dates

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays and day not in self._closures

    def holiday_name(self, day: date) -> str | None:
        """The bank holiday's name ("Easter Monday"), for messages; else None."""
        name = self._holidays.get(day)
        return str(name) if name is not None else None

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        return self._step(day, 1)

    def previous_working_day(self, day: date) -> date:
        """The last working day strictly before `day`."""
        return self._step(day, -1)

    def on_or_after(self, day: date) -> date:
        """`day` if it is a working day, else the next one."""
        return day if self.is_working_day(day) else self.next_working_day(day)

    def on_or_before(self, day: date) -> date:
        """`day` if it is a working day, else the one before."""
        return day if self.is_working_day(day) else self.previous_working_day(day)

    def add_working_days(self, day: date, n: int) -> date:
        """The n-th working day after `day` (before it if n is negative); `day`
        itself is not counted, so Friday + 1 is Monday, and Saturday + 1 is
        also Monday. With n == 0: `day` if it is a working day, else the next.
        """
        if n == 0:
            return self.on_or_after(day)
        direction = 1 if n > 0 else -1
        for _ in range(abs(n)):
            day = self._step(day, direction)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (negative when
        `end` is before `start`), so that
        working_days_between(d, add_working_days(d, n)) == n for n > 0."""
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start + timedelta(days=1)
        while day <= end:
            if self.is_working_day(day):
                count += 1
            day += timedelta(days=1)
        return count

    def last_working_day_of_month(self, year: int, month: int) -> date:
        last = _stdlib_calendar.monthrange(year, month)[1]
        return self.on_or_before(date(year, month, last))

    def first_working_day_of_month(self, year: int, month: int) -> date:
        return self.on_or_after(date(year, month, 1))

    def _step(self, day: date, direction: int) -> date:
        for _ in range(_MAX_NON_WORKING_RUN):
            day += timedelta(days=direction)
            if self.is_working_day(day):
                return day
        raise ValueError(f"No working day within {_MAX_NON_WORKING_RUN} days of {day}.")

    # Instants

    def local_date(self, moment: datetime) -> date:
        """The local calendar date of an aware instant: 23:30 UTC on 29 March
        2026 is already 30 March in London (BST)."""
        _require_aware(moment)
        return moment.astimezone(self.zone).date()

    def local_time(self, moment: datetime) -> datetime:
        _require_aware(moment)
        return moment.astimezone(self.zone)

    def end_of_working_day(self, day: date) -> datetime:
        """The UTC instant the working day `day` ends: 17:00 London is 17:00
        UTC in winter and 16:00 UTC in summer."""
        return datetime.combine(day, self.working_day_end, tzinfo=self.zone).astimezone(UTC)

    def start_of_working_day(self, day: date) -> datetime:
        """The UTC instant the working day `day` starts."""
        return datetime.combine(day, self.working_day_start, tzinfo=self.zone).astimezone(UTC)

    def is_working_time(self, moment: datetime) -> bool:
        """True during working hours on a working day (for when to send nudges)."""
        local = self.local_time(moment)
        return self.is_working_day(local.date()) and (
            self.working_day_start <= local.time().replace(tzinfo=None) < self.working_day_end
        )
