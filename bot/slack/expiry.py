"""Showing an expired removal request in Slack: its approval message says so and loses its
buttons (the card gets its buttons back through the card redraw the expiry asks for)."""

from __future__ import annotations

import logging

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.delivery import SLACK_FAILURES
from commands.handlers.removal import expired_approval_edit
from state.campaign import Campaign

log = logging.getLogger(__name__)


class ExpiredApprovals:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def __call__(self, before: Campaign) -> None:
        """``before``: the campaign as it was, with the request that expired."""
        edit = expired_approval_edit(before)
        if edit is None:
            return
        try:
            await self.client.chat_update(
                channel=edit.channel, ts=edit.ts, text=edit.text, blocks=edit.blocks
            )
        except SLACK_FAILURES as exc:
            log.warning("the expired approval message of %s was not updated: %s", before.ref, exc)
