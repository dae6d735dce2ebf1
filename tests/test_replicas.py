"""Two ``campaign-bot serve`` processes behind one address, sharing one Redis and one VoIPBIN
(stand-in), take a campaign through its life with requests and webhooks spread over both; one is
killed (SIGKILL) half-way. Nothing is lost and nothing is applied twice."""

from __future__ import annotations

import json
import signal
import uuid
from collections import Counter

from redis.asyncio import Redis

from bot.demo.driver import SlackDriver
from commands.views import ids
from state.domain import CampaignStatus
from state.keys import Keys
from state.store import CampaignStore
from tests.e2e.harness import ANA, BOB, CHANNEL, forget
from tests.faults.processes import (
    BOT_TOKEN,
    REAL_REDIS_URL,
    SIGNING_SECRET,
    RoundRobin,
    ServeProcess,
    killing_on_exit,
    serve_environment,
)
from tests.standins.slack_api import SlackStandIn
from tests.standins.voipbin import VoipbinStandin

WEBHOOK_SECRET = "voipbin-webhook-secret-61d0"
ACCESSKEY = "standin-accesskey"


async def test_two_replicas_share_the_work_and_survive_one_being_killed() -> None:
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    redis = Redis.from_url(REAL_REDIS_URL)
    store = CampaignStore(redis, Keys(prefix))
    try:
        async with (
            SlackStandIn(token=BOT_TOKEN, member_of={CHANNEL}) as slack,
            VoipbinStandin(accesskey=ACCESSKEY, webhook_secret=WEBHOOK_SECRET) as voipbin,
        ):
            replica = {
                "DIALER": "voipbin",
                "VOIPBIN_API_URL": voipbin.api_url,
                "VOIPBIN_ACCESSKEY": ACCESSKEY,
                "VOIPBIN_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "NOTIFICATION_CLAIM_IDLE_SECONDS": "1",
                "LOG_LEVEL": "WARNING",
            }
            first = ServeProcess(serve_environment(slack.api_url, prefix, **replica), "first")
            second = ServeProcess(serve_environment(slack.api_url, prefix, **replica), "second")
            with killing_on_exit(first, second):
                await first.healthy()
                await second.healthy()
                async with RoundRobin([first.url, second.url]) as front:
                    voipbin.webhook_url = f"{front.url}/dialer/voipbin/events"
                    driver = SlackDriver(
                        front.url, slack, store, signing_secret=SIGNING_SECRET, channel=CHANNEL
                    )
                    try:
                        ref = await driver.create_campaign(ANA, "Replicated", agents="agent-1")
                        await driver.click(ANA, ids.START, ref)
                        await driver.status_of(ref, CampaignStatus.RUNNING, timeout=10)
                        await driver.command(BOB, f"set {ref} aggression=85")
                        await driver.campaign_where(lambda c: c.settings.aggression == 85)
                        assert all(count > 0 for count in front.served.values()), front.served

                        await first.stop(signal.SIGKILL)
                        await driver.command(ANA, f"stop {ref}")
                        await driver.status_of(ref, CampaignStatus.STOPPED, timeout=10)
                        await driver.command(ANA, f"remove {ref}")
                        await driver.channel_message(f"Removal of {ref} requested")
                        _, url = await driver.click(BOB, ids.APPROVE, ref)
                        assert "Approved" in await driver.reply_to(url)
                        await driver.status_of(ref, CampaignStatus.DELETED, timeout=15)
                        await driver.channel_message("was *deleted*", timeout=10)
                    finally:
                        await driver.aclose()
                    channel = driver.channel_texts()
                    stored = await store.require(ref)
                assert await second.stop() == 0  # the survivor still stops gracefully

        # Every status change reached the channel once: none lost, none applied twice.
        alerts = Counter(line for text in channel for line in text.splitlines() if "(was " in line)
        for change in ("is *running*", "is *stopping*", "has *stopped*", "was *deleted*"):
            assert sum(n for line, n in alerts.items() if change in line) >= 1, channel
        assert all(n == 1 for n in alerts.values()), alerts
        assert stored.settings.aggression == 85 and stored.removal is None

        audit = await store.audit_entries(count=1000)
        applied = [
            json.loads(entry["data"])["event"]["event_id"]
            for entry in audit
            if entry["action"] == "notification:applied"
        ]
        assert applied and len(applied) == len(set(applied))
        targets = [
            target
            for outdial in voipbin.store["outdials"].values()
            for target in voipbin.targets_of(outdial["id"])
        ]
        assert len(targets) == 3
    finally:
        await forget(redis, prefix)
        await redis.aclose()
