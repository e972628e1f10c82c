"""What the Audit Team keeps in its workspace (the Teams tab) beside the audits themselves:
the monthly reviews of the recommendation and impact tracker, the RAG-rated learning log,
the notes written on a report for practitioners, and who has seen their allocation notice.
Case references only, as everywhere: free text here is about practice, never a child."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, Stamped
from storage.types import StrEnumType, utcnow


class RecommendationReview(Base):
    """One monthly review of a service's recommendations "at the meeting of DATE" (City of
    London's QA Recommendation and Impact Tracker), with what was decided for each."""

    __tablename__ = "recommendation_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    meeting_on: Mapped[date]
    decided: Mapped[str] = mapped_column(Text, default="")
    # [{"recommendation_id", "status_before", "status", "impact"}] for each one reviewed.
    decisions: Mapped[list[Any]] = mapped_column(default=list)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rag(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class LearningStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    EMBEDDED = "embedded"  # the change is seen in practice (evidence recorded)

    @property
    def label(self) -> str:
        return {"open": "Open", "in_progress": "In progress", "embedded": "Embedded"}[self.value]


class LearningSource(StrEnum):
    AUDIT = "audit"
    MODERATION = "moderation"
    CYCLE = "cycle"  # the cycle's findings as a whole


class LearningItem(Stamped, Base):
    """A line of the learning log (Hillingdon's, RAG-rated): what was learnt, from which
    audit or moderation, its theme, who owns the change, and the evidence that it happened."""

    __tablename__ = "learning_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"))
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audits.id"))
    source: Mapped[LearningSource] = mapped_column(StrEnumType(LearningSource))
    theme: Mapped[str] = mapped_column(String(120))
    learning: Mapped[str] = mapped_column(Text)
    rag: Mapped[Rag] = mapped_column(StrEnumType(Rag))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    status: Mapped[LearningStatus] = mapped_column(
        StrEnumType(LearningStatus), default=LearningStatus.OPEN
    )
    evidence: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))


class ReportNote(Stamped, Base):
    """The "top ten findings and learning" the Audit Team writes on a report's page for
    practitioners: one per service and period ("cycle:12", "quarter:2026-Q4", "year:2026")."""

    __tablename__ = "report_notes"
    __table_args__ = (UniqueConstraint("service_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    period: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    updated_by_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))


class Acknowledgement(Base):
    """Someone pressed "I've seen this" on their allocation notice for an audit."""

    __tablename__ = "acknowledgements"
    __table_args__ = (UniqueConstraint("audit_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    acknowledged_at: Mapped[datetime] = mapped_column(default=utcnow)
