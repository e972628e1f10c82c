"""The moderation template's "actions arising", on the moderation it belongs to.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("moderations") as batch:
        batch.add_column(sa.Column("actions_arising", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("moderations") as batch:
        batch.drop_column("actions_arising")
