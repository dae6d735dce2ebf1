"""A subcommand's buttons: which action id runs which command, read from the button's value.

Slack sends a click as an action whose ``action_id`` names the button and whose ``value`` the
bot put there when it drew the button; inside a modal, the modal's ``private_metadata`` (the
campaign modal keeps its ref there) comes along. ``Press`` is those two strings; a ``Button``
turns a press into the command to run, or ``None`` for a value the bot never writes (ignored).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from commands.requests import (
    ApproveRemoval,
    Command,
    ListCampaigns,
    RejectRemoval,
    RemoveAgents,
    ShowHistory,
)
from commands.views import ids
from state.refs import looks_like_ref


@dataclass(frozen=True)
class Press:
    value: str
    """The button's ``value``."""
    modal_ref: str = ""
    """The ``private_metadata`` of the modal the button is in; empty on a message."""


class Place(Enum):
    """Where the answer to a click goes."""

    REPLY = "reply"
    """To the person who clicked, as the answer to a slash command goes."""
    SAME_MESSAGE = "same message"
    """Instead of the message the button is on (paging)."""
    CAMPAIGN_MODAL = "campaign modal"
    """A button inside the campaign modal: the modal is redrawn as the campaign now stands."""


@dataclass(frozen=True)
class Button:
    action_id: str
    command: Callable[[Press], Command | None]
    place: Place = Place.REPLY
    once: bool = True
    """Drop Slack's retry of a click (same user, ``action_ts`` and action id)."""


def campaign_ref_button(make: Callable[[str], Command]) -> Callable[[Press], Command | None]:
    """A button whose value is the campaign ref (Start, Stop, Edit, Remove on a card)."""

    def command(press: Press) -> Command | None:
        return make(press.value) if looks_like_ref(press.value) else None

    return command


def removal_decision(
    make: type[ApproveRemoval] | type[RejectRemoval],
) -> Callable[[Press], Command | None]:
    """Approve / Reject carry "<ref> <request id>": they decide that request only."""

    def command(press: Press) -> Command | None:
        ref, _, request_id = press.value.partition(" ")
        return make(ref=ref, request_id=request_id or None) if looks_like_ref(ref) else None

    return command


def overview_page(press: Press) -> Command:
    """Previous / Next: the value is the page number, after ``EVERY_CHANNEL_PAGE`` for
    ``list all``."""
    every_channel = press.value.startswith(ids.EVERY_CHANNEL_PAGE)
    raw = press.value.removeprefix(ids.EVERY_CHANNEL_PAGE)
    return ListCampaigns(page=int(raw) if raw.isdigit() else 0, every_channel=every_channel)


def remove_agent(press: Press) -> Command | None:
    """The Remove button next to an agent in the campaign modal: the value is the agent id."""
    if not looks_like_ref(press.modal_ref):
        return None
    return RemoveAgents(ref=press.modal_ref, agent_ids=(press.value,))


def older_history(press: Press) -> Command | None:
    """**Older** under the history: "<ref> <audit entry id>"."""
    ref, _, before = press.value.partition(" ")
    if not looks_like_ref(ref) or not before:
        return None
    return ShowHistory(ref=ref, before=before)


def history_csv(press: Press) -> Command | None:
    return ShowHistory(ref=press.value, as_csv=True) if looks_like_ref(press.value) else None
