"""Rate limits that hold across replicas: one Lua script per algorithm, on the Redis server's clock.

A vendor counts calls per account, not per process: three replicas each keeping to VoIPBIN's
16.7 requests/s would together send 50. So every per-account limit lives in Redis, decided in one
script (atomic: no two replicas can take the same slot) that reads ``TIME`` on the server, so the
replicas' own clocks never matter. Redis 5 and later replicate a script's effects, not the
script, which is what makes a script that reads ``TIME`` and writes safe to replicate; the bot
needs Redis 6.2 anyway.

* ``RedisGcra`` — GCRA (a token bucket of ``burst`` calls refilled at ``rate`` per second), for a
  vendor that limits a rate (VoIPBIN's per-customer limit is itself a GCRA);
* ``RedisRollingWindow`` — at most ``max_calls`` in any ``window`` seconds, for a vendor that
  counts over a rolling window (LiveVox: 5 appends per rolling minute).

A call asks the script whether it may go; if not, it sleeps as long as the script says and asks
again. A call is counted from when it really goes, so one that wakes late never squeezes the
next one closer (as ``dialer.http.RateLimiter`` does in memory). A process's callers ask one at a
time, first come, first served (an ``asyncio.Lock``), so each replica has one caller asking and
none of its callers starves. Neither waits longer than ``max_wait`` in all: past that,
``PaceTimeout`` (a ``TimeoutError``) names the limit, so a caller never hangs on a limit shared
by too many; the dialer HTTP kit and the leads upload report it as ``DialerRateLimited``. Every
key carries an expiry: an idle limit leaves nothing behind.

The adapters and the leads upload ask a ``dialer.limits.Limits`` for their limiters; the
composition root lends them ``RedisLimits`` on a real Redis, and the in-memory
``dialer.limits.LocalLimits`` on the in-process fake an unconfigured bot runs on, which serves one
process only and runs no Lua (``shared_limits``).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial

from redis.asyncio import Redis
from redis.exceptions import RedisError

from state.connection import runs_lua
from state.keys import Keys

MICROS = 1_000_000
DEFAULT_MAX_WAIT = 120.0
"""Seconds a caller waits for a slot before ``PaceTimeout``."""


class PaceTimeout(TimeoutError):
    """The wait for a turn would be longer than the limiter allows; nothing was counted.

    The dialer HTTP kit and the leads upload turn it into ``DialerRateLimited``: the bot's own
    pace for the vendor is what is busy, and nothing was sent."""

    def __init__(self, message: str, *, limit: str, retry_after: float) -> None:
        super().__init__(message)
        self.limit = limit
        self.retry_after = retry_after


# KEYS[1]: STRING, the theoretical arrival time (µs, Redis clock) of the next call.
# ARGV: interval µs, tolerance µs ((burst - 1) · interval), hold µs.
# Returns 0 when the call may go now (and counts it, from now: a caller that comes late does not
# squeeze the next one closer), else the µs to wait before asking again (nothing counted).
# A hold (> 0) moves the next turn to at least now + hold and counts nothing.
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local hold = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if hold > 0 then
  if now + hold + tolerance > tat then tat = now + hold + tolerance end
else
  local wait = tat - tolerance - now
  if wait > 0 then return wait end
  tat = tat + interval
end
local ttl = math.floor((tat - now) / 1000) + 1
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', ttl)
return 0
"""

# KEYS[1]: ZSET call id -> µs stamp (Redis clock) of the calls in the last window.
# ARGV: max calls, window µs, call id, mode ('take' or 'stamp').
# take: 0 and the call counted, or the µs until the oldest call leaves the window.
# stamp: the call is counted from now (its end), whether or not it was still in the window.
_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local ttl = math.floor(window / 1000) + 1
if ARGV[4] == 'take' then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
  if redis.call('ZCARD', KEYS[1]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    local wait = tonumber(oldest[2]) + window - now
    if wait < 1 then wait = 1 end
    return wait
  end
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ttl)
return 0
"""


def _check(name: str, *, positive: dict[str, float], max_wait: float) -> None:
    bad = [f"{what} is {value:g}" for what, value in positive.items() if value <= 0]
    if max_wait <= 0:
        bad.append(f"max_wait is {max_wait:g}")
    if bad:
        raise ValueError(
            f"rate limit {name!r}: {', '.join(bad)}; each must be above zero (check the "
            "setting that sets it)"
        )


def _too_long(name: str, what: str, max_wait: float, wait: float) -> PaceTimeout:
    return PaceTimeout(
        f"The bot's own limit {name!r} ({what}) is taken for the next {wait:.0f} s, longer than "
        f"a call waits ({max_wait:g} s): more calls are queued than it lets through. Try again "
        "shortly; run fewer at once (e.g. LEADS_UPLOAD_CONCURRENCY), or raise the limit if the "
        "vendor allows it.",
        limit=name,
        retry_after=wait,
    )


async def _until_free(
    turn: asyncio.Lock,
    ask: Callable[[], Awaitable[int]],
    max_wait: float,
    too_long: Callable[[float], PaceTimeout],
) -> None:
    """Ask until the script says go (0), sleeping as long as it says; a process's callers ask one
    at a time, in order. Past ``max_wait`` in all: ``too_long``, with nothing counted."""
    loop = asyncio.get_running_loop()
    give_up_at = loop.time() + max_wait
    try:
        async with asyncio.timeout_at(give_up_at):
            await turn.acquire()
    except TimeoutError:
        raise too_long(max_wait) from None
    try:
        while wait := await ask():
            seconds = wait / MICROS
            if loop.time() + seconds > give_up_at:
                raise too_long(seconds)
            await asyncio.sleep(seconds)
    finally:
        turn.release()


class RedisGcra:
    """GCRA in Redis: ``rate`` calls per second on average, ``burst`` of them back to back, over
    every replica sharing ``key``."""

    def __init__(
        self,
        redis: Redis,
        key: str,
        rate: float,
        *,
        burst: int = 1,
        max_wait: float | None = None,
        name: str | None = None,
    ) -> None:
        """``name`` (``<dialer>:<what>``) is what errors call the limit; the key by default.
        ``max_wait``: by default ``DEFAULT_MAX_WAIT``, or the turns of 64 calls on a slow limit
        (LiveVox's one append in 12 s), so several replicas' uploads may queue."""
        self.name = name or key
        given = max_wait if max_wait is not None else DEFAULT_MAX_WAIT
        _check(self.name, positive={"rate": rate, "burst": burst}, max_wait=given)
        max_wait = max_wait if max_wait is not None else max(DEFAULT_MAX_WAIT, 64 / rate)
        self.key = key
        self.rate = rate
        self.burst = burst
        self.max_wait = max_wait
        self._what = f"{rate:g}/s, burst {burst}"
        self._interval = max(1, round(MICROS / rate))
        self._tolerance = (burst - 1) * self._interval
        self._script = redis.register_script(_GCRA)
        self._turn = asyncio.Lock()  # this process's callers, first come, first served

    async def acquire(self) -> None:
        await _until_free(self._turn, partial(self._run, 0), self.max_wait, self._too_long)

    async def pause(self, seconds: float) -> None:
        if seconds > 0:
            await self._run(max(1, round(seconds * MICROS)))

    def _too_long(self, wait: float) -> PaceTimeout:
        return _too_long(self.name, self._what, self.max_wait, wait)

    async def _run(self, hold: int) -> int:
        args = [self._interval, self._tolerance, hold]
        return int(await self._script(keys=[self.key], args=args))


class RedisRollingWindow:
    """At most ``max_calls`` calls in any ``window`` seconds, over every replica sharing ``key``.

    A call's slot is stamped when it is taken and again when the call ends (``slot()``): the
    vendor sees the request a little after it is sent, and a window counted from the send alone
    could close before the vendor's does.
    """

    def __init__(
        self,
        redis: Redis,
        key: str,
        max_calls: int,
        window: float,
        *,
        max_wait: float | None = None,
        name: str | None = None,
    ) -> None:
        max_wait = max_wait if max_wait is not None else max(DEFAULT_MAX_WAIT, 3 * window)
        self.name = name or key
        _check(self.name, positive={"max_calls": max_calls, "window": window}, max_wait=max_wait)
        self.key = key
        self.max_calls = max_calls
        self.window = window
        self.max_wait = max_wait
        self._window_us = max(1, round(window * MICROS))
        self._script = redis.register_script(_WINDOW)
        self._turn = asyncio.Lock()  # this process's callers, first come, first served

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait until a call is allowed, then hold its slot until the call ends."""
        call = await self._take()
        try:
            yield
        finally:
            # Without Redis the slot stays counted from its start: the call's own outcome
            # (which may have reached the vendor) must not turn into a Redis error.
            with contextlib.suppress(RedisError, OSError):
                await self._run(call, "stamp")

    async def _take(self) -> str:
        call = uuid.uuid4().hex
        await _until_free(
            self._turn, partial(self._run, call, "take"), self.max_wait, self._too_long
        )
        return call

    def _too_long(self, wait: float) -> PaceTimeout:
        return _too_long(self.name, f"{self.max_calls} per {self.window:g} s", self.max_wait, wait)

    async def _run(self, call: str, mode: str) -> int:
        args: list[int | str] = [self.max_calls, self._window_us, call, mode]
        return int(await self._script(keys=[self.key], args=args))


class RedisLimits:
    """The vendors' limits, shared by every replica on ``redis``, keyed under ``keys``: a
    ``dialer.limits.Limits`` (the dialer package declares it; this one only fits its shape)."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    def rate(self, name: str, rate: float, *, burst: int = 1) -> RedisGcra:
        key = self.keys.rate_limit(name)
        return RedisGcra(self.redis, key, rate, burst=burst, name=name)

    def window(self, name: str, max_calls: int, window: float) -> RedisRollingWindow:
        key = self.keys.window_limit(name)
        return RedisRollingWindow(self.redis, key, max_calls, window, name=name)


def shared_limits(redis: Redis, keys: Keys) -> RedisLimits | None:
    """The limits every replica on ``redis`` shares; None on the in-process fake Redis an
    unconfigured bot runs on, which serves one process (in-memory limits are exact there) and runs
    no Lua."""
    if not runs_lua(redis):
        return None
    return RedisLimits(redis, keys)
