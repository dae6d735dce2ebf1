"""After a Redis outage, set each live campaign's status to what the dialer says it is.

Notifications may have been lost while Redis was away (a replica died holding buffered ones, the
buffer was full, a dialer gave up retrying). Once Redis answers again, and what the buffer held
is in the inbox, the dialer's list of campaigns is read and, for each live campaign whose status
differs, a notification marked ``source=reconciliation`` goes into the inbox behind the others.
The state machine applies it as a correction only: it never moves a removal on (see
``state.machine._reconcile_status``), and the audit records it as ``reconciliation:…``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime

from bot.bootstrap import Services
from bot.webhook_buffer import REDIS_AWAY, NotificationBuffer
from dialer.cancellation import cancellation_requested
from dialer.errors import DialerError
from dialer.models import (
    CampaignStatus,
    DialerNotification,
    NotificationKind,
    NotificationSource,
)
from state.campaign import NO_SEQUENCE, Campaign

log = logging.getLogger(__name__)

ATTEMPTS = 6
FIRST_BACKOFF = 1.0


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
    """"Deleted on the dialer (request accepted)": the record of a delete the dialer accepted
    and publishes nothing about. Applied only to a removal that sent that delete."""
    return DialerNotification(
        event_id=f"accepted-{uuid.uuid4().hex}",
        dialer=campaign.dialer,
        kind=NotificationKind.STATUS,
        campaign_ref=campaign.ref,
        dialer_campaign_id=campaign.dialer_id,
        sequence=max(campaign.status_sequence, NO_SEQUENCE + 1),
        occurred_at=now,
        status=CampaignStatus.DELETED,
        actor="the bot's delete (the dialer accepted it and publishes no deletion)",
        source=NotificationSource.ACCEPTED,
    )


async def reconcile(services: Services) -> int:
    """Queue a correction for each live campaign the dialer reports in another status; return
    how many. A campaign the dialer no longer lists is left alone: a read never deletes."""
    dialer_name = services.dialer.name
    live = [c for c in await services.store.list_live() if c.dialer == dialer_name]
    if not live:
        return 0
    reported = {c.ref: c.status for c in await services.dialer.list_campaigns() if c.ref}
    now = datetime.now(UTC)
    corrected = 0
    for campaign in live:
        status = reported.get(campaign.ref)
        if status is None or status is campaign.status or status is CampaignStatus.DELETED:
            continue
        log.info(
            "reconciliation: %s is %s on the dialer, %s here", campaign.ref, status, campaign.status
        )
        await services.inbox.publish(reconciliation_notification(campaign, status, now))
        corrected += 1
    services.metrics.reconciliations.inc(corrected)
    return corrected


class Reconciler:
    """Runs ``reconcile`` once Redis is back after an outage (``redis_returned``)."""

    def __init__(self, services: Services, buffer: NotificationBuffer) -> None:
        self.services = services
        self.buffer = buffer
        self._due = asyncio.Event()
        buffer.when_flushed(self.redis_returned)

    def redis_returned(self) -> None:
        self._due.set()

    async def run(self) -> None:
        while True:
            await self._due.wait()
            self._due.clear()
            await self.buffer.drained()  # what the dialer said first, then the correction
            await self._reconcile_with_retries()

    async def _reconcile_with_retries(self) -> None:
        backoff = FIRST_BACKOFF
        for attempt in range(1, ATTEMPTS + 1):
            try:
                corrected = await reconcile(self.services)
                log.info("reconciliation after a Redis outage: %d campaign(s) corrected", corrected)
                return
            except (DialerError, *REDIS_AWAY) as exc:
                if cancellation_requested():
                    raise asyncio.CancelledError from exc
                log.warning("reconciliation attempt %d failed: %s", attempt, exc)
                await asyncio.sleep(backoff)
                backoff *= 2
        log.error("reconciliation gave up; statuses change again with the dialer's next news")
