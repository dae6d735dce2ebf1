"""A campaign's calling window (``state.calling_window``) as leads change it: setting or removing
the window, and a lead's start or stop of a campaign that has one.

A start arms the campaign: the bot then starts it at each opening of its window and stops it at
each closing, on that lead's behalf (``bot.window_scheduler``), until a lead stops it. Inside the
window the start goes to the dialer at once as well; outside it, it waits for the opening. A stop
disarms the campaign before it goes to the dialer as usual.

Setting a window on a campaign that runs, or whose start is pending, arms it on the setter's
behalf, so that it stops when the window closes; removing the window disarms it and leaves the
dialer as it is. Either way the scheduler looks at the campaign at once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from commands.handlers.context import Deps, Requester
from commands.replies import Reply, say
from commands.requests import StartCampaign, StopCampaign
from commands.text import code, escape
from state.calling_window import CallingWindow
from state.campaign import Armed, Campaign
from state.effects import Effect, RefreshCard
from state.window_schedule import WindowSchedule, dialing

log = logging.getLogger(__name__)


def schedule_of(deps: Deps) -> WindowSchedule:
    return deps.window_schedule


async def hold_for_window(
    deps: Deps, who: Requester, campaign: Campaign, command: StartCampaign | StopCampaign
) -> Reply | str | None:
    """Arm or disarm ``campaign`` for a person's start or stop. Returns the whole reply when the
    start waits for the window, a line to add to the usual reply, or None: nothing to add."""
    if isinstance(command, StopCampaign):
        if campaign.armed is None:
            return None
        await disarm(deps, who, campaign.ref)
        return "Its start is no longer armed: the calling window will not start it again."
    window = campaign.window
    if window is None:
        return None
    now = deps.clock()
    armed = Armed(by=who.user_id, at=now, partial=command.partial)

    def arm(current: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        return current.model_copy(update={"armed": armed}), ()

    updated, _ = await deps.store.update(
        campaign.ref, arm, actor=who.user_id, action="start armed for the calling window"
    )
    if window.is_open(now):
        await schedule_of(deps).plan(updated, window.next_closing(now))
        closes = await when_text(deps, who, window.next_closing(now), window)
        return (
            f"It is armed for its calling window ({escape(window.describe())}): the bot stops it "
            f"when the window closes, {closes}, and starts it again at each opening until "
            f"`/campaign stop {campaign.ref}`."
        )
    await schedule_of(deps).plan(updated, now)  # a campaign dialing now is stopped at once
    opens = await when_text(deps, who, window.next_opening(now), window)
    stopping = " It is dialing now, so the bot stops it at once." if dialing(campaign) else ""
    return Reply(
        text=(
            f":alarm_clock: Start of {name_of(campaign)} armed: it is "
            f"outside its calling window ({escape(window.describe())}). The bot sends the start "
            f"when the window opens, {opens}, stops it when the window closes, and starts it "
            f"again at each opening until `/campaign stop {campaign.ref}`.{stopping}"
        ),
        effects=(RefreshCard(campaign.ref),),
        campaign=updated,
    )


async def disarm(deps: Deps, who: Requester, ref: str) -> Campaign:
    def change(current: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        return current.model_copy(update={"armed": None}), ()

    updated, _ = await deps.store.update(
        ref, change, actor=who.user_id, action="armed start withdrawn"
    )
    await schedule_of(deps).plan(updated, deps.clock())
    return updated


async def when_text(deps: Deps, who: Requester, at: datetime, window: CallingWindow) -> str:
    """``Tue 1 Dec 08:00 your time (America/Chicago), 09:00 in America/New_York``."""
    there = at.astimezone(window.tz)
    zone = await lead_zone(deps, who.user_id)
    if zone is None:
        return f"{_day_and_time(there)} {window.zone}"
    here = at.astimezone(zone)
    mine = f"{_day_and_time(here)} your time ({zone.key})"
    if zone.key == window.zone:
        return mine
    return f"{mine}, {there:%H:%M} in {window.zone}"


async def lead_zone(deps: Deps, user_id: str) -> ZoneInfo | None:
    if deps.time_zone_of is None:
        return None
    try:
        name = await deps.time_zone_of(user_id)
        return ZoneInfo(name) if name else None
    except Exception as exc:  # Slack away or an odd answer: the window's zone says it all
        log.warning("time zone of %s unknown: %s", user_id, exc)
        return None


def name_of(campaign: Campaign) -> str:
    return f"*{escape(campaign.name)}* {code(campaign.ref)}"


def _day_and_time(at: datetime) -> str:
    return f"{at:%a} {at.day} {at:%b %H:%M}"


async def apply_window(
    deps: Deps, who: Requester, campaign: Campaign, window: CallingWindow | None
) -> Reply:
    """Set or remove ``campaign``'s window (the command, or the campaign view's Apply); the
    caller has checked that no removal is under way."""
    if window == campaign.window:
        return say(f"{name_of(campaign)} already has this calling window; nothing changed.")
    now = deps.clock()

    def change(current: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
        armed = current.armed
        if window is None:
            armed = None
        elif armed is None and dialing(current):
            armed = Armed(by=who.user_id, at=now)
        return current.model_copy(update={"window": window, "armed": armed}), ()

    action = "calling window removed" if window is None else f"calling window {window.describe()}"
    updated, _ = await deps.store.update(campaign.ref, change, actor=who.user_id, action=action)
    await schedule_of(deps).plan(updated, now)  # the scheduler brings the dialer in line now
    return Reply(
        text=_said(campaign, updated, window),
        effects=(RefreshCard(campaign.ref),),
        campaign=updated,
    )


def _said(before: Campaign, after: Campaign, window: CallingWindow | None) -> str:
    name = name_of(after)
    if window is None:
        text = f"Calling window of {name} removed: a start goes to the dialer at once again."
        if before.armed is not None:
            text += " Its armed start is withdrawn; the dialer is left as it is."
        return text
    text = f"Calling window of {name}: {escape(window.describe())}."
    if after.armed is not None and before.armed is None:
        text += (
            " It dials now, so it is armed: the bot stops it when the window closes (at once if "
            "it is closed now) and starts it again at each opening until "
            f"`/campaign stop {after.ref}`."
        )
    elif after.armed is not None:
        text += " Its armed start follows the new hours."
    else:
        text += " A start outside these hours waits for the opening."
    return text
