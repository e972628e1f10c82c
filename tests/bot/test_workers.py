"""`auditbot serve --workers N`, run as an operator runs it: on PostgreSQL, N processes
answer on one port, one killed is replaced, SIGTERM stops them all; on SQLite, one process,
and the log says why."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import POSTGRES_ONLY, SQLITE_ONLY, Database
from tests.harness import deployed_environment

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(database_url: str, workers: int, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**deployed_environment(database_url), "PYTHONPATH": str(ROOT)}
    env.update(AUDITBOT_OUTBOX_SENDER="false", AUDITBOT_SCHEDULER_ENABLED="false")
    command = [sys.executable, "-m", "bot.cli", "serve", "--workers", str(workers)]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


def wait_for(check, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def workers_of(parent: int) -> set[int]:
    """The parent's worker processes (not multiprocessing's resource tracker)."""
    found = set()
    for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
        command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ")
        if b"spawn_main" in command:
            found.add(int(child))
    return found


def listening(pid: int, port: int) -> bool:
    """Whether the process holds a socket listening on the port."""
    inodes = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # LISTEN
            inodes.add(fields[9])
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


@POSTGRES_ONLY
def test_several_workers_share_the_port_and_a_dead_one_is_replaced(db: Database, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    service = start(db.url, 2, port, log)
    try:
        wait_for(lambda: healthy(port) and len(workers_of(service.pid)) == 2, "two workers")
        wait_for(lambda: all(listening(w, port) for w in workers_of(service.pid)), "listening")
        first = workers_of(service.pid)
        assert all(healthy(port) for _ in range(20))

        os.kill(min(first), signal.SIGKILL)
        wait_for(
            lambda: len(workers_of(service.pid)) == 2 and workers_of(service.pid) != first,
            "the killed worker to be replaced",
        )
        replaced = workers_of(service.pid)
        wait_for(lambda: all(listening(w, port) for w in replaced), "the new worker listening")
        assert max(first) in replaced
        assert all(healthy(port) for _ in range(20))

        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=60) == 0
    finally:
        if service.poll() is None:
            service.kill()
    text = log.read_text()
    assert "worker 1 of 2 starting" in text and "worker 2 of 2 starting" in text
    # Both first workers answered: the kernel spreads connections (each one a new source
    # port) over the processes; all twenty going to one of two would be a 1 in 500,000 event.
    answered = {int(line.split()[3]) for line in text.splitlines() if "GET /healthz" in line}
    assert first <= answered
    assert "stopped (exit code -9)" in text
    assert not healthy(port)


@SQLITE_ONLY
def test_sqlite_serves_with_one_process_and_says_why(db: Database, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    service = start(db.url, 3, port, log)
    try:
        wait_for(lambda: healthy(port), "the service")
        assert workers_of(service.pid) == set()
        assert listening(service.pid, port)
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=60) == 0
    finally:
        if service.poll() is None:
            service.kill()
    assert "serving with 1 worker, not 3: SQLite lets one process write at a time" in (
        log.read_text()
    )


def test_workers_must_be_a_positive_number(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--workers", "0"],
        env={**deployed_environment(f"sqlite:///{tmp_path}/a.sqlite3"), "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--workers: must be 1 or more" in result.stderr
