"""Campaign state changes, shown in the campaign's channel at the pace Slack allows, by whichever
replica holds the channel.

``ChannelAlerts`` is the engine's ``AlertHandler`` (the last step of "The path of one dialer
notification" in docs/architecture.md). What is to be shown waits in Redis, in the channel's
outbox (``state.outbox``), never in process memory: a notification's alerts are recorded in the same
transaction that applies it, and an effect handed to ``ChannelAlerts`` (by a command) is recorded
before the call returns. So a replica that dies (even SIGKILL) loses nothing; another sends it.

- ``StatusAlert``: an alert message, then the campaign's card redrawn;
- ``RefreshCard``, ``RemovalRequested``, ``RemovalRejected``: the card redrawn (the approval
  message itself belongs to the removal command, which needs its ts).

Every replica polls the set of channels with pending entries (at once when it records one itself,
else every ``POLL_INTERVAL``). A channel's entries are sent by one replica at a time, the holder of
the channel's lease in Redis (renewed while it works, released when the outbox is empty; a dead
replica's lease expires after ``state.outbox.LEASE_TTL`` and another replica takes over). It makes
at most one Slack call per ``pace`` seconds (Slack: about one message per second per channel), and
the pace holds across replicas: after each call the channel's quiet key in Redis lives for the
pace, and the next sender, whichever replica, waits it out. An entry is deleted once Slack accepted
the call it went into (or it failed for good), so a crash mid-call may at worst show it twice.

Waiting work coalesces: all card redraws of one campaign that wait in the outbox become one, drawn
from the campaign as stored when it is sent, so the card always ends on the true state; status
alerts of one campaign that wait become one message with a line per transition.
The Web API client retries a call Slack answered with 429 (after ``Retry-After``), 5xx or a dropped
connection (``bot.slack.client``); a 429 also makes this replica's other channels wait out its
``Retry-After`` before calling that method. A job that still fails for a passing reason (network,
Redis connection) is tried again, ``MAX_ATTEMPTS`` times in all; anything else
(``channel_not_found``, a renderer bug) is logged, its entries are deleted and the worker goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import AlertMetrics
from bot.slack.client import on_rate_limit, rate_limits_of
from commands.limits import MAX_MESSAGE_TEXT
from state.campaign import Campaign
from state.effects import Effect, StatusAlert
from state.outbox import LEASE_TTL, AlertOutbox, OutboxEntry, is_shown
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
POLL_INTERVAL = 0.5
"""How often a replica looks for channels with pending alerts it did not record itself."""
BOT_ACTOR = "campaign-bot"


@dataclass
class _AlertJob:
    ref: str
    transitions: list[tuple[StatusAlert, Campaign | None]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


@dataclass
class _CardJob:
    ref: str
    ids: list[str] = field(default_factory=list)


_Job = _AlertJob | _CardJob


class _LeaseLost(Exception):
    """The channel's lease went to another replica: stop calling Slack for it."""


def plan(entries: list[OutboxEntry]) -> list[_Job]:
    """The jobs the pending entries make, in the order of their first entry: each campaign's
    waiting alerts become one job, and its waiting card redraws another."""
    jobs: list[_Job] = []
    alerts: dict[str, _AlertJob] = {}
    cards: dict[str, _CardJob] = {}
    for entry in entries:
        if entry.alert is not None:
            alert = alerts.get(entry.ref)
            if alert is None:
                alert = alerts[entry.ref] = _AlertJob(entry.ref)
                jobs.append(alert)
            alert.transitions.append((entry.alert, entry.campaign))
            alert.ids.append(entry.id)
        else:
            card = cards.get(entry.ref)
            if card is None:
                card = cards[entry.ref] = _CardJob(entry.ref)
                jobs.append(card)
            card.ids.append(entry.id)
    return jobs


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
        lease_ttl: float = LEASE_TTL,
        poll_interval: float = POLL_INTERVAL,
    ) -> None:
        self.client = client
        self.store = store
        self.default_channel = default_channel
        self.render_card = render_card
        self.render_alert = render_alert
        self.pace = pace
        self.poll_interval = poll_interval
        self.metrics = AlertMetrics()
        self.owner = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.outbox = AlertOutbox(
            store.redis,
            store.keys,
            default_channel,
            on_recorded=self._recorded,
            lease_ttl=lease_ttl,
        )
        store.outbox = self.outbox  # notifications record their alerts as they are applied
        self._wake = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._workers: dict[str, asyncio.Task[bool]] = {}
        self._next_call_at: dict[str, float] = {}  # time.monotonic(), this replica's own calls
        self._attempts: dict[str, int] = {}  # first entry id of a failing job -> tries
        self._rate_limits = rate_limits_of(client)
        self._closing = False

    # -- recording: the engine and the commands hand effects over ----------------------------

    async def __call__(self, effect: Effect, campaign: Campaign | None) -> None:
        """Record ``effect`` in its channel's outbox; it is sent from there."""
        if not is_shown(effect):
            return
        if campaign is None:
            try:
                campaign = await self.store.get(effect.ref)
            except Exception:
                log.exception("could not read %s; %s not shown in Slack", effect.ref, effect)
                self.metrics.dropped += 1
                return
            if campaign is None:
                log.warning("campaign %s is unknown; %s not shown in Slack", effect.ref, effect)
                self.metrics.dropped += 1
                return
        if not await self.outbox.record([effect], campaign):
            self.metrics.dropped += 1  # no channel; the outbox logged it

    def _recorded(self, effects: list[Effect]) -> None:
        self.metrics.alerts_queued += sum(isinstance(e, StatusAlert) for e in effects)
        self._wake.set()
        self.start()

    # -- finding work: this replica's and what dead replicas left ----------------------------

    def start(self) -> None:
        """Start looking for channels with pending alerts (``serve`` calls it; recording an
        effect does too). Needs a running event loop; does nothing once closing."""
        if self._closing or (self._poller is not None and not self._poller.done()):
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        self._poller = asyncio.create_task(self._poll(), name="slack-alerts")

    async def _poll(self) -> None:
        backoff = self.poll_interval
        while not self._closing:
            self._wake.clear()
            try:
                await self._start_workers()
                backoff = self.poll_interval
            except (RedisError, OSError) as exc:
                log.warning("alerts: Redis unavailable (%s); looking again later", exc)
                backoff = min(backoff * 2, 5.0)
            # aclose sets the event rather than cancelling: a cancellation that lands as a
            # timeout expires can be taken for the timeout (and wait_for can swallow one).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(backoff):
                    await self._wake.wait()

    async def _start_workers(self, skip: frozenset[str] = frozenset()) -> None:
        for channel in await self.outbox.pending_channels() - skip:
            task = self._workers.get(channel)
            if task is None or task.done():
                self._workers[channel] = asyncio.create_task(
                    self._work(channel), name=f"slack-alerts:{channel}"
                )

    # -- one worker per channel, while this replica holds the channel's lease -----------------

    async def _work(self, channel: str) -> bool:
        """Send the channel's pending entries while holding its lease; False if another replica
        holds it (or Redis did not answer)."""
        try:
            if not await self.outbox.acquire(channel, self.owner):
                return False  # another replica sends this channel's alerts
        except (RedisError, OSError) as exc:
            log.warning("alerts for %s: Redis unavailable (%s)", channel, exc)
            return False
        lost, done = asyncio.Event(), asyncio.Event()
        renewer = asyncio.create_task(self._renew(channel, lost, done))
        try:
            await self._drain(channel, lost)
        except (RedisError, OSError) as exc:
            log.warning("alerts for %s: Redis unavailable (%s); they stay pending", channel, exc)
        except Exception:
            log.exception("alerts for %s stopped; they stay pending", channel)
        finally:
            # Told to stop rather than cancelled, so no renewal is cut off mid-command.
            done.set()
            await asyncio.wait({renewer}, timeout=self.outbox.lease_ttl)
            renewer.cancel()
            with contextlib.suppress(RedisError, OSError):
                await self.outbox.release(channel, self.owner)
        if not self._closing:
            self._wake.set()  # anything recorded since the outbox looked empty
        return True

    async def _renew(self, channel: str, lost: asyncio.Event, done: asyncio.Event) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.outbox.lease_ttl / 3):
                    await done.wait()
            if done.is_set():
                return
            try:
                held = await self.outbox.renew(channel, self.owner)
            except (RedisError, OSError):
                held = False
            if not held:
                log.warning("alerts for %s: lease lost; another replica goes on", channel)
                lost.set()
                return

    async def _drain(self, channel: str, lost: asyncio.Event) -> None:
        while not lost.is_set():
            entries = await self.outbox.entries(channel)
            unreadable = [entry.id for entry in entries if not entry.ref]
            if unreadable:
                await self.outbox.remove(channel, unreadable)
                continue
            if not entries:
                if await self.outbox.settle_if_empty(channel):
                    return
                continue
            job = plan(entries)[0]
            try:
                await self._send(channel, lost, job)
            except _LeaseLost:
                return
            except Exception as exc:
                if not await self._failed(channel, job, exc):
                    continue  # tried again
            self._attempts.pop(job.ids[0], None)
            self._count_coalesced(job)
            await self.outbox.remove(channel, job.ids)

    def _count_coalesced(self, job: _Job) -> None:
        if isinstance(job, _AlertJob):
            self.metrics.alerts_merged += len(job.ids) - 1
        else:
            self.metrics.cards_coalesced += len(job.ids) - 1

    async def _send(self, channel: str, lost: asyncio.Event, job: _Job) -> None:
        if isinstance(job, _AlertJob):
            await self._post_alert(channel, lost, job)
        else:
            await self._draw_card(channel, lost, job.ref)

    async def _failed(self, channel: str, job: _Job, exc: Exception) -> bool:
        """True if ``job`` is given up (its entries go), False if it is to be tried again."""
        self.metrics.slack_errors += 1
        attempts = self._attempts.get(job.ids[0], 1)
        if not _is_transient(exc) or attempts >= MAX_ATTEMPTS:
            log.error("Slack update for %s in %s failed; going on", job.ref, channel, exc_info=exc)
            return True
        log.warning("Slack update for %s in %s failed (%s); trying again", job.ref, channel, exc)
        self._attempts[job.ids[0]] = attempts + 1
        await asyncio.sleep(self.pace)
        return False

    async def _post_alert(self, channel: str, lost: asyncio.Event, job: _AlertJob) -> None:
        text = alert_text([self.render_alert(alert, c) for alert, c in job.transitions])
        await self._call(lost, "chat.postMessage", channel=channel, text=text)

    async def _draw_card(self, channel: str, lost: asyncio.Event, ref: str) -> None:
        campaign = await self.store.get(ref)
        if campaign is None:
            log.warning("campaign %s is gone; its card is not redrawn", ref)
            return
        text, blocks = self.render_card(campaign)
        if campaign.card_ts is not None:
            try:
                await self._call(
                    lost,
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
            lost, "chat.postMessage", channel=channel, text=text, blocks=blocks
        )
        await self._remember_card(ref, str(answer["ts"]), campaign.card_ts)

    async def _remember_card(self, ref: str, ts: str, replaced: str | None) -> None:
        def change(campaign: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
            if campaign.card_ts not in (None, replaced):
                return campaign, ()  # another replica posted a card meanwhile; keep that one
            return campaign.model_copy(update={"card_ts": ts}), ()

        await self.store.update(ref, change, actor=BOT_ACTOR, action="card_posted")

    # -- one Slack call, paced across replicas; the client waits out 429s -----------------------

    async def _call(self, lost: asyncio.Event, method: str, **args: Any) -> Any:
        channel = str(args["channel"])
        # Slack counts most limits per method and workspace: every channel holds off after a 429.
        quiet = time.monotonic() + await self.outbox.quiet_for(channel)
        await _sleep_until(
            max(self._next_call_at.get(channel, 0.0), quiet, self._rate_limits.free_at(method))
        )
        if lost.is_set():
            raise _LeaseLost(channel)
        self.metrics.slack_calls += 1
        try:
            with on_rate_limit(self._rate_limited):
                if method == "chat.update":
                    return await self.client.chat_update(**args)
                return await self.client.chat_postMessage(**args)
        finally:
            # Counted from the answer, so Slack never sees two calls closer than the pace.
            self._next_call_at[channel] = time.monotonic() + self.pace
            with contextlib.suppress(RedisError, OSError):
                await self.outbox.keep_quiet(channel, self.pace)

    def _rate_limited(self, method: str, retry_after: float) -> None:
        self.metrics.rate_limited += 1

    # -- shutdown ----------------------------------------------------------------------------

    async def aclose(self, deadline: float = DRAIN_DEADLINE) -> None:
        """Send what is pending, for at most ``deadline`` seconds, then stop the workers; what is
        not sent by then stays in Redis for another replica or the next start."""
        self._closing = True
        give_up_at = time.monotonic() + deadline
        if self._poller is not None:
            self._wake.set()  # the poller sees it is closing and ends
            await asyncio.wait({self._poller}, timeout=max(deadline, 1.0))
            for _ in range(3):
                if self._poller.done():
                    break
                self._poller.cancel()
                await asyncio.wait({self._poller}, timeout=1.0)
        held_elsewhere: set[str] = set()
        while (remaining := give_up_at - time.monotonic()) > 0:
            # What was recorded since the last look, or while a worker was finishing.
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._start_workers(frozenset(held_elsewhere))
            workers = {
                channel: task
                for channel, task in self._workers.items()
                if not task.done() and channel not in held_elsewhere
            }
            if not workers:
                break
            remaining = max(give_up_at - time.monotonic(), 0.0)
            await asyncio.wait(workers.values(), timeout=remaining)
            for channel, task in workers.items():
                if _held_elsewhere(task):
                    held_elsewhere.add(channel)
        unfinished = {task for task in self._workers.values() if not task.done()}
        for _ in range(3):  # a cancellation that lands as a timeout expires can be lost
            if not unfinished:
                break
            for task in unfinished:
                task.cancel()
            _, unfinished = await asyncio.wait(unfinished, timeout=1.0)
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                channels = await self.outbox.pending_channels()
                left = sum([await self.outbox.pending_count(c) for c in channels])
                if left:
                    log.warning(
                        "alert drain deadline passed; %d Slack updates stay in Redis for another "
                        "replica or the next start",
                        left,
                    )


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


def _held_elsewhere(worker: asyncio.Task[bool]) -> bool:
    """The worker ended at once: another replica held its channel's lease."""
    if not worker.done() or worker.cancelled() or worker.exception() is not None:
        return False
    return not worker.result()


def _is_transient(exc: Exception) -> bool:
    """Worth trying the job again. Slack's answers (429, 5xx) were retried by the client."""
    if isinstance(exc, SlackApiError):
        return False
    return isinstance(exc, aiohttp.ClientError | TimeoutError | OSError | RedisConnectionError)


async def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
