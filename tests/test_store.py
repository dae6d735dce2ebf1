"""The Redis store, on fakeredis and on a real Redis (the ``redis`` fixture runs both)."""

from __future__ import annotations

import asyncio
import random

import pytest
from redis.asyncio import Redis

import state.store
from state.campaign import PendingKind, PendingOperation
from state.domain import CampaignStatus, NotificationKind
from state.effects import StatusAlert
from state.keys import DELETED_CAMPAIGN_TTL, Keys
from state.machine import Outcome
from state.store import CampaignStore, UnknownCampaign
from tests.state_builders import T0, campaign, notification


@pytest.fixture
def store(redis: Redis, keys: Keys) -> CampaignStore:
    return CampaignStore(redis, keys)


async def stored(store: CampaignStore, **fields: object) -> str:
    ref = await store.issue_ref()
    await store.create(campaign(ref, **fields))
    return ref


async def test_issued_refs_are_unique_and_readable(store: CampaignStore) -> None:
    refs = {await store.issue_ref() for _ in range(200)}
    assert len(refs) == 200
    assert all(ref.startswith("c-") and len(ref) <= 20 for ref in refs)


async def test_a_ref_is_never_issued_twice_even_after_deletion(
    store: CampaignStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = await stored(store)
    await store.apply_notification(notification(ref, status=CampaignStatus.DELETED))
    candidates = iter([ref, ref, "c-20261123-zzzz"])
    monkeypatch.setattr(state.store, "candidate_ref", lambda now, length: next(candidates))
    assert await store.issue_ref() == "c-20261123-zzzz"


async def test_only_issued_refs_can_be_stored_and_only_once(store: CampaignStore) -> None:
    with pytest.raises(ValueError, match="not issued"):
        await store.create(campaign("c-20261123-made"))
    ref = await stored(store)
    with pytest.raises(ValueError, match="already exists"):
        await store.create(campaign(ref))


async def test_a_successful_start_call_leaves_the_campaign_stopped_with_a_pending_start(
    store: CampaignStore,
) -> None:
    ref = await stored(store)
    pending = PendingOperation(kind=PendingKind.START, requested_by="U0ANA", requested_at=T0)
    after_request = await store.record_request(ref, pending)
    assert after_request.status is CampaignStatus.STOPPED
    assert after_request.pending == pending

    result = await store.apply_notification(notification(ref, status=CampaignStatus.RUNNING))
    assert result.outcome is Outcome.APPLIED
    current = await store.require(ref)
    assert current.status is CampaignStatus.RUNNING
    assert current.pending is None


async def test_update_refuses_to_change_the_status(store: CampaignStore) -> None:
    ref = await stored(store)
    with pytest.raises(ValueError, match="only dialer notifications"):
        await store.update(
            ref,
            lambda c: (c.model_copy(update={"status": CampaignStatus.RUNNING}), ()),
            actor="U0ANA",
            action="cheat",
        )
    assert (await store.require(ref)).status is CampaignStatus.STOPPED


async def test_the_same_notification_twice_is_one_transition_and_one_effect(
    store: CampaignStore,
) -> None:
    ref = await stored(store)
    event = notification(ref, status=CampaignStatus.RUNNING, event_id="dup-1")
    first = await store.apply_notification(event)
    second = await store.apply_notification(event)
    assert first.outcome is Outcome.APPLIED
    assert first.effects == (StatusAlert(ref, CampaignStatus.STOPPED, CampaignStatus.RUNNING),)
    assert second.outcome is Outcome.DUPLICATE and second.effects == ()


async def test_a_late_older_notification_never_overwrites_a_newer_status(
    store: CampaignStore,
) -> None:
    ref = await stored(store)
    await store.apply_notification(notification(ref, status=CampaignStatus.STOPPED, sequence=3))
    late = await store.apply_notification(
        notification(ref, status=CampaignStatus.RUNNING, sequence=2)
    )
    assert late.outcome is Outcome.STALE
    assert (await store.require(ref)).status is CampaignStatus.STOPPED


async def test_fifty_concurrent_appliers_apply_each_notification_exactly_once(
    store: CampaignStore,
) -> None:
    ref = await stored(store)
    statuses = [CampaignStatus.RUNNING, CampaignStatus.STOPPING, CampaignStatus.STOPPED]
    events = [
        notification(ref, status=statuses[n % 3], sequence=n, event_id=f"e{n}")
        for n in range(1, 51)
    ]
    deliveries = events + random.Random(5).sample(events, 20)  # with redeliveries
    random.Random(9).shuffle(deliveries)
    results = await asyncio.gather(*(store.apply_notification(e) for e in deliveries))

    outcomes = [r.outcome for r in results]
    assert outcomes.count(Outcome.DUPLICATE) == 20
    assert outcomes.count(Outcome.APPLIED) + outcomes.count(Outcome.STALE) == 50
    final = await store.require(ref)
    assert final.status_sequence == 50
    assert final.status is statuses[50 % 3]
    audited = await store.audit_entries(200)
    assert sum(1 for e in audited if e["action"].startswith("notification:")) == 70


async def test_a_notification_naming_only_the_dialer_id_finds_its_campaign(
    store: CampaignStore,
) -> None:
    ref = await stored(store, dialer_id="sim-xyz")
    event = notification(status=CampaignStatus.RUNNING).model_copy(
        update={"campaign_ref": None, "dialer_campaign_id": "sim-xyz"}
    )
    assert (await store.apply_notification(event)).outcome is Outcome.APPLIED
    assert (await store.require(ref)).status is CampaignStatus.RUNNING


async def test_a_notification_for_an_unknown_campaign_is_ignored_and_audited(
    store: CampaignStore,
) -> None:
    result = await store.apply_notification(
        notification("c-20261123-gone", status=CampaignStatus.RUNNING)
    )
    assert result.outcome is Outcome.IGNORED
    assert (await store.audit_entries(1))[0]["action"] == "notification:ignored"


async def test_a_deleted_campaign_leaves_the_live_list_but_keeps_its_record_for_a_while(
    store: CampaignStore, redis: Redis, keys: Keys
) -> None:
    ref = await stored(store)
    other = await stored(store)
    await store.apply_notification(notification(ref, status=CampaignStatus.DELETED))
    assert [c.ref for c in await store.list_live()] == [other]
    assert (await store.require(ref)).status is CampaignStatus.DELETED
    ttl = await redis.ttl(keys.campaign(ref))
    assert 0 < ttl <= DELETED_CAMPAIGN_TTL.total_seconds()
    assert await store.was_issued(ref)


async def test_the_agent_index_follows_running_campaigns(store: CampaignStore) -> None:
    first = await stored(store)
    second = await stored(store)
    await store.apply_notification(notification(first, status=CampaignStatus.RUNNING))
    await store.apply_notification(notification(second, status=CampaignStatus.RUNNING))
    assert await store.running_campaigns_of("agent-7") == {first, second}
    await store.apply_notification(notification(first, status=CampaignStatus.STOPPED, sequence=2))
    assert await store.running_campaigns_of("agent-7") == {second}
    await store.apply_notification(
        notification(second, kind=NotificationKind.AGENTS, sequence=3)  # agent-7 swapped out
    )
    assert await store.running_campaigns_of("agent-7") == set()
    assert await store.running_campaigns_of("agent-9") == {second}


async def test_every_request_and_notification_is_audited(store: CampaignStore) -> None:
    ref = await stored(store)
    pending = PendingOperation(kind=PendingKind.STOP, requested_by="U0BEN", requested_at=T0)
    await store.record_request(ref, pending)
    await store.apply_notification(notification(ref, status=CampaignStatus.STOPPED))
    actions = [e["action"] for e in reversed(await store.audit_entries())]
    assert actions == ["created", "request:stop", "notification:applied"]


async def test_the_audit_trail_is_capped(redis: Redis, keys: Keys) -> None:
    store = CampaignStore(redis, keys, audit_maxlen=10)
    ref = await stored(store)
    for n in range(1, 300):
        await store.apply_notification(notification(ref, sequence=n, counters={"dialled": n}))
    assert await redis.xlen(keys.audit) < 300


async def test_an_unknown_ref_is_reported_with_the_way_to_find_the_right_one(
    store: CampaignStore,
) -> None:
    with pytest.raises(UnknownCampaign, match="/campaign list"):
        await store.require("c-20261123-nope")
