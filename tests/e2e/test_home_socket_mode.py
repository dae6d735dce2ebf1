"""``app_home_opened`` over Socket Mode: acked on the socket, the Home tab published over the Web
API, as over HTTP."""

from __future__ import annotations

import asyncio
import uuid

from redis.asyncio import Redis

from bot.bootstrap import build_services
from bot.server import BotServer
from bot.settings import Settings
from dialer.simulator import SimulatorDialer
from tests.e2e.harness import ANA, FAST, serving_on_loopback
from tests.e2e.socket_mode_standin import SocketModeStandIn


async def test_app_home_opened_over_socket_mode_publishes_the_home_tab(fake_redis: Redis) -> None:
    prefix = f"test:{uuid.uuid4().hex[:8]}:"
    async with SocketModeStandIn() as slack:
        settings = Settings(
            slack_bot_token="xoxb-socket",
            slack_app_token="xapp-socket",
            slack_api_url=slack.api_url,
            campaign_leads=(ANA,),
            redis_key_prefix=prefix,
            host="127.0.0.1",
        )
        services = build_services(settings, redis=fake_redis, dialer=SimulatorDialer(FAST))
        async with serving_on_loopback(BotServer(services)):
            await slack.wait_connected()
            await slack.send(
                {
                    "envelope_id": "e-home",
                    "type": "events_api",
                    "accepts_response_payload": False,
                    "payload": {
                        "type": "event_callback",
                        "team_id": "T1",
                        "api_app_id": "A1",
                        "event_id": "Ev-home",
                        "event_time": 1,
                        "event": {
                            "type": "app_home_opened",
                            "user": ANA,
                            "channel": "DANA",
                            "tab": "home",
                            "event_ts": "1.000001",
                        },
                    },
                }
            )
            async with asyncio.timeout(5):
                while not slack.web.calls("views.publish") or not slack.acks:
                    await asyncio.sleep(0.02)
            [published] = slack.web.calls("views.publish")
            assert published.args["user_id"] == ANA
            assert published.args["view"]["type"] == "home"
            assert published.error is None
            assert [a["envelope_id"] for a in slack.acks] == ["e-home"]
