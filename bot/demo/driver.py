"""Sending what Slack would send, signed, to a running bot, and reading what the bot did through
the Slack Web API stand-in. The demo and the end-to-end tests drive the bot with it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import urllib.parse
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from slack_sdk.signature import SignatureVerifier

from bot.demo.forms import LEADS_CSV, new_campaign_values
from bot.demo.loopback import loopback_socket
from bot.demo.slack_api import TEAM_ID, SlackMessage, SlackStandIn
from bot.server import BotServer
from state.campaign import Campaign
from state.domain import CampaignStatus
from state.store import CampaignStore


class StepFailed(Exception):
    """The bot did not do what a step of a scripted session expects."""


def expect(condition: object, what: str) -> None:
    if not condition:
        raise StepFailed(what)


@dataclass(frozen=True)
class SlackAnswer:
    status: int
    body: str
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackDriver:
    def __init__(
        self,
        url: str,
        slack: SlackStandIn,
        store: CampaignStore,
        *,
        signing_secret: str,
        channel: str,
    ) -> None:
        self.url = url
        self.slack = slack
        self.store = store
        self.channel = channel
        self.http = httpx.AsyncClient(base_url=url, timeout=10.0)
        self._signer = SignatureVerifier(signing_secret)
        self._ids = itertools.count(1)

    async def aclose(self) -> None:
        await self.http.aclose()

    # -- what Slack sends ----------------------------------------------------------------------

    async def post_signed(
        self, body: str, *, secret_ok: bool = True, headers: dict[str, str] | None = None
    ) -> SlackAnswer:
        timestamp = str(int(time.time()))
        signer = self._signer if secret_ok else SignatureVerifier("wrong")
        signature = signer.generate_signature(timestamp=timestamp, body=body) or ""
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
        self, user: str, text: str, *, channel: str | None = None, trigger_id: str | None = None
    ) -> tuple[SlackAnswer, str]:
        """``/campaign <text>``; returns the answer and the command's response_url."""
        response_url = self.slack.response_url()
        form = {
            "token": "unused",
            "team_id": TEAM_ID,
            "channel_id": channel or self.channel,
            "user_id": user,
            "user_name": user.lower(),
            "command": "/campaign",
            "text": text,
            "response_url": response_url,
            "trigger_id": trigger_id or f"trigger-{next(self._ids)}",
        }
        return await self.post_signed(urllib.parse.urlencode(form)), response_url

    async def click(
        self, user: str, action_id: str, value: str, *, channel: str | None = None
    ) -> tuple[SlackAnswer, str]:
        response_url = self.slack.response_url()
        channel = channel or self.channel
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM_ID},
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
            "team": {"id": TEAM_ID},
            "user": {"id": user},
            "view": {**view, "state": {"values": values}},
        }
        return await self.interact(payload)

    async def interact(self, payload: dict[str, Any]) -> SlackAnswer:
        return await self.post_signed(urllib.parse.urlencode({"payload": json.dumps(payload)}))

    async def create_campaign(
        self, user: str, name: str, leads: bytes = LEADS_CSV, *, agents: str = "1001 1002"
    ) -> str:
        """``/campaign new``, the modal submitted with ``leads``; the new campaign's ref once its
        leads are on the dialer."""
        opened_before = len(self.slack.calls("views.open"))
        answer, _ = await self.command(user, "new")
        expect(answer.status == 200, f"/campaign new answered {answer.status}")
        view = await self.opened_view(opened_before + 1)
        expect(view["private_metadata"] == self.channel, "the form knows its channel")
        file_id = self.slack.add_file(leads)
        submitted = await self.submit(user, view, new_campaign_values(name, file_id, agents=agents))
        expect(submitted.status == 200 and submitted.body == "", "the form closes when submitted")
        campaign = await self.campaign_where(lambda c: c.name == name)
        rows = leads.count(b"\n") - 1
        await self.channel_message(f"Leads for {campaign.ref} uploaded: {rows} contacts")
        return campaign.ref

    # -- reading what happened -----------------------------------------------------------------

    def response_texts(self, response_url: str) -> list[str]:
        return [str(p.body.get("text", "")) for p in self.slack.responses(response_url)]

    async def reply_to(self, response_url: str, timeout: float = 5.0) -> str:
        texts = await self.slack.wait_for(lambda: self.response_texts(response_url), timeout)
        return texts[-1]

    def channel_texts(self, channel: str | None = None) -> list[str]:
        return [m.text for m in self.slack.messages_in(channel or self.channel)]

    async def channel_message(
        self, needle: str, channel: str | None = None, timeout: float = 5.0
    ) -> SlackMessage:
        where = channel or self.channel

        def found() -> SlackMessage | None:
            return next((m for m in self.slack.messages_in(where) if needle in m.text), None)

        return await self.slack.wait_for(found, timeout)

    def ephemeral_texts(self, user: str) -> list[str]:
        return [str(m["text"]) for m in self.slack.ephemeral_messages() if m["user"] == user]

    async def opened_view(self, count: int = 1) -> dict[str, Any]:
        """The modal the bot opened (the ``count``-th ``views.open``), with a view id as Slack
        gives each opened view."""
        calls = await self.slack.wait_for(lambda: self.slack.calls("views.open")[count - 1 :])
        return {**calls[0].args["view"], "id": f"V{uuid.uuid4().hex[:10].upper()}"}

    async def campaign_where(
        self, predicate: Callable[[Campaign], bool], timeout: float = 5.0
    ) -> Campaign:
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
async def serving_on_loopback(server: BotServer) -> AsyncIterator[str]:
    """Run ``server`` (HTTP server and engine) on a free loopback port; yields its base URL."""
    sock = loopback_socket()
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
