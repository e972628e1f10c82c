"""Part B at supervision: when each audit's part B is due (None once it is recorded).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audits") as batch:
        batch.add_column(sa.Column("part_b_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_audits_part_b_due_at", ["part_b_due_at"])


def downgrade() -> None:
    with op.batch_alter_table("audits") as batch:
        batch.drop_index("ix_audits_part_b_due_at")
        batch.drop_column("part_b_due_at")
