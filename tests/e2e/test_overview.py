"""``/campaign list`` against what the dialer really has: correlation and paging; ``list`` shows
the channel's campaigns, ``list all`` every channel's to leads."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from redis.asyncio import Redis

from commands.views import ids
from commands.views.overview import PAGE_SIZE
from dialer.models import NewCampaign
from state.campaign import Campaign
from tests.e2e.harness import ANA, EVE, Bot, running_bot


async def campaign_without_leads(bot: Bot, name: str, channel: str = "CCAMPAIGNS") -> str:
    store, dialer = bot.store, bot.server.services.dialer
    ref = await store.issue_ref()
    created = await dialer.create_campaign(NewCampaign(ref=ref, name=name))
    campaign = Campaign(
        ref=ref,
        name=name,
        dialer=dialer.name,
        dialer_id=created.dialer_id,
        channel_id=channel,
        created_by=ANA,
        created_at=datetime.now(UTC),
    )
    await store.create(campaign)
    return ref


async def test_overview_flags_what_only_one_side_knows(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        await campaign_without_leads(bot, "Known")
        gone = await campaign_without_leads(bot, "Gone")
        dialer = bot.server.services.dialer
        await dialer.delete(gone)
        await dialer.create_campaign(NewCampaign(ref="c-20260101-made", name="Made elsewhere"))
        _, url = await bot.command(EVE, "list")
        assert await bot.reply_to(url) == "Campaigns: 2"
        shown = json.dumps(bot.slack.responses(url)[-1].body["blocks"])
        assert "the dialer no longer has this campaign" in shown
        assert "Made elsewhere" not in shown
        _, url = await bot.command(ANA, "list all")  # "Gone" may have been deleted meanwhile
        assert (await bot.reply_to(url)).startswith("Campaigns: ")
        shown = json.dumps(bot.slack.responses(url)[-1].body["blocks"])
        assert "Known" in shown and "Made elsewhere" in shown and "not created by this bot" in shown


async def test_list_shows_the_channels_campaigns_and_list_all_every_channels_to_leads(
    fake_redis: Redis,
) -> None:
    async with running_bot(fake_redis) as bot:
        await campaign_without_leads(bot, "Ours")
        theirs = await campaign_without_leads(bot, "Theirs", channel="COTHER")
        _, url = await bot.command(EVE, "list")
        assert await bot.reply_to(url) == "Campaigns: 1"
        shown = json.dumps(bot.slack.responses(url)[-1].body["blocks"])
        assert "Ours" in shown and "Theirs" not in shown and "in this channel" in shown

        _, url = await bot.command(EVE, "list all")
        assert "only campaign leads may see them" in await bot.reply_to(url)
        _, url = await bot.command(EVE, f"show {theirs}")
        assert "belongs to another channel, <#COTHER>" in await bot.reply_to(url)

        _, url = await bot.command(ANA, "list all")
        assert await bot.reply_to(url) == "Campaigns: 2"
        shown = json.dumps(bot.slack.responses(url)[-1].body["blocks"])
        assert "Ours" in shown and "Theirs" in shown and "in every channel" in shown
        opened = len(bot.slack.calls("views.open"))
        await bot.command(ANA, f"show {theirs}")
        view = await bot.opened_view(opened + 1)
        assert view["private_metadata"] == theirs


async def test_overview_pages_when_one_message_cannot_hold_every_campaign(
    fake_redis: Redis,
) -> None:
    async with running_bot(fake_redis) as bot:
        for n in range(PAGE_SIZE + 2):
            await campaign_without_leads(bot, f"Campaign {n}")
        _, url = await bot.command(EVE, "list")
        await bot.reply_to(url)
        first = bot.slack.responses(url)[-1].body
        assert len(first["blocks"]) <= 50 and "page 1 of 2" in json.dumps(first["blocks"])

        _, url = await bot.click(EVE, ids.PAGE_NEXT, "1")
        await bot.reply_to(url)
        second = bot.slack.responses(url)[-1].body
        assert second["replace_original"] is True
        assert "page 2 of 2" in json.dumps(second["blocks"])
        assert f"Campaign {PAGE_SIZE + 1}" in json.dumps(second["blocks"])
