"""Calling windows through the real HTTP server and the Slack stand-in: the lead's time zone comes
from ``users.info``, the card shows the window and the armed start, a non-lead cannot change it,
and ``/campaign stop`` disarms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from commands.authz import NOT_ALLOWED
from state.domain import CampaignStatus
from tests.e2e.harness import ANA, EVE, running_bot


def closed_now() -> str:
    """A window in UTC that opens two hours from now and lasts an hour."""
    opens = datetime.now(UTC) + timedelta(hours=2)
    return f"{opens:%H:00}-{opens + timedelta(hours=1):%H:00} UTC"


async def test_a_start_outside_the_window_is_armed_and_said_in_the_leads_time(
    fake_redis: Redis,
) -> None:
    async with running_bot(fake_redis) as bot:
        bot.slack.add_user(ANA, name="ana", tz="America/Chicago")
        ref = await bot.create_campaign(ANA, "Evening calls")

        hours = closed_now()
        _, url = await bot.command(ANA, f"window {ref} {hours}")
        assert "Calling window of" in await bot.reply_to(url)
        _, url = await bot.command(EVE, f"window {ref} off")
        assert await bot.reply_to(url) == NOT_ALLOWED
        _, url = await bot.command(ANA, f"start {ref}")
        armed = await bot.reply_to(url)

        assert "armed" in armed and "your time (America/Chicago)" in armed
        card = await bot.slack.wait_for(
            lambda: [m for m in bot.slack.messages_in(bot.channel) if "*armed* by" in str(m.blocks)]
        )
        assert f"calling window {hours.replace(' UTC', ' UTC, every day')}" in str(card)
        stored = await bot.store.require(ref)
        assert stored.armed is not None and stored.pending is None
        assert (await bot.server.services.dialer.get_campaign(ref)).status is (
            CampaignStatus.STOPPED
        )

        _, url = await bot.command(ANA, f"stop {ref}")
        assert "no longer armed" in await bot.reply_to(url)
        assert (await bot.store.require(ref)).armed is None
