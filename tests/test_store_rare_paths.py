"""The store's rarer paths: several live campaigns, none, dialer ids nobody has, a deleted
campaign's dialer-id index, a busy day's refs. On fakeredis and a real Redis."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis.asyncio import Redis

import state.store
from state.campaign import Campaign, Removal, RemovalStage
from state.connection import text
from state.domain import AgentAssignment, CampaignStatus
from state.effects import Effect, SendDelete, StatusAlert
from state.keys import DELETED_CAMPAIGN_TTL, Keys
from state.machine import Outcome
from state.refs import SUFFIX_LENGTH
from state.store import CampaignStore, UnknownCampaign
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
    assert calls == [SUFFIX_LENGTH + attempt // 10 for attempt in range(100)]


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


async def test_an_update_is_stored_and_audited_as_its_action(store: CampaignStore) -> None:
    ref = await stored(store)

    def rename(current: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        return current.model_copy(update={"detail": "renamed"}), ()

    updated, effects = await store.update(ref, rename, actor="U0ANA", action="edit")
    assert updated.detail == "renamed" and effects == ()
    assert (await store.require(ref)).detail == "renamed"
    entry = (await store.audit_entries(1))[0]
    assert (entry["action"], entry["ref"], entry["actor"]) == ("edit", ref, "U0ANA")


async def test_updating_an_unknown_campaign_says_so(store: CampaignStore) -> None:
    def anything(current: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        return current, ()

    with pytest.raises(UnknownCampaign):
        await store.update("c-20261123-nope", anything, actor="U0ANA", action="edit")


async def test_an_update_of_a_running_campaigns_agents_moves_the_agent_index(
    store: CampaignStore,
) -> None:
    ref = await stored(store)
    await store.apply_notification(notification(ref, status=CampaignStatus.RUNNING))
    assert await store.running_campaigns_of("agent-7") == {ref}

    def swap(current: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        return current.model_copy(update={"agents": (AgentAssignment(agent_id="agent-8"),)}), ()

    await store.update(ref, swap, actor="U0ANA", action="agents")
    assert await store.running_campaigns_of("agent-7") == set()
    assert await store.running_campaigns_of("agent-8") == {ref}


async def test_an_unmatched_notification_is_remembered_as_seen_and_audited_under_its_ref(
    store: CampaignStore, redis: Redis, keys: Keys
) -> None:
    named = notification("c-20261123-gone", status=CampaignStatus.RUNNING)
    await store.apply_notification(named)
    assert await redis.exists(keys.seen_event(named.dialer, named.event_id))
    assert (await store.audit_entries(1))[0]["ref"] == "c-20261123-gone"
    await store.apply_notification(by_dialer_id("sim-nobody"))  # type: ignore[arg-type]
    assert (await store.audit_entries(1))[0]["ref"] == ""


class Outbox:
    """Stands in for the alert outbox: counts what it is given to stage and told was recorded."""

    def __init__(self, staged: int) -> None:
        self.staged = staged
        self.given: list[tuple[Effect, ...]] = []
        self.told: list[tuple[Effect, ...]] = []

    def stage(self, pipe: object, effects: tuple[Effect, ...], campaign: Campaign) -> int:
        self.given.append(tuple(effects))
        return self.staged

    def recorded(self, effects: tuple[Effect, ...]) -> None:
        self.told.append(tuple(effects))


async def test_with_an_outbox_shown_effects_go_to_it_and_the_dialers_to_the_caller(
    store: CampaignStore,
) -> None:
    ref = await stored(store, status=CampaignStatus.RUNNING)
    deleting = Removal(
        requested_by="U0ANA", requested_at=T0, stage=RemovalStage.STOPPING, approved_by="U0BEN"
    )

    def approved(current: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        return current.model_copy(update={"removal": deleting, "stop_sent_at": T0}), ()

    await store.update(ref, approved, actor="U0BEN", action="approve")
    outbox = Outbox(staged=1)
    store.outbox = outbox  # type: ignore[assignment]
    result = await store.apply_notification(notification(ref, status=CampaignStatus.STOPPED))
    alert = StatusAlert(ref, CampaignStatus.RUNNING, CampaignStatus.STOPPED)
    assert outbox.given == [(alert, SendDelete(ref))]
    assert result.effects == (SendDelete(ref),)
    assert outbox.told == [(alert, SendDelete(ref))]


async def test_with_nothing_staged_the_outbox_is_not_told_anything_was_recorded(
    store: CampaignStore,
) -> None:
    ref = await stored(store)
    outbox = Outbox(staged=0)
    store.outbox = outbox  # type: ignore[assignment]
    result = await store.apply_notification(notification(ref, status=CampaignStatus.RUNNING))
    assert result.effects == ()
    assert outbox.told == []


async def test_without_an_outbox_the_caller_gets_every_effect(store: CampaignStore) -> None:
    ref = await stored(store)
    result = await store.apply_notification(notification(ref, status=CampaignStatus.RUNNING))
    assert result.effects == (StatusAlert(ref, CampaignStatus.STOPPED, CampaignStatus.RUNNING),)


async def test_the_dialer_id_index_holds_only_ids_campaigns_have(
    store: CampaignStore, redis: Redis, keys: Keys
) -> None:
    ref = await stored(store, dialer_id="sim-a")

    def forget_id(current: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        return current.model_copy(update={"dialer_id": None}), ()

    await store.update(ref, forget_id, actor="campaign-bot", action="dialer-id")
    indexed = {text(k) async for k in redis.scan_iter(match=f"{keys.prefix}dialer-id:*")}
    assert indexed == {keys.dialer_id("simulator", "sim-a")}
