"""Channel alerts kept in Redis: recorded with the notification that caused them, sent by one
replica at a time per channel at Slack's pace, and taken over when a replica dies."""

from __future__ import annotations

import asyncio
import functools
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from bot.alerts import ChannelAlerts
from bot.slack.client import with_retries
from state.domain import CampaignStatus
from state.effects import RefreshCard, SendStop, StatusAlert
from state.keys import Keys
from state.machine import Outcome
from state.outbox import AlertOutbox
from state.store import CampaignStore
from tests.standins.slack_api import SlackCall, SlackStandIn
from tests.state_builders import campaign as build_campaign
from tests.state_builders import notification
from tests.test_alerts import CHANNEL, render_alert, render_card

PACE = 0.1
LEASE_TTL = 0.4


@dataclass
class Replicas:
    """Several alert senders (one per replica) sharing one Redis and one Slack."""

    slack: SlackStandIn
    store: CampaignStore
    sequences: itertools.count[int]

    def replica(self, *, poll_interval: float = 0.05) -> ChannelAlerts:
        return ChannelAlerts(
            with_retries(self.slack.client()),
            self.store,
            None,
            render_card=render_card,
            render_alert=render_alert,
            pace=PACE,
            lease_ttl=LEASE_TTL,
            poll_interval=poll_interval,
        )

    async def new_campaign(self, ref: str) -> None:
        await self.store.redis.sadd(self.store.keys.issued_refs, ref)
        await self.store.create(build_campaign(ref))

    async def report(self, ref: str, status: CampaignStatus) -> None:
        """A notification applied by some replica: its alerts go to the outbox."""
        event = notification(ref, status=status, sequence=next(self.sequences))
        await self.store.apply_notification(event)

    def calls(self) -> list[SlackCall]:
        return [c for c in self.slack.calls() if c.args.get("channel") == CHANNEL]

    def alert_lines(self) -> list[str]:
        return [
            line
            for m in self.slack.messages_in(CHANNEL)
            if not m.text.startswith("card ")
            for line in m.text.splitlines()
        ]

    def sent(self, changes: int) -> bool:
        """Each of ``changes`` status changes shown: its alert posted and its card drawn."""
        return len(self.alert_lines()) == changes and len(self.calls()) == 2 * changes

    def cards(self) -> dict[str, str]:
        return {
            m.text.split()[1].rstrip(":"): m.text
            for m in self.slack.messages_in(CHANNEL)
            if m.text.startswith("card ")
        }


@pytest.fixture
async def replicas(redis: Redis, keys: Keys) -> AsyncIterator[Replicas]:
    async with SlackStandIn(member_of={CHANNEL}) as slack:
        yield Replicas(slack, CampaignStore(redis, keys), itertools.count(1))


async def test_a_notification_delivered_again_records_its_alert_once(replicas: Replicas) -> None:
    # An outbox with no sender: a sender could post (and delete) the alert before it is read.
    outbox = AlertOutbox(replicas.store.redis, replicas.store.keys, None)
    replicas.store.outbox = outbox
    await replicas.new_campaign("c-1")
    event = notification("c-1", status=CampaignStatus.RUNNING, sequence=1)

    applied = await replicas.store.apply_notification(event)
    # The replica died before acknowledging it; another consumer claims it and applies it again.
    again = await replicas.store.apply_notification(event)

    assert applied.outcome is Outcome.APPLIED and again.outcome is Outcome.DUPLICATE
    assert not any(isinstance(e, StatusAlert | RefreshCard) for e in applied.effects)
    entries = await outbox.entries(CHANNEL)
    assert [(e.ref, e.alert is not None) for e in entries] == [("c-1", True), ("c-1", False)]
    assert entries[0].alert == StatusAlert("c-1", CampaignStatus.STOPPED, CampaignStatus.RUNNING)
    assert await outbox.pending_channels() == {CHANNEL}
    alerts = replicas.replica()
    alerts.start()
    await alerts.aclose(deadline=2)
    assert replicas.alert_lines() == ["c-1: stopped → running"]
    assert await alerts.outbox.pending_channels() == set()


async def test_only_effects_shown_in_slack_are_recorded(replicas: Replicas) -> None:
    alerts = replicas.replica()
    await replicas.new_campaign("c-1")
    stored = await replicas.store.require("c-1")

    await alerts(SendStop("c-1"), stored)  # the dialer's business, not the channel's
    assert await alerts.outbox.entries(CHANNEL) == []
    await alerts(RefreshCard("c-1"), None)  # the channel is looked up in the store
    assert [e.alert for e in await alerts.outbox.entries(CHANNEL)] == [None]
    await alerts.aclose(deadline=2)
    assert replicas.cards() == {"c-1": "card c-1: stopped"}


async def test_a_killed_sender_leaves_its_channel_to_another_which_posts_each_alert_once(
    replicas: Replicas, monkeypatch: pytest.MonkeyPatch
) -> None:
    await replicas.new_campaign("c-1")
    replicas.slack.rate_limit("chat.postMessage", retry_after=30, times=None)
    first = replicas.replica()
    await replicas.report("c-1", CampaignStatus.RUNNING)
    await replicas.slack.wait_for(lambda: replicas.slack.calls("chat.postMessage"))

    # SIGKILL: the first replica's tasks stop where they are; its lease is never released.
    async def never(channel: str, owner: str) -> None:
        return None

    monkeypatch.setattr(first.outbox, "release", never)
    assert first._poller is not None
    for task in [first._poller, *first._workers.values()]:
        task.cancel()
    await asyncio.gather(first._poller, *first._workers.values(), return_exceptions=True)
    lease = replicas.store.keys.alert_lease(CHANNEL)
    assert await replicas.store.redis.get(lease) == first.owner.encode()
    replicas.slack.clear_rate_limit("chat.postMessage")

    second = replicas.replica()
    second.start()
    await replicas.report("c-1", CampaignStatus.STOPPED)  # recorded meanwhile
    await replicas.slack.wait_for(lambda: len(replicas.alert_lines()) == 2, timeout=5)
    await second.aclose(deadline=5)

    assert replicas.alert_lines() == ["c-1: stopped → running", "c-1: running → stopped"]
    assert replicas.cards() == {"c-1": "card c-1: stopped"}
    assert await second.outbox.pending_channels() == set()
    accepted = [call for call in replicas.calls() if call.status == 200]
    assert accepted[0].at - replicas.calls()[0].at >= LEASE_TTL * 0.9  # the lease had to expire


async def test_two_senders_on_one_channel_never_call_closer_than_the_pace(
    replicas: Replicas,
) -> None:
    refs = [f"c-{n}" for n in range(3)]
    for ref in refs:
        await replicas.new_campaign(ref)
    senders = [replicas.replica(poll_interval=0.5), replicas.replica(poll_interval=0.5)]
    for sender in senders:
        sender.start()
    walk = [CampaignStatus.RUNNING, CampaignStatus.STOPPING, CampaignStatus.STOPPED]
    lease = replicas.store.keys.alert_lease(CHANNEL)
    for n, (status, ref) in enumerate(itertools.product(walk, refs)):
        # Each notification is applied by the other replica, which is woken at once; the one
        # that sent the last call has just let the channel go, within the pace.
        replicas.store.outbox = senders[n % 2].outbox
        await replicas.report(ref, status)
        await replicas.slack.wait_for(functools.partial(replicas.sent, n + 1), timeout=5)
        while await replicas.store.redis.exists(lease):
            await asyncio.sleep(0.005)
    await asyncio.gather(*(sender.aclose(deadline=10) for sender in senders))

    calls = replicas.calls()
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
    assert min(gaps) >= PACE
    lines = replicas.alert_lines()
    assert len(lines) == len(set(lines)) == len(refs) * len(walk)
    assert replicas.cards() == {ref: f"card {ref}: stopped" for ref in refs}
    assert all(sender.metrics.slack_calls for sender in senders), "one sender did everything"
