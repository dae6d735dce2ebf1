"""The dialer proxy behind "nothing was sent to the dialer": it notes every request that asks the
dialer to act, and none of the reads, so the lead is told the truth."""

from __future__ import annotations

from bot.state_unavailable import SentRequests
from dialer.models import NewCampaign
from dialer.simulator import SimulatorDialer, SimulatorKnobs


async def test_requests_through_the_proxy_are_noted_and_reads_are_not() -> None:
    dialer = SimulatorDialer(SimulatorKnobs(start_delay=0.01, tick=0.01))
    try:
        sent = SentRequests(dialer)
        assert sent.name == dialer.name
        await sent.list_campaigns()
        assert sent.sent == []
        await sent.create_campaign(NewCampaign(ref="c-20261130-prox", name="Proxy"))
        await sent.start("c-20261130-prox")
        assert sent.sent == ["create_campaign", "start"]
        assert (await dialer.get_campaign("c-20261130-prox")).ref == "c-20261130-prox"
    finally:
        await dialer.aclose()
