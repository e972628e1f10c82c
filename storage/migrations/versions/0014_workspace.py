"""The Audit Team's workspace: monthly reviews of recommendations (and each one's latest
impact noted), the learning log, notes on reports, and acknowledged allocation notices.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _fk(
    table: str, column: str, target: str, ondelete: str | None = None
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def upgrade() -> None:
    with op.batch_alter_table("recommendations") as batch:
        batch.add_column(sa.Column("impact_noted", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reviewed_on", sa.Date(), nullable=True))
    op.create_table(
        "recommendation_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("meeting_on", sa.Date(), nullable=False),
        sa.Column("decided", sa.Text(), nullable=False),
        sa.Column("decisions", JSON_DOCUMENT, nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        _fk("recommendation_reviews", "service_id", "services"),
        _fk("recommendation_reviews", "recorded_by_id", "staff"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendation_reviews")),
    )
    op.create_index(
        op.f("ix_recommendation_reviews_service_id"), "recommendation_reviews", ["service_id"]
    )
    op.create_table(
        "learning_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("cycle_id", sa.Integer(), nullable=True),
        sa.Column("audit_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("theme", sa.String(length=120), nullable=False),
        sa.Column("learning", sa.Text(), nullable=False),
        sa.Column("rag", sa.String(length=32), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        _fk("learning_items", "service_id", "services"),
        _fk("learning_items", "cycle_id", "cycles"),
        _fk("learning_items", "audit_id", "audits"),
        _fk("learning_items", "owner_id", "staff"),
        _fk("learning_items", "recorded_by_id", "staff"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_learning_items")),
    )
    op.create_index(op.f("ix_learning_items_service_id"), "learning_items", ["service_id"])
    op.create_table(
        "report_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        _fk("report_notes", "service_id", "services"),
        _fk("report_notes", "updated_by_id", "staff"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_notes")),
        sa.UniqueConstraint("service_id", "period", name=op.f("uq_report_notes_service_id_period")),
    )
    op.create_table(
        "acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", TIMESTAMP, nullable=False),
        _fk("acknowledgements", "audit_id", "audits", ondelete="CASCADE"),
        _fk("acknowledgements", "staff_id", "staff"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acknowledgements")),
        sa.UniqueConstraint(
            "audit_id", "staff_id", name=op.f("uq_acknowledgements_audit_id_staff_id")
        ),
    )
    op.create_index(op.f("ix_acknowledgements_staff_id"), "acknowledgements", ["staff_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_acknowledgements_staff_id"), table_name="acknowledgements")
    op.drop_table("acknowledgements")
    op.drop_table("report_notes")
    op.drop_index(op.f("ix_learning_items_service_id"), table_name="learning_items")
    op.drop_table("learning_items")
    op.drop_index(op.f("ix_recommendation_reviews_service_id"), table_name="recommendation_reviews")
    op.drop_table("recommendation_reviews")
    with op.batch_alter_table("recommendations") as batch:
        batch.drop_column("reviewed_on")
        batch.drop_column("impact_noted")
