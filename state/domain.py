"""The campaign vocabulary the whole bot speaks: statuses, settings, agents, notifications.

The state machine, the store and every dialer adapter use these types, so they live in ``state/``,
which imports none of the other packages; ``dialer.models`` adds what only the dialer port needs
(new campaigns, contacts, capabilities) and re-exports these for older imports.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

AGGRESSION_MIN = 1
AGGRESSION_MAX = 100


class CampaignStatus(StrEnum):
    """The status of a campaign, normalised across dialers. Changed only by dialer notifications."""

    STOPPED = "stopped"
    RUNNING = "running"
    STOPPING = "stopping"
    COMPLETED = "completed"
    DELETED = "deleted"


class AgentDefaultState(StrEnum):
    """What an assigned agent is when the campaign starts.

    ``offline``: agents make themselves available to join a started campaign.
    ``available``: agents are called in automatically when the campaign starts.
    """

    OFFLINE = "offline"
    AVAILABLE = "available"


class EndHandle(StrEnum):
    """What a running campaign does when its leads are exhausted."""

    STOP = "stop"  # finishes: the dialer reports ``completed``
    CONTINUE = "continue"  # stays ``running``, waiting for more leads


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CampaignSettings(Value):
    """The settings object sent to a dialer with the campaign ref, editable in any status.

    ``aggression`` is the pacing knob every dialer has, on one scale: 1 is the gentlest pace the
    dialer offers (about one line per available agent, no abandoned calls), 100 the most aggressive
    (the most lines per agent the dialer allows). Each adapter maps it onto its own knob: VoIPBIN's
    ``service_level``, Genesys' optimisation goal, Enigma's aggression.
    """

    aggression: int = Field(default=50, ge=AGGRESSION_MIN, le=AGGRESSION_MAX)
    end_handle: EndHandle = EndHandle.STOP
    dial_timeout_seconds: int = Field(default=30, ge=5, le=120)
    max_attempts: int = Field(default=3, ge=1, le=10)
    retry_interval_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)


class AgentAssignment(Value):
    agent_id: str = Field(min_length=1, max_length=64)
    default_state: AgentDefaultState = AgentDefaultState.OFFLINE


class NotificationKind(StrEnum):
    STATUS = "status"
    SETTINGS = "settings"
    AGENTS = "agents"
    PROGRESS = "progress"  # counters only (calls made, leads left); never changes status


class NotificationSource(StrEnum):
    """Who says so. Every status the bot stores carries the source it came from, and the audit
    records it: only the dialer's own word (or a read of the dialer, for what the dialer never
    publishes) ever changes a status.
    """

    DIALER = "dialer"  # pushed or polled: a webhook, Pub/Sub, a poll, the simulator
    RECONCILIATION = "reconciliation"  # read from the dialer by the bot (drift, an outage)
    CONFIRMATION = "confirmation"  # read from the dialer right after a request the bot sent
    ACCEPTED = "accepted"  # a request the dialer accepted and publishes nothing about


class DialerNotification(Value):
    """A dialer notification turned into the bot's terms.

    ``event_id`` de-duplicates redeliveries; ``sequence`` orders events of one campaign (the
    dialer's own sequence number, or its timestamp in microseconds), so a late event never
    overwrites a newer one. ``raw`` is the dialer's payload, kept for the audit trail only.
    """

    event_id: str = Field(min_length=1, max_length=200)
    dialer: str
    kind: NotificationKind
    campaign_ref: str | None = None
    dialer_campaign_id: str | None = None
    sequence: int = Field(ge=0)
    occurred_at: datetime
    status: CampaignStatus | None = None
    settings: CampaignSettings | None = None
    agents: tuple[AgentAssignment, ...] | None = None
    counters: dict[str, int] = Field(default_factory=dict)
    actor: str | None = None  # who or what caused it, when the dialer says ("its schedule")
    raw: dict[str, Any] = Field(default_factory=dict)
    source: NotificationSource = NotificationSource.DIALER

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("occurred_at must carry a timezone")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DialerNotification:
        if self.campaign_ref is None and self.dialer_campaign_id is None:
            raise ValueError("a notification names its campaign by ref or dialer id")
        needed = {
            NotificationKind.STATUS: self.status,
            NotificationKind.SETTINGS: self.settings,
            NotificationKind.AGENTS: self.agents,
        }
        if self.kind in needed and needed[self.kind] is None:
            raise ValueError(f"a {self.kind} notification must carry its {self.kind}")
        return self
