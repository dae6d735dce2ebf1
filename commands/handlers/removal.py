"""The removal workflow's human steps: request, approve, reject, cancel (docs/architecture.md,
"The removal workflow").

A removal waiting for approval never locks a campaign for good: any lead may reject it, the
requester may cancel it (the Reject button, or ``/campaign remove <ref> cancel``), and a request
whose approval message could not be posted is withdrawn at once (``withdraw_removal``).

Each step is one atomic ``store.update`` with the pure functions of ``state.removal``; what the
dialer must do next (stop, or delete once stopped) comes back as effects for the engine.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from commands.handlers.context import Deps, Requester
from commands.handlers.control import find_campaign, name_of
from commands.replies import ChannelEdit, ChannelPost, Reply, say
from commands.requests import ApproveRemoval, CancelRemoval, RejectRemoval, RemoveCampaign
from commands.text import code, escape
from commands.views.approval import approval_decided, approval_expired, approval_request
from state.campaign import Campaign
from state.effects import Effect, RefreshCard
from state.expired_requests import ExpiredRequests
from state.removal import (
    RemovalExpired,
    RemovalRefused,
    approval_deadline,
    approve_removal,
    expire_removal,
    is_expired,
    reject_removal,
    request_removal,
)
from state.store import CampaignStore

log = logging.getLogger(__name__)


async def run_removal(
    deps: Deps,
    who: Requester,
    command: RemoveCampaign | CancelRemoval | ApproveRemoval | RejectRemoval,
) -> Reply:
    """``/campaign remove``, ``remove <ref> cancel`` and the approval message's buttons."""
    match command:
        case RemoveCampaign(ref=ref):
            return await ask_to_remove(deps, who, ref)
        case ApproveRemoval(ref=ref, request_id=request_id):
            return await decide_removal(deps, who, ref, approve=True, request_id=request_id)
        case RejectRemoval(ref=ref, request_id=request_id):
            return await decide_removal(deps, who, ref, approve=False, request_id=request_id)
        case CancelRemoval(ref=ref):
            return await decide_removal(deps, who, ref, approve=False)


async def ask_to_remove(deps: Deps, who: Requester, ref: str) -> Reply:
    found = await find_campaign(deps, ref)
    channel = found.channel_id or who.channel_id
    if channel is None:
        return say("This campaign has no channel to ask for approval in.")
    now = deps.clock()

    def change(campaign: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        return request_removal(campaign, who.user_id, now, deps.removal_approval_ttl)

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


async def decide_removal(
    deps: Deps, who: Requester, ref: str, *, approve: bool, request_id: str | None = None
) -> Reply:
    """Approve or reject the removal request awaiting approval. ``request_id`` (from a button):
    the request the button was posted for; any other request is left alone, so a decision is
    single-use. An Approve after the request expired is refused, and expires it if the sweeper
    has not yet."""
    found = await find_campaign(deps, ref)
    removal = found.removal
    now = deps.clock()
    if request_id and (removal is None or removal.request_id not in ("", request_id)):
        if await deps.expired_requests.expired(request_id):
            return say(
                f":no_entry: That removal request of {code(ref)} expired without an approval, "
                "so it can no longer be approved or rejected; nothing changed. Ask again with "
                f"`/campaign remove {ref}`."
            )
        return say(
            f":no_entry: That approval message is for an earlier removal request of "
            f"{code(ref)}, already decided; nothing changed."
        )
    if removal is not None and is_expired(removal, now, deps.removal_approval_ttl):
        return await _refuse_expired(deps, who, found, now)

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
    except RemovalExpired:
        return await _refuse_expired(deps, who, found, now)
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


async def remember_approval_message(deps: Deps, ref: str, ts: str) -> bool:
    """Keep the approval message's ts on the removal, so a decision can update it in place.

    False when there is no removal left to keep it on: it was cancelled or withdrawn while its
    message was being posted, so nothing will ever update that message unless the caller does.
    """
    kept = False

    def change(campaign: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        nonlocal kept
        kept = campaign.removal is not None
        if campaign.removal is None:
            return campaign, ()
        removal = campaign.removal.model_copy(update={"approval_message_ts": ts})
        return campaign.model_copy(update={"removal": removal}), ()

    await deps.store.update(ref, change, actor="campaign-bot", action="removal:approval-posted")
    return kept


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


async def expire_if_due(
    store: CampaignStore, ref: str, now: datetime, ttl: timedelta
) -> Campaign | None:
    """Expire ``ref``'s removal request if it waited past its deadline: one atomic update, so of
    any number of callers (replicas' sweepers, a late Approve) exactly one gets the campaign as
    it was (with its request, to update the approval message); the others get None."""
    before: list[Campaign] = []

    def change(campaign: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        before[:] = [campaign]
        return expire_removal(campaign, now, ttl)

    try:
        await store.update(ref, change, actor="campaign-bot", action="removal:expired")
    except RemovalRefused:
        return None
    expired = before[-1]
    if expired.removal is not None and expired.removal.request_id:
        # So that a click on its Approve later is told why nothing happens.
        await ExpiredRequests.of(store).remember(expired.removal.request_id, ref)
    return expired


def expired_approval_edit(campaign: Campaign) -> ChannelEdit | None:
    """The approval message of ``campaign``'s (now expired) request, rewritten as expired."""
    removal = campaign.removal
    if removal is None or not removal.approval_message_ts or not campaign.channel_id:
        return None
    text, blocks = approval_expired(campaign, removal.requested_by)
    return ChannelEdit(campaign.channel_id, removal.approval_message_ts, text, blocks)


async def _refuse_expired(deps: Deps, who: Requester, found: Campaign, now: datetime) -> Reply:
    assert found.removal is not None
    deadline = approval_deadline(found.removal, deps.removal_approval_ttl)
    text = (
        f":no_entry: The removal request of {name_of(found)} expired at "
        f"{deadline:%Y-%m-%d %H:%M} UTC without an approval, so it cannot be approved or "
        f"rejected now; nothing changed. Ask again with `/campaign remove {found.ref}`."
    )
    expired = await expire_if_due(deps.store, found.ref, now, deps.removal_approval_ttl)
    if expired is None:
        return say(text)  # the sweeper (or another click) expired it already
    edit = expired_approval_edit(expired)
    return Reply(
        text=text,
        edits=(edit,) if edit is not None else (),
        effects=(RefreshCard(found.ref),),
        campaign=await deps.store.get(found.ref),
    )
