"""When the Audit Team's completeness check of a submitted audit is due, so it is chased.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audits") as batch:
        batch.add_column(sa.Column("check_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_audits_check_due_at", ["check_due_at"])


def downgrade() -> None:
    with op.batch_alter_table("audits") as batch:
        batch.drop_index("ix_audits_check_due_at")
        batch.drop_column("check_due_at")
