"""Removal requests expire (``REMOVAL_APPROVAL_TTL_SECONDS``): the approval message says so and
loses its buttons, the card's buttons come back, a late Approve is refused with the reason; and a
decision is single-use."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from redis.asyncio import Redis

from commands.views import ids
from tests.e2e.harness import ANA, BOB, Bot, running_bot
from tests.e2e.test_overview import campaign_without_leads


def approve_value(message_blocks: list[dict[str, object]]) -> str:
    for block in message_blocks:
        for element in block.get("elements") or []:  # type: ignore[attr-defined]
            if element.get("action_id") == ids.APPROVE:
                return str(element["value"])
    raise AssertionError("no Approve button")


async def request_removal(bot: Bot, ref: str) -> tuple[str, str]:
    """``/campaign remove`` as Ana; the approval message's ts and its Approve button's value."""
    _, url = await bot.command(ANA, f"remove {ref}")
    assert "Asked for approval" in await bot.reply_to(url)
    message = await bot.channel_message("waiting for approval")
    return message.ts, approve_value(message.blocks)


async def card_buttons_back(bot: Bot, ref: str) -> None:
    """The campaign's card shows Start / Stop / Edit / Remove again (drawn afresh if it had no
    card yet)."""
    campaign = await bot.store.get(ref)
    assert campaign is not None and campaign.card_ts is not None
    ts = campaign.card_ts

    def buttons() -> bool:
        card = next(m for m in bot.slack.messages_in(bot.channel) if m.ts == ts)
        return ids.START in json.dumps(card.blocks) and ids.REMOVE in json.dumps(card.blocks)

    await bot.slack.wait_for(buttons)


async def test_an_expired_request_says_so_gives_the_buttons_back_and_refuses_approve(
    fake_redis: Redis,
) -> None:
    fast_sweeps = timedelta(seconds=0.3)
    async with running_bot(
        fake_redis, sweep_interval=fast_sweeps, removal_approval_ttl_seconds=2
    ) as bot:
        ref = await campaign_without_leads(bot, "Expiring")
        ts, value = await request_removal(bot, ref)
        assert value.startswith(f"{ref} ")

        def expired() -> bool:
            message = next(m for m in bot.slack.messages_in(bot.channel) if m.ts == ts)
            return "expired" in message.text

        await bot.slack.wait_for(expired, timeout=8)
        message = next(m for m in bot.slack.messages_in(bot.channel) if m.ts == ts)
        assert "Removal request expired" in json.dumps(message.blocks)
        assert ids.APPROVE not in json.dumps(message.blocks)
        campaign = await bot.store.get(ref)
        assert campaign is not None and campaign.removal is None
        await asyncio.sleep(0.3)  # the card redraw the expiry asked for
        await card_buttons_back(bot, ref)
        # Approve clicked afterwards: refused with the reason, nothing changes.
        _, url = await bot.click(BOB, ids.APPROVE, value)
        reply = await bot.reply_to(url)
        assert "expired without an approval" in reply and "nothing changed" in reply
        assert (await bot.store.get(ref)).removal is None  # type: ignore[union-attr]
        audit = [e for e in await bot.store.audit_entries(200) if e["ref"] == ref]
        assert [e["action"] for e in audit].count("removal:expired") == 1


async def test_an_approve_clicked_after_the_deadline_is_refused_with_the_reason(
    fake_redis: Redis,
) -> None:
    # The sweeper is slow here: the late click itself finds the request expired.
    async with running_bot(fake_redis, removal_approval_ttl_seconds=1) as bot:
        ref = await campaign_without_leads(bot, "Late")
        ts, value = await request_removal(bot, ref)
        await asyncio.sleep(1.2)
        _, url = await bot.click(BOB, ids.APPROVE, value)
        reply = await bot.reply_to(url)
        assert "expired" in reply and "nothing changed" in reply
        campaign = await bot.store.get(ref)
        assert campaign is not None and campaign.removal is None
        message = await bot.channel_message("expired")
        assert message.ts == ts and ids.APPROVE not in json.dumps(message.blocks)


async def test_a_decision_is_single_use(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        ref = await campaign_without_leads(bot, "Once")
        _, first = await request_removal(bot, ref)
        # Reject, then a new request: the first request's Approve decides nothing.
        _, url = await bot.click(BOB, ids.REJECT, first)
        assert "Rejected" in await bot.reply_to(url)
        _, url = await bot.click(BOB, ids.APPROVE, first)
        assert "already decided" in await bot.reply_to(url)
        _, second = await request_removal(bot, ref)
        assert second != first
        _, url = await bot.click(BOB, ids.APPROVE, first)
        assert "already decided" in await bot.reply_to(url)
        campaign = await bot.store.get(ref)
        assert campaign is not None and campaign.removal is not None
        assert campaign.removal.approved_by is None
        # The same Approve twice: the second changes nothing.
        _, url = await bot.click(BOB, ids.APPROVE, second)
        assert "Approved" in await bot.reply_to(url)
        approved = await bot.store.get(ref)
        _, url = await bot.click(BOB, ids.APPROVE, second)
        assert "already" in await bot.reply_to(url)
        again = await bot.store.get(ref)
        assert again is not None and approved is not None
        if again.removal is not None and approved.removal is not None:
            assert again.removal.approved_at == approved.removal.approved_at
        audit = [e["action"] for e in await bot.store.audit_entries(500) if e["ref"] == ref]
        assert audit.count("removal:approve") == 1
