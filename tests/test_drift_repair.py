"""Drift detection and repair: the reconciler runs periodically (one replica at a time) and after
a dialer outage; a status changed on the dialer without a notification gets one warning in the
channel and is corrected once a second read agrees; a removal whose stopped notification was
lost finishes, because its stop was sent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest

from bot.bootstrap import Services
from bot.engine import Engine
from bot.metered import MeteredDialer
from bot.metrics import Metrics
from bot.reconcile import Reconciler
from bot.settings import Settings
from bot.webhook_buffer import NotificationBuffer
from dialer.errors import DialerUnavailable
from dialer.models import DialerCampaign, NewCampaign
from dialer.simulator import SimulatorDialer, SimulatorKnobs
from state.campaign import Campaign
from state.domain import CampaignStatus, DialerNotification, NotificationSource
from state.effects import Effect
from state.inbox import NotificationInbox
from state.keys import Keys
from state.removal import approve_removal, request_removal
from state.store import CampaignStore
from tests.contract.dialer_contract import contacts_for
from tests.test_removal_per_dialer import wait_for

INTERVAL = 0.3
KNOBS = SimulatorKnobs(start_delay=0.05, call_duration=0.3, tick=0.02, notify_delay=0.01)


class MutedSimulator(SimulatorDialer):
    """The simulator, with the notifications of the statuses in ``muted`` lost on the way."""

    def __init__(self) -> None:
        super().__init__(KNOBS)
        self.muted: set[CampaignStatus] = set()
        self.down = False

    async def _deliver(self, notification: DialerNotification, delay: float, copies: int) -> None:
        if notification.status in self.muted:
            return
        await super()._deliver(notification, delay, copies)

    async def list_campaigns(self) -> list[DialerCampaign]:
        if self.down:
            raise DialerUnavailable("the dialer is down", dialer=self.name)
        return await super().list_campaigns()

    def change_silently(self, ref: str, status: CampaignStatus) -> None:
        self._find(ref).status = status  # what a dialer does when its notification is lost


class Warnings:
    def __init__(self) -> None:
        self.posted: list[tuple[str, str]] = []

    async def __call__(self, campaign: Campaign, text: str) -> None:
        self.posted.append((campaign.ref, text))


@contextlib.asynccontextmanager
async def bot(
    interval: float = INTERVAL,
) -> AsyncIterator[tuple[Services, MutedSimulator, Engine, Warnings]]:
    redis = fakeredis.FakeAsyncRedis()
    keys = Keys("test:drift:")
    dialer = MutedSimulator()
    metrics = Metrics()
    services = Services(
        settings=Settings(reconcile_interval_seconds=interval),
        redis=redis,
        store=CampaignStore(redis, keys),
        inbox=NotificationInbox(redis, keys, claim_idle=timedelta(milliseconds=200)),
        dialer=MeteredDialer(dialer, metrics),
        metrics=metrics,
    )
    warnings = Warnings()
    engine = Engine(services, sweep_interval=timedelta(seconds=30), warn=warnings)
    task = asyncio.create_task(engine.run())
    try:
        yield services, dialer, engine, warnings
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await dialer.aclose()
        await redis.aclose()


async def create(services: Services) -> Campaign:
    ref = await services.store.issue_ref()
    created = await services.dialer.create_campaign(NewCampaign(ref=ref, name="Spring promo"))
    campaign = Campaign(
        ref=ref,
        name="Spring promo",
        dialer=services.dialer.name,
        dialer_id=created.dialer_id,
        channel_id="C0CAMPAIGN",
        created_by="U0ANA",
        created_at=datetime.now(UTC),
    )
    await services.store.create(campaign)
    await services.dialer.add_contacts(ref, contacts_for(ref, 100))
    return campaign


async def test_a_silent_status_change_is_warned_once_and_corrected_within_two_intervals() -> None:
    async with bot() as (services, dialer, _, warnings):
        campaign = await create(services)
        dialer.change_silently(campaign.ref, CampaignStatus.RUNNING)
        changed_at = asyncio.get_running_loop().time()
        corrected = await wait_for(services.store, campaign.ref, CampaignStatus.RUNNING)
        assert asyncio.get_running_loop().time() - changed_at <= 2 * INTERVAL + 0.3
        assert corrected.status_source is NotificationSource.RECONCILIATION
        await asyncio.sleep(3 * INTERVAL)  # further rounds: nothing more to say
    assert warnings.posted == [
        (
            campaign.ref,
            f":warning: *Spring promo* `{campaign.ref}`: the dialer reports *running*; no "
            "notification arrived (the bot shows stopped). The status is corrected if a second "
            "read agrees.",
        )
    ]
    actions = [
        e["action"] for e in await services.store.audit_entries() if e["ref"] == campaign.ref
    ]
    assert actions.count("reconciliation:applied") == 1


async def test_a_removal_waiting_on_a_lost_stopped_notification_finishes() -> None:
    async with bot() as (services, dialer, engine, warnings):
        campaign = await create(services)
        await services.dialer.start(campaign.ref)
        await wait_for(services.store, campaign.ref, CampaignStatus.RUNNING)
        dialer.muted = {CampaignStatus.STOPPED}  # the stopped notification will be lost
        now = datetime.now(UTC)

        def ask(c: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
            return request_removal(c, "U0ANA", now)

        def approve(c: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
            return approve_removal(c, "U0BEN", now)

        await services.store.update(campaign.ref, ask, actor="U0ANA", action="removal:request")
        approved, effects = await services.store.update(
            campaign.ref, approve, actor="U0BEN", action="removal:approve"
        )
        await engine.dispatch(effects, approved)
        await wait_for(services.store, campaign.ref, CampaignStatus.DELETED)
    assert [ref for ref, _ in warnings.posted] == [campaign.ref]
    assert "reports *stopped*" in warnings.posted[0][1]


async def test_the_periodic_pass_runs_on_one_replica_at_a_time() -> None:
    async with bot(interval=30) as (services, _, engine, _):
        other = Reconciler(services, NotificationBuffer(services.inbox, services.metrics))
        assert await engine.reconciler._take_turn() is True
        assert await other._take_turn() is False


async def test_a_dialer_back_after_an_outage_is_reconciled_at_once() -> None:
    async with bot(interval=30) as (services, dialer, _, warnings):
        campaign = await create(services)
        dialer.down = True
        with pytest.raises(DialerUnavailable):
            await services.dialer.list_campaigns()
        dialer.change_silently(campaign.ref, CampaignStatus.RUNNING)
        dialer.down = False
        await services.dialer.list_campaigns()  # the first answer after the outage
        corrected = await wait_for(services.store, campaign.ref, CampaignStatus.RUNNING)
    assert corrected.status_source is NotificationSource.RECONCILIATION
    assert len(warnings.posted) == 1
