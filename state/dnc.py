"""The one do-not-call list, shared by every campaign and dialer: a Redis SET of E.164 numbers.

Every change is audited in the bot's audit stream (``Keys.audit``) in the same transaction as
the change itself, as ``dnc:added`` / ``dnc:removed`` with the actor, how many numbers changed
and the numbers. A large change (a file of numbers) is written in parts of at most
``CHUNK`` numbers, each part one transaction and one audit entry, so no command or stream entry
grows with the file.

Lookups are batched: ``listed`` sends one pipelined ``SMISMEMBER`` per ``CHUNK`` numbers, so
checking a million leads costs a few hundred round trips, not a million.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from state.keys import AUDIT_MAXLEN, Keys
from state.store import audit_entry, utcnow

CHUNK = 5_000
"""Numbers per SMISMEMBER / SADD / SREM command and per audit entry."""
ADDED = "dnc:added"
REMOVED = "dnc:removed"


class DoNotCallList:
    def __init__(
        self,
        redis: Redis,
        keys: Keys | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        chunk: int = CHUNK,
        audit_maxlen: int = AUDIT_MAXLEN,
    ) -> None:
        self.redis = redis
        self.keys = keys or Keys()
        self._clock = clock
        self._chunk = chunk
        self._audit_maxlen = audit_maxlen

    async def count(self) -> int:
        return int(await self.redis.scard(self.keys.do_not_call))

    async def contains(self, number: str) -> bool:
        return bool(await self.redis.sismember(self.keys.do_not_call, number))

    async def added_since(self, moment: datetime) -> bool:
        """Whether a number was put on the list at ``moment`` or later."""
        raw = await self.redis.get(self.keys.do_not_call_added_at)
        return raw is not None and float(raw) >= moment.timestamp()

    async def listed(self, numbers: Sequence[str]) -> list[bool]:
        """For each number, whether it is on the list; one round trip for all of them."""
        if not numbers:
            return []
        key = self.keys.do_not_call
        async with self.redis.pipeline(transaction=False) as pipe:
            for part in _parts(numbers, self._chunk):
                pipe.smismember(key, list(part))
            answers: list[list[Any]] = await pipe.execute()
        return [bool(flag) for answer in answers for flag in answer]

    async def add(self, numbers: Iterable[str], actor: str) -> list[str]:
        """Put numbers on the list; returns those that were not on it already."""
        return await self._change(numbers, actor, adding=True)

    async def remove(self, numbers: Iterable[str], actor: str) -> list[str]:
        """Take numbers off the list; returns those that were on it."""
        return await self._change(numbers, actor, adding=False)

    async def _change(self, numbers: Iterable[str], actor: str, *, adding: bool) -> list[str]:
        changed: list[str] = []
        for part in _parts(list(dict.fromkeys(numbers)), self._chunk):
            present = await self.listed(part)
            todo = [n for n, on in zip(part, present, strict=True) if on is not adding]
            if not todo:
                continue
            async with self.redis.pipeline(transaction=True) as pipe:
                if adding:
                    pipe.sadd(self.keys.do_not_call, *todo)
                    pipe.set(self.keys.do_not_call_added_at, self._clock().timestamp())
                else:
                    pipe.srem(self.keys.do_not_call, *todo)
                pipe.xadd(
                    self.keys.audit,
                    self._audit_entry(ADDED if adding else REMOVED, actor, todo),
                    maxlen=self._audit_maxlen,
                    approximate=True,
                )
                await pipe.execute()
            changed += todo
        return changed

    def _audit_entry(self, action: str, actor: str, numbers: list[str]) -> dict[Any, Any]:
        # No campaign ref: the list is the deployment's.
        data = {"count": len(numbers), "numbers": numbers}
        return audit_entry(self._clock(), action, "", actor, data)


def _parts(numbers: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(numbers), size):
        yield numbers[start : start + size]
