"""The store's rarer paths: several live campaigns, none, dialer ids nobody has, a deleted
campaign's dialer-id index, a busy day's refs. On fakeredis and a real Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.asyncio import Redis

import state.store
from dialer.models import CampaignStatus
from state.campaign import Campaign
from state.effects import Effect
from state.keys import DELETED_CAMPAIGN_TTL, Keys
from state.machine import Outcome
from state.refs import SUFFIX_LENGTH
from state.store import CampaignStore
from tests.state_builders import T0, campaign, notification


@pytest.fixture
def store(redis: Redis, keys: Keys) -> CampaignStore:
    return CampaignStore(redis, keys)


async def stored(store: CampaignStore, **fields: object) -> str:
    ref = await store.issue_ref()
    fields.setdefault("dialer_id", f"sim-{ref}")
    await store.create(campaign(ref, **fields))
    return ref


def by_dialer_id(dialer_id: str, **fields: object) -> object:
    return notification(status=CampaignStatus.RUNNING, **fields).model_copy(
        update={"campaign_ref": None, "dialer_campaign_id": dialer_id}
    )


async def test_an_empty_store_lists_no_campaigns(store: CampaignStore) -> None:
    assert await store.list_live() == []


async def test_every_live_campaign_is_listed_oldest_first(store: CampaignStore) -> None:
    refs = [await stored(store, created_at=T0 + timedelta(minutes=m)) for m in (5, 1, 3)]
    listed = await store.list_live()
    assert [c.ref for c in listed] == [refs[1], refs[2], refs[0]]
    assert all(isinstance(c, Campaign) for c in listed)


async def test_a_notification_for_a_dialer_id_no_campaign_has_is_ignored_and_audited(
    store: CampaignStore,
) -> None:
    ref = await stored(store)
    result = await store.apply_notification(by_dialer_id("sim-nobody"))
    assert result.outcome is Outcome.IGNORED and result.campaign is None
    assert (await store.audit_entries(1))[0]["action"] == "notification:ignored"
    assert (await store.require(ref)).status is CampaignStatus.STOPPED


async def test_a_ref_is_not_trusted_over_the_dialer_id_its_campaign_already_holds(
    store: CampaignStore,
) -> None:
    ref = await stored(store, dialer_id="sim-mine")
    event = notification(ref, status=CampaignStatus.RUNNING).model_copy(
        update={"dialer_campaign_id": "sim-someone-else"}
    )
    assert await store.resolve_ref(event) is None
    assert (await store.apply_notification(event)).outcome is Outcome.IGNORED
    assert (await store.require(ref)).status is CampaignStatus.STOPPED


async def test_a_campaign_with_no_dialer_id_yet_is_found_by_its_ref(store: CampaignStore) -> None:
    ref = await stored(store, dialer_id=None)
    event = notification(ref, status=CampaignStatus.RUNNING).model_copy(
        update={"dialer_campaign_id": "sim-new"}
    )
    assert await store.resolve_ref(event) == ref
    same_id = notification(ref, status=CampaignStatus.RUNNING).model_copy(
        update={"dialer_campaign_id": "sim-new"}
    )
    assert await store.resolve_ref(same_id) == ref


async def test_a_notification_naming_an_unknown_ref_and_a_dialer_id_goes_by_the_ref(
    store: CampaignStore,
) -> None:
    event = notification("c-20261123-zzzz", status=CampaignStatus.RUNNING).model_copy(
        update={"dialer_campaign_id": "sim-unknown"}
    )
    assert await store.resolve_ref(event) == "c-20261123-zzzz"
    assert (await store.apply_notification(event)).outcome is Outcome.IGNORED


async def test_a_dialer_id_recorded_later_finds_its_campaign(store: CampaignStore) -> None:
    ref = await stored(store, dialer_id=None)

    def record_id(current: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        return current.model_copy(update={"dialer_id": "sim-later"}), ()

    await store.update(ref, record_id, actor="campaign-bot", action="dialer-id")
    result = await store.apply_notification(by_dialer_id("sim-later"))
    assert result.outcome is Outcome.APPLIED
    assert (await store.require(ref)).status is CampaignStatus.RUNNING


async def test_a_deleted_campaigns_dialer_id_index_expires_with_its_record(
    store: CampaignStore, redis: Redis, keys: Keys
) -> None:
    ref = await stored(store, dialer_id="sim-doomed")
    index = keys.dialer_id("simulator", "sim-doomed")
    assert await redis.ttl(index) == -1  # kept while the campaign lives
    await store.apply_notification(notification(ref, status=CampaignStatus.DELETED))
    ttl = await redis.ttl(index)
    assert 0 < ttl <= DELETED_CAMPAIGN_TTL.total_seconds()
    assert ttl > DELETED_CAMPAIGN_TTL.total_seconds() - 60
    assert await redis.ttl(keys.campaign(ref)) > DELETED_CAMPAIGN_TTL.total_seconds() - 60


async def test_a_live_campaign_document_never_expires(
    store: CampaignStore, redis: Redis, keys: Keys
) -> None:
    ref = await stored(store)
    await store.apply_notification(notification(ref, status=CampaignStatus.RUNNING))
    assert await redis.ttl(keys.campaign(ref)) == -1


async def test_a_redelivered_notification_is_audited_as_a_duplicate(store: CampaignStore) -> None:
    ref = await stored(store)
    event = notification(ref, status=CampaignStatus.RUNNING)
    await store.apply_notification(event)
    again = await store.apply_notification(event)
    assert again.outcome is Outcome.DUPLICATE and again.campaign is None
    entry = (await store.audit_entries(1))[0]
    assert (entry["action"], entry["ref"], entry["actor"]) == (
        "notification:duplicate",
        ref,
        "simulator",
    )


async def test_a_busy_day_widens_the_ref_suffix_rather_than_give_up(
    store: CampaignStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    lengths: list[int] = []

    def always_taken_at_the_usual_length(now: object, length: int) -> str:
        lengths.append(length)
        return f"c-20261123-{'a' * length}"

    await store.redis.sadd(store.keys.issued_refs, f"c-20261123-{'a' * SUFFIX_LENGTH}")
    monkeypatch.setattr(state.store, "candidate_ref", always_taken_at_the_usual_length)
    assert await store.issue_ref() == f"c-20261123-{'a' * (SUFFIX_LENGTH + 1)}"
    assert lengths == [SUFFIX_LENGTH] * 10 + [SUFFIX_LENGTH + 1]


async def test_issuing_a_ref_gives_up_after_a_hundred_collisions(
    store: CampaignStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def always_the_same(now: object, length: int) -> str:
        calls.append(length)
        return "c-20261123-aaaa"

    await store.redis.sadd(store.keys.issued_refs, "c-20261123-aaaa")
    monkeypatch.setattr(state.store, "candidate_ref", always_the_same)
    with pytest.raises(RuntimeError, match="fresh campaign ref"):
        await store.issue_ref()
    assert len(calls) == 100
    assert calls[-1] == SUFFIX_LENGTH + 9


async def test_the_audit_returns_the_newest_entries_first_up_to_the_count(
    store: CampaignStore,
) -> None:
    ref = await stored(store)
    for sequence in (1, 2, 3):
        await store.apply_notification(notification(ref, sequence=sequence))
    newest = await store.audit_entries(2)
    assert len(newest) == 2
    assert all(e["action"] == "notification:applied" for e in newest)
    assert len(await store.audit_entries()) == 4
