"""A rolling-window rate limiter: at most ``max_calls`` calls in any ``window`` seconds, in this
process (``state.limiter.RedisRollingWindow`` is the same shared by every replica).

LiveVox counts appends over a *rolling* minute, so a fixed per-minute bucket would let ten calls
through across a minute boundary. A slot is stamped when its call ends as well as when it starts:
LiveVox sees the request a little after we send it, and a window counted from our send time could
close before LiveVox's does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class _Slot:
    __slots__ = ("at",)

    def __init__(self, at: float) -> None:
        self.at = at


class RollingWindowLimiter:
    def __init__(
        self, max_calls: int, window: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_calls < 1 or window <= 0:
            raise ValueError("a limiter needs at least one call in a positive window")
        self.max_calls = max_calls
        self.window = window
        self._clock = clock
        self._slots: list[_Slot] = []
        self._turn = asyncio.Lock()  # first come, first served

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait until a call is allowed, then hold a slot for the call's duration."""
        taken = await self._take()
        try:
            yield
        finally:
            taken.at = self._clock()

    def wait_time(self) -> float:
        """Seconds until the next call would be allowed (0 when one is allowed now)."""
        now = self._clock()
        self._slots = [s for s in self._slots if now - s.at < self.window]
        if len(self._slots) < self.max_calls:
            return 0.0
        return min(s.at for s in self._slots) + self.window - now

    async def _take(self) -> _Slot:
        async with self._turn:
            while (delay := self.wait_time()) > 0:
                await asyncio.sleep(delay)
            taken = _Slot(self._clock())
            self._slots.append(taken)
            return taken
