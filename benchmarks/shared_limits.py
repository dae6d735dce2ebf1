"""A limit shared by replicas through Redis (``state.limiter``): three connections, as three
replicas, with several callers each, take turns of one GCRA at R calls a second. The figure is
the share of R they get; beside it, that no second ever let more than R + burst through, and
what one turn costs next to a bare Redis round trip (a turn is one script call)."""

from __future__ import annotations

import asyncio
import bisect
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from benchmarks.common import REDIS_URL, Figure, figure, missed, percentile, redis_space
from state.keys import Keys
from state.limiter import RedisGcra

TARGET_SHARE = 0.9


@dataclass(frozen=True)
class Size:
    rate: float = 200.0
    burst: int = 5
    replicas: int = 3
    callers: int = 8  # per replica
    calls: int = 2_000  # in all


FULL = Size()
TOY = Size(rate=100.0, calls=150)


async def _take(pacer: RedisGcra, turns: int, stamps: list[float]) -> None:
    for _ in range(turns):
        await pacer.acquire()
        stamps.append(time.monotonic())


async def _round_trips(redis: Redis, pacer: RedisGcra, count: int) -> tuple[float, float]:
    """Median seconds of a bare PING and of one turn's script call (a limit never waited on)."""
    pings, turns = [], []
    for _ in range(count):
        began = time.perf_counter()
        await redis.ping()
        pings.append(time.perf_counter() - began)
        began = time.perf_counter()
        await pacer.acquire()
        turns.append(time.perf_counter() - began)
    return percentile(pings, 0.5), percentile(turns, 0.5)


async def run(size: Size) -> Figure:
    async with redis_space("limits") as (redis, prefix):
        keys = Keys(prefix)
        clients = [Redis.from_url(REDIS_URL) for _ in range(size.replicas)]
        try:
            key = keys.rate_limit("bench:calls")
            pacers = [RedisGcra(c, key, size.rate, burst=size.burst) for c in clients]
            per_caller = size.calls // (size.replicas * size.callers)
            stamps: list[float] = []
            began = time.monotonic()
            await asyncio.gather(
                *(_take(pacer, per_caller, stamps) for pacer in pacers for _ in range(size.callers))
            )
            seconds = time.monotonic() - began
            free = RedisGcra(redis, keys.rate_limit("bench:free"), 1e6, burst=1_000_000)
            ping, turn = await _round_trips(redis, free, 200)
        finally:
            for client in clients:
                await client.aclose()
    calls = len(stamps)
    share = (calls - size.burst) / seconds / size.rate
    stamps.sort()
    busiest = max(bisect.bisect_left(stamps, at + 1.0) - i for i, at in enumerate(stamps))
    result = figure(
        share,
        "share of R",
        f">= {TARGET_SHARE} of R over {size.replicas} replicas, never more than R + burst a second",
        share >= TARGET_SHARE and busiest <= size.rate + size.burst,
        rate=size.rate,
        burst=size.burst,
        calls=calls,
        seconds=round(seconds, 3),
        busiest_second=busiest,
        turn_ms=round(turn * 1000, 3),
        bare_ping_ms=round(ping * 1000, 3),
    )
    return missed(result, "the callers could not keep the shared limit busy")
