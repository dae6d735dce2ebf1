"""How fast and how often the upload knocks: a shared rate limiter and jittered backoff."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from dialer.errors import DialerError, DialerRateLimited

Sleep = Callable[[float], Awaitable[None]]


class RateLimiter:
    """Keeps calls at least ``1 / calls_per_second`` apart, across every coroutine sharing it.

    The gap is measured from when a call was really let through, not from a reserved slot: a
    caller that wakes late must not squeeze the next one closer than the dialer allows
    (LiveVox counts calls in a rolling minute).
    """

    def __init__(
        self,
        calls_per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if calls_per_second <= 0:
            raise ValueError("calls_per_second must be positive")
        self._interval = 1.0 / calls_per_second
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0

    async def acquire(self) -> None:
        while (wait := self._next - self._clock()) > 0:
            await self._sleep(wait)
        self._next = self._clock() + self._interval

    def pause(self, seconds: float) -> None:
        """Nobody calls for ``seconds`` (the dialer said 429 with Retry-After)."""
        self._next = max(self._next, self._clock() + seconds)


def backoff_delay(attempt: int, *, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))], so retries spread out."""
    return rng() * min(cap, base * 2.0 ** (attempt - 1))


def retry_delay(
    error: DialerError, attempt: int, *, base: float, cap: float, rng: Callable[[], float]
) -> float:
    """The backoff, but never less than the ``retry_after`` the dialer asked for."""
    delay = backoff_delay(attempt, base=base, cap=cap, rng=rng)
    if isinstance(error, DialerRateLimited) and error.retry_after is not None:
        return max(delay, error.retry_after)
    return delay
