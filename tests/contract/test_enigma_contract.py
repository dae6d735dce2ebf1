"""The dialer contract, run against the Enigma adapter and the local Enigma stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

from dialer.enigma import EnigmaDialer, EnigmaSettings
from tests.conftest import REAL_REDIS_URL
from tests.contract.dialer_contract import Capabilities, ContractHarness, DialerContract
from tests.standins.enigma import running_enigma

pytestmark = pytest.mark.redis


class TestEnigmaContract(DialerContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[ContractHarness]:  # type: ignore[override]
        prefix = f"test:{uuid.uuid4().hex[:10]}:enigma:notifications:"
        async with running_enigma(REAL_REDIS_URL, prefix) as standin:
            dialer = EnigmaDialer(
                EnigmaSettings(api_url=standin.url, redis_url=REAL_REDIS_URL, channel_prefix=prefix)
            )
            harness = ContractHarness(
                dialer,
                # Enigma publishes no deletion, settings or agents packets: the adapter confirms
                # those itself once Enigma has accepted the request.
                capabilities=Capabilities(),
            )
            listener = asyncio.create_task(dialer.run_notifications(harness.notifications.sink))
            await asyncio.wait_for(dialer.wait_listening(), 5)
            try:
                yield harness
            finally:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
                await dialer.aclose()
