"""The composition root: the settings tree in, everything the bot runs wired together.

``build_services``: Redis, the store, the inbox and the (metered) dialer. ``build_bot``: on top of
those, the channel alerts, the engine, the calling-window scheduler, the Slack edge (handlers'
``Deps``, lead uploads, Slack files, once-only requests, Home tabs, the Bolt app) and the HTTP
app. Nothing else builds services: ``bot.server`` runs what this builds, and ``bot.slack.app``
only registers the listeners on the Bolt app. Tests call both with fakes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
from pydantic_settings import BaseSettings
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient
from starlette.types import ASGIApp

from bot.alerts import SLACK_PACE, ChannelAlerts
from bot.engine import SWEEP_INTERVAL, AlertHandler, Engine, ignore_alerts
from bot.http import create_http_app
from bot.metered import MeteredDialer
from bot.metrics import Metrics
from bot.reconcile import slack_warning
from bot.services import Services
from bot.settings import (
    WEBHOOK_SECRETS,
    Settings,
    dialer_section,
    missing_webhook_secret,
    webhook_secret_set,
)
from bot.slack.app import SlackApp, bolt_app
from bot.slack.channels import ChannelAccess
from bot.slack.client import with_retries
from bot.slack.delivery import Delivery, Dispatch
from bot.slack.dnc import sweeping_after_uploads
from bot.slack.edge import SlackEdge
from bot.slack.expiry import ExpiredApprovals
from bot.slack.home import HomeTabs
from bot.slack.leads import LeadsIntake
from bot.slack.once import Once
from bot.slack.pacing import ChannelPacedWebClient
from bot.window_scheduler import WindowScheduler
from commands.authz import Authorizer, GroupMembers
from commands.handlers.context import Deps
from commands.leads.progress import UploadSummary
from commands.leads.settings import LeadsSettings
from commands.leads.slack_file import SlackFiles
from commands.leads.store import UploadStore
from commands.leads.upload import LeadUploads
from commands.views.alerts import render_alert
from commands.views.campaign import render_card
from dialer.base import Dialer
from dialer.limits import LocalLimits
from dialer.registry import AdapterContext, build_dialer
from state.connection import check_key_prefix, parse_redis_url, redis_client
from state.dnc import DoNotCallList
from state.inbox import NotificationInbox
from state.keys import Keys
from state.limiter import shared_limits
from state.store import CampaignStore

__all__ = ["Bot", "Services", "build_bot", "build_services"]

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


SLACK_NOT_CONFIGURED = (
    "SLACK IS NOT CONFIGURED: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (HTTP mode) or "
    "SLACK_APP_TOKEN (Socket Mode). POST /slack/events answers 503 and nothing is posted to "
    "Slack; dialer webhooks and the engine still run. To see a campaign's whole life without a "
    "Slack workspace, run `campaign-bot playground` (or `campaign-bot demo`)."
)

NOBODY_IS_A_LEAD = (
    "CAMPAIGN_LEADS is empty: nobody may change campaigns (everyone may still look). "
    "Set it to Slack user ids (U…) and/or user-group ids (S…)."
)


@dataclass
class Bot:
    """Everything ``campaign-bot serve`` runs, built; ``bot.server.BotServer`` runs it."""

    services: Services
    engine: Engine
    windows: WindowScheduler
    app: ASGIApp
    """The HTTP app: Slack events, dialer webhooks, health and metrics."""
    alerts: ChannelAlerts | None = None
    """None while Slack is not configured; so is ``slack``."""
    slack: SlackApp | None = None


def build_bot(
    services: Services,
    *,
    leads_settings: LeadsSettings | None = None,
    alert_pace: float = SLACK_PACE,
    sweep_interval: timedelta = SWEEP_INTERVAL,
) -> Bot:
    """``leads_settings``: the tree's leads section; without it (tests), the defaults."""
    settings = services.settings
    alerts: ChannelAlerts | None = None
    handler: AlertHandler = ignore_alerts
    warn = None
    if not slack_configured(services):
        log.warning(SLACK_NOT_CONFIGURED)
    else:
        alerts = ChannelAlerts(
            web_client(services),
            services.store,
            settings.slack_alert_channel,
            render_card=render_card,
            render_alert=render_alert,
            pace=alert_pace,
        )
        handler = alerts
        warn = slack_warning(alerts.client, settings.slack_alert_channel)
    uploads = UploadStore(services.redis, services.store.keys.uploads)
    engine = Engine(
        services, handler, sweep_interval=sweep_interval, on_deleted=uploads.forget, warn=warn
    )
    slack = None
    if alerts is not None:
        slack = build_slack(
            services,
            alerts.client,
            engine.dispatch,
            leads_settings or LeadsSettings.model_construct(),
        )
        engine.on_removal_expired = ExpiredApprovals(alerts.client)
    deps = slack.edge.deps if slack is not None else None
    windows = WindowScheduler(services, engine.dispatch, deps=deps, notify=warn)
    metrics = alerts.metrics if alerts is not None else None
    app = create_http_app(services, slack, metrics, engine.buffer)
    return Bot(services, engine, windows, app, alerts, slack)


def slack_configured(services: Services) -> bool:
    """A bot token, and a way to receive requests: signed HTTP, or Socket Mode."""
    settings = services.settings
    receives = settings.slack_signing_secret is not None or settings.slack_app_token is not None
    return settings.slack_bot_token is not None and receives


def web_client(services: Services) -> AsyncWebClient:
    """The one Web API client: counted, and retried on 429, 5xx and dropped connections."""
    token = services.settings.slack_bot_token
    keys = Keys(services.settings.redis_key_prefix)
    client = ChannelPacedWebClient(
        services.metrics,
        shared_limits(services.redis, keys) or LocalLimits(),
        token=token.get_secret_value() if token else None,
        base_url=services.settings.slack_api_url,
    )
    return with_retries(client, services.metrics)


def build_slack(
    services: Services,
    client: AsyncWebClient,
    dispatch: Dispatch,
    leads_settings: LeadsSettings,
) -> SlackApp:
    """The Slack edge (what listeners share) and the Bolt app with its listeners."""
    settings = services.settings
    if not slack_configured(services):
        raise ValueError(
            "the Slack app needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN)"
        )
    authz = Authorizer(settings.campaign_leads, group_members(client))
    if authz.nobody_allowed:
        log.warning(NOBODY_IS_A_LEAD)
    deps = Deps(
        store=services.store,
        dialer=services.dialer,
        authz=authz,
        removal_approval_ttl=timedelta(seconds=settings.removal_approval_ttl_seconds),
        time_zone_of=user_time_zone(client),
        default_region=leads_settings.default_region,
    )
    http = httpx.AsyncClient(timeout=30.0)
    files = SlackFiles(client, http, max_bytes=leads_settings.max_file_bytes)
    uploads = LeadUploads(
        services.redis,
        services.dialer,
        files.source,
        leads_settings,
        keys=services.store.keys.uploads,
        dnc=DoNotCallList(services.redis, services.store.keys),
    )
    edge = SlackEdge(
        deps=deps,
        delivery=Delivery(client, deps, dispatch),
        once=Once(services.redis, settings.redis_key_prefix),
        leads=LeadsIntake(client, files, uploads, leads_settings),
        channels=ChannelAccess(client),
        default_channel=settings.slack_alert_channel,
        home=HomeTabs(client, deps, services.redis, settings.redis_key_prefix),
    )
    uploads.on_finished = sweeping_after_uploads(
        upload_recorder(services.store), deps, edge.delivery
    )
    app = bolt_app(client, edge, settings.slack_signing_secret)
    return SlackApp(app=app, edge=edge, http=http)


def group_members(client: AsyncWebClient) -> GroupMembers:
    async def members(group_id: str) -> frozenset[str]:
        answer = await client.usergroups_users_list(usergroup=group_id)
        return frozenset(str(u) for u in answer.get("users") or [])

    return members


def user_time_zone(client: AsyncWebClient) -> Callable[[str], Awaitable[str | None]]:
    """A person's IANA time zone from ``users.info`` (its ``tz``; scope ``users:read``)."""

    async def time_zone(user_id: str) -> str | None:
        answer = await client.users_info(user=user_id)
        zone = (answer.get("user") or {}).get("tz")
        return str(zone) if zone else None

    return time_zone


def upload_recorder(store: CampaignStore) -> Callable[[UploadSummary], Awaitable[None]]:
    """Each leads upload run into the campaign's history: how many contacts, how it ended."""

    async def record(summary: UploadSummary) -> None:
        await store.note(
            summary.campaign_ref,
            f"leads:{summary.state.value}",
            "campaign-bot",
            {
                "total": summary.total,
                "sent": summary.sent,
                "sent_this_run": summary.sent_this_run,
                "error": summary.error,
            },
        )

    return record
