"""The notification stream: durable, applied once, abandoned entries claimed by another consumer."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from state.domain import CampaignStatus, DialerNotification
from state.inbox import FIELD, NotificationInbox
from state.keys import Keys
from tests.state_builders import notification


@pytest.fixture
async def inbox(redis: Redis, keys: Keys) -> NotificationInbox:
    box = NotificationInbox(redis, keys, claim_idle=timedelta(milliseconds=50))
    await box.ensure_group()
    return box


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.handled: list[DialerNotification] = []
        self.fail = fail

    async def __call__(self, notification: DialerNotification) -> None:
        if self.fail:
            raise RuntimeError("handler broke")
        self.handled.append(notification)


async def pending_count(inbox: NotificationInbox) -> int:
    summary = await inbox.redis.xpending(inbox.stream, inbox.group)
    return int(summary["pending"])


async def test_published_notifications_are_handled_in_order_and_acknowledged(
    inbox: NotificationInbox,
) -> None:
    events = [notification(status=CampaignStatus.RUNNING, sequence=n) for n in range(1, 6)]
    for event in events:
        await inbox.publish(event)
    recorder = Recorder()
    assert await inbox.process("replica-a", recorder) == 5
    assert recorder.handled == events
    assert await pending_count(inbox) == 0


async def test_entries_a_dead_consumer_left_behind_are_claimed_by_another(
    inbox: NotificationInbox,
) -> None:
    event = notification(status=CampaignStatus.STOPPED)
    await inbox.publish(event)
    # replica-a reads the entry and dies before acknowledging it.
    await inbox.redis.xreadgroup(inbox.group, "replica-a", {inbox.stream: ">"}, count=10)
    assert await pending_count(inbox) == 1
    await asyncio.sleep(0.1)
    recorder = Recorder()
    assert await inbox.process("replica-b", recorder) == 1
    assert recorder.handled == [event]
    assert await pending_count(inbox) == 0


async def test_two_consumers_share_the_stream_without_handling_an_entry_twice(
    inbox: NotificationInbox,
) -> None:
    for n in range(1, 41):
        await inbox.publish(
            notification(status=CampaignStatus.RUNNING, sequence=n, event_id=f"e{n}")
        )
    first, second = Recorder(), Recorder()
    await asyncio.gather(
        inbox.process("replica-a", first, count=20), inbox.process("replica-b", second, count=20)
    )
    while await inbox.process("replica-a", first) or await inbox.process("replica-b", second):
        pass
    ids = [n.event_id for n in first.handled + second.handled]
    assert sorted(ids) == sorted(f"e{n}" for n in range(1, 41))


async def test_a_failing_handler_leaves_the_entry_pending_for_a_retry(
    inbox: NotificationInbox,
) -> None:
    event = notification(status=CampaignStatus.RUNNING)
    await inbox.publish(event)
    assert await inbox.process("replica-a", Recorder(fail=True)) == 0
    assert await pending_count(inbox) == 1
    await asyncio.sleep(0.1)
    recorder = Recorder()
    assert await inbox.process("replica-a", recorder) == 1
    assert recorder.handled == [event]


async def test_an_unreadable_entry_is_dropped_not_retried_forever(inbox: NotificationInbox) -> None:
    await inbox.redis.xadd(inbox.stream, {FIELD: b"{not json"})
    await inbox.publish(notification(status=CampaignStatus.RUNNING))
    recorder = Recorder()
    assert await inbox.process("replica-a", recorder) == 1
    assert await pending_count(inbox) == 0


async def test_creating_the_group_twice_is_harmless(inbox: NotificationInbox) -> None:
    await inbox.ensure_group()


async def test_cancelling_a_consumer_ends_it_even_mid_read(inbox: NotificationInbox) -> None:
    for _ in range(20):
        consumer = asyncio.create_task(inbox.run("replica-a", Recorder(), block_ms=200))
        await asyncio.sleep(0.05)
        consumer.cancel()
        done, _ = await asyncio.wait({consumer}, timeout=2)
        assert done == {consumer}
