"""New campaign: the modal, then ref -> dialer -> store once the modal is submitted."""

from __future__ import annotations

from commands.handlers.context import Deps, Requester, dialer_failed
from commands.handlers.control import agent_warnings, name_of
from commands.replies import Reply
from commands.requests import OpenNewCampaign
from commands.text import escape
from commands.views import ids
from commands.views.blocks import actions, button, section
from commands.views.forms import NewCampaignForm
from commands.views.modals import new_campaign_modal
from dialer.errors import DialerError
from dialer.models import NewCampaign
from dialer.registry import capabilities_of
from state.campaign import Campaign
from state.effects import RefreshCard


async def run_new(deps: Deps, who: Requester, command: OpenNewCampaign) -> Reply:
    return open_new_campaign(who.channel_id)


def open_new_campaign(channel_id: str | None) -> Reply:
    return Reply(modal=new_campaign_modal(channel_id))


async def create_campaign(
    deps: Deps, who: Requester, form: NewCampaignForm, channel_id: str
) -> Reply:
    """Create the campaign on the dialer and in the store; the leads follow separately.

    The ref is issued first and never reused, even if the dialer then refuses the campaign.
    """
    ref = await deps.store.issue_ref()
    capabilities = capabilities_of(deps.dialer.name)
    # A dialer that takes no agents through its API is sent none (and the campaign shows none).
    agents = form.agents if capabilities.agents_managed_here else ()
    spec = NewCampaign(
        ref=ref, name=form.name, detail=form.detail, settings=form.settings, agents=agents
    )
    try:
        on_dialer = await deps.dialer.create_campaign(spec)
    except DialerError as exc:
        return dialer_failed(exc, f"new campaign ({ref})")
    campaign = Campaign(
        ref=ref,
        name=form.name,
        detail=form.detail,
        dialer=deps.dialer.name,
        dialer_id=on_dialer.dialer_id,
        channel_id=channel_id,
        created_by=who.user_id,
        created_at=deps.clock(),
        settings=form.settings,
        agents=agents,
        window=form.window,
    )
    await deps.store.create(campaign)
    lines = [f"Created {name_of(campaign)} in <#{channel_id}>; the channel shows its leads upload."]
    if form.agents and not agents:
        lines.append(
            f"The agents given were not sent: agents are assigned in "
            f"{escape(capabilities.agents_managed_where)}."
        )
    lines += await agent_warnings(deps, ref, (a.agent_id for a in agents))
    text = "\n".join(lines)
    # Slack closes the New campaign modal at the ack (the leads check and the dialer come after
    # it), so the lead is taken to the campaign's view by this reply's button.
    view = button("Open campaign", ids.EDIT, ref, style="primary")
    blocks = [section(text), actions(view, block_id=f"created:{ref}")]
    return Reply(text=text, blocks=blocks, effects=(RefreshCard(ref),), campaign=campaign)
