"""The do-not-call upload form (``/campaign dnc upload``): its submission reads the CSV through
the leads file access (``commands.leads.slack_file``) and hands it to
``commands.handlers.dnc.import_file``; the answer goes to the person, the notices to channels."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.slack.delivery import Where
from bot.slack.edge import SlackEdge
from commands.handlers.context import Requester
from commands.handlers.dnc import import_file
from commands.views.dnc import FILE

Body = dict[str, Any]
NO_FILE = "Choose a CSV file of numbers (.csv, .tsv or .txt)."


async def dnc_upload_submitted(ack: AsyncAck, body: Body, edge: SlackEdge) -> None:
    view = body["view"]
    chosen = view["state"]["values"].get(FILE, {}).get(FILE, {}).get("files") or []
    file_ids = [str(f["id"]) for f in chosen if isinstance(f, dict) and "id" in f]
    if not file_ids:
        await ack(response_action="errors", errors={FILE: NO_FILE})
        return
    await ack()
    if not await edge.once.first_time("view", str(view["id"])):
        return  # a second submission of the same modal (retry or double click)
    user_id = str(body["user"]["id"])
    channel = str(view.get("private_metadata") or "") or None
    source = edge.leads.files.source(file_ids[0])
    reply = await import_file(edge.deps, Requester(user_id, channel), source, edge.leads.settings)
    await edge.delivery.deliver(reply, Where(user_id, channel))
