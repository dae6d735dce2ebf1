"""``/campaign``: ack at once, then parse, handle and reply (the dialer may be slow)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.slack.delivery import Where
from bot.slack.edge import SlackEdge
from bot.state_unavailable import telling_the_lead_if_state_is_unavailable
from commands.parse import CommandError, parse_command
from commands.views.help import mistake_blocks

COMMAND = "/campaign"


async def campaign_command(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, edge: SlackEdge
) -> None:
    await ack()
    where = Where(
        user_id=str(body["user_id"]),
        channel_id=body.get("channel_id"),
        trigger_id=body.get("trigger_id"),
        respond=respond,
    )
    async with telling_the_lead_if_state_is_unavailable(edge, where) as guarded:
        trigger = str(body.get("trigger_id") or "")
        if trigger and not await guarded.once.first_time("command", trigger):
            return  # Slack's retry of a command already being handled
        try:
            command = parse_command(str(body.get("text") or ""))
        except CommandError as exc:
            text, blocks = mistake_blocks(exc.problem, exc.usage)
            await guarded.delivery.tell(where, text, blocks)
            return
        await guarded.run(command, where)


def register(app: AsyncApp) -> None:
    app.command(COMMAND)(campaign_command)
