"""Only one bot replica polls LiveVox: a lease on the bot's Redis, renewed while polling.

Two adapter instances share the real Redis (a prefix of the test's own) and the local LiveVox;
each logs in with its own session, so the stand-in can tell which replica polled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from dialer.livevox import LiveVoxDialer
from dialer.registry import AdapterContext
from state.domain import CampaignStatus
from state.keys import LivevoxKeys
from tests.contract.collector import NotificationCollector
from tests.contract.dialer_contract import contacts_for, new_campaign
from tests.standins.livevox import LiveVoxKnobs, LiveVoxStandin, adapter_settings, scratch_redis

pytestmark = pytest.mark.redis

LEASE = 0.3  # seconds; renewed every LEASE / 3 while polling


@dataclass
class Replica:
    dialer: LiveVoxDialer
    collector: NotificationCollector = field(default_factory=NotificationCollector)
    task: asyncio.Task[None] | None = None

    def begin(self) -> None:
        self.task = asyncio.create_task(self.dialer.run_notifications(self.collector.sink))

    async def end(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        await self.dialer.aclose()


@dataclass
class Cluster:
    standin: LiveVoxStandin
    context: AdapterContext
    replicas: list[Replica]

    def pollers(self) -> set[str | None]:
        return set(self.standin.searches_by_session())


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    standin = LiveVoxStandin(LiveVoxKnobs(append_window_seconds=0.5))
    async with standin.running() as url, scratch_redis() as (redis, prefix):
        context = AdapterContext(redis=redis, key_prefix=prefix)
        settings = adapter_settings(url, standin.knobs, poller_lock_seconds=LEASE)
        replicas = [Replica(LiveVoxDialer(settings, context)) for _ in range(2)]
        try:
            yield Cluster(standin, context, replicas)
        finally:
            for replica in replicas:
                await replica.end()


async def _campaign_playing(cluster: Cluster) -> str:
    spec = new_campaign()
    dialer = cluster.replicas[0].dialer
    await dialer.create_campaign(spec)
    await dialer.add_contacts(spec.ref, contacts_for(spec.ref, 50))
    await dialer.start(spec.ref)
    return spec.ref


async def test_two_replicas_poll_through_only_one_session(cluster: Cluster) -> None:
    for replica in cluster.replicas:
        replica.begin()
    await asyncio.sleep(LEASE * 4)  # several renewals
    assert len(cluster.pollers()) == 1


async def test_only_the_polling_replica_delivers_notifications(cluster: Cluster) -> None:
    ref = await _campaign_playing(cluster)
    for replica in cluster.replicas:
        replica.begin()
    for _ in range(100):
        delivered = [r for r in cluster.replicas if r.collector.received]
        if delivered:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(LEASE)
    delivered = [r for r in cluster.replicas if r.collector.received]
    assert len(delivered) == 1
    assert CampaignStatus.RUNNING in delivered[0].collector.statuses_of(ref)


async def test_the_other_replica_takes_over_when_the_poller_stops(cluster: Cluster) -> None:
    first, second = cluster.replicas
    first.begin()
    await asyncio.sleep(LEASE / 2)
    second.begin()
    await asyncio.sleep(LEASE)
    assert len(cluster.pollers()) == 1
    await first.end()
    await asyncio.sleep(LEASE * 2)
    assert len(cluster.pollers()) == 2


async def test_a_lapsed_lease_of_a_vanished_replica_is_taken_over(cluster: Cluster) -> None:
    redis = cluster.context.redis
    key = LivevoxKeys(cluster.context.key_prefix).poller_lock
    await redis.set(key, "a-replica-that-crashed", px=int(LEASE * 1000))
    replica = cluster.replicas[0]
    replica.begin()
    await asyncio.sleep(LEASE * 0.7)
    assert cluster.pollers() == set()  # it waits while the lease is someone else's
    await asyncio.sleep(LEASE * 1.5)
    assert len(cluster.pollers()) == 1
    assert await redis.get(key) != b"a-replica-that-crashed"


async def test_a_replica_taking_over_does_not_announce_old_changes_again(
    cluster: Cluster,
) -> None:
    first, second = cluster.replicas
    ref = await _campaign_playing(cluster)
    first.begin()
    await first.collector.wait_for_status(ref, CampaignStatus.RUNNING, timeout=3)
    await first.end()
    second.begin()
    await asyncio.sleep(LEASE * 2)
    assert second.collector.statuses_of(ref) == []
    await second.dialer.stop(ref)
    await second.collector.wait_for_status(ref, CampaignStatus.STOPPED, timeout=3)
