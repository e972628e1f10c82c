"""Entra ID sync: the mapped groups' members as last read, and each feed's delta link.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "entra_memberships",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("aad_object_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("group_id", "aad_object_id", name=op.f("pk_entra_memberships")),
    )
    op.create_index(
        op.f("ix_entra_memberships_aad_object_id"), "entra_memberships", ["aad_object_id"]
    )
    op.create_table(
        "entra_sync_state",
        sa.Column("feed", sa.String(length=80), nullable=False),
        sa.Column("delta_link", sa.Text(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("feed", name=op.f("pk_entra_sync_state")),
    )


def downgrade() -> None:
    op.drop_table("entra_sync_state")
    op.drop_index(op.f("ix_entra_memberships_aad_object_id"), table_name="entra_memberships")
    op.drop_table("entra_memberships")
