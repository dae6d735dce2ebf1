"""Shared fixtures: a Redis client per backend, isolated by a unique key prefix."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import fakeredis
import pytest
from redis.asyncio import Redis

from state.keys import Keys

REAL_REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(params=["fakeredis", pytest.param("redis", marks=pytest.mark.redis)])
async def redis(request: pytest.FixtureRequest) -> AsyncIterator[Redis]:
    """The same test against fakeredis and against the real Redis at ``REDIS_URL``.

    The real one is never skipped: a missing server fails the test, so CI cannot pass without it.
    """
    if request.param == "fakeredis":
        client: Redis = fakeredis.FakeAsyncRedis()
        yield client
        await client.aclose()
        return
    client = Redis.from_url(REAL_REDIS_URL)
    await client.ping()
    yield client
    await client.aclose()


@pytest.fixture
async def keys(redis: Redis) -> AsyncIterator[Keys]:
    """A key prefix no other test uses; its keys are removed afterwards."""
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    yield Keys(prefix)
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        await redis.delete(key)
