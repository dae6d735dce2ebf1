"""The notification path end to end: simulator -> inbox -> store -> effects, and the sweeper."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.bootstrap import Services
from bot.engine import Engine
from bot.settings import Settings
from dialer.models import NewCampaign
from dialer.simulator import SimulatorDialer, SimulatorKnobs
from state.campaign import Campaign, PendingKind, PendingOperation
from state.domain import CampaignStatus
from state.effects import Effect, StatusAlert
from state.inbox import NotificationInbox
from state.keys import Keys
from state.removal import approve_removal, request_removal
from state.store import CampaignStore
from tests.contract.dialer_contract import contacts_for

KNOBS = SimulatorKnobs(start_delay=0.05, call_duration=0.2, tick=0.02, notify_delay=0.01)


class AlertLog:
    def __init__(self) -> None:
        self.effects: list[Effect] = []

    async def __call__(self, effect: Effect, campaign: Campaign | None) -> None:
        self.effects.append(effect)

    async def wait_for(self, effect: Effect, timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while effect not in self.effects:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{effect} never reached the alerts: {self.effects}")
            await asyncio.sleep(0.01)


@pytest.fixture
async def services(redis: Redis, keys: Keys) -> AsyncIterator[Services]:
    dialer = SimulatorDialer(KNOBS)
    yield Services(
        settings=Settings(),
        redis=redis,
        store=CampaignStore(redis, keys),
        inbox=NotificationInbox(redis, keys, claim_idle=timedelta(milliseconds=200)),
        dialer=dialer,
    )
    await dialer.aclose()


@contextlib.asynccontextmanager
async def running(engine: Engine) -> AsyncIterator[None]:
    task = asyncio.create_task(engine.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def create(services: Services, contacts: int = 200) -> Campaign:
    ref = await services.store.issue_ref()
    created = await services.dialer.create_campaign(NewCampaign(ref=ref, name="Winter renewals"))
    campaign = Campaign(
        ref=ref,
        name="Winter renewals",
        dialer=services.dialer.name,
        dialer_id=created.dialer_id,
        channel_id="C0CAMPAIGN",
        created_by="U0ANA",
        created_at=datetime.now(UTC),
    )
    await services.store.create(campaign)
    for start in range(1, contacts + 1, 100):
        batch = contacts_for(ref, min(100, contacts - start + 1), start=start)
        await services.dialer.add_contacts(ref, batch)
    return campaign


async def wait_for_status(store: CampaignStore, ref: str, status: CampaignStatus) -> Campaign:
    for _ in range(200):
        current = await store.require(ref)
        if current.status is status:
            return current
        await asyncio.sleep(0.02)
    raise AssertionError(f"{ref} never became {status}; it is {current.status}")


async def test_a_started_campaign_becomes_running_only_through_its_notification(
    services: Services,
) -> None:
    alerts = AlertLog()
    engine = Engine(services, alerts)
    campaign = await create(services)
    async with running(engine):
        await services.dialer.start(campaign.ref)
        pending = PendingOperation(
            kind=PendingKind.START, requested_by="U0ANA", requested_at=datetime.now(UTC)
        )
        recorded = await services.store.record_request(campaign.ref, pending)
        assert recorded.status is CampaignStatus.STOPPED
        current = await wait_for_status(services.store, campaign.ref, CampaignStatus.RUNNING)
        # The alert is handed on just after the status is stored: wait for it, not past it.
        await alerts.wait_for(
            StatusAlert(campaign.ref, CampaignStatus.STOPPED, CampaignStatus.RUNNING)
        )
    assert current.pending is None


async def test_an_approved_removal_stops_waits_for_stopped_then_deletes(services: Services) -> None:
    alerts = AlertLog()
    forgotten: list[str] = []

    async def forget(ref: str) -> None:
        forgotten.append(ref)

    engine = Engine(services, alerts, on_deleted=forget)
    store = services.store
    campaign = await create(services)
    async with running(engine):
        await services.dialer.start(campaign.ref)
        await wait_for_status(store, campaign.ref, CampaignStatus.RUNNING)
        now = datetime.now(UTC)
        await store.update(
            campaign.ref, lambda c: request_removal(c, "U0ANA", now), actor="U0ANA", action="remove"
        )
        _, effects = await store.update(
            campaign.ref,
            lambda c: approve_removal(c, "U0BEN", now),
            actor="U0BEN",
            action="approve",
        )
        await engine.dispatch(effects, None)
        await wait_for_status(store, campaign.ref, CampaignStatus.DELETED)
        # The deletion's alert is handed over once its notification's transaction is done.
        for _ in range(200):
            if forgotten:
                break
            await asyncio.sleep(0.02)
    statuses = [e.current for e in alerts.effects if isinstance(e, StatusAlert)]
    assert statuses == [
        CampaignStatus.RUNNING,
        CampaignStatus.STOPPING,
        CampaignStatus.STOPPED,
        CampaignStatus.DELETED,
    ]
    assert await services.dialer.list_campaigns() == []
    assert forgotten == [campaign.ref]


async def test_a_removal_interrupted_before_its_stop_was_sent_is_resumed_by_the_sweeper(
    services: Services,
) -> None:
    store = services.store
    campaign = await create(services)
    first = Engine(services, AlertLog(), sweep_interval=timedelta(milliseconds=100))
    async with running(first):
        await services.dialer.start(campaign.ref)
        await wait_for_status(store, campaign.ref, CampaignStatus.RUNNING)
    # Approved, then the bot died before dispatching the stop.
    earlier = datetime.now(UTC) - timedelta(minutes=5)
    await store.update(
        campaign.ref, lambda c: request_removal(c, "U0ANA", earlier), actor="U0ANA", action="rm"
    )
    await store.update(
        campaign.ref, lambda c: approve_removal(c, "U0BEN", earlier), actor="U0BEN", action="ok"
    )
    restarted = Engine(services, AlertLog(), sweep_interval=timedelta(milliseconds=100))
    async with running(restarted):
        await wait_for_status(store, campaign.ref, CampaignStatus.DELETED)


async def test_two_replicas_sweeping_at_once_send_the_follow_up_once(services: Services) -> None:
    store = services.store
    campaign = await create(services, contacts=0)
    earlier = datetime.now(UTC) - timedelta(minutes=5)
    await store.update(
        campaign.ref, lambda c: request_removal(c, "U0ANA", earlier), actor="U0ANA", action="rm"
    )
    await store.update(
        campaign.ref, lambda c: approve_removal(c, "U0BEN", earlier), actor="U0BEN", action="ok"
    )
    replicas = [Engine(services, AlertLog(), consumer=f"replica-{n}") for n in range(2)]
    sent = await asyncio.gather(*(replica.sweep_removals() for replica in replicas))
    assert sorted(sent) == [0, 1]
