"""A lock or lease held in one Redis STRING whose value names its holder."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from state.connection import text


async def if_holder(
    redis: Redis, key: str, owner: str, then: Callable[[Pipeline], object]
) -> list[Any] | None:
    """Queue ``then``'s commands and run them only if ``owner`` still holds ``key`` when they
    land (WATCH/MULTI): between reading the holder and the write the key could expire and be
    taken by another replica. Their results, or None if ``key`` is not ``owner``'s or changed
    meanwhile."""
    async with redis.pipeline(transaction=True) as pipe:
        try:
            await pipe.watch(key)
            if text(await pipe.get(key) or b"") != owner:
                return None
            pipe.multi()  # type: ignore[no-untyped-call]
            then(pipe)
            results: list[Any] = await pipe.execute()
            return results
        except WatchError:
            return None
