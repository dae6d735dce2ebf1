"""Start, stop, settings and agents: ask the dialer, then record the request as pending.

The status never changes here: it changes when the dialer's notification arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from commands.errors import CampaignNotFound, CommandError, CommandRefused
from commands.handlers.armed import apply_window, disarm, hold_for_window
from commands.handlers.context import Deps, Requester, dialer_failed
from commands.leads.upload import upload_status
from commands.replies import Reply, say
from commands.requests import (
    AddAgents,
    ChangeSettings,
    RemoveAgents,
    SetAgentDefault,
    ShowCampaign,
    StartCampaign,
    StopCampaign,
)
from commands.settings_input import merged
from commands.text import code, escape
from commands.views.campaign import removal_text
from commands.views.forms import CampaignEditForm
from commands.views.modals import campaign_modal
from dialer.errors import DialerError
from dialer.registry import capabilities_of
from state.campaign import (
    Campaign,
    PendingKind,
    PendingOperation,
    with_request,
    with_start_sent,
    with_stop_sent,
)
from state.domain import CampaignSettings, CampaignStatus
from state.effects import ConfirmStop, Effect, RefreshCard
from state.store import UnknownCampaign

# The requests that supersede each other: the latest one is the campaign's pending request.
OPPOSITE = frozenset({PendingKind.START, PendingKind.STOP})
# Statuses in which a start or stop changes nothing (a completed campaign may be started again).
ALREADY_THERE: dict[PendingKind, frozenset[CampaignStatus]] = {
    PendingKind.START: frozenset({CampaignStatus.RUNNING}),
    PendingKind.STOP: frozenset({CampaignStatus.STOPPED, CampaignStatus.COMPLETED}),
}


async def start_or_stop(
    deps: Deps,
    who: Requester,
    command: StartCampaign | StopCampaign,
    *,
    by_window: bool = False,
) -> Reply:
    """Send the start or stop, then show it as the campaign's one pending request.

    A stop supersedes a pending start (and the other way round): the card shows the latest
    request, and the reply says what was sent and which request it replaces. A stop is followed
    by a confirmation read (``ConfirmStop``), so a stop the dialer publishes nothing about (the
    campaign was already stopped) is known, and the removal rule has its reported stop.

    Under a calling window a person's start arms the campaign and, outside the window, waits for
    it; a person's stop disarms it (``commands.handlers.armed``). ``by_window``: the window's own
    start or stop (``bot.window_scheduler``), on behalf of the lead who armed it.
    """
    campaign = await find_campaign(deps, command.ref)
    # The window's stop goes out even while a removal waits for its approval: calling hours
    # come first, and a stop is what the removal needs anyway.
    window_stop = by_window and isinstance(command, StopCampaign)
    if (locked := refuse_if_locked(campaign)) is not None and not window_stop:
        return locked
    wants_every_lead = isinstance(command, StartCampaign) and not command.partial
    if wants_every_lead and (unfinished := await refuse_if_leads_unfinished(deps, campaign)):
        return unfinished
    if by_window:
        return await _send_start_or_stop(deps, who, command, campaign)
    held = await hold_for_window(deps, who, campaign, command)
    if isinstance(held, Reply):
        return held
    reply = await _send_start_or_stop(deps, who, command, campaign)
    if held is None:
        return reply
    if reply.campaign is None and isinstance(command, StartCampaign):
        # The dialer did not take the start: nor does the window start it later.
        await disarm(deps, who, campaign.ref)
        return reply
    return replace(reply, text=f"{reply.text}\n{held}")


async def _send_start_or_stop(
    deps: Deps, who: Requester, command: StartCampaign | StopCampaign, campaign: Campaign
) -> Reply:
    starting = isinstance(command, StartCampaign)
    verb = "start" if starting else "stop"
    kind = PendingKind.START if starting else PendingKind.STOP
    # Taken before the request goes out: the order of two leads' requests is the sending order.
    pending = PendingOperation(kind=kind, requested_by=who.user_id, requested_at=deps.clock())
    try:
        await (deps.dialer.start if starting else deps.dialer.stop)(campaign.ref)
    except DialerError as exc:
        return dialer_failed(exc, verb)
    superseded = campaign.pending
    if superseded is None or superseded.kind not in OPPOSITE or superseded.kind is kind:
        superseded = None
    sent = f"{verb.capitalize()} of {name_of(campaign)} sent to the dialer"
    if superseded is None and campaign.status in ALREADY_THERE[kind]:
        # Already there: the dialer changes nothing, and no notification will close a request.
        already = f"{sent}; it is already {campaign.status.value}; nothing changes."
        if starting:
            # Sent all the same: the dialer may have stopped unseen, and an earlier reported
            # stop must no longer allow a delete.
            started = await _record(
                deps, who, campaign.ref, kind, lambda c: with_start_sent(c, pending.requested_at)
            )
            return Reply(text=already, campaign=started)
        stopped = await _record(
            deps, who, campaign.ref, kind, lambda c: with_stop_sent(c, pending.requested_at)
        )
        return Reply(text=already, effects=(ConfirmStop(campaign.ref),), campaign=stopped)
    updated = await _record(deps, who, campaign.ref, kind, lambda c: with_request(c, pending))
    lines = [
        f"{sent}. The channel says when it is {'running' if starting else 'stopped'}."
        + (
            f" It replaces the {superseded.kind.value} requested by <@{superseded.requested_by}>."
            if superseded is not None
            else ""
        )
    ]
    if starting:
        lines += await agent_warnings(deps, campaign.ref, (a.agent_id for a in campaign.agents))
    effects: tuple[Effect, ...] = (RefreshCard(campaign.ref),)
    if not starting:
        effects += (ConfirmStop(campaign.ref),)
    return Reply(text="\n".join(lines), effects=effects, campaign=updated)


async def _record(
    deps: Deps, who: Requester, ref: str, kind: PendingKind, change: Callable[[Campaign], Campaign]
) -> Campaign:
    def pure(campaign: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        return change(campaign), ()

    updated, _ = await deps.store.update(
        ref, pure, actor=who.user_id, action=f"request:{kind.value}"
    )
    return updated


async def refuse_if_leads_unfinished(deps: Deps, campaign: Campaign) -> Reply | None:
    """A campaign starts once its leads are all on the dialer, unless the lead says otherwise."""
    upload = await upload_status(deps.uploads, campaign.ref)
    if upload is None or upload.complete:
        return None
    where = "is still going" if upload.running else f"stopped ({upload.state.value})"
    return say(
        f"The leads upload of {name_of(campaign)} {where}: {upload.sent:,} of {upload.total:,} "
        f"contacts are on the dialer. Start it once the upload has finished, or "
        f"`/campaign start {campaign.ref} partial` to dial only the contacts already there."
    )


async def change_settings(deps: Deps, who: Requester, command: ChangeSettings) -> Reply:
    campaign = await find_campaign(deps, command.ref)
    return await apply_settings(deps, who, campaign, merged(campaign.settings, command.changes))


async def apply_settings(
    deps: Deps, who: Requester, campaign: Campaign, settings: CampaignSettings
) -> Reply:
    if (locked := refuse_if_locked(campaign)) is not None:
        return locked
    changed = describe_changes(campaign.settings, settings)
    if not changed:
        return say(f"{name_of(campaign)} already has these settings; nothing was sent.")
    try:
        await deps.dialer.update_settings(campaign.ref, settings)
    except DialerError as exc:
        return dialer_failed(exc, "settings")
    pending = PendingOperation(
        kind=PendingKind.SETTINGS,
        requested_by=who.user_id,
        requested_at=deps.clock(),
        detail=changed,
    )
    updated = await deps.store.record_request(campaign.ref, pending)
    return Reply(
        text=f"Settings of {name_of(campaign)} sent to the dialer: {escape(changed)}. "
        "The card shows them once the dialer confirms.",
        effects=(RefreshCard(campaign.ref),),
        campaign=updated,
    )


def describe_changes(before: CampaignSettings, after: CampaignSettings) -> str:
    old, new = before.model_dump(mode="json"), after.model_dump(mode="json")
    return ", ".join(f"{name} {old[name]} → {new[name]}" for name in new if old[name] != new[name])


async def change_agents(
    deps: Deps,
    who: Requester,
    command: AddAgents | RemoveAgents | SetAgentDefault,
    *,
    just_added: tuple[str, ...] = (),
) -> Reply:
    """``just_added``: agents sent a moment ago, not yet confirmed by the dialer."""
    campaign = await find_campaign(deps, command.ref)
    if (locked := refuse_if_locked(campaign)) is not None:
        return locked
    if (elsewhere := agents_elsewhere(campaign)) is not None:
        return say(f"{elsewhere} Nothing was sent to the dialer.")
    present = {a.agent_id for a in campaign.agents}
    warnings: list[str] = []
    try:
        if isinstance(command, AddAgents):
            detail = f"added {' '.join(command.agent_ids)}"
            warnings = await agent_warnings(deps, campaign.ref, command.agent_ids)
            await deps.dialer.add_agents(campaign.ref, command.agent_ids)
        elif isinstance(command, RemoveAgents):
            unknown = [a for a in command.agent_ids if a not in present]
            if unknown:
                raise CommandError(
                    f"{', '.join(code(a) for a in unknown)} "
                    f"{'is' if len(unknown) == 1 else 'are'} not an agent of {name_of(campaign)}."
                )
            detail = f"removed {' '.join(command.agent_ids)}"
            await deps.dialer.remove_agents(campaign.ref, command.agent_ids)
        else:
            if not present and not just_added:
                return say(
                    f"{name_of(campaign)} has no agents yet, so there is no default state to "
                    f"set. Add agents first: `/campaign agents {campaign.ref} add <agent…>`."
                )
            detail = f"default state {command.state.value}"
            await deps.dialer.set_agent_default_state(campaign.ref, command.state)
    except DialerError as exc:
        return dialer_failed(exc, "agents change")
    pending = PendingOperation(
        kind=PendingKind.AGENTS, requested_by=who.user_id, requested_at=deps.clock(), detail=detail
    )
    updated = await deps.store.record_request(campaign.ref, pending)
    text = f"Agents of {name_of(campaign)}: {escape(detail)}. Sent to the dialer."
    return Reply(
        text="\n".join([text, *warnings]), effects=(RefreshCard(campaign.ref),), campaign=updated
    )


def agents_elsewhere(campaign: Campaign) -> str | None:
    """Where the campaign's agents are managed, when its dialer takes no agents through its API
    (``DialerCapabilities.agents_managed_here``); None when they are managed here."""
    capabilities = capabilities_of(campaign.dialer)
    if capabilities.agents_managed_here:
        return None
    return (
        f"The agents of {name_of(campaign)} are not managed by the bot: they are assigned in "
        f"{escape(capabilities.agents_managed_where)}."
    )


async def agent_warnings(deps: Deps, ref: str, agent_ids: Iterable[str]) -> list[str]:
    """A line for each agent who is already in another running campaign."""
    lines = []
    for agent_id, others in (await running_elsewhere(deps, ref, agent_ids)).items():
        lines.append(
            f":warning: {code(agent_id)} is already active in running campaign "
            f"{', '.join(code(r) for r in sorted(others))}; an agent cannot be active in two "
            "running campaigns at once."
        )
    return lines


async def running_elsewhere(deps: Deps, ref: str, agent_ids: Iterable[str]) -> dict[str, set[str]]:
    found = {}
    for agent_id in agent_ids:
        others = await deps.store.running_campaigns_of(agent_id) - {ref}
        if others:
            found[agent_id] = others
    return found


async def run_show(deps: Deps, who: Requester, command: ShowCampaign) -> Reply:
    lead = await deps.authz.may_change(who.user_id)
    return await show_campaign(deps, command.ref, who, lead=lead)


async def show_campaign(deps: Deps, ref: str, who: Requester, *, lead: bool) -> Reply:
    """A campaign of another channel is shown to leads only (they run every channel's)."""
    campaign = await find_campaign(deps, ref, deleted_too=True)
    home = campaign.channel_id
    if not lead and home is not None and home != who.channel_id:
        return say(
            f"{code(campaign.ref)} belongs to another channel, <#{home}>: look at it there. "
            "Only campaign leads see other channels' campaigns."
        )
    conflicts = await running_elsewhere(deps, ref, (a.agent_id for a in campaign.agents))
    return Reply(modal=campaign_modal(campaign, conflicts, deps.clock()), campaign=campaign)


async def find_campaign(deps: Deps, ref: str, *, deleted_too: bool = False) -> Campaign:
    """The stored campaign; ``CampaignNotFound`` for an unknown ref, and ``CommandRefused`` for a
    deleted one unless ``deleted_too`` (its record stays readable)."""
    try:
        campaign = await deps.store.require(ref)
    except UnknownCampaign:
        raise CampaignNotFound(ref) from None
    if campaign.status is CampaignStatus.DELETED and not deleted_too:
        raise CommandRefused(f"{name_of(campaign)} was deleted; nothing can change it now.")
    return campaign


def refuse_if_locked(campaign: Campaign) -> Reply | None:
    note = removal_text(campaign)
    if note is None:
        return None
    return say(f"{name_of(campaign)} is being removed, so it cannot be changed: {note}.")


def name_of(campaign: Campaign) -> str:
    return f"*{escape(campaign.name)}* {code(campaign.ref)}"


async def apply_campaign_edit(
    deps: Deps, who: Requester, ref: str, form: CampaignEditForm
) -> Reply:
    """The campaign modal's Apply: settings, then new agents, then the default state, then the
    calling window.

    Each part goes to the dialer only if it changes something; the replies are combined.
    """
    campaign = await find_campaign(deps, ref, deleted_too=True)
    replies: list[Reply] = []
    settings = merged(campaign.settings, form.settings_changes)
    if settings != campaign.settings:
        replies.append(await apply_settings(deps, who, campaign, settings))
    if form.add_agents:
        replies.append(
            await change_agents(deps, who, AddAgents(ref=ref, agent_ids=form.add_agents))
        )
    states = {a.default_state for a in campaign.agents}
    has_agents = bool(campaign.agents or form.add_agents)
    if has_agents and form.default_state is not None and states != {form.default_state}:
        command = SetAgentDefault(ref=ref, state=form.default_state)
        replies.append(await change_agents(deps, who, command, just_added=form.add_agents))
    if form.window_given and form.window != campaign.window:
        current = await find_campaign(deps, ref, deleted_too=True)
        locked = refuse_if_locked(current)
        replies.append(locked or await apply_window(deps, who, current, form.window))
    if not replies:
        return say(f"Nothing changed in {name_of(campaign)}; nothing was sent.")
    latest = await deps.store.get(ref)
    return Reply(
        text="\n".join(r.text for r in replies if r.text),
        effects=tuple(e for r in replies for e in r.effects),
        campaign=latest,
    )
