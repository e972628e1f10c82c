"""Several `auditbot serve` instances on one PostgreSQL, started as a deployment starts them:
together, against an empty database, they migrate it once and all come up; with
`--no-migrate` an instance leaves the schema to the migration job and refuses a database that
job has not brought up to date."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import head_revision, make_engine
from tests.bot.test_workers import free_port, healthy, wait_for
from tests.conftest import run_in_own_loop
from tests.harness import deployed_environment

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


def auditbot(database_url: str, *arguments: str, log: Path) -> subprocess.Popen[bytes]:
    env = {**deployed_environment(database_url), "PYTHONPATH": str(ROOT)}
    env.update(AUDITBOT_OUTBOX_SENDER="false", AUDITBOT_SCHEDULER_ENABLED="false")
    command = [sys.executable, "-m", "bot.cli", *arguments]
    return subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def serve(database_url: str, port: int, log: Path, *flags: str) -> subprocess.Popen[bytes]:
    return auditbot(
        database_url, "serve", "--host", "127.0.0.1", "--port", str(port), *flags, log=log
    )


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def versions(url: str) -> list[str]:
    async def read() -> list[str]:
        engine = make_engine(url)
        try:
            async with engine.connect() as connection:
                found = await connection.execute(text("SELECT version_num FROM alembic_version"))
                return [row[0] for row in found]
        finally:
            await engine.dispose()

    return run_in_own_loop(read)


def test_four_instances_started_together_on_an_empty_database_migrate_it_once(
    empty_postgres: str, tmp_path: Path
):
    ports = [free_port() for _ in range(4)]
    logs = [tmp_path / f"serve-{n}.log" for n in range(4)]
    instances = [serve(empty_postgres, port, log) for port, log in zip(ports, logs, strict=True)]
    try:
        wait_for(
            lambda: all(healthy(port) for port in ports) or any(i.poll() for i in instances),
            "four healthy instances",
            seconds=120,
        )
        assert [i.poll() for i in instances] == [None] * 4, [log.read_text() for log in logs]
    finally:
        stop(instances)
    said = "\n".join(log.read_text() for log in logs)
    assert said.count(f"database migrated from empty to {head_revision()}") == 1, said
    assert said.count(f"database schema already at {head_revision()}") == 3, said
    assert "Traceback" not in said
    assert versions(empty_postgres) == [head_revision()]


def test_no_migrate_leaves_the_schema_to_the_migration_job(empty_postgres: str, tmp_path: Path):
    port = free_port()
    refused = serve(empty_postgres, port, tmp_path / "refused.log", "--no-migrate")
    assert refused.wait(timeout=120) == 2
    said = (tmp_path / "refused.log").read_text()
    assert f"this auditbot needs {head_revision()}; run `auditbot db upgrade` first" in said
    assert "Traceback" not in said

    job = auditbot(empty_postgres, "db", "upgrade", log=tmp_path / "job.log")
    assert job.wait(timeout=120) == 0, (tmp_path / "job.log").read_text()

    instance = serve(empty_postgres, port, tmp_path / "serve.log", "--no-migrate")
    try:
        wait_for(lambda: healthy(port) or instance.poll() is not None, "the instance")
        assert instance.poll() is None, (tmp_path / "serve.log").read_text()
    finally:
        stop([instance])
    assert "database migrated" not in (tmp_path / "serve.log").read_text()
