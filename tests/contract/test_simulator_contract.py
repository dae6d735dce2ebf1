from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from dialer.simulator import SimulatorDialer, SimulatorKnobs
from tests.contract.dialer_contract import ContractHarness, DialerContract

FAST = SimulatorKnobs(start_delay=0.05, call_duration=0.2, tick=0.02, notify_delay=0.01)


class TestSimulatorContract(DialerContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[ContractHarness]:
        dialer = SimulatorDialer(FAST)
        harness = ContractHarness(dialer=dialer)
        delivery = asyncio.create_task(dialer.run_notifications(harness.notifications.sink))
        yield harness
        delivery.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await delivery
        await dialer.aclose()
