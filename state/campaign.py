"""The campaign as the bot stores it: what the dialer last reported, plus what the bot asked for.

The status fields change only through ``state.machine.apply_notification``. What a lead asked the
bot to do is kept apart as ``pending`` (and ``removal``) until a notification fulfils it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from dialer.models import AgentAssignment, CampaignSettings, CampaignStatus

NO_SEQUENCE = -1


class PendingKind(StrEnum):
    START = "start"
    STOP = "stop"
    SETTINGS = "settings"
    AGENTS = "agents"


# Which reported status fulfils each pending request.
FULFILLED_BY: dict[PendingKind, frozenset[CampaignStatus]] = {
    PendingKind.START: frozenset({CampaignStatus.RUNNING, CampaignStatus.COMPLETED}),
    PendingKind.STOP: frozenset({CampaignStatus.STOPPED, CampaignStatus.COMPLETED}),
}


class PendingOperation(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: PendingKind
    requested_by: str
    requested_at: datetime
    detail: str = ""


class RemovalStage(StrEnum):
    AWAITING_APPROVAL = "awaiting_approval"
    STOPPING = "stopping"  # approved; stop sent, waiting for the stopped notification
    DELETING = "deleting"  # stop confirmed; delete sent, waiting for the deleted notification


class Removal(BaseModel):
    model_config = ConfigDict(frozen=True)

    requested_by: str
    requested_at: datetime
    stage: RemovalStage = RemovalStage.AWAITING_APPROVAL
    approved_by: str | None = None
    approved_at: datetime | None = None
    approval_message_ts: str | None = None
    stage_since: datetime | None = None  # when the stage last changed, to spot a stalled step


class Campaign(BaseModel):
    model_config = ConfigDict(frozen=True)

    ref: str
    name: str
    detail: str = ""
    dialer: str
    dialer_id: str | None = None
    channel_id: str | None = None
    created_by: str
    created_at: datetime

    status: CampaignStatus = CampaignStatus.STOPPED
    status_sequence: int = NO_SEQUENCE
    status_changed_at: datetime | None = None
    status_actor: str | None = None

    settings: CampaignSettings = CampaignSettings()
    settings_sequence: int = NO_SEQUENCE
    agents: tuple[AgentAssignment, ...] = ()
    agents_sequence: int = NO_SEQUENCE
    counters: dict[str, int] = Field(default_factory=dict)
    counters_sequence: int = NO_SEQUENCE

    pending: PendingOperation | None = None
    removal: Removal | None = None
    card_ts: str | None = None  # the Slack message that shows this campaign, updated in place

    @property
    def is_live(self) -> bool:
        return self.status is not CampaignStatus.DELETED

    def running_agents(self) -> frozenset[str]:
        """Agents this campaign holds while it runs (for the two-running-campaigns warning)."""
        if self.status is not CampaignStatus.RUNNING:
            return frozenset()
        return frozenset(agent.agent_id for agent in self.agents)
