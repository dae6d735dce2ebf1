"""The do-not-call list in Redis: changes, lookups in batches, and the audit of every change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from state.dnc import ADDED, REMOVED, DoNotCallList
from state.keys import Keys

AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def dnc_list(redis: Redis, keys: Keys, chunk: int = 3) -> DoNotCallList:
    return DoNotCallList(redis, keys, clock=lambda: AT, chunk=chunk)


async def audit(redis: Redis, keys: Keys) -> list[dict[str, str]]:
    entries: Any = await redis.xrange(keys.audit)
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]


async def test_adding_returns_only_the_numbers_not_listed_before(redis: Redis, keys: Keys) -> None:
    dnc = dnc_list(redis, keys)
    assert await dnc.add(["+14155550100", "+14155550101"], "U1") == [
        "+14155550100",
        "+14155550101",
    ]
    assert await dnc.add(["+14155550101", "+14155550102", "+14155550102"], "U2") == ["+14155550102"]
    assert await dnc.count() == 3
    assert await dnc.contains("+14155550102")


async def test_removing_returns_only_the_numbers_that_were_listed(redis: Redis, keys: Keys) -> None:
    dnc = dnc_list(redis, keys)
    await dnc.add(["+14155550100"], "U1")
    assert await dnc.remove(["+14155550100", "+14155550199"], "U1") == ["+14155550100"]
    assert not await dnc.contains("+14155550100")
    assert await dnc.count() == 0


async def test_lookups_answer_in_order_across_several_chunks(redis: Redis, keys: Keys) -> None:
    dnc = dnc_list(redis, keys, chunk=2)
    await dnc.add(["+14155550101", "+14155550104"], "U1")
    numbers = [f"+1415555010{i}" for i in range(6)]
    assert await dnc.listed(numbers) == [False, True, False, False, True, False]
    assert await dnc.listed([]) == []


async def test_every_change_is_audited_with_its_actor_count_and_numbers(
    redis: Redis, keys: Keys
) -> None:
    dnc = dnc_list(redis, keys, chunk=2)
    await dnc.add(["+14155550100", "+14155550101", "+14155550102"], "U1")
    await dnc.remove(["+14155550101"], "U2")
    await dnc.remove(["+14155550199"], "U2")  # nothing changed: nothing audited
    entries = await audit(redis, keys)
    assert [(e["action"], e["actor"], e["ref"], e["at"]) for e in entries] == [
        (ADDED, "U1", "", AT.isoformat()),
        (ADDED, "U1", "", AT.isoformat()),
        (REMOVED, "U2", "", AT.isoformat()),
    ]
    data = [json.loads(e["data"]) for e in entries]
    assert data == [
        {"count": 2, "numbers": ["+14155550100", "+14155550101"]},
        {"count": 1, "numbers": ["+14155550102"]},
        {"count": 1, "numbers": ["+14155550101"]},
    ]


async def test_it_remembers_when_a_number_was_last_listed(redis: Redis, keys: Keys) -> None:
    dnc = dnc_list(redis, keys)
    assert not await dnc.added_since(AT - timedelta(days=1))
    await dnc.add(["+14155550100"], "U1")
    assert await dnc.added_since(AT)
    assert not await dnc.added_since(AT + timedelta(seconds=1))
    await dnc.remove(["+14155550100"], "U1")
    await dnc.add(["+14155550101"], "U1")
    assert await dnc.added_since(AT)
