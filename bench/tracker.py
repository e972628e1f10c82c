"""The workspace's tracker over 5,000 audits: its API's answer and its Excel download.

Each database (SQLite, and PostgreSQL when available) is built by the real migrations and
filled by the due-work bench's bulk inserts (`bench/due_tick.py`), then a Head of Service
who may see every audit asks for the tracker: the handler's work as the API does it (the
rows the reader may see, read and turned into the JSON document; no HTTP or token check,
which cost the same whatever the data), 25 times, and the whole tracker as an XLSX
workbook, 5 times. Prints a table and ends with `BENCH tracker_api_p95_ms_<db>` and
`BENCH tracker_xlsx_5000_s_<db>` (aims: under 200 ms, under 2 s).

Run:

    python bench/tracker.py [--audits 5000]

PostgreSQL is bench/support.py's durable one (a scratch database, dropped after);
AUDITBOT_BENCH_SQLITE_ONLY=1 skips it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from due_tick import NOW, fill  # noqa: E402
from support import postgres_server, scratch_postgres  # noqa: E402

from bot.service import settle_heap  # noqa: E402
from storage.db import async_upgrade, make_engine, session_factory  # noqa: E402
from storage.models import Staff  # noqa: E402
from workflow.calendar import WorkingCalendar  # noqa: E402
from workspace.routes import json_text  # noqa: E402
from workspace.sheets import as_xlsx  # noqa: E402
from workspace.tracker import Acknowledging, tracker_sheet  # noqa: E402

ACKNOWLEDGING = Acknowledging(WorkingCalendar())

RUNS = 25


async def measure(url: str, audits: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        await async_upgrade(engine)
        await fill(engine, audits, 0)
        sessions = session_factory(engine)
        async with sessions() as session:
            reader = await session.get(Staff, 1)  # the Head of Service: every audit
        assert reader is not None
        await settle_heap()  # as the service does once started

        async def api() -> int:
            async with sessions() as session:
                sheet = await tracker_sheet(session, reader, now=NOW, acknowledging=ACKNOWLEDGING)
                return len(json_text({"reader": reader.display_name, "sheets": [sheet.as_json()]}))

        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            size = await api()
            times.append((time.perf_counter() - started) * 1000)
        xlsx_times = []
        for _ in range(5):
            started = time.perf_counter()
            async with sessions() as session:
                sheet = await tracker_sheet(session, reader, now=NOW, acknowledging=ACKNOWLEDGING)
            book = as_xlsx(sheet)
            xlsx_times.append(time.perf_counter() - started)
        return {
            "rows": len(sheet.rows), "json_kb": size / 1024, "api_median": statistics.median(times),
            "api_p95": sorted(times)[int(0.95 * (len(times) - 1))],
            "xlsx_s": statistics.median(xlsx_times), "xlsx_kb": len(book) / 1024,
        }  # fmt: skip
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--audits", type=int, default=5_000)
    args = parser.parse_args()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as folder:
        results["sqlite"] = await measure(
            f"sqlite:///{Path(folder) / 'bench.sqlite3'}", args.audits
        )
    server = postgres_server()
    if server:
        async with scratch_postgres(server) as url:
            results["postgres"] = await measure(url, args.audits)
    print()
    print(f"Tracker for a reader who sees every audit (API handler: {RUNS} runs; XLSX: 5)")
    header = (
        f"{'database':<10} {'rows':>6} {'JSON kB':>8} {'API median ms':>14} {'API p95 ms':>11} "
        f"{'XLSX s':>7} {'XLSX kB':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, r in results.items():
        print(
            f"{name:<10} {r['rows']:>6,} {r['json_kb']:>8.0f} {r['api_median']:>14.1f} "
            f"{r['api_p95']:>11.1f} {r['xlsx_s']:>7.2f} {r['xlsx_kb']:>8.0f}"
        )
    print()
    for name, r in results.items():
        print(f"BENCH tracker_api_p95_ms_{name} {r['api_p95']:.1f}")
        print(f"BENCH tracker_xlsx_5000_s_{name} {r['xlsx_s']:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
