"""The Dialer port: the one interface the bot drives every dialer through.

Methods take and return the bot's own models (``dialer.models``) and raise only the errors of
``dialer.errors``. Every control call returns as soon as the dialer accepted the request; what
really happened arrives later as a ``DialerNotification``. An adapter delivers its notifications in
one of two ways, or both:

* ``run_notifications(sink)`` — a long-running task (the simulator's event queue, a Pub/Sub
  subscriber, a poller) that hands each notification to ``sink`` until cancelled;
* ``WebhookReceiver.receive_webhook`` — for dialers that POST to the bot, the HTTP edge passes the
  verified request here and forwards the returned notifications to the same sink.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from dialer.models import Contact, DialerCampaign, DialerCapabilities, NewCampaign
from state.domain import AgentDefaultState, CampaignSettings, DialerNotification

NotificationSink = Callable[[DialerNotification], Awaitable[None]]


@runtime_checkable
class Dialer(Protocol):
    name: str
    """The registry name (``simulator``, ``voipbin``…), also used in notifications."""
    batch_size: int
    """How many contacts one ``add_contacts`` call takes at most."""
    max_calls_per_second: float
    """The pace the dialer's API tolerates; the leads pipeline stays under it."""
    capabilities: DialerCapabilities
    """What the dialer's API allows (agents, statistics); the same as ``capabilities_of(name)``
    in ``dialer.registry``, which the views read by the campaign's dialer name."""

    async def create_campaign(self, campaign: NewCampaign) -> DialerCampaign: ...

    async def add_contacts(self, ref: str, contacts: Sequence[Contact]) -> None:
        """Upload one batch (``len(contacts) <= batch_size``). Contact refs never repeat."""

    async def update_settings(self, ref: str, settings: CampaignSettings) -> None:
        """Send only the ref and the settings object; allowed in any status."""

    async def start(self, ref: str) -> None: ...

    async def stop(self, ref: str) -> None: ...

    async def delete(self, ref: str) -> None:
        """Refused by the dialer unless the campaign is stopped (or completed)."""

    async def list_campaigns(self) -> list[DialerCampaign]: ...

    async def get_campaign(self, ref: str) -> DialerCampaign: ...

    async def add_agents(self, ref: str, agent_ids: Sequence[str]) -> None: ...

    async def remove_agents(self, ref: str, agent_ids: Sequence[str]) -> None: ...

    async def set_agent_default_state(self, ref: str, state: AgentDefaultState) -> None: ...

    async def run_notifications(self, sink: NotificationSink) -> None:
        """Deliver notifications to ``sink`` until cancelled (return at once if none are pushed)."""

    async def aclose(self) -> None: ...


@runtime_checkable
class WebhookReceiver(Protocol):
    """Implemented by adapters whose dialer POSTs its notifications to ``/dialer/<name>/events``."""

    async def receive_webhook(
        self, headers: Mapping[str, str], body: bytes
    ) -> list[DialerNotification]:
        """Verify and parse one delivery; raise ``WebhookRejected`` for a forged or bad one."""


@runtime_checkable
class ContactWithdrawer(Protocol):
    """Implemented by adapters whose dialer can take single contacts off a live campaign; for
    the others ``dialer.withdrawal.withdraw_listed`` answers that they cannot, and why."""

    async def withdraw_listed(self, ref: str, listed: NumberLookup) -> int:
        """Stop dialling every number of campaign ``ref`` that ``listed`` names; returns how
        many contacts changed. Asks ``listed`` about many numbers at a time."""


class NumberLookup(Protocol):
    """Which of some E.164 numbers must not be dialled (``state.dnc.DoNotCallList``)."""

    async def listed(self, numbers: Sequence[str]) -> list[bool]: ...


class WebhookRejected(Exception):
    """A webhook that failed verification or parsing: answer 401/400 and apply nothing."""

    def __init__(self, message: str, *, status_code: int = 400) -> None:
        super().__init__(message)
        self.status_code = status_code
