"""One entry point from a typed command to its handler (found in ``commands.registry``), with
the authorisation check first, and the one place where a handler's ``CommandError`` or
``CommandRefused`` becomes the reply."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace

from commands.authz import NOT_ALLOWED
from commands.errors import CommandError, CommandRefused
from commands.handlers.context import Deps, Requester
from commands.handlers.control import apply_campaign_edit, running_elsewhere
from commands.registry import USAGE, subcommand_of
from commands.replies import Reply, say
from commands.requests import Command
from commands.views.forms import CampaignEditForm
from commands.views.help import mistake_blocks
from commands.views.modals import campaign_modal


async def handle(command: Command, deps: Deps, who: Requester) -> Reply:
    entry = subcommand_of(command)
    if entry.lead_only and not await deps.authz.may_change(who.user_id):
        return say(NOT_ALLOWED)
    return await answered(entry.handle(deps, who, command), entry.usage)


async def handle_in_campaign_view(command: Command, ref: str, deps: Deps, who: Requester) -> Reply:
    """A button inside the campaign modal: handle it, and redraw the modal as it now stands."""
    reply = await handle(command, deps, who)
    campaign = await deps.store.get(ref)
    if campaign is None:
        return reply
    conflicts = await running_elsewhere(deps, ref, (a.agent_id for a in campaign.agents))
    return replace(reply, modal=campaign_modal(campaign, conflicts, deps.clock()))


async def apply_edit(deps: Deps, who: Requester, ref: str, form: CampaignEditForm) -> Reply:
    """The campaign modal's Apply (the caller checked that a lead asks)."""
    return await answered(apply_campaign_edit(deps, who, ref, form), USAGE["show"])


async def answered(reply: Awaitable[Reply], usage: str) -> Reply:
    """The handler's reply, or what its ``CommandError`` / ``CommandRefused`` says."""
    try:
        return await reply
    except CommandError as exc:
        text, blocks = mistake_blocks(exc.problem, exc.usage or usage)
        return Reply(text=text, blocks=blocks)
    except CommandRefused as exc:
        return say(exc.text)
