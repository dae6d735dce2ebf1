"""The registry is the one table of subcommands: parsing, help, dispatch and buttons read it."""

from __future__ import annotations

import pytest

from commands.buttons import Press
from commands.parse import parse_command
from commands.registry import BUTTONS, BY_VERB, SUBCOMMANDS, USAGE, _index_by, subcommand_of
from commands.requests import (
    ApproveRemoval,
    Command,
    ListCampaigns,
    RejectRemoval,
    RemoveAgents,
    ShowHistory,
    StartCampaign,
)
from commands.views import ids
from commands.views.help import help_blocks
from commands.views.history import CSV_EXPORT, OLDER

REF = "c-20261123-7kq2"


def test_every_listed_subcommand_is_in_the_help_with_its_usage() -> None:
    _, blocks = help_blocks(SUBCOMMANDS)
    shown = str(blocks)
    for entry in SUBCOMMANDS:
        if entry.help:
            assert entry.help.split(";")[0] in shown
            assert entry.usage.split(" ")[1] in shown


def test_each_verb_parses_to_a_command_its_own_entry_handles() -> None:
    typed = {
        "list": "list",
        "new": "new",
        "show": f"show {REF}",
        "start": f"start {REF} partial",
        "stop": f"stop {REF}",
        "set": f"set {REF} aggression=40",
        "agents": f"agents {REF} add 1001",
        "remove": f"remove {REF} cancel",
        "history": f"history {REF} csv",
        "help": "help",
    }
    for verb in BY_VERB:
        text = typed.get(verb)
        if text is None:
            continue  # a subcommand added later has its own parse tests
        assert subcommand_of(parse_command(text)).verb == verb
    assert set(USAGE) == set(BY_VERB)


def test_a_command_type_no_entry_takes_is_a_programming_error() -> None:
    class Stray(Command):
        pass

    with pytest.raises(TypeError, match="Stray"):
        subcommand_of(Stray())


def test_a_verb_or_button_used_twice_stops_the_import_naming_both_owners() -> None:
    start, stop = BY_VERB["start"], BY_VERB["stop"]
    with pytest.raises(ValueError, match="'go' belongs to both /campaign start and /campaign stop"):
        _index_by("verb", [("go", start), ("go", stop)])


def test_the_buttons_views_draw_are_all_registered() -> None:
    drawn = {
        ids.START,
        ids.STOP,
        ids.EDIT,
        ids.REMOVE,
        ids.NEW,
        ids.APPROVE,
        ids.REJECT,
        ids.PAGE_PREVIOUS,
        ids.PAGE_NEXT,
        ids.REMOVE_AGENT,
        OLDER,
        CSV_EXPORT,
    }
    assert drawn <= set(BUTTONS)


def test_a_button_value_the_bot_never_writes_runs_nothing() -> None:
    assert BUTTONS[ids.START].command(Press("not a ref")) is None
    assert BUTTONS[ids.APPROVE].command(Press("<script>")) is None
    assert BUTTONS[ids.REMOVE_AGENT].command(Press("1001", modal_ref="")) is None
    assert BUTTONS[OLDER].command(Press(REF)) is None  # no entry id to page from


def test_button_values_become_the_commands_they_stand_for() -> None:
    assert BUTTONS[ids.START].command(Press(REF)) == StartCampaign(ref=REF)
    assert BUTTONS[ids.APPROVE].command(Press(f"{REF} r-1")) == ApproveRemoval(
        ref=REF, request_id="r-1"
    )
    assert BUTTONS[ids.REJECT].command(Press(REF)) == RejectRemoval(ref=REF, request_id=None)
    assert BUTTONS[ids.PAGE_NEXT].command(Press(f"{ids.EVERY_CHANNEL_PAGE}3")) == ListCampaigns(
        page=3, every_channel=True
    )
    assert BUTTONS[ids.PAGE_PREVIOUS].command(Press("x")) == ListCampaigns(page=0)
    assert BUTTONS[ids.REMOVE_AGENT].command(Press("1001", modal_ref=REF)) == RemoveAgents(
        ref=REF, agent_ids=("1001",)
    )
    assert BUTTONS[OLDER].command(Press(f"{REF} 17-0")) == ShowHistory(ref=REF, before="17-0")
    assert BUTTONS[CSV_EXPORT].command(Press(REF)) == ShowHistory(ref=REF, as_csv=True)
