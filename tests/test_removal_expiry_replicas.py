"""Expiry of removal requests across replicas and restarts: whichever replica's sweeper comes
first expires a request once; the approval message is updated once and the card redrawn once,
even when both sweep at the same moment or the removal lock has lapsed."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest
from redis.asyncio import Redis

from bot.bootstrap import Services, build_services
from bot.engine import Engine
from bot.settings import Settings
from dialer.simulator import SimulatorDialer
from state.campaign import Campaign
from state.effects import Effect, RefreshCard
from state.removal import request_removal
from tests.state_builders import campaign as build_campaign

PREFIX = "expiry-test:"


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client: Redis = fakeredis.FakeAsyncRedis()
    yield client
    await client.aclose()


def replica(redis: Redis) -> Services:
    settings = Settings(redis_key_prefix=PREFIX, removal_approval_ttl_seconds=5)
    return build_services(settings, redis=redis, dialer=SimulatorDialer())


async def waiting_removal(services: Services, requested: datetime) -> str:
    store = services.store
    ref = await store.issue_ref()
    await store.create(build_campaign(ref, channel_id="C1"))

    def change(campaign: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        asked, effects = request_removal(campaign, "UANA", requested, timedelta(seconds=5))
        removal = asked.removal
        assert removal is not None
        posted = removal.model_copy(update={"approval_message_ts": "1.000100"})
        return asked.model_copy(update={"removal": posted}), effects

    await store.update(ref, change, actor="UANA", action="removal:request")
    return ref


async def test_two_replicas_expire_a_request_once(redis: Redis) -> None:
    shown: list[Effect] = []
    expired: list[str] = []

    async def alerts(effect: Effect, campaign: Campaign | None) -> None:
        shown.append(effect)

    async def on_expired(before: Campaign) -> None:
        expired.append(before.ref)

    engines = []
    for name in ("replica-a", "replica-b"):
        engine = Engine(replica(redis), alerts, consumer=name)
        engine.on_removal_expired = on_expired
        engines.append(engine)
    services = engines[0].services
    fresh = await waiting_removal(services, datetime.now(UTC))
    stale = await waiting_removal(services, datetime.now(UTC) - timedelta(seconds=6))
    await asyncio.gather(*(engine.sweep_removals() for engine in engines))
    assert expired == [stale]
    assert shown == [RefreshCard(stale)]
    # The lock lapses and both sweep again: the request is gone, nothing is shown twice.
    await redis.delete(f"{PREFIX}lock:removal:{stale}")
    await asyncio.gather(*(engine.sweep_removals() for engine in engines))
    assert expired == [stale] and shown == [RefreshCard(stale)]
    after = await services.store.get(stale)
    assert after is not None and after.removal is None
    still = await services.store.get(fresh)
    assert still is not None and still.removal is not None  # not yet due
    audit = [e["action"] for e in await services.store.audit_entries(100) if e["ref"] == stale]
    assert audit.count("removal:expired") == 1


async def test_a_restarted_replica_expires_what_the_old_one_left(redis: Redis) -> None:
    """The deadline is stored with the request: a new process (nothing in memory) expires it."""
    ref = await waiting_removal(replica(redis), datetime.now(UTC) - timedelta(seconds=6))
    expired: list[str] = []

    async def on_expired(before: Campaign) -> None:
        expired.append(before.ref)

    engine = Engine(replica(redis), consumer="after-restart")
    engine.on_removal_expired = on_expired
    await engine.sweep_removals()
    assert expired == [ref]
