"""Whether the bot may post in a channel: ``conversations.info`` (``bot.slack.channels``)."""

from __future__ import annotations

from bot.slack.channels import ChannelAccess
from bot.slack.client import with_retries
from tests.fake_clock import FakeClock
from tests.standins.slack_api import SlackStandIn


async def test_a_member_channel_is_fine_and_remembered_for_a_while() -> None:
    clock = FakeClock()
    async with SlackStandIn(member_of={"C1"}) as slack:
        access = ChannelAccess(with_retries(slack.client()), ttl=60, clock=clock)
        assert await access.problem("C1") is None
        assert await access.problem("C1") is None
        assert len(slack.calls("conversations.info")) == 1
        assert await access.problem("C1", fresh=True) is None
        assert len(slack.calls("conversations.info")) == 2
        clock.now += 61
        slack.set_member("C1", False)
        assert "The bot is not in <#C1>" in (await access.problem("C1") or "")


async def test_each_reason_the_bot_cannot_post_says_how_to_fix_it() -> None:
    async with SlackStandIn(member_of={"C1"}) as slack:
        slack.add_channel("C2", member=False)
        slack.add_channel("G3", kind="private", member=False)
        slack.add_channel("C4", archived=True)
        access = ChannelAccess(with_retries(slack.client()))
        for channel in ("C2", "G3", "CUNKNOWN"):
            problem = await access.problem(channel) or ""
            assert f"<#{channel}>" in problem and "/invite @campaign-bot" in problem
        assert "archived" in (await access.problem("C4") or "")
        assert "belongs to a channel" in (await access.problem("D5") or "")
        assert "did not say which channel" in (await access.problem(None) or "")
        assert "not in <#C2>" in (await access.problem("C2") or "")  # a "no" is asked again
        slack.set_member("C2", True)
        assert await access.problem("C2") is None


async def test_a_failing_slack_refuses_rather_than_guessing() -> None:
    async with SlackStandIn(member_of={"C1"}) as slack:
        access = ChannelAccess(with_retries(slack.client()))
        slack.fail("conversations.info", "missing_scope")
        problem = await access.problem("C1") or ""
        assert "(missing_scope)" in problem and "reinstall" in problem
        slack.fail("conversations.info", "internal_error", status=503, times=3)
        assert "Try again in a moment" in (await access.problem("C1") or "")
