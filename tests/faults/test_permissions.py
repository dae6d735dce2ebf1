"""Nobody acts without permission: someone who is not a campaign lead cannot approve a removal,
press a campaign's buttons or create a campaign by submitting the form without being offered
it; a request not signed with the app's secret, or signed too long ago, is refused.

Elsewhere: a non-lead may look but not change, and the requester cannot approve their own removal
(tests/e2e/test_slack_rules.py); lead user groups (same file).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from redis.asyncio import Redis
from slack_sdk.signature import SignatureVerifier

from bot.demo.forms import LEADS_CSV, new_campaign_values
from commands.views import ids
from state.campaign import RemovalStage
from state.domain import CampaignStatus
from tests.e2e.harness import ANA, EVE, SIGNING_SECRET, Bot, running_bot


async def test_someone_who_is_not_a_lead_cannot_approve_start_edit_or_create(
    redis: Redis,
) -> None:
    async with running_bot(redis) as bot:
        ref = await bot.create_campaign(ANA, "Guarded")
        await bot.command(ANA, f"remove {ref}")
        await bot.channel_message(f"Removal of {ref} requested")
        dialer_calls = "campaign_bot_dialer_calls_total"
        before = [line for line in (await bot.http.get("/metrics")).text.splitlines()
                  if line.startswith(dialer_calls)]  # fmt: skip

        for action in (ids.APPROVE, ids.START, ids.STOP):
            _, url = await bot.click(EVE, action, ref)
            assert "Only campaign leads" in await bot.reply_to(url)

        view = await _new_campaign_form(bot)
        values = new_campaign_values("Sneaked in", bot.slack.add_file(LEADS_CSV))
        answer = await bot.submit(EVE, view, values)
        assert answer.status == 200
        await asyncio.sleep(0.3)

        campaign = await bot.store.require(ref)
        assert campaign.status is CampaignStatus.STOPPED and campaign.removal is not None
        assert campaign.removal.stage is RemovalStage.AWAITING_APPROVAL
        assert campaign.removal.approved_by is None
        assert [c.name for c in await bot.store.list_live()] == ["Guarded"]
        after = [line for line in (await bot.http.get("/metrics")).text.splitlines()
                 if line.startswith(dialer_calls)]  # fmt: skip
        assert after == before  # nothing reached the dialer


async def test_unsigned_and_replayed_requests_are_refused(redis: Redis) -> None:
    async with running_bot(redis) as bot:
        reply_to = bot.slack.response_url()
        body = f"command=%2Fcampaign&text=list&user_id={ANA}&response_url={reply_to}"
        stale = str(int(time.time()) - 10 * 60)
        replayed = await bot.http.post(
            "/slack/events",
            content=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stale,
                "X-Slack-Signature": SignatureVerifier(SIGNING_SECRET).generate_signature(
                    timestamp=stale, body=body
                )
                or "",
            },
        )
        unsigned = await bot.http.post("/slack/events", content=body)
        assert replayed.status_code == unsigned.status_code == 401
        assert bot.slack.responses() == []


async def _new_campaign_form(bot: Bot) -> dict[str, Any]:
    opened = len(bot.slack.calls("views.open"))
    await bot.command(ANA, "new")
    return await bot.opened_view(opened + 1)
