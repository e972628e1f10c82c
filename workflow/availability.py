"""When people can meet: working hours, busy times and candidate slots.

Pure data shared by the slot search in `workflow.uopp` and by every calendar
(Microsoft Graph, or auditbot's own local calendar). All instants are
timezone-aware UTC; working hours are local to the person's own time zone,
as Graph reports them in `workingHours`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time


@dataclass(frozen=True)
class WorkingHours:
    """A person's working week: ISO weekdays (Monday 1 .. Sunday 7), local
    start and end times, and the IANA time zone they are in."""

    days: frozenset[int]
    start: time
    end: time
    time_zone: str


@dataclass(frozen=True)
class Busy:
    """A stretch of time someone cannot meet (busy, out of office, tentative)."""

    start: datetime
    end: datetime
    status: str = "busy"


@dataclass(frozen=True)
class Schedule:
    """One person's availability over the window asked about.

    `working_hours` is None when the calendar does not say (then the
    programme's own working hours apply). `error` is set when the calendar
    could not read this person's schedule (e.g. a mailbox outside the
    application access policy); such a person cannot be planned around.
    """

    email: str
    busy: tuple[Busy, ...] = ()
    working_hours: WorkingHours | None = None
    error: str | None = None


@dataclass(frozen=True)
class Slot:
    """A candidate meeting time; `clashes` are the staff ids who cannot make it."""

    start: datetime
    end: datetime
    clashes: tuple[int, ...] = field(default=())
