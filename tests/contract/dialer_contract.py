"""The contract every Dialer adapter must pass, run against that dialer's local stand-in.

Use it by subclassing ``DialerContract`` in ``tests/contract/test_<dialer>_contract.py`` and
providing an async ``harness`` fixture that yields a ``ContractHarness``: the adapter pointed at
its stand-in, with every notification it delivers (``run_notifications`` and/or webhooks the
stand-in sends) forwarded to ``harness.notifications.sink``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest

from dialer.base import Dialer
from dialer.errors import CampaignConflict, CampaignNotFound, DuplicateContact
from dialer.models import Contact, DialerCampaign, NewCampaign
from state.domain import (
    AgentAssignment,
    AgentDefaultState,
    CampaignSettings,
    CampaignStatus,
    NotificationKind,
)
from tests.contract.collector import NotificationCollector

_refs = itertools.count(1)


@dataclass(frozen=True)
class Capabilities:
    """What a dialer reports; the contract checks each one that is claimed."""

    reports_stopping: bool = True  # a stop goes through ``stopping`` before ``stopped``
    rejects_duplicate_contacts: bool = True
    notifies_deletion: bool = True  # a ``deleted`` notification follows a delete
    reports_settings: bool = True  # a settings change is confirmed by a notification
    reports_agents: bool = True  # ``get_campaign`` returns the assigned agents


@dataclass
class ContractHarness:
    dialer: Dialer
    notifications: NotificationCollector = field(default_factory=NotificationCollector)
    capabilities: Capabilities = Capabilities()
    timeout: float = 5.0


def new_campaign(**overrides: object) -> NewCampaign:
    ref = f"c-20261123-t{next(_refs):03d}"
    values: dict[str, object] = {
        "ref": ref,
        "name": f"Contract {ref}",
        "detail": "contract test",
        "settings": CampaignSettings(aggression=40),
        "agents": (AgentAssignment(agent_id="agent-1"),),
    }
    values.update(overrides)
    return NewCampaign.model_validate(values)


def contacts_for(ref: str, count: int, start: int = 1) -> list[Contact]:
    return [
        Contact(ref=f"{ref}-{n}", phone_numbers=(f"+1415555{n:04d}",), fields={"name": f"Lead {n}"})
        for n in range(start, start + count)
    ]


class DialerContract:
    @pytest.fixture
    def harness(self) -> ContractHarness:
        raise NotImplementedError("subclasses provide the harness fixture")

    async def _created(self, harness: ContractHarness, contacts: int = 3) -> DialerCampaign:
        spec = new_campaign()
        created = await harness.dialer.create_campaign(spec)
        if contacts:
            await harness.dialer.add_contacts(spec.ref, contacts_for(spec.ref, contacts))
        return created

    async def _running(self, harness: ContractHarness) -> DialerCampaign:
        created = await self._created(harness, contacts=50)
        await harness.dialer.start(created.ref or "")
        await harness.notifications.wait_for_status(
            created.dialer_id, CampaignStatus.RUNNING, harness.timeout
        )
        return created

    async def test_create_returns_the_campaign_stopped_under_the_bots_ref(
        self, harness: ContractHarness
    ) -> None:
        spec = new_campaign()
        created = await harness.dialer.create_campaign(spec)
        assert created.ref == spec.ref
        assert created.dialer_id
        assert created.status is CampaignStatus.STOPPED

    async def test_list_correlates_created_campaigns_by_ref(self, harness: ContractHarness) -> None:
        first = await self._created(harness)
        second = await self._created(harness)
        listed = {c.ref: c for c in await harness.dialer.list_campaigns()}
        assert listed[first.ref].dialer_id == first.dialer_id
        assert listed[second.ref].dialer_id == second.dialer_id

    async def test_get_of_an_unknown_ref_raises_campaign_not_found(
        self, harness: ContractHarness
    ) -> None:
        with pytest.raises(CampaignNotFound):
            await harness.dialer.get_campaign("c-20991231-none")

    async def test_start_changes_nothing_until_the_running_notification_arrives(
        self, harness: ContractHarness
    ) -> None:
        created = await self._created(harness, contacts=50)
        await harness.dialer.start(created.ref or "")
        running = await harness.notifications.wait_for_status(
            created.dialer_id, CampaignStatus.RUNNING, harness.timeout
        )
        assert running.dialer == harness.dialer.name
        assert running.event_id

    async def test_stop_reports_stopped_after_stopping(self, harness: ContractHarness) -> None:
        created = await self._running(harness)
        await harness.dialer.stop(created.ref or "")
        await harness.notifications.wait_for_status(
            created.dialer_id, CampaignStatus.STOPPED, harness.timeout
        )
        seen = harness.notifications.statuses_of(created.dialer_id)
        if harness.capabilities.reports_stopping:
            assert seen.index(CampaignStatus.STOPPING) < seen.index(CampaignStatus.STOPPED)

    async def test_stopping_a_stopped_campaign_is_harmless(self, harness: ContractHarness) -> None:
        created = await self._created(harness)
        await harness.dialer.stop(created.ref or "")
        fetched = await harness.dialer.get_campaign(created.ref or "")
        assert fetched.status is CampaignStatus.STOPPED

    async def test_delete_of_a_running_campaign_is_refused(self, harness: ContractHarness) -> None:
        created = await self._running(harness)
        with pytest.raises(CampaignConflict):
            await harness.dialer.delete(created.ref or "")
        assert (await harness.dialer.get_campaign(created.ref or "")).status in {
            CampaignStatus.RUNNING,
            CampaignStatus.COMPLETED,
        }

    async def test_delete_after_stopped_removes_the_campaign(
        self, harness: ContractHarness
    ) -> None:
        created = await self._created(harness)
        await harness.dialer.delete(created.ref or "")
        if harness.capabilities.notifies_deletion:
            await harness.notifications.wait_for_status(
                created.dialer_id, CampaignStatus.DELETED, harness.timeout
            )
        listed = {c.ref for c in await harness.dialer.list_campaigns()}
        assert created.ref not in listed

    async def test_contacts_go_up_in_batches_of_the_declared_size(
        self, harness: ContractHarness
    ) -> None:
        spec = new_campaign()
        await harness.dialer.create_campaign(spec)
        size = min(harness.dialer.batch_size, 100)
        await harness.dialer.add_contacts(spec.ref, contacts_for(spec.ref, size))
        await harness.dialer.add_contacts(spec.ref, contacts_for(spec.ref, size, start=size + 1))

    async def test_a_contact_ref_seen_before_is_refused(self, harness: ContractHarness) -> None:
        if not harness.capabilities.rejects_duplicate_contacts:
            pytest.skip("this dialer does not know contact refs")
        created = await self._created(harness, contacts=3)
        with pytest.raises(DuplicateContact):
            await harness.dialer.add_contacts(created.ref or "", contacts_for(created.ref or "", 1))

    async def test_aggression_can_be_changed_while_running(self, harness: ContractHarness) -> None:
        created = await self._running(harness)
        settings = CampaignSettings(aggression=90)
        await harness.dialer.update_settings(created.ref or "", settings)
        if harness.capabilities.reports_settings:
            await harness.notifications.wait_for(
                lambda n: (
                    n.kind is NotificationKind.SETTINGS
                    and n.settings is not None
                    and n.settings.aggression == 90
                ),
                harness.timeout,
            )

    async def test_agents_can_be_added_removed_and_given_a_default_state(
        self, harness: ContractHarness
    ) -> None:
        created = await self._created(harness)
        ref = created.ref or ""
        await harness.dialer.add_agents(ref, ["agent-2", "agent-3"])
        await harness.dialer.remove_agents(ref, ["agent-3"])
        await harness.dialer.set_agent_default_state(ref, AgentDefaultState.AVAILABLE)
        if not harness.capabilities.reports_agents:
            return
        fetched = await harness.dialer.get_campaign(ref)
        agents = {a.agent_id: a.default_state for a in fetched.agents}
        assert "agent-2" in agents and "agent-3" not in agents
        assert set(agents.values()) == {AgentDefaultState.AVAILABLE}
