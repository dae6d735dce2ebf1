"""Alert pacing: status changes of many campaigns in one channel, through the engine and
``ChannelAlerts`` at Slack's real pace, into the Slack Web API stand-in.

Measured from the stand-in's record of every call: how many messages the channel got, the
closest two came together, the most in any one second, and whether every campaign's card ends
on its true status with every transition shown in an alert.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from benchmarks.common import Figure, figure, missed, rate, redis_space
from benchmarks.slack_requests import CHANNEL, LEAD, SIGNING_SECRET, store_campaign
from bot.alerts import SLACK_PACE, ChannelAlerts
from bot.bootstrap import build_services
from bot.engine import Engine
from bot.settings import Settings
from commands.views.alerts import render_alert
from commands.views.campaign import render_card
from dialer.simulator import SimulatorDialer
from state.campaign import Campaign
from state.domain import CampaignStatus, DialerNotification, NotificationKind
from state.effects import Effect
from state.store import CampaignStore
from tests.standins.slack_api import SlackCall, SlackStandIn

MESSAGE_METHODS = ("chat.postMessage", "chat.update")
STATUSES = (
    CampaignStatus.RUNNING,
    CampaignStatus.STOPPING,
    CampaignStatus.STOPPED,
    CampaignStatus.COMPLETED,
)


@dataclass(frozen=True)
class Size:
    campaigns: int = 100
    changes: int = 1_000
    rounds: int = 20  # the changes arrive in this many bursts…
    spread_s: float = 10.0  # …over this long
    pace: float = SLACK_PACE  # the real one; only the smoke test shortens it
    deadline_s: float = 270.0


FULL = Size()
TOY = Size(campaigns=4, changes=20, rounds=4, spread_s=0.2, pace=0.05, deadline_s=30.0)


def changes_for(refs: list[str], count: int, seed: int = 11) -> list[tuple[str, CampaignStatus]]:
    """``count`` status changes spread evenly over ``refs``, each a different status than the
    campaign's previous one, in a shuffled order."""
    rng = random.Random(seed)
    current = dict.fromkeys(refs, CampaignStatus.STOPPED)
    order = [refs[n % len(refs)] for n in range(count)]
    rng.shuffle(order)
    planned = []
    for ref in order:
        status = rng.choice([s for s in STATUSES if s is not current[ref]])
        current[ref] = status
        planned.append((ref, status))
    return planned


def notification(ref: str, status: CampaignStatus, sequence: int) -> DialerNotification:
    return DialerNotification(
        event_id=f"bench-{sequence}",
        dialer="simulator",
        kind=NotificationKind.STATUS,
        campaign_ref=ref,
        sequence=sequence,
        occurred_at=datetime.now(UTC),
        status=status,
    )


async def _post_card(alerts: ChannelAlerts, store: CampaignStore, campaign: Campaign) -> None:
    """The card a campaign has from its creation, posted directly (not part of the measure)."""
    text, blocks = render_card(campaign)
    answer = await alerts.client.chat_postMessage(channel=CHANNEL, text=text, blocks=blocks)

    def change(stored: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        return stored.model_copy(update={"card_ts": str(answer["ts"])}), ()

    await store.update(campaign.ref, change, actor="bench", action="card_posted")


async def run(size: Size = FULL, on_injected: Callable[[], None] = lambda: None) -> Figure:
    async with redis_space("alerts") as (redis, prefix), SlackStandIn(member_of={CHANNEL}) as slack:
        settings = Settings(
            slack_bot_token="xoxb-bench",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            campaign_leads=(LEAD,),
            redis_key_prefix=prefix,
            log_level="WARNING",
        )
        services = build_services(settings, redis=redis, dialer=SimulatorDialer())
        store = services.store
        alerts = ChannelAlerts(
            slack.client(),
            store,
            CHANNEL,
            render_card=render_card,
            render_alert=render_alert,
            pace=size.pace,
        )
        engine = Engine(services, alerts)
        refs = []
        for n in range(size.campaigns):
            ref = await store.issue_ref()
            await _post_card(
                alerts, store, await store_campaign(store, ref, f"Bench {n}", dialer="simulator")
            )
            refs.append(ref)
        planned = changes_for(refs, size.changes)
        final = dict(planned)
        started = time.monotonic()
        per_round = -(-len(planned) // size.rounds)
        for round_start in range(0, len(planned), per_round):
            for offset, (ref, status) in enumerate(planned[round_start : round_start + per_round]):
                await engine.handle(notification(ref, status, round_start + offset + 1))
            await asyncio.sleep(size.spread_s / size.rounds)
        on_injected()

        def shown() -> tuple[int, int]:
            return _cards_correct(slack, refs_cards, final), _transitions_shown(slack, started)

        refs_cards = {ref: (await store.require(ref)).card_ts for ref in refs}
        give_up = started + size.deadline_s
        while shown() != (len(refs), len(planned)) and time.monotonic() < give_up:
            await asyncio.sleep(0.1)
        await asyncio.sleep(2 * size.pace)  # anything still queued shows up now
        await alerts.aclose(deadline=size.pace)
        stored = [await store.require(ref) for ref in refs]
        stored_right = sum(1 for campaign in stored if campaign.status is final[campaign.ref])
        cards_correct, transitions = shown()
        calls = [
            call
            for call in slack.calls()
            if call.method in MESSAGE_METHODS
            and call.at >= started
            and call.args.get("channel") == CHANNEL
        ]
        return _figure(size, calls, cards_correct, transitions, stored_right, started, alerts)


def _cards_correct(
    slack: SlackStandIn, cards: dict[str, str | None], final: dict[str, CampaignStatus]
) -> int:
    """Cards whose text is the card of the campaign at its final status."""
    by_ts = {message.ts: message for message in slack.messages_in(CHANNEL)}
    correct = 0
    for ref, ts in cards.items():
        message = by_ts.get(ts or "")
        if message is not None and message.text.endswith(f"({ref}) is {final[ref].value}"):
            correct += 1
    return correct


def _transitions_shown(slack: SlackStandIn, since: float) -> int:
    """Lines of alert messages: one per transition (coalesced alerts carry several)."""
    return sum(
        len(str(call.args.get("text", "")).splitlines())
        for call in slack.calls("chat.postMessage")
        if call.at >= since and "blocks" not in call.args
    )


def _figure(
    size: Size,
    calls: list[SlackCall],
    cards_correct: int,
    transitions: int,
    stored_right: int,
    started: float,
    alerts: ChannelAlerts,
) -> Figure:
    moments = [call.at for call in calls]
    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    busiest = max(
        (
            sum(1 for other in moments[i:] if other < moment + 1.0)
            for i, moment in enumerate(moments)
        ),
        default=0,
    )
    span = moments[-1] - moments[0] if len(moments) > 1 else 0.0
    per_second = rate(len(moments) - 1, span)
    limit = 1.0 / size.pace
    correct = cards_correct == size.campaigns and transitions == size.changes
    result = figure(
        per_second,
        "Slack messages/s in the channel",
        f"<= {limit:g} message per second per channel; every card ends on its true state",
        busiest <= limit
        and (not gaps or min(gaps) >= size.pace)
        and correct
        and stored_right == size.campaigns,
        status_changes=size.changes,
        campaigns=size.campaigns,
        changes_arrived_over_s=size.spread_s,
        pace_s=size.pace,
        slack_messages=len(calls),
        alert_posts=sum(1 for call in calls if call.method == "chat.postMessage"),
        card_updates=sum(1 for call in calls if call.method == "chat.update"),
        most_in_any_second=busiest,
        closest_gap_s=round(min(gaps), 3) if gaps else None,
        all_shown_after_s=round(moments[-1] - started, 1) if moments else None,
        cards_correct=cards_correct,
        transitions_shown=transitions,
        stored_status_correct=stored_right,
        rate_limited=alerts.metrics.rate_limited,
        updates_not_sent=alerts.metrics.dropped,
    )
    return missed(result, "see most_in_any_second and cards_correct")
