"""UoPP booking: the window, length and chair of each meeting, and what booking it cost.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _columns() -> tuple[sa.Column, ...]:
    return (
        sa.Column("chair_id", sa.Integer(), nullable=True),
        sa.Column("window_starts_at", TIMESTAMP, nullable=True),
        sa.Column("window_ends_at", TIMESTAMP, nullable=True),
        sa.Column("length_minutes", sa.Integer(), nullable=False, server_default="60"),
        sa.Column("calendar", sa.String(length=16), nullable=True),
        sa.Column("booking_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("extended_to", TIMESTAMP, nullable=True),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("chair_asked_at", TIMESTAMP, nullable=True),
        sa.Column("claimed_at", TIMESTAMP, nullable=True),
        sa.Column("next_attempt_at", TIMESTAMP, nullable=True),
        sa.Column("event_sequence", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cancel_event_id", sa.String(length=512), nullable=True),
        sa.Column("options", JSON_DOCUMENT, nullable=True),
        sa.Column("offer", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("clash_ids", JSON_DOCUMENT, nullable=True),
        sa.Column("avoid_slots", JSON_DOCUMENT, nullable=True),
        sa.Column("responses_checked_at", TIMESTAMP, nullable=True),
    )


def upgrade() -> None:
    with op.batch_alter_table("meetings") as batch:
        for column in _columns():
            batch.add_column(column)
        batch.create_foreign_key(op.f("fk_meetings_chair_id_staff"), "staff", ["chair_id"], ["id"])
    op.create_index("ix_meetings_state", "meetings", ["state"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_meetings_state", table_name="meetings")
    with op.batch_alter_table("meetings") as batch:
        batch.drop_constraint(op.f("fk_meetings_chair_id_staff"), type_="foreignkey")
        for column in reversed(_columns()):
            batch.drop_column(column.name)
