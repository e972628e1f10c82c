"""The due queue: reminders read by when they next need attention.

The reminder tick, between its full sweeps, reads only the items whose hold
(repeat day, snooze) ended since its last look (a range on reminders.next_at) and
whose deadline passed since: ranges on each deadline's index, two of them new (UoPP
bookings due, booked meetings that ended).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_reminders_next_at", "reminders", ["next_at"])
    op.create_index("ix_audits_uopp_due_at", "audits", ["uopp_due_at"])
    op.create_index("ix_meetings_state_ends_at", "meetings", ["state", "ends_at"])


def downgrade() -> None:
    op.drop_index("ix_meetings_state_ends_at", table_name="meetings")
    op.drop_index("ix_audits_uopp_due_at", table_name="audits")
    op.drop_index("ix_reminders_next_at", table_name="reminders")
