"""The inbox consumer through Redis outages: it re-creates its group after a restart that lost
it, backs off while Redis is away, says when Redis is back, pauses when idle, and ends on
cancellation (even one redis-py turned into a connection error)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

import state.inbox
from state.domain import CampaignStatus, DialerNotification
from state.inbox import IDLE_PAUSE, NotificationInbox
from state.keys import Keys
from tests.faults.processes import RedisServer
from tests.state_builders import notification

REAL_SLEEP = asyncio.sleep  # the tests below record the consumer's sleeps instead


class Recorder:
    def __init__(self) -> None:
        self.handled: list[DialerNotification] = []

    async def __call__(self, event: DialerNotification) -> None:
        self.handled.append(event)


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "never happened"
        await asyncio.sleep(0.02)


async def stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(task, timeout=5)


async def test_after_a_redis_restart_without_persistence_the_group_is_recreated_and_read() -> None:
    with RedisServer(appendonly=False) as server:
        client = Redis.from_url(server.url, socket_timeout=3, socket_connect_timeout=1)
        keys = Keys(f"t:{uuid.uuid4().hex[:6]}:")
        inbox = NotificationInbox(client, keys)
        recorder, recovered = Recorder(), []
        consumer = asyncio.create_task(
            inbox.run("replica-a", recorder, block_ms=100, on_recovered=lambda: recovered.append(1))
        )
        try:
            before = notification(status=CampaignStatus.RUNNING, sequence=1)
            await inbox.publish(before)
            await eventually(lambda: recorder.handled == [before])

            server.kill()
            server.start()  # the same port, an empty Redis: no stream, no group
            publisher = Redis.from_url(server.url)
            after = notification(status=CampaignStatus.STOPPED, sequence=2)
            await NotificationInbox(publisher, keys).publish(after)
            await eventually(lambda: recorder.handled == [before, after])
            # Recovery is reported once the read that handled ``after`` is acknowledged, a
            # round trip after its handler ran.
            await eventually(lambda: recovered == [1])
            groups = await publisher.xinfo_groups(inbox.stream)
            assert [g["name"] for g in groups] == [b"appliers"]
            assert not consumer.done()
            await publisher.aclose()
        finally:
            await stop(consumer)
            await client.aclose()


class ScriptedInbox(NotificationInbox):
    """An inbox whose ``process`` follows a script: a number handled, or an error raised."""

    def __init__(self, script: list[int | BaseException]) -> None:
        super().__init__(Redis())  # never connected: process and ensure_group are replaced
        self.script = list(script)
        self.groups_created = 0

    async def ensure_group(self) -> None:
        self.groups_created += 1
        if self.script and self.script[0] == "group fails":  # type: ignore[comparison-overlap]
            self.script.pop(0)
            raise RedisConnectionError("still down")

    async def process(self, consumer: str, handle: Any, **_: Any) -> int:
        await REAL_SLEEP(0)
        if not self.script:
            raise asyncio.CancelledError
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The consumer's sleeps, recorded instead of slept."""
    recorded: list[float] = []

    async def record(seconds: float) -> None:
        recorded.append(seconds)
        await REAL_SLEEP(0)

    monkeypatch.setattr(state.inbox.asyncio, "sleep", record)
    return recorded


def down() -> RedisConnectionError:
    return RedisConnectionError("Connection refused")


async def test_the_consumer_backs_off_doubling_up_to_five_seconds_and_starts_over_once_back(
    sleeps: list[float],
) -> None:
    inbox = ScriptedInbox([*(down() for _ in range(8)), 1, down(), 1])
    recovered: list[int] = []
    with pytest.raises(asyncio.CancelledError):
        await inbox.run("replica-a", Recorder(), on_recovered=lambda: recovered.append(1))
    assert sleeps == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0, 0.1]
    assert recovered == [1, 1]


async def test_the_group_is_created_at_start_and_again_after_every_failure(
    sleeps: list[float],
) -> None:
    inbox = ScriptedInbox([down(), down(), 1])
    with pytest.raises(asyncio.CancelledError):
        await inbox.run("replica-a", Recorder())
    assert inbox.groups_created == 3


async def test_a_group_that_cannot_be_recreated_yet_is_tried_again_later(
    sleeps: list[float],
) -> None:
    inbox = ScriptedInbox([down(), "group fails", down(), 1])  # type: ignore[list-item]
    with pytest.raises(asyncio.CancelledError):
        await inbox.run("replica-a", Recorder())
    assert inbox.groups_created == 3
    assert sleeps == [0.1, 0.2]


async def test_recovery_is_reported_only_after_a_failure(sleeps: list[float]) -> None:
    inbox = ScriptedInbox([1, 0, 2])
    recovered: list[int] = []
    with pytest.raises(asyncio.CancelledError):
        await inbox.run("replica-a", Recorder(), on_recovered=lambda: recovered.append(1))
    assert recovered == []


async def test_an_idle_consumer_pauses_and_a_busy_one_does_not(sleeps: list[float]) -> None:
    inbox = ScriptedInbox([0, 3, 0, 5])
    with pytest.raises(asyncio.CancelledError):
        await inbox.run("replica-a", Recorder())
    assert sleeps == [IDLE_PAUSE, IDLE_PAUSE]


async def test_creating_the_group_tolerates_only_an_existing_group() -> None:
    inbox = NotificationInbox(Redis())

    async def refuse(*_: Any, **__: Any) -> None:
        raise ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")

    inbox.redis.xgroup_create = refuse  # type: ignore[method-assign]
    with pytest.raises(ResponseError, match="WRONGTYPE"):
        await inbox.ensure_group()

    async def busy(*_: Any, **__: Any) -> None:
        raise ResponseError("BUSYGROUP Consumer Group name already exists")

    inbox.redis.xgroup_create = busy  # type: ignore[method-assign]
    await inbox.ensure_group()
    await inbox.redis.aclose()


async def test_a_cancellation_turned_into_a_connection_error_still_ends_the_consumer(
    sleeps: list[float],
) -> None:
    class SwallowingInbox(ScriptedInbox):
        async def process(self, consumer: str, handle: Any, **_: Any) -> int:
            # What redis-py does with a cancellation landing mid-command: the task is marked
            # cancelling, and what comes out is a connection error.
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await REAL_SLEEP(0)
            raise down()

    inbox = SwallowingInbox([])
    consumer = asyncio.create_task(inbox.run("replica-a", Recorder()))
    done, _ = await asyncio.wait({consumer}, timeout=2)
    assert done == {consumer}
    assert consumer.cancelled()
    assert sleeps == []  # ended at once, no backoff first


async def test_cancelling_a_consumer_mid_read_on_a_real_redis_ends_it(
    redis: Redis, keys: Keys
) -> None:
    inbox = NotificationInbox(redis, keys)
    consumer = asyncio.create_task(inbox.run("replica-a", Recorder(), block_ms=5000))
    await asyncio.sleep(0.2)  # inside the blocking read
    consumer.cancel()
    done, _ = await asyncio.wait({consumer}, timeout=2)
    assert done == {consumer}
    assert consumer.cancelled()


async def test_the_stream_lives_under_the_deployments_key_prefix() -> None:
    client = Redis()
    assert NotificationInbox(client, Keys("cb-prod:")).stream == "cb-prod:notifications"
    assert NotificationInbox(client).stream == Keys().notifications
    await client.aclose()


async def test_one_campaigns_notifications_keep_their_order_while_campaigns_interleave(
    redis: Redis, keys: Keys
) -> None:
    inbox = NotificationInbox(redis, keys)
    await inbox.ensure_group()
    order: list[tuple[str, int]] = []
    first_started = asyncio.Event()

    async def handle(event: DialerNotification) -> None:
        name = event.campaign_ref or f"{event.dialer}:{event.dialer_campaign_id}"
        if name == "c-20261123-aaaa" and event.sequence == 1:
            first_started.set()
            await REAL_SLEEP(0.05)  # slow: the other campaign goes on meanwhile
        else:
            await asyncio.wait_for(first_started.wait(), 1)
        order.append((name, event.sequence))

    for sequence in (1, 2):
        await inbox.publish(notification("c-20261123-aaaa", sequence=sequence))
    by_id = notification("c-20261123-tmp0", sequence=1).model_copy(
        update={"campaign_ref": None, "dialer_campaign_id": "d-9"}
    )
    await inbox.publish(by_id)
    await inbox.publish(notification("c-20261123-bbbb", sequence=1))
    assert await inbox.process("replica-a", handle) == 4
    mine = [sequence for name, sequence in order if name == "c-20261123-aaaa"]
    assert mine == [1, 2]
    # Neither is held up behind the slow campaign.
    assert {order[0], order[1]} == {("simulator:d-9", 1), ("c-20261123-bbbb", 1)}


async def test_a_cancellation_swallowed_by_a_command_that_then_succeeded_ends_the_consumer(
    sleeps: list[float],
) -> None:
    class SucceedsAfterSwallowing(ScriptedInbox):
        async def process(self, consumer: str, handle: Any, **_: Any) -> int:
            self.groups_created += 100  # counts the calls to process
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await REAL_SLEEP(0)  # redis-py retried the command and it answered
            return 1

    inbox = SucceedsAfterSwallowing([])
    consumer = asyncio.create_task(inbox.run("replica-a", Recorder()))
    done, _ = await asyncio.wait({consumer}, timeout=2)
    assert done == {consumer} and consumer.cancelled()
    assert inbox.groups_created == 101  # the group once, process once: no second read


async def test_recovery_is_reported_once_per_outage(sleeps: list[float]) -> None:
    inbox = ScriptedInbox([down(), 1, 1, 0, down(), down(), 1, 1])
    recovered: list[int] = []
    with pytest.raises(asyncio.CancelledError):
        await inbox.run("replica-a", Recorder(), on_recovered=lambda: recovered.append(1))
    assert recovered == [1, 1]
