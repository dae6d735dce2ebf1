"""A Sentinel failover under the bot's own client: a primary, two replicas and three sentinels from
the ``redis-server`` binary; the primary is killed, a sentinel promotes the replica, and
everything the bot was told was written (notifications published with ``REDIS_WAIT_REPLICAS=1``,
changes they led to, acknowledged) is on the new primary, which the same client now uses.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from state.connection import redis_client
from state.domain import CampaignStatus
from state.inbox import NotificationInbox, NotReplicated
from state.keys import Keys
from state.machine import Outcome
from state.store import CampaignStore
from tests.conftest import REAL_REDIS_URL
from tests.redis_processes import SentinelDeployment, sentinel_deployment
from tests.state_builders import campaign, notification

pytestmark = pytest.mark.redis
FAILOVER_DEADLINE = 20.0
T = TypeVar("T")


async def promoted(deployment: SentinelDeployment) -> int:
    """The port of the primary the sentinels promoted once the old one died."""
    deadline = time.monotonic() + FAILOVER_DEADLINE
    while time.monotonic() < deadline:
        port = await asyncio.to_thread(deployment.primary_port)
        if port != deployment.primary.port:
            return port
        await asyncio.sleep(0.2)
    raise AssertionError("the sentinels promoted no replica")


async def once_redis_answers(attempt: Callable[[], Awaitable[T]]) -> T:
    """``attempt`` retried as the bot's loops do while the failover is under way."""
    deadline = time.monotonic() + FAILOVER_DEADLINE
    while True:
        try:
            return await attempt()
        except RedisError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def test_a_failover_loses_nothing_acknowledged_and_the_client_follows_the_new_primary() -> (
    None
):
    with sentinel_deployment() as deployment:
        redis = redis_client(deployment.url)
        keys = Keys("failover:")
        store = CampaignStore(redis, keys)
        inbox = NotificationInbox(
            redis, keys, claim_idle=timedelta(milliseconds=100), wait_replicas=1
        )
        try:
            await inbox.ensure_group()
            ref = await store.issue_ref()
            await store.create(campaign(ref))
            published = [
                notification(ref, status=CampaignStatus.RUNNING, sequence=n, event_id=f"e{n}")
                for n in range(1, 41)
            ]
            for event in published[:20]:
                await inbox.publish(event)
            assert await inbox.process("before", store.apply_notification) == 20
            for event in published[20:]:
                await inbox.publish(event)  # acknowledged: on the replica too

            deployment.primary.kill()
            new_primary = await promoted(deployment)

            assert new_primary in {replica.port for replica in deployment.replicas}
            assert await once_redis_answers(lambda: redis.xlen(keys.notifications)) == 40
            handled = await once_redis_answers(
                lambda: inbox.process("after", store.apply_notification)
            )
            assert handled == 20
            assert (await store.require(ref)).status_sequence == 40
            late = notification(ref, status=CampaignStatus.STOPPED, sequence=41, event_id="e41")
            await once_redis_answers(lambda: inbox.publish(late))
            applied = await store.apply_notification(late)
            assert applied.outcome is Outcome.APPLIED
            info = await redis.info("server")
            assert info["tcp_port"] == new_primary
        finally:
            await redis.aclose()


async def test_a_notification_no_replica_holds_in_time_is_refused_as_not_replicated() -> None:
    redis = Redis.from_url(REAL_REDIS_URL)  # a primary without replicas
    keys = Keys(f"test:{uuid.uuid4().hex[:10]}:")
    try:
        inbox = NotificationInbox(redis, keys, wait_replicas=1)
        with pytest.raises(NotReplicated, match="reached 0 of 1 replicas"):
            await inbox.publish(notification("c-1", status=CampaignStatus.RUNNING))
    finally:
        await redis.delete(keys.notifications)
        await redis.aclose()


async def test_waiting_for_replicas_is_refused_on_a_cluster() -> None:
    cluster = redis_client("redis+cluster://127.0.0.1:7000")
    try:
        with pytest.raises(ValueError, match="on a Redis Cluster set it to 0"):
            NotificationInbox(cluster, Keys("{cb}:"), wait_replicas=1)
    finally:
        await cluster.aclose()
