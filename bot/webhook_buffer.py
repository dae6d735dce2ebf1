"""Notifications that webhooks brought while Redis was away, kept in memory until it is back.

A dialer retries a failed webhook a few times, a second or so apart (VoIPBIN three times), so a
Redis outage longer than that would lose every delivery made during it if the webhook answered
500. Instead the webhook is accepted once its notifications are in the inbox or, failing that
within ``publish_deadline``, here; ``run`` moves them to the inbox in arrival order once Redis
answers again and then reports the outage over (the reconciler reads the dialer's statuses).

The buffer is bounded: past ``capacity`` a webhook is answered 503 and the dialer's retries are
all there is. It lives in this process: a replica that dies while holding notifications loses
them, and the reconciliation after the outage on any other replica repairs the statuses.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence

from redis.exceptions import RedisError

from bot.metrics import Metrics
from state.cancellation import cancellation_requested
from state.domain import DialerNotification
from state.inbox import NotificationInbox

log = logging.getLogger(__name__)

PUBLISH_DEADLINE = 1.0  # the dialer is waiting on its webhook's answer
FLUSH_BACKOFF_MAX = 2.0
REDIS_AWAY = (RedisError, OSError, TimeoutError)


class NotificationBuffer:
    def __init__(
        self,
        inbox: NotificationInbox,
        metrics: Metrics,
        *,
        capacity: int = 10_000,
        publish_deadline: float = PUBLISH_DEADLINE,
    ) -> None:
        self.inbox = inbox
        self.metrics = metrics
        self.capacity = capacity
        self.publish_deadline = publish_deadline
        self._waiting: deque[DialerNotification] = deque()
        self._arrived = asyncio.Event()
        self._empty = asyncio.Event()
        self._empty.set()
        self._flushed: list[Callable[[], None]] = []

    def __len__(self) -> int:
        return len(self._waiting)

    def when_flushed(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` each time buffered notifications have all reached the inbox."""
        self._flushed.append(callback)

    async def accept(self, notifications: Sequence[DialerNotification]) -> bool:
        """True once each notification is in the inbox or waits here for Redis; False when the
        buffer has no room for them (answer 503: the dialer will deliver them again)."""
        rest = list(notifications)
        if not self._waiting:  # anything waiting goes first, so nothing overtakes it
            try:
                async with asyncio.timeout(self.publish_deadline):
                    while rest:
                        await self.inbox.publish(rest[0])
                        rest.pop(0)
                return True
            except REDIS_AWAY as exc:
                if cancellation_requested():
                    raise asyncio.CancelledError from exc
                log.warning("Redis unavailable (%s): keeping webhook notifications in memory", exc)
        if len(self._waiting) + len(rest) > self.capacity:
            self.metrics.webhook_buffer.inc(len(rest), outcome="refused")
            log.error("notification buffer full (%d): webhook refused with 503", self.capacity)
            return False
        self._waiting.extend(rest)
        self.metrics.webhook_buffer.inc(len(rest), outcome="buffered")
        self._empty.clear()
        self._arrived.set()
        return True

    async def drained(self) -> None:
        await self._empty.wait()

    async def run(self) -> None:
        """Move buffered notifications to the inbox, oldest first, until cancelled."""
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            await self._flush()
            log.info("Redis is back: buffered webhook notifications are in the inbox")
            self._empty.set()
            for callback in self._flushed:
                callback()

    async def _flush(self) -> None:
        backoff = 0.1
        while self._waiting:
            try:
                async with asyncio.timeout(self.publish_deadline * 5):
                    await self.inbox.publish(self._waiting[0])
            except REDIS_AWAY as exc:
                if cancellation_requested():
                    raise asyncio.CancelledError from exc
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, FLUSH_BACKOFF_MAX)
                continue
            self._waiting.popleft()
            self.metrics.webhook_buffer.inc(outcome="flushed")
            backoff = 0.1
