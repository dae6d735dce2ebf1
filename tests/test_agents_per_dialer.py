"""Agents on every dialer, or the dialer's declared capability: VoIPBIN assigns them by its queue's
tags and confirms by reading them back (shown on the card, removable, and seen by the warning about
two running campaigns); LiveVox and Genesys take none through their APIs, so nothing is sent and
the card, the view and the reply say where agents are assigned. Statistics on the card per dialer.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import fakeredis
import pytest

from commands.authz import Authorizer
from commands.handlers.context import Deps, Requester
from commands.handlers.create import create_campaign
from commands.handlers.dispatch import handle
from commands.requests import AddAgents, RemoveAgents
from commands.views import ids
from commands.views.campaign import facts, render_card
from commands.views.forms import NewCampaignForm
from commands.views.modals import campaign_modal
from dialer.models import DialerCampaign, NewCampaign
from dialer.simulator import SimulatorDialer
from dialer.voipbin import VoipbinDialer, VoipbinSettings
from state.campaign import Campaign
from state.domain import (
    AgentAssignment,
    AgentDefaultState,
    CampaignSettings,
    CampaignStatus,
    DialerNotification,
    NotificationKind,
)
from state.keys import Keys
from state.store import CampaignStore
from tests.contract.dialer_contract import contacts_for
from tests.standins.server import webhook_receiver_app
from tests.standins.voipbin import VoipbinStandin, serving

ANA, BOB = "U0ANA", "U0BOB"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def no_groups(group_id: str) -> frozenset[str]:
    return frozenset()


class ElsewhereDialer(SimulatorDialer):
    """The simulator under the name of a dialer whose agents are managed in its own console;
    it records every agents request (there must be none)."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.agent_calls: list[str] = []
        self.created: list[NewCampaign] = []

    async def create_campaign(self, campaign: NewCampaign) -> DialerCampaign:
        self.created.append(campaign)
        return await super().create_campaign(campaign)

    async def add_agents(self, ref: str, agent_ids: Sequence[str]) -> None:
        self.agent_calls.append("add")

    async def remove_agents(self, ref: str, agent_ids: Sequence[str]) -> None:
        self.agent_calls.append("remove")

    async def set_agent_default_state(self, ref: str, state: AgentDefaultState) -> None:
        self.agent_calls.append("default")


def store_for(redis: fakeredis.FakeAsyncRedis) -> CampaignStore:
    return CampaignStore(redis, Keys(f"test:{uuid.uuid4().hex[:8]}:"), clock=lambda: NOW)


def form(name: str, agents: tuple[str, ...] = ()) -> NewCampaignForm:
    return NewCampaignForm(
        name=name,
        detail="",
        settings=CampaignSettings(),
        agents=tuple(AgentAssignment(agent_id=a) for a in agents),
        leads_file_id="F1",
    )


@pytest.mark.parametrize(
    ("dialer_name", "where"),
    [("livevox", "LiveVox's console"), ("genesys", "Genesys Administrator")],
)
async def test_a_dialer_without_agents_in_its_api_is_sent_none_and_says_where(
    dialer_name: str, where: str
) -> None:
    redis = fakeredis.FakeAsyncRedis()
    dialer = ElsewhereDialer(dialer_name)
    deps = Deps(store_for(redis), dialer, Authorizer((ANA, BOB), no_groups), lambda: NOW)
    try:
        created = await create_campaign(
            deps, Requester(ANA, "C1"), form("Renewals", ("1001",)), "C1"
        )
        assert created.campaign is not None
        ref = created.campaign.ref
        assert where in created.text and "not sent" in created.text
        assert dialer.created[0].agents == () and created.campaign.agents == ()
        for command in (
            AddAgents(ref=ref, agent_ids=("1001",)),
            RemoveAgents(ref=ref, agent_ids=("1001",)),
        ):
            reply = await handle(command, deps, Requester(ANA))
            assert where in reply.text and "Nothing was sent" in reply.text
            assert "Sent to the dialer" not in reply.text
        assert dialer.agent_calls == []
        stored = await deps.store.require(ref)
        assert stored.pending is None
        _, blocks = render_card(stored, NOW)
        assert where in str(blocks)
        modal = campaign_modal(stored, {}, NOW)
        assert where in str(modal)
        assert ids.AGENTS not in {b.get("block_id") for b in modal["blocks"]}
    finally:
        await dialer.aclose()
        await redis.aclose()


async def test_voipbin_agents_show_after_the_read_back_and_warn_across_running_campaigns() -> None:
    redis = fakeredis.FakeAsyncRedis()
    async with VoipbinStandin() as standin:
        settings = VoipbinSettings(
            api_url=standin.api_url,
            accesskey=standin.accesskey,
            requests_per_second=1000,
            caller_id="+14155550100",
        )
        dialer = VoipbinDialer(settings, redis)
        store = store_for(redis)
        deps = Deps(store, dialer, Authorizer((ANA, BOB), no_groups), lambda: NOW)
        applied: list[DialerNotification] = []

        async def sink(notification: DialerNotification) -> None:
            await store.apply_notification(notification)
            applied.append(notification)

        delivery = asyncio.create_task(dialer.run_notifications(sink))
        try:
            first = await create_campaign(deps, Requester(ANA, "C1"), form("Spring"), "C1")
            second = await create_campaign(deps, Requester(ANA, "C1"), form("Autumn"), "C1")
            assert first.campaign is not None and second.campaign is not None
            one, two = first.campaign.ref, second.campaign.ref

            await handle(AddAgents(ref=one, agent_ids=("agent-3",)), deps, Requester(ANA))
            shown = await _until(store, one, lambda c: bool(c.agents))
            assert [a.agent_id for a in shown.agents] == ["agent-3"] and shown.pending is None
            assert "1 agent" in facts(shown)

            # The first campaign runs (VoIPBIN's own status event), the agent joins the second.
            await store.apply_notification(
                DialerNotification(
                    event_id="run-1",
                    dialer="voipbin",
                    kind=NotificationKind.STATUS,
                    campaign_ref=one,
                    sequence=1,
                    occurred_at=NOW,
                    status=CampaignStatus.RUNNING,
                )
            )
            added = await handle(AddAgents(ref=two, agent_ids=("agent-3",)), deps, Requester(ANA))
            assert ":warning:" in added.text and one in added.text
            await _until(store, two, lambda c: bool(c.agents))

            removed = await handle(
                RemoveAgents(ref=one, agent_ids=("agent-3",)), deps, Requester(ANA)
            )
            assert "removed agent-3" in removed.text
            gone = await _until(store, one, lambda c: not c.agents)
            assert gone.agents == ()
            assert all(n.kind is NotificationKind.AGENTS for n in applied)
        finally:
            delivery.cancel()
            await dialer.aclose()
    await redis.aclose()


async def _until(store: CampaignStore, ref: str, test: object) -> Campaign:
    assert callable(test)
    for _ in range(200):
        campaign = await store.require(ref)
        if test(campaign):
            return campaign
        await asyncio.sleep(0.01)
    raise AssertionError(f"{ref} never got there: {await store.require(ref)}")


def _campaign(dialer: str, counters: dict[str, int]) -> Campaign:
    return Campaign(
        ref="c-20261123-ab12",
        name="Spring",
        dialer=dialer,
        dialer_id="1",
        channel_id="C1",
        created_by=ANA,
        created_at=NOW,
        counters=counters,
    )


def test_the_card_shows_each_dialers_statistics_or_says_there_are_none() -> None:
    voipbin = facts(
        _campaign("voipbin", {"uploaded": 10, "dialled": 4, "answered": 3, "active": 1})
    )
    assert "dialled 4 of 10" in voipbin and "3 connected" in voipbin
    assert "6 remaining" in voipbin and "1 active calls" in voipbin
    genesys = facts(
        _campaign(
            "genesys",
            {
                "busy_factor_pct": 82,
                "hit_ratio_pct": 31,
                "overdial_rate_pct": 2,
                "time_to_complete_s": 600,
            },
        )
    )
    assert "busy factor 82 %" in genesys and "hit ratio 31 %" in genesys
    assert "overdial rate 2 %" in genesys and "done in about 10 min" in genesys
    livevox = facts(_campaign("livevox", {}))
    assert "reports no call counts" in livevox and "dialled" not in livevox
    assert "remaining" not in facts(_campaign("simulator", {}))


async def test_voipbin_calls_on_the_standin_show_as_statistics_on_the_card() -> None:
    secret = "stats-secret"
    redis = fakeredis.FakeAsyncRedis()
    async with VoipbinStandin(webhook_secret=secret) as standin:
        settings = VoipbinSettings(
            api_url=standin.api_url,
            accesskey=standin.accesskey,
            webhook_secret=secret,
            requests_per_second=1000,
            caller_id="+14155550100",
        )
        dialer = VoipbinDialer(settings, redis)
        store = store_for(redis)
        deps = Deps(store, dialer, Authorizer((ANA,), no_groups), lambda: NOW)

        async def sink(notification: DialerNotification) -> None:
            await store.apply_notification(notification)

        async with serving(webhook_receiver_app("voipbin", dialer, sink)) as receiver_url:
            standin.webhook_url = f"{receiver_url}/dialer/voipbin/events"
            try:
                calling = NewCampaignForm(
                    name="Spring",
                    detail="",
                    settings=CampaignSettings(),
                    agents=(
                        AgentAssignment(
                            agent_id="agent-1", default_state=AgentDefaultState.AVAILABLE
                        ),
                    ),
                    leads_file_id="F1",
                )
                created = await create_campaign(deps, Requester(ANA, "C1"), calling, "C1")
                assert created.campaign is not None
                ref = created.campaign.ref
                await dialer.add_contacts(ref, contacts_for(ref, 3))
                await dialer.start(ref)
                shown = await _until(store, ref, lambda c: c.counters.get("succeeded", 0) >= 1)
                text = facts(shown)
                assert "dialled " in text and " of 3" in text and "remaining" in text
                assert "active calls" in text
            finally:
                await dialer.stop(ref)
                await standin.quiesce()
                await dialer.aclose()
    await redis.aclose()
