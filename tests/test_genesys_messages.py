"""Reading OCS campaign-group messages: the enum tables, the mapping, and what is refused."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fakeredis import FakeAsyncRedis

from dialer.base import WebhookReceiver, WebhookRejected
from dialer.genesys import GenesysDialer, GenesysSettings
from dialer.genesys.groups import Attachments
from dialer.genesys.vendor import (
    OCS,
    SOURCES,
    Action,
    Actor,
    DialMode,
    GroupState,
    OcsVocabulary,
    OptimizeBy,
    aggression_for,
    goal_for,
    records_for,
)
from dialer.models import Contact
from dialer.registry import AdapterContext
from state.domain import CampaignSettings, CampaignStatus, EndHandle, NotificationKind

REF = "c-20261123-7kq2"
GROUP = {"name": "Spring@Sales", "dbid": 101, "calling_list": "spring", "guid": "guid-101"}


def message(**attributes: Any) -> bytes:
    body = {
        "GSW_TENANT_NAME": "Environment",
        "GSW_CAMPAIGN_GROUP_NAME": "Spring@Sales",
        "GSW_CAMPAIGN_GROUP_GUID": "guid-101",
        "GSW_CAMPAIGN_GROUP_STATE": 5,
        "GSW_CAMPAIGN_GROUP_ACTION": 9,
        "GSW_CAMPAIGN_GROUP_ACTOR": 1,
        "GSW_DATE_TIME": "1795424400.125",
    }
    body.update(attributes)
    return json.dumps({k: v for k, v in body.items() if v is not None}).encode()


@pytest.fixture
async def redis() -> AsyncIterator[FakeAsyncRedis]:
    redis = FakeAsyncRedis()
    yield redis
    await redis.aclose()


async def _dialer(redis: FakeAsyncRedis, **overrides: Any) -> GenesysDialer:
    settings = GenesysSettings.model_validate(
        {"ocs_url": "http://127.0.0.1:9", "campaign_groups": [GROUP], **overrides}
    )
    return GenesysDialer(settings, AdapterContext(redis=redis, key_prefix="t:"))


@pytest.fixture
async def dialer(redis: FakeAsyncRedis) -> AsyncIterator[GenesysDialer]:
    dialer = await _dialer(redis)
    await Attachments(redis, "t:").attach(REF, 101, CampaignSettings(aggression=40))
    yield dialer
    await dialer.aclose()


def test_the_enum_tables_carry_the_documented_numbers() -> None:
    assert {s.name: s.value for s in GroupState} == {
        "UNKNOWN": -1,
        "NOT_LOADED": 0,
        "WAITING_UNLOAD": 1,
        "UNLOAD_IN_PROGRESS": 2,
        "INACTIVE": 3,
        "ACTIVE": 4,
        "RUNNING": 5,
    }
    assert [a.value for a in Action] == [7, 8, 9, 10, 11]
    assert [a.value for a in Actor] == [0, 1, 2, 3, 4, 5]
    assert [m.value for m in DialMode] == list(range(1, 12))
    assert DialMode.POWER_GVP.value == 11 and DialMode.PUSH_PREVIEW.value == 8
    assert [m.value for m in OptimizeBy] == [1, 2, 3]
    assert set(OCS.statuses) == set(GroupState) and set(OCS.actors) == set(Actor)


@pytest.mark.parametrize(
    ("state", "status"),
    [
        (0, CampaignStatus.STOPPED),
        (1, CampaignStatus.STOPPING),
        (2, CampaignStatus.STOPPING),
        (3, CampaignStatus.STOPPED),
        (4, CampaignStatus.RUNNING),
        (5, CampaignStatus.RUNNING),
    ],
)
async def test_each_group_state_maps_to_a_bot_status(
    dialer: GenesysDialer, state: int, status: CampaignStatus
) -> None:
    [notice] = await dialer.receive_webhook({}, message(GSW_CAMPAIGN_GROUP_STATE=state))
    assert notice.kind is NotificationKind.STATUS and notice.status is status
    assert notice.campaign_ref == REF and notice.dialer_campaign_id == "101"


@pytest.mark.parametrize(
    ("actor", "text"),
    [(3, "OCS itself"), (4, "its schedule"), (5, "its sequence"), (1, "an OCS client")],
)
async def test_the_actor_says_who_stopped_it(redis: FakeAsyncRedis, actor: int, text: str) -> None:
    dialer = await _dialer(redis)  # a campaign that did not ask OCS to complete it
    settings = CampaignSettings(aggression=40, end_handle=EndHandle.CONTINUE)
    await Attachments(redis, "t:").attach(REF, 101, settings)
    body = message(
        GSW_CAMPAIGN_GROUP_STATE=3, GSW_CAMPAIGN_GROUP_ACTION=10, GSW_CAMPAIGN_GROUP_ACTOR=actor
    )
    [notice] = await dialer.receive_webhook({}, body)
    await dialer.aclose()
    assert notice.status is CampaignStatus.STOPPED and notice.actor == text
    assert notice.raw["GSW_CAMPAIGN_GROUP_ACTION"] == 10  # the cause stays with the event


async def test_the_time_of_the_message_orders_it(dialer: GenesysDialer) -> None:
    [early] = await dialer.receive_webhook({}, message(GSW_DATE_TIME="1795424400.125"))
    [late] = await dialer.receive_webhook({}, message(GSW_DATE_TIME="1795424401.5"))
    assert early.sequence == 1795424400125000 and late.sequence > early.sequence
    assert early.occurred_at.year == 2026 and early.event_id != late.event_id


async def test_the_group_is_found_by_name_when_no_guid_matches(dialer: GenesysDialer) -> None:
    [notice] = await dialer.receive_webhook({}, message(GSW_CAMPAIGN_GROUP_GUID="other"))
    assert notice.campaign_ref == REF


async def test_not_loaded_after_the_bot_asked_to_remove_is_deleted_and_frees_the_group(
    dialer: GenesysDialer, redis: FakeAsyncRedis
) -> None:
    attachments = Attachments(redis, "t:")
    held = await attachments.of_group(101)
    assert held is not None
    await attachments.mark_removing(held)
    [notice] = await dialer.receive_webhook(
        {}, message(GSW_CAMPAIGN_GROUP_STATE=0, GSW_CAMPAIGN_GROUP_ACTION=8)
    )
    assert notice.status is CampaignStatus.DELETED
    assert await attachments.of_group(101) is None


async def test_activity_becomes_progress_without_a_status(dialer: GenesysDialer) -> None:
    body = message(
        GSW_CAMPAIGN_GROUP_ACTION=None,
        GSW_STAT_BUSY_FACTOR=0.825,
        GSW_STAT_HIT_RATIO=0.31,
        GSW_STAT_OVERDIAL_RATE=0.024,
        GSW_STAT_TIME_TO_COMPLETE=5400,
    )
    [notice] = await dialer.receive_webhook({}, body)
    assert notice.kind is NotificationKind.PROGRESS and notice.status is None
    assert notice.counters == {
        "busy_factor_pct": 82,
        "hit_ratio_pct": 31,
        "overdial_rate_pct": 2,
        "time_to_complete_s": 5400,
    }


async def test_a_hit_ratio_of_0_85_shows_as_85_percent(dialer: GenesysDialer) -> None:
    body = message(GSW_CAMPAIGN_GROUP_ACTION=None, GSW_STAT_HIT_RATIO=0.85)
    [notice] = await dialer.receive_webhook({}, body)
    assert notice.counters == {"hit_ratio_pct": 85}


async def test_the_time_to_complete_stays_in_seconds(dialer: GenesysDialer) -> None:
    body = message(GSW_CAMPAIGN_GROUP_ACTION=None, GSW_STAT_TIME_TO_COMPLETE=600)
    [notice] = await dialer.receive_webhook({}, body)
    assert notice.counters == {"time_to_complete_s": 600}  # ten minutes


async def test_null_statistics_are_left_out(dialer: GenesysDialer) -> None:
    body = message(
        GSW_CAMPAIGN_GROUP_ACTION=None,
        GSW_STAT_BUSY_FACTOR=0.5,
        GSW_STAT_HIT_RATIO=None,
        GSW_STAT_OVERDIAL_RATE=None,
        GSW_STAT_TIME_TO_COMPLETE=None,
    )
    body = body.replace(b"}", b', "GSW_STAT_HIT_RATIO": null}')
    [notice] = await dialer.receive_webhook({}, body)
    assert notice.counters == {"busy_factor_pct": 50}


async def test_a_periodic_message_with_every_statistic_null_announces_nothing(
    dialer: GenesysDialer,
) -> None:
    stats = dict.fromkeys(OCS.statistics)
    body = json.loads(message(GSW_CAMPAIGN_GROUP_ACTION=None)) | stats
    assert await dialer.receive_webhook({}, json.dumps(body).encode()) == []


async def test_the_old_statistics_names_are_not_read(dialer: GenesysDialer) -> None:
    body = message(GSW_BUSY_FACTOR=82.5, GSW_HIT_RATIO=31)
    notices = await dialer.receive_webhook({}, body)
    assert [n.kind for n in notices] == [NotificationKind.STATUS]
    assert notices[0].counters == {}


async def test_statistics_in_a_state_message_give_its_status_and_progress(
    dialer: GenesysDialer,
) -> None:
    body = message(GSW_STAT_BUSY_FACTOR=0.9, GSW_STAT_HIT_RATIO=None)
    status, progress = await dialer.receive_webhook({}, body)
    assert status.kind is NotificationKind.STATUS and status.status is CampaignStatus.RUNNING
    assert progress.kind is NotificationKind.PROGRESS
    assert progress.counters == {"busy_factor_pct": 90}
    assert status.event_id != progress.event_id


@pytest.mark.parametrize(
    ("state", "action"),
    [(3, 10), (0, 8)],  # InActive by StopDialing, NotLoaded by UnloadCampaign
)
async def test_ocs_completing_the_group_itself_is_completed(
    dialer: GenesysDialer, state: int, action: int
) -> None:
    body = message(
        GSW_CAMPAIGN_GROUP_STATE=state, GSW_CAMPAIGN_GROUP_ACTION=action, GSW_CAMPAIGN_GROUP_ACTOR=3
    )
    [notice] = await dialer.receive_webhook({}, body)
    assert notice.status is CampaignStatus.COMPLETED
    assert notice.actor == "OCS itself"


async def test_a_group_stopped_by_ocs_without_auto_completion_is_stopped(
    redis: FakeAsyncRedis,
) -> None:
    dialer = await _dialer(redis)
    settings = CampaignSettings(aggression=40, end_handle=EndHandle.CONTINUE)
    await Attachments(redis, "t:").attach(REF, 101, settings)
    body = message(
        GSW_CAMPAIGN_GROUP_STATE=3, GSW_CAMPAIGN_GROUP_ACTION=10, GSW_CAMPAIGN_GROUP_ACTOR=3
    )
    [notice] = await dialer.receive_webhook({}, body)
    assert notice.status is CampaignStatus.STOPPED
    with_flag = message(
        GSW_CAMPAIGN_GROUP_STATE=3,
        GSW_CAMPAIGN_GROUP_ACTION=10,
        GSW_CAMPAIGN_GROUP_ACTOR=3,
        GSW_AUTO_COMPLETION=1,
    )
    [notice] = await dialer.receive_webhook({}, with_flag)
    assert notice.status is CampaignStatus.COMPLETED
    await dialer.aclose()


async def test_a_stop_by_the_schedule_is_never_completed(dialer: GenesysDialer) -> None:
    body = message(
        GSW_CAMPAIGN_GROUP_STATE=3, GSW_CAMPAIGN_GROUP_ACTION=10, GSW_CAMPAIGN_GROUP_ACTOR=4
    )
    [notice] = await dialer.receive_webhook({}, body)
    assert notice.status is CampaignStatus.STOPPED


def test_every_entry_of_the_vendor_table_names_its_source_or_says_assumed() -> None:
    names = {f.name for f in dataclasses.fields(OcsVocabulary)}
    assert names == set(SOURCES)
    for name, source in SOURCES.items():
        cited = "docs.genesys.com" in source
        assert cited or source.startswith(("assumed", "ours")), name


async def test_a_new_optimisation_goal_becomes_a_settings_notification(
    dialer: GenesysDialer,
) -> None:
    body = message(GSW_CAMPAIGN_GROUP_ACTION=11, GSW_OPTIMIZE_BY=1, GSW_OPTIMIZE_GOAL=95)
    [notice] = await dialer.receive_webhook({}, body)
    assert notice.kind is NotificationKind.SETTINGS
    assert notice.settings == CampaignSettings(aggression=100)


@pytest.mark.parametrize(
    "body",
    [
        message(GSW_CAMPAIGN_GROUP_STATE=42),  # a state this table does not know
        message(GSW_CAMPAIGN_GROUP_STATE=-1),  # Unknown
        message(GSW_CAMPAIGN_GROUP_NAME="Other@Sales", GSW_CAMPAIGN_GROUP_GUID="x"),
    ],
)
async def test_a_well_formed_message_the_bot_cannot_use_gives_nothing(
    dialer: GenesysDialer, body: bytes
) -> None:
    assert await dialer.receive_webhook({}, body) == []


async def test_a_message_for_a_group_without_a_campaign_gives_nothing(
    redis: FakeAsyncRedis,
) -> None:
    dialer = await _dialer(redis)
    assert await dialer.receive_webhook({}, message()) == []
    await dialer.aclose()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        json.dumps({"GSW_CAMPAIGN_GROUP_STATE": 5}).encode(),  # names no group
        message(GSW_CAMPAIGN_GROUP_STATE="running"),
        message(GSW_CAMPAIGN_GROUP_STATE=None),
        message(GSW_DATE_TIME="yesterday"),
        message(GSW_CAMPAIGN_GROUP_ACTION=None, GSW_STAT_BUSY_FACTOR="high"),
        message(GSW_CAMPAIGN_GROUP_ACTION=None, GSW_STAT_HIT_RATIO=-0.1),
    ],
)
async def test_garbage_is_rejected(dialer: GenesysDialer, body: bytes) -> None:
    with pytest.raises(WebhookRejected) as rejected:
        await dialer.receive_webhook({}, body)
    assert rejected.value.status_code == 400


async def test_with_a_token_set_a_delivery_without_it_is_401(redis: FakeAsyncRedis) -> None:
    dialer = await _dialer(redis, webhook_token="ocs-secret")
    await Attachments(redis, "t:").attach(REF, 101, CampaignSettings())
    try:
        with pytest.raises(WebhookRejected) as rejected:
            await dialer.receive_webhook({"Authorization": "Basic b2NzOndyb25n"}, message())
        assert rejected.value.status_code == 401
        # ocs:ocs-secret, as OCS sends it from credentials in the configured URL
        basic = {"authorization": "Basic b2NzOm9jcy1zZWNyZXQ="}
        assert len(await dialer.receive_webhook(basic, message())) == 1
    finally:
        await dialer.aclose()


def test_the_adapter_receives_webhooks() -> None:
    assert issubclass(GenesysDialer, WebhookReceiver)


@pytest.mark.parametrize("method", list(OptimizeBy))
def test_aggression_spans_the_goal_range_both_ways(method: OptimizeBy) -> None:
    gentle, fierce = OCS.goal_range[method]
    assert goal_for(1, method) == gentle and goal_for(100, method) == fierce
    assert aggression_for(gentle, method) == 1 and aggression_for(fierce, method) == 100
    assert aggression_for(goal_for(50, method), method) in range(40, 61)


def test_a_contact_becomes_one_chained_record_per_number() -> None:
    contact = Contact(
        ref=f"{REF}-1", phone_numbers=("+14155550001", "+14155550002"), fields={"name": "Ana"}
    )
    assert records_for(contact) == [
        {
            "contact_info": "+14155550001",
            "chain_id": f"{REF}-1",
            "chain_n": 0,
            "bot_contact_ref": f"{REF}-1",
            "name": "Ana",
        },
        {
            "contact_info": "+14155550002",
            "chain_id": f"{REF}-1",
            "chain_n": 1,
            "bot_contact_ref": f"{REF}-1",
            "name": "Ana",
        },
    ]
