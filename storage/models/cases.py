"""Cases: a reference and who holds the work, never a child's details."""

from datetime import date
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.enums import CaseStatus
from storage.models.base import Base, Stamped
from storage.types import StrEnumType


class Case(Stamped, Base):
    """A piece of work that may be picked for audit.

    case_ref is the council's reference (imports refuse anything that looks
    like a name). attributes holds the thematic criteria for selection,
    e.g. {"plan": "CP"}: only attributes the council declared (CaseAttribute).
    """

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_team_status", "team_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_ref: Mapped[str] = mapped_column(String(64), unique=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"))
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    status: Mapped[CaseStatus] = mapped_column(StrEnumType(CaseStatus))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opened_on: Mapped[date]


class CaseInvolvement(Base):
    """Someone with direct involvement in a case, who therefore may not audit it."""

    __tablename__ = "case_involvements"
    __table_args__ = (UniqueConstraint("case_id", "staff_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)


class CaseAttribute(Stamped, Base):
    """An attribute of cases the council declared for thematic selection, and the values it
    may take (None: any value). Nothing else about a case is loaded
    (workflow.case_attributes)."""

    __tablename__ = "case_attributes"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    allowed_values: Mapped[list[Any] | None]
    description: Mapped[str] = mapped_column(String(200), default="")
