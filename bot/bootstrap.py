"""The composition root: settings in, the wired services out. Tests call it with fakes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from pydantic_settings import BaseSettings
from redis.asyncio import Redis

from bot.metered import MeteredDialer
from bot.metrics import Metrics
from bot.settings import (
    WEBHOOK_SECRETS,
    Settings,
    dialer_section,
    missing_webhook_secret,
    webhook_secret_set,
)
from dialer.base import Dialer, WebhookReceiver
from dialer.limits import LocalLimits
from dialer.registry import AdapterContext, build_dialer
from state.connection import check_key_prefix, parse_redis_url, redis_client
from state.inbox import NotificationInbox
from state.keys import Keys
from state.limiter import shared_limits
from state.store import CampaignStore

log = logging.getLogger(__name__)

IN_MEMORY_WARNING = (
    "REDIS_URL is not set: running on an IN-MEMORY store. Every campaign, pending request and "
    "removal is LOST when the process exits. Set REDIS_URL=redis://host:6379/0 for real use."
)

UNSIGNED_WARNING = (
    "DIALER_WEBHOOKS_UNSIGNED=true: %s WEBHOOKS ARE ACCEPTED WITHOUT A SECRET. Anyone who can "
    "reach /dialer/%s/events can forge campaign statuses. Set %s and remove "
    "DIALER_WEBHOOKS_UNSIGNED."
)


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


def connect_redis(settings: Settings) -> Redis:
    """The client ``REDIS_URL`` names (one Redis, a cluster or a Sentinel-managed primary: see
    ``state.connection``); raises ``ValueError`` for a cluster with an untagged key prefix."""
    if settings.redis_url:
        check_key_prefix(parse_redis_url(settings.redis_url), settings.redis_key_prefix)
        return redis_client(
            settings.redis_url,
            connect_timeout=settings.redis_connect_timeout_seconds,
            socket_timeout=settings.redis_socket_timeout_seconds,
        )
    import fakeredis

    log.warning(IN_MEMORY_WARNING)
    return fakeredis.FakeAsyncRedis()


def build_services(
    settings: Settings,
    *,
    redis: Redis | None = None,
    dialer: Dialer | None = None,
    dialer_settings: BaseSettings | None = None,
) -> Services:
    """Store, inbox and dialer. ``dialer_settings``: the dialer's section of the settings tree;
    without it (tests), that section alone is read from the environment."""
    redis = redis if redis is not None else connect_redis(settings)
    keys = Keys(settings.redis_key_prefix)
    unsigned = False
    if dialer is None:
        limits = shared_limits(redis, keys) or LocalLimits()
        context = AdapterContext(redis, settings.redis_key_prefix, limits)
        section = dialer_settings or dialer_section(settings.dialer)
        dialer = build_dialer(settings.dialer, context, section)
        unsigned = webhooks_unsigned(settings, section)
    metrics = Metrics()
    return Services(
        settings=settings,
        redis=redis,
        store=CampaignStore(
            redis, keys, audit_retention=timedelta(days=settings.audit_retention_days)
        ),
        inbox=NotificationInbox(
            redis,
            keys,
            claim_idle=timedelta(seconds=settings.notification_claim_idle_seconds),
            wait_replicas=settings.redis_wait_replicas,
        ),
        dialer=MeteredDialer(dialer, metrics),
        metrics=metrics,
        webhooks_unsigned=unsigned,
    )


def webhooks_unsigned(settings: Settings, section: BaseSettings) -> bool:
    """Whether the configured dialer's webhooks go unverified, which start-up refuses unless
    ``DIALER_WEBHOOKS_UNSIGNED=true`` says so explicitly (then it warns loudly).

    Raises ``ValueError`` naming the missing secret (``bot.settings.load_settings_tree`` has
    reported it already when the bot is started from the command line).
    """
    if settings.dialer not in WEBHOOK_SECRETS or webhook_secret_set(settings.dialer, section):
        return False
    missing = missing_webhook_secret(settings, section)
    if missing is not None:
        raise ValueError(missing)
    variable, _ = WEBHOOK_SECRETS[settings.dialer]
    log.warning(UNSIGNED_WARNING, settings.dialer.upper(), settings.dialer, variable)
    return True
