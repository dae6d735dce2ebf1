"""A lease on the bot's Redis: one holder at a time, kept alive by renewal, lapsing on its own.

Used so that only one bot replica polls LiveVox. The holder renews well inside the expiry; a
replica that dies simply stops renewing, and another takes the lease once it has lapsed.
"""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

# Renew or release only while the lease is still ours: a lapsed lease may belong to someone else.
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class LeaseLost(Exception):
    """The lease lapsed or was taken over before it could be renewed."""


class RedisLease:
    def __init__(self, redis: Redis, key: str, ttl_seconds: float) -> None:
        self.key = key
        self.ttl_ms = max(1, round(ttl_seconds * 1000))
        self.holder = uuid.uuid4().hex
        self._redis = redis
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def acquire(self) -> bool:
        return bool(await self._redis.set(self.key, self.holder, nx=True, px=self.ttl_ms))

    async def renew(self) -> None:
        if not await self._renew(keys=[self.key], args=[self.holder, self.ttl_ms]):
            raise LeaseLost(f"the lease {self.key} is no longer held by {self.holder}")

    async def release(self) -> None:
        await self._release(keys=[self.key], args=[self.holder])
