"""What the rest of the bot is built on: the Redis client, the store, the inbox and the dialer,
with the settings they were made from. ``bot.bootstrap.build_services`` makes one."""

from __future__ import annotations

from dataclasses import dataclass, field

from redis.asyncio import Redis

from bot.metered import MeteredDialer
from bot.metrics import Metrics
from bot.settings import Settings
from dialer.base import Dialer, WebhookReceiver
from state.inbox import NotificationInbox
from state.store import CampaignStore


@dataclass
class Services:
    settings: Settings
    redis: Redis
    store: CampaignStore
    inbox: NotificationInbox
    dialer: Dialer
    metrics: Metrics = field(default_factory=Metrics)
    webhooks_unsigned: bool = False
    """A webhook dialer runs without its secret, as ``DIALER_WEBHOOKS_UNSIGNED`` allowed."""

    @property
    def unmetered_dialer(self) -> Dialer:
        """The adapter itself: for health probes, which are not dialer traffic to count."""
        return self.dialer.inner if isinstance(self.dialer, MeteredDialer) else self.dialer

    @property
    def webhooks(self) -> WebhookReceiver | None:
        """The adapter, if its dialer POSTs notifications to ``/dialer/<name>/events``."""
        dialer = self.unmetered_dialer
        return dialer if isinstance(dialer, WebhookReceiver) else None

    async def aclose(self) -> None:
        await self.dialer.aclose()
        await self.redis.aclose()
