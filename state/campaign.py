"""The campaign as the bot stores it: what the dialer last reported, plus what the bot asked for.

The status fields change only through ``state.machine.apply_notification``. What a lead asked the
bot to do is kept apart as ``pending`` (and ``removal``) until a notification fulfils it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from state.calling_window import CallingWindow
from state.domain import AgentAssignment, CampaignSettings, CampaignStatus, NotificationSource

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
    expires_at: datetime | None = None
    """Past it, a request still awaiting approval expires (``REMOVAL_APPROVAL_TTL_SECONDS``)."""
    request_id: str = ""
    """Names this request on its Approve / Reject buttons: a button of an earlier, decided
    request never decides a newer one."""


class Armed(BaseModel):
    """A lead's start kept while the campaign has a calling window: the bot sends a start at
    each opening and a stop at each closing, on this lead's behalf, until a lead stops it."""

    model_config = ConfigDict(frozen=True)

    by: str
    at: datetime
    partial: bool = False
    """The start was ``partial`` (dial the contacts already on the dialer)."""


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
    status_source: NotificationSource | None = None
    """Where the status came from; ``None``: the bot assumed it (the status of a new campaign)."""
    stop_sent_at: datetime | None = None
    """When the dialer last accepted a stop from the bot (a lead's or a removal's); a start the
    bot sends clears it."""
    stop_reported: bool = False
    """A ``stopped`` or ``completed`` was reported (never assumed) after that stop, and nothing
    since: the seed's condition for a delete."""

    settings: CampaignSettings = CampaignSettings()
    settings_sequence: int = NO_SEQUENCE
    agents: tuple[AgentAssignment, ...] = ()
    agents_sequence: int = NO_SEQUENCE
    counters: dict[str, int] = Field(default_factory=dict)
    counters_sequence: int = NO_SEQUENCE

    pending: PendingOperation | None = None
    removal: Removal | None = None
    card_ts: str | None = None  # the Slack message that shows this campaign, updated in place
    window: CallingWindow | None = None
    """The local hours in which the campaign may dial (``/campaign window``); None: any time."""
    armed: Armed | None = None
    """Set while a lead's start stands under the window (``state.calling_window``)."""

    @property
    def status_reported(self) -> bool:
        """The dialer said so (a notification or a read of it), rather than the bot assuming."""
        return self.status_source is not None

    @property
    def is_live(self) -> bool:
        return self.status is not CampaignStatus.DELETED

    def running_agents(self) -> frozenset[str]:
        """Agents this campaign holds while it runs (for the two-running-campaigns warning)."""
        if self.status is not CampaignStatus.RUNNING:
            return frozenset()
        return frozenset(agent.agent_id for agent in self.agents)


def with_request(campaign: Campaign, pending: PendingOperation) -> Campaign:
    """``campaign`` once the dialer accepted the request ``pending``.

    The card shows one pending request, the latest: a stop supersedes a pending start and the
    other way round, and a request recorded after a newer one was sent (two leads, 150 ms apart,
    the first one's dialer call slower) is not shown. A stop is remembered for the removal rule;
    a start forgets it. A start whose ``running`` was already applied is not shown as pending.
    """
    current = campaign.pending
    newer = current is not None and current.requested_at > pending.requested_at
    if pending.kind is PendingKind.START:
        stopped_since = campaign.stop_sent_at is not None and campaign.stop_sent_at > (
            pending.requested_at
        )
        if newer or stopped_since:
            return campaign
        running = campaign.status is CampaignStatus.RUNNING
        if running and (current is None or current.kind is not PendingKind.STOP):
            pending_now: PendingOperation | None = None
        else:
            pending_now = pending
        return campaign.model_copy(
            update={"pending": pending_now, "stop_sent_at": None, "stop_reported": False}
        )
    if pending.kind is PendingKind.STOP:
        if newer:
            return campaign  # a start sent after this stop supersedes it
        return campaign.model_copy(
            update={
                "pending": pending,
                "stop_sent_at": pending.requested_at,
                "stop_reported": False,
            }
        )
    return campaign.model_copy(update={"pending": pending})


START_SETTLE = timedelta(seconds=60)
"""How long an accepted start may take to show on the dialer (LiveVox builds and plays, OCS loads
its calling lists): until then a read of ``stopped`` may predate it."""


def start_in_flight(campaign: Campaign, now: datetime, settle: timedelta = START_SETTLE) -> bool:
    """Whether a start the dialer accepted may not have taken effect yet. A read of ``stopped``
    then says nothing about a stop sent after the start: the start may still set the campaign
    running, so the read must not count as the stop's report."""
    pending = campaign.pending
    return (
        pending is not None
        and pending.kind is PendingKind.START
        and now - pending.requested_at < settle
    )


def with_start_sent(campaign: Campaign, at: datetime) -> Campaign:
    """``campaign`` once the dialer accepted a start while it was shown running already.

    Nothing is pending (no notification would close it), but the dialer may run the campaign
    again: a stop reported before this start no longer allows a delete. A stop sent after it
    (two leads, the stop's dialer call faster) is kept.
    """
    if campaign.stop_sent_at is not None and campaign.stop_sent_at > at:
        return campaign
    return campaign.model_copy(update={"stop_sent_at": None, "stop_reported": False})


def with_stop_sent(campaign: Campaign, at: datetime) -> Campaign:
    """``campaign`` once the dialer accepted a stop the removal sent."""
    return campaign.model_copy(update={"stop_sent_at": at, "stop_reported": False})
