"""``/campaign help``: every subcommand, and the usage line shown with a mistake."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from commands.text import escape
from commands.views.blocks import Block, context, section


class Listed(Protocol):
    """A subcommand as the help shows it (``commands.registry.Subcommand``)."""

    @property
    def usage(self) -> str: ...

    @property
    def help(self) -> str: ...


def help_blocks(subcommands: Iterable[Listed]) -> tuple[str, list[Block]]:
    """Each subcommand's usage and what it does; one with no help line is left out."""
    lines = [f"`{escape(entry.usage)}`\n{entry.help}" for entry in subcommands if entry.help]
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
