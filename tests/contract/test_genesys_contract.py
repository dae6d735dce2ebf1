"""The dialer contract, run against the Genesys OCS adapter and a local OCS over real HTTP.

The local OCS POSTs its campaign-group messages to a local receiver that hands them to the
adapter's ``receive_webhook``, as the bot's HTTP edge does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fakeredis import FakeAsyncRedis

from dialer.genesys import GenesysDialer, GenesysSettings
from dialer.registry import AdapterContext
from tests.contract.dialer_contract import Capabilities, ContractHarness, DialerContract
from tests.standins.genesys import OcsStandin, group_settings, standard_groups
from tests.standins.server import serve_locally, webhook_receiver_app

# StopDialing takes a group straight from Running to InActive; OCS knows nothing of contact refs;
# agents come from the group's configured agent group.
GENESYS_CAPABILITIES = Capabilities(
    reports_stopping=False,
    rejects_duplicate_contacts=False,
    notifies_deletion=True,
    reports_settings=True,
    reports_agents=False,
)


class TestGenesysContract(DialerContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[ContractHarness]:
        groups = standard_groups()
        ocs = OcsStandin(groups)
        redis = FakeAsyncRedis()
        async with ocs.running() as ocs_url:
            settings = GenesysSettings(ocs_url=ocs_url, campaign_groups=group_settings(groups))
            dialer = GenesysDialer(settings, AdapterContext(redis=redis, key_prefix="test:"))
            harness = ContractHarness(dialer=dialer, capabilities=GENESYS_CAPABILITIES)
            receiver = webhook_receiver_app("genesys", dialer, harness.notifications.sink)
            async with serve_locally(receiver) as bot_url:
                ocs.notify_url = f"{bot_url}/dialer/genesys/events"
                try:
                    yield harness
                finally:
                    await dialer.aclose()
                    await redis.aclose()
