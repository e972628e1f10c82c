from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from storage.db import alembic_config, async_upgrade, make_engine
from storage.models import Base
from tests.conftest import Database


def _schema_differences(connection):
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return compare_metadata(context, Base.metadata)


async def test_migrations_build_exactly_the_models_schema(db: Database):
    async with db.engine.connect() as connection:
        differences = await connection.run_sync(_schema_differences)
    assert differences == []


async def test_migrations_leave_the_database_at_head(db: Database):
    async with db.engine.connect() as connection:
        version = await connection.scalar(text("SELECT version_num FROM alembic_version"))
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert version == head


async def test_upgrading_an_up_to_date_database_changes_nothing(db: Database):
    await async_upgrade(db.engine)
    async with db.engine.connect() as connection:
        assert await connection.run_sync(_schema_differences) == []


def _downgrade_to_base(connection) -> None:
    command.downgrade(alembic_config(connection), "base")


def _table_names(connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_downgrade_removes_everything_and_upgrade_rebuilds_it(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'down.sqlite3'}")
    try:
        await async_upgrade(engine)
        async with engine.begin() as connection:
            await connection.run_sync(_downgrade_to_base)
            assert await connection.run_sync(_table_names) == {"alembic_version"}
        await async_upgrade(engine)
        async with engine.connect() as connection:
            assert await connection.run_sync(_schema_differences) == []
    finally:
        await engine.dispose()


async def test_migration_creates_the_append_only_triggers(db: Database):
    if db.dialect == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        expected = {
            "audit_events_no_update",
            "audit_events_no_delete",
            "audit_event_redactions_no_update",
            "audit_event_redactions_no_delete",
        }
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        expected = {"audit_events_append_only", "audit_event_redactions_append_only"}
    async with db.engine.connect() as connection:
        names = set((await connection.execute(text(query))).scalars())
    assert names == expected
