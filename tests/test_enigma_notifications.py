"""The Enigma subscriber against a real Redis: packets in, notifications out, gaps reconciled."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from dialer.enigma import AgentPresenceState
from state.domain import (
    CampaignSettings,
    CampaignStatus,
    DialerNotification,
    NotificationKind,
    NotificationSource,
)
from tests.conftest import REAL_REDIS_URL
from tests.contract.collector import NotificationCollector
from tests.contract.dialer_contract import contacts_for, new_campaign
from tests.standins.enigma import EnigmaStandIn, listening_adapter, running_enigma

pytestmark = pytest.mark.redis

FAST = 0.05


@pytest.fixture
async def standin() -> AsyncIterator[EnigmaStandIn]:
    prefix = f"test:{uuid.uuid4().hex[:10]}:enigma:notifications:"
    async with running_enigma(REAL_REDIS_URL, prefix) as running:
        yield running


@pytest.fixture
async def publisher() -> AsyncIterator[Redis]:
    client = Redis.from_url(REAL_REDIS_URL)
    yield client
    await client.aclose()


async def running_campaign(standin: EnigmaStandIn, ref: str) -> None:
    """A campaign started on Enigma before the adapter under test listens."""
    campaign = new_campaign(ref=ref)
    async with listening_adapter(standin, NotificationCollector().sink) as other:
        await other.create_campaign(campaign)
        await other.add_contacts(ref, contacts_for(ref, 5))
        await other.start(ref)
    await standin.settle()


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def status_packet(status: str, ref: str) -> str:
    return json.dumps({"type": "status", "payload": {"status": status, "ref": ref}})


async def test_a_malformed_packet_is_skipped_and_the_next_one_still_arrives(
    standin: EnigmaStandIn, publisher: Redis
) -> None:
    collector = NotificationCollector()
    channel = standin.channel_prefix + "campaigns:c-x"
    async with listening_adapter(standin, collector.sink) as dialer:
        for junk in ("{oops", "[]", status_packet("exploded", "c-x"), '{"type":"status"}'):
            await publisher.publish(channel, junk)
        await publisher.publish(channel, status_packet("started", "c-x"))
        await collector.wait_for_status("c-x", CampaignStatus.RUNNING)
        assert dialer.listening
    assert collector.statuses_of("c-x") == [CampaignStatus.RUNNING]


async def test_subscribing_reports_the_status_each_campaign_already_has(
    standin: EnigmaStandIn,
) -> None:
    await running_campaign(standin, "c-20261123-pre1")
    collector = NotificationCollector()
    async with listening_adapter(standin, collector.sink):
        seen = await collector.wait_for_status("c-20261123-pre1", CampaignStatus.RUNNING)
    assert seen.raw["reconciled"] is True
    assert seen.source is NotificationSource.RECONCILIATION  # a read, never passed off as a packet


async def test_a_packet_that_arrives_during_the_reconcile_outranks_the_reconciled_status(
    standin: EnigmaStandIn,
) -> None:
    ref = "c-20261123-race"
    await running_campaign(standin, ref)
    standin.stall_next(1, seconds=0.5)  # the reconcile's list: read now, answered late
    collector = NotificationCollector()
    async with listening_adapter(standin, collector.sink) as dialer:
        await eventually(lambda: ("GET", "/api/v1/campaigns", None) in standin.requests)
        await dialer.stop(ref)
        await collector.wait_for_status(ref, CampaignStatus.STOPPED)
        reconciled = await collector.wait_for(lambda n: n.raw.get("reconciled") is True)
    assert reconciled.status is CampaignStatus.RUNNING  # the stale snapshot...
    latest = max(
        (n for n in collector.received if n.kind is NotificationKind.STATUS),
        key=lambda n: n.sequence,
    )
    assert latest.status is CampaignStatus.STOPPED  # ...ranks below what happened since


async def test_agent_presence_is_kept_per_agent_and_changes_no_campaign(
    standin: EnigmaStandIn,
) -> None:
    ref = "c-20261123-agnt"
    collector = NotificationCollector()
    async with listening_adapter(standin, collector.sink) as dialer:
        await standin.publish_agent("1001", ref, "logging_in")
        await standin.publish_agent("1002", ref, "available")
        await standin.publish_agent("1001", ref, "busy")
        await standin.publish_agent("1003", "c-elsewhere", "wrapup")

        def presence() -> dict[str, AgentPresenceState]:
            return {seen.agent_id: seen.presence for seen in dialer.agent_presence(ref)}

        await eventually(lambda: presence().get("1001") is AgentPresenceState.BUSY)
        await eventually(lambda: "1002" in presence())
        assert presence() == {
            "1001": AgentPresenceState.BUSY,
            "1002": AgentPresenceState.AVAILABLE,
        }
    assert collector.received == []


async def test_a_notification_the_bot_could_not_take_is_made_good_by_resubscribing(
    standin: EnigmaStandIn,
) -> None:
    ref = "c-20261123-sink"
    collector = NotificationCollector()
    refused: list[DialerNotification] = []

    async def flaky_sink(notification: DialerNotification) -> None:
        if notification.status is CampaignStatus.RUNNING and not refused:
            refused.append(notification)
            raise ConnectionError("the bot's Redis blinked")
        await collector.sink(notification)

    async with listening_adapter(standin, flaky_sink, retry_backoff_seconds=FAST) as dialer:
        await dialer.create_campaign(new_campaign(ref=ref))
        await dialer.start(ref)
        running = await collector.wait_for_status(ref, CampaignStatus.RUNNING)
    assert refused
    assert running.raw["reconciled"] is True


async def test_enigma_never_emits_a_notification_it_did_not_receive(
    standin: EnigmaStandIn,
) -> None:
    ref = "c-20261123-conf"
    collector = NotificationCollector()
    async with listening_adapter(standin, collector.sink) as dialer:
        await dialer.create_campaign(new_campaign(ref=ref))
        await dialer.update_settings(ref, CampaignSettings(aggression=80))
        await dialer.add_agents(ref, ["1009"])
        agents = await collector.wait_for(lambda n: n.kind is NotificationKind.AGENTS)
        await collector.wait_for(lambda n: n.kind is NotificationKind.SETTINGS)
        await dialer.delete(ref)
        await asyncio.sleep(0.3)
    assert {a.agent_id for a in agents.agents or ()} == {"agent-1", "1009"}
    # Nothing published a deletion, so none is emitted; what the adapter learnt otherwise says
    # where it came from, and nothing it did not receive passes for Enigma's own word.
    assert not [n for n in collector.received if n.status is CampaignStatus.DELETED]
    sources = {(n.kind, n.source) for n in collector.received if n.campaign_ref == ref}
    assert (NotificationKind.SETTINGS, NotificationSource.ACCEPTED) in sources
    assert (NotificationKind.AGENTS, NotificationSource.CONFIRMATION) in sources
    for n in collector.received:
        if n.source is NotificationSource.DIALER:
            assert "reconciled" not in n.raw and n.kind is NotificationKind.STATUS
    assert not dialer.publishes_deletion


async def test_cancelling_the_subscriber_stops_listening(standin: EnigmaStandIn) -> None:
    async with listening_adapter(standin, NotificationCollector().sink) as dialer:
        assert dialer.listening
    assert not dialer.listening
