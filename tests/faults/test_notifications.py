"""Duplicate, late and forged dialer notifications, through the real server: each status change
is applied and shown once, a late one changes nothing, a forged one is refused and counted.

Elsewhere: the state machine's table of duplicates and stale events
(tests/test_state_machine.py), VoIPBIN's signatures (tests/test_voipbin_webhooks.py), Genesys'
token (tests/test_genesys_adapter.py).
"""

from __future__ import annotations

import asyncio
from collections import Counter

from redis.asyncio import Redis

from commands.views import ids
from state.domain import CampaignStatus
from tests.e2e.harness import ANA, BOB, FAST, running_bot
from tests.test_serve import metric
from tests.test_slack_http import SECRET, WebhookSimulator, event

# Every notification the simulator sends is delivered twice, and half are held back behind
# later ones.
CHAOTIC = FAST.model_copy(update={"duplicate_rate": 1.0, "reorder_rate": 0.5, "seed": 7})
HUGE = 10**15  # a sequence after anything the simulator numbers itself


async def test_each_status_change_is_applied_once_despite_duplicates_and_reordering(
    redis: Redis,
) -> None:
    async with running_bot(redis, dialer=WebhookSimulator(CHAOTIC)) as bot:
        ref = await bot.create_campaign(ANA, "Chaotic")
        await bot.click(ANA, ids.START, ref)
        await bot.status_of(ref, CampaignStatus.RUNNING)
        await bot.command(ANA, f"stop {ref}")
        await bot.status_of(ref, CampaignStatus.STOPPED)
        await bot.command(ANA, f"remove {ref}")
        await bot.channel_message(f"Removal of {ref} requested")
        await bot.click(BOB, ids.APPROVE, ref)
        await bot.status_of(ref, CampaignStatus.DELETED)
        await bot.channel_message("was *deleted*")
        await asyncio.sleep(0.3)  # let the held-back copies arrive too

        alerts = Counter(
            line for text in bot.channel_texts() for line in text.splitlines() if "(was " in line
        )
        assert alerts and all(n == 1 for n in alerts.values()), alerts
        audit = [entry["action"] for entry in await bot.store.audit_entries(count=1000)]
        assert "notification:duplicate" in audit
        text = (await bot.http.get("/metrics")).text
        assert metric(text, "campaign_bot_notifications_total", outcome="duplicate") >= 1


async def test_a_late_notification_changes_nothing_and_a_forged_one_is_refused(
    redis: Redis,
) -> None:
    async with running_bot(redis, dialer=WebhookSimulator(FAST)) as bot:
        ref = await bot.create_campaign(ANA, "Hooked")

        async def deliver(body: str, secret: str = SECRET) -> int:
            headers = {"X-Hook-Secret": secret}
            answer = await bot.http.post("/dialer/simulator/events", content=body, headers=headers)
            return answer.status_code

        assert await deliver(event(ref, "running", HUGE)) == 200
        assert await deliver(event(ref, "running", HUGE)) == 200  # redelivered
        await bot.status_of(ref, CampaignStatus.RUNNING)
        assert await deliver(event(ref, "stopped", HUGE - 1)) == 200  # older than what we hold
        assert await deliver(event(ref, "deleted", HUGE + 1), secret="forged") == 401
        await bot.channel_message("is *running*")
        await asyncio.sleep(0.3)

        assert (await bot.store.require(ref)).status is CampaignStatus.RUNNING
        channel = "\n".join(bot.channel_texts())
        assert channel.count("is *running*") == 1
        assert "has *stopped*" not in channel and "was *deleted*" not in channel
        text = (await bot.http.get("/metrics")).text
        counted = "campaign_bot_notifications_total"
        assert metric(text, counted, outcome="duplicate") == 1
        assert metric(text, counted, outcome="stale") == 1
        assert metric(text, counted, outcome="rejected") == 1
