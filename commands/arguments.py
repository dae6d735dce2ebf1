"""The words after a ``/campaign`` verb -> a typed command: one parser per subcommand, and the
pieces they share (a campaign ref, ``key=value`` settings, agents).

A parser is ``(verb, args) -> Command`` and raises ``CommandError`` without a usage: the caller
(``commands.parse``) adds the subcommand's usage from the registry.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from commands.errors import CommandError
from commands.requests import (
    AddAgents,
    CancelRemoval,
    ChangeSettings,
    Command,
    ListCampaigns,
    RemoveAgents,
    RemoveCampaign,
    SetAgentDefault,
    ShowHelp,
    ShowHistory,
    StartCampaign,
)
from commands.settings_input import BadSetting, read_setting
from commands.text import code
from state.domain import AgentDefaultState
from state.refs import looks_like_ref

Parser = Callable[[str, list[str]], Command]

# A Slack mention as Slack escapes it (``<@U123|ana>``), or a dialer agent id / extension.
MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
AGENT_ID = re.compile(r"^[A-Za-z0-9._:@+\-]{1,64}$")


def nothing_after(make: Callable[[], Command]) -> Parser:
    """A subcommand that takes no words: ``/campaign new``."""

    def parse(verb: str, args: list[str]) -> Command:
        if args:
            raise CommandError(f"`{verb}` takes nothing after it.")
        return make()

    return parse


def ref_only(make: Callable[[str], Command]) -> Parser:
    """A subcommand that takes a campaign reference and nothing else: ``/campaign stop <ref>``."""

    def parse(verb: str, args: list[str]) -> Command:
        ref, rest = campaign_ref(verb, args)
        if rest:
            raise CommandError(f"`{verb}` takes only the campaign reference.")
        return make(ref)

    return parse


def campaign_ref(verb: str, args: list[str]) -> tuple[str, list[str]]:
    """The campaign reference that comes first, and the words after it."""
    if not args:
        raise CommandError(f"`{verb}` needs a campaign reference.")
    word = args[0]
    if not looks_like_ref(word):
        raise CommandError(
            f"{code(word)} is not a campaign reference (they look like `c-20261123-7kq2`; "
            "`/campaign list` shows them)."
        )
    return word, args[1:]


def lowered(words: list[str]) -> list[str]:
    return [word.lower() for word in words]


def parse_help(verb: str, args: list[str]) -> Command:
    return ShowHelp()  # whatever follows: help is what was wanted


def parse_list(verb: str, args: list[str]) -> Command:
    if lowered(args) in ([], ["all"]):
        return ListCampaigns(every_channel=bool(args))
    raise CommandError("`list` takes nothing after it, or `all`.")


def parse_start(verb: str, args: list[str]) -> Command:
    ref, rest = campaign_ref(verb, args)
    if lowered(rest) == ["partial"]:
        return StartCampaign(ref=ref, partial=True)
    if rest:
        raise CommandError(f"`{verb}` takes only the campaign reference.")
    return StartCampaign(ref=ref)


def parse_remove(verb: str, args: list[str]) -> Command:
    ref, rest = campaign_ref(verb, args)
    if lowered(rest) == ["cancel"]:
        return CancelRemoval(ref=ref)
    if rest:
        raise CommandError(f"`{verb}` takes only the campaign reference.")
    return RemoveCampaign(ref=ref)


def parse_history(verb: str, args: list[str]) -> Command:
    ref, rest = campaign_ref(verb, args)
    if lowered(rest) in ([], ["csv"]):
        return ShowHistory(ref=ref, as_csv=bool(rest))
    raise CommandError("`history` takes the campaign reference, and `csv` after it.")


def parse_set(verb: str, args: list[str]) -> Command:
    ref, pairs = campaign_ref(verb, args)
    if not pairs:
        raise CommandError("`set` needs at least one setting, e.g. `aggression=60`.")
    changes: dict[str, object] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name or not value:
            raise CommandError(f"{code(pair)} is not `key=value`.")
        try:
            changes[name.lower()] = read_setting(name.lower(), value)
        except BadSetting as exc:
            raise CommandError(str(exc)) from None
    return ChangeSettings(ref=ref, changes=changes)


def parse_agents(verb: str, args: list[str]) -> Command:
    ref, rest = campaign_ref(verb, args)
    if not rest:
        raise CommandError("`agents` needs `add`, `remove` or `default`.")
    action, values = rest[0].lower(), rest[1:]
    if action == "default":
        states = [s.value for s in AgentDefaultState]
        if len(values) != 1 or values[0].lower() not in states:
            raise CommandError(f"The default state is `{'` or `'.join(states)}`.")
        return SetAgentDefault(ref=ref, state=AgentDefaultState(values[0].lower()))
    if action not in {"add", "remove"}:
        raise CommandError(f"{code(rest[0])} is not `add`, `remove` or `default`.")
    if not values:
        raise CommandError(f"`agents {action}` needs at least one agent.")
    agent_ids = tuple(dict.fromkeys(agent_id(value) for value in values))
    if action == "add":
        return AddAgents(ref=ref, agent_ids=agent_ids)
    return RemoveAgents(ref=ref, agent_ids=agent_ids)


def agent_id(word: str) -> str:
    mention = MENTION.match(word)
    if mention:
        return mention.group(1)
    if not AGENT_ID.match(word):
        raise CommandError(
            f"{code(word)} is not an agent (a Slack @mention or an agent id of letters, digits "
            "and `._:@+-`)."
        )
    return word


def parse_agent_ids(text: str) -> tuple[str, ...]:
    """Agent ids typed in a modal field, separated by spaces or commas."""
    words = text.replace(",", " ").split()
    return tuple(dict.fromkeys(agent_id(word) for word in words))
