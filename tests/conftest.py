"""Shared fixtures: a Redis client per backend, isolated by a unique key prefix.

Every test asking for ``redis`` runs against fakeredis and the real Redis at ``REDIS_URL``; the
modules in ``ALSO_ON_CLUSTER`` run against a real Redis Cluster as well (``REDIS_CLUSTER_URL``,
else one the session starts from the ``redis-server`` binary), with the cluster key layout.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import fakeredis
import pytest
from redis.asyncio import Redis

from state.connection import is_cluster, redis_client
from state.keys import Keys
from tests.redis_processes import redis_cluster

REAL_REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CLUSTER = "redis-cluster"
ALSO_ON_CLUSTER = {
    "test_store",
    "test_store_history",
    "test_store_rare_paths",
    "test_followups",
    "test_inbox",
    "test_inbox_outages",
    "test_engine",
    "test_alert_outbox",
    "test_alerts",
    "test_reconciliation_rules",
    "test_leads_upload",
    "test_dnc_list",
}
"""Test modules (by name) that run against the cluster too: the store, inbox, engine, alerts,
reconciliation and lead uploads (their WATCH/MULTI transactions), the do-not-call list."""
REAL_REDIS_ONLY = {"test_followups", "test_recorded_writes"}
"""Test modules whose code runs Lua scripts, which fakeredis runs only with ``lupa``."""


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "redis" not in metafunc.fixturenames:
        return
    module = metafunc.module.__name__.rpartition(".")[2]
    backends: list[Any] = [pytest.param("redis", marks=pytest.mark.redis)]
    if module not in REAL_REDIS_ONLY:
        backends.insert(0, "fakeredis")
    if module in ALSO_ON_CLUSTER:
        backends.append(pytest.param(CLUSTER, marks=pytest.mark.redis))
    metafunc.parametrize("redis", backends, indirect=True)


@pytest.fixture(scope="session")
def redis_cluster_url() -> Iterator[str]:
    """``REDIS_CLUSTER_URL``, or a 3-primary cluster started for this session."""
    url = os.environ.get("REDIS_CLUSTER_URL")
    if url:
        yield url
        return
    with redis_cluster() as started:
        yield started


@pytest.fixture
async def redis(request: pytest.FixtureRequest) -> AsyncIterator[Redis]:
    """The same test against fakeredis, the real Redis at ``REDIS_URL`` and (for the modules in
    ``ALSO_ON_CLUSTER``) a Redis Cluster.

    The real ones are never skipped: a missing server fails the test, so CI cannot pass without it.
    """
    if request.param == "fakeredis":
        client: Redis = fakeredis.FakeAsyncRedis()
        yield client
        await client.aclose()
        return
    if request.param == CLUSTER:
        client = redis_client(request.getfixturevalue("redis_cluster_url"))
    else:
        client = Redis.from_url(REAL_REDIS_URL)
    await client.ping()
    yield client
    await client.aclose()


@pytest.fixture
async def keys(redis: Redis) -> AsyncIterator[Keys]:
    """A key prefix no other test uses; its keys are removed afterwards (on a cluster, from every
    primary, in the cluster layout: a prefix with a hash tag)."""
    unique = uuid.uuid4().hex[:10]
    keys = Keys(f"test:{{{unique}}}:" if is_cluster(redis) else f"test:{unique}:")
    yield keys
    for pattern in keys.patterns:
        async for key in redis.scan_iter(match=pattern, count=1000):
            await redis.delete(key)
