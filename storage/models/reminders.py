"""What the scheduler has done about late work, so a restart or a second instance loses nothing.

The work itself (what is owed, by whom, by when) stays in the domain tables
(audits, meetings, recommendations); these tables only remember the chasing.
"""

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Stamped


class Reminder(Stamped, Base):
    """The chasing of one overdue item: which rung of the ladder it reached and when next.

    kind names the item ("audit", "moderation", "urgent_issues", "uopp_booking",
    "uopp_record", "action") and subject_id its row (an audit, a meeting or a
    recommendation). due_at is the deadline being chased: when it changes (a new
    date for an action), the ladder starts again. next_at is the earliest a
    reminder may go again (the next repeat day, or the end of a snooze).
    """

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("kind", "subject_id"),
        Index("ix_reminders_owner_next_at", "owner_id", "next_at"),
        # The due queue: holds that ended since the tick last looked (migration 0015).
        Index("ix_reminders_next_at", "next_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int]
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    due_at: Mapped[datetime]
    rung: Mapped[int] = mapped_column(default=0)
    first_reminded_on: Mapped[date | None]
    last_reminded_at: Mapped[datetime | None]
    reminders_sent: Mapped[int] = mapped_column(default=0)
    next_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    done_at: Mapped[datetime | None]


class ReminderDay(Base):
    """One person's bundled reminder on one local day: the claim that makes it one a day.

    Inserted in the transaction that queues the reminder; a second instance
    that tries the same person and day finds the row and sends nothing.
    """

    __tablename__ = "reminder_days"
    __table_args__ = (UniqueConstraint("owner_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    day: Mapped[date]
    items: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime]


class SchedulerRun(Base):
    """When each scheduled job last finished, so missed reminders can be told apart (late)."""

    __tablename__ = "scheduler_runs"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_run_at: Mapped[datetime]
