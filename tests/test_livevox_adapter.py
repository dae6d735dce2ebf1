"""The LiveVox adapter against the local LiveVox: sessions, appends and their limits, states."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from commands.views.campaign import facts
from dialer.errors import (
    CampaignConflict,
    DialerAuthError,
    DialerRateLimited,
    DialerRejected,
    DialerUnavailable,
)
from dialer.http import retried_by_caller
from dialer.livevox import LiveVoxDialer
from dialer.livevox.vendor import UNKNOWN_STATES
from dialer.registry import AdapterContext
from state.campaign import Campaign
from state.domain import CampaignSettings, CampaignStatus, NotificationKind
from tests.contract.collector import NotificationCollector
from tests.contract.dialer_contract import contacts_for, new_campaign
from tests.standins.livevox import LiveVoxKnobs, LiveVoxStandin, adapter_settings, scratch_redis

pytestmark = pytest.mark.redis


@dataclass
class Rig:
    standin: LiveVoxStandin
    url: str
    context: AdapterContext

    def dialer(self, **overrides: Any) -> LiveVoxDialer:
        return LiveVoxDialer(
            adapter_settings(self.url, self.standin.knobs, **overrides), self.context
        )


@pytest.fixture
async def knobs() -> LiveVoxKnobs:
    return LiveVoxKnobs(append_window_seconds=0.5)


@pytest.fixture
async def rig(knobs: LiveVoxKnobs) -> AsyncIterator[Rig]:
    standin = LiveVoxStandin(knobs)
    async with standin.running() as url, scratch_redis() as (redis, prefix):
        yield Rig(standin, url, AdapterContext(redis=redis, key_prefix=prefix))


@pytest.fixture
async def dialer(rig: Rig) -> AsyncIterator[LiveVoxDialer]:
    dialer = rig.dialer()
    yield dialer
    await dialer.aclose()


async def _created(dialer: LiveVoxDialer, contacts: int = 0) -> str:
    spec = new_campaign()
    await dialer.create_campaign(spec)
    if contacts:
        await dialer.add_contacts(spec.ref, contacts_for(spec.ref, contacts))
    return spec.ref


# -- sessions ---------------------------------------------------------------------------------


async def test_one_login_serves_many_calls(rig: Rig, dialer: LiveVoxDialer) -> None:
    await _created(dialer)
    await dialer.list_campaigns()
    assert rig.standin.logins == 1
    assert all(session for _, _, session in rig.standin.calls[1:])


async def test_a_401_renews_the_session_and_the_call_goes_through(
    rig: Rig, dialer: LiveVoxDialer
) -> None:
    ref = await _created(dialer)
    rig.standin.expire_sessions()
    assert (await dialer.get_campaign(ref)).ref == ref
    assert rig.standin.logins == 2


async def test_an_idle_session_is_renewed_before_livevox_drops_it(rig: Rig) -> None:
    dialer = rig.dialer(session_idle_seconds=0.05)
    try:
        ref = await _created(dialer)
        time.sleep(0.06)
        await dialer.get_campaign(ref)
    finally:
        await dialer.aclose()
    assert rig.standin.logins == 2
    assert rig.standin.calls[-2][1].endswith("/session/login")  # renewed before, not after a 401


async def test_wrong_credentials_are_an_auth_error_naming_the_settings(rig: Rig) -> None:
    dialer = rig.dialer(password="wrong")
    try:
        with pytest.raises(DialerAuthError, match="LIVEVOX_PASSWORD"):
            await dialer.list_campaigns()
    finally:
        await dialer.aclose()


async def test_an_unreachable_livevox_is_unavailable() -> None:
    async with scratch_redis() as (redis, prefix):
        knobs = LiveVoxKnobs()
        settings = adapter_settings("http://127.0.0.1:9/api/", knobs, timeout_seconds=0.5)
        dialer = LiveVoxDialer(settings, AdapterContext(redis=redis, key_prefix=prefix))
        try:
            with pytest.raises(DialerUnavailable):
                await dialer.list_campaigns()
        finally:
            await dialer.aclose()


# -- appends ----------------------------------------------------------------------------------


async def test_records_reach_livevox_with_phones_and_the_contact_ref(
    rig: Rig, dialer: LiveVoxDialer
) -> None:
    ref = await _created(dialer, contacts=2)
    records = rig.standin.campaign_named(ref).records
    assert [r["account"] for r in records] == [f"{ref}-1", f"{ref}-2"]
    assert records[0]["phone1"] == "+14155550001"


async def test_appends_beyond_the_limit_wait_instead_of_failing(
    rig: Rig, dialer: LiveVoxDialer
) -> None:
    ref = await _created(dialer)
    began = time.monotonic()
    for n in range(6):
        await dialer.add_contacts(ref, contacts_for(ref, 1, start=n + 1))
    assert time.monotonic() - began >= 0.5
    assert len(rig.standin.campaign_named(ref).records) == 6


@pytest.mark.parametrize(
    "knobs", [LiveVoxKnobs(append_calls_per_window=2, append_window_seconds=30.0)]
)
async def test_livevox_refusing_the_pace_is_a_rate_limit_with_a_retry_time(rig: Rig) -> None:
    dialer = rig.dialer(append_calls_per_window=5)  # as if another client shared the account
    try:
        ref = await _created(dialer, contacts=1)
        await dialer.add_contacts(ref, contacts_for(ref, 1, start=2))
        with pytest.raises(DialerRateLimited) as raised, retried_by_caller():  # as the upload
            await dialer.add_contacts(ref, contacts_for(ref, 1, start=3))
    finally:
        await dialer.aclose()
    assert raised.value.retry_after is not None and raised.value.retry_after > 0


async def test_more_records_than_a_batch_are_refused_before_sending(rig: Rig) -> None:
    dialer = rig.dialer(batch_size=10)
    try:
        ref = await _created(dialer)
        sent = len(rig.standin.calls)
        with pytest.raises(DialerRejected, match="at most 10 records"):
            await dialer.add_contacts(ref, contacts_for(ref, 11))
        assert len(rig.standin.calls) == sent
    finally:
        await dialer.aclose()


async def test_the_standin_refuses_more_than_ten_thousand_records(
    rig: Rig, dialer: LiveVoxDialer
) -> None:
    # The adapter never sends more than batch_size (at most 10,000); LiveVox itself refuses more.
    ref = await _created(dialer)
    campaign = rig.standin.campaign_named(ref)
    access = {"LV-Access": rig.standin.knobs.access_token}
    async with httpx.AsyncClient(base_url=rig.url, headers=access) as http:
        login = await http.post(
            "session/login",
            json={"clientName": "ACME", "userName": "bot", "password": "s3cret"},
        )
        answer = await http.put(
            f"campaign/campaigns/{campaign.id}/transactions",
            json={"records": [{"phone1": "+14155550001"}] * 10_001},
            headers={"LV-Session": login.json()["sessionId"]},
        )
    assert answer.status_code == 400
    assert campaign.records == []


async def test_a_campaign_without_allow_append_gets_a_clear_conflict(
    rig: Rig, dialer: LiveVoxDialer
) -> None:
    ref = await _created(dialer)
    rig.standin.campaign_named(ref).allow_append = False
    with pytest.raises(CampaignConflict, match="Allow Append"):
        await dialer.add_contacts(ref, contacts_for(ref, 1))


@pytest.mark.parametrize("state", ["DONE", "STOPPED", "REPORTED", "DEACTIVATED"])
async def test_appends_go_only_to_built_paused_or_playing_campaigns(
    rig: Rig, dialer: LiveVoxDialer, state: str
) -> None:
    ref = await _created(dialer)
    rig.standin.campaign_named(ref).state = state
    with pytest.raises(CampaignConflict, match="built, paused or playing"):
        await dialer.add_contacts(ref, contacts_for(ref, 1))


@pytest.mark.parametrize("knobs", [LiveVoxKnobs(build_delay=5.0)])
async def test_a_campaign_still_building_asks_to_try_again(dialer: LiveVoxDialer) -> None:
    ref = await _created(dialer)
    with pytest.raises(DialerUnavailable, match="still loading"):
        await dialer.add_contacts(ref, contacts_for(ref, 1))


@pytest.mark.parametrize("knobs", [LiveVoxKnobs(built_on_load=False, transition_delay=0.01)])
async def test_an_unbuilt_campaign_is_built_first_and_then_takes_leads(
    rig: Rig, dialer: LiveVoxDialer
) -> None:
    ref = await _created(dialer)
    assert rig.standin.campaign_named(ref).state == "READY_UNBUILT"
    with pytest.raises(DialerUnavailable, match="building"):
        await dialer.add_contacts(ref, contacts_for(ref, 1))
    assert (
        "PUT",
        f"/api/campaign/campaigns/{rig.standin.campaign_named(ref).id}/state",
        {"state": "BUILD"},
    ) in rig.standin.bodies
    for _ in range(100):
        if rig.standin.campaign_named(ref).state == "READY":
            break
        time.sleep(0.01)
        await asyncio.sleep(0.01)
    await dialer.add_contacts(ref, contacts_for(ref, 1))
    assert len(rig.standin.campaign_named(ref).records) == 1


async def test_yesterdays_campaign_takes_no_leads(rig: Rig, dialer: LiveVoxDialer) -> None:
    ref = await _created(dialer)
    rig.standin.campaign_named(ref).upload_ms -= 26 * 60 * 60 * 1000
    with pytest.raises(CampaignConflict, match="today's"):
        await dialer.add_contacts(ref, contacts_for(ref, 1))


# -- states and polling -----------------------------------------------------------------------


async def _poll_until(
    dialer: LiveVoxDialer, collector: NotificationCollector, ref: str, status: CampaignStatus
) -> None:
    for _ in range(100):
        await dialer.poll_once(collector.sink)
        if status in collector.statuses_of(ref):
            return
        time.sleep(0.01)
    raise AssertionError(f"{ref} never became {status}: {collector.statuses_of(ref)}")


async def test_start_and_stop_are_seen_only_by_polling(rig: Rig, dialer: LiveVoxDialer) -> None:
    collector = NotificationCollector()
    ref = await _created(dialer, contacts=50)
    await dialer.poll_once(collector.sink)
    await dialer.start(ref)
    assert (await dialer.get_campaign(ref)).status is CampaignStatus.STOPPED
    await _poll_until(dialer, collector, ref, CampaignStatus.RUNNING)
    await dialer.stop(ref)
    await _poll_until(dialer, collector, ref, CampaignStatus.STOPPED)
    assert rig.standin.campaign_named(ref).state == "PAUSED"
    assert collector.statuses_of(ref) == [CampaignStatus.RUNNING, CampaignStatus.STOPPED]


@pytest.mark.parametrize("knobs", [LiveVoxKnobs(dial_tick=0.01, records_per_tick=2)])
async def test_a_campaign_out_of_records_completes(rig: Rig, dialer: LiveVoxDialer) -> None:
    collector = NotificationCollector()
    ref = await _created(dialer, contacts=10)
    await dialer.start(ref)
    await _poll_until(dialer, collector, ref, CampaignStatus.COMPLETED)
    assert rig.standin.campaign_named(ref).state == "DONE"
    # LiveVox's search and read carry no real-time counters, so none are made up.
    assert not [n for n in collector.received if n.kind is NotificationKind.PROGRESS]


async def test_a_settings_change_is_the_strategy_put_on_the_campaign(
    rig: Rig, dialer: LiveVoxDialer
) -> None:
    collector = NotificationCollector()
    ref = await _created(dialer)
    await dialer.poll_once(collector.sink)
    await dialer.update_settings(ref, CampaignSettings(aggression=90))
    campaign = rig.standin.campaign_named(ref)
    sent = ("PUT", f"/api/campaign/campaigns/{campaign.id}", {"dialingStrategyId": 13})
    assert sent in rig.standin.bodies
    assert campaign.dialing_strategy_id == 13
    await dialer.poll_once(collector.sink)
    [notice] = [n for n in collector.received if n.kind is NotificationKind.SETTINGS]
    assert notice.settings == CampaignSettings(aggression=90)


async def test_a_campaign_in_a_status_nobody_documented_does_not_stop_the_listing(
    rig: Rig, dialer: LiveVoxDialer
) -> None:
    ref = await _created(dialer)
    rig.standin.campaign_named(ref).state = "BROKEN"
    before = UNKNOWN_STATES["BROKEN"]
    listed = {c.ref: c for c in await dialer.list_campaigns()}
    assert listed[ref].status is CampaignStatus.STOPPED
    assert UNKNOWN_STATES["BROKEN"] == before + 1
    assert (await dialer.get_campaign(ref)).status is CampaignStatus.STOPPED


async def test_delete_stops_the_livevox_campaign_for_good(rig: Rig, dialer: LiveVoxDialer) -> None:
    collector = NotificationCollector()
    ref = await _created(dialer, contacts=1)
    await dialer.delete(ref)
    await _poll_until(dialer, collector, ref, CampaignStatus.DELETED)
    assert rig.standin.campaign_named(ref).state == "STOPPED"
    assert ref not in {c.ref for c in await dialer.list_campaigns()}
    assert (await dialer.get_campaign(ref)).status is CampaignStatus.DELETED
    await dialer.delete(ref)  # repeating it is harmless


async def test_a_playing_campaign_is_not_deleted(rig: Rig, dialer: LiveVoxDialer) -> None:
    ref = await _created(dialer, contacts=5)
    rig.standin.campaign_named(ref).state = "PLAYING"
    with pytest.raises(CampaignConflict, match="only once it has stopped"):
        await dialer.delete(ref)
    assert rig.standin.campaign_named(ref).state == "PLAYING"


async def test_listing_shows_the_name_without_the_ref(dialer: LiveVoxDialer) -> None:
    spec = new_campaign(name="Spring renewals")
    await dialer.create_campaign(spec)
    listed = {c.ref: c for c in await dialer.list_campaigns()}
    assert listed[spec.ref].name == "Spring renewals"


async def test_a_playing_campaign_shows_the_no_statistics_note_and_takes_no_agents(
    rig: Rig, dialer: LiveVoxDialer
) -> None:
    collector = NotificationCollector()
    ref = await _created(dialer, contacts=20)
    await dialer.start(ref)
    await _poll_until(dialer, collector, ref, CampaignStatus.RUNNING)
    read = await dialer.get_campaign(ref)
    assert read.counters == {}  # the stand-in, like LiveVox's documents, carries no counts
    campaign = Campaign(
        ref=ref,
        name="Spring",
        dialer=dialer.name,
        dialer_id=read.dialer_id,
        created_by="U1",
        created_at=datetime.now(UTC),
        status=read.status,
        counters=read.counters,
    )
    text = facts(campaign)
    assert "reports no call counts" in text and "0 active" not in text
    assert "LiveVox's console" in text
    assert not dialer.capabilities.agents_managed_here
