"""What an adapter (and the leads upload) asks for when it needs a vendor's limit kept.

A vendor limits an account, not a process, so with several replicas the limit has to be shared:
the bot lends every adapter a ``Limits`` (``AdapterContext.limits``) that hands out limiters by
name, and the composition root decides where they live (``state.limiter.RedisLimits``: in Redis,
shared by every replica). ``LocalLimits`` keeps them in this process: for one process alone
(tests, the in-memory bot). Callers hold a ``Pacer`` or ``WindowSlots`` and never know which.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from dialer.errors import DialerRateLimited


class Pacer(Protocol):
    """Lets calls through at a limit's pace."""

    async def acquire(self) -> None:
        """Wait until one more call is allowed, and count it. A limiter that bounds the wait
        raises ``TimeoutError`` (counting nothing) when the turn is further off than that."""
        ...

    async def pause(self, seconds: float) -> None:
        """Let nobody through for ``seconds`` (the vendor answered 429 with ``Retry-After``)."""
        ...


class WindowSlots(Protocol):
    """At most N calls in any rolling window; a slot is held for the call's duration."""

    def slot(self) -> AbstractAsyncContextManager[None]: ...


class Limits(Protocol):
    def rate(self, name: str, rate: float, *, burst: int = 1) -> Pacer:
        """A GCRA: ``rate`` calls per second on average, ``burst`` back to back. ``name`` is
        ``<dialer>:<what>`` (``voipbin:requests``); one name is one limit."""
        ...

    def window(self, name: str, max_calls: int, window: float) -> WindowSlots:
        """At most ``max_calls`` in any rolling ``window`` seconds."""
        ...


def busy(error: TimeoutError, *, dialer: str, label: str) -> DialerRateLimited:
    """A limiter's refusal to wait that long, as the dialer error callers handle: nothing was
    sent, try again later (``retry_after``: when the turn would have come)."""
    return DialerRateLimited(
        f"The bot is keeping to {label}'s rate limit, and too many calls are waiting: {error}",
        dialer=dialer,
        retry_after=getattr(error, "retry_after", None),
    )


class _Reported:
    def __init__(self, slots: WindowSlots, dialer: str, label: str) -> None:
        self._slots = slots
        self._dialer = dialer
        self._label = label

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        entered = False
        try:
            async with self._slots.slot():
                entered = True
                yield
        except TimeoutError as exc:
            if entered:
                raise  # the call's own, not the limiter's
            raise busy(exc, dialer=self._dialer, label=self._label) from exc


def reported(slots: WindowSlots, *, dialer: str, label: str) -> WindowSlots:
    """``slots`` whose refusal to wait that long is a ``DialerRateLimited`` (see ``busy``)."""
    return _Reported(slots, dialer, label)


class LocalLimits:
    """Limits kept in this process: exact for one process, N times too many for N replicas."""

    def rate(self, name: str, rate: float, *, burst: int = 1) -> Pacer:
        from dialer.http import RateLimiter

        return RateLimiter(rate, burst=burst)

    def window(self, name: str, max_calls: int, window: float) -> WindowSlots:
        from dialer.livevox.limiter import RollingWindowLimiter

        return RollingWindowLimiter(max_calls, window)
