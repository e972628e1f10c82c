"""UoPP meetings booked in Outlook/Teams. Only *that* a meeting was held is kept."""

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.enums import MeetingKind, MeetingState
from storage.models.base import Base, Stamped
from storage.types import StrEnumType


class Meeting(Stamped, Base):
    __tablename__ = "meetings"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    kind: Mapped[MeetingKind] = mapped_column(StrEnumType(MeetingKind))
    organiser_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    graph_event_id: Mapped[str | None] = mapped_column(String(512), index=True)
    join_url: Mapped[str | None] = mapped_column(Text)
    state: Mapped[MeetingState] = mapped_column(
        StrEnumType(MeetingState), default=MeetingState.PROPOSED
    )
    held_on: Mapped[date | None]


class MeetingAttendee(Base):
    """An invitee; response is Graph's responseStatus (accepted, declined, ...)."""

    __tablename__ = "meeting_attendees"
    __table_args__ = (UniqueConstraint("meeting_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    required: Mapped[bool] = mapped_column(default=True)
    response: Mapped[str | None] = mapped_column(String(32))
