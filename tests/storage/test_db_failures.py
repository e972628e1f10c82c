"""A database that cannot be used is said so, in one line, before anything relies on it."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from storage.db import check_database, make_engine, ping, upgrade
from storage.errors import DatabaseUnavailable
from tests.conftest import POSTGRES_ONLY, Database

PAGE = 4096


def damaged_copy(template: Path, folder: Path, tables: tuple[str, ...] = ("outbox", "audits")):
    """A migrated database whose tables' pages (and their indexes') are overwritten, as a
    failing disk or a careless copy leaves them: the schema and the migration history
    still read."""
    path = folder / "damaged.sqlite3"
    shutil.copyfile(template, path)
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA journal_mode=DELETE")
        marks = ",".join("?" * len(tables))
        roots = [
            page
            for (page,) in connection.execute(
                f"SELECT rootpage FROM sqlite_master WHERE tbl_name IN ({marks})", tables
            )
            if page
        ]
    with path.open("r+b") as file:
        for page in roots:
            file.seek((page - 1) * PAGE)
            file.write(bytes(range(256)) * (PAGE // 256))
    return path


def test_a_damaged_file_still_migrates_which_is_why_start_up_checks_it(
    sqlite_template: Path, tmp_path: Path
):
    path = damaged_copy(sqlite_template, tmp_path)
    upgrade(f"sqlite:///{path}")  # reads only alembic_version: passes


async def test_a_damaged_file_is_refused_at_start_up(sqlite_template: Path, tmp_path: Path):
    path = damaged_copy(sqlite_template, tmp_path)

    with pytest.raises(DatabaseUnavailable) as refused:
        await check_database(f"sqlite:///{path}")

    message = str(refused.value)
    assert message.startswith(f"the SQLite file {path} is damaged (")
    assert message.endswith("restore it from a backup") and "\n" not in message


async def test_health_reads_real_tables_so_a_damaged_file_is_unhealthy(
    sqlite_template: Path, tmp_path: Path
):
    engine = make_engine(f"sqlite:///{damaged_copy(sqlite_template, tmp_path, ('outbox',))}")
    try:
        assert await ping(engine) is False
    finally:
        await engine.dispose()


async def test_a_healthy_database_passes_the_check(db: Database):
    await check_database(db.url)


async def test_a_file_that_is_not_a_database_is_named(tmp_path: Path):
    path = tmp_path / "notes.sqlite3"
    path.write_bytes(b"This is a text file, not a database. " * 100)

    with pytest.raises(DatabaseUnavailable, match="is not a SQLite database; point"):
        await check_database(f"sqlite:///{path}")
    assert path.read_bytes().startswith(b"This is a text file")


async def test_a_truncated_database_is_refused(sqlite_template: Path, tmp_path: Path):
    path = tmp_path / "truncated.sqlite3"
    path.write_bytes(sqlite_template.read_bytes()[: PAGE * 3 + 100])

    with pytest.raises(DatabaseUnavailable, match=r"(is damaged|is not a SQLite database)"):
        await check_database(f"sqlite:///{path}")


async def test_a_folder_that_does_not_exist_is_named(tmp_path: Path):
    missing = tmp_path / "no" / "such" / "folder"

    with pytest.raises(DatabaseUnavailable) as refused:
        await check_database(f"sqlite:///{missing / 'auditbot.sqlite3'}")

    assert str(refused.value).startswith(f"the folder {missing} for the SQLite file does not exist")
    assert not (tmp_path / "no").exists()


async def test_a_postgresql_server_that_is_not_there_is_named():
    with pytest.raises(DatabaseUnavailable) as refused:
        await check_database("postgresql://auditbot:s3cret@127.0.0.1:9/auditbot")

    message = str(refused.value)
    assert message.startswith("cannot reach PostgreSQL at 127.0.0.1:9/auditbot (")
    assert "s3cret" not in message


async def test_a_host_that_does_not_exist_is_named():
    with pytest.raises(DatabaseUnavailable, match="cannot find the PostgreSQL host"):
        await check_database("postgresql://auditbot@no-such-host.invalid/auditbot")


@POSTGRES_ONLY
async def test_a_postgresql_database_that_does_not_exist_is_named(db: Database):
    missing = db.url.rsplit("/", 1)[0] + "/no_such_database"

    with pytest.raises(DatabaseUnavailable) as refused:
        await check_database(missing)

    assert 'database "no_such_database" does not exist' in str(refused.value)
