"""``/campaign help``: every subcommand, and the usage line shown with a mistake."""

from __future__ import annotations

# The module, not its names: the registry imports this module too (its help handler).
from commands import registry
from commands.text import escape
from commands.views.blocks import Block, context, section


def help_blocks() -> tuple[str, list[Block]]:
    lines = [
        f"`{escape(entry.usage)}`\n{entry.help}" for entry in registry.SUBCOMMANDS if entry.help
    ]
    return "How to use /campaign", [
        section("*/campaign* runs outbound dialer campaigns.\n\n" + "\n".join(lines)),
        context(
            "Anyone in a channel can look at its campaigns (list, show, help); only campaign "
            "leads can change campaigns or look at other channels'. The bot posts only in "
            "channels it was invited to (`/invite @campaign-bot`). "
            "Campaign references are made by the bot, like `c-20261123-7kq2`."
        ),
    ]


def mistake_blocks(problem: str, usage: str | None) -> tuple[str, list[Block]]:
    """``problem`` is mrkdwn the parser already escaped; ``usage`` the form, when there is one."""
    form = f"\nThe form is: `{escape(usage)}`" if usage else ""
    return "That command did not work", [
        section(f":warning: {problem}{form}"),
        context("`/campaign help` lists every command."),
    ]
