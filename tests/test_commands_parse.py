"""The ``/campaign`` parser: a table of good inputs and their commands, bad inputs and the
problem each names."""

from __future__ import annotations

import pytest

from commands.parse import USAGE, CommandError, parse_agent_ids, parse_command
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
    StartCampaign,
    StopCampaign,
)
from state.domain import AgentDefaultState, EndHandle

REF = "c-20261123-7kq2"

GOOD: list[tuple[str, Command]] = [
    ("", ShowHelp()),
    ("   ", ShowHelp()),
    ("help", ShowHelp()),
    ("HELP me", ShowHelp()),
    ("list", ListCampaigns()),
    ("List", ListCampaigns()),
    ("list all", ListCampaigns(every_channel=True)),
    ("list ALL", ListCampaigns(every_channel=True)),
    ("new", OpenNewCampaign()),
    (f"show {REF}", ShowCampaign(ref=REF)),
    (f"start {REF}", StartCampaign(ref=REF)),
    (f"start {REF} partial", StartCampaign(ref=REF, partial=True)),
    (f"  stop   {REF} ", StopCampaign(ref=REF)),
    (f"remove {REF}", RemoveCampaign(ref=REF)),
    (f"remove {REF} cancel", CancelRemoval(ref=REF)),
    (f"set {REF} aggression=60", ChangeSettings(ref=REF, changes={"aggression": 60})),
    (
        f"set {REF} aggression=1 end_handle=continue max_attempts=10",
        ChangeSettings(
            ref=REF, changes={"aggression": 1, "end_handle": EndHandle.CONTINUE, "max_attempts": 10}
        ),
    ),
    (f"set {REF} AGGRESSION=100", ChangeSettings(ref=REF, changes={"aggression": 100})),
    (f"agents {REF} add 1001 1002", AddAgents(ref=REF, agent_ids=("1001", "1002"))),
    (f"agents {REF} add <@U123ABC|ana> 1001", AddAgents(ref=REF, agent_ids=("U123ABC", "1001"))),
    (f"agents {REF} add 1001 1001", AddAgents(ref=REF, agent_ids=("1001",))),
    (f"agents {REF} remove agent.7", RemoveAgents(ref=REF, agent_ids=("agent.7",))),
    (
        f"agents {REF} default available",
        SetAgentDefault(ref=REF, state=AgentDefaultState.AVAILABLE),
    ),
    (f"agents {REF} default OFFLINE", SetAgentDefault(ref=REF, state=AgentDefaultState.OFFLINE)),
]


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_good_input_becomes_its_command(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


BAD: list[tuple[str, str, str]] = [
    ("launch", "`launch` is not a `/campaign` subcommand", "help"),
    ("list everything", "`list` takes nothing after it", "list"),
    ("new campaign", "`new` takes nothing after it", "new"),
    ("start", "`start` needs a campaign reference", "start"),
    ("start my-campaign", "`my-campaign` is not a campaign reference", "start"),
    (f"start {REF} now", "`start` takes only the campaign reference", "start"),
    (f"set {REF}", "`set` needs at least one setting", "set"),
    (f"set {REF} aggression", "`aggression` is not `key=value`", "set"),
    (f"set {REF} aggression=", "`aggression=` is not `key=value`", "set"),
    (f"set {REF} aggression=0", "`aggression` must be a whole number from 1 to 100", "set"),
    (f"set {REF} aggression=101", "`aggression` must be a whole number from 1 to 100", "set"),
    (f"set {REF} aggression=high", "`aggression` must be a whole number from 1 to 100", "set"),
    (f"set {REF} aggression=2.5", "`aggression` must be a whole number from 1 to 100", "set"),
    (f"set {REF} end_handle=pause", "`end_handle` must be stop or continue", "set"),
    (f"set {REF} speed=3", "`speed` is not a campaign setting", "set"),
    (f"agents {REF}", "`agents` needs `add`, `remove` or `default`", "agents"),
    (f"agents {REF} fire 1001", "`fire` is not `add`, `remove` or `default`", "agents"),
    (f"agents {REF} add", "`agents add` needs at least one agent", "agents"),
    (f"agents {REF} add <b>x</b>", "`&lt;b&gt;x&lt;/b&gt;` is not an agent", "agents"),
    (f"agents {REF} default busy", "The default state is `offline` or `available`", "agents"),
    (f"agents {REF} default", "The default state is `offline` or `available`", "agents"),
]


@pytest.mark.parametrize(("text", "problem", "verb"), BAD)
def test_bad_input_names_the_problem_and_the_form(text: str, problem: str, verb: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse_command(text)
    assert problem in caught.value.problem
    assert caught.value.usage == USAGE[verb]


def test_user_text_in_a_problem_is_escaped() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("<!channel>")
    assert "<!channel>" not in caught.value.problem
    assert "&lt;!channel&gt;" in caught.value.problem


def test_agent_ids_typed_in_a_modal_split_on_spaces_and_commas() -> None:
    assert parse_agent_ids("1001, 1002,1003  1001") == ("1001", "1002", "1003")
    assert parse_agent_ids("") == ()
