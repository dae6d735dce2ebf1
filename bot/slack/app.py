"""Building the Bolt app and everything its listeners use, from the wired services."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.bootstrap import Services
from bot.metered import MeteredWebClient
from bot.slack.channels import ChannelAccess
from bot.slack.client import with_retries
from bot.slack.delivery import Delivery, Dispatch
from bot.slack.edge import SlackEdge
from bot.slack.home import HomeTabs
from bot.slack.leads import LeadsIntake
from bot.slack.listeners import register_listeners
from bot.slack.once import Once
from commands.authz import Authorizer, GroupMembers
from commands.handlers.context import Deps
from commands.leads.progress import UploadSummary
from commands.leads.settings import LeadsSettings
from commands.leads.slack_file import SlackFiles
from commands.leads.upload import LeadUploads
from state.dnc import DoNotCallList
from state.keys import UploadKeys
from state.store import CampaignStore

log = logging.getLogger(__name__)

NOBODY_IS_A_LEAD = (
    "CAMPAIGN_LEADS is empty: nobody may change campaigns (everyone may still look). "
    "Set it to Slack user ids (U…) and/or user-group ids (S…)."
)


def slack_configured(services: Services) -> bool:
    """A bot token, and a way to receive requests: signed HTTP, or Socket Mode."""
    settings = services.settings
    receives = settings.slack_signing_secret is not None or settings.slack_app_token is not None
    return settings.slack_bot_token is not None and receives


def web_client(services: Services) -> AsyncWebClient:
    """The one Web API client: counted, and retried on 429, 5xx and dropped connections."""
    token = services.settings.slack_bot_token
    client = MeteredWebClient(
        services.metrics,
        token=token.get_secret_value() if token else None,
        base_url=services.settings.slack_api_url,
    )
    return with_retries(client, services.metrics)


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


@dataclass
class SlackApp:
    """The Bolt app, and what must be closed with it."""

    app: AsyncApp
    edge: SlackEdge
    http: httpx.AsyncClient

    async def aclose(self) -> None:
        await self.edge.leads.aclose()
        await self.http.aclose()


def build_slack_app(
    services: Services,
    client: AsyncWebClient,
    dispatch: Dispatch,
    *,
    leads_settings: LeadsSettings | None = None,
) -> SlackApp:
    settings = services.settings
    if not slack_configured(services):
        raise ValueError(
            "the Slack app needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN)"
        )
    assert settings.slack_bot_token is not None
    authz = Authorizer(settings.campaign_leads, group_members(client))
    if authz.nobody_allowed:
        log.warning(NOBODY_IS_A_LEAD)
    deps = Deps(
        store=services.store,
        dialer=services.dialer,
        authz=authz,
        removal_approval_ttl=timedelta(seconds=settings.removal_approval_ttl_seconds),
        time_zone_of=user_time_zone(client),
    )
    leads_settings = leads_settings or LeadsSettings()
    http = httpx.AsyncClient(timeout=30.0)
    files = SlackFiles(client, http, max_bytes=leads_settings.max_file_bytes)
    uploads = LeadUploads(
        services.redis,
        services.dialer,
        files.source,
        leads_settings,
        keys=UploadKeys(settings.redis_key_prefix),
        dnc=DoNotCallList(services.redis, services.store.keys),
    )
    uploads.on_finished = upload_recorder(services.store)
    edge = SlackEdge(
        deps=deps,
        delivery=Delivery(client, deps, dispatch),
        once=Once(services.redis, settings.redis_key_prefix),
        leads=LeadsIntake(client, files, uploads, leads_settings),
        channels=ChannelAccess(client),
        default_channel=settings.slack_alert_channel,
        home=HomeTabs(client, deps, services.redis, settings.redis_key_prefix),
    )
    secret = settings.slack_signing_secret
    app = AsyncApp(
        client=client,
        signing_secret=secret.get_secret_value() if secret else None,
        # Socket Mode requests come over the app's own connection, not HTTP: nothing to sign.
        request_verification_enabled=secret is not None,
        name="campaign-bot",
    )
    register_listeners(app, edge)
    return SlackApp(app=app, edge=edge, http=http)
