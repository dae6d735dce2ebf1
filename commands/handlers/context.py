"""What every handler gets: the services it may use and who is asking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from commands.authz import Authorizer
from commands.parse import USAGE
from commands.replies import Reply
from commands.text import escape
from commands.views.help import mistake_blocks
from dialer.base import Dialer
from dialer.errors import DialerError
from state.store import CampaignStore, utcnow


@dataclass(frozen=True)
class Deps:
    store: CampaignStore
    dialer: Dialer
    authz: Authorizer
    clock: Callable[[], datetime] = utcnow
    removal_approval_ttl: timedelta = timedelta(days=1)
    """How long a removal request waits for approval (``REMOVAL_APPROVAL_TTL_SECONDS``)."""


@dataclass(frozen=True)
class Requester:
    user_id: str
    channel_id: str | None = None


def mistake(problem: str, verb: str) -> Reply:
    text, blocks = mistake_blocks(problem, USAGE[verb])
    return Reply(text=text, blocks=blocks)


def dialer_failed(error: DialerError, what: str) -> Reply:
    return Reply(
        text=f":warning: The dialer did not take the {what}: {escape(str(error))}\n"
        "Nothing changed in the bot; try again."
    )
