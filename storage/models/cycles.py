"""Audit cycles and their key lines of enquiry."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.enums import CycleState, KloeDecision
from storage.models.base import Base, Stamped
from storage.types import StrEnumType, utcnow
from workflow.roles import Role


class Cycle(Stamped, Base):
    """One month's audits for one service.

    The selection fields make case selection reproducible and explainable:
    the seed and method re-run the same pick, the explanation says why.
    """

    __tablename__ = "cycles"
    __table_args__ = (Index("ix_cycles_service_month", "service_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    title: Mapped[str] = mapped_column(String(200))
    month: Mapped[date]  # the first day of the audit month
    state: Mapped[CycleState] = mapped_column(StrEnumType(CycleState), default=CycleState.PROPOSED)
    audit_tool_id: Mapped[str] = mapped_column(String(64))
    selection_seed: Mapped[int | None] = mapped_column(BigInteger)
    selection_method: Mapped[str | None] = mapped_column(String(32))
    selection_explanation: Mapped[str | None] = mapped_column(Text)
    # How to select once the KLOEs are approved: total, quotas, criteria, seed.
    selection_plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    opened_at: Mapped[datetime | None]
    # The programme in force when the cycle was proposed; it keeps it to the end
    # (None: proposed before programmes were files).
    programme_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme_versions.id"), index=True
    )


class Kloe(Base):
    """A key line of enquiry, in the order the cycle lists them."""

    __tablename__ = "kloes"
    __table_args__ = (UniqueConstraint("cycle_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"))
    position: Mapped[int]
    text: Mapped[str] = mapped_column(Text)


class KloeApproval(Base):
    """The current decision of one approving role; earlier ones live in audit_events."""

    __tablename__ = "kloe_approvals"
    __table_args__ = (UniqueConstraint("cycle_id", "approver_role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cycle_id: Mapped[int] = mapped_column(ForeignKey("cycles.id", ondelete="CASCADE"))
    approver_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    approver_role: Mapped[Role] = mapped_column(StrEnumType(Role))
    decision: Mapped[KloeDecision] = mapped_column(StrEnumType(KloeDecision))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
