"""``list``: the campaigns on the dialer, correlated with what the bot stores.

``/campaign list`` shows the campaigns of the channel it is typed in; ``/campaign list all`` shows
every channel's, and the dialer's campaigns the bot did not create, to campaign leads only.
"""

from __future__ import annotations

from commands.handlers.context import Deps, Requester
from commands.replies import Reply, say
from commands.requests import ListCampaigns
from commands.views.overview import PAGE_SIZE, OverviewPage, OverviewRow, overview_blocks
from dialer.errors import DialerError
from dialer.models import DialerCampaign
from state.campaign import Campaign


def correlate(stored: list[Campaign], on_dialer: list[DialerCampaign]) -> list[OverviewRow]:
    """The bot's campaigns in creation order, then the dialer's campaigns the bot does not know.

    A dialer campaign matches a stored one by ref, or by the dialer's own id.
    """
    by_ref = {c.ref: c for c in on_dialer if c.ref}
    by_id = {c.dialer_id: c for c in on_dialer}
    matched: set[str] = set()
    rows = []
    for campaign in stored:
        twin = by_ref.get(campaign.ref) or (
            by_id.get(campaign.dialer_id) if campaign.dialer_id else None
        )
        if twin is not None:
            matched.add(twin.dialer_id)
        rows.append(OverviewRow(stored=campaign, on_dialer=twin))
    rows += [OverviewRow(None, c) for c in on_dialer if c.dialer_id not in matched]
    return rows


ONLY_LEADS_SEE_ALL = (
    ":no_entry: `/campaign list all` shows every channel's campaigns, and only campaign leads "
    "may see them. `/campaign list` shows the campaigns of the channel you are in."
)


async def run_list(deps: Deps, who: Requester, command: ListCampaigns) -> Reply:
    """``list``: the channel's campaigns; ``list all``: every channel's, for leads only."""
    if command.every_channel and not await deps.authz.may_change(who.user_id):
        return say(ONLY_LEADS_SEE_ALL)
    channel = None if command.every_channel else who.channel_id
    return await list_campaigns(
        deps, command.page, channel=channel, every_channel=command.every_channel
    )


async def list_campaigns(
    deps: Deps,
    page: int,
    *,
    channel: str | None = None,
    every_channel: bool = False,
    replace: bool = False,
) -> Reply:
    """``every_channel``: all campaigns (the caller checked that a lead asks); otherwise only
    those of ``channel``."""
    stored = await deps.store.list_live()
    if not every_channel:
        stored = [c for c in stored if channel is not None and c.channel_id == channel]
    error: str | None = None
    try:
        on_dialer = await deps.dialer.list_campaigns()
        rows = correlate(stored, on_dialer)
        if not every_channel:
            rows = [row for row in rows if row.stored is not None]
    except DialerError as exc:
        error = str(exc)
        rows = [OverviewRow(c, None) for c in stored]
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)
    view = OverviewPage(
        rows=tuple(rows[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]),
        page=page,
        pages=pages,
        total=len(rows),
        dialer_name=deps.dialer.name,
        dialer_error=error,
        every_channel=every_channel,
    )
    text, blocks = overview_blocks(view, deps.clock())
    return Reply(text=text, blocks=blocks, replace_original=replace)
