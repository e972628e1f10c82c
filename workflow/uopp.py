"""The UoPP meeting: who comes, who chairs, when it may be, and the time that suits them.

DOMAIN.md step 9 and "Inadequate: the fast path". Pure rules: the booker in
`dialogs.uopp_booking` gathers the people and their schedules, these
functions decide.

Slot arithmetic is in UTC, on a grid that starts at each programme working
day's start (so a clock change moves the grid with the day); each required
attendee's working hours are checked in their own time zone, as Graph
reports them, or the programme's hours when their calendar does not say.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from workflow.availability import Schedule, Slot, WorkingHours
from workflow.calendar import WorkingCalendar, to_utc
from workflow.deadlines import uopp_booking_window
from workflow.grades import Grade
from workflow.rules import ProgrammeRules

# Statuses in a schedule that do not stop someone meeting (Graph's scheduleItem.status).
NOT_BUSY = frozenset({"free", "workingElsewhere"})
WEEKDAYS = frozenset({1, 2, 3, 4, 5})


@dataclass(frozen=True)
class Attendee:
    """Someone invited, with the part they play (for messages) and whether they must come."""

    staff_id: int
    part: str  # team_manager, practitioner, auditor, moderator, coordinator, ...
    required: bool = True


@dataclass(frozen=True)
class UoppPeople:
    """Who is around the audit, as the booker finds them in the staff list."""

    auditor_id: int
    practitioner_id: int
    team_manager_id: int | None
    moderator_id: int | None
    coordinator_ids: Sequence[int] = ()
    head_of_service_ids: Sequence[int] = ()
    audit_manager_ids: Sequence[int] = ()


@dataclass(frozen=True)
class MeetingPlan:
    """A meeting to book: the organiser owns the event, the chair leads it.

    `window_starts_at` / `window_ends_at` are UTC instants: the first
    working day's start and the deadline's end of day (or an extension's).
    """

    organiser_id: int
    chair_id: int
    attendees: tuple[Attendee, ...]
    length_minutes: int
    window_starts_at: datetime
    window_ends_at: datetime

    @property
    def required_ids(self) -> tuple[int, ...]:
        return tuple(a.staff_id for a in self.attendees if a.required)

    @property
    def length(self) -> timedelta:
        return timedelta(minutes=self.length_minutes)


def plan_uopp(
    people: UoppPeople,
    *,
    initial_grade: Grade | None,
    final_grade: Grade,
    moderated_at: datetime,
    rules: ProgrammeRules,
    calendar: WorkingCalendar,
) -> MeetingPlan:
    """The UoPP meeting an audit needs once its grade is moderated (or decided).

    Team manager, practitioner and auditor always; the moderator when the
    grade changed from the auditor's; for Inadequate also the coordinator,
    Head of Service and Audit Manager, and the Audit Manager organises and
    chairs (the auditor otherwise; the auditor still, when the service has no
    Audit Manager). The window runs from the working day after `moderated_at`
    to the UoPP deadline (3 working days for Inadequate, else 5).
    """
    inadequate = final_grade is Grade.INADEQUATE
    parts: list[tuple[int | None, str]] = [
        (people.team_manager_id, "team_manager"),
        (people.practitioner_id, "practitioner"),
        (people.auditor_id, "auditor"),
    ]
    if initial_grade is not None and initial_grade is not final_grade:
        parts.append((people.moderator_id, "moderator"))
    chair = people.auditor_id
    if inadequate:
        parts += [(person, "coordinator") for person in people.coordinator_ids]
        parts += [(person, "head_of_service") for person in people.head_of_service_ids]
        parts += [(person, "audit_manager") for person in people.audit_manager_ids]
        if people.audit_manager_ids:
            chair = people.audit_manager_ids[0]
    attendees: dict[int, Attendee] = {}
    for person, part in parts:
        if person is not None and person not in attendees:
            attendees[person] = Attendee(person, part)
    window = uopp_booking_window(rules, calendar, moderated_at, final_grade)
    return MeetingPlan(
        organiser_id=chair,
        chair_id=chair,
        attendees=tuple(attendees.values()),
        length_minutes=rules.uopp_meeting_minutes,
        window_starts_at=window.opens_at,
        window_ends_at=window.closes_at,
    )


def programme_hours(calendar: WorkingCalendar) -> WorkingHours:
    """The programme's own working week, for people whose calendar does not say."""
    return WorkingHours(
        WEEKDAYS, calendar.working_day_start, calendar.working_day_end, calendar.zone.key
    )


def candidate_starts(
    plan: MeetingPlan,
    calendar: WorkingCalendar,
    *,
    step_minutes: int,
    not_before: datetime | None = None,
) -> list[datetime]:
    """Every start on the grid, in order, whose meeting fits the programme's working hours
    on a working day inside the window, and starts no earlier than `not_before`."""
    if step_minutes < 1:
        raise ValueError("uopp_slot_step_minutes must be at least 1.")
    step, length = timedelta(minutes=step_minutes), plan.length
    opens = to_utc(plan.window_starts_at)
    closes = to_utc(plan.window_ends_at)
    earliest = max(opens, to_utc(not_before)) if not_before is not None else opens
    starts: list[datetime] = []
    day = calendar.local_date(opens)
    while day <= calendar.local_date(closes):
        if calendar.is_working_day(day):
            start = calendar.start_of_working_day(day)
            end = min(calendar.end_of_working_day(day), closes)
            while start + length <= end:
                if start >= earliest:
                    starts.append(start)
                start += step
        day += timedelta(days=1)
    return starts


def clashes_at(
    plan: MeetingPlan,
    schedules: Mapping[int, Schedule],
    start: datetime,
    default_hours: WorkingHours,
) -> tuple[int, ...]:
    """The required attendees who cannot make a meeting starting at `start`: outside their
    own working hours, or busy. Someone whose schedule could not be read (no schedule, or
    an error) is planned on the programme's hours with nothing known to be busy."""
    end = start + plan.length
    found = []
    for person in plan.required_ids:
        schedule = schedules.get(person)
        if schedule is not None and schedule.error is not None:
            schedule = None
        hours = hours_of(schedule, default_hours)
        if not within_hours(hours, start, end):
            found.append(person)
        elif schedule is not None and is_busy(schedule, start, end):
            found.append(person)
    return tuple(found)


def hours_of(schedule: Schedule | None, default: WorkingHours) -> WorkingHours:
    """The person's own working hours, or the programme's when unknown or unreadable."""
    hours = schedule.working_hours if schedule is not None else None
    if hours is None or not hours.days or zone_of(hours.time_zone) is None:
        return default
    return hours


def zone_of(name: str) -> ZoneInfo | None:
    """The IANA zone named, or None when it is not one (the caller falls back)."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return None


def within_hours(hours: WorkingHours, start: datetime, end: datetime) -> bool:
    """True when [start, end) lies inside one of the person's working days, in their zone."""
    zone = zone_of(hours.time_zone) or UTC
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    if local_start.date() != local_end.date():
        return False
    if local_start.isoweekday() not in hours.days:
        return False
    return hours.start <= local_start.time() and local_end.time() <= hours.end


def is_busy(schedule: Schedule, start: datetime, end: datetime) -> bool:
    return any(
        item.status not in NOT_BUSY and to_utc(item.start) < end and to_utc(item.end) > start
        for item in schedule.busy
    )


def earliest_slot(
    plan: MeetingPlan,
    schedules: Mapping[int, Schedule],
    calendar: WorkingCalendar,
    *,
    step_minutes: int = 30,
    not_before: datetime | None = None,
    avoid: Iterable[tuple[datetime, datetime]] = (),
) -> Slot | None:
    """The earliest start on the grid every required attendee can make, or None.

    `schedules` is keyed by staff id. `avoid` lists times not to offer again
    (a slot someone declined).
    """
    default = programme_hours(calendar)
    avoided = list(avoid)
    for start in candidate_starts(plan, calendar, step_minutes=step_minutes, not_before=not_before):
        end = start + plan.length
        if _overlaps_any(start, end, avoided):
            continue
        if not clashes_at(plan, schedules, start, default):
            return Slot(start, end)
    return None


def best_options(
    plan: MeetingPlan,
    schedules: Mapping[int, Schedule],
    calendar: WorkingCalendar,
    n: int = 3,
    *,
    step_minutes: int = 30,
    not_before: datetime | None = None,
    avoid: Iterable[tuple[datetime, datetime]] = (),
) -> list[Slot]:
    """When nothing suits everyone: the `n` slots with the fewest clashes (ties go to the
    earliest), each naming who clashes. Empty when the window has no time left at all."""
    default = programme_hours(calendar)
    avoided = list(avoid)
    ranked: list[tuple[int, datetime, Slot]] = []
    for start in candidate_starts(plan, calendar, step_minutes=step_minutes, not_before=not_before):
        end = start + plan.length
        if _overlaps_any(start, end, avoided):
            continue
        clashes = clashes_at(plan, schedules, start, default)
        ranked.append((len(clashes), start, Slot(start, end, clashes)))
    ranked.sort(key=lambda row: (row[0], row[1]))
    return [slot for _, _, slot in ranked[:n]]


def schedule_span(
    plan: MeetingPlan, not_before: datetime | None = None
) -> tuple[datetime, datetime]:
    """The stretch to ask calendars about: from the window's start (or now) to its end."""
    start = to_utc(plan.window_starts_at)
    if not_before is not None:
        start = max(start, to_utc(not_before))
    return start, max(start, to_utc(plan.window_ends_at))


def extension_closes_at(calendar: WorkingCalendar, day: date) -> datetime:
    """When an extension to `day` ends: that working day's end (or the next working day's)."""
    return calendar.end_of_working_day(calendar.on_or_after(day))


def _overlaps_any(
    start: datetime, end: datetime, stretches: list[tuple[datetime, datetime]]
) -> bool:
    return any(to_utc(a) < end and to_utc(b) > start for a, b in stretches)
