"""UoPP meetings booked in Outlook/Teams. Only *that* a meeting was held is kept."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.enums import MeetingKind, MeetingState
from storage.models.base import Base, Stamped
from storage.types import StrEnumType


class Meeting(Stamped, Base):
    __tablename__ = "meetings"
    # The reminder tick between sweeps: meetings that ended in the last minute (migration 0015).
    __table_args__ = (Index("ix_meetings_state_ends_at", "state", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    kind: Mapped[MeetingKind] = mapped_column(StrEnumType(MeetingKind))
    organiser_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    graph_event_id: Mapped[str | None] = mapped_column(String(512), index=True)
    join_url: Mapped[str | None] = mapped_column(Text)
    state: Mapped[MeetingState] = mapped_column(
        StrEnumType(MeetingState), default=MeetingState.PROPOSED, index=True
    )
    held_on: Mapped[date | None]
    # Booking: who chairs, when it may be, how long, which calendar holds it.
    chair_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    window_starts_at: Mapped[datetime | None]
    window_ends_at: Mapped[datetime | None]
    length_minutes: Mapped[int] = mapped_column(default=60)
    calendar: Mapped[str | None] = mapped_column(String(16))  # "graph" or "local"
    booking_attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # The Audit Team may extend the deadline when no common slot exists.
    extended_to: Mapped[datetime | None]
    extension_reason: Mapped[str | None] = mapped_column(Text)
    # When the chair was asked whether it took place (asked once).
    chair_asked_at: Mapped[datetime | None]
    # The booker's claim (state booking) and when a failed calendar is tried again.
    claimed_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    # Events created so far: Graph's transactionId is the meeting id and this number, so a
    # retried creation returns the event already made, and a rebooking makes a new one.
    event_sequence: Mapped[int] = mapped_column(default=0)
    # An event replaced (after a decline) that is still to be cancelled in the calendar.
    cancel_event_id: Mapped[str | None] = mapped_column(String(512))
    # The options offered to the organiser when no slot suited everyone, in order:
    # [{"start": iso, "end": iso, "clashes": [staff ids]}], and how many offers were sent
    # (the organiser's card carries it, so an older card changes nothing).
    options: Mapped[list[Any] | None]
    offer: Mapped[int] = mapped_column(default=0)
    # Who cannot make the chosen time (when the organiser chose an option with clashes).
    clash_ids: Mapped[list[Any] | None]
    # Times not to book again: [[start iso, end iso]] declined by a required attendee.
    avoid_slots: Mapped[list[Any] | None]
    # When the attendees' answers were last read (each read is a calendar call).
    responses_checked_at: Mapped[datetime | None]


class MeetingAttendee(Base):
    """An invitee; response is Graph's responseStatus (accepted, declined, ...)."""

    __tablename__ = "meeting_attendees"
    __table_args__ = (UniqueConstraint("meeting_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    required: Mapped[bool] = mapped_column(default=True)
    response: Mapped[str | None] = mapped_column(String(32))
