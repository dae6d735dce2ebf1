"""``/campaign window <ref> <HH:MM>-<HH:MM> <IANA time zone> [<days>]`` and ``… off``: the local
hours in which a campaign may dial (``state.calling_window``; the change itself is
``commands.handlers.armed.apply_window``)."""

from __future__ import annotations

from commands.arguments import campaign_ref, lowered
from commands.errors import CommandError
from commands.handlers.armed import apply_window
from commands.handlers.context import Deps, Requester
from commands.handlers.control import find_campaign, refuse_if_locked
from commands.replies import Reply
from commands.requests import CampaignCommand, Command
from commands.text import escape
from state.calling_window import EXAMPLE, CallingWindow, WindowError, parse_window

WINDOW_USAGE = (
    "/campaign window <ref> <HH:MM>-<HH:MM> <IANA time zone> [<days, e.g. mon-fri>]  or  "
    "/campaign window <ref> off"
)
WINDOW_HELP = (
    "the local hours the campaign may dial in, e.g. `09:00-20:00 America/New_York mon-fri`: a "
    "start outside them waits for the opening, and the bot stops it at each closing and starts "
    "it again at each opening until `/campaign stop`; `off` removes them"
)


class SetCallingWindow(CampaignCommand):
    window: CallingWindow | None
    """None: ``off``, the campaign may dial at any time."""


def parse_window_command(verb: str, args: list[str]) -> Command:
    ref, rest = campaign_ref(verb, args)
    if lowered(rest) == ["off"]:
        return SetCallingWindow(ref=ref, window=None)
    if not rest:
        raise CommandError(f"`window` needs the hours and time zone (`{EXAMPLE}`), or `off`.")
    try:
        return SetCallingWindow(ref=ref, window=parse_window(rest))
    except WindowError as exc:
        raise CommandError(escape(str(exc))) from None


async def run_window(deps: Deps, who: Requester, command: SetCallingWindow) -> Reply:
    campaign = await find_campaign(deps, command.ref)
    if (locked := refuse_if_locked(campaign)) is not None:
        return locked
    return await apply_window(deps, who, campaign, command.window)
