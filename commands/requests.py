"""What a person asked for, as typed models: the parser's output and the handlers' input.

Built from slash-command text (``commands.parse``) or from a button (``bot.slack``); nothing here
knows about Slack.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from state.domain import AgentDefaultState


class Command(BaseModel):
    """Who may run it (campaign leads only, or anyone) is its subcommand's ``lead_only`` in
    ``commands.registry``."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class ShowHelp(Command):
    pass


class ListCampaigns(Command):
    page: int = 0
    every_channel: bool = False
    """``list all``: every channel's campaigns (leads only); otherwise the current channel's."""


class OpenNewCampaign(Command):
    pass


class CampaignCommand(Command):
    ref: str


class ShowCampaign(CampaignCommand):
    pass


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
