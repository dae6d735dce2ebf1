"""The campaigns overview: what the dialer has, correlated with what the bot stores, paged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from commands.text import code, escape
from commands.views import ids
from commands.views.blocks import Block, actions, button, context, header, section
from commands.views.campaign import control_buttons, status_text, summary_lines
from dialer.models import DialerCampaign
from state.campaign import Campaign

PAGE_SIZE = 20
"""Two blocks per campaign plus four around them stays under Slack's 50 blocks a message."""


@dataclass(frozen=True)
class OverviewRow:
    """One campaign as both sides know it; either side may be missing."""

    stored: Campaign | None
    on_dialer: DialerCampaign | None


@dataclass(frozen=True)
class OverviewPage:
    rows: tuple[OverviewRow, ...]
    page: int
    pages: int
    total: int
    dialer_name: str
    dialer_error: str | None = None  # the dialer could not be asked; rows are the bot's only
    every_channel: bool = False  # ``list all``; otherwise the campaigns of one channel


def overview_blocks(view: OverviewPage, now: datetime) -> tuple[str, list[Block]]:
    blocks: list[Block] = [header("Campaigns")]
    where = "in every channel" if view.every_channel else "in this channel"
    summary = (
        f"{view.total} campaign{'s' if view.total != 1 else ''} {where} "
        f"on {escape(view.dialer_name)}"
    )
    if view.pages > 1:
        summary += f" · page {view.page + 1} of {view.pages}"
    if view.dialer_error is not None:
        summary = (
            f":warning: The dialer could not be asked ({escape(view.dialer_error)}); "
            "showing what the bot stores."
        )
    blocks.append(context(summary))
    if not view.rows:
        blocks.append(section("No campaigns yet. *New campaign* creates one."))
    if not view.every_channel:
        blocks.append(context("Campaign leads see every channel's with `/campaign list all`."))
    checked = view.dialer_error is None
    for row in view.rows:
        blocks.extend(_row_blocks(row, now, checked=checked))
    blocks.append(_footer(view))
    return f"Campaigns: {view.total}", blocks


def _row_blocks(row: OverviewRow, now: datetime, *, checked: bool) -> list[Block]:
    """``checked``: the dialer was asked, so a stored campaign it lacks is worth a warning."""
    stored, on_dialer = row.stored, row.on_dialer
    if stored is None:
        assert on_dialer is not None
        ref = code(on_dialer.ref) if on_dialer.ref else f"dialer id {code(on_dialer.dialer_id)}"
        return [
            section(
                f"*{escape(on_dialer.name)}*  {ref}  {status_text(on_dialer.status)}\n"
                ":grey_question: _on the dialer, but not created by this bot: it is shown only, "
                "not managed here_"
            )
        ]
    lines = summary_lines(stored, now)
    if on_dialer is None and checked:
        lines.append(
            ":warning: _the dialer no longer has this campaign; the bot's record is out of date_"
        )
    elif on_dialer is not None and on_dialer.status is not stored.status:
        lines.append(
            f"_the dialer reports {status_text(on_dialer.status)}; waiting for its notice_"
        )
    blocks = [section("\n".join(lines))]
    controls = control_buttons(stored) if on_dialer is not None or not checked else None
    blocks.append(controls or context(f"{code(stored.ref)}: no actions available"))
    return blocks


def _footer(view: OverviewPage) -> Block:
    elements = [button("New campaign", ids.NEW, "new", style="primary")]
    scope = ids.EVERY_CHANNEL_PAGE if view.every_channel else ""
    if view.page > 0:
        elements.append(button("Previous page", ids.PAGE_PREVIOUS, f"{scope}{view.page - 1}"))
    if view.page + 1 < view.pages:
        elements.append(button("Next page", ids.PAGE_NEXT, f"{scope}{view.page + 1}"))
    return actions(*elements, block_id="overview_footer")
