"""Programme versions: each programme file loaded, kept whole, so a cycle keeps the
programme it started under however often the file changes afterwards."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base
from storage.types import UTCDateTime, json_document, utcnow


class ProgrammeVersion(Base):
    """One loaded programme file: its text as written, and the checked programme."""

    __tablename__ = "programme_versions"
    __table_args__ = (UniqueConstraint("programme_key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The file's [programme] id, e.g. "hillingdon-csc".
    programme_key: Mapped[str] = mapped_column(String(48), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    # The file as the council wrote it, comments and all.
    text: Mapped[str] = mapped_column(Text)
    # The checked programme (Programme.model_dump(mode="json")): what flows read.
    document: Mapped[dict[str, Any]] = mapped_column(json_document())
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    loaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    loaded_by_label: Mapped[str | None] = mapped_column(String(200))
    # Replaced by a later version of the same programme, or withdrawn: no longer in force.
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
