"""The do-not-call list at the Slack edge.

The upload form (``/campaign dnc upload``): its submission reads the CSV through the leads file
access (``commands.leads.slack_file``) and hands it to ``commands.handlers.dnc.import_file``; the
answer goes to the person, the notices to channels. And the end of each leads upload: its
campaign is swept again when numbers were listed while it ran (``withdraw_after_upload``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from slack_bolt.async_app import AsyncAck

from bot.slack.delivery import Delivery, Where
from bot.slack.edge import SlackEdge
from commands.handlers.context import Deps, Requester
from commands.handlers.dnc import UPLOAD_ACTOR, import_file, withdraw_after_upload
from commands.leads.progress import UploadSummary
from commands.replies import Reply
from commands.views.dnc import FILE

CLOCK_SLACK = timedelta(minutes=1)
"""Replicas' clocks differ a little: a number listed up to this long before an upload started
(by another replica's clock) still has the upload's campaign swept again."""

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


def sweeping_after_uploads(
    record: Callable[[UploadSummary], Awaitable[None]], deps: Deps, delivery: Delivery
) -> Callable[[UploadSummary], Awaitable[None]]:
    """``LeadUploads.on_finished``: ``record`` the run, then sweep its campaign if need be."""

    async def finished(summary: UploadSummary) -> None:
        await record(summary)
        started = deps.clock() - timedelta(seconds=summary.elapsed_seconds) - CLOCK_SLACK
        posts = await withdraw_after_upload(deps, summary.campaign_ref, started)
        if posts:
            await delivery.deliver(Reply(posts=posts), Where(UPLOAD_ACTOR))

    return finished
