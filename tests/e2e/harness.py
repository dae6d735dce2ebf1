"""The bot as Slack sees it: the real server on a loopback port, signed requests, the Slack Web
API stand-in recording every call, and the simulator dialer with short delays."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis

from bot.bootstrap import build_services
from bot.demo.driver import SlackAnswer, SlackDriver, serving_on_loopback
from bot.engine import SWEEP_INTERVAL
from bot.server import BotServer
from bot.settings import Settings
from commands.leads.settings import LeadsSettings
from dialer.base import Dialer
from dialer.simulator import SimulatorDialer, SimulatorKnobs
from tests.standins.slack_api import SlackStandIn

__all__ = ["Bot", "SlackAnswer", "forget", "running_bot", "serving_on_loopback"]

SIGNING_SECRET = "e2e-signing-secret"
ANA, BOB, EVE = "UANA", "UBOB", "UEVE"  # two campaign leads, and someone who is not one
CHANNEL = "CCAMPAIGNS"
FAST = SimulatorKnobs(start_delay=0.1, call_duration=0.3, tick=0.02, notify_delay=0.01)


class Bot(SlackDriver):
    """The driver of the bot under test, with the server itself at hand."""

    def __init__(self, url: str, slack: SlackStandIn, server: BotServer) -> None:
        super().__init__(
            url, slack, server.services.store, signing_secret=SIGNING_SECRET, channel=CHANNEL
        )
        self.server = server


@contextlib.asynccontextmanager
async def running_bot(
    redis: Redis,
    *,
    dialer: Dialer | None = None,
    leads: tuple[str, ...] = (ANA, BOB),
    prefix: str | None = None,
    leads_settings: LeadsSettings | None = None,
    slack: SlackStandIn | None = None,
    sweep_interval: timedelta = SWEEP_INTERVAL,
    **settings: Any,
) -> AsyncIterator[Bot]:
    """A bot with its own Slack stand-in. Given a ``dialer``, a ``prefix`` or a ``slack``, the
    caller owns them (a second bot may go on with the same dialer, Redis data and Slack
    workspace: a restart). ``settings``: further ``Settings`` fields, say
    ``removal_approval_ttl_seconds``."""
    owns_dialer, owns_data = dialer is None, prefix is None
    prefix = prefix or f"test:{uuid.uuid4().hex[:10]}:"
    async with contextlib.AsyncExitStack() as stack:
        if slack is None:
            slack = await stack.enter_async_context(SlackStandIn(member_of={CHANNEL}))
        config = Settings(
            slack_bot_token="xoxb-e2e",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            campaign_leads=leads,
            redis_key_prefix=prefix,
            host="127.0.0.1",
            log_level="WARNING",
            **settings,
        )
        services = build_services(config, redis=redis, dialer=dialer or SimulatorDialer(FAST))
        server = BotServer(
            services,
            alert_pace=0.0,
            sweep_interval=sweep_interval,
            leads_settings=leads_settings or LeadsSettings(progress_interval_seconds=0.05),
        )
        try:
            async with serving_on_loopback(server) as url:
                bot = Bot(url, slack, server)
                try:
                    yield bot
                    refused = [(c.method, c.error, c.args) for c in slack.refused_payloads()]
                    assert refused == [], f"Slack would have refused: {refused}"
                finally:
                    await bot.aclose()
        finally:
            if owns_dialer:
                await services.dialer.aclose()
            if owns_data:
                await forget(redis, prefix)


async def forget(redis: Redis, prefix: str) -> None:
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        await redis.delete(key)
