"""The bot as Slack sees it: the real server on a loopback port, signed requests, the Slack Web
API stand-in recording every call, and the simulator dialer with short delays."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from redis.asyncio import Redis
from slack_sdk.signature import SignatureVerifier

from bot.bootstrap import build_services
from bot.server import BotServer
from bot.settings import Settings
from commands.leads.settings import LeadsSettings
from dialer.base import Dialer
from dialer.models import CampaignStatus
from dialer.simulator import SimulatorDialer, SimulatorKnobs
from state.campaign import Campaign
from tests.e2e.forms import LEADS_CSV, new_campaign_values
from tests.standins.slack_api import SlackMessage, SlackStandIn

SIGNING_SECRET = "e2e-signing-secret"
ANA, BOB, EVE = "UANA", "UBOB", "UEVE"  # two campaign leads, and someone who is not one
CHANNEL = "CCAMPAIGNS"
FAST = SimulatorKnobs(start_delay=0.1, call_duration=0.3, tick=0.02, notify_delay=0.01)


@dataclass(frozen=True)
class SlackAnswer:
    status: int
    body: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class Bot:
    """Sends what Slack would send, signed, and reads what the bot did through the stand-in."""

    def __init__(self, url: str, slack: SlackStandIn, server: BotServer) -> None:
        self.url = url
        self.slack = slack
        self.server = server
        self.store = server.services.store
        self.http = httpx.AsyncClient(base_url=url, timeout=10.0)
        self._signer = SignatureVerifier(SIGNING_SECRET)
        self._ids = itertools.count(1)

    async def post_signed(
        self, body: str, *, secret_ok: bool = True, headers: dict[str, str] | None = None
    ) -> SlackAnswer:
        timestamp = str(int(time.time()))
        signature = self._signer.generate_signature(timestamp=timestamp, body=body)
        if not secret_ok:
            signature = SignatureVerifier("wrong").generate_signature(
                timestamp=timestamp, body=body
            )
        started = time.monotonic()
        response = await self.http.post(
            "/slack/events",
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": signature,
                **(headers or {}),
            },
        )
        return SlackAnswer(response.status_code, response.text, time.monotonic() - started)

    async def command(
        self, user: str, text: str, *, channel: str = CHANNEL, trigger_id: str | None = None
    ) -> tuple[SlackAnswer, str]:
        """``/campaign <text>``; returns the answer and the command's response_url."""
        response_url = self.slack.response_url()
        form = {
            "token": "unused",
            "team_id": "TSTANDIN",
            "channel_id": channel,
            "user_id": user,
            "user_name": user.lower(),
            "command": "/campaign",
            "text": text,
            "response_url": response_url,
            "trigger_id": trigger_id or f"trigger-{next(self._ids)}",
        }
        return await self.post_signed(urllib.parse.urlencode(form)), response_url

    async def click(
        self, user: str, action_id: str, value: str, *, channel: str = CHANNEL
    ) -> tuple[SlackAnswer, str]:
        response_url = self.slack.response_url()
        payload = {
            "type": "block_actions",
            "team": {"id": "TSTANDIN"},
            "user": {"id": user},
            "channel": {"id": channel},
            "container": {"type": "message", "channel_id": channel},
            "trigger_id": f"trigger-{next(self._ids)}",
            "response_url": response_url,
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "b",
                    "value": value,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return await self.interact(payload), response_url

    async def submit(self, user: str, view: dict[str, Any], values: dict[str, Any]) -> SlackAnswer:
        """Submit an opened modal (as recorded by the stand-in) with these state values."""
        payload = {
            "type": "view_submission",
            "team": {"id": "TSTANDIN"},
            "user": {"id": user},
            "view": {**view, "state": {"values": values}},
        }
        return await self.interact(payload)

    async def interact(self, payload: dict[str, Any]) -> SlackAnswer:
        return await self.post_signed(urllib.parse.urlencode({"payload": json.dumps(payload)}))

    async def create_campaign(self, user: str, name: str) -> str:
        """``/campaign new``, the modal submitted with a three-row CSV; the new campaign's ref
        once its leads are on the dialer."""
        opened_before = len(self.slack.calls("views.open"))
        answer, _ = await self.command(user, "new")
        assert answer.status == 200
        view = await self.opened_view(opened_before + 1)
        assert view["private_metadata"] == CHANNEL
        file_id = self.slack.add_file(LEADS_CSV)
        submitted = await self.submit(user, view, new_campaign_values(name, file_id))
        assert submitted.status == 200 and submitted.body == ""  # the modal closes
        campaign = await self.campaign_where(lambda c: c.name == name)
        await self.channel_message(f"Leads for {campaign.ref} uploaded: 3 contacts")
        return campaign.ref

    # -- reading what happened ---------------------------------------------------------------

    def response_texts(self, response_url: str) -> list[str]:
        return [str(p.body.get("text", "")) for p in self.slack.responses(response_url)]

    async def reply_to(self, response_url: str, timeout: float = 5.0) -> str:
        texts = await self.slack.wait_for(lambda: self.response_texts(response_url), timeout)
        return texts[-1]

    def channel_texts(self, channel: str = CHANNEL) -> list[str]:
        return [m.text for m in self.slack.messages_in(channel)]

    async def channel_message(
        self, needle: str, channel: str = CHANNEL, timeout: float = 5.0
    ) -> SlackMessage:
        def found() -> SlackMessage | None:
            return next((m for m in self.slack.messages_in(channel) if needle in m.text), None)

        return await self.slack.wait_for(found, timeout)

    def ephemeral_texts(self, user: str) -> list[str]:
        return [str(m["text"]) for m in self.slack.ephemeral_messages() if m["user"] == user]

    async def opened_view(self, count: int = 1) -> dict[str, Any]:
        """The modal the bot opened (the ``count``-th ``views.open``), with a view id as Slack
        gives each opened view."""
        calls = await self.slack.wait_for(lambda: self.slack.calls("views.open")[count - 1 :])
        return {**calls[0].args["view"], "id": f"V{uuid.uuid4().hex[:10].upper()}"}

    async def campaign_where(self, predicate: Any, timeout: float = 5.0) -> Campaign:
        async def look() -> Campaign | None:
            for campaign in await self.store.list_live():
                if predicate(campaign):
                    return campaign
            return None

        deadline = time.monotonic() + timeout
        while (found := await look()) is None:
            if time.monotonic() > deadline:
                raise TimeoutError("no campaign matched")
            await asyncio.sleep(0.02)
        return found

    async def status_of(self, ref: str, status: CampaignStatus, timeout: float = 5.0) -> Campaign:
        deadline = time.monotonic() + timeout
        while True:
            campaign = await self.store.get(ref)
            if campaign is not None and campaign.status is status:
                return campaign
            if time.monotonic() > deadline:
                raise TimeoutError(f"{ref} never became {status}: {campaign}")
            await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_bot(
    redis: Redis,
    *,
    dialer: Dialer | None = None,
    leads: tuple[str, ...] = (ANA, BOB),
    prefix: str | None = None,
    leads_settings: LeadsSettings | None = None,
) -> AsyncIterator[Bot]:
    """A bot with its own Slack stand-in. Given a ``dialer`` and a ``prefix``, the caller owns
    them (a second bot may go on with the same dialer and Redis data: a restart)."""
    owns_dialer, owns_data = dialer is None, prefix is None
    prefix = prefix or f"test:{uuid.uuid4().hex[:10]}:"
    async with SlackStandIn() as slack:
        settings = Settings(
            slack_bot_token="xoxb-e2e",
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.api_url,
            campaign_leads=leads,
            redis_key_prefix=prefix,
            host="127.0.0.1",
            log_level="WARNING",
        )
        services = build_services(settings, redis=redis, dialer=dialer or SimulatorDialer(FAST))
        server = BotServer(
            services,
            alert_pace=0.0,
            leads_settings=leads_settings or LeadsSettings(progress_interval_seconds=0.05),
        )
        try:
            async with serving_on_loopback(server) as url:
                bot = Bot(url, slack, server)
                try:
                    yield bot
                finally:
                    await bot.http.aclose()
        finally:
            if owns_dialer:
                await services.dialer.aclose()
            if owns_data:
                await forget(redis, prefix)


async def forget(redis: Redis, prefix: str) -> None:
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        await redis.delete(key)


@contextlib.asynccontextmanager
async def serving_on_loopback(server: BotServer) -> AsyncIterator[str]:
    """Run ``server`` (HTTP server and engine) on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    serving = asyncio.create_task(server.serve(sock))
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.shutdown()
        await serving
