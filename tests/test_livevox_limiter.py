"""The rolling-window limiter that keeps appends under LiveVox's 5 calls per rolling minute."""

from __future__ import annotations

import asyncio
import time

import pytest

from dialer.livevox.limiter import RollingWindowLimiter

WINDOW = 0.3


async def _call(limiter: RollingWindowLimiter, seconds: float = 0.0) -> float:
    async with limiter.slot():
        started = time.monotonic()
        await asyncio.sleep(seconds)
    return started


async def test_calls_up_to_the_limit_go_at_once() -> None:
    limiter = RollingWindowLimiter(5, WINDOW)
    began = time.monotonic()
    await asyncio.gather(*(_call(limiter) for _ in range(5)))
    assert time.monotonic() - began < WINDOW / 2


async def test_the_call_over_the_limit_waits_for_the_oldest_to_leave_the_window() -> None:
    limiter = RollingWindowLimiter(5, WINDOW)
    starts = [await _call(limiter) for _ in range(6)]
    assert starts[5] - starts[0] >= WINDOW
    assert starts[5] - starts[0] < WINDOW * 2


async def test_no_window_ever_holds_more_than_the_limit() -> None:
    limiter = RollingWindowLimiter(2, WINDOW / 3)
    starts = sorted(await asyncio.gather(*(_call(limiter) for _ in range(7))))
    for first, third in zip(starts, starts[2:], strict=False):
        assert third - first >= WINDOW / 3 * 0.99


async def test_a_slow_call_holds_its_place_until_it_ends() -> None:
    limiter = RollingWindowLimiter(1, WINDOW)
    first = await _call(limiter, seconds=0.1)
    second = await _call(limiter)
    # LiveVox sees the first call late; the window counts from when it finished.
    assert second - first >= WINDOW + 0.1 * 0.9


def test_a_limiter_needs_a_positive_limit_and_window() -> None:
    with pytest.raises(ValueError):
        RollingWindowLimiter(0, WINDOW)
    with pytest.raises(ValueError):
        RollingWindowLimiter(5, 0)
