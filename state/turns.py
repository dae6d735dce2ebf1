"""Turn-taking between replicas: the first to set a lock acts this round.

A turn lock is ``SET NX PX``: never released, it expires after the round, so a replica that dies
mid-round holds nobody up for longer than that.
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis

from state.keys import Keys
from state.leases import if_holder
from state.store import CampaignStore


class Turns:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys

    @classmethod
    def of(cls, store: CampaignStore) -> Turns:
        """Over the store's connection and keys."""
        return cls(store.redis, store.keys)

    async def removal(self, ref: str, owner: str, round_length: timedelta) -> bool:
        """Whether ``owner`` acts on ``ref``'s removal this round (re-sends, expiry)."""
        return await self._take(self._keys.removal_lock(ref), owner, round_length)

    async def window_edge(self, ref: str, due: int, owner: str, round_length: timedelta) -> bool:
        """Whether ``owner`` sends the start or stop of ``ref``'s window edge at ``due``."""
        return await self._take(self._keys.window_edge_lock(ref, due), owner, round_length)

    async def reconciliation(self, owner: str, round_length: timedelta) -> bool:
        """Whether ``owner`` runs this round's periodic reconciliation pass."""
        return await self._take(self._keys.reconcile_lock, owner, round_length)

    async def window_scheduler(self, owner: str, lease: timedelta) -> bool:
        """Whether ``owner`` holds the calling-window scheduler's lease: taken when free,
        renewed by its holder, lost to another replica once the holder stops renewing it."""
        key, milliseconds = self._keys.window_lock, _milliseconds(lease)
        if await self._redis.set(key, owner, nx=True, px=milliseconds):
            return True
        renewed = await if_holder(
            self._redis, key, owner, lambda pipe: pipe.pexpire(key, milliseconds)
        )
        return renewed is not None and bool(renewed[0])

    async def _take(self, key: str, owner: str, round_length: timedelta) -> bool:
        return bool(await self._redis.set(key, owner, nx=True, px=_milliseconds(round_length)))


def _milliseconds(length: timedelta) -> int:
    return max(1, int(length.total_seconds() * 1000))
