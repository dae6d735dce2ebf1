"""A bot restarted in the middle of a removal finishes it: every step is in Redis, and the
notifications the dialer sent meanwhile are applied by the new process."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from commands.views import ids
from dialer.simulator import SimulatorDialer
from state.campaign import RemovalStage
from state.domain import CampaignStatus
from state.keys import Keys
from state.store import CampaignStore
from tests.e2e.harness import ANA, BOB, FAST, forget, running_bot


async def test_a_removal_approved_before_a_restart_ends_in_a_delete_after_it(redis: Redis) -> None:
    dialer = SimulatorDialer(FAST.model_copy(update={"call_duration": 3.0}))
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    try:
        async with running_bot(redis, dialer=dialer, prefix=prefix) as bot:
            ref = await bot.create_campaign(ANA, "Interrupted")
            await bot.click(ANA, ids.START, ref)
            await bot.status_of(ref, CampaignStatus.RUNNING)
            await bot.command(ANA, f"remove {ref}")
            await bot.channel_message(f"Removal of {ref} requested")
            _, url = await bot.click(BOB, ids.APPROVE, ref)
            await bot.reply_to(url)
            removal = (await bot.store.require(ref)).removal
            assert removal is not None and removal.stage is RemovalStage.STOPPING
        # The first process is gone; the calls in flight keep the campaign stopping meanwhile.
        left = await CampaignStore(redis, Keys(prefix)).require(ref)
        assert left.status is not CampaignStatus.DELETED
        assert left.removal is not None and left.removal.stage is RemovalStage.STOPPING
        async with running_bot(redis, dialer=dialer, prefix=prefix) as restarted:
            deleted = await restarted.status_of(ref, CampaignStatus.DELETED, timeout=8)
            assert deleted.removal is None
            await restarted.channel_message("was *deleted*", channel="CCAMPAIGNS")
            assert await dialer.list_campaigns() == []
    finally:
        await dialer.aclose()
        await forget(redis, prefix)
