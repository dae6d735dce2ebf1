"""Handlers and the engine reach Redis only through narrow services of ``state/``.

A handler gets what ``Deps`` offers (uploads, expired requests, the calling-window schedule);
replicas take turns through ``state.turns``. The source checks keep the raw client out.
"""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

from redis.asyncio import Redis

from state.expired_requests import ExpiredRequests
from state.keys import Keys
from state.turns import Turns

ROOT = Path(__file__).resolve().parent.parent


def _redis_uses(path: Path) -> list[int]:
    tree = ast.parse(path.read_text())
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "redis"
    )


def test_no_handler_touches_the_redis_client() -> None:
    handlers = ROOT / "commands" / "handlers"
    # context.py builds the handlers' services over the store's connection.
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted(handlers.glob("*.py"))
        if path.name != "context.py"
        for line in _redis_uses(path)
    ]
    assert found == [], "give the handler a service in commands/handlers/context.py: " + str(found)


def test_the_engine_takes_its_turns_through_state_turns() -> None:
    assert _redis_uses(ROOT / "bot" / "engine.py") == []


async def test_one_replica_gets_a_removal_turn_until_it_lapses(redis: Redis, keys: Keys) -> None:
    turns = Turns(redis, keys)
    assert await turns.removal("c-1", "replica-a", timedelta(seconds=30))
    assert not await turns.removal("c-1", "replica-b", timedelta(seconds=30))
    assert await turns.removal("c-2", "replica-b", timedelta(seconds=30))  # another campaign
    assert 0 < await redis.pttl(keys.removal_lock("c-1")) <= 30_000
    await redis.delete(keys.removal_lock("c-1"))  # as its expiry would
    assert await turns.removal("c-1", "replica-b", timedelta(seconds=30))


async def test_one_replica_gets_the_reconciliation_turn(redis: Redis, keys: Keys) -> None:
    turns = Turns(redis, keys)
    assert await turns.reconciliation("replica-a", timedelta(minutes=1))
    assert not await turns.reconciliation("replica-b", timedelta(minutes=1))
    assert await redis.get(keys.reconcile_lock) in (b"replica-a", "replica-a")


async def test_an_expired_request_is_remembered_by_its_id(redis: Redis, keys: Keys) -> None:
    expired = ExpiredRequests(redis, keys)
    assert not await expired.expired("rq-1")
    await expired.remember("rq-1", "c-1")
    assert await expired.expired("rq-1")
    assert not await expired.expired("rq-2")
    assert await redis.ttl(keys.removal_expired("rq-1")) > 29 * 24 * 3600


async def test_one_replica_sends_a_window_edge(redis: Redis, keys: Keys) -> None:
    turns = Turns(redis, keys)
    assert await turns.window_edge("c-1", 1_700_000_000, "replica-a", timedelta(minutes=5))
    assert not await turns.window_edge("c-1", 1_700_000_000, "replica-b", timedelta(minutes=5))
    assert await turns.window_edge("c-1", 1_700_003_600, "replica-b", timedelta(minutes=5))


async def test_the_window_scheduler_lease_is_renewed_only_by_its_holder(
    redis: Redis, keys: Keys
) -> None:
    turns = Turns(redis, keys)
    assert await turns.window_scheduler("replica-a", timedelta(seconds=3))
    assert not await turns.window_scheduler("replica-b", timedelta(seconds=3))
    await redis.pexpire(keys.window_lock, 100)
    assert await turns.window_scheduler("replica-a", timedelta(seconds=3))  # renewed
    assert 2_000 < await redis.pttl(keys.window_lock) <= 3_000
    assert await redis.get(keys.window_lock) in (b"replica-a", "replica-a")
    await redis.delete(keys.window_lock)  # as its expiry would, once replica-a stops renewing
    assert await turns.window_scheduler("replica-b", timedelta(seconds=3))
    assert not await turns.window_scheduler("replica-a", timedelta(seconds=3))
