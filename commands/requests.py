"""What a person asked for, as typed models: the parser's output and the handlers' input.

Built from slash-command text (``commands.parse``) or from a button (``bot.slack``); nothing here
knows about Slack.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from state.domain import AgentDefaultState


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    changes_campaigns: ClassVar[bool] = True
    """Whether only campaign leads may run it (looking is open to everyone)."""


class ShowHelp(Command):
    changes_campaigns: ClassVar[bool] = False


class ListCampaigns(Command):
    changes_campaigns: ClassVar[bool] = False
    page: int = 0
    every_channel: bool = False
    """``list all``: every channel's campaigns (leads only); otherwise the current channel's."""


class OpenNewCampaign(Command):
    pass


class CampaignCommand(Command):
    ref: str


class ShowCampaign(CampaignCommand):
    changes_campaigns: ClassVar[bool] = False


class StartCampaign(CampaignCommand):
    partial: bool = False
    """Start although the leads upload has not finished (dial what the dialer already has)."""


class StopCampaign(CampaignCommand):
    pass


class ChangeSettings(CampaignCommand):
    changes: dict[str, Any]
    """Validated setting values by field name of ``CampaignSettings``; only these are changed."""


class AddAgents(CampaignCommand):
    agent_ids: tuple[str, ...]


class RemoveAgents(CampaignCommand):
    agent_ids: tuple[str, ...]


class SetAgentDefault(CampaignCommand):
    state: AgentDefaultState


class RemoveCampaign(CampaignCommand):
    pass


class ShowHistory(CampaignCommand):
    changes_campaigns: ClassVar[bool] = False
    as_csv: bool = False
    """``history <ref> csv``: every event, as a CSV file for the person who asked."""
    before: str | None = None
    """**Older**: the entries older than this audit entry id."""


class ApproveRemoval(CampaignCommand):
    request_id: str | None = None
    """From the button: the request it approves (an earlier request's button approves nothing)."""


class RejectRemoval(CampaignCommand):
    request_id: str | None = None


class CancelRemoval(CampaignCommand):
    """``remove <ref> cancel``: the requester withdraws a removal waiting for approval (any other
    lead rejects it)."""
