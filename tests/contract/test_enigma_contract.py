"""The dialer contract, run against the Enigma adapter and the local Enigma stand-in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from tests.conftest import REAL_REDIS_URL
from tests.contract.collector import NotificationCollector
from tests.contract.dialer_contract import Capabilities, ContractHarness, DialerContract
from tests.standins.enigma import listening_adapter, running_enigma

pytestmark = pytest.mark.redis


class TestEnigmaContract(DialerContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[ContractHarness]:
        prefix = f"test:{uuid.uuid4().hex[:10]}:enigma:notifications:"
        collector = NotificationCollector()
        async with (
            running_enigma(REAL_REDIS_URL, prefix) as standin,
            listening_adapter(standin, collector.sink) as dialer,
        ):
            # Enigma publishes no deletion, settings or agents packets. The adapter emits the
            # settings it had accepted and the agents it read back, each marked with that source;
            # a deletion it does not emit (the engine records it as "request accepted").
            yield ContractHarness(dialer, collector, Capabilities(notifies_deletion=False))
