"""One audit of one case, and what is recorded about it."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.enums import (
    ExemptionState,
    GradeStage,
    RecommendationLevel,
    RecommendationSource,
    RecommendationStatus,
)
from storage.models.base import Base, Stamped
from storage.types import StrEnumType, utcnow
from workflow.grades import Grade
from workflow.states import AuditState


class Audit(Stamped, Base):
    """An allocation of a case to an auditor and a moderator in a cycle.

    version is bumped on every UPDATE and checked by it (optimistic
    concurrency): a card carries the version it was drawn from, and a write
    from a stale card or a concurrent writer fails instead of overwriting.
    Reallocation ends this audit (state reallocated) and starts a successor
    whose predecessor_id points here.
    """

    __tablename__ = "audits"
    __table_args__ = (
        Index("ix_audits_cycle_case", "cycle_id", "case_id"),
        Index("ix_audits_state", "state"),
        # The scheduler's due-work query (migration 0006).
        Index("ix_audits_state_due_at", "state", "due_at"),
        Index("ix_audits_state_moderation_due_at", "state", "moderation_due_at"),
        Index("ix_audits_urgent_issues_due_at", "urgent_issues_due_at"),
        # Covers the due-work query's read of late completeness checks (migration 0010).
        Index("ix_audits_check_due_at", "check_due_at"),
        Index("ix_audits_part_b_due_at", "part_b_due_at"),
        # The reminder tick between sweeps: UoPP bookings due in the last minute (0015).
        Index("ix_audits_uopp_due_at", "uopp_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    team_manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    auditor_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    state: Mapped[AuditState] = mapped_column(StrEnumType(AuditState), default=AuditState.ALLOCATED)
    initial_grade: Mapped[Grade | None] = mapped_column(StrEnumType(Grade))
    moderated_grade: Mapped[Grade | None] = mapped_column(StrEnumType(Grade))
    final_grade: Mapped[Grade | None] = mapped_column(StrEnumType(Grade))
    outcomes_met: Mapped[bool | None]
    due_at: Mapped[datetime | None]
    moderation_due_at: Mapped[datetime | None]
    urgent_issues_due_at: Mapped[datetime | None]
    uopp_due_at: Mapped[datetime | None]
    # When the Audit Team's completeness check is due; None once it is recorded.
    check_due_at: Mapped[datetime | None]
    # When the practitioner and team manager owe part B of the audit (a programme that follows
    # up at supervision); None once it is recorded, or where there is no part B.
    part_b_due_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    moderated_at: Mapped[datetime | None]
    predecessor_id: Mapped[int | None] = mapped_column(ForeignKey("audits.id"), index=True)
    version: Mapped[int] = mapped_column(default=1)
    draft: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # When retention reduced its free text to the figures (storage/retention.py).
    reduced_at: Mapped[datetime | None]

    __mapper_args__ = {"version_id_col": version}


class SectionGrade(Stamped, Base):
    """A grade for one section of the audit tool, at one stage.

    At the moderated stage, agreed says whether the moderator agreed with the
    auditor; a disagreement needs a rationale (checked by workflow).
    """

    __tablename__ = "section_grades"
    __table_args__ = (UniqueConstraint("audit_id", "section_id", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"))
    section_id: Mapped[str] = mapped_column(String(64))
    stage: Mapped[GradeStage] = mapped_column(StrEnumType(GradeStage))
    grade: Mapped[Grade | None] = mapped_column(StrEnumType(Grade))
    rationale: Mapped[str | None] = mapped_column(Text)
    by_staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    agreed: Mapped[bool | None]


class Moderation(Base):
    __tablename__ = "moderations"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    overall_agreed: Mapped[bool]
    overall_grade: Mapped[Grade] = mapped_column(StrEnumType(Grade))
    rationale: Mapped[str | None] = mapped_column(Text)
    moderated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The moderation template's "actions arising" (City of London appendix 2), if any.
    actions_arising: Mapped[str | None] = mapped_column(Text)


class Recommendation(Stamped, Base):
    """A SMART recommendation: action, impact on the child, owner, date."""

    __tablename__ = "recommendations"
    __table_args__ = (
        Index("ix_recommendations_owner_status", "owner_id", "status"),
        # Covers the due-work query's read of late actions (migration 0006).
        Index("ix_recommendations_status_due_on", "status", "due_on", "owner_id", "audit_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id", ondelete="CASCADE"), index=True)
    level: Mapped[RecommendationLevel] = mapped_column(StrEnumType(RecommendationLevel))
    action: Mapped[str] = mapped_column(Text)
    impact_on_child: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    due_on: Mapped[date | None]
    status: Mapped[RecommendationStatus] = mapped_column(
        StrEnumType(RecommendationStatus), default=RecommendationStatus.OPEN
    )
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[RecommendationSource] = mapped_column(
        StrEnumType(RecommendationSource), default=RecommendationSource.AUDIT
    )
    # The monthly review's latest word (the workspace's recommendation and impact tracker).
    impact_noted: Mapped[str | None] = mapped_column(Text)
    reviewed_on: Mapped[date | None]


class ExemptionRequest(Stamped, Base):
    """An auditor's request to be excused from one audit; only the Head of Service decides."""

    __tablename__ = "exemption_requests"
    __table_args__ = (Index("ix_exemption_requests_audit_state", "audit_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(ForeignKey("audits.id"))
    auditor_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[ExemptionState] = mapped_column(
        StrEnumType(ExemptionState), default=ExemptionState.REQUESTED
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
