"""What a handler asks the Slack edge to show. Plain data; ``bot.slack`` does the I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from commands.views.blocks import Block
from state.campaign import Campaign
from state.effects import Effect


@dataclass(frozen=True)
class ChannelPost:
    """A message for a channel. ``approval_for``: it is the approval message of this ref's
    removal, so its ts is recorded on the removal (to update it once decided)."""

    channel: str
    text: str
    blocks: list[Block]
    approval_for: str | None = None


@dataclass(frozen=True)
class ChannelEdit:
    channel: str
    ts: str
    text: str
    blocks: list[Block]


@dataclass(frozen=True)
class FileShare:
    """A file for the person who asked, in a direct message from the app."""

    filename: str
    title: str
    content: bytes
    comment: str = ""


@dataclass(frozen=True)
class Reply:
    text: str | None = None
    """Shown only to the person who asked (ephemeral); also the fallback of ``blocks``."""
    blocks: list[Block] = field(default_factory=list)
    replace_original: bool = False
    """Redraw the message the button was on (overview paging) instead of adding one."""
    modal: Block | None = None
    posts: tuple[ChannelPost, ...] = ()
    edits: tuple[ChannelEdit, ...] = ()
    files: tuple[FileShare, ...] = ()
    effects: tuple[Effect, ...] = ()
    """For the engine: requests to the dialer and card redraws / alerts for the channel."""
    campaign: Campaign | None = None
    """The campaign the effects are about, as the change left it."""


def say(text: str) -> Reply:
    return Reply(text=text)
