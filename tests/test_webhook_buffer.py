"""While Redis is away, webhook notifications wait in a bounded buffer and reach the inbox in
order once it is back; then the reconciler sets each campaign to the status the dialer reports."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.bootstrap import Services
from bot.metrics import Metrics
from bot.reconcile import reconcile
from bot.settings import Settings
from bot.webhook_buffer import NotificationBuffer
from dialer.models import NewCampaign
from dialer.simulator import SimulatorDialer, SimulatorKnobs
from state.campaign import Campaign
from state.domain import CampaignStatus, DialerNotification
from state.inbox import NotificationInbox
from state.keys import Keys
from state.store import CampaignStore
from tests.state_builders import notification


class FlakyInbox(NotificationInbox):
    """A real inbox that refuses to publish while ``down``, as when Redis is away."""

    down = False

    async def publish(self, notification: DialerNotification) -> None:
        if self.down:
            raise RedisConnectionError("Connection refused")
        await super().publish(notification)


async def published_ids(redis: Redis, inbox: NotificationInbox) -> list[str]:
    entries: Any = await redis.xrange(inbox.stream)
    return [
        DialerNotification.model_validate_json(fields[b"notification"]).event_id
        for _, fields in entries
    ]


async def test_notifications_accepted_while_redis_is_away_reach_the_inbox_in_order(
    redis: Redis, keys: Keys
) -> None:
    inbox = FlakyInbox(redis, keys)
    metrics = Metrics()
    buffer = NotificationBuffer(inbox, metrics, publish_deadline=0.5)
    flushed: list[int] = []
    buffer.when_flushed(lambda: flushed.append(len(buffer)))
    inbox.down = True
    first = [notification(event_id="e1"), notification(event_id="e2")]
    assert await buffer.accept(first)
    assert await buffer.accept([notification(event_id="e3")])
    assert len(buffer) == 3 and await published_ids(redis, inbox) == []

    flusher = asyncio.create_task(buffer.run())
    try:
        await asyncio.sleep(0.3)  # the flusher keeps trying; nothing is lost meanwhile
        assert len(buffer) == 3
        inbox.down = False
        async with asyncio.timeout(10):
            await buffer.drained()
        assert await published_ids(redis, inbox) == ["e1", "e2", "e3"]
        assert flushed == [0]
        assert metrics.webhook_buffer.value(outcome="buffered") == 3
        assert metrics.webhook_buffer.value(outcome="flushed") == 3
        # Redis is back: the next webhook goes straight to the inbox.
        assert await buffer.accept([notification(event_id="e4")])
        assert len(buffer) == 0 and (await published_ids(redis, inbox))[-1] == "e4"
    finally:
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher


async def test_a_full_buffer_refuses_the_webhook_so_the_dialer_delivers_it_again(
    redis: Redis, keys: Keys
) -> None:
    inbox = FlakyInbox(redis, keys)
    metrics = Metrics()
    buffer = NotificationBuffer(inbox, metrics, capacity=2, publish_deadline=0.5)
    inbox.down = True
    assert await buffer.accept([notification(), notification()])
    assert not await buffer.accept([notification()])
    assert len(buffer) == 2 and metrics.webhook_buffer.value(outcome="refused") == 1


async def test_reconciliation_sets_a_campaign_to_the_status_the_dialer_reports(
    redis: Redis, keys: Keys
) -> None:
    dialer = SimulatorDialer(SimulatorKnobs(start_delay=0.01, tick=0.01))
    store = CampaignStore(redis, keys)
    inbox = NotificationInbox(redis, keys, claim_idle=timedelta(seconds=30))
    services = Services(Settings(), redis, store, inbox, dialer)
    try:
        ref = await store.issue_ref()
        created = await dialer.create_campaign(NewCampaign(ref=ref, name="Lost its stop"))
        # The bot believes it runs (the dialer's "stopped" was lost); the dialer has it stopped.
        await store.create(
            Campaign(
                ref=ref,
                name="Lost its stop",
                dialer=dialer.name,
                dialer_id=created.dialer_id,
                created_by="U0ANA",
                created_at=datetime.now(UTC),
                status=CampaignStatus.RUNNING,
                status_sequence=5,
            )
        )
        assert await reconcile(services) == 1
        await inbox.ensure_group()
        assert await inbox.process("test", store.apply_notification) == 1
        corrected = await store.require(ref)
        assert corrected.status is CampaignStatus.STOPPED and corrected.status_sequence == 5
        assert (await store.audit_entries())[0]["action"] == "reconciliation:applied"
        assert await reconcile(services) == 0  # agreeing now: nothing more to say
        assert services.metrics.reconciliations.total() == 1
    finally:
        await dialer.aclose()
