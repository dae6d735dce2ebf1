"""``/campaign`` text -> a typed command, or ``CommandError`` naming the problem and the form.

The verbs, their usage lines and their parsers are the registry's (``commands.registry``); the
parsers themselves are in ``commands.arguments``.
"""

from __future__ import annotations

from commands.arguments import parse_agent_ids
from commands.errors import CommandError
from commands.registry import BY_VERB, USAGE
from commands.requests import Command, ShowHelp
from commands.text import code

__all__ = ["USAGE", "CommandError", "parse_agent_ids", "parse_command"]


def parse_command(text: str) -> Command:
    words = text.split()
    if not words:
        return ShowHelp()
    entry = BY_VERB.get(words[0].lower())
    if entry is None:
        raise CommandError(f"{code(words[0])} is not a `/campaign` subcommand.", USAGE["help"])
    try:
        return entry.parse(entry.verb, words[1:])
    except CommandError as exc:
        raise CommandError(exc.problem, exc.usage or entry.usage) from None
