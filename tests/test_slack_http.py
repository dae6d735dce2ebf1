"""The HTTP server's other routes: dialer webhooks (verified, then into the inbox, then applied
by the engine), the health check, and Slack events when Slack is not configured."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime

import fakeredis
import httpx
import pytest

from bot.bootstrap import build_services
from bot.server import BotServer
from bot.settings import Settings
from dialer.base import WebhookRejected
from dialer.models import NewCampaign
from dialer.simulator import SimulatorDialer
from state.campaign import Campaign
from state.domain import CampaignStatus, DialerNotification, NotificationKind
from tests.e2e.harness import FAST, serving_on_loopback

SECRET = "hook-secret"


class WebhookSimulator(SimulatorDialer):
    """The simulator, plus a webhook: ``X-Hook-Secret`` must match, the body names a status."""

    async def receive_webhook(
        self, headers: Mapping[str, str], body: bytes
    ) -> list[DialerNotification]:
        if headers.get("x-hook-secret") != SECRET:
            raise WebhookRejected("bad secret", status_code=401)
        try:
            event = json.loads(body)
        except ValueError as exc:
            raise WebhookRejected("not JSON") from exc
        return [
            DialerNotification(
                event_id=str(event["id"]),
                dialer=self.name,
                kind=NotificationKind.STATUS,
                campaign_ref=str(event["ref"]),
                sequence=int(event["sequence"]),
                occurred_at=datetime.now(UTC),
                status=CampaignStatus(event["status"]),
            )
        ]


@pytest.fixture
async def server() -> AsyncIterator[tuple[BotServer, httpx.AsyncClient]]:
    redis = fakeredis.FakeAsyncRedis()
    settings = Settings(redis_key_prefix=f"test:{uuid.uuid4().hex[:8]}:", host="127.0.0.1")
    services = build_services(settings, redis=redis, dialer=WebhookSimulator(FAST))
    bot = BotServer(services)
    async with serving_on_loopback(bot) as url, httpx.AsyncClient(base_url=url) as http:
        yield bot, http
    await services.aclose()


async def stored_campaign(bot: BotServer) -> str:
    store = bot.services.store
    ref = await store.issue_ref()
    created = await bot.services.dialer.create_campaign(NewCampaign(ref=ref, name="Hooked"))
    await store.create(
        Campaign(
            ref=ref,
            name="Hooked",
            dialer="simulator",
            dialer_id=created.dialer_id,
            created_by="UANA",
            created_at=datetime.now(UTC),
        )
    )
    return ref


def event(ref: str, status: str, sequence: int) -> str:
    return json.dumps({"id": f"e{sequence}", "ref": ref, "status": status, "sequence": sequence})


async def test_a_forged_webhook_is_refused_and_nothing_is_applied(
    server: tuple[BotServer, httpx.AsyncClient],
) -> None:
    bot, http = server
    ref = await stored_campaign(bot)
    answer = await http.post(
        "/dialer/simulator/events",
        content=event(ref, "running", 5),
        headers={"X-Hook-Secret": "no"},
    )
    assert answer.status_code == 401
    assert await bot.services.redis.xlen(bot.services.inbox.stream) == 0
    assert (await bot.services.store.require(ref)).status is CampaignStatus.STOPPED


async def test_a_verified_webhook_is_answered_and_then_applied(
    server: tuple[BotServer, httpx.AsyncClient],
) -> None:
    bot, http = server
    ref = await stored_campaign(bot)
    answer = await http.post(
        "/dialer/simulator/events",
        content=event(ref, "running", 5),
        headers={"X-Hook-Secret": SECRET},
    )
    assert answer.status_code == 200 and answer.json() == {"accepted": 1}
    store = bot.services.store
    for _ in range(200):
        if (await store.require(ref)).status is CampaignStatus.RUNNING:
            break
        await asyncio.sleep(0.02)
    assert (await store.require(ref)).status is CampaignStatus.RUNNING


async def test_a_webhook_that_cannot_be_read_gets_its_status(
    server: tuple[BotServer, httpx.AsyncClient],
) -> None:
    _, http = server
    answer = await http.post(
        "/dialer/simulator/events", content=b"{", headers={"X-Hook-Secret": SECRET}
    )
    assert answer.status_code == 400


async def test_webhooks_for_another_dialer_are_not_found(
    server: tuple[BotServer, httpx.AsyncClient],
) -> None:
    _, http = server
    assert (await http.post("/dialer/voipbin/events", content=b"{}")).status_code == 404


async def test_the_webhook_path_takes_only_post_and_a_bounded_head(
    server: tuple[BotServer, httpx.AsyncClient],
) -> None:
    _, http = server
    assert (await http.get("/dialer/simulator/events")).status_code == 405
    huge = {"X-Hook-Secret": SECRET, "X-Padding": "p" * 20_000}
    answer = await http.post("/dialer/simulator/events", content=b"{}", headers=huge)
    assert answer.status_code == 431


async def test_health_check_says_ok_while_redis_answers(
    server: tuple[BotServer, httpx.AsyncClient],
) -> None:
    _, http = server
    answer = await http.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "redis": "ok",
        "dialer": "simulator",
        "dialer_reachable": True,
        "slack": False,
        "buffered_notifications": 0,
        "webhooks_unsigned": False,
    }


async def test_slack_events_without_slack_configured_say_so(
    server: tuple[BotServer, httpx.AsyncClient],
) -> None:
    _, http = server
    answer = await http.post("/slack/events", content=b"payload=%7B%7D")
    assert answer.status_code == 503
    assert "Slack is not configured" in answer.text


async def test_metrics_count_campaigns_by_status(
    server: tuple[BotServer, httpx.AsyncClient],
) -> None:
    bot, http = server
    await stored_campaign(bot)
    answer = await http.get("/metrics")
    assert answer.status_code == 200
    assert 'campaign_bot_campaigns{status="stopped"} 1' in answer.text
    assert 'campaign_bot_campaigns{status="running"} 0' in answer.text
    assert "campaign_bot_removals_under_way 0" in answer.text
    assert "campaign_bot_alerts_" not in answer.text  # Slack is off here
