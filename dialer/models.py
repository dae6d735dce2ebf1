"""The dialer port's own models: what the bot sends a dialer (a new campaign, its contacts) and
what a dialer declares or reports (its capabilities, its campaigns).

The vocabulary these build on (statuses, settings, agents, notifications) is the bot's own, in
``state.domain``; it is re-exported here so that adapters can keep importing it from one place.
Adapters translate their vendor's JSON into these models and back; nothing outside an adapter ever
sees vendor data except as the raw payload kept for the audit trail.
"""

from __future__ import annotations

from pydantic import Field

from state.domain import (
    AGGRESSION_MAX,
    AGGRESSION_MIN,
    AgentAssignment,
    AgentDefaultState,
    CampaignSettings,
    CampaignStatus,
    DialerNotification,
    EndHandle,
    NotificationKind,
    NotificationSource,
    Value,
)

__all__ = [
    "AGGRESSION_MAX",
    "AGGRESSION_MIN",
    "MAX_PHONE_NUMBERS",
    "AgentAssignment",
    "AgentDefaultState",
    "CampaignSettings",
    "CampaignStatus",
    "Contact",
    "DialerCampaign",
    "DialerCapabilities",
    "DialerNotification",
    "EndHandle",
    "NewCampaign",
    "NotificationKind",
    "NotificationSource",
    "Value",
]

MAX_PHONE_NUMBERS = 30
"""The most numbers one contact may carry (LiveVox's limit, the largest of the dialers)."""


class DialerCapabilities(Value):
    """What a dialer lets the bot do through its API, declared by its adapter.

    ``agents_managed_here``: agents are assigned, removed and given a default state through the
    dialer's API, and read back from it. When false the bot sends nothing for agents: the card and
    the agents command say ``agents_managed_where`` instead (e.g. "in LiveVox's console").
    ``statistics_note``: said on the card when the dialer's API reports no call statistics (in
    place of zeros); empty when it does.
    """

    agents_managed_here: bool = True
    agents_managed_where: str = ""
    statistics_note: str = ""


class Contact(Value):
    """One lead. ``ref`` is ``<campaign ref>-<n>``, globally unique, never reused."""

    ref: str = Field(min_length=1, max_length=230, pattern=r"^[A-Za-z0-9.\-_~:]+$")
    phone_numbers: tuple[str, ...] = Field(min_length=1, max_length=MAX_PHONE_NUMBERS)
    fields: dict[str, str] = Field(default_factory=dict)


class NewCampaign(Value):
    """Everything a dialer needs to create a campaign, before any lead is uploaded."""

    ref: str
    name: str = Field(min_length=1, max_length=80)
    detail: str = Field(default="", max_length=500)
    settings: CampaignSettings = CampaignSettings()
    agents: tuple[AgentAssignment, ...] = ()


class DialerCampaign(Value):
    """A campaign as the dialer reports it (from ``list`` or ``get``)."""

    ref: str | None  # None when the dialer holds a campaign the bot did not create
    dialer_id: str
    name: str
    status: CampaignStatus
    settings: CampaignSettings | None = None
    agents: tuple[AgentAssignment, ...] = ()
    counters: dict[str, int] = Field(default_factory=dict)
