"""Channel alerts: notifications applied by the engine end as paced Slack calls on the stand-in."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.alerts import ChannelAlerts
from bot.bootstrap import Services
from bot.engine import Engine
from bot.settings import Settings
from bot.slack.client import with_retries
from dialer.simulator import SimulatorDialer
from state.campaign import Campaign
from state.domain import CampaignStatus
from state.effects import RefreshCard, StatusAlert
from state.inbox import NotificationInbox
from state.keys import Keys
from state.store import CampaignStore
from tests.standins.slack_api import SlackCall, SlackMessage, SlackStandIn
from tests.state_builders import campaign as build_campaign
from tests.state_builders import notification

PACE = 0.05
CHANNEL = "C0CAMPAIGN"
DEFAULT_CHANNEL = "C0ALERTS"


def render_card(campaign: Campaign) -> tuple[str, list[dict[str, Any]]]:
    text = f"card {campaign.ref}: {campaign.status}"
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def render_alert(alert: StatusAlert, campaign: Campaign | None) -> str:
    by = f" by {alert.actor}" if alert.actor else ""
    return f"{alert.ref}: {alert.previous} → {alert.current}{by}"


@dataclass
class Harness:
    slack: SlackStandIn
    store: CampaignStore
    alerts: ChannelAlerts
    engine: Engine
    _sequences: itertools.count[int]

    async def new_campaign(self, ref: str, **fields: Any) -> Campaign:
        await self.store.redis.sadd(self.store.keys.issued_refs, ref)
        campaign = build_campaign(ref, **fields)
        await self.store.create(campaign)
        return campaign

    async def report(self, ref: str, status: CampaignStatus, actor: str | None = None) -> None:
        """The dialer reports a status; the engine applies it and hands its effects on."""
        event = notification(ref, status=status, sequence=next(self._sequences), actor=actor)
        await self.engine.handle(event)

    def cards(self, channel: str = CHANNEL) -> dict[str, SlackMessage]:
        return {
            m.text.split()[1].rstrip(":"): m
            for m in self.slack.messages_in(channel)
            if m.text.startswith("card ")
        }

    def alert_lines(self, channel: str = CHANNEL) -> list[str]:
        return [
            line
            for m in self.slack.messages_in(channel)
            if not m.text.startswith("card ")
            for line in m.text.splitlines()
        ]


@pytest.fixture
async def harness(redis: Redis, keys: Keys) -> AsyncIterator[Harness]:
    store = CampaignStore(redis, keys)
    dialer = SimulatorDialer()
    services = Services(Settings(), redis, store, NotificationInbox(redis, keys), dialer)
    channels = {CHANNEL, DEFAULT_CHANNEL, "C0OTHER", "C0ONE", "C0TWO"}
    async with SlackStandIn(member_of=channels) as slack:
        alerts = ChannelAlerts(
            with_retries(slack.client()),
            store,
            DEFAULT_CHANNEL,
            render_card=render_card,
            render_alert=render_alert,
            pace=PACE,
        )
        yield Harness(slack, store, alerts, Engine(services, alerts), itertools.count(1))
        await alerts.aclose(deadline=1)
    await dialer.aclose()


def channel_calls(slack: SlackStandIn, channel: str) -> list[SlackCall]:
    return [call for call in slack.calls() if call.args.get("channel") == channel]


def gaps(calls: list[SlackCall]) -> list[float]:
    return [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]


async def test_each_status_change_posts_an_alert_and_updates_the_card_in_place(
    harness: Harness,
) -> None:
    await harness.new_campaign("c-1")
    await harness.report("c-1", CampaignStatus.RUNNING, actor="U0ANA")
    await harness.slack.wait_for(lambda: harness.cards())
    await harness.report("c-1", CampaignStatus.STOPPED, actor="its schedule")
    await harness.alerts.aclose()

    assert harness.alert_lines() == [
        "c-1: stopped → running by U0ANA",
        "c-1: running → stopped by its schedule",
    ]
    card = harness.cards()["c-1"]
    assert card.text == "card c-1: stopped" and card.edits == 1
    stored = await harness.store.require("c-1")
    assert stored.card_ts == card.ts
    assert len(harness.slack.calls("chat.update")) == 1


async def test_burst_ends_every_card_on_its_final_state_at_one_call_per_pace(
    harness: Harness,
) -> None:
    refs = [f"c-{n}" for n in range(10)]
    for ref in refs:
        await harness.new_campaign(ref)
    walk = [
        CampaignStatus.RUNNING,
        CampaignStatus.STOPPING,
        CampaignStatus.STOPPED,
        CampaignStatus.RUNNING,
        CampaignStatus.COMPLETED,
    ]
    for status in walk:  # 50 changes, the campaigns interleaved as a busy dialer would send them
        for ref in refs:
            await harness.report(ref, status)
    await harness.alerts.aclose(deadline=10)

    cards = harness.cards()
    assert {ref: cards[ref].text for ref in refs} == {ref: f"card {ref}: completed" for ref in refs}
    for ref in refs:
        transitions = [line for line in harness.alert_lines() if line.startswith(f"{ref}:")]
        assert transitions == [
            f"{ref}: {before} → {after}"
            for before, after in itertools.pairwise([CampaignStatus.STOPPED, *walk])
        ]
    calls = channel_calls(harness.slack, CHANNEL)
    assert min(gaps(calls)) >= PACE
    assert len(calls) < 50  # 100 without coalescing: an alert and a card per change


async def test_rate_limit_is_waited_out_and_the_same_alert_still_arrives(harness: Harness) -> None:
    harness.slack.rate_limit("chat.postMessage", retry_after=1, times=1)
    await harness.new_campaign("c-1")
    await harness.report("c-1", CampaignStatus.RUNNING)
    await harness.alerts.aclose(deadline=5)

    limited, retried, *_ = harness.slack.calls("chat.postMessage")
    assert (limited.status, retried.status) == (429, 200)
    assert retried.args == limited.args
    assert retried.at - limited.at >= 1.0
    assert harness.alert_lines() == ["c-1: stopped → running"]
    assert harness.alerts.metrics.rate_limited == 1


async def test_campaign_without_channel_is_shown_in_the_default_channel(harness: Harness) -> None:
    await harness.new_campaign("c-1", channel_id=None)
    await harness.report("c-1", CampaignStatus.RUNNING)
    await harness.alerts.aclose()

    assert harness.alert_lines(DEFAULT_CHANNEL) == ["c-1: stopped → running"]
    assert harness.cards(DEFAULT_CHANNEL)["c-1"].text == "card c-1: running"
    assert harness.slack.messages_in(CHANNEL) == []


async def test_effect_without_campaign_finds_the_channel_in_the_store(harness: Harness) -> None:
    await harness.new_campaign("c-1", channel_id="C0OTHER")
    await harness.alerts(RefreshCard("c-1"), None)
    await harness.alerts.aclose()

    assert harness.cards("C0OTHER")["c-1"].text == "card c-1: stopped"


async def test_slack_error_does_not_stop_later_alerts(harness: Harness) -> None:
    await harness.new_campaign("c-1")
    harness.slack.fail("chat.postMessage", "channel_not_found")
    await harness.report("c-1", CampaignStatus.RUNNING)
    await harness.slack.wait_for(lambda: harness.cards())
    await harness.report("c-1", CampaignStatus.STOPPED)
    await harness.alerts.aclose()

    assert harness.alert_lines() == ["c-1: running → stopped"]
    assert harness.cards()["c-1"].text == "card c-1: stopped"
    assert harness.alerts.metrics.slack_errors == 1


async def test_slack_server_error_is_retried_and_the_alert_still_arrives(
    harness: Harness,
) -> None:
    await harness.new_campaign("c-1")
    harness.slack.fail("chat.postMessage", "fatal_error", status=503)
    await harness.report("c-1", CampaignStatus.RUNNING)
    await harness.alerts.aclose()

    failed, retried, *_ = harness.slack.calls("chat.postMessage")
    assert (failed.status, retried.status) == (503, 200)
    assert harness.alert_lines() == ["c-1: stopped → running"]
    assert harness.cards()["c-1"].text == "card c-1: running"


async def test_card_deleted_from_the_channel_is_posted_again(harness: Harness) -> None:
    await harness.new_campaign("c-1", card_ts="1700000000.000001")
    await harness.alerts(RefreshCard("c-1"), await harness.store.require("c-1"))
    await harness.alerts.aclose()

    card = harness.cards()["c-1"]
    assert (await harness.store.require("c-1")).card_ts == card.ts != "1700000000.000001"


async def test_close_gives_up_at_its_deadline_when_slack_keeps_refusing(harness: Harness) -> None:
    harness.slack.rate_limit("chat.postMessage", retry_after=30, times=None)
    await harness.new_campaign("c-1")
    await harness.report("c-1", CampaignStatus.RUNNING)
    await harness.slack.wait_for(lambda: harness.slack.calls("chat.postMessage"))

    started = time.monotonic()
    await harness.alerts.aclose(deadline=0.2)

    assert time.monotonic() - started < 1
    assert harness.slack.messages_in(CHANNEL) == []
    # Nothing is lost: the alert (it was in flight) and the card wait in Redis for the next start.
    assert await harness.alerts.outbox.pending_count(CHANNEL) == 2
    harness.slack.clear_rate_limit("chat.postMessage")
    next_start = ChannelAlerts(
        with_retries(harness.slack.client()),  # a new process: Slack's Retry-After is not known
        harness.store,
        DEFAULT_CHANNEL,
        render_card=render_card,
        render_alert=render_alert,
        pace=PACE,
    )
    next_start.start()
    await harness.slack.wait_for(lambda: harness.cards())
    await next_start.aclose()
    assert harness.alert_lines() == ["c-1: stopped → running"]
    assert harness.cards()["c-1"].text == "card c-1: running"
    assert await harness.alerts.outbox.pending_count(CHANNEL) == 0


async def test_calls_for_different_channels_are_paced_separately(harness: Harness) -> None:
    await harness.new_campaign("c-1", channel_id="C0ONE")
    await harness.new_campaign("c-2", channel_id="C0TWO")
    harness.alerts.pace = 0.3
    await harness.report("c-1", CampaignStatus.RUNNING)
    await harness.report("c-2", CampaignStatus.RUNNING)
    await harness.slack.wait_for(
        lambda: channel_calls(harness.slack, "C0ONE") and channel_calls(harness.slack, "C0TWO")
    )

    first_one, first_two = (channel_calls(harness.slack, c)[0] for c in ("C0ONE", "C0TWO"))
    assert abs(first_two.at - first_one.at) < 0.3
