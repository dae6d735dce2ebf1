"""The removal workflow's human steps (DESIGN section 3): request, approve, reject, cancel.

A removal waiting for approval never locks a campaign for good: any lead may reject it, the
requester may cancel it (the Reject button, or ``/campaign remove <ref> cancel``), and a request
whose approval message could not be posted is withdrawn at once (``withdraw_removal``).

Each step is one atomic ``store.update`` with the pure functions of ``state.removal``; what the
dialer must do next (stop, or delete once stopped) comes back as effects for the engine.
"""

from __future__ import annotations

import logging

from commands.handlers.context import Deps, Requester
from commands.handlers.control import find_campaign, name_of
from commands.replies import ChannelEdit, ChannelPost, Reply, say
from commands.text import escape
from commands.views.approval import approval_decided, approval_request
from state.campaign import Campaign
from state.effects import Effect, RefreshCard
from state.removal import RemovalRefused, approve_removal, reject_removal, request_removal

log = logging.getLogger(__name__)


async def ask_to_remove(deps: Deps, who: Requester, ref: str) -> Reply:
    found = await find_campaign(deps, ref, "remove")
    if isinstance(found, Reply):
        return found
    channel = found.channel_id or who.channel_id
    if channel is None:
        return say("This campaign has no channel to ask for approval in.")
    now = deps.clock()

    def change(campaign: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        return request_removal(campaign, who.user_id, now)

    try:
        campaign, effects = await deps.store.update(
            ref, change, actor=who.user_id, action="removal:request"
        )
    except RemovalRefused as exc:
        return say(f":no_entry: {escape(str(exc))}")
    text, blocks = approval_request(campaign, who.user_id)
    return Reply(
        text=f"Asked for approval to remove {name_of(campaign)} in <#{channel}>. "
        "Another campaign lead has to approve it.",
        posts=(ChannelPost(channel, text, blocks, approval_for=ref),),
        effects=effects,
        campaign=campaign,
    )


async def decide_removal(deps: Deps, who: Requester, ref: str, *, approve: bool) -> Reply:
    found = await find_campaign(deps, ref, "remove")
    if isinstance(found, Reply):
        return found
    removal = found.removal
    now = deps.clock()

    def change(campaign: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        if approve:
            return approve_removal(campaign, who.user_id, now)
        return reject_removal(campaign, who.user_id)

    try:
        campaign, effects = await deps.store.update(
            ref,
            change,
            actor=who.user_id,
            action="removal:approve" if approve else "removal:reject",
        )
    except RemovalRefused as exc:
        return say(f":no_entry: {escape(str(exc))}")
    assert removal is not None  # the change would have refused otherwise
    edits: tuple[ChannelEdit, ...] = ()
    channel = found.channel_id or who.channel_id
    if removal.approval_message_ts and channel:
        text, blocks = approval_decided(campaign, removal.requested_by, who.user_id, approve)
        edits = (ChannelEdit(channel, removal.approval_message_ts, text, blocks),)
    if approve:
        note = f"Approved. {name_of(campaign)} is deleted once the dialer confirms it has stopped."
    elif who.user_id == removal.requested_by:
        note = f"Removal request cancelled. {name_of(campaign)} stays as it is."
    else:
        note = f"Rejected. {name_of(campaign)} stays as it is."
    return Reply(
        text=note,
        edits=edits,
        effects=(*effects, RefreshCard(ref)),
        campaign=campaign,
    )


async def remember_approval_message(deps: Deps, ref: str, ts: str) -> None:
    """Keep the approval message's ts on the removal, so a decision can update it in place."""

    def change(campaign: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        if campaign.removal is None:
            return campaign, ()
        removal = campaign.removal.model_copy(update={"approval_message_ts": ts})
        return campaign.model_copy(update={"removal": removal}), ()

    await deps.store.update(ref, change, actor="campaign-bot", action="removal:approval-posted")


async def withdraw_removal(deps: Deps, ref: str, requested_by: str) -> None:
    """Undo a removal request whose approval message could not be posted; a request already
    decided (or a newer one by someone else) is left alone."""

    def change(campaign: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        removal = campaign.removal
        if removal is None or removal.requested_by != requested_by:
            return campaign, ()
        try:
            return reject_removal(campaign, requested_by)
        except RemovalRefused:
            return campaign, ()

    try:
        await deps.store.update(ref, change, actor="campaign-bot", action="removal:withdrawn")
    except Exception:
        log.exception("the removal request of %s could not be withdrawn", ref)
