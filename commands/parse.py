"""``/campaign`` text -> a typed command, or ``CommandError`` naming the problem and the form.

list [all]                               ListCampaigns
new                                      OpenNewCampaign
show|start|stop|remove <ref>             ShowCampaign, StartCampaign, StopCampaign, RemoveCampaign
set <ref> aggression=<n> [key=value…]    ChangeSettings
agents <ref> add|remove <agent…>         AddAgents, RemoveAgents
agents <ref> default offline|available   SetAgentDefault
remove <ref> cancel                      CancelRemoval
(empty) | help                           ShowHelp
"""

from __future__ import annotations

import re

from commands.requests import (
    AddAgents,
    CancelRemoval,
    ChangeSettings,
    Command,
    ListCampaigns,
    OpenNewCampaign,
    RemoveAgents,
    RemoveCampaign,
    SetAgentDefault,
    ShowCampaign,
    ShowHelp,
    ShowHistory,
    StartCampaign,
    StopCampaign,
)
from commands.settings_input import BadSetting, read_setting
from commands.text import code
from dialer.models import AgentDefaultState
from state.refs import looks_like_ref

USAGE: dict[str, str] = {
    "list": "/campaign list [all]",
    "new": "/campaign new",
    "show": "/campaign show <ref>",
    "start": "/campaign start <ref> [partial]",
    "stop": "/campaign stop <ref>",
    "set": "/campaign set <ref> aggression=<1-100> [end_handle=stop|continue] "
    "[dial_timeout_seconds=<5-120>] [max_attempts=<1-10>] [retry_interval_minutes=<1-10080>]",
    "agents": "/campaign agents <ref> add|remove <agent…>  or  "
    "/campaign agents <ref> default offline|available",
    "remove": "/campaign remove <ref> [cancel]",
    "history": "/campaign history <ref> [csv]",
    "help": "/campaign help",
}

# A Slack mention as Slack escapes it (``<@U123|ana>``), or a dialer agent id / extension.
MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
AGENT_ID = re.compile(r"^[A-Za-z0-9._:@+\-]{1,64}$")


class CommandError(ValueError):
    """``problem`` is mrkdwn, already escaped; ``usage`` is the correct form of the command."""

    def __init__(self, problem: str, usage: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.usage = usage


def parse_command(text: str) -> Command:
    words = text.split()
    if not words or words[0].lower() == "help":
        return ShowHelp()
    verb, args = words[0].lower(), words[1:]
    if verb not in USAGE:
        raise CommandError(f"{code(words[0])} is not a `/campaign` subcommand.", USAGE["help"])
    usage = USAGE[verb]
    if verb == "list":
        if [word.lower() for word in args] in ([], ["all"]):
            return ListCampaigns(every_channel=bool(args))
        raise CommandError("`list` takes nothing after it, or `all`.", usage)
    if verb == "new":
        if args:
            raise CommandError("`new` takes nothing after it.", usage)
        return OpenNewCampaign()
    if not args:
        raise CommandError(f"`{verb}` needs a campaign reference.", usage)
    ref, rest = _ref(args[0], usage), args[1:]
    if verb == "set":
        return ChangeSettings(ref=ref, changes=_settings(rest, usage))
    if verb == "agents":
        return _agents(ref, rest, usage)
    if verb == "start" and [word.lower() for word in rest] == ["partial"]:
        return StartCampaign(ref=ref, partial=True)
    if verb == "remove" and [word.lower() for word in rest] == ["cancel"]:
        return CancelRemoval(ref=ref)
    if verb == "history":
        if [word.lower() for word in rest] in ([], ["csv"]):
            return ShowHistory(ref=ref, as_csv=bool(rest))
        raise CommandError("`history` takes the campaign reference, and `csv` after it.", usage)
    if rest:
        raise CommandError(f"`{verb}` takes only the campaign reference.", usage)
    simple: dict[str, type[ShowCampaign | StartCampaign | StopCampaign | RemoveCampaign]] = {
        "show": ShowCampaign,
        "start": StartCampaign,
        "stop": StopCampaign,
        "remove": RemoveCampaign,
    }
    return simple[verb](ref=ref)


def _ref(word: str, usage: str) -> str:
    if not looks_like_ref(word):
        raise CommandError(
            f"{code(word)} is not a campaign reference (they look like `c-20261123-7kq2`; "
            "`/campaign list` shows them).",
            usage,
        )
    return word


def _settings(pairs: list[str], usage: str) -> dict[str, object]:
    if not pairs:
        raise CommandError("`set` needs at least one setting, e.g. `aggression=60`.", usage)
    changes: dict[str, object] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name or not value:
            raise CommandError(f"{code(pair)} is not `key=value`.", usage)
        try:
            changes[name.lower()] = read_setting(name.lower(), value)
        except BadSetting as exc:
            raise CommandError(str(exc), usage) from None
    return changes


def _agents(ref: str, rest: list[str], usage: str) -> Command:
    if not rest:
        raise CommandError("`agents` needs `add`, `remove` or `default`.", usage)
    action, values = rest[0].lower(), rest[1:]
    if action == "default":
        states = [s.value for s in AgentDefaultState]
        if len(values) != 1 or values[0].lower() not in states:
            raise CommandError(f"The default state is `{'` or `'.join(states)}`.", usage)
        return SetAgentDefault(ref=ref, state=AgentDefaultState(values[0].lower()))
    if action not in {"add", "remove"}:
        raise CommandError(f"{code(rest[0])} is not `add`, `remove` or `default`.", usage)
    if not values:
        raise CommandError(f"`agents {action}` needs at least one agent.", usage)
    agent_ids = tuple(dict.fromkeys(_agent_id(value, usage) for value in values))
    if action == "add":
        return AddAgents(ref=ref, agent_ids=agent_ids)
    return RemoveAgents(ref=ref, agent_ids=agent_ids)


def _agent_id(word: str, usage: str) -> str:
    mention = MENTION.match(word)
    if mention:
        return mention.group(1)
    if not AGENT_ID.match(word):
        raise CommandError(
            f"{code(word)} is not an agent (a Slack @mention or an agent id of letters, digits "
            "and `._:@+-`).",
            usage,
        )
    return word


def parse_agent_ids(text: str, usage: str = USAGE["agents"]) -> tuple[str, ...]:
    """Agent ids typed in a modal field, separated by spaces or commas."""
    words = text.replace(",", " ").split()
    return tuple(dict.fromkeys(_agent_id(word, usage) for word in words))
