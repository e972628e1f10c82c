"""The KLOE approval step and auditor exemptions.

A cycle now keeps how to select its cases (selection_plan) and who proposed
it, because selection waits until the Head of Service, coordinator and
Divisional Director have approved the KLOEs. exemption_requests holds an
auditor's request to be excused from an audit and the Head of Service's
decision.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "exemption_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("auditor_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["audits.id"], name=op.f("fk_exemption_requests_audit_id_audits")
        ),
        sa.ForeignKeyConstraint(
            ["auditor_id"], ["staff.id"], name=op.f("fk_exemption_requests_auditor_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["staff.id"],
            name=op.f("fk_exemption_requests_decided_by_id_staff"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exemption_requests")),
    )
    op.create_index(
        "ix_exemption_requests_audit_state", "exemption_requests", ["audit_id", "state"]
    )
    with op.batch_alter_table("cycles") as batch_op:
        batch_op.add_column(
            sa.Column(
                "selection_plan", JSON_DOCUMENT, nullable=False, server_default=sa.text("'{}'")
            )
        )
        batch_op.add_column(sa.Column("proposed_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_cycles_proposed_by_id_staff"), "staff", ["proposed_by_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("cycles") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_cycles_proposed_by_id_staff"), type_="foreignkey")
        batch_op.drop_column("proposed_by_id")
        batch_op.drop_column("selection_plan")
    op.drop_index("ix_exemption_requests_audit_state", table_name="exemption_requests")
    op.drop_table("exemption_requests")
