"""The message shortcut *Create campaign from this file*: a new campaign whose leads are a CSV
already posted in the channel.

Slack's file field in a modal takes files up to 10 MB, the bot up to ``LEADS_MAX_FILE_BYTES``
(50 MB, a million rows); a bigger file is posted in the channel and the campaign is created from
the message. The same form opens, without the file field.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.slack.delivery import Where
from bot.slack.edge import SlackEdge
from commands.leads.reader import too_large_message
from commands.replies import Reply
from commands.text import escape
from commands.views.modals import new_campaign_modal

CREATE_FROM_FILE = "create_campaign_from_file"
LEADS_FILE_TYPES = frozenset({"csv", "tsv", "text"})
LEADS_FILE_SUFFIXES = (".csv", ".tsv", ".txt")

NO_LEADS_FILE = (
    ":warning: This message has no CSV file attached. Use *Create campaign from this file* on "
    "the message that holds the leads file (`.csv`, `.tsv` or `.txt`), or `/campaign new`."
)


def leads_file_of(message: dict[str, Any], max_bytes: int) -> tuple[str, str] | str:
    """(file id, name) of the message's leads file, or why there is none to use."""
    files = [f for f in message.get("files") or [] if isinstance(f, dict) and f.get("id")]
    usable = [
        f
        for f in files
        if str(f.get("filetype") or "") in LEADS_FILE_TYPES
        or str(f.get("name") or "").lower().endswith(LEADS_FILE_SUFFIXES)
    ]
    if not usable:
        if files:
            names = ", ".join(escape(str(f.get("name") or f["id"])) for f in files[:3])
            return f"{NO_LEADS_FILE}\n(Attached: {names}.)"
        return NO_LEADS_FILE
    if len(usable) > 1:
        return (
            ":warning: This message has several CSV files; a campaign takes one. Post the leads "
            "file on its own and use the shortcut on that message."
        )
    file = usable[0]
    if int(file.get("size") or 0) > max_bytes:
        return f":warning: {escape(too_large_message(max_bytes))}"
    return str(file["id"]), str(file.get("name") or file["id"])


async def create_from_file(
    ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, edge: SlackEdge
) -> None:
    await ack()
    where = Where(
        user_id=str(body["user"]["id"]),
        channel_id=(body.get("channel") or {}).get("id"),
        trigger_id=body.get("trigger_id"),
        respond=respond if body.get("response_url") else None,
    )
    trigger = str(body.get("trigger_id") or "")
    if trigger and not await edge.once.first_time("shortcut", trigger):
        return
    if await edge.refused(where):
        return
    found = leads_file_of(body.get("message") or {}, edge.leads.settings.max_file_bytes)
    if isinstance(found, str):
        await edge.delivery.tell(where, found)
        return
    if (problem := await edge.channels.problem(where.channel_id)) is not None:
        await edge.delivery.tell(where, problem)
        return
    await edge.delivery.deliver(Reply(modal=new_campaign_modal(where.channel_id, found)), where)


def register(app: AsyncApp) -> None:
    app.message_shortcut(CREATE_FROM_FILE)(create_from_file)
