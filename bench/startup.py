"""How long `auditbot serve` takes from the command to a healthy /healthz.

Starts the service as an operator would (`python -m bot.cli serve`, deployed settings:
authentication on, the outbox sender and scheduler running) on an already migrated
database, SQLite and PostgreSQL, five times each, and times the first 200 from
/healthz. Also prints how long importing the service takes, and what the machine's
load was (start-up is mostly CPU: on a busy machine it is slower). Run:

    python bench/startup.py

Prints a table, then `BENCH startup_to_healthz_s <seconds>` (the median, worse
database) and `BENCH startup_import_s <seconds>`.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

from support import postgres_server, scratch_postgres  # noqa: E402

from storage.db import upgrade  # noqa: E402

RUNS = 5
DEPLOYED = {
    "AUDITBOT_APP_ID": "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9",
    "AUDITBOT_APP_TYPE": "UserAssignedMSI",
    "AUDITBOT_TENANT_ID": "4d1f7e2a-6c3b-4f0e-9a51-2b8c7d6e5f40",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False


def start_once(database_url: str) -> float:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AUDITBOT_")}
    environment.update(DEPLOYED, AUDITBOT_DATABASE_URL=database_url, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1"]
    started = time.perf_counter()
    service = subprocess.Popen(
        [*command, "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not healthy(port):
            if service.poll() is not None:
                raise RuntimeError(f"auditbot serve exited with {service.returncode}")
            if time.perf_counter() - started > 120:
                raise RuntimeError("no healthy /healthz after 120 s")
            time.sleep(0.02)
        return time.perf_counter() - started
    finally:
        service.terminate()
        service.wait(30)


def import_seconds() -> float:
    code = (
        "import time; t = time.perf_counter(); import bot.service; print(time.perf_counter() - t)"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(found.stdout)


async def postgres_runs(server: str) -> list[float]:
    async with scratch_postgres(server) as url:
        await asyncio.to_thread(upgrade, url)
        return [await asyncio.to_thread(start_once, url) for _ in range(RUNS)]


def main() -> None:
    load = os.getloadavg()[0]
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/auditbot.sqlite3"
        upgrade(url)
        results["sqlite"] = [start_once(url) for _ in range(RUNS)]
    server = postgres_server()
    if server:
        results["postgres"] = asyncio.run(postgres_runs(server))
    imports = statistics.median(import_seconds() for _ in range(RUNS))

    print(f"auditbot serve to a healthy /healthz ({RUNS} starts each; load average {load:.2f})")
    print(f"{'database':<10} {'median s':>9} {'min s':>7} {'max s':>7}")
    for name, times in results.items():
        print(f"{name:<10} {statistics.median(times):>9.2f} {min(times):>7.2f} {max(times):>7.2f}")
    print(f"importing bot.service: {imports:.2f} s (median of {RUNS})")
    worst = max(statistics.median(times) for times in results.values())
    print(f"BENCH startup_to_healthz_s {worst:.2f}")
    print(f"BENCH startup_import_s {imports:.2f}")


if __name__ == "__main__":
    main()
