"""One entry point from a typed command to its handler, with the authorisation check first."""

from __future__ import annotations

from dataclasses import replace

from commands.authz import NOT_ALLOWED
from commands.handlers.context import Deps, Requester
from commands.handlers.control import (
    change_agents,
    change_settings,
    running_elsewhere,
    show_campaign,
    start_or_stop,
)
from commands.handlers.create import open_new_campaign
from commands.handlers.history import show_history
from commands.handlers.overview import ONLY_LEADS_SEE_ALL, list_campaigns
from commands.handlers.removal import ask_to_remove, decide_removal
from commands.replies import Reply, say
from commands.requests import (
    AddAgents,
    ApproveRemoval,
    CancelRemoval,
    ChangeSettings,
    Command,
    ListCampaigns,
    OpenNewCampaign,
    RejectRemoval,
    RemoveAgents,
    RemoveCampaign,
    SetAgentDefault,
    ShowCampaign,
    ShowHelp,
    ShowHistory,
    StartCampaign,
    StopCampaign,
)
from commands.views.help import help_blocks
from commands.views.modals import campaign_modal


async def handle(command: Command, deps: Deps, who: Requester) -> Reply:
    if command.changes_campaigns and not await deps.authz.may_change(who.user_id):
        return say(NOT_ALLOWED)
    match command:
        case ShowHelp():
            text, blocks = help_blocks()
            return Reply(text=text, blocks=blocks)
        case ListCampaigns(page=page, every_channel=every_channel):
            if every_channel and not await deps.authz.may_change(who.user_id):
                return say(ONLY_LEADS_SEE_ALL)
            channel = None if every_channel else who.channel_id
            return await list_campaigns(deps, page, channel=channel, every_channel=every_channel)
        case OpenNewCampaign():
            return open_new_campaign(who.channel_id)
        case ShowCampaign(ref=ref):
            lead = await deps.authz.may_change(who.user_id)
            return await show_campaign(deps, ref, who, lead=lead)
        case StartCampaign() | StopCampaign():
            return await start_or_stop(deps, who, command)
        case ChangeSettings():
            return await change_settings(deps, who, command)
        case AddAgents() | RemoveAgents() | SetAgentDefault():
            return await change_agents(deps, who, command)
        case ShowHistory(ref=ref, as_csv=as_csv, before=before):
            lead = await deps.authz.may_change(who.user_id)
            return await show_history(deps, who, ref, lead=lead, as_csv=as_csv, before=before)
        case RemoveCampaign(ref=ref):
            return await ask_to_remove(deps, who, ref)
        case ApproveRemoval(ref=ref, request_id=request_id):
            return await decide_removal(deps, who, ref, approve=True, request_id=request_id)
        case RejectRemoval(ref=ref, request_id=request_id):
            return await decide_removal(deps, who, ref, approve=False, request_id=request_id)
        case CancelRemoval(ref=ref):
            return await decide_removal(deps, who, ref, approve=False)
    raise TypeError(f"no handler for {type(command).__name__}")


async def handle_in_campaign_view(command: Command, ref: str, deps: Deps, who: Requester) -> Reply:
    """A button inside the campaign modal: handle it, and redraw the modal as it now stands."""
    reply = await handle(command, deps, who)
    campaign = await deps.store.get(ref)
    if campaign is None:
        return reply
    conflicts = await running_elsewhere(deps, ref, (a.agent_id for a in campaign.agents))
    return replace(reply, modal=campaign_modal(campaign, conflicts, deps.clock()))
