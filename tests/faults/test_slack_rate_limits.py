"""Slack answering 429: the alerts wait out ``Retry-After`` and every status change still reaches
the channel, once and in order; the 429s are counted in ``/metrics``.

Elsewhere: one 429 waited out by the alert worker, per-channel pacing and the drain deadline
(tests/test_alerts.py); a 429 counted by a ``serve`` process (tests/test_serve.py).
"""

from __future__ import annotations

from redis.asyncio import Redis

from commands.views import ids
from state.domain import CampaignStatus
from tests.e2e.harness import ANA, running_bot
from tests.test_serve import metric


async def test_alerts_outlast_repeated_429s_and_arrive_once_in_order(redis: Redis) -> None:
    async with running_bot(redis) as bot:
        ref = await bot.create_campaign(ANA, "Throttled")
        bot.slack.rate_limit("chat.postMessage", retry_after=1, times=2)
        bot.slack.rate_limit("chat.update", retry_after=1, times=2)
        await bot.click(ANA, ids.START, ref)
        await bot.status_of(ref, CampaignStatus.RUNNING)
        await bot.command(ANA, f"stop {ref}")
        await bot.status_of(ref, CampaignStatus.STOPPED)
        await bot.channel_message("has *stopped*", timeout=10)

        channel = "\n".join(bot.channel_texts())
        for change in ("is *running*", "is *stopping*", "has *stopped*"):
            assert channel.count(change) == 1, channel
        assert channel.index("is *running*") < channel.index("has *stopped*")
        text = (await bot.http.get("/metrics")).text
        limited = metric(
            text, "campaign_bot_slack_calls_total", method="chat.postMessage", result="ratelimited"
        )
        assert limited == 2
