"""Declared case attributes, and redactions of the audit trail.

`case_attributes` holds the attributes of cases the council declared for
thematic selection; the cases import loads nothing else. Values stored before
the declaration existed can be purged (`auditbot cases purge-undeclared`),
including from the audit trail: an event's before/after may now change, but
only for an event with a row in `audit_event_redactions` (why and when), and
nothing else about an event ever. Redactions themselves are append-only.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)
JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
APPEND_ONLY_MESSAGE = "audit_events is append-only"
REDACTIONS_MESSAGE = "audit_event_redactions is append-only"
# An event may change only in before/after, and only when a redaction of it is recorded.
UNCHANGED_BUT_BEFORE_AND_AFTER = (
    "NEW.id = OLD.id AND NEW.occurred_at IS NOT DISTINCT FROM OLD.occurred_at "
    "AND NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id "
    "AND NEW.actor_label IS NOT DISTINCT FROM OLD.actor_label "
    "AND NEW.entity = OLD.entity AND NEW.entity_id = OLD.entity_id AND NEW.action = OLD.action "
    "AND EXISTS (SELECT 1 FROM audit_event_redactions r WHERE r.event_id = OLD.id)"
)


def upgrade() -> None:
    op.create_table(
        "case_attributes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("allowed_values", JSON_DOCUMENT, nullable=True),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attributes")),
        sa.UniqueConstraint("name", name=op.f("uq_case_attributes_name")),
    )
    op.create_table(
        "audit_event_redactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("redacted_at", TIMESTAMP, nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["audit_events.id"],
            name=op.f("fk_audit_event_redactions_event_id_audit_events"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event_redactions")),
    )
    op.create_index(
        op.f("ix_audit_event_redactions_event_id"), "audit_event_redactions", ["event_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _postgresql_triggers() -> None:
    op.execute(
        f"""
        CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE' AND {UNCHANGED_BUT_BEFORE_AND_AFTER} THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'restrict_violation';
        END;
        $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION audit_event_redactions_refuse_change() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{REDACTIONS_MESSAGE}' USING ERRCODE = 'restrict_violation';
        END;
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_event_redactions_append_only BEFORE UPDATE OR DELETE "
        "ON audit_event_redactions FOR EACH ROW "
        "EXECUTE FUNCTION audit_event_redactions_refuse_change()"
    )


def _sqlite_triggers() -> None:
    # SQLite spells IS NOT DISTINCT FROM as IS.
    unchanged = UNCHANGED_BUT_BEFORE_AND_AFTER.replace("IS NOT DISTINCT FROM", "IS")
    op.execute("DROP TRIGGER audit_events_no_update")
    op.execute(
        "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
        f"WHEN NOT ({unchanged}) "
        f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
    )
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_event_redactions_no_{verb.lower()} BEFORE {verb} "
            f"ON audit_event_redactions BEGIN SELECT RAISE(ABORT, '{REDACTIONS_MESSAGE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "DROP TRIGGER IF EXISTS audit_event_redactions_append_only ON audit_event_redactions"
        )
        op.execute("DROP FUNCTION IF EXISTS audit_event_redactions_refuse_change()")
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION audit_events_refuse_change() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'restrict_violation';
            END;
            $$
            """
        )
    else:
        for verb in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_event_redactions_no_{verb}")
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute(
            "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
        )
    op.drop_index(op.f("ix_audit_event_redactions_event_id"), "audit_event_redactions")
    op.drop_table("audit_event_redactions")
    op.drop_table("case_attributes")
