"""Meetings of a whole cycle: the moderation group's meeting, booked through the calendar.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "cycle_meetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("organiser_id", sa.Integer(), nullable=False),
        sa.Column("attendee_ids", JSON_DOCUMENT, nullable=False),
        sa.Column("length_minutes", sa.Integer(), nullable=False),
        sa.Column("window_starts_at", TIMESTAMP, nullable=False),
        sa.Column("window_ends_at", TIMESTAMP, nullable=False),
        sa.Column("starts_at", TIMESTAMP, nullable=True),
        sa.Column("ends_at", TIMESTAMP, nullable=True),
        sa.Column("clash_ids", JSON_DOCUMENT, nullable=True),
        sa.Column("event_id", sa.String(length=512), nullable=True),
        sa.Column("join_url", sa.Text(), nullable=True),
        sa.Column("calendar", sa.String(length=16), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_at", TIMESTAMP, nullable=True),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["cycles.id"],
            name=op.f("fk_cycle_meetings_cycle_id_cycles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organiser_id"], ["staff.id"], name=op.f("fk_cycle_meetings_organiser_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cycle_meetings")),
        sa.UniqueConstraint("cycle_id", "kind", name=op.f("uq_cycle_meetings_cycle_id_kind")),
    )
    op.create_index(op.f("ix_cycle_meetings_state"), "cycle_meetings", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_cycle_meetings_state"), table_name="cycle_meetings")
    op.drop_table("cycle_meetings")
