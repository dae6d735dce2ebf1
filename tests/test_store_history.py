"""Each campaign's own audit stream, as the store writes and pages it, and what an update's
audit entry says it changed."""

from __future__ import annotations

import json

import pytest
from redis.asyncio import Redis

from state.campaign import PendingKind, PendingOperation, Removal, RemovalStage
from state.domain import AgentAssignment, CampaignSettings, CampaignStatus, NotificationKind
from state.keys import Keys
from state.store import CampaignStore, change_details
from tests.state_builders import T0, campaign, notification


@pytest.fixture
def store(redis: Redis, keys: Keys) -> CampaignStore:
    return CampaignStore(redis, keys)


async def stored(store: CampaignStore) -> str:
    ref = await store.issue_ref()
    await store.create(campaign(ref))
    return ref


async def test_a_campaigns_history_is_its_own_newest_first_and_paged(
    store: CampaignStore,
) -> None:
    ref, other = await stored(store), await stored(store)
    for sequence in (1, 2, 3):
        await store.apply_notification(notification(ref, sequence=sequence))
    await store.apply_notification(notification(other, sequence=1))
    page = await store.campaign_audit(ref, count=2)
    assert [fields["action"] for _, fields in page] == ["notification:applied"] * 2
    assert all(fields["ref"] == ref for _, fields in page)
    rest = await store.campaign_audit(ref, count=10, before=page[-1][0])
    assert [fields["action"] for _, fields in rest] == ["notification:applied", "created"]
    every = await store.campaign_audit(ref)
    assert [entry_id for entry_id, _ in every] == [e for e, _ in page] + [e for e, _ in rest]


async def test_a_note_goes_to_the_campaigns_history(store: CampaignStore) -> None:
    ref = await stored(store)
    await store.note(ref, "leads:uploaded", "U0ANA", {"contacts": 12})
    (_, newest), *_ = await store.campaign_audit(ref)
    assert (newest["action"], newest["actor"]) == ("leads:uploaded", "U0ANA")
    assert json.loads(newest["data"]) == {"contacts": 12}


async def test_a_status_entry_says_what_the_status_was_before(store: CampaignStore) -> None:
    ref = await stored(store)
    await store.apply_notification(notification(ref, status=CampaignStatus.RUNNING))
    (_, newest), *_ = await store.campaign_audit(ref)
    data = json.loads(newest["data"])
    assert data["previous_status"] == "stopped"
    assert "previous_settings" not in data
    await store.apply_notification(notification(ref, kind=NotificationKind.SETTINGS, sequence=2))
    (_, newest), *_ = await store.campaign_audit(ref)
    assert json.loads(newest["data"])["previous_settings"]["aggression"] == 50


async def test_a_deleted_campaigns_history_expires_with_its_record(
    store: CampaignStore, redis: Redis, keys: Keys
) -> None:
    ref = await stored(store)
    assert await redis.ttl(keys.campaign_audit(ref)) == -1
    await store.apply_notification(notification(ref, status=CampaignStatus.DELETED))
    ttl = await redis.ttl(keys.campaign_audit(ref))
    assert store.audit_retention.total_seconds() - 60 < ttl <= store.audit_retention.total_seconds()


def test_nothing_changed_has_no_details() -> None:
    assert change_details(campaign(), campaign()) == {}


def test_changed_settings_are_recorded_before_and_after_only_where_they_differ() -> None:
    before = campaign(settings=CampaignSettings(aggression=40))
    after = campaign(settings=CampaignSettings(aggression=85))
    assert change_details(before, after) == {"settings": {"aggression": [40, 85]}}


def test_agents_added_and_removed_are_recorded_sorted() -> None:
    before = campaign(agents=(AgentAssignment(agent_id="a-2"), AgentAssignment(agent_id="a-9")))
    after = campaign(
        agents=(
            AgentAssignment(agent_id="a-9"),
            AgentAssignment(agent_id="a-5"),
            AgentAssignment(agent_id="a-1"),
        )
    )
    assert change_details(before, after) == {
        "agents_added": ["a-1", "a-5"],
        "agents_removed": ["a-2"],
    }


def test_a_new_request_is_recorded_with_its_kind_and_detail() -> None:
    pending = PendingOperation(
        kind=PendingKind.SETTINGS, requested_by="U0ANA", requested_at=T0, detail="aggression 85"
    )
    assert change_details(campaign(), campaign(pending=pending)) == {
        "pending": {"kind": "settings", "detail": "aggression 85"}
    }
    assert change_details(campaign(pending=pending), campaign(pending=pending)) == {}
    assert change_details(campaign(pending=pending), campaign()) == {}


def test_a_removal_records_its_requester_approver_and_stage() -> None:
    waiting = Removal(requested_by="U0ANA", requested_at=T0)
    approved = waiting.model_copy(update={"stage": RemovalStage.STOPPING, "approved_by": "U0BEN"})
    assert change_details(campaign(), campaign(removal=waiting))["removal"] == {
        "requested_by": "U0ANA",
        "approved_by": None,
        "stage": "awaiting_approval",
    }
    assert change_details(campaign(removal=waiting), campaign(removal=approved))["removal"] == {
        "requested_by": "U0ANA",
        "approved_by": "U0BEN",
        "stage": "stopping",
    }
    assert change_details(campaign(removal=waiting), campaign(removal=waiting)) == {}
    assert change_details(campaign(removal=waiting), campaign())["removal"] == {
        "requested_by": "U0ANA",
        "approved_by": None,
        "stage": None,
    }
