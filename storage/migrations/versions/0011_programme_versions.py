"""Programme files as versions, and the version each cycle runs under.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "programme_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_key", sa.String(length=48), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "document",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by_id", sa.Integer(), nullable=True),
        sa.Column("loaded_by_label", sa.String(length=200), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["loaded_by_id"], ["staff.id"], name=op.f("fk_programme_versions_loaded_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_versions")),
        sa.UniqueConstraint(
            "programme_key", "version", name=op.f("uq_programme_versions_programme_key_version")
        ),
    )
    op.create_index(
        op.f("ix_programme_versions_programme_key"), "programme_versions", ["programme_key"]
    )
    with op.batch_alter_table("cycles") as batch:
        batch.add_column(sa.Column("programme_version_id", sa.Integer(), nullable=True))
        batch.create_index("ix_cycles_programme_version_id", ["programme_version_id"])
        batch.create_foreign_key(
            "fk_cycles_programme_version_id_programme_versions",
            "programme_versions",
            ["programme_version_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("cycles") as batch:
        batch.drop_constraint(
            "fk_cycles_programme_version_id_programme_versions", type_="foreignkey"
        )
        batch.drop_index("ix_cycles_programme_version_id")
        batch.drop_column("programme_version_id")
    op.drop_index(op.f("ix_programme_versions_programme_key"), table_name="programme_versions")
    op.drop_table("programme_versions")
