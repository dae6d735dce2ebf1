"""The dialer contract, run against the LiveVox adapter and a local LiveVox over real HTTP.

Notifications come from the adapter's poller (LiveVox pushes nothing), which holds its lease on
the real Redis, under a prefix of the test's own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from dialer.livevox import LiveVoxDialer
from dialer.registry import AdapterContext
from tests.contract.dialer_contract import Capabilities, ContractHarness, DialerContract
from tests.standins.livevox import LiveVoxKnobs, LiveVoxStandin, adapter_settings, scratch_redis

# LiveVox has no "pausing" state, does not check account numbers for repeats, and staffs campaigns
# through its services, not per campaign. A delete (STOP) and a settings change are seen by polling.
LIVEVOX_CAPABILITIES = Capabilities(
    reports_stopping=False,
    rejects_duplicate_contacts=False,
    notifies_deletion=True,
    reports_settings=True,
    reports_agents=False,
)
KNOBS = LiveVoxKnobs(dial_tick=0.1, append_window_seconds=1.0)


@pytest.mark.redis
class TestLiveVoxContract(DialerContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[ContractHarness]:
        standin = LiveVoxStandin(KNOBS)
        async with standin.running() as url, scratch_redis() as (redis, prefix):
            dialer = LiveVoxDialer(
                adapter_settings(url, KNOBS), AdapterContext(redis=redis, key_prefix=prefix)
            )
            harness = ContractHarness(dialer=dialer, capabilities=LIVEVOX_CAPABILITIES)
            polling = asyncio.create_task(dialer.run_notifications(harness.notifications.sink))
            try:
                yield harness
            finally:
                polling.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await polling
                await dialer.aclose()
