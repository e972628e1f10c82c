"""The adapter makes msrest's per-turn retry policy cheap to build, without changing it."""

from __future__ import annotations

from msrest.universal_http.requests import ClientRetryPolicy

from bot.adapter import build_adapter
from bot.config import load_settings

# msrest's own rule: retry every status code below 999 except these.
SAFE = [code for code in range(500) if code != 408] + [501, 505]


def test_the_retry_policy_retries_exactly_what_msrest_would_after_the_adapter_is_built():
    build_adapter(load_settings(demo=True, database_url="sqlite:///:memory:"))

    policy = ClientRetryPolicy().policy

    assert list(policy.status_forcelist) == [code for code in range(999) if code not in SAFE]
    assert (policy.total, policy.connect, policy.read) == (3, 3, 3)
    assert 408 in policy.status_forcelist and 503 in policy.status_forcelist
    assert 404 not in policy.status_forcelist and 501 not in policy.status_forcelist


def test_building_the_adapter_twice_keeps_the_policy_as_it_was():
    settings = load_settings(demo=True, database_url="sqlite:///:memory:")
    build_adapter(settings)
    first = list(ClientRetryPolicy().policy.status_forcelist)

    build_adapter(settings)

    assert list(ClientRetryPolicy().policy.status_forcelist) == first
