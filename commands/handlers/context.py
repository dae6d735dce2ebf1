"""What every handler gets: the services it may use and who is asking.

Handlers get narrow services (uploads, the memory of expired requests, the calling-window
schedule, the do-not-call list) over the store's connection, never the Redis client itself: what
a handler may do to Redis is what these services offer; and the settings they need as values,
never by reading the environment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from commands.authz import Authorizer
from commands.leads.store import UploadStore
from commands.replies import Reply
from commands.text import escape
from dialer.base import Dialer
from dialer.errors import DialerError
from state.dnc import DoNotCallList
from state.expired_requests import ExpiredRequests
from state.store import CampaignStore, utcnow
from state.window_schedule import WindowSchedule


@dataclass(frozen=True)
class Deps:
    store: CampaignStore
    dialer: Dialer
    authz: Authorizer
    clock: Callable[[], datetime] = utcnow
    removal_approval_ttl: timedelta = timedelta(days=1)
    """How long a removal request waits for approval (``REMOVAL_APPROVAL_TTL_SECONDS``)."""
    time_zone_of: Callable[[str], Awaitable[str | None]] | None = None
    """A Slack user's IANA time zone (``users.info``), to tell a lead when an armed start goes
    out in their own time; None, or a None answer: the window's time zone is used."""
    default_region: str = "US"
    """Where numbers written without a country code are (``LEADS_DEFAULT_REGION``)."""

    @property
    def uploads(self) -> UploadStore:
        return UploadStore(self.store.redis, self.store.keys.uploads)

    @property
    def expired_requests(self) -> ExpiredRequests:
        return ExpiredRequests.of(self.store)

    @property
    def window_schedule(self) -> WindowSchedule:
        return WindowSchedule(self.store.redis, self.store.keys)

    @property
    def do_not_call(self) -> DoNotCallList:
        return DoNotCallList(self.store.redis, self.store.keys, clock=self.clock)


@dataclass(frozen=True)
class Requester:
    user_id: str
    channel_id: str | None = None


def dialer_failed(error: DialerError, what: str) -> Reply:
    return Reply(
        text=f":warning: The dialer did not take the {what}: {escape(str(error))}\n"
        "Nothing changed in the bot; try again."
    )
