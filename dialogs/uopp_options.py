"""When no time suits everyone: the organiser's options, and the Audit Team's extension.

The booker offers the organiser the least-bad times (`offer_options`). The
organiser books one (the booker creates it on its next tick and names the
clashes to everyone) or asks the Audit Team to extend, with a reason. The
Audit Team grants an extension to a date, recorded on the meeting and in
the audit's trail, which re-opens booking over the longer window.

Every card carries the meeting's offer number: a card from an earlier offer,
a second press, or a press after someone else acted changes nothing and
shows the card as things stand.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from cards.dates import day
from cards.uopp_booking import (
    ASK_EXTENSION,
    GRANT_EXTENSION,
    PICK_OPTION,
    REASON_LIMIT,
    ExtensionView,
    OptionsView,
    OptionView,
    extension_card,
    options_card,
)
from dialogs.access import AUDIT_TEAM_ROLES
from dialogs.actions import ActionContext, ActionRefused, card_action
from dialogs.notify import tell
from dialogs.programmes import audit_rules
from storage import repositories as repo
from storage.enums import MeetingState
from storage.models import Audit, Meeting
from storage.repositories.meetings import get_meeting_for_update
from workflow.availability import Slot
from workflow.calendar import WorkingCalendar
from workflow.rules import ProgrammeRules
from workflow.uopp import extension_closes_at

log = logging.getLogger(__name__)

EXTENSION_REQUESTED = "uopp_extension_requested"


def _deadline(meeting: Meeting) -> datetime | None:
    return meeting.extended_to or meeting.window_ends_at


async def offer_options(
    session: AsyncSession,
    meeting: Meeting,
    audit: Audit,
    options: list[Slot],
    *,
    now: datetime,
    rules: ProgrammeRules,
) -> None:
    """In the caller's transaction: the meeting waits for its organiser, who is sent the
    options card (a new offer, so older cards change nothing)."""
    meeting.state = MeetingState.NEEDS_ORGANISER
    meeting.claimed_at = meeting.next_attempt_at = None
    meeting.booking_attempts, meeting.last_error = 0, None
    meeting.options = [
        {"start": o.start.isoformat(), "end": o.end.isoformat(), "clashes": list(o.clashes)}
        for o in options
    ]
    meeting.offer += 1
    await session.flush()
    await repo.record_event(
        session,
        "system",
        "audit",
        audit.id,
        "uopp_no_common_slot",
        None,
        {"meeting_id": meeting.id, "offer": meeting.offer, "options": meeting.options},
        at=now,
    )
    view = await options_view(session, meeting, audit, timezone=rules.timezone)
    await tell(
        session,
        meeting.organiser_id,
        "uopp_booking",
        f"uopp:meeting:{meeting.id}:offer:{meeting.offer}",
        summary=f"Choose a time for the UoPP meeting for case {view.case_ref}",
        card=options_card(view),
    )


async def options_view(
    session: AsyncSession,
    meeting: Meeting,
    audit: Audit,
    *,
    timezone: str,
    status: str | None = None,
) -> OptionsView:
    case = await repo.get_case(session, audit.case_id)
    stored = meeting.options or []
    clashing = {person for option in stored for person in option.get("clashes", [])}
    names = await repo.staff_by_ids(session, clashing)
    options = tuple(
        OptionView(
            when=when_text(
                datetime.fromisoformat(o["start"]), datetime.fromisoformat(o["end"]), timezone
            ),
            clashes=tuple(names[p].display_name if p in names else "Someone" for p in o["clashes"]),
        )
        for o in stored
    )
    why = ""
    if meeting.last_error:
        why = f"The calendar could not be reached: {meeting.last_error}"
    return OptionsView(
        meeting_id=meeting.id,
        offer=meeting.offer,
        case_ref=case.case_ref,
        deadline=day(_deadline(meeting), timezone),
        options=options,
        why=why,
        status=status,
    )


def when_text(start: datetime, end: datetime, timezone: str) -> str:
    zone = ZoneInfo(timezone)
    local, until = start.astimezone(zone), end.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b %Y}, {local:%H:%M} to {until:%H:%M} ({local:%Z})"


# --- the organiser ---------------------------------------------------------------------


async def _load_meeting(context: ActionContext) -> Meeting | None:
    return await get_meeting_for_update(context.session, context.number("meeting_id"))


async def _refuse_unless_organiser(context: ActionContext, meeting: Meeting) -> str | None:
    if meeting.organiser_id == context.staff.id:
        return None
    return "the organiser of this UoPP meeting"


def _is_current(context: ActionContext, meeting: Meeting) -> bool:
    offer = context.data.get("offer")
    return meeting.state is MeetingState.NEEDS_ORGANISER and offer == meeting.offer


async def _audit_of(session: AsyncSession, meeting: Meeting) -> Audit:
    audit = await repo.get_audit(session, meeting.audit_id)
    assert audit is not None
    return audit


async def organiser_card_now(context: ActionContext, meeting: Meeting) -> dict[str, Any]:
    """The options card as things stand: still open, or what became of it."""
    session, timezone = context.session, context.rules.timezone
    audit = await _audit_of(session, meeting)
    status = await _organiser_status(session, meeting, audit, timezone)
    view = await options_view(session, meeting, audit, timezone=timezone, status=status)
    return options_card(view)


async def _organiser_status(
    session: AsyncSession, meeting: Meeting, audit: Audit, timezone: str
) -> str | None:
    if meeting.state is MeetingState.NEEDS_ORGANISER:
        asked = await extension_asked(session, meeting)
        if asked:
            return "You asked the Audit Team to extend the deadline; waiting for them."
        return None
    if meeting.state is MeetingState.BOOKED and meeting.starts_at and meeting.ends_at:
        when = when_text(meeting.starts_at, meeting.ends_at, timezone)
        return f"Booked for {when}. Everyone has been told."
    if meeting.starts_at and meeting.ends_at:
        when = when_text(meeting.starts_at, meeting.ends_at, timezone)
        return f"Booking {when}. Everyone will be told in a moment."
    if meeting.extended_to is not None:
        return f"The deadline was extended to {day(meeting.extended_to, timezone)}; looking again."
    return f"This meeting is {meeting.state.value.replace('_', ' ')}. Nothing was changed."


async def extension_asked(session: AsyncSession, meeting: Meeting) -> bool:
    event = await repo.latest_event(session, "audit", meeting.audit_id, EXTENSION_REQUESTED)
    if event is None or not event.after:
        return False
    return event.after.get("meeting_id") == meeting.id and event.after.get("offer") == meeting.offer


@card_action(PICK_OPTION, load=_load_meeting, refuse=_refuse_unless_organiser)
async def pick_option(context: ActionContext, meeting: Meeting) -> dict[str, Any]:
    """Book one offered time; the booker creates it on its next tick and tells everyone."""
    if not _is_current(context, meeting):
        return await organiser_card_now(context, meeting)
    options = meeting.options or []
    choice = context.data.get("option")
    if isinstance(choice, bool) or not isinstance(choice, int) or not 0 <= choice < len(options):
        raise ActionRefused("This card is out of date", "Please use the latest card I sent you.")
    option = options[choice]
    before = repo.snapshot(meeting, ("state", "starts_at", "ends_at"))
    meeting.starts_at = datetime.fromisoformat(option["start"])
    meeting.ends_at = datetime.fromisoformat(option["end"])
    meeting.clash_ids = list(option["clashes"])
    meeting.state = MeetingState.PROPOSED
    meeting.next_attempt_at = None
    await context.session.flush()
    after = {**repo.snapshot(meeting, ("state", "starts_at", "ends_at")), "option": option}
    await repo.record_event(
        context.session,
        context.staff,
        "audit",
        meeting.audit_id,
        "uopp_option_picked",
        before,
        {**after, "meeting_id": meeting.id},
        at=context.now,
    )
    log.info("UoPP meeting %s: option %s picked", meeting.id, choice)
    return await organiser_card_now(context, meeting)


@card_action(ASK_EXTENSION, load=_load_meeting, refuse=_refuse_unless_organiser)
async def ask_extension(context: ActionContext, meeting: Meeting) -> dict[str, Any]:
    """Ask the Audit Team, with a reason, to extend the deadline; once per offer."""
    session = context.session
    if not _is_current(context, meeting) or await extension_asked(session, meeting):
        return await organiser_card_now(context, meeting)
    reason = context.text("reason", limit=REASON_LIMIT)
    if not reason:
        raise ActionRefused("Give a reason", "The Audit Team needs a reason. Nothing was changed.")
    audit = await _audit_of(session, meeting)
    meeting.extension_reason = reason
    await repo.record_event(
        session,
        context.staff,
        "audit",
        audit.id,
        EXTENSION_REQUESTED,
        None,
        {"meeting_id": meeting.id, "offer": meeting.offer, "reason": reason},
        at=context.now,
    )
    await tell_audit_team_to_extend(
        session,
        meeting,
        audit,
        asked_by=context.staff.display_name,
        reason=reason,
        timezone=context.rules.timezone,
    )
    return await organiser_card_now(context, meeting)


async def tell_audit_team_to_extend(
    session: AsyncSession,
    meeting: Meeting,
    audit: Audit,
    *,
    asked_by: str,
    reason: str,
    timezone: str,
) -> None:
    """Send the Audit Team the extension card for the meeting's current offer."""
    from dialogs.moderation import audit_team_of  # the one definition; imported late (cycle)

    view = await extension_view(session, meeting, audit, timezone, asked_by=asked_by, reason=reason)
    for person in await audit_team_of(session, audit):
        await tell(
            session,
            person.id,
            "uopp_booking",
            f"uopp:meeting:{meeting.id}:extension:{meeting.offer}",
            summary=f"Extend the UoPP deadline for case {view.case_ref}?",
            card=extension_card(view),
        )


async def extension_view(
    session: AsyncSession,
    meeting: Meeting,
    audit: Audit,
    timezone: str,
    *,
    asked_by: str | None = None,
    reason: str | None = None,
    status: str | None = None,
    error: str | None = None,
) -> ExtensionView:
    case = await repo.get_case(session, audit.case_id)
    if asked_by is None:
        organiser = await repo.get_staff(session, meeting.organiser_id)
        asked_by = organiser.display_name if organiser else "The organiser"
    deadline = _deadline(meeting)
    earliest = deadline.astimezone(ZoneInfo(timezone)).date() if deadline else date.min
    return ExtensionView(
        meeting_id=meeting.id,
        offer=meeting.offer,
        case_ref=case.case_ref,
        asked_by=asked_by,
        reason=reason or meeting.extension_reason or meeting.last_error or "None given",
        deadline=day(deadline, timezone),
        earliest=date.fromordinal(earliest.toordinal() + 1).isoformat(),
        status=status,
        error=error,
    )


# --- the Audit Team --------------------------------------------------------------------


async def _refuse_unless_audit_team(context: ActionContext, meeting: Meeting) -> str | None:
    audit = await _audit_of(context.session, meeting)
    cycle = await repo.get_cycle(context.session, audit.cycle_id)
    service = await repo.get_service(context.session, cycle.service_id)
    if await repo.holds_role(context.session, context.staff.id, AUDIT_TEAM_ROLES, cycle.service_id):
        return None
    return f"the Audit Team for {service.name if service else 'this service'}"


@card_action(GRANT_EXTENSION, load=_load_meeting, refuse=_refuse_unless_audit_team)
async def grant_extension(context: ActionContext, meeting: Meeting) -> dict[str, Any]:
    """Extend the deadline to a working day after it; booking starts again over the longer
    window. The first grant counts; a later press shows what was granted."""
    session, timezone = context.session, context.rules.timezone
    audit = await _audit_of(session, meeting)
    if not _is_current(context, meeting):
        status = _granted_status(meeting, timezone) or "Nothing to extend now. Nothing was changed."
        view = await extension_view(session, meeting, audit, timezone, status=status)
        return extension_card(view)
    rules = await audit_rules(session, audit, context.rules)
    working = WorkingCalendar.from_rules(rules)
    chosen, problem = _extension_day(context.text("extend_to", limit=10), meeting, working)
    if chosen is None:
        view = await extension_view(session, meeting, audit, timezone, error=problem)
        return extension_card(view)
    note = context.text("note", limit=REASON_LIMIT)
    before = repo.snapshot(meeting, ("state", "extended_to", "extension_reason"))
    audit_before = repo.snapshot(audit, ("uopp_due_at",))
    meeting.extended_to = extension_closes_at(working, chosen)
    reason = meeting.extension_reason or meeting.last_error or "No time before the deadline"
    meeting.extension_reason = f"{reason} (granted by {context.staff.display_name}" + (
        f": {note})" if note else ")"
    )
    meeting.state = MeetingState.PROPOSED
    meeting.options = None
    meeting.booking_attempts, meeting.last_error = 0, None
    meeting.next_attempt_at = None
    audit.uopp_due_at = meeting.extended_to
    await session.flush()
    await repo.record_event(
        session,
        context.staff,
        "audit",
        audit.id,
        "uopp_extended",
        {**before, **audit_before},
        {
            **repo.snapshot(meeting, ("state", "extended_to", "extension_reason")),
            "uopp_due_at": audit.uopp_due_at,
            "meeting_id": meeting.id,
        },
        at=context.now,
    )
    case = await repo.get_case(session, audit.case_id)
    until = day(meeting.extended_to, timezone)
    await tell(
        session,
        meeting.organiser_id,
        "uopp_booking",
        f"uopp:meeting:{meeting.id}:extended:{meeting.offer}",
        summary=f"UoPP deadline for case {case.case_ref} extended to {until}",
        text=f"{context.staff.display_name} extended the UoPP deadline for case {case.case_ref} "
        f"to {until}. auditbot is looking for a time again and will tell everyone."
        + (f" Their note: “{note}”" if note else ""),
    )
    view = await extension_view(
        session, meeting, audit, timezone, status=_granted_status(meeting, timezone)
    )
    return extension_card(view)


def _granted_status(meeting: Meeting, timezone: str) -> str | None:
    if meeting.extended_to is None:
        return None
    return f"Extended to {day(meeting.extended_to, timezone)}. {meeting.extension_reason or ''}"


def _extension_day(
    text: str, meeting: Meeting, working: WorkingCalendar
) -> tuple[date | None, str | None]:
    try:
        chosen = date.fromisoformat(text)
    except ValueError:
        return None, "choose a date."
    deadline = _deadline(meeting)
    if deadline is not None and chosen <= working.local_date(deadline):
        return None, "the new date must be after the current deadline."
    if not working.is_working_day(chosen):
        return None, f"{day(chosen)} is not a working day."
    return chosen, None
