"""Buttons: every subcommand's (from ``commands.registry``), and the leads upload's questions.

A subcommand's button runs the command its registry entry reads from the button's value, through
the same dispatch as the slash command; where the answer goes is the button's ``place``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.slack.delivery import Where
from bot.slack.edge import SlackEdge
from bot.slack.leads import RESUME_UPLOAD, SKIP_UPLOAD, UPLOAD_GOOD_ROWS
from commands.buttons import Place, Press
from commands.handlers.context import Requester
from commands.handlers.dispatch import handle, handle_in_campaign_view
from commands.registry import BUTTONS
from commands.text import code
from state.refs import looks_like_ref

log = logging.getLogger(__name__)

Body = dict[str, Any]


def where_of(body: Body, respond: AsyncRespond | None) -> Where:
    channel = (body.get("channel") or {}).get("id")
    return Where(
        user_id=str(body["user"]["id"]),
        channel_id=channel,
        trigger_id=body.get("trigger_id"),
        respond=respond if body.get("response_url") else None,
    )


def action_of(body: Body) -> dict[str, Any]:
    return dict(body["actions"][0])


async def first_time(edge: SlackEdge, body: Body) -> bool:
    """False for Slack's retry of a click already handled."""
    action = action_of(body)
    request_id = f"{body['user']['id']}:{action.get('action_ts')}:{action['action_id']}"
    return await edge.once.first_time("action", request_id)


async def subcommand_button(
    ack: AsyncAck, body: Body, respond: AsyncRespond, edge: SlackEdge
) -> None:
    """Any button of a registry entry: Start, Stop, Edit, Remove, Approve, Reject, New campaign,
    overview paging, an agent's Remove in the campaign modal, the history's Older and CSV."""
    await ack()
    action = action_of(body)
    button = BUTTONS[str(action["action_id"])]
    view = body.get("view") or {}
    press = Press(str(action.get("value") or ""), str(view.get("private_metadata") or ""))
    command = button.command(press)
    if command is None or (button.once and not await first_time(edge, body)):
        return
    if button.place is Place.CAMPAIGN_MODAL:
        campaign = await edge.deps.store.get(press.modal_ref)
        where = Where(
            user_id=str(body["user"]["id"]),
            channel_id=campaign.channel_id if campaign else None,
            view_id=str(view["id"]),
        )
        who = Requester(where.user_id, where.channel_id)
        reply = await handle_in_campaign_view(command, press.modal_ref, edge.deps, who)
        await edge.delivery.deliver(reply, where)
    elif button.place is Place.SAME_MESSAGE:
        where = where_of(body, respond)
        reply = await handle(command, edge.deps, Requester(where.user_id, where.channel_id))
        await edge.delivery.deliver(replace(reply, replace_original=True), where)
    else:
        await edge.run(command, where_of(body, respond))


async def leads_answer(ack: AsyncAck, body: Body, respond: AsyncRespond, edge: SlackEdge) -> None:
    """**Upload N good rows** / **Don't upload** after some rows of a leads file were rejected."""
    await ack()
    action = action_of(body)
    ref, _, file_id = str(action.get("value") or "").partition(" ")
    where = where_of(body, respond)
    if not looks_like_ref(ref) or not file_id or where.channel_id is None:
        return
    if await edge.refused(where):
        return
    if not await edge.once.first_time("leads-answer", ref):
        await edge.delivery.tell(where, f"The leads of {code(ref)} were already decided.")
        return
    upload = action["action_id"] == UPLOAD_GOOD_ROWS
    text = await edge.leads.answer(ref, file_id, where.channel_id, upload=upload)
    await edge.delivery.tell(where, text, replace=True)


async def resume_upload(ack: AsyncAck, body: Body, respond: AsyncRespond, edge: SlackEdge) -> None:
    """**Resume upload** on an upload's progress message that stopped."""
    await ack()
    ref = str(action_of(body).get("value") or "")
    where = where_of(body, respond)
    if not looks_like_ref(ref) or where.channel_id is None or not await first_time(edge, body):
        return
    if await edge.refused(where):
        return
    await edge.delivery.tell(where, await edge.leads.resume(ref, where.channel_id))


def register(app: AsyncApp) -> None:
    for action_id in BUTTONS:
        app.action(action_id)(subcommand_button)
    app.action(UPLOAD_GOOD_ROWS)(leads_answer)
    app.action(SKIP_UPLOAD)(leads_answer)
    app.action(RESUME_UPLOAD)(resume_upload)
