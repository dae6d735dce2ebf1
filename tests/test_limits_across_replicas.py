"""Three ``campaign-bot serve`` replicas keep one vendor limit between them (the limit lives in
Redis, ``state.limiter``): uploads for three campaigns at once, one through each replica, meet
no 429 from a stand-in that refuses over its limit as the vendor does, and still use at least
0.9 of it; a burst of status changes reaches one Slack channel at Slack's pace."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
from redis.asyncio import Redis

from bot.demo.driver import SlackDriver
from bot.demo.forms import new_campaign_values
from dialer.voipbin.webhooks import sign
from state.keys import Keys
from state.store import CampaignStore
from tests.e2e.harness import ANA, CHANNEL, forget
from tests.faults.processes import (
    BOT_TOKEN,
    REAL_REDIS_URL,
    SIGNING_SECRET,
    ServeProcess,
    killing_on_exit,
    serve_environment,
)
from tests.standins.livevox import LiveVoxKnobs, LiveVoxStandin
from tests.standins.server import LocalServer
from tests.standins.slack_api import SlackStandIn
from tests.standins.voipbin import StandinKnobs, VoipbinStandin

WEBHOOK_SECRET = "voipbin-webhook-secret-4be1"
ACCESSKEY = "standin-accesskey"
MICROSECOND = timedelta(microseconds=1)
CONTACTS = 40  # per campaign: long enough a busy period to measure the pace over


def leads(campaign: int) -> bytes:
    rows = (f"C{campaign}-{n},+1415555{campaign}{n:03d}" for n in range(CONTACTS))
    return ("name,phone\n" + "\n".join(rows) + "\n").encode()


@asynccontextmanager
async def rig(slack: SlackStandIn, **settings: str) -> AsyncIterator[tuple[list[str], Redis, str]]:
    """Three replicas on one Redis prefix; their URLs, the Redis and the prefix."""
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    redis = Redis.from_url(REAL_REDIS_URL)
    env = {"LOG_LEVEL": "WARNING", "LEADS_UPLOAD_CONCURRENCY": "4", **settings}
    bots = [
        ServeProcess(serve_environment(slack.api_url, prefix, **env), f"r{i}") for i in range(3)
    ]
    try:
        with killing_on_exit(*bots):
            await asyncio.gather(*(bot.healthy() for bot in bots))
            yield [bot.url for bot in bots], redis, prefix
    finally:
        await forget(redis, prefix)
        await redis.aclose()


async def create_through_each(
    urls: Sequence[str], slack: SlackStandIn, store: CampaignStore, *, agents: str
) -> None:
    """``/campaign new`` with a leads file through each replica, one after another; each
    replica's upload goes on in the background while the next campaign is created."""
    for number, url in enumerate(urls, start=1):
        driver = SlackDriver(url, slack, store, signing_secret=SIGNING_SECRET, channel=CHANNEL)
        try:
            opened = len(slack.calls("views.open"))
            # A trigger id of its own: a repeated one is a Slack retry, answered once.
            answer, _ = await driver.command(ANA, "new", trigger_id=f"new-{uuid.uuid4().hex}")
            assert answer.status == 200
            view = await driver.opened_view(opened + 1)
            values = new_campaign_values(
                f"Limit {number}", slack.add_file(leads(number)), agents=agents
            )
            submitted = await driver.submit(ANA, view, values)
            assert submitted.status == 200, submitted.body
        finally:
            await driver.aclose()


async def until(done: Callable[[], object], what: str, timeout: float) -> None:
    """Wait until ``done()`` is true (awaited when it answers with an awaitable)."""
    try:
        async with asyncio.timeout(timeout):
            while not await _answer(done()):
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"not within {timeout} s: {what}") from None


async def _answer(value: object) -> object:
    return await value if inspect.isawaitable(value) else value


def share_of_limit(times: Sequence[float], per_second: float) -> float:
    """How much of the limit the calls used between the first and the last of them."""
    span = max(times) - min(times)
    return (len(times) - 1) / span / per_second


async def test_three_replicas_uploading_at_once_stay_under_voipbin_s_limit_and_use_it() -> None:
    limit = 16.0
    knobs = StandinKnobs(customer_rps=limit, customer_burst=4)
    async with (
        SlackStandIn(token=BOT_TOKEN, member_of={CHANNEL}) as slack,
        VoipbinStandin(accesskey=ACCESSKEY, webhook_secret=WEBHOOK_SECRET, knobs=knobs) as voipbin,
        rig(
            slack,
            DIALER="voipbin",
            VOIPBIN_API_URL=voipbin.api_url,
            VOIPBIN_ACCESSKEY=ACCESSKEY,
            VOIPBIN_WEBHOOK_SECRET=WEBHOOK_SECRET,
            VOIPBIN_REQUESTS_PER_SECOND=str(limit),
            VOIPBIN_REQUEST_BURST="2",
        ) as (urls, redis, prefix),
    ):
        store = CampaignStore(redis, Keys(prefix))
        await create_through_each(urls, slack, store, agents="agent-1")

        def targets() -> list[float]:
            return voipbin.admitted_requests("/targets")

        await until(lambda: len(targets()) >= 3 * CONTACTS, "every lead on VoIPBIN", 60)
        busy = [at for at, _, _ in voipbin.admitted if min(targets()) <= at <= max(targets())]

    assert voipbin.refused_at == []
    assert share_of_limit(busy, limit) >= 0.9, (len(busy), max(busy) - min(busy))


async def test_three_replicas_appending_at_once_keep_to_livevox_s_rolling_window() -> None:
    window, per_window = 1.0, 5
    standin = LiveVoxStandin(
        LiveVoxKnobs(append_calls_per_window=per_window, append_window_seconds=window)
    )
    server = await LocalServer.start(standin.app)
    knobs = standin.knobs
    try:
        async with (
            SlackStandIn(token=BOT_TOKEN, member_of={CHANNEL}) as slack,
            rig(
                slack,
                DIALER="livevox",
                LIVEVOX_API_URL=f"{server.url}/api/",
                LIVEVOX_ACCESS_TOKEN=knobs.access_token,
                LIVEVOX_CLIENT_NAME=knobs.client_name,
                LIVEVOX_USER_NAME=knobs.user_name,
                LIVEVOX_PASSWORD=knobs.password,
                LIVEVOX_SERVICE_ID=str(knobs.service_id),
                LIVEVOX_DIALING_STRATEGY_ID="11",
                LIVEVOX_VOICE_ID="3",
                LIVEVOX_APPEND_CALLS_PER_WINDOW=str(per_window),
                LIVEVOX_APPEND_WINDOW_SECONDS=str(window),
                LIVEVOX_BATCH_SIZE="5",
            ) as (urls, redis, prefix),
        ):
            store = CampaignStore(redis, Keys(prefix))
            await create_through_each(urls, slack, store, agents="")

            def records() -> int:
                return sum(len(c.records) for c in standin.campaigns.values())

            await until(lambda: records() >= 3 * CONTACTS, "every lead on LiveVox", 60)
    finally:
        await server.stop()

    assert standin.append_refusals == []
    assert share_of_limit(standin.append_times, per_window / window) >= 0.9


async def test_a_burst_of_status_changes_reaches_the_channel_at_slack_s_pace() -> None:
    async with (
        SlackStandIn(token=BOT_TOKEN, member_of={CHANNEL}) as slack,
        VoipbinStandin(accesskey=ACCESSKEY, webhook_secret=WEBHOOK_SECRET) as voipbin,
        rig(
            slack,
            DIALER="voipbin",
            VOIPBIN_API_URL=voipbin.api_url,
            VOIPBIN_ACCESSKEY=ACCESSKEY,
            VOIPBIN_WEBHOOK_SECRET=WEBHOOK_SECRET,
        ) as (urls, redis, prefix),
    ):
        slack.throttle("chat.postMessage", calls=1, per_seconds=1.0, per_channel=True)
        store = CampaignStore(redis, Keys(prefix))
        await create_through_each(urls[:1], slack, store, agents="agent-1")

        async def settled() -> bool:
            live = await store.list_live()
            card = bool(live) and live[0].card_ts is not None and live[0].dialer_id is not None
            return card and len(voipbin.admitted_requests("/targets")) == CONTACTS

        await until(settled, "the campaign created, its leads up and its card shown", 20)
        (campaign,) = voipbin.store["campaigns"].values()
        campaign["status"] = "run"  # where the burst leaves it: the reconciler sees no drift
        began = len(slack.calls())
        start = datetime.now(UTC)

        async with httpx.AsyncClient(timeout=10.0) as client:

            async def change(n: int) -> None:
                status = "run" if n % 2 else "stop"  # the last one (99) starts it
                stamp = (start + timedelta(milliseconds=n)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                data = {**campaign, "status": status, "tm_update": stamp}
                event = {"type": f"campaign_status_{status}", "data": data}
                body = json.dumps(event).encode()
                headers = {"X-VoIPBIN-Signature": sign(WEBHOOK_SECRET, body)}
                url = f"{urls[n % 3]}/dialer/voipbin/events"
                assert (await client.post(url, content=body, headers=headers)).status_code == 200

            for first in range(0, 100, 6):  # two at a time on each replica
                await asyncio.gather(*(change(n) for n in range(first, min(first + 6, 100))))

        keys = Keys(prefix)

        # VoIPBIN's sequence of the last change (µs); arriving before the one ahead of it, it is
        # applied and that one is stale: either way the campaign ends on its sequence.
        last = (start + timedelta(milliseconds=99) - datetime.fromtimestamp(0, UTC)) // MICROSECOND

        async def posted_all() -> bool:
            (stored,) = await store.list_live()
            applied = stored.status_sequence >= last
            return applied and await redis.scard(keys.alerts_pending) == 0

        await until(posted_all, "every change shown in the channel", 60)
        calls = [c for c in slack.calls()[began:] if c.args.get("channel") == CHANNEL]

    assert [c for c in calls if c.status == 429] == []
    posts = [c.at for c in calls if c.method == "chat.postMessage"]
    assert len(posts) >= 2  # the burst did reach the channel...
    last_alert = next(c for c in reversed(calls) if c.method == "chat.postMessage")
    assert "*running*" in str(last_alert.args["text"])  # ...ending on the last status
    gaps = [later - earlier for earlier, later in itertools.pairwise(posts)]
    assert min(gaps) >= 1.0 * 0.95, gaps
