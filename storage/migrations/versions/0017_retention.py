"""Retention: when a closed audit's free text, and a delivered message's content, were reduced.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("audits") as batch:
        batch.add_column(sa.Column("reduced_at", TIMESTAMP, nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("reduced_at", TIMESTAMP, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("reduced_at")
    with op.batch_alter_table("audits") as batch:
        batch.drop_column("reduced_at")
