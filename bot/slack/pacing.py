"""Slack's pace of one message per second per channel, kept by every poster on every replica.

Slack documents that ``chat.postMessage`` "generally allows posting one message per second per
channel" (Slack's Rate Limits page, "Posting messages: 1 per second, short bursts allowed").
The channel alerts keep to it (``bot.alerts``), but they are not the only poster: upload
progress, approval messages and drift warnings go to the same channels, from any replica. So
the one Web API client paces every ``chat.postMessage`` per channel through a limit shared by
the replicas (``dialer.limits.Limits``; in Redis in a deployment): a rolling window of one
message per pace, whose slot is held while the call is in flight and counted again from
Slack's answer (as the alerts count it). So no replica posts while another's message is on its
way, and Slack never sees two messages in one channel closer than the pace.
"""

from __future__ import annotations

import contextlib
from typing import Any

from aiohttp import FormData
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.metered import MeteredWebClient
from bot.metrics import Metrics
from dialer.limits import Limits, WindowSlots

PACED_METHODS = frozenset({"chat.postMessage"})
SLACK_CHANNEL_PACE = 1.0
"""Seconds between two messages in one channel (Slack: about one per second per channel)."""


class ChannelPacedWebClient(MeteredWebClient):
    def __init__(
        self, metrics: Metrics, limits: Limits, *, pace: float = SLACK_CHANNEL_PACE, **kwargs: Any
    ) -> None:
        super().__init__(metrics, **kwargs)
        self.limits = limits
        self.pace = pace
        self._channels: dict[str, WindowSlots] = {}

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        channel = _channel(api_method, kwargs.get("json"), kwargs.get("data"), kwargs.get("params"))
        slots = self._slots(channel) if channel is not None else None
        async with slots.slot() if slots is not None else contextlib.nullcontext():
            return await super().api_call(api_method, **kwargs)

    def _slots(self, channel: str) -> WindowSlots:
        slots = self._channels.get(channel)
        if slots is None:
            name = f"slack:channel:{channel}"
            slots = self._channels[channel] = self.limits.window(name, 1, self.pace)
        return slots


def _channel(method: str, *sources: dict[str, Any] | FormData | None) -> str | None:
    if method not in PACED_METHODS:
        return None
    for source in sources:
        if isinstance(source, dict) and source.get("channel"):
            return str(source["channel"])
    return None
