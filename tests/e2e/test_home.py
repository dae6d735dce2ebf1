"""The App Home tab: a signed ``app_home_opened`` publishes the person's Home view (accepted by
the strict stand-in), its buttons act as the card's do, removals wait for the other lead only,
and non-leads see their channels' campaigns read-only."""

from __future__ import annotations

import json
import time
from typing import Any

from redis.asyncio import Redis

from commands.views import ids
from state.machine import STOPPED_FOR_GOOD
from tests.e2e.harness import ANA, BOB, CHANNEL, EVE, Bot, running_bot
from tests.e2e.test_overview import campaign_without_leads


async def open_home(bot: Bot, user: str) -> dict[str, Any]:
    """Send a signed ``app_home_opened`` as Slack does (JSON, Events API) and return the view
    the bot published for ``user``."""
    before = len(home_publishes(bot, user))
    body = json.dumps(
        {
            "token": "unused",
            "team_id": "TSTANDIN",
            "api_app_id": "ASTANDIN",
            "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": f"D{user}",
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            },
        }
    )
    answer = await bot.post_signed(body, headers={"Content-Type": "application/json"})
    assert answer.status == 200
    return await next_home(bot, user, before)


def home_publishes(bot: Bot, user: str) -> list[dict[str, Any]]:
    return [c.args["view"] for c in bot.slack.calls("views.publish") if c.args["user_id"] == user]


async def next_home(bot: Bot, user: str, before: int, timeout: float = 6.0) -> dict[str, Any]:
    views = await bot.slack.wait_for(lambda: home_publishes(bot, user)[before:], timeout)
    return views[-1]


async def click_in_home(bot: Bot, user: str, action_id: str, value: str) -> None:
    """A button in the Home tab: no channel and no response_url, as Slack sends it."""
    payload = {
        "type": "block_actions",
        "team": {"id": "TSTANDIN"},
        "user": {"id": user},
        "container": {"type": "view", "view_id": f"VHOME{user}"},
        "view": {"id": f"VHOME{user}", "type": "home"},
        "trigger_id": f"trigger-home-{time.time_ns()}",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    answer = await bot.interact(payload)
    assert answer.status == 200


def shown(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"])


def action_ids(view: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (element["action_id"], str(element.get("value")))
        for block in view["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }


async def dm_text(bot: Bot, user: str, needle: str) -> str:
    return await bot.slack.wait_for(
        lambda: next((t for t in bot.channel_texts(user) if needle in t), None)
    )


async def test_a_signed_app_home_opened_publishes_the_live_campaigns(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        first = await campaign_without_leads(bot, "Spring renewals")
        other = await campaign_without_leads(bot, "Elsewhere", channel="COTHER")
        view = await open_home(bot, ANA)
        assert view["type"] == "home"
        text = shown(view)
        assert "Spring renewals" in text and first in text and "Elsewhere" in text
        assert f"<#{CHANNEL}>" in text and "stopped" in text
        assert (ids.START, first) in action_ids(view) and (ids.REMOVE, other) in action_ids(view)
        assert "Waiting for you" in text
        assert len(view["blocks"]) <= 100


async def test_each_home_button_acts_like_the_cards(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        ref = await campaign_without_leads(bot, "From home")
        await open_home(bot, ANA)
        # Start: sent to the dialer, the reply a direct message (no response_url in a Home tab).
        await click_in_home(bot, ANA, ids.START, ref)
        assert "Start of" in await dm_text(bot, ANA, "Start of")
        await bot.campaign_where(lambda c: c.ref == ref and c.status_reported)
        # Stop
        await click_in_home(bot, ANA, ids.STOP, ref)
        assert "Stop of" in await dm_text(bot, ANA, "Stop of")
        await bot.campaign_where(lambda c: c.ref == ref and c.status in STOPPED_FOR_GOOD)
        # Edit: the campaign view opens with the click's trigger_id.
        opened = len(bot.slack.calls("views.open"))
        await click_in_home(bot, ANA, ids.EDIT, ref)
        modal = await bot.opened_view(opened + 1)
        assert modal["private_metadata"] == ref
        # Remove: the approval message in the campaign's channel, the requester told privately.
        await click_in_home(bot, ANA, ids.REMOVE, ref)
        await bot.channel_message("waiting for approval")
        assert "Asked for approval" in await dm_text(bot, ANA, "Asked for approval")


async def test_a_removal_waits_for_the_other_lead_and_leaves_once_approved(
    fake_redis: Redis,
) -> None:
    async with running_bot(fake_redis) as bot:
        ref = await campaign_without_leads(bot, "To remove")
        _, url = await bot.command(ANA, f"remove {ref}")
        await bot.reply_to(url)
        await bot.channel_message("waiting for approval")
        bobs = await open_home(bot, BOB)
        waiting = [b for b in bobs["blocks"] if b.get("block_id") == f"home-approval:{ref}"]
        assert len(waiting) == 1
        assert {e["action_id"] for e in waiting[0]["elements"]} == {ids.APPROVE, ids.REJECT}
        anas = await open_home(bot, ANA)
        assert not any(b.get("block_id") == f"home-approval:{ref}" for b in anas["blocks"])
        assert "No removal is waiting for your approval" in shown(anas)
        before = len(home_publishes(bot, BOB))
        await click_in_home(bot, BOB, ids.APPROVE, ref)
        assert "Approved" in await dm_text(bot, BOB, "Approved")
        # Bob has the tab open: it is redrawn without the request, within the pace.
        redrawn = await next_home(bot, BOB, before)
        assert not any(b.get("block_id") == f"home-approval:{ref}" for b in redrawn["blocks"])


async def test_someone_not_a_lead_sees_their_channels_campaigns_read_only(
    fake_redis: Redis,
) -> None:
    async with running_bot(fake_redis) as bot:
        bot.slack.add_channel(CHANNEL, users={ANA, EVE})
        bot.slack.add_channel("COTHER", users={ANA})
        mine = await campaign_without_leads(bot, "In Eve's channel")
        await campaign_without_leads(bot, "Not Eve's", channel="COTHER")
        view = await open_home(bot, EVE)
        text = shown(view)
        assert "In Eve's channel" in text and mine in text and "Not Eve's" not in text
        assert "read-only" in text and "Waiting for you" not in text
        campaign_buttons = {ids.START, ids.STOP, ids.EDIT, ids.REMOVE, ids.APPROVE}
        assert not {a for a, _ in action_ids(view)} & campaign_buttons
