"""``/campaign history <ref>`` after a whole life (create → start → set → stop → remove): each
step with its actor, the removal's requester and approver apart, each status with its source;
``csv`` sends the same as a file to the person who asked; paging goes further back."""

from __future__ import annotations

import csv
import io
import json

from redis.asyncio import Redis

from commands.views import ids
from commands.views.history import OLDER
from state.domain import CampaignStatus
from state.machine import STOPPED_FOR_GOOD
from tests.e2e.harness import ANA, BOB, EVE, Bot, running_bot


def history_text(bot: Bot, url: str) -> str:
    body = bot.slack.responses(url)[-1].body
    return json.dumps(body.get("blocks") or [], ensure_ascii=False)


async def whole_life(bot: Bot) -> str:
    ref = await bot.create_campaign(ANA, "History lesson")
    _, url = await bot.command(ANA, f"start {ref}")
    await bot.reply_to(url)
    await bot.status_of(ref, CampaignStatus.RUNNING)
    _, url = await bot.command(ANA, f"set {ref} aggression=85")
    await bot.reply_to(url)
    _, url = await bot.command(BOB, f"stop {ref}")
    await bot.reply_to(url)
    await bot.campaign_where(lambda c: c.ref == ref and c.status in STOPPED_FOR_GOOD)
    _, url = await bot.command(ANA, f"remove {ref}")
    await bot.reply_to(url)
    message = await bot.channel_message("waiting for approval")
    value = next(
        e["value"]
        for b in message.blocks
        for e in b.get("elements") or []
        if e.get("action_id") == ids.APPROVE
    )
    _, url = await bot.click(BOB, ids.APPROVE, value)
    await bot.reply_to(url)
    await bot.status_of(ref, CampaignStatus.DELETED, timeout=10)
    return ref


async def test_the_history_of_a_whole_life(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        ref = await whole_life(bot)
        _, url = await bot.command(ANA, f"history {ref}")
        assert (await bot.reply_to(url)).startswith(f"History of {ref}")
        text = history_text(bot, url)
        for line in (
            f"created by <@{ANA}>",
            "leads uploaded: 3 of 3 contacts",
            f"start requested by <@{ANA}>",
            "status stopped → *running*, from the dialer's notification",
            f"settings changed by <@{ANA}>: aggression 40 → 85",
            "reported by the dialer's notification: settings aggression 40 → 85",
            f"stop requested by <@{BOB}>",
            f"removal requested by <@{ANA}>",
            f"removal approved by <@{BOB}> (requested by <@{ANA}>)",
            "*deleted*, from the dialer's notification",
        ):
            assert line in text, line
        # Kept after the deletion for the retention (AUDIT_RETENTION_DAYS, 90 days by default).
        ttl = await fake_redis.ttl(bot.store.keys.campaign_audit(ref))
        assert 89 * 86_400 < ttl <= 90 * 86_400
        # Newest first.
        assert text.index("*deleted*") < text.index("removal approved") < text.index("created")
        # The stop's status came from the dialer (a notification) or a confirmation read.
        assert "→ *stopped*" in text or "→ *completed*" in text

        # Someone not a lead, in the campaign's channel, may read it too; CSV goes to them.
        _, url = await bot.command(EVE, f"history {ref} csv")
        assert "CSV" in await bot.reply_to(url)
        [upload] = await bot.slack.wait_for(lambda: bot.slack.calls("files.completeUploadExternal"))
        assert upload.args.get("channels") == EVE
        file_id = upload.args["files"][0]["id"]
        rows = list(csv.DictReader(io.StringIO(bot.slack.uploaded_file(file_id).decode())))
        approved = next(r for r in rows if r["event"] == "removal approved")
        assert (approved["requested_by"], approved["approved_by"]) == (ANA, BOB)
        statuses = [(r["status_after"], r["source"]) for r in rows if r["event"] == "status"]
        assert ("running", "notification") in statuses and ("deleted", "notification") in statuses


async def test_history_pages_further_back(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        ref = await bot.create_campaign(ANA, "Busy")
        for n in range(30):
            _, url = await bot.command(ANA, f"set {ref} aggression={n + 10}")
            await bot.reply_to(url)
        _, url = await bot.command(ANA, f"history {ref}")
        await bot.reply_to(url)
        first = history_text(bot, url)
        assert "→ 39" in first and "created by" not in first
        pages = [first]
        while older := next(
            (
                e["value"]
                for b in bot.slack.responses(url)[-1].body["blocks"]
                for e in b.get("elements") or []
                if e.get("action_id") == OLDER
            ),
            None,
        ):
            _, url = await bot.click(ANA, OLDER, older)
            await bot.slack.wait_for(lambda: bot.slack.responses(url))  # noqa: B023
            pages.append(history_text(bot, url))
        assert len(pages) >= 3
        assert "created by" in pages[-1] and "→ 39" not in pages[-1]
        assert all(len(json.loads(page)) <= 50 for page in pages)


async def test_history_of_another_channels_campaign_is_for_leads(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        ref = await bot.create_campaign(ANA, "Ours")
        _, url = await bot.command(EVE, f"history {ref}", channel="CELSEWHERE")
        assert "belongs to another channel" in await bot.reply_to(url)
        _, url = await bot.command(ANA, f"history {ref}", channel="CELSEWHERE")
        assert (await bot.reply_to(url)).startswith(f"History of {ref}")


async def test_the_retention_of_a_deleted_campaigns_history_is_configurable(
    fake_redis: Redis,
) -> None:
    async with running_bot(fake_redis, audit_retention_days=3) as bot:
        ref = await whole_life(bot)
        ttl = await fake_redis.ttl(bot.store.keys.campaign_audit(ref))
        assert 2 * 86_400 < ttl <= 3 * 86_400
        _, url = await bot.command(ANA, f"history {ref}")
        assert (await bot.reply_to(url)).startswith(f"History of {ref}")
