"""City of London's two tiers: the Head of Safeguarding and QA moderates every review, then
reviews go to the Senior Leadership Moderation Panel ("all", a sample, or those the
tier-one moderator chooses, as the programme says).

`refer_to_panel` runs in the tier-one moderation's transaction: it decides whether the
review goes, and if so records which members sit and which stand aside ("If a Practice and
Impact Review has been completed by one of the Panel members ... they will be exempt"),
plans the cycle's panel meeting with its members, chair and the reviewer (booked by the
cycle-meeting booker in `dialogs/group_meeting.py`), and sends the chair the card on which
the panel's decision is recorded (`dialogs/panel_decision.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.moderation import grade_label
from cards.notice import notice_card
from cards.panel import PanelView, panel_card
from dialogs.group_meeting import cycle_meeting, meeting_time, tell_booked
from dialogs.notify import tell
from dialogs.programmes import cycle_moderation, cycle_rules
from storage import repositories as repo
from storage.models import (
    Audit,
    Cycle,
    CycleMeeting,
    CycleMeetingKind,
    CycleMeetingState,
    Staff,
)
from workflow.calendar import WorkingCalendar
from workflow.grades import Grade
from workflow.moderation_sample import decide
from workflow.programme.model import PanelModeration
from workflow.rules import ProgrammeRules

PANEL = CycleMeetingKind.PANEL
# The panel meets within this many working days of the first review sent to it.
PANEL_WINDOW_WORKING_DAYS = 10


def panel_of(audit: Audit) -> dict[str, Any]:
    """What is recorded about the audit's panel review ({} if it has none)."""
    return dict((audit.draft or {}).get("panel") or {})


async def panel_people(
    session: AsyncSession, cycle: Cycle, moderation: PanelModeration
) -> tuple[Staff | None, list[Staff]]:
    """The panel's chair and its other members in the cycle's service (active, by id)."""
    chairs = await repo.list_staff_with_role(session, moderation.panel.chair, cycle.service_id)
    found: dict[int, Staff] = {}
    for role in moderation.panel.members:
        for person in await repo.list_staff_with_role(session, role, cycle.service_id):
            found.setdefault(person.id, person)
    chair = chairs[0] if chairs else None
    members = [found[key] for key in sorted(found) if chair is None or key != chair.id]
    return chair, members


def goes_to_panel(
    moderation: PanelModeration, cycle: Cycle, audit: Audit, grade: Grade, *, chosen: bool
) -> bool:
    reviews = moderation.panel.reviews
    if reviews == "all":
        return True
    if reviews == "chosen":
        return chosen
    return decide(
        seed=cycle.selection_seed or 0,
        audit_id=audit.id,
        initial_grade=grade,
        percent=reviews.percent,
        per_cycle=reviews.per_cycle,
        always_below=reviews.always_below,
    ).in_sample


async def refer_to_panel(
    session: AsyncSession,
    audit: Audit,
    *,
    chosen: bool,
    now: datetime,
    rules: ProgrammeRules,
    asked: tuple[Staff, str] | None = None,
) -> bool:
    """After tier-one moderation: send the review to the panel if the programme says so, or
    when `asked` (who disagrees with the tier-one grade, and why: the programme's dispute
    route is the chair's deciding say); whether it was sent."""
    cycle = await repo.get_cycle(session, audit.cycle_id)
    assert cycle is not None
    moderation = await cycle_moderation(session, cycle)
    grade = audit.final_grade
    if not isinstance(moderation, PanelModeration) or grade is None or panel_of(audit):
        return False
    if asked is None and not goes_to_panel(moderation, cycle, audit, Grade(grade), chosen=chosen):
        return False
    chair, members = await panel_people(session, cycle, moderation)
    stand_aside = moderation.panel.members_stand_aside_on_own_reviews
    sitting = [m for m in members if not (stand_aside and m.id == audit.auditor_id)]
    aside = [m for m in members if m not in sitting]
    draft = dict(audit.draft or {})
    draft["panel"] = {
        "state": "referred",
        "chair_id": chair.id if chair else None,
        "sitting": [m.id for m in sitting],
        "stood_aside": [m.id for m in aside],
        "tier_one_grade": Grade(grade).value,
        "tier_one_by": audit.moderator_id,
    }
    if asked is not None:
        draft["panel"] |= {"asked_by": asked[0].id, "reason": asked[1]}
    audit.draft = draft
    await session.flush()
    await repo.record_event(
        session, "system", "audit", audit.id, "panel_referred", None, draft["panel"], at=now
    )
    people = [p.id for p in ([chair] if chair else []) + sitting]
    if moderation.panel.with_reviewer:
        people.append(audit.auditor_id)
    meeting = await _plan_meeting(session, cycle, moderation, people, now=now, rules=rules)
    timezone = (await cycle_rules(session, cycle, rules)).timezone
    if chair is not None:
        await tell(
            session,
            chair.id,
            "panel",
            f"panel:audit:{audit.id}",
            summary=f"Moderation panel: review of case {await _case_ref(session, audit)}",
            card=panel_card(await panel_view(session, audit, timezone=timezone)),
        )
    if moderation.panel.with_reviewer:
        await tell(
            session,
            audit.auditor_id,
            "panel",
            f"panel:audit:{audit.id}:reviewer",
            summary="Your review goes to the moderation panel",
            card=notice_card(
                f"Your review of case {await _case_ref(session, audit)} goes to the panel",
                "The Senior Leadership Moderation Panel will discuss it with you and agree a "
                "final grading and recommendations. You're invited to its meeting.",
                [("Panel meets", _when(meeting, timezone))],
            ),
        )
    return True


async def _plan_meeting(
    session: AsyncSession,
    cycle: Cycle,
    moderation: PanelModeration,
    people: list[int],
    *,
    now: datetime,
    rules: ProgrammeRules,
) -> CycleMeeting:
    """The cycle's panel meeting, planned with the first review sent to it; a later
    reviewer joins its attendees (and is told the time, once it is booked)."""
    meeting = await cycle_panel_meeting(session, cycle)
    if meeting is not None:
        new = [p for p in people if p not in meeting.attendee_ids]
        if new:
            meeting.attendee_ids = [*meeting.attendee_ids, *new]
            if meeting.state is CycleMeetingState.BOOKED:
                timezone = (await cycle_rules(session, cycle, rules)).timezone
                details = [("When", meeting_time(meeting, timezone)), ("Cycle", cycle.title)]
                if meeting.join_url:
                    details.append(("Join", meeting.join_url))
                await tell_booked(session, meeting, new, details)
        return meeting
    calendar = WorkingCalendar.from_rules(await cycle_rules(session, cycle, rules))
    today = calendar.local_date(now)
    meeting = CycleMeeting(
        cycle_id=cycle.id,
        kind=PANEL,
        organiser_id=people[0],
        attendee_ids=people,
        length_minutes=moderation.panel.meeting_minutes,
        window_starts_at=calendar.start_of_working_day(calendar.next_working_day(today)),
        window_ends_at=calendar.end_of_working_day(
            calendar.add_working_days(today, PANEL_WINDOW_WORKING_DAYS)
        ),
    )
    session.add(meeting)
    await session.flush()
    await repo.record_event(
        session,
        "system",
        "cycle",
        cycle.id,
        "panel_meeting_planned",
        None,
        {"meeting_id": meeting.id, "attendees": people},
        at=now,
    )
    return meeting


async def cycle_panel_meeting(session: AsyncSession, cycle: Cycle) -> CycleMeeting | None:
    return await cycle_meeting(session, cycle, PANEL)


def _when(meeting: CycleMeeting | None, timezone: str) -> str:
    if meeting is None or meeting.state is not CycleMeetingState.BOOKED:
        return "being booked: you'll be told the time"
    return meeting_time(meeting, timezone)


async def _case_ref(session: AsyncSession, audit: Audit) -> str:
    case = await repo.get_case(session, audit.case_id)
    return case.case_ref


async def panel_view(
    session: AsyncSession,
    audit: Audit,
    *,
    timezone: str,
    values: dict[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
) -> PanelView:
    panel = panel_of(audit)
    cycle = await repo.get_cycle(session, audit.cycle_id)
    assert cycle is not None
    ids = {audit.auditor_id, audit.practitioner_id, *panel.get("sitting", ())}
    ids |= set(panel.get("stood_aside", ())) | {panel.get("tier_one_by") or audit.auditor_id}
    for key in ("decided_by", "asked_by"):
        if panel.get(key):
            ids.add(panel[key])
    people = await repo.staff_by_ids(session, {i for i in ids if i is not None})

    def name(staff_id: int | None) -> str:
        return people[staff_id].display_name if staff_id in people else "not known"

    decided = None
    if panel.get("state") == "decided":
        decided = (
            f"The panel's final grade: {Grade(panel['grade']).label}, recorded by "
            f"{name(panel.get('decided_by'))}"
            + (" with the chair's deciding say" if panel.get("chair_decided") else "")
            + f". {panel.get('rationale', '')}"
        )
    return PanelView(
        audit_id=audit.id,
        case_ref=await _case_ref(session, audit),
        reviewer=name(audit.auditor_id),
        practitioner=name(audit.practitioner_id),
        initial_grade=grade_label(audit.initial_grade),
        tier_one_grade=Grade(panel.get("tier_one_grade") or audit.final_grade),
        tier_one_by=name(panel.get("tier_one_by")),
        meeting=_when(await cycle_panel_meeting(session, cycle), timezone),
        members=[name(i) for i in panel.get("sitting", ())],
        stood_aside=[name(i) for i in panel.get("stood_aside", ())],
        decided=decided,
        asked=(
            f"{name(panel['asked_by'])} asked for the panel: {panel.get('reason', '')}"
            if panel.get("asked_by")
            else None
        ),
        values=values or {},
        error=error,
        notice=notice,
    )
