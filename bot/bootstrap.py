"""The composition root: settings in, the wired services out. Tests call it with fakes."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis

from bot.settings import Settings
from dialer.base import Dialer
from dialer.registry import AdapterContext, build_dialer
from state.inbox import NotificationInbox
from state.keys import Keys
from state.store import CampaignStore

log = logging.getLogger(__name__)

IN_MEMORY_WARNING = (
    "REDIS_URL is not set: running on an IN-MEMORY store. Every campaign, pending request and "
    "removal is LOST when the process exits. Set REDIS_URL=redis://host:6379/0 for real use."
)


@dataclass
class Services:
    settings: Settings
    redis: Redis
    store: CampaignStore
    inbox: NotificationInbox
    dialer: Dialer

    async def aclose(self) -> None:
        await self.dialer.aclose()
        await self.redis.aclose()


def connect_redis(settings: Settings) -> Redis:
    if settings.redis_url:
        return Redis.from_url(settings.redis_url)
    import fakeredis

    log.warning(IN_MEMORY_WARNING)
    return fakeredis.FakeAsyncRedis()


def build_services(
    settings: Settings, *, redis: Redis | None = None, dialer: Dialer | None = None
) -> Services:
    redis = redis if redis is not None else connect_redis(settings)
    keys = Keys(settings.redis_key_prefix)
    if dialer is None:
        dialer = build_dialer(settings.dialer, AdapterContext(redis, settings.redis_key_prefix))
    return Services(
        settings=settings,
        redis=redis,
        store=CampaignStore(redis, keys),
        inbox=NotificationInbox(redis, keys),
        dialer=dialer,
    )
