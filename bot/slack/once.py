"""Doing a Slack request's work once, though Slack may deliver it twice.

Slack retries a request it thinks timed out (``X-Slack-Retry-Num``) and people double-click
*Create*; both must not create two campaigns or send two deletes. The first delivery claims the
request's own id (view id, trigger id, action ts) with ``SET NX``; later ones find it taken.
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from state.keys import SlackKeys

ONCE_TTL = timedelta(hours=24)
"""Longer than Slack retries or a person keeps a modal open."""


class Once:
    def __init__(self, redis: Redis, prefix: str, ttl: timedelta = ONCE_TTL) -> None:
        self._redis = redis
        self._keys = SlackKeys(prefix)
        self._ttl = ttl

    def key(self, kind: str, request_id: str) -> str:
        return self._keys.once(kind, request_id)

    async def first_time(self, kind: str, request_id: str) -> bool:
        """True for the first delivery of this request id, False for any repeat."""
        claimed = await self._redis.set(self.key(kind, request_id), "1", nx=True, ex=self._ttl)
        return bool(claimed)
