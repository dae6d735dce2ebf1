"""Slack's rules and bad input, through the real HTTP server: authorisation, mistakes, the 3 s
ack with a slow dialer, signatures, retries and double submissions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from redis.asyncio import Redis

from commands.views import ids
from dialer.models import DialerCampaign
from dialer.simulator import SimulatorDialer
from state.domain import CampaignStatus
from tests.e2e.forms import LEADS_CSV, new_campaign_values, number
from tests.e2e.harness import ANA, BOB, EVE, FAST, running_bot

CAROL = "UCAROL"
SLOW = 2.0


class SlowDialer(SimulatorDialer):
    """A dialer whose every answer takes two seconds."""

    async def list_campaigns(self) -> list[DialerCampaign]:
        await asyncio.sleep(SLOW)
        return await super().list_campaigns()

    async def start(self, ref: str) -> None:
        await asyncio.sleep(SLOW)
        await super().start(ref)


async def test_someone_who_is_not_a_lead_may_look_but_not_change(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        ref = await bot.create_campaign(ANA, "Renewals")
        _, url = await bot.command(EVE, f"start {ref}")
        assert "Only campaign leads can change campaigns" in await bot.reply_to(url)
        _, url = await bot.click(EVE, ids.REMOVE, ref)
        assert "Only campaign leads" in await bot.reply_to(url)
        _, url = await bot.command(EVE, "list")
        assert await bot.reply_to(url) == "Campaigns: 1"
        await asyncio.sleep(FAST.start_delay * 3)
        campaign = await bot.store.require(ref)
        assert campaign.pending is None and campaign.removal is None
        assert (await bot.server.services.dialer.get_campaign(ref)).status is CampaignStatus.STOPPED


async def test_members_of_a_lead_user_group_may_change_campaigns(fake_redis: Redis) -> None:
    async with running_bot(fake_redis, leads=(ANA, "SLEADS")) as bot:
        bot.slack.add_usergroup("SLEADS", [CAROL])
        ref = await bot.create_campaign(ANA, "Renewals")
        _, url = await bot.command(CAROL, f"start {ref}")
        assert "Start of" in await bot.reply_to(url)
        await bot.status_of(ref, CampaignStatus.RUNNING)
        assert bot.slack.calls("usergroups.users.list")


async def test_mistakes_are_named_with_the_correct_form(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        _, url = await bot.command(ANA, "frobnicate")
        reply = bot.slack.responses(await _wait(bot, url))[-1].body
        assert "`frobnicate` is not a `/campaign` subcommand" in json.dumps(reply)
        assert reply["response_type"] == "ephemeral"

        _, url = await bot.command(ANA, "set c-20260101-abcd aggression=500")
        await bot.reply_to(url)
        shown = json.dumps(bot.slack.responses(url)[-1].body["blocks"])
        assert "must be a whole number from 1 to 100" in shown
        assert "/campaign set &lt;ref&gt; aggression=&lt;1-100&gt;" in shown

        _, url = await bot.command(ANA, "stop c-20260101-abcd")
        await bot.reply_to(url)
        assert "There is no campaign `c-20260101-abcd`" in json.dumps(
            bot.slack.responses(url)[-1].body["blocks"]
        )

        _, url = await bot.command(ANA, "")
        assert await bot.reply_to(url) == "How to use /campaign"


async def test_the_ack_comes_at_once_while_the_dialer_takes_two_seconds(fake_redis: Redis) -> None:
    async with running_bot(fake_redis, dialer=SlowDialer(FAST)) as bot:
        ref = await bot.create_campaign(ANA, "Slow one")
        answer, url = await bot.command(ANA, "list")
        assert answer.status == 200 and answer.seconds < 1.0
        assert bot.response_texts(url) == []
        assert await bot.reply_to(url, timeout=SLOW + 3) == "Campaigns: 1"

        answer, url = await bot.click(ANA, ids.START, ref)
        assert answer.status == 200 and answer.seconds < 1.0
        assert "Start of" in await bot.reply_to(url, timeout=SLOW + 3)


async def test_a_modal_submitted_twice_creates_one_campaign(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        await bot.command(ANA, "new")
        view = await bot.opened_view()
        values = new_campaign_values("Only once", bot.slack.add_file(LEADS_CSV))
        first, second = await asyncio.gather(
            bot.submit(ANA, view, values), bot.submit(ANA, view, values)
        )
        assert first.status == second.status == 200
        await bot.channel_message("uploaded: 3 contacts")
        await asyncio.sleep(0.3)
        assert [c.name for c in await bot.store.list_live()] == ["Only once"]
        assert len(await bot.server.services.dialer.list_campaigns()) == 1


async def test_a_retried_command_is_handled_once(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        ref = await bot.create_campaign(ANA, "Retried")
        _, url = await bot.command(ANA, f"start {ref}", trigger_id="T-same")
        await bot.reply_to(url)
        _, retry_url = await bot.command(ANA, f"start {ref}", trigger_id="T-same")
        await asyncio.sleep(0.3)
        assert bot.response_texts(retry_url) == []


async def test_bad_modal_values_are_shown_under_their_fields(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        await bot.command(ANA, "new")
        view = await bot.opened_view()
        values = {**new_campaign_values("", "F1"), **number("aggression", "0")}
        del values["leads"]
        answer = await bot.submit(ANA, view, values)
        errors = answer.json()
        assert errors["response_action"] == "errors"
        assert set(errors["errors"]) == {"name", "aggression", "leads"}
        assert await bot.store.list_live() == []


async def test_a_request_with_a_wrong_signature_is_refused(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        answer = await bot.post_signed("command=%2Fcampaign&text=list", secret_ok=False)
        assert answer.status == 401
        assert bot.slack.responses() == []


async def test_the_requester_cannot_approve_but_may_withdraw(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        ref = await bot.create_campaign(ANA, "Withdrawn")
        await bot.command(ANA, f"remove {ref}")
        await bot.channel_message(f"Removal of {ref} requested")
        _, url = await bot.click(ANA, ids.APPROVE, ref)
        assert "another campaign lead has to approve" in await bot.reply_to(url)
        _, url = await bot.command(BOB, f"start {ref}")
        assert "is being removed" in await bot.reply_to(url)
        _, url = await bot.click(ANA, ids.REJECT, ref)
        assert "Removal request cancelled" in await bot.reply_to(url)
        await bot.channel_message(f"Removal of {ref} cancelled")
        assert (await bot.store.require(ref)).removal is None
        assert await bot.server.services.dialer.get_campaign(ref)


async def _wait(bot: object, url: str) -> str:
    from tests.e2e.harness import Bot

    assert isinstance(bot, Bot)
    await bot.reply_to(url)
    return url


def _names(campaigns: Sequence[DialerCampaign]) -> list[str]:
    return [c.name for c in campaigns]


async def test_metrics_show_the_alerts_sent_to_slack(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        await bot.create_campaign(ANA, "Counted")
        answer = await bot.http.get("/metrics")
        assert 'campaign_bot_campaigns{status="stopped"} 1' in answer.text
        (sent,) = [
            line
            for line in answer.text.splitlines()
            if line.startswith("campaign_bot_alerts_slack_calls_total ")
        ]
        assert float(sent.rsplit(" ", 1)[1]) >= 1
