"""The cluster key layout's follow-ups (``state.followups``): a campaign transaction's
deployment-wide writes, applied after it exactly once, even when the applier dies on the way.

Run on the real Redis (with the cluster layout's prefix) and on the Redis Cluster.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot
from redis.exceptions import ConnectionError as RedisConnectionError

from state.domain import CampaignStatus
from state.keys import Keys
from state.machine import Outcome
from state.store import CampaignStore
from tests.state_builders import campaign, notification


@pytest.fixture
async def store(redis: Redis) -> AsyncIterator[CampaignStore]:
    keys = Keys(f"test:{{{uuid.uuid4().hex[:10]}}}:")
    yield CampaignStore(redis, keys)
    for pattern in keys.patterns:
        async for key in redis.scan_iter(match=pattern, count=1000):
            await redis.delete(key)


async def stored(store: CampaignStore) -> str:
    ref = await store.issue_ref()
    await store.create(campaign(ref, dialer_id=f"sim-{ref}"))
    return ref


async def actions(store: CampaignStore) -> list[str]:
    return [entry["action"] for entry in reversed(await store.audit_entries())]


def test_a_campaigns_keys_share_its_slot_and_the_deployments_keys_the_prefixs() -> None:
    keys = Keys("{cb}:")
    own = [
        keys.campaign("c-1"),
        keys.campaign_audit("c-1"),
        keys.campaign_seen_event("c-1", "voipbin", "e-1"),
        keys.followups("c-1"),
        keys.reconcile_drift("c-1", "running"),
        keys.removal_lock("c-1"),
    ]
    deployment = [
        keys.audit,
        keys.live_campaigns,
        keys.dialer_id("voipbin", "v-1"),
        keys.agent_running("a-1"),
        keys.alert_outbox("C1"),
        keys.alerts_pending,
        keys.followup_mark("c-1"),
        keys.followups_pending,
        keys.seen_event("voipbin", "e-1"),
    ]
    assert {key_slot(key.encode()) for key in own} == {key_slot(b"c-1")}
    assert {key_slot(key.encode()) for key in deployment} == {key_slot(b"cb")}


def test_an_untagged_prefix_keeps_the_single_redis_key_names() -> None:
    keys = Keys("cb:")
    assert not keys.cluster
    assert keys.campaign("c-1") == "cb:campaign:c-1"
    assert keys.campaign_audit("c-1") == "cb:audit:c-1"
    assert keys.campaign_seen_event("c-1", "voipbin", "e-1") == "cb:seen:voipbin:e-1"
    assert keys.reconcile_drift("c-1", "running") == "cb:reconcile:drift:c-1:running"


async def test_a_changed_campaign_updates_the_deployments_indexes_and_audit(
    store: CampaignStore,
) -> None:
    ref = await stored(store)
    event = notification(ref, status=CampaignStatus.RUNNING, sequence=1)
    assert (await store.apply_notification(event)).outcome is Outcome.APPLIED

    assert [c.ref for c in await store.list_live()] == [ref]
    assert await store.running_campaigns_of("agent-7") == {ref}
    assert await store.redis.get(store.keys.dialer_id("simulator", f"sim-{ref}")) == ref.encode()
    assert await actions(store) == ["created", "notification:applied"]
    assert await store.redis.xlen(store.keys.followups(ref)) == 0


async def test_follow_ups_a_crash_left_are_applied_first_by_the_campaigns_next_change(
    store: CampaignStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = await stored(store)

    async def died(*_: Any) -> None:
        """The process died between the transaction and its follow-up."""

    with monkeypatch.context() as crash:
        crash.setattr(store.followups, "settle", died)
        await store.note(ref, "leads:uploaded", "U0ANA", {"rows": 3})
    assert await actions(store) == ["created"]
    assert [h["action"] for _, h in await store.campaign_audit(ref)] == [
        "leads:uploaded",
        "created",
    ]

    await store.note(ref, "leads:uploaded-again", "U0ANA", {"rows": 4})

    assert await actions(store) == ["created", "leads:uploaded", "leads:uploaded-again"]
    assert await store.redis.xlen(store.keys.followups(ref)) == 0


async def test_the_sweeper_applies_follow_ups_no_later_change_came_for(
    store: CampaignStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = await stored(store)

    async def died(*_: Any) -> None:
        pass

    with monkeypatch.context() as crash:
        crash.setattr(store.followups, "settle", died)
        await store.apply_notification(notification(ref, status=CampaignStatus.RUNNING))
    assert await store.running_campaigns_of("agent-7") == set()
    assert store.followups is not None
    assert await store.followups.sweep(grace=timedelta(hours=1)) == 0  # not yet its turn

    assert await store.followups.sweep(grace=timedelta(0)) == 1

    assert await store.running_campaigns_of("agent-7") == {ref}
    assert await actions(store) == ["created", "notification:applied"]
    assert await store.redis.zcard(store.keys.followups_pending) == 0


async def test_a_follow_up_applied_but_not_deleted_is_not_applied_again(
    store: CampaignStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = await stored(store)

    async def lost_connection(*_: Any) -> int:
        raise RedisConnectionError("connection lost")

    with monkeypatch.context() as failing:
        failing.setattr(store.redis, "xdel", lost_connection)
        await store.note(ref, "leads:uploaded", "U0ANA", {"rows": 3})
    assert await store.redis.xlen(store.keys.followups(ref)) == 1
    assert store.followups is not None

    assert await store.followups.sweep(grace=timedelta(0)) == 1

    assert await actions(store) == ["created", "leads:uploaded"]
    assert await store.redis.xlen(store.keys.followups(ref)) == 0


async def test_an_event_that_matched_no_campaign_stays_a_duplicate_once_it_would_match(
    store: CampaignStore,
) -> None:
    event = notification("c-20261123-zzzz", status=CampaignStatus.RUNNING, event_id="e-early")
    assert (await store.apply_notification(event)).outcome is Outcome.IGNORED
    await store.redis.sadd(store.keys.issued_refs, "c-20261123-zzzz")
    await store.create(campaign("c-20261123-zzzz"))

    assert (await store.apply_notification(event)).outcome is Outcome.DUPLICATE
