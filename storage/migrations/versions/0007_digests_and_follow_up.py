"""Follow-up tasks the scheduler starts: dip audits, re-audit samples, escalations.

The weekly digests need no table: each is an outbox row whose unique key
names the ISO week and the Head of Service.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=96), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.Column("cycle_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_at", TIMESTAMP, nullable=False),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("details", JSON_DOCUMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["service_id"], ["services.id"], name=op.f("fk_follow_ups_service_id_services")
        ),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["audits.id"], name=op.f("fk_follow_ups_audit_id_audits")
        ),
        sa.ForeignKeyConstraint(
            ["cycle_id"], ["cycles.id"], name=op.f("fk_follow_ups_cycle_id_cycles")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.UniqueConstraint("key", name=op.f("uq_follow_ups_key")),
    )
    op.create_index("ix_follow_ups_audit_id", "follow_ups", ["audit_id"], unique=False)
    op.create_index("ix_follow_ups_cycle_id", "follow_ups", ["cycle_id"], unique=False)
    op.create_index(
        "ix_follow_ups_service_kind", "follow_ups", ["service_id", "kind"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_follow_ups_service_kind", table_name="follow_ups")
    op.drop_index("ix_follow_ups_cycle_id", table_name="follow_ups")
    op.drop_index("ix_follow_ups_audit_id", table_name="follow_ups")
    op.drop_table("follow_ups")
