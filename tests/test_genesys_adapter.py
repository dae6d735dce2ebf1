"""The Genesys adapter against the local OCS: control requests, campaign groups, webhooks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fakeredis import FakeAsyncRedis

from commands.views.campaign import facts
from dialer.errors import CampaignConflict, CampaignNotFound, DialerUnavailable
from dialer.genesys import GenesysDialer, GenesysSettings
from dialer.genesys.groups import Attachments
from dialer.registry import AdapterContext
from state.campaign import Campaign
from state.domain import (
    CampaignSettings,
    CampaignStatus,
    EndHandle,
    NotificationKind,
    NotificationSource,
)
from state.effects import RefreshCard
from state.machine import apply_notification
from tests.contract.collector import NotificationCollector
from tests.contract.dialer_contract import contacts_for, new_campaign
from tests.standins.genesys import (
    GenesysKnobs,
    OcsStandin,
    group_settings,
    standard_groups,
)
from tests.standins.server import serve_locally, webhook_receiver_app


@dataclass
class Rig:
    ocs: OcsStandin
    dialer: GenesysDialer
    collector: NotificationCollector
    ocs_url: str = ""


@pytest.fixture
def knobs() -> GenesysKnobs:
    return GenesysKnobs()


@pytest.fixture
async def rig(knobs: GenesysKnobs) -> AsyncIterator[Rig]:
    groups = standard_groups(2)
    ocs = OcsStandin(groups, knobs)
    redis = FakeAsyncRedis()
    collector = NotificationCollector()
    async with ocs.running() as ocs_url:
        settings = GenesysSettings(ocs_url=ocs_url, campaign_groups=group_settings(groups))
        dialer = GenesysDialer(settings, AdapterContext(redis=redis, key_prefix="t:"))
        async with serve_locally(
            webhook_receiver_app("genesys", dialer, collector.sink)
        ) as bot_url:
            ocs.notify_url = f"{bot_url}/dialer/genesys/events"
            try:
                yield Rig(ocs, dialer, collector, ocs_url)
            finally:
                await dialer.aclose()
                await redis.aclose()


async def _running(rig: Rig) -> str:
    spec = new_campaign()
    created = await rig.dialer.create_campaign(spec)
    await rig.dialer.start(spec.ref)
    await rig.collector.wait_for_status(created.dialer_id, CampaignStatus.RUNNING)
    return spec.ref


async def test_create_attaches_the_ref_to_a_free_group_and_loads_it(rig: Rig) -> None:
    spec = new_campaign()
    created = await rig.dialer.create_campaign(spec)
    assert created.dialer_id == "100" and created.name == "Outbound 0@Sales"
    loaded = await rig.collector.wait_for_status(spec.ref, CampaignStatus.STOPPED)
    assert loaded.raw["GSW_CAMPAIGN_GROUP_ACTION"] == 7
    assert rig.ocs.requests == ["100:load"]


async def test_a_campaign_named_after_a_group_takes_that_group(rig: Rig) -> None:
    created = await rig.dialer.create_campaign(new_campaign(name="outbound 1@sales"))
    assert created.dialer_id == "101"
    by_dbid = await rig.dialer.create_campaign(new_campaign(name="#100"))
    assert by_dbid.dialer_id == "100"


async def test_a_group_carries_one_campaign_at_a_time(rig: Rig) -> None:
    await rig.dialer.create_campaign(new_campaign(name="Outbound 1@Sales"))
    with pytest.raises(CampaignConflict, match="already carries a campaign"):
        await rig.dialer.create_campaign(new_campaign(name="Outbound 1@Sales"))
    await rig.dialer.create_campaign(new_campaign())
    with pytest.raises(CampaignConflict, match="All 2 OCS campaign groups"):
        await rig.dialer.create_campaign(new_campaign())


async def test_start_sends_the_dial_mode_and_the_goal_for_the_aggression(rig: Rig) -> None:
    spec = new_campaign(settings=CampaignSettings(aggression=100))
    await rig.dialer.create_campaign(spec)
    await rig.dialer.start(spec.ref)
    running = await rig.collector.wait_for_status(spec.ref, CampaignStatus.RUNNING)
    assert running.raw["GSW_DIAL_MODE"] == 1  # Predict
    assert running.raw["GSW_OPTIMIZE_BY"] == 1 and running.raw["GSW_OPTIMIZE_GOAL"] == 95


async def test_settings_changed_while_stopped_wait_for_the_next_start(rig: Rig) -> None:
    spec = new_campaign()
    await rig.dialer.create_campaign(spec)
    await rig.dialer.update_settings(spec.ref, CampaignSettings(aggression=1))
    assert "100:setdialingmode" not in rig.ocs.requests
    await rig.dialer.start(spec.ref)
    running = await rig.collector.wait_for_status(spec.ref, CampaignStatus.RUNNING)
    assert running.raw["GSW_OPTIMIZE_GOAL"] == 30


async def test_contacts_go_to_the_groups_calling_list(rig: Rig) -> None:
    spec = new_campaign(name="Outbound 1@Sales")
    await rig.dialer.create_campaign(spec)
    await rig.dialer.add_contacts(spec.ref, contacts_for(spec.ref, 3))
    assert [r["bot_contact_ref"] for r in rig.ocs.records["list-1"]] == [
        f"{spec.ref}-{n}" for n in (1, 2, 3)
    ]


async def test_a_stop_by_the_schedule_says_so(rig: Rig) -> None:
    ref = await _running(rig)
    rig.ocs.act(100, state=3, action=10, actor=4)
    stopped = await rig.collector.wait_for(
        lambda n: n.status is CampaignStatus.STOPPED and n.actor == "its schedule"
    )
    assert stopped.campaign_ref == ref


async def test_a_running_group_is_not_unloaded(rig: Rig) -> None:
    ref = await _running(rig)
    with pytest.raises(CampaignConflict, match="only once it has stopped"):
        await rig.dialer.delete(ref)
    assert "100:unload" not in rig.ocs.requests


async def test_delete_unloads_reports_deleted_and_frees_the_group(rig: Rig) -> None:
    spec = new_campaign(name="Outbound 0@Sales")
    await rig.dialer.create_campaign(spec)
    await rig.collector.wait_for_status(spec.ref, CampaignStatus.STOPPED)
    await rig.dialer.delete(spec.ref)
    await rig.collector.wait_for_status(spec.ref, CampaignStatus.DELETED)
    assert rig.collector.statuses_of(spec.ref)[-2:] == [
        CampaignStatus.STOPPING,
        CampaignStatus.DELETED,
    ]
    with pytest.raises(CampaignNotFound):
        await rig.dialer.get_campaign(spec.ref)
    again = await rig.dialer.create_campaign(new_campaign(name="Outbound 0@Sales"))
    assert again.dialer_id == "100"


async def test_a_group_whose_unload_message_was_lost_is_reused(rig: Rig) -> None:
    spec = new_campaign(name="Outbound 0@Sales")
    await rig.dialer.create_campaign(spec)
    await rig.collector.wait_for_status(spec.ref, CampaignStatus.STOPPED)
    rig.ocs.notify_url = "http://127.0.0.1:9/lost"  # OCS cannot reach the bot, never retries
    await rig.dialer.delete(spec.ref)
    await asyncio.sleep(0.2)
    again = await rig.dialer.create_campaign(new_campaign(name="Outbound 0@Sales"))
    assert again.dialer_id == "100"


@pytest.mark.parametrize("knobs", [GenesysKnobs(activity_interval=0.05)])
async def test_periodic_activity_becomes_progress(rig: Rig) -> None:
    ref = await _running(rig)
    progress = await rig.collector.wait_for(lambda n: n.kind is NotificationKind.PROGRESS)
    assert progress.campaign_ref == ref and progress.counters["busy_factor_pct"] == 82
    assert progress.counters["hit_ratio_pct"] == 31  # OCS sent 0.31
    assert progress.status is None


@pytest.mark.parametrize("knobs", [GenesysKnobs(activity_interval=0.05)])
async def test_ocs_statistics_show_on_the_card_redrawn_without_an_alert(rig: Rig) -> None:
    ref = await _running(rig)
    progress = await rig.collector.wait_for(lambda n: n.kind is NotificationKind.PROGRESS)
    campaign = Campaign(
        ref=ref,
        name="Spring",
        dialer="genesys",
        dialer_id="100",
        created_by="U1",
        created_at=progress.occurred_at,
        status=CampaignStatus.RUNNING,
    )
    transition = apply_notification(campaign, progress)
    assert transition.effects == (RefreshCard(ref),)  # a redraw, never an alert
    text = facts(transition.campaign)
    assert "busy factor 82 %" in text and "hit ratio 31 %" in text


async def test_listing_shows_every_configured_group(rig: Rig) -> None:
    spec = new_campaign()
    await rig.dialer.create_campaign(spec)
    listed = {c.dialer_id: c.ref for c in await rig.dialer.list_campaigns()}
    assert listed == {"100": spec.ref, "101": None}


async def test_nothing_runs_but_confirmation_reads_when_nothing_was_asked(rig: Rig) -> None:
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(rig.dialer.run_notifications(rig.collector.sink), timeout=0.1)
    assert rig.collector.received == []


async def test_settings_changed_while_stopped_are_confirmed_as_kept_for_the_next_start(
    rig: Rig,
) -> None:
    spec = new_campaign(settings=CampaignSettings(aggression=40))
    await rig.dialer.create_campaign(spec)
    delivery = asyncio.create_task(rig.dialer.run_notifications(rig.collector.sink))
    try:
        await rig.dialer.update_settings(spec.ref, CampaignSettings(aggression=90))
        for _ in range(100):
            if rig.collector.received:
                break
            await asyncio.sleep(0.01)
    finally:
        delivery.cancel()
    (confirmed,) = rig.collector.received
    assert confirmed.kind is NotificationKind.SETTINGS
    assert confirmed.source is NotificationSource.CONFIRMATION
    assert confirmed.settings == CampaignSettings(aggression=90)
    assert confirmed.campaign_ref == spec.ref
    assert "100:setdialingmode" not in rig.ocs.requests


async def test_an_unreachable_ocs_is_unavailable_and_the_group_stays_free() -> None:
    redis = FakeAsyncRedis()
    settings = GenesysSettings.model_validate(
        {
            "ocs_url": "http://127.0.0.1:9",
            "campaign_groups": [{"name": "G", "dbid": 1, "calling_list": "l"}],
            "timeout_seconds": 0.5,
        }
    )
    dialer = GenesysDialer(settings, AdapterContext(redis=redis, key_prefix="t:"))
    try:
        with pytest.raises(DialerUnavailable):
            await dialer.create_campaign(new_campaign())
        assert await Attachments(redis, "t:").of_group(1) is None
    finally:
        await dialer.aclose()
        await redis.aclose()


async def test_load_and_start_ask_ocs_to_complete_the_group_when_the_end_handle_is_stop(
    rig: Rig,
) -> None:
    ref = await _running(rig)
    assert rig.ocs.groups[100].auto_completion == 1
    await rig.dialer.stop(ref)
    while rig.ocs.groups[100].state != 3:  # InActive
        await asyncio.sleep(0.01)
    await rig.dialer.update_settings(ref, CampaignSettings(end_handle=EndHandle.CONTINUE))
    await rig.dialer.start(ref)
    assert rig.ocs.groups[100].auto_completion == 0


@pytest.mark.parametrize("knobs", [GenesysKnobs(dial_tick=0.02, records_per_tick=2)])
async def test_ocs_completing_a_group_by_itself_reports_completed(rig: Rig) -> None:
    spec = new_campaign(name="Outbound 0@Sales")
    await rig.dialer.create_campaign(spec)
    await rig.dialer.add_contacts(spec.ref, contacts_for(spec.ref, 4))
    await rig.dialer.start(spec.ref)
    completed = await rig.collector.wait_for_status(spec.ref, CampaignStatus.COMPLETED)
    assert completed.actor == "OCS itself"
    unloaded = await rig.collector.wait_for(  # OCS unloads it, too: still completed
        lambda n: n.raw.get("GSW_CAMPAIGN_GROUP_STATE") == 0 and n.status is not None
    )
    assert unloaded.status is CampaignStatus.COMPLETED


async def test_the_standin_refuses_auto_completion_on_a_stop(rig: Rig) -> None:
    async with httpx.AsyncClient(base_url=rig.ocs_url) as http:
        answer = await http.post(
            "/campaigngroups/100", params={"req": "stopdialing", "GSW_AUTO_COMPLETION": 1}
        )
    assert answer.status_code == 400
