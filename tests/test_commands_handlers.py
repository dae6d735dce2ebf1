"""The handlers against a real store (fakeredis) and the simulator dialer: what each request
changes, what it leaves alone, and what it tells the person."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest

from commands.authz import Authorizer
from commands.handlers.context import Deps, Requester
from commands.handlers.control import apply_campaign_edit
from commands.handlers.create import create_campaign
from commands.handlers.dispatch import handle
from commands.handlers.overview import correlate
from commands.leads.store import UploadRecord, UploadState, UploadStore
from commands.leads.validation import ValidationRules
from commands.requests import (
    AddAgents,
    ApproveRemoval,
    CancelRemoval,
    ChangeSettings,
    ListCampaigns,
    RejectRemoval,
    RemoveAgents,
    RemoveCampaign,
    SetAgentDefault,
    ShowCampaign,
    StartCampaign,
    StopCampaign,
)
from commands.views.forms import CampaignEditForm, NewCampaignForm
from dialer.errors import DialerUnavailable
from dialer.models import DialerCampaign
from dialer.simulator import SimulatorDialer, SimulatorKnobs
from state.campaign import PendingKind
from state.domain import AgentAssignment, AgentDefaultState, CampaignSettings, CampaignStatus
from state.effects import RefreshCard, RemovalRequested, SendStop
from state.keys import Keys, UploadKeys
from state.store import CampaignStore

ANA, BOB, EVE = "UANA", "UBOB", "UEVE"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def no_groups(group_id: str) -> frozenset[str]:
    return frozenset()


@pytest.fixture
async def deps() -> AsyncIterator[Deps]:
    redis = fakeredis.FakeAsyncRedis()
    dialer = SimulatorDialer(SimulatorKnobs(start_delay=0.05, tick=0.02, notify_delay=0.01))
    store = CampaignStore(redis, Keys(f"test:{uuid.uuid4().hex[:8]}:"), clock=lambda: NOW)
    yield Deps(
        store=store, dialer=dialer, authz=Authorizer((ANA, BOB), no_groups), clock=lambda: NOW
    )
    await dialer.aclose()
    await redis.aclose()


async def new_campaign(deps: Deps, name: str = "Renewals", agents: tuple[str, ...] = ()) -> str:
    form = NewCampaignForm(
        name=name,
        detail="",
        settings=CampaignSettings(aggression=30),
        agents=tuple(AgentAssignment(agent_id=a) for a in agents),
        leads_file_id="F1",
    )
    reply = await create_campaign(deps, Requester(ANA, "C1"), form, "C1")
    assert reply.campaign is not None
    return reply.campaign.ref


async def test_created_campaign_is_on_the_dialer_and_in_the_store(deps: Deps) -> None:
    ref = await new_campaign(deps)
    stored = await deps.store.require(ref)
    on_dialer = await deps.dialer.get_campaign(ref)
    assert stored.dialer_id == on_dialer.dialer_id and stored.channel_id == "C1"
    assert stored.created_by == ANA and on_dialer.settings == CampaignSettings(aggression=30)


async def test_start_records_a_pending_request_and_leaves_the_status(deps: Deps) -> None:
    ref = await new_campaign(deps)
    reply = await handle(StartCampaign(ref=ref), deps, Requester(ANA))
    stored = await deps.store.require(ref)
    assert stored.status is CampaignStatus.STOPPED
    assert stored.pending is not None and stored.pending.kind is PendingKind.START
    assert stored.pending.requested_by == ANA
    assert reply.effects == (RefreshCard(ref),)


async def test_stopping_a_stopped_campaign_changes_nothing(deps: Deps) -> None:
    ref = await new_campaign(deps)
    reply = await handle(StopCampaign(ref=ref), deps, Requester(ANA))
    assert "already stopped; nothing changes" in (reply.text or "")
    assert (await deps.store.require(ref)).pending is None


async def test_someone_not_a_lead_changes_nothing(deps: Deps) -> None:
    ref = await new_campaign(deps)
    reply = await handle(StartCampaign(ref=ref), deps, Requester(EVE))
    assert "Only campaign leads" in (reply.text or "")
    await asyncio.sleep(0.15)
    assert (await deps.dialer.get_campaign(ref)).status is CampaignStatus.STOPPED
    assert (await deps.store.require(ref)).pending is None
    looked = await handle(ShowCampaign(ref=ref), deps, Requester(EVE, "C1"))
    assert looked.modal is not None
    elsewhere = await handle(ShowCampaign(ref=ref), deps, Requester(EVE, "C2"))
    assert elsewhere.modal is None and "belongs to another channel, <#C1>" in (elsewhere.text or "")
    lead_elsewhere = await handle(ShowCampaign(ref=ref), deps, Requester(ANA, "C2"))
    assert lead_elsewhere.modal is not None


async def test_settings_change_sends_the_merged_settings_and_says_what_changed(deps: Deps) -> None:
    ref = await new_campaign(deps)
    reply = await handle(ChangeSettings(ref=ref, changes={"aggression": 75}), deps, Requester(BOB))
    assert "aggression 30 → 75" in (reply.text or "")
    assert (await deps.dialer.get_campaign(ref)).settings == CampaignSettings(aggression=75)
    pending = (await deps.store.require(ref)).pending
    assert pending is not None and pending.kind is PendingKind.SETTINGS
    unchanged = ChangeSettings(ref=ref, changes={"aggression": 30})
    again = await handle(unchanged, deps, Requester(BOB))
    assert "already has these settings" in (again.text or "")


async def test_removing_an_agent_the_campaign_does_not_have_is_refused(deps: Deps) -> None:
    ref = await new_campaign(deps, agents=("1001",))
    reply = await handle(RemoveAgents(ref=ref, agent_ids=("1009",)), deps, Requester(ANA))
    assert "`1009` is not an agent of" in str(reply.blocks)
    assert (await deps.store.require(ref)).pending is None


async def test_adding_an_agent_busy_in_a_running_campaign_warns(deps: Deps) -> None:
    busy = await new_campaign(deps, "Busy", agents=("1001",))
    await deps.store.redis.sadd(deps.store.keys.agent_running("1001"), busy)
    ref = await new_campaign(deps, "Second")
    reply = await handle(AddAgents(ref=ref, agent_ids=("1001",)), deps, Requester(ANA))
    assert f"`1001` is already active in running campaign `{busy}`" in (reply.text or "")


async def test_a_dialer_failure_is_shown_and_nothing_is_recorded(deps: Deps) -> None:
    ref = await new_campaign(deps)

    class Down(SimulatorDialer):
        async def start(self, ref: str) -> None:
            raise DialerUnavailable("The dialer did not answer; try again.")

    down = Deps(deps.store, Down(), deps.authz, deps.clock)
    reply = await handle(StartCampaign(ref=ref), down, Requester(ANA))
    assert "did not take the start" in (reply.text or "")
    assert (await deps.store.require(ref)).pending is None


async def test_removal_needs_a_second_lead_and_then_stops_a_never_started_campaign(
    deps: Deps,
) -> None:
    ref = await new_campaign(deps)
    asked = await handle(RemoveCampaign(ref=ref), deps, Requester(ANA, "C1"))
    assert asked.effects == (RemovalRequested(ref, ANA),)
    assert asked.posts[0].approval_for == ref and asked.posts[0].channel == "C1"
    refused = await handle(ApproveRemoval(ref=ref), deps, Requester(ANA))
    assert "another campaign lead has to approve" in (refused.text or "")
    blocked = await handle(StartCampaign(ref=ref), deps, Requester(BOB))
    assert "is being removed" in (blocked.text or "")
    approved = await handle(ApproveRemoval(ref=ref), deps, Requester(BOB))
    assert approved.effects[0] == SendStop(ref)  # its stopped is assumed, never reported
    twice = await handle(ApproveRemoval(ref=ref), deps, Requester(BOB))
    assert "already approved" in (twice.text or "") and not twice.effects


async def test_a_rejected_removal_frees_the_campaign(deps: Deps) -> None:
    ref = await new_campaign(deps)
    await handle(RemoveCampaign(ref=ref), deps, Requester(ANA, "C1"))
    await handle(RejectRemoval(ref=ref), deps, Requester(BOB))
    assert (await deps.store.require(ref)).removal is None
    again = await handle(RemoveCampaign(ref=ref), deps, Requester(ANA, "C1"))
    assert again.posts


async def test_overview_lists_both_sides_and_pending_requests(deps: Deps) -> None:
    ref = await new_campaign(deps)
    await handle(StartCampaign(ref=ref), deps, Requester(ANA))
    reply = await handle(ListCampaigns(), deps, Requester(EVE, "C1"))
    assert reply.text == "Campaigns: 1"
    assert "start requested by <@UANA> 0 s ago" in str(reply.blocks)


async def test_list_shows_this_channels_campaigns_and_list_all_every_one_to_leads(
    deps: Deps,
) -> None:
    here = await new_campaign(deps)
    elsewhere = await handle(ListCampaigns(), deps, Requester(EVE, "C2"))
    assert elsewhere.text == "Campaigns: 0" and here not in str(elsewhere.blocks)
    everything = await handle(ListCampaigns(every_channel=True), deps, Requester(ANA, "C2"))
    assert everything.text == "Campaigns: 1" and here in str(everything.blocks)
    assert "in every channel" in str(everything.blocks)
    refused = await handle(ListCampaigns(every_channel=True), deps, Requester(EVE, "C1"))
    assert refused.blocks == [] and "only campaign leads" in (refused.text or "")


async def test_the_requester_cancels_a_removal_and_any_lead_may_reject_one(deps: Deps) -> None:
    ref = await new_campaign(deps)
    await handle(RemoveCampaign(ref=ref), deps, Requester(ANA, "C1"))
    cancelled = await handle(CancelRemoval(ref=ref), deps, Requester(ANA, "C1"))
    assert "Removal request cancelled" in (cancelled.text or "")
    assert (await deps.store.require(ref)).removal is None
    await handle(RemoveCampaign(ref=ref), deps, Requester(ANA, "C1"))
    rejected = await handle(CancelRemoval(ref=ref), deps, Requester(BOB, "C1"))
    assert "Rejected" in (rejected.text or "")
    assert (await deps.store.require(ref)).removal is None
    nothing = await handle(CancelRemoval(ref=ref), deps, Requester(ANA, "C1"))
    assert "no removal" in (nothing.text or "")


def test_correlation_matches_by_ref_or_dialer_id_and_keeps_strangers() -> None:
    from tests.test_commands_views import campaign

    mine = campaign(ref="c-20261123-aaaa", dialer_id="d-1")
    renamed = campaign(ref="c-20261123-bbbb", dialer_id="d-2")
    lost = campaign(ref="c-20261123-cccc", dialer_id="d-3")
    dialer = [
        DialerCampaign(
            ref="c-20261123-aaaa", dialer_id="d-1", name="a", status=CampaignStatus.RUNNING
        ),
        DialerCampaign(ref=None, dialer_id="d-2", name="b", status=CampaignStatus.STOPPED),
        DialerCampaign(ref=None, dialer_id="d-9", name="x", status=CampaignStatus.STOPPED),
    ]
    rows = correlate([mine, renamed, lost], dialer)
    assert [(r.stored and r.stored.ref, r.on_dialer and r.on_dialer.dialer_id) for r in rows] == [
        ("c-20261123-aaaa", "d-1"),
        ("c-20261123-bbbb", "d-2"),
        ("c-20261123-cccc", None),
        (None, "d-9"),
    ]


async def test_group_members_are_leads_and_the_lookup_is_cached() -> None:
    asked: list[str] = []
    clock = [0.0]

    async def members(group_id: str) -> frozenset[str]:
        asked.append(group_id)
        return frozenset({"UCAROL"})

    authz = Authorizer(("UANA", "SLEADS"), members, ttl=60, clock=lambda: clock[0])
    assert await authz.may_change("UANA") and not asked
    assert await authz.may_change("UCAROL") and not await authz.may_change("UEVE")
    assert asked == ["SLEADS"]
    clock[0] = 61
    await authz.may_change("UEVE")
    assert asked == ["SLEADS", "SLEADS"]


async def test_when_slack_cannot_say_who_is_in_a_group_the_last_answer_stands() -> None:
    calls = 0

    async def flaky(group_id: str) -> frozenset[str]:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise TimeoutError("slack down")
        return frozenset({"UCAROL"})

    clock = [0.0]
    authz = Authorizer(("SLEADS",), flaky, ttl=1, clock=lambda: clock[0])
    assert await authz.may_change("UCAROL")
    clock[0] = timedelta(seconds=5).total_seconds()
    assert await authz.may_change("UCAROL")


async def test_a_default_state_needs_agents_to_apply_to(deps: Deps) -> None:
    ref = await new_campaign(deps)
    command = SetAgentDefault(ref=ref, state=AgentDefaultState.AVAILABLE)
    reply = await handle(command, deps, Requester(ANA))
    assert "has no agents yet" in (reply.text or "")
    assert (await deps.store.require(ref)).pending is None


async def test_apply_gives_newly_added_agents_the_chosen_default_state(deps: Deps) -> None:
    ref = await new_campaign(deps)
    form = CampaignEditForm(
        settings_changes={}, add_agents=("1001",), default_state=AgentDefaultState.AVAILABLE
    )
    reply = await apply_campaign_edit(deps, Requester(ANA), ref, form)
    assert "added 1001" in (reply.text or "") and "default state available" in (reply.text or "")
    (agent,) = (await deps.dialer.get_campaign(ref)).agents
    assert agent.default_state is AgentDefaultState.AVAILABLE


async def unfinished_upload(deps: Deps, ref: str, state: UploadState) -> None:
    record = UploadRecord(
        campaign_ref=ref,
        source_id="F0LEADS",
        dialer=deps.dialer.name,
        rules=ValidationRules(region="US", max_field_length=500, max_rows=1000, max_bytes=10**6),
        batch_size=100,
        total=250,
        state=state,
        error=None,
        created_at=NOW,
        updated_at=NOW,
    )
    await UploadStore(deps.store.redis, UploadKeys(deps.store.keys.prefix)).create(record)


@pytest.mark.parametrize("state", [UploadState.UPLOADING, UploadState.FAILED])
async def test_start_waits_for_the_leads_upload_unless_asked_to_start_partial(
    deps: Deps, state: UploadState
) -> None:
    ref = await new_campaign(deps)
    await unfinished_upload(deps, ref, state)
    refused = await handle(StartCampaign(ref=ref), deps, Requester(ANA))
    assert "leads upload" in refused.text and f"/campaign start {ref} partial" in refused.text
    assert (await deps.store.require(ref)).pending is None

    started = await handle(StartCampaign(ref=ref, partial=True), deps, Requester(ANA))
    assert "sent to the dialer" in started.text
    pending = (await deps.store.require(ref)).pending
    assert pending is not None and pending.kind is PendingKind.START
