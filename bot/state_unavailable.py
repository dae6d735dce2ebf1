"""A slash command that finds Redis away tells the lead so, instead of vanishing after its ack.

The command is acked before it is handled, so a Redis error while handling it (the campaign
lookup, the Slack-retry check, recording the request) would otherwise only reach the log. The
lead is told privately, and truthfully: "nothing was sent to the dialer" only when no request
reached the dialer in this command, which a per-command proxy of the dialer keeps track of.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator
from typing import Any, cast

from redis.exceptions import RedisError

from bot.slack.delivery import Where
from bot.slack.edge import SlackEdge
from dialer.base import Dialer

log = logging.getLogger(__name__)

NOTHING_SENT = (
    "⚠ Campaign state is unavailable right now; nothing was sent to the dialer. "
    "Try again in a minute."
)
SENT_UNRECORDED = (
    "⚠ Campaign state is unavailable right now. The request reached the dialer but could not be "
    "recorded; the channel shows the campaign's status once the dialer reports it."
)
# Calls that ask the dialer to do something; reads (list, get) change nothing there.
REQUESTS = frozenset(
    {
        "create_campaign",
        "add_contacts",
        "update_settings",
        "start",
        "stop",
        "delete",
        "add_agents",
        "remove_agents",
        "set_agent_default_state",
    }
)


class SentRequests:
    """The dialer, noting each request made through it."""

    def __init__(self, dialer: Dialer) -> None:
        self._dialer = dialer
        self.sent: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._dialer, name)
        if name not in REQUESTS:
            return attribute

        async def request(*args: Any, **kwargs: Any) -> Any:
            self.sent.append(name)
            return await attribute(*args, **kwargs)

        return request


@contextlib.asynccontextmanager
async def telling_the_lead_if_state_is_unavailable(
    edge: SlackEdge, where: Where
) -> AsyncIterator[SlackEdge]:
    """Yield ``edge`` for one command; a Redis failure inside ends with a private message."""
    dialer = SentRequests(edge.deps.dialer)
    deps = dataclasses.replace(edge.deps, dialer=cast(Dialer, dialer))
    try:
        yield dataclasses.replace(edge, deps=deps)
    except (RedisError, TimeoutError) as exc:
        log.warning(
            "/campaign from %s failed, Redis unavailable (%s); dialer requests sent: %s",
            where.user_id,
            exc,
            ", ".join(dialer.sent) or "none",
        )
        await edge.delivery.tell(where, SENT_UNRECORDED if dialer.sent else NOTHING_SENT)
