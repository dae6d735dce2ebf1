"""The simulator dialer: the embedded default, and the dialer the tests and the demo run against.

It behaves like a real predictive dialer rather than a mock. Every request returns at once; what
happens arrives later as a notification, through ``run_notifications``:

* ``start``: ``running`` after ``start_delay``; it then dials its contacts, more lines at a time
  the higher the aggression, each call lasting ``call_duration``;
* ``stop``: ``stopping`` at once, ``stopped`` once the active calls have drained;
* contacts exhausted: ``completed`` (end handle ``stop``) or it stays ``running`` (``continue``);
* ``delete``: refused unless stopped or completed; ``deleted`` follows;
* contact refs seen before, in any campaign, are refused.

Knobs for tests (``SimulatorKnobs``): the delays, duplicate notifications, out-of-order delivery
and a share of requests failing as if the dialer were unreachable.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections import Counter
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic_settings import BaseSettings, SettingsConfigDict

from dialer.base import NotificationSink, NumberLookup
from dialer.errors import (
    CampaignConflict,
    CampaignNotFound,
    DialerRejected,
    DialerUnavailable,
    DuplicateContact,
)
from dialer.models import Contact, DialerCampaign, DialerCapabilities, NewCampaign
from dialer.registry import AdapterContext
from dialer.withdrawal import without_listed
from state.domain import (
    AgentAssignment,
    AgentDefaultState,
    CampaignSettings,
    CampaignStatus,
    DialerNotification,
    EndHandle,
    NotificationKind,
)

NAME = "simulator"
PROGRESS_INTERVAL = 2.0  # seconds between progress notifications of a running campaign


class SimulatorKnobs(BaseSettings):
    """Timings and faults, from ``SIMULATOR_*`` environment variables or set directly in tests."""

    model_config = SettingsConfigDict(env_prefix="SIMULATOR_", frozen=True)

    start_delay: float = 1.0
    call_duration: float = 2.0
    tick: float = 0.25
    notify_delay: float = 0.05
    duplicate_rate: float = 0.0  # share of notifications delivered twice
    reorder_rate: float = 0.0  # share of notifications held back behind later ones
    failure_rate: float = 0.0  # share of requests failing as if the dialer were down
    seed: int | None = None


@dataclass
class _SimCampaign:
    dialer_id: str
    ref: str
    name: str
    settings: CampaignSettings
    agents: dict[str, AgentDefaultState]
    status: CampaignStatus = CampaignStatus.STOPPED
    contacts: list[Contact] = field(default_factory=list)
    next_contact: int = 0
    active_calls: list[float] = field(default_factory=list)  # loop times the calls end
    calls_completed: int = 0
    task: asyncio.Task[None] | None = None

    def counters(self) -> dict[str, int]:
        return {
            "uploaded": len(self.contacts),
            "dialled": self.next_contact,
            "active": len(self.active_calls),
            "completed": self.calls_completed,
            "remaining": len(self.contacts) - self.next_contact,
        }

    def view(self) -> DialerCampaign:
        return DialerCampaign(
            ref=self.ref,
            dialer_id=self.dialer_id,
            name=self.name,
            status=self.status,
            settings=self.settings,
            agents=tuple(
                AgentAssignment(agent_id=a, default_state=s) for a, s in self.agents.items()
            ),
            counters=self.counters(),
        )


def lines_for(aggression: int, agents: int) -> int:
    """Concurrent calls the simulator allows: one per agent at 1, five per agent at 100."""
    return max(1, round(max(agents, 1) * (1 + 4 * (aggression - 1) / 99)))


class SimulatorDialer:
    name = NAME
    batch_size = 100
    max_calls_per_second = 200.0
    capabilities = DialerCapabilities()

    def __init__(self, knobs: SimulatorKnobs | None = None) -> None:
        # Without knobs, the defaults: the SIMULATOR_* section is read with every other setting.
        self.knobs = knobs or SimulatorKnobs.model_construct()
        self._random = random.Random(self.knobs.seed)
        self._campaigns: dict[str, _SimCampaign] = {}
        self._seen_contacts: set[str] = set()
        self._outbox: asyncio.Queue[DialerNotification] = asyncio.Queue()
        self._sequence = itertools.count(1)
        self._background: set[asyncio.Task[None]] = set()

    # -- the Dialer port ----------------------------------------------------------------------

    async def create_campaign(self, campaign: NewCampaign) -> DialerCampaign:
        self._maybe_fail()
        if any(c.ref == campaign.ref for c in self._campaigns.values()):
            raise CampaignConflict(f"The simulator already has a campaign `{campaign.ref}`.")
        sim = _SimCampaign(
            dialer_id=f"sim-{uuid.uuid4().hex[:12]}",
            ref=campaign.ref,
            name=campaign.name,
            settings=campaign.settings,
            agents={a.agent_id: a.default_state for a in campaign.agents},
        )
        self._campaigns[sim.ref] = sim
        return sim.view()

    async def add_contacts(self, ref: str, contacts: Sequence[Contact]) -> None:
        self._maybe_fail()
        sim = self._find(ref)
        if len(contacts) > self.batch_size:
            raise DialerRejected(
                f"The simulator takes at most {self.batch_size} contacts per request."
            )
        refs = [c.ref for c in contacts]
        repeated = [r for r in refs if r in self._seen_contacts] or _repeats(refs)
        if repeated:
            raise DuplicateContact(f"Contact ref `{repeated[0]}` was used before; refs are unique.")
        self._seen_contacts.update(refs)
        sim.contacts.extend(contacts)

    async def withdraw_listed(self, ref: str, listed: NumberLookup) -> int:
        """Contacts not dialled yet lose the listed numbers; one left with none is dropped."""
        self._maybe_fail()
        sim = self._find(ref)
        waiting = sim.contacts[sim.next_contact :]
        screened = await without_listed(waiting, listed)
        sim.contacts[sim.next_contact :] = [c for c in screened if c is not None]
        return sum(after is not before for after, before in zip(screened, waiting, strict=True))

    async def update_settings(self, ref: str, settings: CampaignSettings) -> None:
        self._maybe_fail()
        sim = self._find(ref)
        sim.settings = settings
        self._emit(sim, NotificationKind.SETTINGS, settings=settings)

    async def start(self, ref: str) -> None:
        self._maybe_fail()
        sim = self._find(ref)
        if sim.status is CampaignStatus.STOPPING:
            raise CampaignConflict(
                f"`{ref}` is still stopping; start it again once it has stopped."
            )
        if sim.status is CampaignStatus.RUNNING or sim.task is not None:
            return  # starting a started campaign changes nothing
        sim.task = self._spawn(self._run(sim))

    async def stop(self, ref: str) -> None:
        self._maybe_fail()
        sim = self._find(ref)
        if sim.status is CampaignStatus.RUNNING:
            self._set_status(sim, CampaignStatus.STOPPING)
        elif sim.status is CampaignStatus.STOPPED and sim.task is not None:
            sim.task.cancel()  # stopped before it got going
            sim.task = None
            self._set_status(sim, CampaignStatus.STOPPED)

    async def delete(self, ref: str) -> None:
        self._maybe_fail()
        sim = self._find(ref)
        if sim.status not in (CampaignStatus.STOPPED, CampaignStatus.COMPLETED) or sim.task:
            raise CampaignConflict(
                f"`{ref}` is {sim.status}; a campaign is deleted only once it has stopped."
            )
        del self._campaigns[ref]
        self._set_status(sim, CampaignStatus.DELETED)

    async def list_campaigns(self) -> list[DialerCampaign]:
        self._maybe_fail()
        return [sim.view() for sim in self._campaigns.values()]

    async def get_campaign(self, ref: str) -> DialerCampaign:
        self._maybe_fail()
        return self._find(ref).view()

    async def add_agents(self, ref: str, agent_ids: Sequence[str]) -> None:
        self._maybe_fail()
        sim = self._find(ref)
        default = next(iter(sim.agents.values()), AgentDefaultState.OFFLINE)
        for agent_id in agent_ids:
            sim.agents.setdefault(agent_id, default)
        self._emit_agents(sim)

    async def remove_agents(self, ref: str, agent_ids: Sequence[str]) -> None:
        self._maybe_fail()
        sim = self._find(ref)
        for agent_id in agent_ids:
            sim.agents.pop(agent_id, None)
        self._emit_agents(sim)

    async def set_agent_default_state(self, ref: str, state: AgentDefaultState) -> None:
        self._maybe_fail()
        sim = self._find(ref)
        sim.agents = dict.fromkeys(sim.agents, state)
        self._emit_agents(sim)

    async def run_notifications(self, sink: NotificationSink) -> None:
        while True:
            await sink(await self._outbox.get())

    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # -- the dialling engine ------------------------------------------------------------------

    async def _run(self, sim: _SimCampaign) -> None:
        await asyncio.sleep(self.knobs.start_delay)
        self._set_status(sim, CampaignStatus.RUNNING)
        loop = asyncio.get_running_loop()
        last_progress = loop.time()
        try:
            while True:
                now = loop.time()
                finished = [end for end in sim.active_calls if end <= now]
                sim.active_calls = [end for end in sim.active_calls if end > now]
                sim.calls_completed += len(finished)
                if sim.status is CampaignStatus.STOPPING:
                    if not sim.active_calls:
                        self._set_status(sim, CampaignStatus.STOPPED)
                        return
                else:
                    self._dial(sim, now)
                    exhausted = sim.next_contact >= len(sim.contacts) and not sim.active_calls
                    if exhausted and sim.settings.end_handle is EndHandle.STOP:
                        self._emit(sim, NotificationKind.PROGRESS, counters=sim.counters())
                        self._set_status(sim, CampaignStatus.COMPLETED)
                        return
                if now - last_progress >= PROGRESS_INTERVAL:
                    last_progress = now
                    self._emit(sim, NotificationKind.PROGRESS, counters=sim.counters())
                await asyncio.sleep(self.knobs.tick)
        finally:
            sim.task = None

    def _dial(self, sim: _SimCampaign, now: float) -> None:
        free_lines = lines_for(sim.settings.aggression, len(sim.agents)) - len(sim.active_calls)
        for _ in range(max(free_lines, 0)):
            if sim.next_contact >= len(sim.contacts):
                return
            sim.next_contact += 1
            sim.active_calls.append(now + self.knobs.call_duration)

    # -- notifications ------------------------------------------------------------------------

    def _set_status(self, sim: _SimCampaign, status: CampaignStatus) -> None:
        sim.status = status
        self._emit(sim, NotificationKind.STATUS, status=status)

    def _emit_agents(self, sim: _SimCampaign) -> None:
        agents = tuple(AgentAssignment(agent_id=a, default_state=s) for a, s in sim.agents.items())
        self._emit(sim, NotificationKind.AGENTS, agents=agents)

    def _emit(self, sim: _SimCampaign, kind: NotificationKind, **payload: object) -> None:
        sequence = next(self._sequence)
        notification = DialerNotification.model_validate(
            {
                "event_id": f"{NAME}-{sequence}",
                "dialer": NAME,
                "kind": kind,
                "campaign_ref": sim.ref,
                "dialer_campaign_id": sim.dialer_id,
                "sequence": sequence,
                "occurred_at": datetime.now(UTC),
                **payload,
                "raw": {"simulated": kind.value, "sequence": sequence},
            }
        )
        delay = self.knobs.notify_delay
        if self._random.random() < self.knobs.reorder_rate:
            delay += 4 * self.knobs.notify_delay + self.knobs.tick  # arrives after later ones
        copies = 2 if self._random.random() < self.knobs.duplicate_rate else 1
        self._spawn(self._deliver(notification, delay, copies))

    async def _deliver(self, notification: DialerNotification, delay: float, copies: int) -> None:
        await asyncio.sleep(delay)
        for _ in range(copies):
            self._outbox.put_nowait(notification)

    # -- helpers ------------------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    def _find(self, ref: str) -> _SimCampaign:
        try:
            return self._campaigns[ref]
        except KeyError:
            raise CampaignNotFound(f"The simulator has no campaign `{ref}`.") from None

    def _maybe_fail(self) -> None:
        if self._random.random() < self.knobs.failure_rate:
            raise DialerUnavailable("The simulated dialer did not answer; try again.", dialer=NAME)


def _repeats(refs: list[str]) -> list[str]:
    counts = Counter(refs)
    return [r for r in refs if counts[r] > 1]


def build(context: AdapterContext, settings: SimulatorKnobs) -> SimulatorDialer:
    """The registry's factory: the ``SIMULATOR_*`` section; it needs nothing from the bot."""
    del context
    return SimulatorDialer(settings)
