"""The App Home tab: every live campaign a person may see, grouped by status, and the removals
waiting for their approval.

Leads see every channel's campaigns with the card's buttons (the same action ids, so the same
handlers) and, under *Waiting for you*, the removals another lead asked for, with **Approve** /
**Reject**. Anyone else sees the campaigns of the channels they are in, read-only. A Home tab
holds at most 100 blocks: campaigns beyond ``HOME_PAGE_SIZE`` go to further pages
(**Show more**).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from commands.text import code, escape
from commands.views.approval import approval_buttons
from commands.views.blocks import Block, actions, button, context, divider, header, section
from commands.views.campaign import control_buttons, facts, removal_text, summary_lines
from state.campaign import Campaign, RemovalStage
from state.domain import CampaignStatus

HOME_PAGE_SIZE = 25
"""Two blocks a campaign (summary, buttons): 50, plus at most ``WAITING_SHOWN`` approvals (two
blocks each) and a dozen around them, stays under Slack's 100 blocks a Home tab."""
WAITING_SHOWN = 8
HOME_BLOCK_LIMIT = 100

HOME_PAGE = "home_page"
"""**Show more** / **Back** / **Refresh** on the Home tab; ``value`` is the page to show."""

STATUS_ORDER: tuple[CampaignStatus, ...] = (
    CampaignStatus.RUNNING,
    CampaignStatus.STOPPING,
    CampaignStatus.STOPPED,
    CampaignStatus.COMPLETED,
)
GROUP_TITLE: dict[CampaignStatus, str] = {
    CampaignStatus.RUNNING: ":large_green_circle: Running",
    CampaignStatus.STOPPING: ":large_yellow_circle: Stopping",
    CampaignStatus.STOPPED: ":white_circle: Stopped",
    CampaignStatus.COMPLETED: ":checkered_flag: Completed",
}


@dataclass(frozen=True)
class HomeModel:
    """What one person's Home tab shows; ``campaigns`` are already the ones they may see."""

    user_id: str
    lead: bool
    campaigns: tuple[Campaign, ...]
    waiting: tuple[Campaign, ...] = ()
    page: int = 0
    dialer_name: str = ""


def in_home_order(campaigns: list[Campaign] | tuple[Campaign, ...]) -> list[Campaign]:
    """Running first, then stopping, stopped, completed; creation order within a status."""
    rank = {status: n for n, status in enumerate(STATUS_ORDER)}
    live = [c for c in campaigns if c.is_live]
    return sorted(live, key=lambda c: (rank.get(c.status, len(rank)), c.created_at, c.ref))


def waiting_for(user_id: str, campaigns: list[Campaign] | tuple[Campaign, ...]) -> list[Campaign]:
    """Removals awaiting approval that ``user_id`` may decide: anyone's but their own."""
    return [
        c
        for c in campaigns
        if c.is_live
        and c.removal is not None
        and c.removal.stage is RemovalStage.AWAITING_APPROVAL
        and c.removal.requested_by != user_id
    ]


def pages_of(count: int) -> int:
    return max(1, -(-count // HOME_PAGE_SIZE))


def home_view(model: HomeModel, now: datetime) -> Block:
    ordered = in_home_order(model.campaigns)
    pages = pages_of(len(ordered))
    page = min(max(model.page, 0), pages - 1)
    shown = ordered[page * HOME_PAGE_SIZE : (page + 1) * HOME_PAGE_SIZE]
    blocks: list[Block] = [header("Campaigns")]
    scope = "in every channel" if model.lead else "in your channels"
    summary = f"{len(ordered)} live campaign{'s' if len(ordered) != 1 else ''} {scope}"
    if model.dialer_name:
        summary += f" on {escape(model.dialer_name)}"
    if pages > 1:
        summary += f" · page {page + 1} of {pages}"
    if not model.lead:
        summary += " · read-only: campaign leads start, stop, edit and remove them"
    blocks.append(context(summary))
    if model.lead:
        blocks.extend(_waiting_blocks(model.waiting))
    if not shown:
        blocks.append(section("No live campaigns. `/campaign new` in a channel creates one."))
    current: CampaignStatus | None = None
    for campaign in shown:
        if campaign.status is not current:
            current = campaign.status
            blocks.append(section(f"*{GROUP_TITLE.get(current, escape(current.value))}*"))
        blocks.extend(_campaign_blocks(campaign, now, lead=model.lead))
    blocks.append(_footer(page, pages))
    return {
        "type": "home",
        "blocks": blocks[:HOME_BLOCK_LIMIT],
        "private_metadata": json.dumps({"page": page}),
    }


def _waiting_blocks(waiting: tuple[Campaign, ...]) -> list[Block]:
    blocks: list[Block] = [header("Waiting for you")]
    if not waiting:
        blocks.append(context("No removal is waiting for your approval."))
        return [*blocks, divider()]
    for campaign in waiting[:WAITING_SHOWN]:
        assert campaign.removal is not None
        where = f" in <#{campaign.channel_id}>" if campaign.channel_id else ""
        blocks.append(
            section(
                f":warning: *Removal requested* by <@{campaign.removal.requested_by}>{where}\n"
                f"{summary_lines(campaign, campaign.removal.requested_at)[0]}"
            )
        )
        blocks.append(approval_buttons(campaign, block_id=f"home-approval:{campaign.ref}"))
    if len(waiting) > WAITING_SHOWN:
        more = len(waiting) - WAITING_SHOWN
        blocks.append(context(f"… and {more} more; `/campaign list all` shows every campaign."))
    return [*blocks, divider()]


def _campaign_blocks(campaign: Campaign, now: datetime, *, lead: bool) -> list[Block]:
    lines = summary_lines(campaign, now)
    if campaign.channel_id:
        lines.append(f"in <#{campaign.channel_id}>")
    lines.append(facts(campaign))
    blocks = [section("\n".join(lines))]
    if not lead:
        return blocks
    controls = control_buttons(campaign)
    if controls is not None:
        blocks.append(controls)
    elif removal_text(campaign) is not None:
        blocks.append(context(f"{code(campaign.ref)}: its buttons are off while it is removed"))
    return blocks


def _footer(page: int, pages: int) -> Block:
    elements = [button("Refresh", HOME_PAGE, str(page))]
    if page > 0:
        elements.append(button("Back", HOME_PAGE, str(page - 1)))
    if page + 1 < pages:
        elements.append(button("Show more", HOME_PAGE, str(page + 1), style="primary"))
    # Action ids repeat across buttons here; Slack needs them unique within a block only when
    # they share a block, so each gets its own suffix.
    for n, element in enumerate(elements):
        element["action_id"] = f"{HOME_PAGE}:{n}"
    return actions(*elements, block_id="home_footer")
