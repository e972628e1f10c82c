"""What the follow-up sweeps have done: dip-audit tasks, re-audit samples, escalations.

One row per thing done, named by `key` ("dip_audit:audit:42",
"reaudit:cycle:7", "escalation:audit:42"). The key is unique, so a sweep
run twice, or by two instances at once, acts once: the second insert finds
the row there and does nothing.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import StrEnumType


class FollowUpKind(StrEnum):
    DIP_AUDIT = "dip_audit"  # a task for the Audit Team, 6 weeks after RI or Inadequate
    REAUDIT = "reaudit"  # a sample of a cycle's below-Good work, re-audited about 6 months on
    ESCALATION = "escalation"  # not improved after 4 months: to the Divisional Director
    # What a re-audit sample found once all of it is moderated (improved or not).
    REAUDIT_RESULT = "reaudit_result"
    # A sample of a moderation group's audits for an outside check (Tower Hamlets' consultant).
    EXTERNAL_CHECK = "external_check"


class FollowUp(Base):
    """One follow-up the scheduler started, with what it decided (`outcome`, `details`)."""

    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_service_kind", "service_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(96), unique=True)
    kind: Mapped[FollowUpKind] = mapped_column(StrEnumType(FollowUpKind))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    audit_id: Mapped[int | None] = mapped_column(ForeignKey("audits.id"), index=True)
    cycle_id: Mapped[int | None] = mapped_column(ForeignKey("cycles.id"), index=True)
    due_on: Mapped[date]
    done_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(32))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
