"""Removal requests that expired unapproved, remembered so that a late Approve is told why."""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from state.keys import Keys
from state.store import CampaignStore

EXPIRED_REQUEST_MEMORY = timedelta(days=30)
"""Longer than an approval message stays in anyone's view."""


class ExpiredRequests:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    @classmethod
    def of(cls, store: CampaignStore) -> ExpiredRequests:
        """Over the store's connection and keys."""
        return cls(store.redis, store.keys)

    async def remember(self, request_id: str, ref: str) -> None:
        await self._redis.set(
            self._keys.removal_expired(request_id), ref, ex=EXPIRED_REQUEST_MEMORY
        )

    async def expired(self, request_id: str) -> bool:
        return bool(await self._redis.exists(self._keys.removal_expired(request_id)))
