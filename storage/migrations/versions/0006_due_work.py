"""Due work the scheduler chases: reminders, their ladder and snoozes.

The work itself stays in audits, meetings and recommendations; these tables
remember the chasing (rung, last reminder, snooze), one bundled reminder per
person per day, and when each scheduled job last ran. The indexes let the
due-work query find overdue items without reading every audit and action.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)

DOMAIN_INDEXES = (
    ("ix_audits_state_due_at", "audits", ["state", "due_at"]),
    ("ix_audits_state_moderation_due_at", "audits", ["state", "moderation_due_at"]),
    ("ix_audits_urgent_issues_due_at", "audits", ["urgent_issues_due_at"]),
    (
        "ix_recommendations_status_due_on",
        "recommendations",
        ["status", "due_on", "owner_id", "audit_id", "id"],
    ),
)


def upgrade() -> None:
    op.create_table(
        "reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("due_at", TIMESTAMP, nullable=False),
        sa.Column("rung", sa.Integer(), nullable=False),
        sa.Column("first_reminded_on", sa.Date(), nullable=True),
        sa.Column("last_reminded_at", TIMESTAMP, nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("next_at", TIMESTAMP, nullable=True),
        sa.Column("snoozed_until", TIMESTAMP, nullable=True),
        sa.Column("done_at", TIMESTAMP, nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audits.id"],
            name=op.f("fk_reminders_audit_id_audits"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["staff.id"], name=op.f("fk_reminders_owner_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminders")),
        sa.UniqueConstraint("kind", "subject_id", name=op.f("uq_reminders_kind_subject_id")),
    )
    op.create_index(op.f("ix_reminders_audit_id"), "reminders", ["audit_id"], unique=False)
    op.create_index("ix_reminders_owner_next_at", "reminders", ["owner_id", "next_at"])
    op.create_table(
        "reminder_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["staff.id"], name=op.f("fk_reminder_days_owner_id_staff")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_days")),
        sa.UniqueConstraint("owner_id", "day", name=op.f("uq_reminder_days_owner_id_day")),
    )
    op.create_table(
        "scheduler_runs",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("last_run_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_runs")),
    )
    for name, table, columns in DOMAIN_INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(DOMAIN_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table("scheduler_runs")
    op.drop_table("reminder_days")
    op.drop_index("ix_reminders_owner_next_at", table_name="reminders")
    op.drop_index(op.f("ix_reminders_audit_id"), table_name="reminders")
    op.drop_table("reminders")
