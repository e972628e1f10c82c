"""Disputes about a moderated grade.

A dispute records who raised it and why, the moderator's response (revised
or stood by), the request for a decision, and the final decision by the
Head of Service or Audit Team.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("raised_by_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("raised_at", TIMESTAMP, nullable=False),
        sa.Column("moderator_response", sa.Text(), nullable=True),
        sa.Column("responded_by_id", sa.Integer(), nullable=True),
        sa.Column("responded_at", TIMESTAMP, nullable=True),
        sa.Column("escalation_note", sa.Text(), nullable=True),
        sa.Column("escalated_at", TIMESTAMP, nullable=True),
        sa.Column("decided_grade", sa.String(length=32), nullable=True),
        sa.Column("decision", sa.Text(), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audits.id"],
            name=op.f("fk_disputes_audit_id_audits"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["raised_by_id"], ["staff.id"], name=op.f("fk_disputes_raised_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["responded_by_id"], ["staff.id"], name=op.f("fk_disputes_responded_by_id_staff")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["staff.id"], name=op.f("fk_disputes_decided_by_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disputes")),
    )
    op.create_index("ix_disputes_audit_state", "disputes", ["audit_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_disputes_audit_state", table_name="disputes")
    op.drop_table("disputes")
