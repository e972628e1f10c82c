"""Three `auditbot serve` instances behind a real load balancer (HAProxy) on one PostgreSQL:
a cycle's notices fan out while auditors press through the wizard through the balancer, and
the instance sending the outbox is killed and started again part way (tests/cluster.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cluster import CONCURRENCY, HAPROXY, Cluster, run_cluster
from tests.conftest import POSTGRES_ONLY, Database
from tests.standins.connector import ConnectorStandIn
from tests.standins.identity import IdentityStandIn

# In CI (CI=true) a missing HAProxy fails the test rather than skipping it.
pytestmark = pytest.mark.skipif(
    HAPROXY is None and os.environ.get("CI") != "true",
    reason="HAProxy is not installed (.ci/run installs it)",
)


@POSTGRES_ONLY
async def test_three_instances_behind_a_balancer_lose_nothing_when_the_sender_is_killed(
    db: Database, identity: IdentityStandIn, tmp_path: Path
):
    async with ConnectorStandIn.with_teams_limits(tokens=identity.issued) as connector:
        cluster = Cluster(db.url, identity, connector, tmp_path)
        try:
            outcome = await run_cluster(cluster)
        finally:
            cluster.stop()
        said = cluster.logs()

    assert outcome.notices > 100
    assert outcome.lost == 0
    # Teams' connector takes no idempotency key: what the killed sender had in flight may go
    # again (bot/outbox.py), and nothing else.
    assert outcome.duplicates <= CONCURRENCY
    # The tenant's limit is never exceeded. A chat's holds across the handover (the new sender
    # counts the old one's recorded sends), except perhaps for what the killed sender had in
    # flight and never recorded; Teams' 429 is retried.
    assert outcome.throttled_by_tenant_limit == 0
    assert outcome.throttled <= CONCURRENCY
    assert outcome.peak_per_second <= outcome.limit_per_second
    assert outcome.presses.finished == 30
    before, after = outcome.presses_around_the_kill
    assert before > 0 and after > 0  # the kill landed in the wizard ...
    assert 0 < outcome.sent_before_kill < outcome.notices  # ... and in the fan-out
    assert outcome.saved_twice == 0
    assert "Traceback" not in said
    # One sender at a time: the first, then one taking over from the killed one.
    assert said.count("this instance sends the outbox") == 2
