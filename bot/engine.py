"""The notification path at run time, wired from ``Services`` (docs/architecture.md, "The path
of one dialer notification"):

    dialer ──▶ inbox.publish ──▶ stream ──▶ inbox consumer ──▶ store.apply_notification
        ──▶ effects: SendStop / SendDelete to the dialer, everything else to the alert handler

and the removal sweeper, which re-sends the request a removal waits on when it has waited too long
(a crash between a transition and its request, or a dialer that was down), under a Redis lock so
that one replica sends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.exceptions import RedisError

from bot.reconcile import Reconciler, Warn, accepted_deletion, read_notification
from bot.services import Services
from bot.webhook_buffer import NotificationBuffer
from commands.handlers.removal import expire_if_due
from dialer.errors import DialerError
from state.campaign import START_SETTLE, Campaign, start_in_flight, with_stop_sent
from state.cancellation import cancellation_requested
from state.domain import CampaignStatus, DialerNotification, NotificationSource
from state.effects import ConfirmStop, Effect, RefreshCard, SendDelete, SendStop
from state.machine import STOPPED_FOR_GOOD, Outcome
from state.outbox import SHOWN_EFFECTS
from state.removal import is_expired, removal_follow_up
from state.store import ApplyResult
from state.turns import Turns

log = logging.getLogger(__name__)

AlertHandler = Callable[[Effect, Campaign | None], Awaitable[None]]
EffectHandler = Callable[[Any, Campaign | None], Awaitable[None]]
"""Handles one kind of effect (its first argument is of that kind)."""
SWEEP_INTERVAL = timedelta(seconds=30)
BOT = "campaign-bot"


def _deleted_by(result: ApplyResult) -> str | None:
    """The ref of the campaign this notification deleted, if it did."""
    campaign = result.campaign
    if result.outcome is Outcome.APPLIED and campaign and campaign.status is CampaignStatus.DELETED:
        return campaign.ref
    return None


async def ignore_alerts(effect: Effect, campaign: Campaign | None) -> None:
    log.info("alert (no Slack configured): %s", effect)


class Engine:
    def __init__(
        self,
        services: Services,
        alerts: AlertHandler = ignore_alerts,
        *,
        consumer: str | None = None,
        sweep_interval: timedelta = SWEEP_INTERVAL,
        start_settle: timedelta = START_SETTLE,
        on_deleted: Callable[[str], Awaitable[None]] | None = None,
        buffer: NotificationBuffer | None = None,
        warn: Warn | None = None,
    ) -> None:
        self.services = services
        if buffer is None:  # (not ``buffer or``: an empty buffer is falsy)
            buffer = NotificationBuffer(
                services.inbox, services.metrics, capacity=services.settings.webhook_buffer_max
            )
        self.buffer = buffer
        self.reconciler = Reconciler(services, self.buffer, warn=warn)
        self.alerts = alerts
        self.consumer = consumer or f"{socket.gethostname()}-{id(self):x}"
        self.sweep_interval = sweep_interval
        self.turns = Turns.of(services.store)
        self.start_settle = start_settle
        self.on_deleted = on_deleted
        self._reads: set[asyncio.Task[bool]] = set()  # confirmation reads under way
        self.on_removal_expired: Callable[[Campaign], Awaitable[None]] | None = None
        """Shows an expired removal request in Slack (its approval message); given the campaign
        as it was, with the request."""

    async def handle(self, notification: DialerNotification) -> ApplyResult:
        result = await self.services.store.apply_notification(notification)
        self.services.metrics.notifications.inc(outcome=result.outcome.value)
        await self.dispatch(result.effects, result.campaign)
        if self.on_deleted and (ref := _deleted_by(result)):
            await self.on_deleted(ref)  # drop what other parts keep per campaign
        return result

    async def dispatch(self, effects: Iterable[Effect], campaign: Campaign | None) -> None:
        """Each effect to its handler (``effect_handlers``): the dialer's requests here, what the
        channel shows to the alert handler."""
        handlers = self.effect_handlers()
        for effect in effects:
            try:
                await handlers[type(effect)](effect, campaign)
            except DialerError as exc:
                # The removal stays at its stage; the sweeper sends the request again.
                log.warning("%s for %s failed: %s", type(effect).__name__, effect.ref, exc)

    def effect_handlers(self) -> dict[type[Effect], EffectHandler]:
        """The one table of what each kind of effect does: every type of ``state.effects.Effect``
        has its handler here (a test checks it)."""
        handlers: dict[type[Effect], EffectHandler] = {
            SendStop: self._send_stop,
            ConfirmStop: self._confirm_after_stop,
            SendDelete: self._send_delete,
        }
        handlers.update({shown: self._show for shown in SHOWN_EFFECTS})
        return handlers

    async def _send_stop(self, effect: SendStop, campaign: Campaign | None) -> None:
        await self.services.dialer.stop(effect.ref)
        await self._stop_accepted(effect.ref)

    async def _confirm_after_stop(self, effect: ConfirmStop, campaign: Campaign | None) -> None:
        self._read_after_stop(effect.ref)

    async def _send_delete(self, effect: SendDelete, campaign: Campaign | None) -> None:
        await self.services.dialer.delete(effect.ref)
        await self._delete_accepted(effect.ref)

    async def _show(self, effect: Effect, campaign: Campaign | None) -> None:
        await self.alerts(effect, campaign)

    async def _stop_accepted(self, ref: str) -> None:
        """Remember that the dialer accepted the removal's stop, then read whether it stopped."""
        now = datetime.now(UTC)

        def change(campaign: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
            return with_stop_sent(campaign, now), ()

        await self.services.store.update(ref, change, actor=BOT, action="removal:stop-sent")
        self._read_after_stop(ref)

    def _read_after_stop(self, ref: str) -> None:
        task = asyncio.create_task(self.confirm_stop(ref), name=f"confirm stop {ref}")
        self._reads.add(task)
        task.add_done_callback(self._reads.discard)

    async def confirm_stop(self, ref: str) -> bool:
        """The confirmation read: after a stop was sent, read the dialer's status; if it is
        stopped (or completed), record that as the dialer's report of the stop, audited as
        ``confirmation``. Returns whether it recorded one. A dialer that publishes nothing for a
        stop that changed nothing (a never-started campaign) is known stopped this way."""
        services = self.services
        try:
            campaign = await services.store.get(ref)
            if campaign is None or not campaign.is_live or campaign.stop_sent_at is None:
                return False
            if campaign.stop_reported:
                return False
            if start_in_flight(campaign, datetime.now(UTC), self.start_settle):
                return False  # a stopped read may predate the start; the sweeper reads again
            read = await services.dialer.get_campaign(ref)
            if read.status not in STOPPED_FOR_GOOD:
                return False
            now = datetime.now(UTC)
            await services.inbox.publish(
                read_notification(campaign, read.status, now, NotificationSource.CONFIRMATION)
            )
            return True
        except (DialerError, RedisError) as exc:
            log.warning("confirmation read of %s failed: %s; the sweeper reads again", ref, exc)
            return False

    async def _delete_accepted(self, ref: str) -> None:
        """For a dialer that publishes nothing when it deletes (Enigma), record the deletion as
        what it is: "deleted on the dialer (request accepted)", audited as ``accepted``."""
        if getattr(self.services.unmetered_dialer, "publishes_deletion", True):
            return  # its own deleted notification follows
        campaign = await self.services.store.get(ref)
        if campaign is None or not campaign.is_live:
            return
        await self.services.inbox.publish(accepted_deletion(campaign, datetime.now(UTC)))

    async def sweep_removals(self) -> int:
        """Re-send what each stalled removal waits on; returns how many were re-sent."""
        store = self.services.store
        sent = 0
        now = datetime.now(UTC)
        approval_ttl = timedelta(seconds=self.services.settings.removal_approval_ttl_seconds)
        for campaign in await store.list_live():
            if campaign.removal is not None and is_expired(campaign.removal, now, approval_ttl):
                await self._expire_request(campaign.ref, now, approval_ttl)
                continue
            follow_up = removal_follow_up(campaign, now, self.sweep_interval)
            if follow_up is None:
                continue
            if await self.turns.removal(campaign.ref, self.consumer, self.sweep_interval):
                await self.dispatch([follow_up], campaign)
                sent += 1
        return sent

    async def _expire_request(self, ref: str, now: datetime, ttl: timedelta) -> None:
        """Expire a removal request that waited too long for its approval, once: under the
        removal lock, and by an update that only one caller can make."""
        store = self.services.store
        if not await self.turns.removal(ref, self.consumer, self.sweep_interval):
            return
        before = await expire_if_due(store, ref, now, ttl)
        if before is None:
            return
        log.info("the removal request of %s expired without an approval", ref)
        await self.dispatch([RefreshCard(ref)], await store.get(ref))
        if self.on_removal_expired is not None:
            await self.on_removal_expired(before)

    async def run(self) -> None:
        """Pump notifications in, apply them, and sweep removals, until cancelled; after a Redis
        outage, flush what webhooks left in memory and reconcile statuses with the dialer."""
        services = self.services
        recovered = self.reconciler.redis_returned
        tasks = [
            asyncio.create_task(services.dialer.run_notifications(self.publish)),
            asyncio.create_task(
                services.inbox.run(self.consumer, self.handle, on_recovered=recovered)
            ),
            asyncio.create_task(self._sweep_forever()),
            asyncio.create_task(self.buffer.run()),
            asyncio.create_task(self.reconciler.run()),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)

    async def publish(self, notification: DialerNotification) -> None:
        """Put a pushed notification into the stream, waiting for Redis as long as it takes.

        The dialer told us once (Pub/Sub, a poll, the simulator): dropping it on a Redis blip
        would lose it, and raising would end the adapter's notification loop.
        """
        backoff = 0.1
        while True:
            try:
                await self.services.inbox.publish(notification)
                return
            except RedisError as exc:
                if cancellation_requested():
                    raise asyncio.CancelledError from exc
                log.warning("notification %s waits for Redis: %s", notification.event_id, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                # Cluster layout: the index and audit writes a crash left as follow-ups.
                await self.services.store.sweep_followups()
                await self.sweep_removals()
            except Exception:
                if cancellation_requested():
                    raise asyncio.CancelledError from None
                log.exception("removal sweep failed; trying again next round")
            await asyncio.sleep(self.sweep_interval.total_seconds())
