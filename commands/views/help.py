"""``/campaign help``: every subcommand, and the usage line shown with a mistake."""

from __future__ import annotations

from commands.parse import USAGE
from commands.text import escape
from commands.views.blocks import Block, context, section

WHAT_EACH_DOES: dict[str, str] = {
    "list": "this channel's campaigns, with Start / Stop / Edit / Remove buttons; "
    "`list all`: every channel's, and the dialer's own (campaign leads only)",
    "new": "create a campaign (name, settings, agents, leads CSV)",
    "show": "one campaign: change its settings and agents",
    "start": "ask the dialer to start it (the channel says when it is running)",
    "stop": "ask the dialer to stop it (stopping first, then stopped)",
    "set": "change settings, in any status; aggression is always changeable",
    "agents": "add or remove agents, or choose how they join",
    "remove": "ask another campaign lead to approve removing it; `cancel` withdraws your "
    "request while it waits (another lead's `cancel` rejects it)",
    "history": "everything that happened to it, newest first: requests, approvals, statuses "
    "and their source, settings before → after; `csv`: all of it as a file",
}


def help_blocks() -> tuple[str, list[Block]]:
    lines = [f"`{escape(USAGE[verb])}`\n{text}" for verb, text in WHAT_EACH_DOES.items()]
    return "How to use /campaign", [
        section("*/campaign* runs outbound dialer campaigns.\n\n" + "\n".join(lines)),
        context(
            "Anyone in a channel can look at its campaigns (list, show, help); only campaign "
            "leads can change campaigns or look at other channels'. The bot posts only in "
            "channels it was invited to (`/invite @campaign-bot`). "
            "Campaign references are made by the bot, like `c-20261123-7kq2`."
        ),
    ]


def mistake_blocks(problem: str, usage: str) -> tuple[str, list[Block]]:
    """``problem`` is mrkdwn the parser already escaped."""
    return "That command did not work", [
        section(f":warning: {problem}\nThe form is: `{escape(usage)}`"),
        context("`/campaign help` lists every command."),
    ]
