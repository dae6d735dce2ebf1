"""Buttons: on the overview and cards, the approval message, the leads question, the modal."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.slack.delivery import Where
from bot.slack.edge import SlackEdge
from bot.slack.leads import RESUME_UPLOAD, SKIP_UPLOAD, UPLOAD_GOOD_ROWS
from commands.authz import NOT_ALLOWED
from commands.handlers.context import Requester
from commands.handlers.dispatch import handle, handle_in_campaign_view
from commands.requests import (
    ApproveRemoval,
    CampaignCommand,
    ListCampaigns,
    OpenNewCampaign,
    RejectRemoval,
    RemoveAgents,
    RemoveCampaign,
    ShowCampaign,
    StartCampaign,
    StopCampaign,
)
from commands.text import code
from commands.views import ids
from state.refs import looks_like_ref

log = logging.getLogger(__name__)

Body = dict[str, Any]
Listener = Callable[[AsyncAck, Body, AsyncRespond], Awaitable[None]]

CAMPAIGN_BUTTONS: dict[str, type[CampaignCommand]] = {
    ids.START: StartCampaign,
    ids.STOP: StopCampaign,
    ids.EDIT: ShowCampaign,
    ids.REMOVE: RemoveCampaign,
    ids.APPROVE: ApproveRemoval,
    ids.REJECT: RejectRemoval,
}


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


def register(app: AsyncApp, edge: SlackEdge) -> None:
    async def first_time(body: Body) -> bool:
        action = action_of(body)
        request_id = f"{body['user']['id']}:{action.get('action_ts')}:{action['action_id']}"
        return await edge.once.first_time("action", request_id)

    def campaign_button(command_type: type[CampaignCommand]) -> Listener:
        async def on_click(ack: AsyncAck, body: Body, respond: AsyncRespond) -> None:
            await ack()
            # Approve / Reject carry "<ref> <request id>": they decide that request only.
            ref, _, request_id = str(action_of(body).get("value") or "").partition(" ")
            if not looks_like_ref(ref) or not await first_time(body):
                return
            command = (
                command_type(ref=ref, request_id=request_id or None)
                if issubclass(command_type, ApproveRemoval | RejectRemoval)
                else command_type(ref=ref)
            )
            await edge.run(command, where_of(body, respond))

        return on_click

    for action_id, command_type in CAMPAIGN_BUTTONS.items():
        app.action(action_id)(campaign_button(command_type))

    async def new_campaign(ack: AsyncAck, body: Body, respond: AsyncRespond) -> None:
        await ack()
        await edge.run(OpenNewCampaign(), where_of(body, respond))

    async def page(ack: AsyncAck, body: Body, respond: AsyncRespond) -> None:
        await ack()
        raw = str(action_of(body).get("value") or "0")
        every_channel = raw.startswith(ids.EVERY_CHANNEL_PAGE)
        raw = raw.removeprefix(ids.EVERY_CHANNEL_PAGE)
        number = int(raw) if raw.isdigit() else 0
        where = where_of(body, respond)
        command = ListCampaigns(page=number, every_channel=every_channel)
        reply = await handle(command, edge.deps, Requester(where.user_id, where.channel_id))
        await edge.delivery.deliver(replace(reply, replace_original=True), where)

    async def remove_agent(ack: AsyncAck, body: Body) -> None:
        """The Remove button next to an agent, inside the campaign modal."""
        await ack()
        view = body["view"]
        ref = str(view.get("private_metadata") or "")
        agent = str(action_of(body).get("value") or "")
        if not looks_like_ref(ref) or not await first_time(body):
            return
        campaign = await edge.deps.store.get(ref)
        where = Where(
            user_id=str(body["user"]["id"]),
            channel_id=campaign.channel_id if campaign else None,
            view_id=str(view["id"]),
        )
        command = RemoveAgents(ref=ref, agent_ids=(agent,))
        who = Requester(where.user_id, where.channel_id)
        await edge.delivery.deliver(
            await handle_in_campaign_view(command, ref, edge.deps, who), where
        )

    async def leads_answer(ack: AsyncAck, body: Body, respond: AsyncRespond) -> None:
        await ack()
        action = action_of(body)
        ref, _, file_id = str(action.get("value") or "").partition(" ")
        where = where_of(body, respond)
        if not looks_like_ref(ref) or not file_id or where.channel_id is None:
            return
        if not await edge.deps.authz.may_change(where.user_id):
            await edge.delivery.tell(where, NOT_ALLOWED)
            return
        if not await edge.once.first_time("leads-answer", ref):
            await edge.delivery.tell(where, f"The leads of {code(ref)} were already decided.")
            return
        upload = action["action_id"] == UPLOAD_GOOD_ROWS
        text = await edge.leads.answer(ref, file_id, where.channel_id, upload=upload)
        await edge.delivery.tell(where, text, replace=True)

    async def resume_upload(ack: AsyncAck, body: Body, respond: AsyncRespond) -> None:
        await ack()
        ref = str(action_of(body).get("value") or "")
        where = where_of(body, respond)
        if not looks_like_ref(ref) or where.channel_id is None or not await first_time(body):
            return
        if not await edge.deps.authz.may_change(where.user_id):
            await edge.delivery.tell(where, NOT_ALLOWED)
            return
        await edge.delivery.tell(where, await edge.leads.resume(ref, where.channel_id))

    app.action(ids.NEW)(new_campaign)
    app.action(ids.PAGE_PREVIOUS)(page)
    app.action(ids.PAGE_NEXT)(page)
    app.action(ids.REMOVE_AGENT)(remove_agent)
    app.action(UPLOAD_GOOD_ROWS)(leads_answer)
    app.action(SKIP_UPLOAD)(leads_answer)
    app.action(RESUME_UPLOAD)(resume_upload)
