"""Whether the bot can post in a channel: asked before the New campaign form opens, and again,
uncached, right before the campaign is created.

A campaign's card, alerts, upload progress and approval messages all go to its channel, so a
campaign is only created for a channel the bot is in: ``conversations.info``'s ``is_member``
(scopes ``channels:read`` and ``groups:read``). A private channel the bot is not in is
``channel_not_found`` to it; a direct message cannot hold a campaign. The bot never joins a
channel by itself: a person invites it (``/invite @campaign-bot``), so it is only where people
asked it to be. A "yes" is remembered for ``MEMBER_CACHE_SECONDS`` (a bot removed from a channel
meanwhile is caught by the approval message or the alert that then fails); a "no" is asked again
each time, so an invite works at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

MEMBER_CACHE_SECONDS = 60.0
BOT_HANDLE = "@campaign-bot"

HOW_TO_FIX = (
    f"Invite the bot with `/invite {BOT_HANDLE}` in that channel, or run the command in a "
    "channel it is already in."
)


def not_a_member(channel_id: str) -> str:
    return (
        f":warning: The bot is not in <#{channel_id}>, so it cannot post this campaign's "
        f"messages there. {HOW_TO_FIX} Nothing was created."
    )


DIRECT_MESSAGE = (
    ":warning: A campaign belongs to a channel: its card, alerts and approvals are posted there. "
    "Run `/campaign new` in that channel (after inviting the bot with "
    f"`/invite {BOT_HANDLE}`). Nothing was created."
)
NO_CHANNEL = (
    ":warning: This request did not say which channel it came from. Run `/campaign new` in the "
    "channel the campaign belongs to. Nothing was created."
)


class ChannelAccess:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        ttl: float = MEMBER_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._member_since: dict[str, float] = {}

    async def problem(self, channel_id: str | None, *, fresh: bool = False) -> str | None:
        """Why the bot cannot post in ``channel_id`` (mrkdwn for the person), or None if it can.

        ``fresh``: ask Slack even if the bot was in the channel a moment ago (right before a
        campaign is created on the dialer)."""
        if not channel_id:
            return NO_CHANNEL
        if channel_id.startswith("D"):
            return DIRECT_MESSAGE
        seen = self._member_since.get(channel_id)
        if not fresh and seen is not None and self._clock() - seen < self._ttl:
            return None
        try:
            answer = await self._client.conversations_info(channel=channel_id)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc)
            if error == "channel_not_found":
                return not_a_member(channel_id)
            log.warning("conversations.info for %s failed: %s", channel_id, error)
            return self._unknown(channel_id, error)
        except SlackClientError as exc:
            log.warning("conversations.info for %s failed: %s", channel_id, exc)
            return self._unknown(channel_id, str(exc))
        channel = answer.get("channel") or {}
        if channel.get("is_im"):
            return DIRECT_MESSAGE
        if channel.get("is_archived"):
            return f":warning: <#{channel_id}> is archived. Nothing was created."
        if not channel.get("is_member"):
            self._member_since.pop(channel_id, None)
            return not_a_member(channel_id)
        self._member_since[channel_id] = self._clock()
        return None

    def forget(self, channel_id: str) -> None:
        """The bot turned out not to be in ``channel_id`` after all (a post was refused)."""
        self._member_since.pop(channel_id, None)

    @staticmethod
    def _unknown(channel_id: str, error: str) -> str:
        hint = (
            " The app lacks the `channels:read` / `groups:read` scopes: a Slack admin has to "
            "reinstall it from the current manifest."
            if error == "missing_scope"
            else " Try again in a moment."
        )
        return (
            f":warning: Slack did not say whether the bot is in <#{channel_id}> ({error}), "
            f"so nothing was created.{hint}"
        )
