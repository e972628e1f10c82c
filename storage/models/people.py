"""Services, teams, staff and the roles they hold.

Team membership is not a table of its own: a person works in a team when
they hold a role scoped to that team (practitioner@CSC-T1,
team_manager@CSC-T1). One source of truth keeps the independence check and
the greeting from disagreeing.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.enums import ServiceKind
from storage.models.base import Base, Stamped
from storage.types import StrEnumType, utcnow
from workflow.roles import Role


class Service(Stamped, Base):
    """A council service (Early Help, CSC, Youth Justice) with its own rule overrides."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ServiceKind] = mapped_column(StrEnumType(ServiceKind))
    rules_overrides: Mapped[dict[str, Any]] = mapped_column(default=dict)

    teams: Mapped[list["Team"]] = relationship(back_populates="service", lazy="raise")


class Team(Stamped, Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))

    service: Mapped[Service] = relationship(back_populates="teams", lazy="raise")


class Staff(Stamped, Base):
    """A person, known by their Azure AD object id. Never deleted: deactivated."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    aad_object_id: Mapped[str] = mapped_column(String(36), unique=True)
    upn: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    auditor_trained: Mapped[bool] = mapped_column(default=False)
    auditor_trained_on: Mapped[date | None]
    line_manager_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="SET NULL"), index=True
    )
    active: Mapped[bool] = mapped_column(default=True)


class RoleAssignment(Stamped, Base):
    """A role held for a service, or for one team of it.

    service_id is always set (for a team role it is the team's service), so
    "who holds this role in this service" is one indexed lookup. Service-wide
    rows have team_id NULL; a partial unique index stops them repeating,
    since NULLs never collide in an ordinary unique constraint.
    """

    __tablename__ = "role_assignments"
    __table_args__ = (
        UniqueConstraint("staff_id", "role", "service_id", "team_id"),
        Index(
            "uq_role_assignments_service_wide",
            "staff_id",
            "role",
            "service_id",
            unique=True,
            sqlite_where=text("team_id IS NULL"),
            postgresql_where=text("team_id IS NULL"),
        ),
        Index("ix_role_assignments_role_service", "role", "service_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(StrEnumType(Role))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)


class EntraMembership(Base):
    """Who is in which mapped Entra group, as the last `auditbot sync entra` read it.

    The groups' delta feed reports changes, so what it said before is kept here
    to know a person's roles when one of their groups changes.
    """

    __tablename__ = "entra_memberships"

    group_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    aad_object_id: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)


class EntraSyncState(Base):
    """Where each Entra feed's next round starts: the delta link its last round ended with.

    `feed` is "users", or "groups:" and a digest of the group ids one query asks
    for, so a mapping that names other groups starts those groups afresh.
    """

    __tablename__ = "entra_sync_state"

    feed: Mapped[str] = mapped_column(String(80), primary_key=True)
    delta_link: Mapped[str] = mapped_column(Text)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
