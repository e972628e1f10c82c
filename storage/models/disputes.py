"""Disputes about a moderated grade, from the practitioner or team manager to the decision.

One row per dispute, carrying each step: the reason, the moderator's
response (revised or stood by, with a note), the request for a decision,
and the Head of Service's or Audit Team's final decision. The steps'
before and after also go to audit_events.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Stamped
from storage.types import StrEnumType
from workflow.grades import Grade
from workflow.moderation import DisputeState


class Dispute(Stamped, Base):
    __tablename__ = "disputes"
    __table_args__ = (Index("ix_disputes_audit_state", "audit_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"))
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[DisputeState] = mapped_column(
        StrEnumType(DisputeState), default=DisputeState.RAISED
    )
    raised_at: Mapped[datetime]
    moderator_response: Mapped[str | None] = mapped_column(Text)
    responded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    responded_at: Mapped[datetime | None]
    escalation_note: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None]
    decided_grade: Mapped[Grade | None] = mapped_column(StrEnumType(Grade))
    decision: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None]
