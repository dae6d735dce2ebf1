"""Campaign state changes, shown in the campaign's channel at the pace Slack allows.

``ChannelAlerts`` is the engine's ``AlertHandler`` (DESIGN section 2, the last step of a
notification's path). Calling it only queues the effect; one worker per channel then makes at most
one Slack call per ``pace`` seconds (Slack: about one message per second per channel):

- ``StatusAlert``: an alert message, then the campaign's card redrawn;
- ``RefreshCard``, ``RemovalRequested``, ``RemovalRejected``: the card redrawn (the approval
  message itself belongs to the removal command, which needs its ts).

Queued work coalesces: all card redraws of one campaign that wait in the queue become one, drawn
from the campaign as stored when it is sent, so the card always ends on the true state; status
alerts of one campaign that wait in the queue become one message with a line per transition.
The Web API client retries a call Slack answered with 429 (after ``Retry-After``), 5xx or a dropped
connection (``bot.slack.client``); a 429 also makes the other channels' workers wait out its
``Retry-After`` before calling that method. A job that still fails for a passing reason (network,
Redis connection) is tried again, ``MAX_ATTEMPTS`` times in all; anything else
(``channel_not_found``, a renderer bug) is logged and the worker goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from redis.exceptions import ConnectionError as RedisConnectionError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import AlertMetrics
from bot.slack.client import on_rate_limit, rate_limits_of
from commands.limits import MAX_MESSAGE_TEXT
from state.campaign import Campaign
from state.effects import Effect, RefreshCard, RemovalRejected, RemovalRequested, StatusAlert
from state.store import CampaignStore

log = logging.getLogger(__name__)

CardRenderer = Callable[[Campaign], tuple[str, list[dict[str, Any]]]]
AlertRenderer = Callable[[StatusAlert, Campaign | None], str]

SLACK_PACE = 1.0
"""Seconds between two Slack calls for one channel."""
DRAIN_DEADLINE = 10.0
MAX_ATTEMPTS = 3
"""Tries of one job when the network or Redis fails for a passing reason (after the client's own
retries)."""
BOT_ACTOR = "campaign-bot"


@dataclass
class _AlertJob:
    ref: str
    transitions: list[tuple[StatusAlert, Campaign | None]]
    attempts: int = 1


@dataclass
class _CardJob:
    ref: str
    attempts: int = 1


_Job = _AlertJob | _CardJob


@dataclass
class _ChannelQueue:
    """One channel's waiting jobs, in order, with the still-unsent job of each kind per ref."""

    jobs: deque[_Job] = field(default_factory=deque)
    waiting_alert: dict[str, _AlertJob] = field(default_factory=dict)
    waiting_card: set[str] = field(default_factory=set)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    next_call_at: float = 0.0  # time.monotonic()

    def add_alert(self, alert: StatusAlert, campaign: Campaign | None) -> bool:
        """Queue ``alert``; True if it joined an alert of its campaign that is still waiting."""
        job = self.waiting_alert.get(alert.ref)
        if job is not None:
            job.transitions.append((alert, campaign))
            return True
        job = _AlertJob(alert.ref, [(alert, campaign)])
        self.waiting_alert[alert.ref] = job
        self._push(job)
        return False

    def add_card(self, ref: str) -> bool:
        """Queue a redraw of ``ref``'s card; True if one is already waiting."""
        if ref in self.waiting_card:
            return True
        self.waiting_card.add(ref)
        self._push(_CardJob(ref))
        return False

    def put_back(self, job: _Job) -> None:
        """Return a job that failed for a passing reason; it goes first, or joins its newer twin."""
        if isinstance(job, _CardJob):
            if job.ref not in self.waiting_card:
                self.waiting_card.add(job.ref)
                self.jobs.appendleft(job)
            return
        newer = self.waiting_alert.get(job.ref)
        if newer is not None:
            newer.transitions[:0] = job.transitions
            return
        self.waiting_alert[job.ref] = job
        self.jobs.appendleft(job)

    def pop(self) -> _Job | None:
        if not self.jobs:
            return None
        job = self.jobs.popleft()
        if isinstance(job, _AlertJob):
            del self.waiting_alert[job.ref]
        else:
            self.waiting_card.discard(job.ref)
        return job

    def _push(self, job: _Job) -> None:
        self.jobs.append(job)
        self.wake.set()


class ChannelAlerts:
    def __init__(
        self,
        client: AsyncWebClient,
        store: CampaignStore,
        default_channel: str | None,
        *,
        render_card: CardRenderer,
        render_alert: AlertRenderer,
        pace: float = SLACK_PACE,
    ) -> None:
        self.client = client
        self.store = store
        self.default_channel = default_channel
        self.render_card = render_card
        self.render_alert = render_alert
        self.pace = pace
        self.metrics = AlertMetrics()
        self._queues: dict[str, _ChannelQueue] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._lookups: set[asyncio.Task[None]] = set()
        self._rate_limits = rate_limits_of(client)
        self._closing = False

    # -- the notification path: queue and return ---------------------------------------------

    async def __call__(self, effect: Effect, campaign: Campaign | None) -> None:
        if self._closing:
            log.warning("alerts are closing; %s not shown in Slack", effect)
            self.metrics.dropped += 1
            return
        if campaign is None:
            # The channel is on the stored campaign; look it up off the notification path.
            task = asyncio.create_task(self._enqueue_after_lookup(effect))
            self._lookups.add(task)
            task.add_done_callback(self._lookups.discard)
            return
        self._enqueue(effect, campaign)

    async def _enqueue_after_lookup(self, effect: Effect) -> None:
        try:
            campaign = await self.store.get(effect.ref)
        except Exception:
            log.exception("could not read campaign %s; %s not shown in Slack", effect.ref, effect)
            self.metrics.dropped += 1
            return
        if campaign is None:
            log.warning("campaign %s is unknown; %s not shown in Slack", effect.ref, effect)
            self.metrics.dropped += 1
            return
        self._enqueue(effect, campaign)

    def _enqueue(self, effect: Effect, campaign: Campaign) -> None:
        channel = campaign.channel_id or self.default_channel
        if channel is None:
            log.warning(
                "no channel for %s and no SLACK_ALERT_CHANNEL; %s dropped", effect.ref, effect
            )
            self.metrics.dropped += 1
            return
        queue = self._queue(channel)
        if isinstance(effect, StatusAlert):
            self.metrics.alerts_queued += 1
            self.metrics.alerts_merged += queue.add_alert(effect, campaign)
            self.metrics.cards_coalesced += queue.add_card(effect.ref)
        elif isinstance(effect, RefreshCard | RemovalRequested | RemovalRejected):
            self.metrics.cards_coalesced += queue.add_card(effect.ref)

    def _queue(self, channel: str) -> _ChannelQueue:
        queue = self._queues.get(channel)
        if queue is None:
            queue = self._queues[channel] = _ChannelQueue()
            self._workers[channel] = asyncio.create_task(
                self._work(channel, queue), name=f"slack-alerts:{channel}"
            )
        return queue

    # -- one worker per channel --------------------------------------------------------------

    async def _work(self, channel: str, queue: _ChannelQueue) -> None:
        while True:
            job = queue.pop()
            if job is None:
                if self._closing:
                    return
                queue.wake.clear()
                await queue.wake.wait()
                continue
            try:
                await self._send(channel, queue, job)
            except Exception as exc:
                await self._failed(channel, queue, job, exc)

    async def _send(self, channel: str, queue: _ChannelQueue, job: _Job) -> None:
        if isinstance(job, _AlertJob):
            await self._post_alert(channel, queue, job)
        else:
            await self._draw_card(channel, queue, job.ref)

    async def _failed(self, channel: str, queue: _ChannelQueue, job: _Job, exc: Exception) -> None:
        self.metrics.slack_errors += 1
        if not _is_transient(exc) or job.attempts >= MAX_ATTEMPTS:
            log.error("Slack update for %s in %s failed; going on", job.ref, channel, exc_info=exc)
            return
        log.warning("Slack update for %s in %s failed (%s); trying again", job.ref, channel, exc)
        job.attempts += 1
        queue.put_back(job)
        await asyncio.sleep(self.pace)

    async def _post_alert(self, channel: str, queue: _ChannelQueue, job: _AlertJob) -> None:
        text = alert_text([self.render_alert(alert, c) for alert, c in job.transitions])
        await self._call(queue, "chat.postMessage", channel=channel, text=text)

    async def _draw_card(self, channel: str, queue: _ChannelQueue, ref: str) -> None:
        campaign = await self.store.get(ref)
        if campaign is None:
            log.warning("campaign %s is gone; its card is not redrawn", ref)
            return
        text, blocks = self.render_card(campaign)
        if campaign.card_ts is not None:
            try:
                await self._call(
                    queue,
                    "chat.update",
                    channel=channel,
                    ts=campaign.card_ts,
                    text=text,
                    blocks=blocks,
                )
                return
            except SlackApiError as exc:
                if exc.response.get("error") != "message_not_found":
                    raise
                log.warning("card of %s was deleted from %s; posting a new one", ref, channel)
        answer = await self._call(
            queue, "chat.postMessage", channel=channel, text=text, blocks=blocks
        )
        await self._remember_card(ref, str(answer["ts"]), campaign.card_ts)

    async def _remember_card(self, ref: str, ts: str, replaced: str | None) -> None:
        def change(campaign: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
            if campaign.card_ts not in (None, replaced):
                return campaign, ()  # another replica posted a card meanwhile; keep that one
            return campaign.model_copy(update={"card_ts": ts}), ()

        await self.store.update(ref, change, actor=BOT_ACTOR, action="card_posted")

    # -- one Slack call, paced; the client waits out 429s --------------------------------------

    async def _call(self, queue: _ChannelQueue, method: str, **args: Any) -> Any:
        # Slack counts most limits per method and workspace: every channel holds off after a 429.
        await _sleep_until(max(queue.next_call_at, self._rate_limits.free_at(method)))
        self.metrics.slack_calls += 1
        try:
            with on_rate_limit(self._rate_limited):
                if method == "chat.update":
                    return await self.client.chat_update(**args)
                return await self.client.chat_postMessage(**args)
        finally:
            # Counted from the answer, so Slack never sees two calls closer than the pace.
            queue.next_call_at = time.monotonic() + self.pace

    def _rate_limited(self, method: str, retry_after: float) -> None:
        self.metrics.rate_limited += 1

    # -- shutdown ----------------------------------------------------------------------------

    async def aclose(self, deadline: float = DRAIN_DEADLINE) -> None:
        """Send what is queued, for at most ``deadline`` seconds, then stop the workers."""
        self._closing = True
        give_up_at = time.monotonic() + deadline
        if self._lookups:
            await asyncio.wait(set(self._lookups), timeout=deadline)
        for queue in self._queues.values():
            queue.wake.set()
        workers = set(self._workers.values())
        if not workers:
            return
        remaining = max(give_up_at - time.monotonic(), 0.0)
        _, unfinished = await asyncio.wait(workers, timeout=remaining)
        for task in unfinished | set(self._lookups):
            task.cancel()
        left = sum(len(queue.jobs) for queue in self._queues.values())
        if left:
            self.metrics.dropped += left
            log.warning("alert drain deadline passed; %d Slack updates not sent", left)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*unfinished, return_exceptions=True)


def alert_text(lines: list[str], limit: int = MAX_MESSAGE_TEXT) -> str:
    """The coalesced alert lines as one message within Slack's 40,000 characters: when a long
    burst does not fit, the latest changes are kept (they end on the true state) and the first
    line says how many earlier ones were left out."""
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    kept: list[str] = []
    size = len(f"… and {len(lines):,} earlier changes\n")
    for line in reversed(lines):
        size += len(line) + 1
        if size > limit:
            break
        kept.append(line)
    return "\n".join([f"… and {len(lines) - len(kept):,} earlier changes", *reversed(kept)])


def _is_transient(exc: Exception) -> bool:
    """Worth trying the job again. Slack's answers (429, 5xx) were retried by the client."""
    if isinstance(exc, SlackApiError):
        return False
    return isinstance(exc, aiohttp.ClientError | TimeoutError | OSError | RedisConnectionError)


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
