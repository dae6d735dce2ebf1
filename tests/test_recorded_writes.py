"""Writes recorded for one ``EVAL`` (``state.recorded_writes``) leave Redis exactly as the same
writes sent one command each would: the store's batched applies rely on it.

Run on the real Redis: fakeredis runs no scripts (there the writes are replayed one by one).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from state.recorded_writes import RecordedWrites

TEXTS = [
    "plain",
    "Zo\u00eb\u2019s \u201ccampaign\u201d \u260e\ufe0f \U0001f4de",
    'quote " backslash \\ tab \t newline \n',
    "\x01",
]


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    prefix = f"test:recorded:{uuid.uuid4().hex[:8]}:"
    yield prefix
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        await redis.delete(key)


def record(prefix: str, text: str) -> RecordedWrites:
    writes = RecordedWrites()
    writes.set(f"{prefix}doc", text)
    writes.set(f"{prefix}seen", "1", ex=timedelta(hours=1))
    writes.xadd(f"{prefix}audit", {"action": "applied", "data": text}, maxlen=100)
    writes.xadd(f"{prefix}audit", {"action": "second"}, maxlen=100, approximate=False)
    writes.sadd(f"{prefix}set", "a", "b")
    writes.srem(f"{prefix}set", "a")
    writes.zadd(f"{prefix}zset", {"x": 1.5, "y": 2})
    writes.zrem(f"{prefix}zset", "y")
    writes.expire(f"{prefix}set", 600)
    return writes


async def state(redis: Redis, prefix: str) -> dict[str, Any]:
    audit = await redis.xrange(f"{prefix}audit")
    return {
        "doc": await redis.get(f"{prefix}doc"),
        "seen_ttl": await redis.ttl(f"{prefix}seen") > 3500,
        "audit": [fields for _, fields in audit],
        "set": await redis.smembers(f"{prefix}set"),
        "set_ttl": 0 < await redis.ttl(f"{prefix}set") <= 600,
        "zset": await redis.zrange(f"{prefix}zset", 0, -1, withscores=True),
    }


@pytest.mark.parametrize("text", TEXTS)
async def test_one_eval_writes_what_the_commands_one_by_one_write(
    redis: Redis, prefix: str, text: str
) -> None:
    results = {}
    for one_command in (True, False):
        space = f"{prefix}{one_command}:"
        async with redis.pipeline(transaction=True) as pipe:
            record(space, text).queue(pipe, one_command=one_command)
            await pipe.execute()
        results[one_command] = await state(redis, space)
    assert results[True] == results[False]
    assert results[True]["doc"] == text.encode()
    assert results[True]["audit"][0][b"data"] == text.encode()


async def test_a_key_named_twice_is_passed_once(redis: Redis, prefix: str) -> None:
    writes = RecordedWrites()
    for n in range(3):
        writes.set(f"{prefix}same", str(n))
    assert writes.keys == [f"{prefix}same"]
    async with redis.pipeline(transaction=True) as pipe:
        writes.queue(pipe)
        await pipe.execute()
    assert await redis.get(f"{prefix}same") == b"2"


async def test_nothing_recorded_queues_nothing(redis: Redis) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        RecordedWrites().queue(pipe)
        assert len(pipe) == 0
