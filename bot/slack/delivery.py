"""Showing a handler's ``Reply`` in Slack: the only place that turns replies into Web API calls.

Calls go through the bot's client, which waits out 429s and retries 5xx (``bot.slack.client``).
A private reply goes to the request's ``response_url``; when that fails (Slack answers
``expired_url`` after 30 minutes or 5 uses, or 5xx) it goes as ``chat.postEphemeral``, and when
that fails too, the log says who was not told what. An approval message that cannot be posted
withdraws its removal request, so a campaign is never left waiting for an approval nobody sees.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.channels import HOW_TO_FIX
from commands.handlers.context import Deps
from commands.handlers.removal import remember_approval_message, withdraw_removal
from commands.limits import clip_message
from commands.replies import ChannelPost, FileShare, Reply
from commands.views.approval import approval_gone
from state.campaign import Campaign
from state.effects import Effect

log = logging.getLogger(__name__)

Dispatch = Callable[[Iterable[Effect], Campaign | None], Awaitable[None]]
Respond = Callable[..., Awaitable[Any]]

SLACK_FAILURES = (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError, OSError)
"""What a Web API call raises once the client's own retries are spent."""
NOT_POSTABLE = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


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
        text = reply.text
        for post in reply.posts:
            failure = await self._post(post, where)
            if failure is not None:
                text = failure  # the request was withdrawn: say that instead of "asked"
        for edit in reply.edits:
            await self._call(
                "chat.update",
                self.client.chat_update,
                channel=edit.channel,
                ts=edit.ts,
                text=edit.text,
                blocks=edit.blocks,
            )
        if reply.effects:
            await self.dispatch(reply.effects, reply.campaign)
        for file in reply.files:
            if not await self._share(file, where):
                text = f":warning: The file {file.filename} could not be sent; try again."
        if text is not None:
            await self.tell(where, text, reply.blocks, replace=reply.replace_original)

    async def _post(self, post: ChannelPost, where: Where) -> str | None:
        """Post ``post``; for an approval message that could not be posted, withdraw the removal
        and return what to tell the requester instead."""
        try:
            answer = await self.client.chat_postMessage(
                channel=post.channel, text=post.text, blocks=post.blocks
            )
        except SLACK_FAILURES as exc:
            error = _error_of(exc)
            log.error("Slack chat.postMessage to %s failed: %s", post.channel, error)
            if post.approval_for is None:
                return None
            await withdraw_removal(self.deps, post.approval_for, where.user_id)
            fix = f" {HOW_TO_FIX}" if error in NOT_POSTABLE else " Try again in a moment."
            return (
                f":warning: The approval message could not be posted in <#{post.channel}> "
                f"(Slack said `{error}`), so the removal request of `{post.approval_for}` was "
                f"withdrawn: the campaign is unlocked and nothing changed.{fix}"
            )
        if post.approval_for is not None:
            ts = str(answer["ts"])
            if not await remember_approval_message(self.deps, post.approval_for, ts):
                # Cancelled before its ts was kept: its buttons must not stay live.
                text, blocks = approval_gone(post.approval_for)
                await self._call(
                    "chat.update",
                    self.client.chat_update,
                    channel=post.channel,
                    ts=ts,
                    text=text,
                    blocks=blocks,
                )
        return None

    async def _share(self, file: FileShare, where: Where) -> bool:
        """Upload ``file`` (files.getUploadURLExternal, then completeUploadExternal) into the
        app's direct message with the person: ``channels`` takes a user id, ``channel_id`` only
        a conversation id."""
        shared = await self._call(
            "files.completeUploadExternal",
            self.client.files_upload_v2,
            content=file.content,
            filename=file.filename,
            title=file.title,
            channels=[where.user_id],
            initial_comment=file.comment or None,
        )
        return shared is not None

    async def tell(
        self, where: Where, text: str, blocks: list[Any] | None = None, *, replace: bool = False
    ) -> None:
        """Show ``text`` to the person only: through the response URL, else ephemerally."""
        text, blocks = clip_message(text, blocks)
        body: dict[str, Any] = {"text": text}
        if blocks:
            body["blocks"] = blocks
        if where.respond is not None and await self._respond(where, body, replace=replace):
            return
        if where.channel_id is not None:
            sent = await self._call(
                "chat.postEphemeral",
                self.client.chat_postEphemeral,
                channel=where.channel_id,
                user=where.user_id,
                **body,
            )
        else:
            sent = await self._call(
                "chat.postMessage", self.client.chat_postMessage, channel=where.user_id, **body
            )
        if sent is None:
            log.error(
                "could not tell %s (channel %s) privately: %s",
                where.user_id,
                where.channel_id,
                text,
            )

    async def _respond(self, where: Where, body: dict[str, Any], *, replace: bool) -> bool:
        assert where.respond is not None
        try:
            if replace:
                answer = await where.respond(replace_original=True, **body)
            else:
                answer = await where.respond(response_type="ephemeral", **body)
        except Exception as exc:
            log.warning("response_url failed (%s); sending an ephemeral message instead", exc)
            return False
        status = getattr(answer, "status_code", 200)
        if status != 200:
            log.warning(
                "response_url answered %s %s; sending an ephemeral message instead",
                status,
                getattr(answer, "body", ""),
            )
            return False
        return True

    async def _open_modal(self, reply: Reply, where: Where) -> None:
        if where.view_id is not None:
            await self._call(
                "views.update", self.client.views_update, view_id=where.view_id, view=reply.modal
            )
            return
        if where.trigger_id is None:
            await self.tell(where, "That needs a fresh click or command; try again.")
            return
        opened = await self._call(
            "views.open", self.client.views_open, trigger_id=where.trigger_id, view=reply.modal
        )
        if opened is None:
            await self.tell(
                where,
                ":warning: Slack did not open the form (it may have taken too long); try again.",
            )

    async def _call(self, method: str, call: Callable[..., Awaitable[Any]], **args: Any) -> Any:
        try:
            return await call(**args)
        except SLACK_FAILURES as exc:
            log.error("Slack %s failed: %s", method, _error_of(exc))
            return None


def _error_of(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or exc.response.status_code)
    return str(exc) or type(exc).__name__
