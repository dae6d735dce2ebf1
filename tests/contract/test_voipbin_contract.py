"""The dialer contract against the VoIPBIN adapter and the spec-checked VoIPBIN stand-in.

The stand-in's webhooks travel over real HTTP to a receiver that calls ``receive_webhook``, as
the bot's ``POST /dialer/voipbin/events`` route does, and end in ``harness.notifications.sink``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import fakeredis
import pytest

from dialer.voipbin import VoipbinDialer, VoipbinSettings
from tests.contract.dialer_contract import Capabilities, ContractHarness, DialerContract
from tests.standins.server import webhook_receiver_app
from tests.standins.voipbin import VoipbinStandin, serving

SECRET = "contract-webhook-secret"


class TestVoipbinContract(DialerContract):
    @pytest.fixture
    async def harness(self) -> AsyncIterator[ContractHarness]:
        redis = fakeredis.FakeAsyncRedis()
        async with VoipbinStandin(webhook_secret=SECRET) as standin:
            settings = VoipbinSettings(
                api_url=standin.api_url,
                accesskey=standin.accesskey,
                webhook_secret=SECRET,
                requests_per_second=500,
                caller_id="+14155550100",
                greeting="Hello from the contract suite.",
            )
            dialer = VoipbinDialer(settings, redis, key_prefix="contract:")
            # VoIPBIN has no "completed": an exhausted campaign reports stop, i.e. stopped.
            harness = ContractHarness(dialer=dialer, capabilities=Capabilities())
            receiver = webhook_receiver_app("voipbin", dialer, harness.notifications.sink)
            async with serving(receiver) as receiver_url:
                standin.webhook_url = f"{receiver_url}/dialer/voipbin/events"
                yield harness
                await standin.quiesce()
            await dialer.aclose()
            await redis.aclose()
            standin.assert_clean()
            assert all(d.status_code == 200 for d in standin.deliveries), standin.deliveries
