"""Notifications applied at the same time share one transaction (``CampaignStore`` coalesces
them), yet each gets the outcome it would have had alone, in the order they were made."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from redis.asyncio import Redis

from state.domain import CampaignStatus
from state.keys import Keys
from state.machine import Outcome
from state.store import CampaignStore
from tests.state_builders import campaign, notification


@pytest.fixture
def store(redis: Redis, keys: Keys) -> CampaignStore:
    return CampaignStore(redis, keys)


async def stored(store: CampaignStore) -> str:
    ref = await store.issue_ref()
    await store.create(campaign(ref, dialer_id=f"sim-{ref}"))
    return ref


async def test_notifications_applied_together_each_get_their_own_outcome(
    store: CampaignStore,
) -> None:
    first, second = await stored(store), await stored(store)
    running = notification(first, status=CampaignStatus.RUNNING, sequence=1, event_id="e1")
    deliveries = [
        running,
        running,  # delivered twice in the same batch
        notification(first, status=CampaignStatus.STOPPING, sequence=2, event_id="e2"),
        notification(first, status=CampaignStatus.STOPPED, sequence=1, event_id="e-late"),
        notification("c-20261123-none", status=CampaignStatus.RUNNING, event_id="e3"),
        notification(second, status=CampaignStatus.RUNNING, sequence=5, event_id="e4"),
    ]

    results = await asyncio.gather(*(store.apply_notification(e) for e in deliveries))

    assert [r.outcome for r in results] == [
        Outcome.APPLIED,
        Outcome.DUPLICATE,
        Outcome.APPLIED,
        Outcome.STALE,
        Outcome.IGNORED,
        Outcome.APPLIED,
    ]
    assert (await store.require(first)).status is CampaignStatus.STOPPING
    assert (await store.require(second)).status_sequence == 5
    assert await store.running_campaigns_of("agent-7") == {second}
    audited = [e["action"] for e in await store.audit_entries() if e["action"] != "created"]
    assert sorted(audited) == sorted(f"notification:{r.outcome}" for r in results)


async def test_a_campaign_changed_under_a_batch_still_gets_each_notification_once(
    store: CampaignStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = [await stored(store) for _ in range(3)]
    pipeline = store.redis.pipeline
    interfered: list[str] = []

    def interfering_pipeline(*args: Any, **kwargs: Any) -> Any:
        pipe = pipeline(*args, **kwargs)
        execute = pipe.execute

        async def execute_after_another_write(*a: Any, **k: Any) -> Any:
            if pipe.watching and not interfered:
                key = store.keys.campaign(refs[1])
                interfered.append(key)
                await store.redis.set(key, await store.redis.get(key) or b"")  # another replica
            return await execute(*a, **k)

        pipe.execute = execute_after_another_write  # type: ignore[method-assign]
        return pipe

    monkeypatch.setattr(store.redis, "pipeline", interfering_pipeline)
    events = [notification(ref, status=CampaignStatus.RUNNING) for ref in refs]

    results = await asyncio.gather(*(store.apply_notification(e) for e in events))

    assert interfered
    assert [r.outcome for r in results] == [Outcome.APPLIED] * 3
    applied = [e for e in await store.audit_entries() if e["action"] == "notification:applied"]
    assert sorted(e["ref"] for e in applied) == sorted(refs)


async def test_an_unreadable_campaign_fails_its_own_notification_not_its_batch(
    store: CampaignStore,
) -> None:
    good, bad = await stored(store), await stored(store)
    await store.redis.set(store.keys.campaign(bad), "{not json")
    events = [notification(ref, status=CampaignStatus.RUNNING) for ref in (good, bad)]

    results = await asyncio.gather(
        *(store.apply_notification(e) for e in events), return_exceptions=True
    )

    assert not isinstance(results[0], BaseException)
    assert results[0].outcome is Outcome.APPLIED
    assert isinstance(results[1], ValueError)
