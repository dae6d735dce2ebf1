"""A stop always supersedes a pending start, and a start a pending stop: two leads 150 ms apart
end with the card on the dialer's state and no stale pending request, and each reply names what
was sent (and the request it replaces)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import fakeredis

from bot.bootstrap import Services
from bot.engine import Engine
from bot.settings import Settings
from commands.authz import Authorizer
from commands.handlers.context import Deps, Requester
from commands.handlers.dispatch import handle
from commands.replies import Reply
from commands.requests import StartCampaign, StopCampaign
from dialer.models import NewCampaign
from dialer.simulator import SimulatorDialer, SimulatorKnobs
from state.campaign import (
    START_SETTLE,
    Campaign,
    PendingKind,
    PendingOperation,
    start_in_flight,
    with_stop_sent,
)
from state.domain import CampaignStatus
from state.inbox import NotificationInbox
from state.keys import Keys
from state.store import CampaignStore
from tests.contract.dialer_contract import contacts_for
from tests.state_builders import notification

ANA, BOB = "UANA", "UBOB"


async def no_groups(group_id: str) -> frozenset[str]:
    return frozenset()


@contextlib.asynccontextmanager
async def bot(knobs: SimulatorKnobs) -> AsyncIterator[tuple[Deps, Engine]]:
    redis = fakeredis.FakeAsyncRedis()
    keys = Keys(f"test:{uuid.uuid4().hex[:8]}:")
    dialer = SimulatorDialer(knobs)
    store = CampaignStore(redis, keys)
    services = Services(
        settings=Settings(),
        redis=redis,
        store=store,
        inbox=NotificationInbox(redis, keys, claim_idle=timedelta(milliseconds=200)),
        dialer=dialer,
    )
    engine = Engine(services)
    task = asyncio.create_task(engine.run())
    deps = Deps(
        store=store,
        dialer=dialer,
        authz=Authorizer((ANA, BOB), no_groups),
        clock=lambda: datetime.now(UTC),
    )
    try:
        yield deps, engine
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await dialer.aclose()
        await redis.aclose()


async def create(deps: Deps) -> str:
    ref = await deps.store.issue_ref()
    created = await deps.dialer.create_campaign(NewCampaign(ref=ref, name="Renewals"))
    await deps.store.create(
        Campaign(
            ref=ref,
            name="Renewals",
            dialer=deps.dialer.name,
            dialer_id=created.dialer_id,
            channel_id="C1",
            created_by=ANA,
            created_at=datetime.now(UTC),
        )
    )
    await deps.dialer.add_contacts(ref, contacts_for(ref, 100))
    return ref


async def ask(deps: Deps, engine: Engine, command: StartCampaign | StopCampaign, who: str) -> Reply:
    reply = await handle(command, deps, Requester(who, "C1"))
    if reply.effects:
        await engine.dispatch(reply.effects, reply.campaign)  # as the Slack edge does
    return reply


async def settled(deps: Deps, ref: str) -> Campaign:
    """The stored campaign once it agrees with the dialer and shows no pending request."""
    for _ in range(300):
        stored = await deps.store.require(ref)
        on_dialer = await deps.dialer.get_campaign(ref)
        if stored.pending is None and stored.status is on_dialer.status:
            await asyncio.sleep(0.2)  # and stays so
            again = await deps.store.require(ref)
            if (
                again.pending is None
                and again.status is (await deps.dialer.get_campaign(ref)).status
            ):
                return again
        await asyncio.sleep(0.02)
    raise AssertionError(f"{ref} never settled: {stored.status}, pending {stored.pending}")


async def test_a_stop_150ms_after_a_start_supersedes_it_and_the_card_ends_stopped() -> None:
    knobs = SimulatorKnobs(start_delay=0.4, call_duration=0.2, tick=0.02, notify_delay=0.01)
    async with bot(knobs) as (deps, engine):
        ref = await create(deps)
        started = await ask(deps, engine, StartCampaign(ref=ref), ANA)
        assert "Start of *Renewals*" in (started.text or "")
        await asyncio.sleep(0.15)
        stopped = await ask(deps, engine, StopCampaign(ref=ref), BOB)
        text = stopped.text or ""
        assert "Stop of *Renewals*" in text and "sent to the dialer" in text
        assert f"It replaces the start requested by <@{ANA}>." in text
        assert "nothing changes" not in text
        pending = (await deps.store.require(ref)).pending
        assert pending is not None and pending.kind.value == "stop"  # the latest request only
        final = await settled(deps, ref)
    assert final.status is CampaignStatus.STOPPED and final.pending is None


async def test_a_start_150ms_after_a_stop_supersedes_it_and_the_card_ends_on_the_dialer() -> None:
    knobs = SimulatorKnobs(start_delay=0.05, call_duration=0.1, tick=0.02, notify_delay=0.01)
    async with bot(knobs) as (deps, engine):
        ref = await create(deps)
        await ask(deps, engine, StartCampaign(ref=ref), ANA)
        for _ in range(200):
            if (await deps.store.require(ref)).status is CampaignStatus.RUNNING:
                break
            await asyncio.sleep(0.02)
        await ask(deps, engine, StopCampaign(ref=ref), ANA)
        await asyncio.sleep(0.15)
        restarted = await ask(deps, engine, StartCampaign(ref=ref), BOB)
        text = restarted.text or ""
        if "sent to the dialer" in text:  # the dialer took it (the stop had finished draining)
            assert "Start of *Renewals*" in text
            assert "nothing changes" not in text
        else:  # the dialer refused it while still stopping; the reply says nothing was started
            assert "stopping" in text
        final = await settled(deps, ref)
    assert final.pending is None
    assert final.status in {
        CampaignStatus.RUNNING,
        CampaignStatus.STOPPED,
        CampaignStatus.COMPLETED,
    }


async def test_a_start_while_shown_running_voids_an_earlier_stop_for_the_removal() -> None:
    # The simulator never answers within the test: every notification is the test's own.
    knobs = SimulatorKnobs(start_delay=60, call_duration=60, tick=0.02, notify_delay=60)
    async with bot(knobs) as (deps, engine):
        ref = await create(deps)
        stop_sent = datetime.now(UTC)
        await deps.store.update(
            ref, lambda c: (with_stop_sent(c, stop_sent), ()), actor=BOB, action="request:stop"
        )
        later = stop_sent + timedelta(seconds=1)
        await deps.store.apply_notification(
            notification(ref, status=CampaignStatus.RUNNING, sequence=1, occurred_at=later)
        )
        # Shown running with no request pending: the start is sent all the same...
        reply = await ask(deps, engine, StartCampaign(ref=ref), ANA)
        assert "already running; nothing changes" in (reply.text or "")
        # ...so the stopped that the earlier stop brings is no longer a report of the stop.
        await deps.store.apply_notification(
            notification(
                ref, status=CampaignStatus.STOPPED, sequence=2, occurred_at=later + timedelta(1)
            )
        )
        stored = await deps.store.require(ref)
    assert stored.status is CampaignStatus.STOPPED
    assert not stored.stop_reported  # an approval now stops it before any delete


def test_a_read_right_after_a_start_does_not_count_until_the_start_has_had_time_to_show() -> None:
    now = datetime.now(UTC)
    base = Campaign(
        ref="c-20261130-abcd",
        name="Renewals",
        dialer="simulator",
        channel_id="C1",
        created_by=ANA,
        created_at=now,
    )
    started = base.model_copy(
        update={
            "pending": PendingOperation(kind=PendingKind.START, requested_by=ANA, requested_at=now)
        }
    )
    stopping = started.model_copy(
        update={
            "pending": PendingOperation(kind=PendingKind.STOP, requested_by=BOB, requested_at=now)
        }
    )
    assert start_in_flight(started, now + timedelta(seconds=59))
    assert not start_in_flight(started, now + START_SETTLE)  # it is not coming
    assert not start_in_flight(stopping, now)  # a stop superseded it
    assert not start_in_flight(base, now)
