"""With SLACK_APP_TOKEN the bot takes Slack's requests over Socket Mode, and its HTTP endpoint
stops taking unsigned Slack requests."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from redis.asyncio import Redis

from bot.bootstrap import build_services
from bot.server import BotServer
from bot.settings import Settings
from dialer.simulator import SimulatorDialer
from tests.e2e.harness import EVE, FAST, forget, serving_on_loopback
from tests.e2e.socket_mode_standin import SocketModeStandIn


async def test_a_command_over_socket_mode_is_acked_and_answered(fake_redis: Redis) -> None:
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    async with SocketModeStandIn() as slack:
        settings = Settings(
            slack_bot_token="xoxb-socket",
            slack_app_token="xapp-socket",
            slack_api_url=slack.api_url,
            redis_key_prefix=prefix,
            host="127.0.0.1",
        )
        services = build_services(settings, redis=fake_redis, dialer=SimulatorDialer(FAST))
        server = BotServer(services)
        async with serving_on_loopback(server) as url:
            await slack.wait_connected()
            payload = {
                "command": "/campaign",
                "text": "list",
                "user_id": EVE,
                "channel_id": "C1",
                "team_id": "T1",
                "trigger_id": "t-socket",
                "response_url": slack.response_url("r1"),
            }
            await slack.send(
                {
                    "envelope_id": "e-1",
                    "type": "slash_commands",
                    "accepts_response_payload": True,
                    "payload": payload,
                }
            )
            # The ack goes over the socket and the answer over HTTP: either may land first.
            async with asyncio.timeout(5):
                while "r1" not in slack.responses or not slack.acks:
                    await asyncio.sleep(0.02)
            assert [a["envelope_id"] for a in slack.acks] == ["e-1"]
            assert slack.responses["r1"][0]["text"] == "Campaigns: 0"

            async with httpx.AsyncClient(base_url=url) as http:
                unsigned = await http.post("/slack/events", content=b"command=%2Fcampaign")
            assert unsigned.status_code == 503
        await services.dialer.aclose()
    await forget(fake_redis, prefix)
