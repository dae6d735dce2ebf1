"""Redis restarted under a running ``campaign-bot serve``: the bot keeps answering, reports
itself unhealthy while Redis is away, and carries on afterwards with everything it had
acknowledged.

The Redis here writes every change to its append-only file before answering
(``--appendonly yes --appendfsync always``); a Redis without persistence loses its data on a
restart by design, and the README says which Redis to run.
"""

from __future__ import annotations

import asyncio

import httpx

from bot.demo.driver import SlackDriver
from commands.views import ids
from dialer.simulator import SimulatorDialer
from state.connection import redis_client
from state.domain import CampaignStatus
from state.keys import Keys
from state.store import CampaignStore
from tests.e2e.harness import ANA, CHANNEL, FAST, running_bot
from tests.faults.processes import (
    BOT_TOKEN,
    SIGNING_SECRET,
    RedisServer,
    serve_environment,
    serving,
)
from tests.standins.slack_api import SlackStandIn


async def test_a_redis_restart_loses_nothing_acknowledged_and_the_bot_recovers() -> None:
    with RedisServer(appendonly=True) as redis_server:
        redis = redis_client(redis_server.url)
        store = CampaignStore(redis, Keys("faults:"))
        try:
            async with SlackStandIn(token=BOT_TOKEN, member_of={CHANNEL}) as slack:
                env = serve_environment(slack.api_url, "faults:", REDIS_URL=redis_server.url)
                async with serving(env) as bot:
                    driver = SlackDriver(
                        bot.url, slack, store, signing_secret=SIGNING_SECRET, channel=CHANNEL
                    )
                    try:
                        ref = await driver.create_campaign(ANA, "Outlasts Redis")
                        await driver.click(ANA, ids.START, ref)
                        await driver.status_of(ref, CampaignStatus.RUNNING)

                        redis_server.stop()
                        async with httpx.AsyncClient(base_url=bot.url, timeout=5) as http:
                            assert (await http.get("/healthz")).status_code == 503
                            redis_server.start()
                            await _healthy_again(http)
                        await redis.connection_pool.disconnect()

                        kept = await store.require(ref)
                        assert kept.status is CampaignStatus.RUNNING and kept.dialer_id
                        _, url = await driver.command(ANA, f"stop {ref}")
                        assert "Stop of" in await driver.reply_to(url, timeout=10)
                        await driver.status_of(ref, CampaignStatus.STOPPED, timeout=15)
                        await driver.channel_message("has *stopped*", timeout=10)
                        assert len(await store.list_live()) == 1
                    finally:
                        await driver.aclose()
                    assert await bot.stop() == 0
        finally:
            await redis.aclose()


async def _healthy_again(http: httpx.AsyncClient, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await http.get("/healthz")).status_code != 200:
        assert asyncio.get_running_loop().time() < deadline, "never healthy after the restart"
        await asyncio.sleep(0.1)


async def test_a_notification_pushed_while_redis_is_away_is_applied_once_it_is_back() -> None:
    dialer = SimulatorDialer(FAST)
    with RedisServer(appendonly=True) as redis_server:
        redis = redis_client(redis_server.url)
        try:
            async with running_bot(redis, dialer=dialer, prefix="faults:") as bot:
                ref = await bot.create_campaign(ANA, "Stopped at the console")
                await bot.click(ANA, ids.START, ref)
                await bot.status_of(ref, CampaignStatus.RUNNING)

                redis_server.stop()
                await dialer.stop(ref)  # someone stops it on the dialer itself meanwhile
                await asyncio.sleep(FAST.call_duration * 3)  # stopping, then stopped, pushed
                redis_server.start()

                await bot.status_of(ref, CampaignStatus.STOPPED, timeout=15)
                await bot.channel_message("has *stopped*", timeout=10)
        finally:
            await dialer.aclose()
            await redis.aclose()
