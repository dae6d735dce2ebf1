"""Modal submissions: New campaign (Create) and the campaign view (Apply).

The form is checked before the ack, so mistakes show under their fields; the work (the leads
check, the dialer) happens after it. A submission is handled once, by its view id.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.slack.delivery import Where
from bot.slack.dnc import dnc_upload_submitted
from bot.slack.edge import SlackEdge
from commands.handlers.context import Requester
from commands.handlers.create import create_campaign
from commands.handlers.dispatch import apply_edit
from commands.leads.errors import LeadsFileError
from commands.leads.progress import render_validation
from commands.text import escape
from commands.views import ids
from commands.views.dnc import UPLOAD_MODAL
from commands.views.forms import FormErrors, read_campaign_edit, read_new_campaign
from state.refs import looks_like_ref

log = logging.getLogger(__name__)

Body = dict[str, Any]

NO_CHANNEL = (
    "There is no channel for this campaign's alerts: create it with `/campaign new` in the "
    "channel it belongs to."
)


async def new_campaign_submitted(ack: AsyncAck, body: Body, edge: SlackEdge) -> None:
    view = body["view"]
    # "<channel>" from /campaign new, "<channel> <file id>" from the message shortcut.
    channel_id, _, file_id = str(view.get("private_metadata") or "").partition(" ")
    try:
        form = read_new_campaign(view["state"]["values"], file_id=file_id or None)
    except FormErrors as exc:
        await ack(response_action="errors", errors=exc.errors)
        return
    await ack()
    user_id = str(body["user"]["id"])
    channel = channel_id or edge.default_channel
    where = Where(user_id, channel)
    if not await edge.once.first_time("view", str(view["id"])):
        return  # a second submission of the same modal (retry or double click)
    if await edge.refused(where):
        return
    if channel is None:
        await edge.delivery.tell(where, NO_CHANNEL)
        return
    # Asked again: the bot may have been removed from the channel while the form was open.
    if (problem := await edge.channels.problem(channel, fresh=True)) is not None:
        await edge.delivery.tell(Where(user_id), problem)  # a direct message: not the channel
        return
    assert form.leads_file_id is not None  # the form requires it
    try:
        checked = await edge.leads.check(form.leads_file_id)
    except LeadsFileError as exc:
        await edge.delivery.tell(
            where,
            f":warning: The leads file cannot be used: {escape(str(exc))}\n"
            "Nothing was created; fix the file and try `/campaign new` again.",
        )
        return
    if not checked.report.can_upload:
        checked.discard()
        await edge.delivery.tell(
            where,
            ":warning: No row of the leads file can be dialled; nothing was created.\n"
            f"{escape(render_validation(checked.report))}",
        )
        return
    reply = await create_campaign(edge.deps, Requester(user_id, channel), form, channel)
    await edge.delivery.deliver(reply, where)
    if reply.campaign is None:
        checked.discard()
        return
    await edge.leads.follow_up(reply.campaign.ref, checked, channel)


async def campaign_applied(ack: AsyncAck, body: Body, edge: SlackEdge) -> None:
    view = body["view"]
    try:
        form = read_campaign_edit(view["state"]["values"])
    except FormErrors as exc:
        await ack(response_action="errors", errors=exc.errors)
        return
    await ack()
    ref = str(view.get("private_metadata") or "")
    user_id = str(body["user"]["id"])
    if not looks_like_ref(ref) or not await edge.once.first_time("view", str(view["id"])):
        return
    campaign = await edge.deps.store.get(ref)
    where = Where(user_id, campaign.channel_id if campaign else None)
    if await edge.refused(where):
        return
    reply = await apply_edit(edge.deps, Requester(user_id), ref, form)
    await edge.delivery.deliver(reply, where)


def register(app: AsyncApp) -> None:
    app.view(ids.NEW_CAMPAIGN_MODAL)(new_campaign_submitted)
    app.view(ids.CAMPAIGN_MODAL)(campaign_applied)
    app.view(UPLOAD_MODAL)(dnc_upload_submitted)
