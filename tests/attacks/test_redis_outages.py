"""Redis paused (SIGSTOP), killed and gone for 20 s under a real ``campaign-bot serve`` driving
the VoIPBIN stand-in, whose webhooks keep coming meanwhile (D3, D5, the dropped command): health
says 503 within 2 s, a command tells the lead nothing was sent, no webhook is lost, and the card
shows the dialer's real status soon after Redis is back; malformed requests on every route are
4xx without a traceback (D7). (Work the outage itself cuts short, an alert worker's card
redraw, may still log its traceback; no request does.)"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from bot.demo.driver import SlackDriver
from commands.views import ids
from state.connection import redis_client
from state.domain import CampaignStatus
from state.keys import Keys
from state.store import CampaignStore
from tests.attacks.probes import tracebacks
from tests.attacks.raw import send_request, slack_headers
from tests.e2e.harness import ANA, CHANNEL
from tests.faults.processes import (
    BOT_TOKEN,
    SIGNING_SECRET,
    RedisServer,
    ServeProcess,
    serve_environment,
    serving,
)
from tests.standins.slack_api import SlackStandIn
from tests.standins.voipbin import Delivery, StandinKnobs, VoipbinStandin

ACCESSKEY = "standin-accesskey"
WEBHOOK_SECRET = "voipbin-webhook-secret-attack"
# VoIPBIN's own retry: three deliveries a second apart, then the webhook is gone.
VOIPBIN_RETRIES = StandinKnobs(webhook_retry_delay=1.0)


@dataclass
class Rig:
    bot: ServeProcess
    redis: RedisServer
    voipbin: VoipbinStandin
    driver: SlackDriver
    store: CampaignStore

    async def health(self, http: httpx.AsyncClient) -> tuple[int, float]:
        started = time.monotonic()
        answer = await http.get(f"{self.bot.url}/healthz", timeout=10)
        return answer.status_code, time.monotonic() - started

    def dialer_status(self, ref: str) -> str:
        [campaign] = [c for c in self.voipbin.store["campaigns"].values() if ref in c["name"]]
        return str(campaign["status"])

    async def calls_done(self, ref: str) -> None:
        """Wait until every lead has been called and each call's webhooks delivered, so that
        what follows is only status webhooks."""
        [campaign] = [c for c in self.voipbin.store["campaigns"].values() if ref in c["name"]]
        deadline = time.monotonic() + 20
        while any(t["status"] != "done" for t in self.voipbin.targets_of(campaign["outdial_id"])):
            assert time.monotonic() < deadline, "the leads were never all called"
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)

    def lost_status_webhooks(self) -> list[str]:
        """Status webhooks none of whose (up to three) attempts the bot accepted. Call
        progress webhooks are left out: the VoIPBIN adapter counts them in Redis while reading
        them, so during an outage they get 503 and only VoIPBIN's retries."""
        lost: list[str] = []
        attempts: list[Delivery] = []
        for delivery in [*self.voipbin.deliveries, None]:
            if attempts and (delivery is None or delivery.attempt == 1):
                if not any(a.status_code is not None and a.status_code < 500 for a in attempts):
                    lost.append(attempts[0].type)
                attempts = []
            if delivery is not None:
                attempts.append(delivery)
        return [kind for kind in lost if kind.startswith("campaign_status")]


@contextlib.asynccontextmanager
async def rig(knobs: StandinKnobs | None = None) -> AsyncIterator[Rig]:
    prefix = f"attack:{uuid.uuid4().hex[:8]}:"
    with RedisServer(appendonly=True) as redis_server:
        redis = redis_client(redis_server.url)
        try:
            async with (
                SlackStandIn(token=BOT_TOKEN, member_of={CHANNEL}) as slack,
                VoipbinStandin(
                    accesskey=ACCESSKEY, webhook_secret=WEBHOOK_SECRET, knobs=knobs
                ) as voipbin,
            ):
                env = serve_environment(
                    slack.api_url,
                    prefix,
                    REDIS_URL=redis_server.url,
                    DIALER="voipbin",
                    VOIPBIN_API_URL=voipbin.api_url,
                    VOIPBIN_ACCESSKEY=ACCESSKEY,
                    VOIPBIN_WEBHOOK_SECRET=WEBHOOK_SECRET,
                )
                async with serving(env) as bot:
                    voipbin.webhook_url = f"{bot.url}/dialer/voipbin/events"
                    store = CampaignStore(redis, Keys(prefix))
                    driver = SlackDriver(
                        bot.url, slack, store, signing_secret=SIGNING_SECRET, channel=CHANNEL
                    )
                    try:
                        yield Rig(bot, redis_server, voipbin, driver, store)
                    finally:
                        await driver.aclose()
        finally:
            await redis.aclose()


async def running_campaign(rig: Rig, name: str, leads: bytes | None = None) -> str:
    if leads is None:
        ref = await rig.driver.create_campaign(ANA, name, agents="agent-1")
    else:
        ref = await rig.driver.create_campaign(ANA, name, leads, agents="agent-1")
    await rig.driver.click(ANA, ids.START, ref)
    await rig.driver.status_of(ref, CampaignStatus.RUNNING, timeout=15)
    return ref


async def stop_on_the_dialer(rig: Rig, ref: str) -> None:
    """Someone stops the campaign in VoIPBIN itself; its webhooks tell the bot."""
    [campaign_id] = [cid for cid, c in rig.voipbin.store["campaigns"].items() if ref in c["name"]]
    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.put(
            f"{rig.voipbin.api_url}/campaigns/{campaign_id}/status",
            params={"accesskey": ACCESSKEY},
            json={"status": "stop"},
        )
    assert answer.status_code == 200, answer.text


async def test_with_redis_paused_health_is_503_within_2s_and_a_start_says_nothing_was_sent() -> (
    None
):
    async with rig() as r, httpx.AsyncClient() as http:
        ref = await r.driver.create_campaign(ANA, "Paused Redis", agents="agent-1")
        status_requests = len([q for q in r.voipbin.requests if q.path.endswith("/status")])
        r.redis.pause()
        try:
            status, took = await r.health(http)
            assert status == 503 and took < 2.0, (status, took)
            started = time.monotonic()
            assert (await http.get(f"{r.bot.url}/metrics", timeout=10)).status_code == 200
            assert time.monotonic() - started < 2.0  # counters, without the Redis gauges
            _, url = await r.driver.command(ANA, f"start {ref}")
            reply = await r.driver.reply_to(url, timeout=15)
            assert "nothing was sent to the dialer" in reply
            assert len([q for q in r.voipbin.requests if q.path.endswith("/status")]) == (
                status_requests
            )
        finally:
            r.redis.resume()
        await r.bot.healthy(timeout=15)


async def test_status_webhooks_during_a_20s_redis_outage_reach_the_card_after_it() -> None:
    async with rig(VOIPBIN_RETRIES) as r, httpx.AsyncClient() as http:
        ref = await running_campaign(r, "Outage of twenty seconds")
        await r.calls_done(ref)
        r.redis.kill()
        down_since = time.monotonic()
        assert (await r.health(http))[0] == 503
        await stop_on_the_dialer(r, ref)  # stopping, then stop: webhooks while Redis is away
        while r.dialer_status(ref) != "stop":
            await asyncio.sleep(0.1)
        await asyncio.sleep(max(0.0, 20 - (time.monotonic() - down_since)))
        r.redis.start()
        back = time.monotonic()
        await r.driver.status_of(ref, CampaignStatus.STOPPED, timeout=60)
        await r.driver.channel_message("has *stopped*", timeout=60 - (time.monotonic() - back))
        assert r.lost_status_webhooks() == []
        metrics = (await http.get(f"{r.bot.url}/metrics")).text
        assert 'campaign_bot_webhook_buffer_total{outcome="buffered"}' in metrics
        assert "campaign_bot_webhook_buffer_length 0" in metrics


async def test_webhooks_lost_in_an_outage_are_made_good_by_reconciliation_once_redis_is_back() -> (
    None
):
    async with rig(VOIPBIN_RETRIES) as r:
        ref = await running_campaign(r, "Lost webhooks")
        r.redis.kill()
        r.voipbin.webhook_url = "http://127.0.0.1:9/unreachable"  # the network loses them all
        await stop_on_the_dialer(r, ref)
        while r.dialer_status(ref) != "stop":
            await asyncio.sleep(0.1)
        await r.voipbin.quiesce()  # every delivery tried three times and given up
        r.voipbin.webhook_url = f"{r.bot.url}/dialer/voipbin/events"
        r.redis.start()
        stopped = await r.driver.status_of(ref, CampaignStatus.STOPPED, timeout=60)
        assert stopped.removal is None
        audit = [e["action"] for e in await r.store.audit_entries(count=200)]
        assert "reconciliation:applied" in audit


BURST_LEADS = b"name,phone\n" + b"".join(b"Lead %d,+1415555%04d\n" % (n, n) for n in range(1, 41))


async def test_a_webhook_burst_through_a_redis_pause_and_a_kill_loses_nothing() -> None:
    async with rig() as r, httpx.AsyncClient() as http:
        ref = await running_campaign(r, "Burst", BURST_LEADS)
        await asyncio.sleep(0.5)  # calls are being placed and finished: webhooks flow
        r.redis.pause()
        await asyncio.sleep(2.5)
        r.redis.resume()
        await asyncio.sleep(1.0)
        r.redis.kill()
        await asyncio.sleep(2.5)
        r.redis.start()
        await stop_on_the_dialer(r, ref)
        await r.driver.status_of(ref, CampaignStatus.STOPPED, timeout=60)
        await r.voipbin.quiesce()
        assert r.lost_status_webhooks() == []
        deadline = time.monotonic() + 30
        while "campaign_bot_webhook_buffer_length 0" not in (
            metrics := (await http.get(f"{r.bot.url}/metrics")).text
        ):
            assert time.monotonic() < deadline, metrics
            await asyncio.sleep(0.2)
        assert r.dialer_status(ref) == "stop"


async def test_every_malformed_request_on_every_route_is_a_4xx_and_logs_no_traceback() -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    as_json = {"Content-Type": "application/json"}
    junk: list[tuple[str, str, dict[str, str], bytes]] = [
        ("POST", "/slack/events", slack_headers(None, b"a" * 200_000), b"a" * 200_000),
        (
            "POST",
            "/slack/events",
            {**slack_headers(SIGNING_SECRET, b"payload=x"), "X-Slack-Request-Timestamp": "x1"},
            b"payload=x",
        ),
        ("POST", "/slack/events", slack_headers(SIGNING_SECRET, b"{no", **as_json), b"{no"),
        ("POST", "/slack/events", slack_headers(SIGNING_SECRET, b"\xff\xfe", **form), b"\xff\xfe"),
        ("POST", "/slack/events", form, b"x" * 2_000_000),
        ("POST", "/dialer/voipbin/events", as_json, b"{not json"),
        ("POST", "/dialer/voipbin/events", as_json, b"\xff\xfe\xfd"),
        ("POST", "/dialer/voipbin/events", {**as_json, "X-VoIPBIN-Signature": "sha256=0"}, b"{}"),
        ("POST", "/dialer/voipbin/events", as_json, b"[1, 2, 3]"),
        ("POST", "/dialer/voipbin/events", as_json, b"x" * 2_000_000),
        ("POST", "/dialer/enigma/events", as_json, b"{}"),
        ("POST", "/healthz", form, b""),
        ("GET", "/nowhere", {}, b""),
        ("GET", "/healthz", {"X-Huge": "h" * 70_000}, b""),
    ]
    async with rig() as r:
        for method, path, headers, body in junk:
            status = await send_request(r.bot.url, method, path, headers, body)
            assert status is not None and 400 <= status < 500, (method, path, status)
        await r.bot.healthy()
        assert not tracebacks(r.bot.output())
