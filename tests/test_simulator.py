"""The simulator behaves like a dialer: asynchronous, paced by aggression, with fault knobs."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from dialer.errors import DialerUnavailable, DuplicateContact
from dialer.simulator import SimulatorDialer, SimulatorKnobs, lines_for
from state.domain import CampaignSettings, CampaignStatus, EndHandle, NotificationKind
from tests.contract.collector import NotificationCollector
from tests.contract.dialer_contract import contacts_for, new_campaign

FAST = {"start_delay": 0.05, "call_duration": 0.1, "tick": 0.02, "notify_delay": 0.01}


def fast(**overrides: float) -> SimulatorKnobs:
    return SimulatorKnobs.model_validate({**FAST, **overrides})


@contextlib.asynccontextmanager
async def delivering(
    knobs: SimulatorKnobs,
) -> AsyncIterator[tuple[SimulatorDialer, NotificationCollector]]:
    """A simulator whose notifications reach a collector, for the duration of the block."""
    dialer = SimulatorDialer(knobs)
    collector = NotificationCollector()
    delivery = asyncio.create_task(dialer.run_notifications(collector.sink))
    try:
        yield dialer, collector
    finally:
        delivery.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await delivery
        await dialer.aclose()


@pytest.fixture
async def running_simulator() -> AsyncIterator[tuple[SimulatorDialer, NotificationCollector]]:
    async with delivering(fast()) as pair:
        yield pair


async def started(
    dialer: SimulatorDialer, contacts: int, settings: CampaignSettings | None = None
) -> str:
    """A campaign with ``contacts`` leads, asked to start; returns its ref."""
    spec = new_campaign(settings=settings or CampaignSettings())
    await dialer.create_campaign(spec)
    await dialer.add_contacts(spec.ref, contacts_for(spec.ref, contacts))
    await dialer.start(spec.ref)
    return spec.ref


async def test_requests_return_before_the_status_changes(
    running_simulator: tuple[SimulatorDialer, NotificationCollector],
) -> None:
    dialer, collector = running_simulator
    ref = await started(dialer, contacts=5)
    assert (await dialer.get_campaign(ref)).status is CampaignStatus.STOPPED
    assert collector.statuses_of(ref) == []
    await collector.wait_for_status(ref, CampaignStatus.RUNNING)


async def test_campaign_completes_when_its_contacts_are_exhausted(
    running_simulator: tuple[SimulatorDialer, NotificationCollector],
) -> None:
    dialer, collector = running_simulator
    ref = await started(dialer, contacts=4)
    await collector.wait_for_status(ref, CampaignStatus.COMPLETED)
    counters = (await dialer.get_campaign(ref)).counters
    assert counters["dialled"] == 4 and counters["completed"] == 4


async def test_end_handle_continue_keeps_an_exhausted_campaign_running(
    running_simulator: tuple[SimulatorDialer, NotificationCollector],
) -> None:
    dialer, collector = running_simulator
    ref = await started(dialer, 2, CampaignSettings(end_handle=EndHandle.CONTINUE))
    await collector.wait_for_status(ref, CampaignStatus.RUNNING)
    await asyncio.sleep(0.4)
    assert (await dialer.get_campaign(ref)).status is CampaignStatus.RUNNING
    assert CampaignStatus.COMPLETED not in collector.statuses_of(ref)


async def test_stop_waits_for_active_calls_to_drain(
    running_simulator: tuple[SimulatorDialer, NotificationCollector],
) -> None:
    dialer, collector = running_simulator
    ref = await started(dialer, contacts=100)
    await collector.wait_for_status(ref, CampaignStatus.RUNNING)
    await asyncio.sleep(0.05)
    assert (await dialer.get_campaign(ref)).counters["active"] > 0
    await dialer.stop(ref)
    assert (await dialer.get_campaign(ref)).status is CampaignStatus.STOPPING
    await collector.wait_for_status(ref, CampaignStatus.STOPPED)
    assert (await dialer.get_campaign(ref)).counters["active"] == 0
    assert collector.statuses_of(ref) == [
        CampaignStatus.RUNNING,
        CampaignStatus.STOPPING,
        CampaignStatus.STOPPED,
    ]


def test_higher_aggression_dials_more_lines_per_agent() -> None:
    assert lines_for(1, 3) == 3
    assert lines_for(100, 3) == 15
    assert [lines_for(a, 2) for a in (1, 25, 50, 75, 100)] == sorted(
        lines_for(a, 2) for a in (1, 25, 50, 75, 100)
    )
    assert lines_for(50, 0) >= 1


async def test_a_contact_ref_used_in_another_campaign_is_refused() -> None:
    dialer = SimulatorDialer(fast())
    first, second = new_campaign(), new_campaign()
    await dialer.create_campaign(first)
    await dialer.create_campaign(second)
    await dialer.add_contacts(first.ref, contacts_for(first.ref, 2))
    with pytest.raises(DuplicateContact):
        await dialer.add_contacts(second.ref, contacts_for(first.ref, 1))
    assert (await dialer.get_campaign(second.ref)).counters["uploaded"] == 0


async def test_a_batch_repeating_a_ref_is_refused_whole() -> None:
    dialer = SimulatorDialer(fast())
    spec = new_campaign()
    await dialer.create_campaign(spec)
    batch = contacts_for(spec.ref, 2) + contacts_for(spec.ref, 1)
    with pytest.raises(DuplicateContact):
        await dialer.add_contacts(spec.ref, batch)
    assert (await dialer.get_campaign(spec.ref)).counters["uploaded"] == 0


async def test_duplicate_knob_delivers_notifications_twice() -> None:
    async with delivering(fast(duplicate_rate=1.0, seed=1)) as (dialer, collector):
        spec = new_campaign()
        await dialer.create_campaign(spec)
        await dialer.update_settings(spec.ref, CampaignSettings(aggression=80))
        await collector.wait_for(lambda n: n.kind is NotificationKind.SETTINGS)
        await asyncio.sleep(0.05)
    ids = [n.event_id for n in collector.received]
    assert len(ids) == 2 and ids[0] == ids[1]


async def test_reorder_knob_delivers_an_older_notification_after_a_newer_one() -> None:
    async with delivering(fast(reorder_rate=0.5, seed=7)) as (dialer, collector):
        spec = new_campaign()
        await dialer.create_campaign(spec)
        for aggression in range(10, 30):
            await dialer.update_settings(spec.ref, CampaignSettings(aggression=aggression))
        await asyncio.sleep(0.3)
    sequences = [n.sequence for n in collector.received]
    assert len(sequences) == 20
    assert sequences != sorted(sequences)


async def test_failure_knob_fails_requests_without_applying_them() -> None:
    dialer = SimulatorDialer(fast(failure_rate=1.0))
    with pytest.raises(DialerUnavailable):
        await dialer.create_campaign(new_campaign())
    dialer.knobs = fast()
    assert await dialer.list_campaigns() == []
