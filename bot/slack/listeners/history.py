"""The buttons under ``/campaign history``: **Older** (the next page, in place) and
**Download CSV**."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.slack.edge import SlackEdge
from bot.slack.listeners.actions import action_of, where_of
from commands.requests import ShowHistory
from commands.views.history import CSV_EXPORT, OLDER
from state.refs import looks_like_ref

Body = dict[str, Any]


def register(app: AsyncApp, edge: SlackEdge) -> None:
    async def older(ack: AsyncAck, body: Body, respond: AsyncRespond) -> None:
        await ack()
        ref, _, before = str(action_of(body).get("value") or "").partition(" ")
        if not looks_like_ref(ref) or not before:
            return
        await edge.run(ShowHistory(ref=ref, before=before), where_of(body, respond))

    async def export(ack: AsyncAck, body: Body, respond: AsyncRespond) -> None:
        await ack()
        ref = str(action_of(body).get("value") or "")
        if not looks_like_ref(ref):
            return
        await edge.run(ShowHistory(ref=ref, as_csv=True), where_of(body, respond))

    app.action(OLDER)(older)
    app.action(CSV_EXPORT)(export)
