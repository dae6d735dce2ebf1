"""``/campaign history <ref> [csv]``: the campaign's audit, newest first and paged, or all of it
as a CSV file for the person who asked.

Anyone may read the history of their channel's campaigns; leads, every campaign's. A deleted
campaign's history stays readable for ``AUDIT_RETENTION_DAYS`` after its deletion.
"""

from __future__ import annotations

from commands.handlers.context import Deps, Requester
from commands.replies import FileShare, Reply, say
from commands.requests import ShowHistory
from commands.text import code
from commands.views.history import (
    HISTORY_PAGE_SIZE,
    HistoryEvent,
    HistoryPage,
    history_blocks,
    history_csv,
    history_event,
)
from state.domain import CampaignStatus
from state.keys import CAMPAIGN_AUDIT_MAXLEN

READ_BATCH = 200


async def run_history(deps: Deps, who: Requester, command: ShowHistory) -> Reply:
    lead = await deps.authz.may_change(who.user_id)
    return await show_history(
        deps, who, command.ref, lead=lead, as_csv=command.as_csv, before=command.before
    )


async def show_history(
    deps: Deps,
    who: Requester,
    ref: str,
    *,
    lead: bool,
    as_csv: bool = False,
    before: str | None = None,
) -> Reply:
    campaign = await deps.store.get(ref)
    first = await deps.store.campaign_audit(ref, 1)
    if campaign is None and not first:
        return say(
            f"There is no campaign {code(ref)}, or its history is past its retention; "
            "`/campaign list` shows the campaigns."
        )
    home = campaign.channel_id if campaign is not None else None
    if not lead and (home is None or home != who.channel_id):
        where = f", <#{home}>" if home else ""
        return say(
            f"{code(ref)} belongs to another channel{where}: look at its history there. "
            "Only campaign leads see other channels' campaigns."
        )
    name = campaign.name if campaign is not None else ref
    if as_csv:
        events, _ = await _events(deps, ref, None, CAMPAIGN_AUDIT_MAXLEN)
        return Reply(
            text=f"The history of {code(ref)} ({len(events):,} events) is on its way as a CSV "
            "file, in a direct message from the app.",
            files=(
                FileShare(
                    filename=f"{ref}-history.csv",
                    title=f"History of {ref}",
                    content=history_csv(events),
                    comment=f"The history of {code(ref)}, newest first.",
                ),
            ),
        )
    events, older = await _events(deps, ref, before, HISTORY_PAGE_SIZE)
    page = HistoryPage(
        ref=ref,
        name=name,
        events=tuple(events),
        first_page=before is None,
        older=older,
        deleted=campaign is None or campaign.status is CampaignStatus.DELETED,
    )
    text, blocks = history_blocks(page)
    return Reply(text=text, blocks=blocks, replace_original=before is not None)


async def _events(
    deps: Deps, ref: str, before: str | None, most: int
) -> tuple[list[HistoryEvent], str | None]:
    """Up to ``most`` events older than entry ``before``, newest first, and the entry id to
    read on from when there are more."""
    events: list[HistoryEvent] = []
    cursor = before
    while len(events) < most:
        batch = await deps.store.campaign_audit(ref, READ_BATCH, before=cursor)
        if not batch:
            return events, None
        for entry_id, fields in batch:
            event = history_event(entry_id, fields)
            if event is None:
                continue
            events.append(event)
            if len(events) == most:
                more = await deps.store.campaign_audit(ref, 1, before=entry_id)
                return events, entry_id if more else None
        cursor = batch[-1][0]
    return events, None
