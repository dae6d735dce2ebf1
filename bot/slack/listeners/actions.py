"""Buttons: on the overview and cards, the approval message, the leads question, the modal."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.slack.delivery import Where
from bot.slack.edge import SlackEdge
from bot.slack.leads import SKIP_UPLOAD, UPLOAD_GOOD_ROWS
from commands.authz import NOT_ALLOWED
from commands.handlers.context import Requester
from commands.handlers.control import change_agents, running_elsewhere
from commands.handlers.overview import list_campaigns
from commands.leads.errors import LeadsFileError
from commands.requests import (
    ApproveRemoval,
    CampaignCommand,
    OpenNewCampaign,
    RejectRemoval,
    RemoveAgents,
    RemoveCampaign,
    ShowCampaign,
    StartCampaign,
    StopCampaign,
)
from commands.text import code, escape
from commands.views import ids
from commands.views.modals import campaign_modal
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
            ref = str(action_of(body).get("value") or "")
            if not looks_like_ref(ref) or not await first_time(body):
                return
            await edge.run(command_type(ref=ref), where_of(body, respond))

        return on_click

    for action_id, command_type in CAMPAIGN_BUTTONS.items():
        app.action(action_id)(campaign_button(command_type))

    async def new_campaign(ack: AsyncAck, body: Body, respond: AsyncRespond) -> None:
        await ack()
        await edge.run(OpenNewCampaign(), where_of(body, respond))

    async def page(ack: AsyncAck, body: Body, respond: AsyncRespond) -> None:
        await ack()
        raw = str(action_of(body).get("value") or "0")
        number = int(raw) if raw.isdigit() else 0
        reply = await list_campaigns(edge.deps, number, replace=True)
        await edge.delivery.deliver(reply, where_of(body, respond))

    async def remove_agent(ack: AsyncAck, body: Body) -> None:
        """The Remove button next to an agent, inside the campaign modal."""
        await ack()
        view = body["view"]
        ref = str(view.get("private_metadata") or "")
        agent = str(action_of(body).get("value") or "")
        if not looks_like_ref(ref) or not await first_time(body):
            return
        who = Requester(str(body["user"]["id"]))
        if not await edge.deps.authz.may_change(who.user_id):
            reply_text = NOT_ALLOWED
        else:
            reply = await change_agents(edge.deps, who, RemoveAgents(ref=ref, agent_ids=(agent,)))
            reply_text = reply.text or ""
            if reply.effects:
                await edge.delivery.dispatch(reply.effects, reply.campaign)
        campaign = await edge.deps.store.get(ref)
        if campaign is not None:
            agents = (a.agent_id for a in campaign.agents)
            conflicts = await running_elsewhere(edge.deps, ref, agents)
            await edge.delivery.update_modal(str(view["id"]), campaign_modal(campaign, conflicts))
        channel = campaign.channel_id if campaign else None
        await edge.delivery.tell(Where(who.user_id, channel), reply_text)

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
        if action["action_id"] == SKIP_UPLOAD:
            await edge.delivery.tell(
                where,
                f"No leads uploaded to {code(ref)}. Remove it and create a new one.",
                replace=True,
            )
            return
        try:
            checked = await edge.leads.check(file_id)
        except LeadsFileError as exc:
            await edge.delivery.tell(where, f":warning: {escape(str(exc))}")
            return
        checked.discard()  # already shared when the question was asked
        await edge.delivery.tell(where, f"Uploading the good rows to {code(ref)}.", replace=True)
        edge.leads.upload_in_background(ref, checked.report, where.channel_id)

    app.action(ids.NEW)(new_campaign)
    app.action(ids.PAGE_PREVIOUS)(page)
    app.action(ids.PAGE_NEXT)(page)
    app.action(ids.REMOVE_AGENT)(remove_agent)
    app.action(UPLOAD_GOOD_ROWS)(leads_answer)
    app.action(SKIP_UPLOAD)(leads_answer)
