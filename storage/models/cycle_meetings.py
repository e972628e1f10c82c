"""Meetings of a whole cycle, not of one audit: the moderation group's meeting (Tower
Hamlets CSC), booked through the calendar port as UoPP meetings are. Only *that* and *when*
it is are kept, never what was said."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Stamped
from storage.types import StrEnumType


class CycleMeetingKind(StrEnum):
    MODERATION_GROUP = "moderation_group"
    PANEL = "panel"  # City of London's Senior Leadership Moderation Panel


class CycleMeetingState(StrEnum):
    PROPOSED = "proposed"  # to be booked (again, after a failed attempt)
    BOOKING = "booking"  # claimed by a booker, which is asking the calendar now
    BOOKED = "booked"


class CycleMeeting(Stamped, Base):
    __tablename__ = "cycle_meetings"
    __table_args__ = (UniqueConstraint("cycle_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"))
    kind: Mapped[CycleMeetingKind] = mapped_column(StrEnumType(CycleMeetingKind))
    state: Mapped[CycleMeetingState] = mapped_column(
        StrEnumType(CycleMeetingState), default=CycleMeetingState.PROPOSED, index=True
    )
    organiser_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    attendee_ids: Mapped[list[Any]] = mapped_column(default=list)
    length_minutes: Mapped[int]
    window_starts_at: Mapped[datetime]
    window_ends_at: Mapped[datetime]
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    # Who cannot make the time booked (nothing suited everyone in the window).
    clash_ids: Mapped[list[Any] | None]
    event_id: Mapped[str | None] = mapped_column(String(512))
    join_url: Mapped[str | None] = mapped_column(Text)
    calendar: Mapped[str | None] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
