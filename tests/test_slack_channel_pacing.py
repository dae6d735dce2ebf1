"""Every message the bot posts takes its channel's turn (``bot.slack.pacing``), whoever posts it."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.metrics import Metrics
from bot.slack.pacing import ChannelPacedWebClient
from dialer.limits import LocalLimits, Pacer, WindowSlots
from tests.standins.slack_api import SlackStandIn

TOKEN = "xoxb-pacing-5d2c"


class _Recorded:
    """Slots that note when a call took and left its channel's turn."""

    def __init__(self, name: str, log: list[tuple[str, str]]) -> None:
        self.name = name
        self.log = log

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self.log.append(("take", self.name))
        try:
            yield
        finally:
            self.log.append(("leave", self.name))


class _Recording:
    def __init__(self) -> None:
        self.log: list[tuple[str, str]] = []
        self.windows: list[tuple[str, int, float]] = []

    def rate(self, name: str, rate: float, *, burst: int = 1) -> Pacer:
        raise AssertionError("the channel pace is a window, not a rate")

    def window(self, name: str, max_calls: int, window: float) -> WindowSlots:
        self.windows.append((name, max_calls, window))
        return _Recorded(name, self.log)


async def test_each_channel_message_holds_its_channel_s_turn_while_it_is_sent() -> None:
    limits = _Recording()
    async with SlackStandIn(token=TOKEN, member_of={"C1", "C2"}) as slack:
        client = ChannelPacedWebClient(Metrics(), limits, token=TOKEN, base_url=slack.api_url)
        posted = await client.chat_postMessage(channel="C1", text="one")
        await client.chat_postMessage(channel="C1", text="two")
        await client.chat_postMessage(channel="C2", text="three")
        await client.chat_update(channel="C1", ts=str(posted["ts"]), text="one, edited")
        await client.auth_test()

    assert limits.windows == [("slack:channel:C1", 1, 1.0), ("slack:channel:C2", 1, 1.0)]
    assert limits.log == [
        ("take", "slack:channel:C1"),
        ("leave", "slack:channel:C1"),
        ("take", "slack:channel:C1"),
        ("leave", "slack:channel:C1"),
        ("take", "slack:channel:C2"),
        ("leave", "slack:channel:C2"),
    ]  # updates and every other method go unpaced


async def test_messages_to_one_channel_reach_slack_a_pace_apart() -> None:
    pace = 0.3
    async with SlackStandIn(token=TOKEN, member_of={"C1"}) as slack:
        client = ChannelPacedWebClient(
            Metrics(), LocalLimits(), pace=pace, token=TOKEN, base_url=slack.api_url
        )
        await asyncio.gather(
            *(client.chat_postMessage(channel="C1", text=f"{n}") for n in range(4))
        )
        arrived = [call.at for call in slack.calls("chat.postMessage")]

    assert len(arrived) == 4
    assert all(later - earlier >= pace for earlier, later in itertools.pairwise(arrived))
