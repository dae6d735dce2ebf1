"""One campaign's life through the real HTTP server, on fakeredis and on a real Redis:
list, create from the modal with a CSV, start, adjust while running, stop, restart, and remove
with a second lead's approval (stop confirmed, then delete)."""

from __future__ import annotations

from redis.asyncio import Redis

from commands.views import ids
from state.domain import CampaignStatus
from tests.e2e.harness import ANA, BOB, CHANNEL, running_bot


async def test_a_campaign_lives_and_is_removed_through_slack(redis: Redis) -> None:
    async with running_bot(redis) as bot:
        _, url = await bot.command(BOB, "list")
        assert "Campaigns: 0" in await bot.reply_to(url)

        ref = await bot.create_campaign(ANA, "Spring renewals")
        stored = await bot.store.require(ref)
        assert stored.channel_id == CHANNEL and stored.created_by == ANA
        assert stored.dialer_id and stored.settings.aggression == 40
        assert [a.agent_id for a in stored.agents] == ["1001", "1002"]
        card = await bot.channel_message(f"Spring renewals ({ref}) is stopped")
        assert "&lt;!channel&gt;" in str(card.blocks) and "<!channel>" not in str(card.blocks)

        _, url = await bot.command(BOB, "list")
        listing = await bot.reply_to(url)
        overview = bot.slack.responses(url)
        assert listing == "Campaigns: 1"
        assert ref in str(overview[-1].body["blocks"])

        _, url = await bot.click(ANA, ids.START, ref)
        assert "Start of" in await bot.reply_to(url)
        await bot.status_of(ref, CampaignStatus.RUNNING)
        await bot.channel_message("is *running* (was stopped)")

        _, url = await bot.command(BOB, f"set {ref} aggression=85")
        assert "aggression 40 → 85" in await bot.reply_to(url)
        await bot.slack.wait_for(lambda: bot.slack.calls("chat.update"))
        adjusted = await bot.campaign_where(lambda c: c.settings.aggression == 85)
        assert adjusted.status is CampaignStatus.RUNNING and adjusted.pending is None

        _, url = await bot.command(ANA, f"stop {ref}")
        assert "Stop of" in await bot.reply_to(url)
        await bot.channel_message("is *stopping*")
        await bot.status_of(ref, CampaignStatus.STOPPED)
        await bot.channel_message("has *stopped*")

        await bot.command(ANA, f"start {ref}")
        await bot.status_of(ref, CampaignStatus.RUNNING)

        _, url = await bot.command(ANA, f"remove {ref}")
        assert "Asked for approval" in await bot.reply_to(url)
        approval = await bot.channel_message(f"Removal of {ref} requested")
        assert ids.APPROVE in str(approval.blocks) and ids.REJECT in str(approval.blocks)
        under_way = await bot.store.require(ref)
        assert under_way.removal is not None and under_way.removal.approval_message_ts
        card = await bot.channel_message(f"({ref}) is running")
        # The card is redrawn (in place) without its other buttons.
        await bot.slack.wait_for(
            lambda: all(
                ids.START not in str(m.blocks)
                for m in bot.slack.messages_in(bot.channel)
                if m.ts == card.ts
            )
        )

        _, url = await bot.click(ANA, ids.APPROVE, ref)
        assert "another campaign lead has to approve" in await bot.reply_to(url)
        assert (await bot.store.require(ref)).status is CampaignStatus.RUNNING

        _, url = await bot.click(BOB, ids.APPROVE, ref)
        assert "Approved" in await bot.reply_to(url)
        await bot.channel_message("is *stopping*")
        deleted = await bot.status_of(ref, CampaignStatus.DELETED)
        assert deleted.removal is None
        await bot.channel_message("was *deleted*")
        approval = await bot.channel_message(f"Removal of {ref} approved")
        assert "Approve" not in str(approval.blocks)
        channel = "\n".join(bot.channel_texts())
        assert channel.rindex("is *stopping*") < channel.rindex("has *stopped*")
        assert channel.rindex("has *stopped*") < channel.rindex("was *deleted*")
        assert await bot.server.services.dialer.list_campaigns() == []
