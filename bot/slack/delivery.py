"""Showing a handler's ``Reply`` in Slack: the only place that turns replies into Web API calls."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from commands.handlers.context import Deps
from commands.handlers.removal import remember_approval_message
from commands.replies import Reply
from state.campaign import Campaign
from state.effects import Effect

log = logging.getLogger(__name__)

Dispatch = Callable[[Iterable[Effect], Campaign | None], Awaitable[None]]
Respond = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Where:
    """Where a request came from, so a reply can find its way back."""

    user_id: str
    channel_id: str | None = None
    trigger_id: str | None = None
    respond: Respond | None = None  # Bolt's ``respond`` (the request's response_url)
    view_id: str | None = None  # the request came from this open modal: update it, not open one


class Delivery:
    def __init__(self, client: AsyncWebClient, deps: Deps, dispatch: Dispatch) -> None:
        self.client = client
        self.deps = deps
        self.dispatch = dispatch

    async def deliver(self, reply: Reply, where: Where) -> None:
        if reply.modal is not None:
            await self._open_modal(reply, where)
        for post in reply.posts:
            answer = await self._call(
                "chat.postMessage", channel=post.channel, text=post.text, blocks=post.blocks
            )
            if answer is not None and post.approval_for is not None:
                await remember_approval_message(self.deps, post.approval_for, str(answer["ts"]))
        for edit in reply.edits:
            await self._call(
                "chat.update", channel=edit.channel, ts=edit.ts, text=edit.text, blocks=edit.blocks
            )
        if reply.effects:
            await self.dispatch(reply.effects, reply.campaign)
        if reply.text is not None:
            await self.tell(where, reply.text, reply.blocks, replace=reply.replace_original)

    async def tell(
        self, where: Where, text: str, blocks: list[Any] | None = None, *, replace: bool = False
    ) -> None:
        """Show ``text`` to the person only: through the response URL, else ephemerally."""
        body: dict[str, Any] = {"text": text}
        if blocks:
            body["blocks"] = blocks
        if where.respond is not None:
            try:
                if replace:
                    await where.respond(replace_original=True, **body)
                else:
                    await where.respond(response_type="ephemeral", **body)
                return
            except Exception:
                log.exception("response_url failed; falling back to an ephemeral message")
        if where.channel_id is not None:
            await self._call(
                "chat.postEphemeral", channel=where.channel_id, user=where.user_id, **body
            )
        else:
            await self._call("chat.postMessage", channel=where.user_id, **body)

    async def _open_modal(self, reply: Reply, where: Where) -> None:
        if where.view_id is not None:
            await self._call("views.update", view_id=where.view_id, view=reply.modal)
            return
        if where.trigger_id is None:
            await self.tell(where, "That needs a fresh click or command; try again.")
            return
        await self._call("views.open", trigger_id=where.trigger_id, view=reply.modal)

    async def _call(self, method: str, **args: Any) -> Any:
        try:
            return await self.client.api_call(method, json=args)
        except SlackApiError as exc:
            log.error("Slack %s failed: %s", method, exc.response.get("error", exc))
            return None
