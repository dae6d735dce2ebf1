"""The lifecycle scenario runs on both Redis backends (``redis`` from tests/conftest.py); the
other end-to-end tests run on fakeredis only (``fake_redis``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import fakeredis
import pytest
from redis.asyncio import Redis


@pytest.fixture
async def fake_redis() -> AsyncIterator[Redis]:
    client: Redis = fakeredis.FakeAsyncRedis()
    yield client
    await client.aclose()
