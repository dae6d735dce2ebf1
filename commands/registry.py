"""Every ``/campaign`` subcommand, one entry each: the only table of them.

An entry says everything about a subcommand: its verb, its usage line, its line in
``/campaign help``, the parser of the words after the verb, the handler, whether only campaign
leads may run it, and its buttons. Parsing (``commands.parse``), help (``commands.views.help``),
dispatch and the authorisation check (``commands.handlers.dispatch``) and the Slack button
listeners (``bot.slack.listeners.actions``) all read this table; none has a list of its own.

How to add a subcommand, ``/campaign frobnicate <ref>`` say:

1. Write its handler in a module of its own, ``commands/handlers/frobnicate.py``: an
   ``async def run_frobnicate(deps: Deps, who: Requester, command: Frobnicate) -> Reply``. The
   command is a model that the handler module may define itself (subclass ``Command``, or
   ``CampaignCommand`` when it is about one campaign; ``commands/requests.py`` holds the shared
   ones). For a mistake in what was asked raise ``CommandError(problem)`` (the answer adds the
   usage line); to refuse, raise ``CommandRefused(text)``; ``find_campaign`` raises
   ``CampaignNotFound`` for an unknown ref. Dispatch turns these into the reply.
2. Add one ``Subcommand[Frobnicate](...)`` to ``SUBCOMMANDS`` below, where it should appear in
   the help (the type parameter, the union of its command types, lets mypy check the handler
   against ``commands``): ``verb``, ``usage``, ``help`` (the line ``/campaign help`` shows;
   ``""`` leaves it out),
   ``parse`` (``ref_only(lambda ref: Frobnicate(ref=ref))`` and ``nothing_after(...)`` from
   ``commands.arguments`` cover the usual forms; else a ``(verb, args) -> Command`` that raises
   ``CommandError``), ``commands`` (the command types its handler takes, for dispatch and buttons),
   ``handle`` and ``lead_only`` (True when it changes campaigns or reaches the dialer), and
   ``buttons`` if its views draw any (``commands.buttons``: an action id and how the button's
   value becomes the command).
3. Test the handler and the parse (``tests/test_commands_*.py`` show how), then say it in the
   README's command list and in ``manifest.yml``'s ``usage_hint`` (a test checks that every verb
   is there).

Mistakes in the table itself (a verb, command type or action id used twice) stop the import
with a message naming them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from commands.arguments import (
    Parser,
    nothing_after,
    parse_agents,
    parse_help,
    parse_history,
    parse_list,
    parse_remove,
    parse_set,
    parse_start,
    ref_only,
)
from commands.buttons import (
    Button,
    Place,
    campaign_ref_button,
    history_csv,
    older_history,
    overview_page,
    removal_decision,
    remove_agent,
)
from commands.handlers.context import Deps, Requester
from commands.handlers.control import change_agents, change_settings, run_show, start_or_stop
from commands.handlers.create import run_new
from commands.handlers.dnc import DoNotCall, parse_dnc, run_dnc
from commands.handlers.history import run_history
from commands.handlers.overview import run_list
from commands.handlers.removal import run_removal
from commands.handlers.whoami import WhoAmI, run_whoami
from commands.handlers.window import (
    WINDOW_HELP,
    WINDOW_USAGE,
    SetCallingWindow,
    parse_window_command,
    run_window,
)
from commands.replies import Reply
from commands.requests import (
    AddAgents,
    ApproveRemoval,
    CancelRemoval,
    ChangeSettings,
    Command,
    ListCampaigns,
    OpenNewCampaign,
    RejectRemoval,
    RemoveAgents,
    RemoveCampaign,
    SetAgentDefault,
    ShowCampaign,
    ShowHelp,
    ShowHistory,
    StartCampaign,
    StopCampaign,
)
from commands.views import dnc as dnc_view
from commands.views import ids
from commands.views.help import help_blocks
from commands.views.history import CSV_EXPORT, OLDER

C = TypeVar("C", bound=Command)
K = TypeVar("K")
Handler = Callable[[Deps, Requester, C], Awaitable[Reply]]


@dataclass(frozen=True)
class Subcommand(Generic[C]):
    verb: str
    usage: str
    help: str
    """What it does, shown under the usage line by ``/campaign help``; ``""``: not listed."""
    parse: Parser
    commands: tuple[type[C], ...]
    handle: Handler[C]
    lead_only: bool
    """Only campaign leads may run it (it changes campaigns); anyone may look."""
    buttons: tuple[Button, ...] = ()


async def show_help(deps: Deps, who: Requester, command: ShowHelp) -> Reply:
    text, blocks = help_blocks(SUBCOMMANDS)
    listed = dnc_view.count_block(await deps.do_not_call.count())
    return Reply(text=text, blocks=[*blocks, listed])


SUBCOMMANDS: tuple[Subcommand[Any], ...] = (
    Subcommand[ListCampaigns](
        verb="list",
        usage="/campaign list [all]",
        help="this channel's campaigns, with Start / Stop / Edit / Remove buttons; "
        "`list all`: every channel's, and the dialer's own (campaign leads only)",
        parse=parse_list,
        commands=(ListCampaigns,),
        handle=run_list,
        lead_only=False,  # ``list all`` is checked by the handler
        buttons=(
            Button(ids.PAGE_PREVIOUS, overview_page, Place.SAME_MESSAGE, once=False),
            Button(ids.PAGE_NEXT, overview_page, Place.SAME_MESSAGE, once=False),
        ),
    ),
    Subcommand[OpenNewCampaign](
        verb="new",
        usage="/campaign new",
        help="create a campaign (name, settings, agents, leads CSV)",
        parse=nothing_after(OpenNewCampaign),
        commands=(OpenNewCampaign,),
        handle=run_new,
        lead_only=True,
        buttons=(Button(ids.NEW, lambda press: OpenNewCampaign(), once=False),),
    ),
    Subcommand[ShowCampaign](
        verb="show",
        usage="/campaign show <ref>",
        help="one campaign: change its settings and agents",
        parse=ref_only(lambda ref: ShowCampaign(ref=ref)),
        commands=(ShowCampaign,),
        handle=run_show,
        lead_only=False,  # another channel's campaign is shown to leads only, by the handler
        buttons=(Button(ids.EDIT, campaign_ref_button(lambda ref: ShowCampaign(ref=ref))),),
    ),
    Subcommand[StartCampaign](
        verb="start",
        usage="/campaign start <ref> [partial]",
        help="ask the dialer to start it (the channel says when it is running)",
        parse=parse_start,
        commands=(StartCampaign,),
        handle=start_or_stop,
        lead_only=True,
        buttons=(Button(ids.START, campaign_ref_button(lambda ref: StartCampaign(ref=ref))),),
    ),
    Subcommand[StopCampaign](
        verb="stop",
        usage="/campaign stop <ref>",
        help="ask the dialer to stop it (stopping first, then stopped)",
        parse=ref_only(lambda ref: StopCampaign(ref=ref)),
        commands=(StopCampaign,),
        handle=start_or_stop,
        lead_only=True,
        buttons=(Button(ids.STOP, campaign_ref_button(lambda ref: StopCampaign(ref=ref))),),
    ),
    Subcommand[ChangeSettings](
        verb="set",
        usage="/campaign set <ref> aggression=<1-100> [end_handle=stop|continue] "
        "[dial_timeout_seconds=<5-120>] [max_attempts=<1-10>] [retry_interval_minutes=<1-10080>]",
        help="change settings, in any status; aggression is always changeable",
        parse=parse_set,
        commands=(ChangeSettings,),
        handle=change_settings,
        lead_only=True,
    ),
    Subcommand[SetCallingWindow](
        verb="window",
        usage=WINDOW_USAGE,
        help=WINDOW_HELP,
        parse=parse_window_command,
        commands=(SetCallingWindow,),
        handle=run_window,
        lead_only=True,
    ),
    Subcommand[AddAgents | RemoveAgents | SetAgentDefault](
        verb="agents",
        usage="/campaign agents <ref> add|remove <agent…>  or  "
        "/campaign agents <ref> default offline|available",
        help="add or remove agents, or choose how they join",
        parse=parse_agents,
        commands=(AddAgents, RemoveAgents, SetAgentDefault),
        handle=change_agents,
        lead_only=True,
        buttons=(Button(ids.REMOVE_AGENT, remove_agent, Place.CAMPAIGN_MODAL),),
    ),
    Subcommand[RemoveCampaign | CancelRemoval | ApproveRemoval | RejectRemoval](
        verb="remove",
        usage="/campaign remove <ref> [cancel]",
        help="ask another campaign lead to approve removing it; `cancel` withdraws your "
        "request while it waits (another lead's `cancel` rejects it)",
        parse=parse_remove,
        commands=(RemoveCampaign, CancelRemoval, ApproveRemoval, RejectRemoval),
        handle=run_removal,
        lead_only=True,
        buttons=(
            Button(ids.REMOVE, campaign_ref_button(lambda ref: RemoveCampaign(ref=ref))),
            Button(ids.APPROVE, removal_decision(ApproveRemoval)),
            Button(ids.REJECT, removal_decision(RejectRemoval)),
        ),
    ),
    Subcommand[ShowHistory](
        verb="history",
        usage="/campaign history <ref> [csv]",
        help="everything that happened to it, newest first: requests, approvals, statuses "
        "and their source, settings before → after; `csv`: all of it as a file",
        parse=parse_history,
        commands=(ShowHistory,),
        handle=run_history,
        lead_only=False,  # another channel's history is shown to leads only, by the handler
        buttons=(
            Button(OLDER, older_history, once=False),
            Button(CSV_EXPORT, history_csv, once=False),
        ),
    ),
    Subcommand[WhoAmI](
        verb="whoami",
        usage="/campaign whoami",
        help="whether you are a campaign lead, and why (listed by id, or in a listed user group)",
        parse=nothing_after(WhoAmI),
        commands=(WhoAmI,),
        handle=run_whoami,
        lead_only=False,
    ),
    Subcommand[DoNotCall](
        verb="dnc",
        usage=dnc_view.USAGE,
        help=dnc_view.HELP,
        parse=parse_dnc,
        commands=(DoNotCall,),
        handle=run_dnc,
        lead_only=False,  # ``check`` is open to anyone; the handler asks for a lead to change
    ),
    Subcommand[ShowHelp](
        verb="help",
        usage="/campaign help",
        help="",  # the help does not list itself
        parse=parse_help,
        commands=(ShowHelp,),
        handle=show_help,
        lead_only=False,
    ),
)


def _index_by(what: str, pairs: Iterable[tuple[K, Subcommand[Any]]]) -> dict[K, Subcommand[Any]]:
    index: dict[K, Subcommand[Any]] = {}
    for key, entry in pairs:
        if key in index:
            raise ValueError(
                f"{what} {key!r} belongs to both /campaign {index[key].verb} and "
                f"/campaign {entry.verb}; give each subcommand its own"
            )
        index[key] = entry
    return index


BY_VERB: dict[str, Subcommand[Any]] = _index_by("verb", ((e.verb, e) for e in SUBCOMMANDS))
BY_COMMAND: dict[type[Command], Subcommand[Any]] = _index_by(
    "command type", ((t, e) for e in SUBCOMMANDS for t in e.commands)
)
BUTTON_OWNERS: dict[str, Subcommand[Any]] = _index_by(
    "button action id", ((b.action_id, e) for e in SUBCOMMANDS for b in e.buttons)
)
BUTTONS: dict[str, Button] = {b.action_id: b for e in SUBCOMMANDS for b in e.buttons}
USAGE: dict[str, str] = {entry.verb: entry.usage for entry in SUBCOMMANDS}


def subcommand_of(command: Command) -> Subcommand[Any]:
    """The entry whose handler takes ``command``."""
    entry = BY_COMMAND.get(type(command))
    if entry is None:
        raise TypeError(f"{type(command).__name__} is in no /campaign subcommand's `commands`")
    return entry
