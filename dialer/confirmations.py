"""Confirmation reads an adapter makes itself, delivered through ``run_notifications``.

Some dialers publish nothing about a change the bot asked for (VoIPBIN sends no event when an
agent's tags change; OCS hears nothing of pacing kept for a stopped group's next start). The
adapter then reads the result back right after its request and queues what it read as a
notification with ``source=confirmation``; ``forward`` hands them to the bot's sink.
"""

from __future__ import annotations

import asyncio
import logging
import time

from dialer.base import NotificationSink
from state.domain import DialerNotification

log = logging.getLogger(__name__)

MAX_WAITING = 1000
RETRY_SECONDS = 1.0


def now_micros() -> int:
    """A notification sequence for a read made now (dialers stamp theirs in microseconds)."""
    return time.time_ns() // 1000


class Confirmations:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[DialerNotification] = asyncio.Queue(MAX_WAITING)

    def put(self, notification: DialerNotification) -> None:
        try:
            self._queue.put_nowait(notification)
        except asyncio.QueueFull:
            log.error("Dropping confirmation %s: nobody runs run_notifications", notification)

    async def forward(self, sink: NotificationSink) -> None:
        """Hand each confirmation to ``sink`` until cancelled; one the sink refuses is retried."""
        while True:
            notification = await self._queue.get()
            while True:
                try:
                    await sink(notification)
                    break
                except Exception:
                    log.exception("The bot did not take confirmation %s", notification.event_id)
                    await asyncio.sleep(RETRY_SECONDS)
