"""Drift detection and repair: set each live campaign's status to what the dialer says it is,
when a notification was lost.

A pass reads the dialer's list of campaigns and compares it with the stored statuses. For each
live campaign that differs ("drift"), the campaign's channel gets one warning ("the dialer reports
stopped; no notification arrived"); a moment later the dialer is read again, and where the second
read agrees (and no notification has changed the campaign meanwhile) a notification marked
``source=reconciliation`` goes into the inbox behind the others. The state machine applies it as a
correction (``state.machine._read_status``), audited as ``reconciliation:…``: it corrects the card
and closes a request it fulfils; it moves a removal from stopping to the delete only when a stop
was sent (so a removal whose ``stopped`` notification was lost finishes), never otherwise; and a
read never deletes.

A pass runs every ``RECONCILE_INTERVAL_SECONDS`` on one replica at a time (a Redis lock that
lives for the interval), and on every replica once Redis answers again after an outage (what the
webhook buffer held is in the inbox first) and once the dialer answers again after it was
unavailable.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.metered import MeteredDialer
from bot.services import Services
from bot.webhook_buffer import REDIS_AWAY, NotificationBuffer
from commands.text import escape
from dialer.errors import DialerError
from state.campaign import NO_SEQUENCE, Campaign
from state.cancellation import cancellation_requested
from state.domain import CampaignStatus, DialerNotification, NotificationKind, NotificationSource
from state.turns import Turns

log = logging.getLogger(__name__)

ATTEMPTS = 6
FIRST_BACKOFF = 1.0
SECOND_READ_AFTER = 2.0
"""Seconds between the read that finds a drift and the one that must agree before it is
corrected (at most half the interval): a notification still on its way lands first."""
DRIFT_MEMORY_SECONDS = 600
"""How long a drift that was warned about is remembered, so that its channel is warned once."""

Warn = Callable[[Campaign, str], Awaitable[None]]


def drift_warning(campaign: Campaign, reported: CampaignStatus) -> str:
    name = escape(campaign.name).replace("*", "")  # inside *…*: a star would end the bold
    return (
        f":warning: *{name}* `{campaign.ref}`: the dialer reports "
        f"*{reported.value}*; no notification arrived (the bot shows {campaign.status.value}). "
        "The status is corrected if a second read agrees."
    )


def slack_warning(client: Any, default_channel: str | None) -> Warn:
    """A ``Warn`` posting to the campaign's channel through the Slack Web API client."""

    async def warn(campaign: Campaign, text: str) -> None:
        channel = campaign.channel_id or default_channel
        if channel is None:
            log.warning("drift of %s not posted: no channel; %s", campaign.ref, text)
            return
        try:
            await client.chat_postMessage(channel=channel, text=text)
        except Exception as exc:
            log.error("drift warning for %s not posted to %s: %s", campaign.ref, channel, exc)

    return warn


def read_notification(
    campaign: Campaign,
    status: CampaignStatus,
    now: datetime,
    source: NotificationSource = NotificationSource.RECONCILIATION,
) -> DialerNotification:
    """A status the bot read from the dialer, marked with why it was read (never ``dialer``)."""
    return DialerNotification(
        event_id=f"{source.value}-{uuid.uuid4().hex}",
        dialer=campaign.dialer,
        kind=NotificationKind.STATUS,
        campaign_ref=campaign.ref,
        dialer_campaign_id=campaign.dialer_id,
        # What the reader saw: a notification applied after the read makes this one stale.
        sequence=max(campaign.status_sequence, NO_SEQUENCE + 1),
        occurred_at=now,
        status=status,
        source=source,
    )


def reconciliation_notification(
    campaign: Campaign, status: CampaignStatus, now: datetime
) -> DialerNotification:
    return read_notification(campaign, status, now, NotificationSource.RECONCILIATION)


def accepted_deletion(campaign: Campaign, now: datetime) -> DialerNotification:
    """ "Deleted on the dialer (request accepted)": the record of a delete the dialer accepted
    and publishes nothing about. Applied only to a removal that sent that delete."""
    accepted = read_notification(
        campaign, CampaignStatus.DELETED, now, NotificationSource.ACCEPTED
    )
    return accepted.model_copy(
        update={"actor": "the bot's delete (the dialer accepted it and publishes no deletion)"}
    )


async def _drifting(services: Services) -> dict[str, tuple[Campaign, CampaignStatus]]:
    """Live campaigns the dialer reports in another status (a deletion is never taken from a
    read; a campaign the dialer no longer lists is left alone)."""
    dialer_name = services.dialer.name
    live = [c for c in await services.store.list_live() if c.dialer == dialer_name]
    if not live:
        return {}
    reported = {c.ref: c.status for c in await services.dialer.list_campaigns() if c.ref}
    drifting: dict[str, tuple[Campaign, CampaignStatus]] = {}
    for campaign in live:
        status = reported.get(campaign.ref)
        if status is None or status is campaign.status or status is CampaignStatus.DELETED:
            continue
        drifting[campaign.ref] = (campaign, status)
    return drifting


async def reconcile(
    services: Services, *, second_read_after: float = 0.0, warn: Warn | None = None
) -> int:
    """One pass: warn about each drifting campaign once, read again after
    ``second_read_after`` seconds, and queue a correction for each drift the second read
    confirms; return how many."""
    first = await _drifting(services)
    if not first:
        return 0
    redis, keys = services.store.redis, services.store.keys
    for ref, (campaign, status) in first.items():
        log.info("drift: %s is %s on the dialer, %s here", ref, status, campaign.status)
        key = keys.reconcile_drift(ref, status.value)
        if warn is not None and await redis.set(key, "1", nx=True, ex=DRIFT_MEMORY_SECONDS):
            await warn(campaign, drift_warning(campaign, status))
    if second_read_after > 0:
        await asyncio.sleep(second_read_after)
    second = await _drifting(services)
    now = datetime.now(UTC)
    corrected = 0
    for ref, (campaign, status) in second.items():
        if ref not in first or first[ref][1] is not status:
            continue
        log.info("reconciliation: %s is %s on the dialer, %s here", ref, status, campaign.status)
        await services.inbox.publish(reconciliation_notification(campaign, status, now))
        await redis.delete(keys.reconcile_drift(ref, status.value))
        corrected += 1
    services.metrics.reconciliations.inc(corrected)
    return corrected


class Reconciler:
    """Runs ``reconcile`` every ``reconcile_interval_seconds`` (one replica at a time), once
    Redis is back after an outage (``redis_returned``) and once the dialer answers again after
    it was unavailable (``dialer_returned``)."""

    def __init__(
        self, services: Services, buffer: NotificationBuffer, *, warn: Warn | None = None
    ) -> None:
        self.services = services
        self.buffer = buffer
        self.warn = warn
        self.interval = services.settings.reconcile_interval_seconds
        self.owner = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self._due = asyncio.Event()
        buffer.when_flushed(self.redis_returned)
        if isinstance(services.dialer, MeteredDialer):
            services.dialer.on_recovered = self.dialer_returned

    def redis_returned(self) -> None:
        self._due.set()

    def dialer_returned(self) -> None:
        self._due.set()

    @property
    def second_read_after(self) -> float:
        return min(SECOND_READ_AFTER, self.interval / 2)

    async def run(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._due.wait(), self.interval)
                triggered = True
            except TimeoutError:
                triggered = False
            self._due.clear()
            if triggered:
                await self.buffer.drained()  # what the dialer said first, then the correction
                await self._reconcile_with_retries()
            elif await self._take_turn():
                await self._reconcile_once()

    async def _take_turn(self) -> bool:
        """The periodic pass runs on one replica per interval: whoever sets the lock first."""
        turns = Turns.of(self.services.store)
        try:
            return await turns.reconciliation(self.owner, timedelta(seconds=self.interval))
        except REDIS_AWAY as exc:
            log.warning("periodic reconciliation skipped: %s", exc)
            return False

    async def _reconcile_once(self) -> None:
        try:
            corrected = await reconcile(
                self.services, second_read_after=self.second_read_after, warn=self.warn
            )
        except (DialerError, *REDIS_AWAY) as exc:
            if cancellation_requested():
                raise asyncio.CancelledError from exc
            log.warning("periodic reconciliation failed: %s; next round in %gs", exc, self.interval)
            return
        if corrected:
            log.info("periodic reconciliation: %d campaign(s) corrected", corrected)

    async def _reconcile_with_retries(self) -> None:
        backoff = FIRST_BACKOFF
        for attempt in range(1, ATTEMPTS + 1):
            try:
                corrected = await reconcile(
                    self.services, second_read_after=self.second_read_after, warn=self.warn
                )
                log.info("reconciliation after an outage: %d campaign(s) corrected", corrected)
                return
            except (DialerError, *REDIS_AWAY) as exc:
                if cancellation_requested():
                    raise asyncio.CancelledError from exc
                log.warning("reconciliation attempt %d failed: %s", attempt, exc)
                await asyncio.sleep(backoff)
                backoff *= 2
        log.error("reconciliation gave up; statuses change again with the dialer's next news")
