"""Three `auditbot serve` instances behind HAProxy on one durable PostgreSQL, as a council
would run them: a cycle's notices fan out while auditors press through the wizard through the
balancer, and the instance sending the outbox is killed and started again part way
(tests/cluster.py runs it; tests/bot/test_cluster.py asserts on the same run). Teams is the
Bot Connector stand-in with Teams' limits (50 requests a second for the app). Run:

    python bench/cluster.py

Prints a table, then `BENCH cluster_lost <n>`, `BENCH cluster_duplicates <n>` (what the
killed sender had in flight may go twice: Teams takes no idempotency key) and
`BENCH cluster_peak_rps_vs_limit <ratio>` (the most sends Teams accepted in any one second,
over its limit). Needs HAProxy (Debian's package).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from support import durability, postgres_server, scratch_postgres  # noqa: E402

from storage.db import async_upgrade, make_engine  # noqa: E402
from tests.cluster import CONCURRENCY, HAPROXY, Cluster, Outcome, run_cluster  # noqa: E402
from tests.standins.connector import ConnectorStandIn  # noqa: E402
from tests.standins.identity import IdentityStandIn  # noqa: E402

AUDITORS, CASES, STEPS = 40, 300, 8


async def measure(server: str, identity: IdentityStandIn) -> tuple[Outcome, str]:
    async with scratch_postgres(server) as url:
        engine = make_engine(url)
        try:
            await async_upgrade(engine)
            how = await durability(engine)
        finally:
            await engine.dispose()
        with tempfile.TemporaryDirectory() as folder:
            async with ConnectorStandIn.with_teams_limits(tokens=identity.issued) as connector:
                cluster = Cluster(url, identity, connector, Path(folder))
                try:
                    outcome = await run_cluster(
                        cluster, auditors=AUDITORS, cases=CASES, steps=STEPS
                    )
                finally:
                    cluster.stop()
    return outcome, how


def main() -> None:
    if HAPROXY is None:
        sys.exit("bench/cluster.py needs HAProxy (apt-get install haproxy)")
    server = postgres_server()
    if server is None:
        sys.exit("bench/cluster.py needs PostgreSQL (unset AUDITBOT_BENCH_SQLITE_ONLY)")
    with IdentityStandIn() as identity:
        outcome, how = asyncio.run(measure(server, identity))
    presses = outcome.presses
    before, after = outcome.presses_around_the_kill
    print(
        f"3 instances behind HAProxy on PostgreSQL ({how}), {os.cpu_count()} cores: a cycle of "
        f"{CASES} cases while {AUDITORS} auditors press through the wizard; "
        f"{outcome.killed} (the sender) killed with {outcome.sent_before_kill} messages out"
    )
    rows = [
        ("notices queued by the cycle", outcome.notices),
        ("lost", outcome.lost),
        (f"sent twice (at most {CONCURRENCY}, the killed sender's in flight)", outcome.duplicates),
        ("Teams' answers 429: the tenant's limit", outcome.throttled_by_tenant_limit),
        (
            "Teams' answers 429: a chat's limit (after the handover)",
            outcome.throttled - outcome.throttled_by_tenant_limit,
        ),
        ("most requests reaching Teams in any one second", outcome.peak_per_second),
        ("Teams' limit a second", outcome.limit_per_second),
        ("wizard presses answered before / after the kill", f"{before} / {after}"),
        ("presses pressed again after a failure", presses.retried),
        ("wizard steps saved twice", outcome.saved_twice),
        ("seconds, council built to all delivered", f"{outcome.seconds:.1f}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    print(f"BENCH cluster_lost {outcome.lost}")
    print(f"BENCH cluster_duplicates {outcome.duplicates}")
    print(f"BENCH cluster_peak_rps_vs_limit {outcome.peak_vs_limit:.2f}")


if __name__ == "__main__":
    main()
