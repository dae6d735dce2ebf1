"""A local stand-in for the Slack Web API: a real HTTP server that answers like Slack.

Channels, rate limits and response URLs, at a glance::

    SlackStandIn(member_of={"C1"})           # the bot is in C1 (G… private, D… IM); else unknown
    slack.add_channel("C2", member=False)    # known public channel the bot is not in
    slack.add_channel("G3", member=False)    # private: answers channel_not_found to the bot
    slack.add_channel("C4", kind="public", name="ops", archived=True)
    slack.add_channel("C5", users={"U1"})    # ephemeral to anyone else: user_not_in_channel
    slack.set_member("C2", True) / slack.is_member("C2")
    #  chat.postMessage / chat.update / chat.postEphemeral / files.completeUploadExternal:
    #  unknown id or private-not-member -> channel_not_found; public-not-member -> not_in_channel
    #  (chat.postMessage passes with scope chat:write.public); archived -> is_archived;
    #  U…/W… ids are the app's DM with that user and always accepted.
    #  conversations.info -> channel{is_member,is_channel,is_group,is_im,is_mpim,is_private,...}
    #  conversations.join (scope channels:join) makes the bot a member of a public channel.
    #  conversations.members -> the ``users`` given to add_channel (empty when not given).
    SlackStandIn(scopes={...})               # default DEFAULT_SCOPES (no chat:write.public)
    slack.rate_limit("chat.postMessage", retry_after=3, times=None, channel="C1")  # 429s
    slack.clear_rate_limit("chat.postMessage", channel="C1")
    slack.throttle("chat.postMessage", calls=1, per_seconds=1.0, per_channel=True)  # 429 +
    #  Retry-After (ceil seconds until the window has room); calls=0 removes it
    SlackStandIn(clock=fake_clock)           # drives throttles and response_url expiry
    url = slack.response_url()               # 5 posts within 30 min (RESPONSE_URL_USES,
    #  RESPONSE_URL_SECONDS), then HTTP 404 text/plain "expired_url"; never-issued keys too
    #  (the limit is Slack's documented one; the exact answer is assumed, as is 400
    #  "invalid_blocks" / "msg_too_long" for a refused response_url payload)

Point ``AsyncWebClient(token=..., base_url=standin.api_url)`` (or ``SLACK_API_URL``) at it::

    async with SlackStandIn(member_of={"C1"}) as slack:
        client = slack.client()
        await client.chat_postMessage(channel="C1", text="hi")
        assert [m.text for m in slack.messages_in("C1")] == ["hi"]

It records every call (``calls``), keeps each channel as a person would read it (``messages_in``:
posts, with ``chat.update`` applied in place), serves files registered with ``add_file``, answers
``usergroups.users.list`` / ``users.info`` from registered groups and users, hands out
``response_url``s and records what is posted to them, and has knobs for the unhappy paths:
``rate_limit`` and ``throttle`` (429 with ``Retry-After``), ``fail`` (``ok: false`` with an
error) and ``latency``.

Sources, Slack's own reference pages (anything else is marked assumed where it is done):
"Rate limits" (per-method tiers, ``chat.postMessage`` about one message per second per channel,
429 with ``Retry-After``); the method pages "chat.postMessage", "chat.update",
"chat.postEphemeral", "conversations.info", "conversations.join", "conversations.members",
"users.info", "usergroups.users.list", "views.open" and "files.completeUploadExternal" (their
arguments, answers, scopes and error codes: ``not_in_channel``, ``channel_not_found``,
``is_archived``, ``user_not_in_channel``, ``user_not_found``, ``missing_scope``); "Handling user
interaction" (a ``response_url`` takes five posts within thirty minutes); the Block Kit and view
limits each with its page in ``bot.demo.slack_limits``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

import uvicorn
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.demo.loopback import loopback_socket
from bot.demo.slack_limits import Violation, message_violations, view_violations

T = TypeVar("T")
Json = dict[str, Any]

BOT_USER_ID = "UBOTSTANDIN"
BOT_ID = "BSTANDIN"
TEAM_ID = "TSTANDIN"
# Slack sends these arguments as JSON-encoded strings inside form or query parameters.
JSON_ENCODED_ARGS = frozenset({"blocks", "attachments", "view", "files", "metadata"})
# What a response_url allows: "up to 5 times within 30 minutes" (Handling user interaction in
# your Slack apps, https://api.slack.com/interactivity/handling).
RESPONSE_URL_USES = 5
# The errors of a payload Slack refuses: blocks, a view, over-long text.
PAYLOAD_ERRORS = frozenset({"invalid_blocks", "invalid_arguments", "msg_too_long"})
RESPONSE_URL_SECONDS = 30 * 60
# The bot token's scopes unless a test says otherwise: the manifest's, plus what reading a
# channel (conversations.info) and joining a public one (conversations.join) need. Without
# ``chat:write.public`` the bot posts only where it is a member, as the manifest has it.
DEFAULT_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "files:read",
        "files:write",
        "usergroups:read",
        "users:read",
        "channels:read",
        "groups:read",
        "im:read",
        "mpim:read",
        "channels:join",
    }
)
ChannelKind = Literal["public", "private", "im", "mpim"]


@dataclass(frozen=True)
class SlackCall:
    """One request the stand-in received, and what it answered."""

    method: str
    args: Json
    auth: str | None
    at: float  # time.monotonic() when the request arrived
    status: int = 200
    error: str | None = None


@dataclass(frozen=True)
class SlackMessage:
    """A channel message as a person sees it now (the latest update applied)."""

    channel: str
    ts: str
    text: str
    blocks: list[Json]
    user: str = BOT_USER_ID
    thread_ts: str | None = None
    edits: int = 0


@dataclass(frozen=True)
class ResponsePost:
    """What a slash-command handler posted to a ``response_url``."""

    key: str
    body: Json
    at: float


@dataclass
class _RateLimit:
    retry_after: int
    remaining: int | None  # None: every call until cleared


@dataclass
class _Throttle:
    calls: int
    per_seconds: float
    per_channel: bool
    accepted: dict[str | None, deque[float]] = field(default_factory=dict)


@dataclass
class _Channel:
    id: str
    kind: ChannelKind
    member: bool
    name: str
    archived: bool = False
    users: frozenset[str] | None = None  # people in it; None: not checked

    def json(self) -> Json:
        return {
            "id": self.id,
            "name": self.name,
            "is_channel": self.kind == "public",
            "is_group": self.kind == "private",
            "is_im": self.kind == "im",
            "is_mpim": self.kind == "mpim",
            "is_private": self.kind != "public",
            "is_archived": self.archived,
            "is_member": self.member,
        }


@dataclass
class _ResponseUrl:
    minted: float
    uses: int = 0


@dataclass
class _Failure:
    error: str
    remaining: int
    status: int


@dataclass
class _StoredFile:
    id: str
    name: str
    content: bytes
    filetype: str
    title: str
    channels: list[str] = field(default_factory=list)


Handler = Callable[[Json], Json]
Subscriber = Callable[[SlackCall, Json], None]


class SlackError(Exception):
    """An ``ok: false`` answer with this error code (HTTP 200 unless Slack itself failed);
    ``messages`` go into ``response_metadata.messages`` as Slack explains refused blocks."""

    def __init__(self, error: str, status: int = 200, messages: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.messages = messages or []


class SlackStandIn:
    def __init__(
        self,
        *,
        token: str | None = None,
        member_of: Iterable[str] = (),
        scopes: Iterable[str] = DEFAULT_SCOPES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``token``: the only bot token accepted; ``None`` accepts any non-empty token.
        ``member_of``: channels the bot is in (kind from the id: ``G…`` private, ``D…`` IM,
        otherwise public); every other channel is unknown until ``add_channel``. ``clock``
        drives ``response_url`` expiry and ``throttle`` windows."""
        self.token = token
        self.scopes = frozenset(scopes)
        self.clock = clock
        self.url = ""
        self._conversations: dict[str, _Channel] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._throttles: dict[str, _Throttle] = {}
        self._calls: list[SlackCall] = []
        self._channels: dict[str, list[SlackMessage]] = {}
        self._ephemeral: list[Json] = []
        self._views: dict[str, Json] = {}
        self._files: dict[str, _StoredFile] = {}
        self._uploads: dict[str, tuple[str, int]] = {}  # file id -> (filename, declared length)
        self._usergroups: dict[str, list[str]] = {}
        self._users: dict[str, Json] = {}
        self._responses: list[ResponsePost] = []
        self._rate_limits: dict[tuple[str, str | None], _RateLimit] = {}
        self._failures: dict[str, _Failure] = {}
        self._latency: dict[str, float] = {}
        self._ids = itertools.count(1)
        self._last_ts_micros = 0
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task[None] | None = None
        self._subscribers: list[Subscriber] = []
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "views.push": self._views_push,
            "files.info": self._files_info,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "usergroups.users.list": self._usergroups_users_list,
            "users.info": self._users_info,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "conversations.members": self._conversations_members,
        }
        for channel_id in member_of:
            self.add_channel(channel_id)

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """The ``base_url`` for ``AsyncWebClient`` (and ``SLACK_API_URL``)."""
        return f"{self.url}/api/"

    async def start(self) -> None:
        sock = loopback_socket()
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            self._app(), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
        )
        self._server = uvicorn.Server(config)
        self._serving = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._serving.done():
                self._serving.result()  # raises why the server could not start
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        if self._server is None or self._serving is None:
            return
        self._server.should_exit = True
        await self._serving
        self._server = None
        self._serving = None

    async def __aenter__(self) -> SlackStandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def client(self, token: str = "xoxb-standin") -> AsyncWebClient:
        return AsyncWebClient(token=token, base_url=self.api_url)

    # -- knobs -------------------------------------------------------------------------------

    def add_channel(
        self,
        channel_id: str,
        *,
        member: bool = True,
        kind: ChannelKind | None = None,
        name: str = "",
        archived: bool = False,
        users: Iterable[str] | None = None,
    ) -> None:
        """Declare a conversation: public (``C…``), private (``G…``) or an IM (``D…``) unless
        ``kind`` says; ``member``: whether the bot is in it; ``users``: the people in it, when
        ``chat.postEphemeral`` should answer ``user_not_in_channel`` for anyone else.
        Declaring it again replaces it."""
        if kind is None:
            kind = (
                "private" if channel_id[:1] == "G" else "im" if channel_id[:1] == "D" else "public"
            )
        self._conversations[channel_id] = _Channel(
            channel_id,
            kind,
            member,
            name or channel_id.lower(),
            archived,
            None if users is None else frozenset(users),
        )

    def set_member(self, channel_id: str, member: bool) -> None:
        """The bot is invited to (``True``) or removed from (``False``) a declared channel."""
        self._conversations[channel_id].member = member

    def is_member(self, channel_id: str) -> bool:
        found = self._conversations.get(channel_id)
        return found is not None and found.member

    def rate_limit(
        self,
        method: str,
        *,
        retry_after: int = 1,
        times: int | None = 1,
        channel: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with 429 (``None``: until cleared);
        with ``channel``, only calls for that channel (those limits are looked at first)."""
        self._rate_limits[(method, channel)] = _RateLimit(retry_after, times)

    def clear_rate_limit(self, method: str, *, channel: str | None = None) -> None:
        self._rate_limits.pop((method, channel), None)

    def throttle(
        self, method: str, *, calls: int, per_seconds: float, per_channel: bool = False
    ) -> None:
        """Accept at most ``calls`` calls of ``method`` in any ``per_seconds`` window of the
        stand-in's clock (for each channel apart with ``per_channel``), as Slack's tiers and
        its one message per second per channel do; the rest get 429 with ``Retry-After``
        (whole seconds until the window has room). ``calls=0`` removes the throttle."""
        if calls <= 0:
            self._throttles.pop(method, None)
        else:
            self._throttles[method] = _Throttle(calls, per_seconds, per_channel)

    def fail(
        self, method: str, error: str = "internal_error", *, times: int = 1, status: int = 200
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with ``ok: false`` and ``error``.

        ``status`` 200 is how Slack refuses a call; 500 or 503 is Slack having trouble.
        """
        self._failures[method] = _Failure(error, times, status)

    def latency(self, method: str, seconds: float) -> None:
        """Delay every answer to ``method`` by ``seconds`` (0 removes the delay)."""
        self._latency[method] = seconds

    def add_file(
        self, content: bytes, *, name: str = "leads.csv", filetype: str = "csv", title: str = ""
    ) -> str:
        """Register a file as if a user had uploaded it; returns its id for ``files.info``."""
        file_id = f"F{next(self._ids):08d}"
        self._files[file_id] = _StoredFile(file_id, name, content, filetype, title or name)
        return file_id

    def subscribe(self, subscriber: Subscriber) -> None:
        """Call ``subscriber(call, answer)`` after every call is recorded, in the stand-in's event
        loop: ``answer`` is the JSON body answered to a Web API method (``ok``, ``view``, ``ts``,
        ``error``…); for a ``response_url`` post ``{"ok", "response_url": key, "error"}``; ``{}``
        for uploads and downloads."""
        self._subscribers.append(subscriber)

    def add_usergroup(self, group_id: str, users: list[str]) -> None:
        self._usergroups[group_id] = list(users)

    def add_user(self, user_id: str, *, name: str = "", tz: str = "UTC", **profile: Any) -> None:
        """Register a user for ``users.info``; ``profile`` keys go into the user's profile.

        Shaped as Slack's reference page "users.info method" shows it: ``tz`` (an IANA name),
        ``tz_label`` and ``tz_offset`` (seconds east of UTC, now) on the user, not in the profile.
        Slack's ``tz_label`` is a long name ("Eastern Standard Time"); here it is the
        abbreviation zoneinfo knows (assumed close enough: the bot reads only ``tz``).
        """
        handle = name or user_id.lower()
        now = datetime.now(ZoneInfo(tz))
        offset = now.utcoffset()
        self._users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": handle,
            "real_name": profile.get("real_name", handle),
            "is_bot": False,
            "deleted": False,
            "tz": tz,
            "tz_label": now.tzname() or tz,
            "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
            "profile": {"display_name": handle, "real_name": handle, **profile},
        }

    def response_url(self, key: str | None = None) -> str:
        """A ``response_url`` pointing here; what is posted to it shows up in ``responses``.
        Like Slack's, it takes ``RESPONSE_URL_USES`` posts within ``RESPONSE_URL_SECONDS`` of
        being handed out (by ``clock``); after that, and for a URL never handed out, a post is
        answered 404 ``expired_url``."""
        key = key or f"R{next(self._ids):08d}"
        self._response_urls.setdefault(key, _ResponseUrl(self.clock()))
        return f"{self.url}/response/{key}"

    # -- queries -----------------------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[SlackCall]:
        return [call for call in self._calls if method is None or call.method == method]

    def refused_payloads(self) -> list[SlackCall]:
        """Calls refused for what they carried (blocks, views, text length), response_url
        posts included: a bot that renders within Slack's limits makes none."""
        return [call for call in self._calls if call.error in PAYLOAD_ERRORS]

    def messages_in(self, channel: str) -> list[SlackMessage]:
        return list(self._channels.get(channel, ()))

    def ephemeral_messages(self, channel: str | None = None) -> list[Json]:
        return [m for m in self._ephemeral if channel is None or m["channel"] == channel]

    def responses(self, response_url: str | None = None) -> list[ResponsePost]:
        key = None if response_url is None else response_url.rsplit("/", 1)[-1]
        return [post for post in self._responses if key is None or post.key == key]

    def view(self, view_id: str) -> Json:
        return self._views[view_id]

    def uploaded_file(self, file_id: str) -> bytes:
        return self._files[file_id].content

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:
        """Poll ``predicate()`` until it is truthy and return its value; TimeoutError if never."""
        deadline = time.monotonic() + timeout
        while not (result := predicate()):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(0.01)
        return result

    # -- HTTP --------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/upload/{file_id}", self._upload, methods=["POST"]),
                Route("/files/{file_id}/{name}", self._download, methods=["GET"]),
                Route("/response/{key}", self._response, methods=["POST"]),
            ]
        )

    async def _api(self, request: Request) -> Response:
        method = request.path_params["method"]
        args = await _parse_args(request)
        auth = request.headers.get("authorization") or (
            f"Bearer {args['token']}" if "token" in args else None
        )
        arrived = time.monotonic()
        status, body, headers = self._answer(method, args, auth)
        self._record(SlackCall(method, args, auth, arrived, status, body.get("error")), body)
        if delay := self._latency.get(method, 0.0):
            await asyncio.sleep(delay)
        return JSONResponse(body, status_code=status, headers=headers)

    def _answer(
        self, method: str, args: Json, auth: str | None
    ) -> tuple[int, Json, dict[str, str]]:
        channel = args.get("channel") or args.get("channel_id")
        channel = channel if isinstance(channel, str) else None
        retry_after = self._rate_limited(method, channel)
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
            return 429, {"ok": False, "error": "ratelimited"}, headers
        try:
            self._check_auth(auth)
            self._injected_failure(method)
            handler = self._handlers.get(method)
            if handler is None:
                raise SlackError("unknown_method")
            return 200, {"ok": True, **handler(args)}, {}
        except SlackError as exc:
            body: Json = {"ok": False, "error": exc.error}
            if exc.messages:
                body["response_metadata"] = {"messages": exc.messages}
            return exc.status, body, {}

    def _rate_limited(self, method: str, channel: str | None) -> int | None:
        """Seconds to wait if this call is refused with 429, else None (and the call counts)."""
        for key in ((method, channel), (method, None)) if channel else ((method, None),):
            limit = self._rate_limits.get(key)
            if limit is not None:
                if limit.remaining is not None:
                    limit.remaining -= 1
                    if limit.remaining <= 0:
                        del self._rate_limits[key]
                return limit.retry_after
        throttle = self._throttles.get(method)
        if throttle is None:
            return None
        now = self.clock()
        window = throttle.accepted.setdefault(channel if throttle.per_channel else None, deque())
        while window and window[0] <= now - throttle.per_seconds:
            window.popleft()
        if len(window) >= throttle.calls:
            return max(1, math.ceil(window[0] + throttle.per_seconds - now))
        window.append(now)
        return None

    def _check_auth(self, auth: str | None) -> None:
        token = (auth or "").removeprefix("Bearer ").strip()
        if not token:
            raise SlackError("not_authed")
        if self.token is not None and token != self.token:
            raise SlackError("invalid_auth")

    def _injected_failure(self, method: str) -> None:
        failure = self._failures.get(method)
        if failure is None:
            return
        failure.remaining -= 1
        if failure.remaining <= 0:
            del self._failures[method]
        raise SlackError(failure.error, failure.status)

    def _record(self, call: SlackCall, answer: Json | None = None) -> None:
        self._calls.append(call)
        for subscriber in list(self._subscribers):
            subscriber(call, answer or {})

    async def _upload(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        content = await request.body()
        self._record(
            SlackCall(
                "upload", {"file_id": file_id, "length": len(content)}, None, time.monotonic()
            )
        )
        if file_id not in self._uploads:
            return Response("unknown upload", status_code=404)
        name, _ = self._uploads[file_id]
        self._files[file_id] = _StoredFile(file_id, name, content, name.rsplit(".", 1)[-1], name)
        return Response("OK - " + str(len(content)), media_type="text/plain")

    async def _download(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        auth = request.headers.get("authorization")
        self._record(SlackCall("download", {"file_id": file_id}, auth, time.monotonic()))
        stored = self._files.get(file_id)
        if stored is None:
            return Response("not found", status_code=404)
        if not auth:
            # Slack answers an unauthenticated download with its login page, not the file.
            return Response("<html>sign in</html>", media_type="text/html")
        return Response(stored.content, media_type="application/octet-stream")

    async def _response(self, request: Request) -> Response:
        key = request.path_params["key"]
        body = json.loads(await request.body() or b"{}")
        arrived = time.monotonic()
        status, answer = self._response_answer(key, body)
        self._record(
            SlackCall(
                "response_url", body, None, arrived, status, None if status == 200 else answer
            ),
            {"ok": status == 200, "response_url": key, "error": None if status == 200 else answer},
        )
        if status == 200:
            self._responses.append(ResponsePost(key, body, arrived))
        return PlainTextResponse(answer, status_code=status)

    def _response_answer(self, key: str, body: Json) -> tuple[int, str]:
        """Slack answers a response_url post in plain text, like an incoming webhook."""
        url = self._response_urls.get(key)
        if (
            url is None
            or url.uses >= RESPONSE_URL_USES
            or self.clock() - url.minted > RESPONSE_URL_SECONDS
        ):
            return 404, "expired_url"
        if violations := message_violations(body):
            return 400, _message_error(violations)
        url.uses += 1
        return 200, "ok"

    # -- methods -----------------------------------------------------------------------------

    def _next_ts(self) -> str:
        micros = max(time.time_ns() // 1000, self._last_ts_micros + 1)
        self._last_ts_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _auth_test(self, args: Json) -> Json:
        return {
            "url": f"{self.url}/",
            "team": "Stand-in",
            "user": "campaign-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _postable(self, channel: str, *, method: str) -> None:
        """Raise what Slack answers when the bot may not post in ``channel``.

        Unknown ids and private conversations the bot is not in are ``channel_not_found``
        (Slack does not reveal them); a public channel the bot is not in is
        ``not_in_channel`` (``chat.postMessage`` goes through with ``chat:write.public``);
        user ids (``U…``/``W…``) are the app's direct message with that user. The
        chat.postMessage / chat.postEphemeral pages list these errors; which one a private
        channel gets is assumed from how Slack hides private channels."""
        if channel[:1] in ("U", "W"):
            return
        found = self._conversations.get(channel)
        if found is None or (found.kind != "public" and not found.member):
            raise SlackError("channel_not_found")
        if found.archived:
            raise SlackError("is_archived")
        if not found.member:
            if method == "chat.postMessage" and "chat:write.public" in self.scopes:
                return
            raise SlackError("not_in_channel")

    def _chat_post_message(self, args: Json) -> Json:
        channel = _required(args, "channel")
        self._postable(channel, method="chat.postMessage")
        _check_message(args)
        if "text" not in args and "blocks" not in args and "attachments" not in args:
            raise SlackError("no_text")
        message = SlackMessage(
            channel=channel,
            ts=self._next_ts(),
            text=str(args.get("text", "")),
            blocks=list(args.get("blocks") or []),
            thread_ts=args.get("thread_ts"),
        )
        self._channels.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": message.ts, "message": _message_json(message)}

    def _chat_update(self, args: Json) -> Json:
        channel = _required(args, "channel")
        ts = _required(args, "ts")
        self._postable(channel, method="chat.update")
        _check_message(args)
        messages = self._channels.get(channel, [])
        for index, old in enumerate(messages):
            if old.ts == ts:
                new = SlackMessage(
                    channel=channel,
                    ts=ts,
                    text=str(args.get("text", old.text)),
                    blocks=list(args["blocks"]) if "blocks" in args else old.blocks,
                    thread_ts=old.thread_ts,
                    edits=old.edits + 1,
                )
                messages[index] = new
                return {
                    "channel": channel,
                    "ts": ts,
                    "text": new.text,
                    "message": _message_json(new),
                }
        raise SlackError("message_not_found")

    def _chat_post_ephemeral(self, args: Json) -> Json:
        channel = _required(args, "channel")
        user = _required(args, "user")
        self._postable(channel, method="chat.postEphemeral")
        found = self._conversations.get(channel)
        if found is not None and found.users is not None and user not in found.users:
            raise SlackError("user_not_in_channel")
        if "text" not in args and "blocks" not in args and "attachments" not in args:
            raise SlackError("no_text")
        _check_message(args)
        ts = self._next_ts()
        self._ephemeral.append(
            {"channel": channel, "user": user, "ts": ts, "text": args.get("text", ""),
             "blocks": args.get("blocks") or []}
        )  # fmt: skip
        return {"message_ts": ts}

    def _views_open(self, args: Json) -> Json:
        _required(args, "trigger_id")
        return {"view": self._store_view(f"V{next(self._ids):08d}", _required(args, "view"))}

    def _views_update(self, args: Json) -> Json:
        view_id = args.get("view_id")
        if view_id is None and "external_id" in args:
            view_id = next(
                (
                    v["id"]
                    for v in self._views.values()
                    if v.get("external_id") == args["external_id"]
                ),
                None,
            )
        if view_id not in self._views:
            raise SlackError("not_found")
        return {"view": self._store_view(str(view_id), _required(args, "view"))}

    def _views_push(self, args: Json) -> Json:
        _required(args, "trigger_id")
        return {"view": self._store_view(f"V{next(self._ids):08d}", _required(args, "view"))}

    def _views_publish(self, args: Json) -> Json:
        user_id = _required(args, "user_id")
        return {"view": self._store_view(f"VHOME{user_id}", _required(args, "view"))}

    def _store_view(self, view_id: str, view: Json) -> Json:
        if violations := view_violations(view):
            raise SlackError("invalid_arguments", messages=[v.message() for v in violations])
        stored = {**view, "id": view_id, "team_id": TEAM_ID, "hash": self._next_ts()}
        self._views[view_id] = stored
        return stored

    def _files_info(self, args: Json) -> Json:
        stored = self._files.get(_required(args, "file"))
        if stored is None:
            raise SlackError("file_not_found")
        return {"file": self._file_json(stored)}

    def _file_json(self, stored: _StoredFile) -> Json:
        quoted = urllib.parse.quote(stored.name)
        return {
            "id": stored.id,
            "name": stored.name,
            "title": stored.title,
            "filetype": stored.filetype,
            "size": len(stored.content),
            "channels": stored.channels,
            "url_private": f"{self.url}/files/{stored.id}/{quoted}",
            "url_private_download": f"{self.url}/files/{stored.id}/{quoted}",
        }

    def _files_get_upload_url(self, args: Json) -> Json:
        filename = _required(args, "filename")
        length = int(_required(args, "length"))
        file_id = f"F{next(self._ids):08d}"
        self._uploads[file_id] = (filename, length)
        return {"upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: Json) -> Json:
        completed = []
        for entry in _required(args, "files"):
            stored = self._files.get(entry["id"])
            if stored is None:
                raise SlackError("file_not_found")
            stored.title = entry.get("title") or stored.title
            # ``channel_id``: one channel; ``channels``: comma-separated channel or user ids.
            shared = [args["channel_id"]] if args.get("channel_id") else []
            shared += [c for c in str(args.get("channels") or "").split(",") if c]
            for channel in shared:
                self._postable(channel, method="files.completeUploadExternal")
                stored.channels.append(channel)
            completed.append(self._file_json(stored))
        return {"files": completed}

    def _usergroups_users_list(self, args: Json) -> Json:
        users = self._usergroups.get(_required(args, "usergroup"))
        if users is None:
            raise SlackError("no_such_subteam")
        return {"users": users}

    def _users_info(self, args: Json) -> Json:
        if "users:read" not in self.scopes:
            raise SlackError("missing_scope")
        user = self._users.get(_required(args, "user"))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user}

    def _conversations_info(self, args: Json) -> Json:
        found = self._conversations.get(_required(args, "channel"))
        if found is None or (found.kind != "public" and not found.member):
            raise SlackError("channel_not_found")
        return {"channel": found.json()}

    def _conversations_members(self, args: Json) -> Json:
        """The channel's people as ``add_channel(users=...)`` set them (none when not set), in
        one page; the bot sees a private channel only when it is in it."""
        found = self._conversations.get(_required(args, "channel"))
        if found is None or (found.kind != "public" and not found.member):
            raise SlackError("channel_not_found")
        return {"members": sorted(found.users or ()), "response_metadata": {"next_cursor": ""}}

    def _conversations_join(self, args: Json) -> Json:
        if "channels:join" not in self.scopes:
            raise SlackError("missing_scope")
        found = self._conversations.get(_required(args, "channel"))
        if found is None or (found.kind != "public" and not found.member):
            raise SlackError("channel_not_found")
        if found.kind != "public":
            raise SlackError("method_not_supported_for_channel_type")
        if found.archived:
            raise SlackError("is_archived")
        answer: Json = {"channel": {**found.json(), "is_member": True}}
        if found.member:
            answer["warning"] = "already_in_channel"
            answer["response_metadata"] = {"warnings": ["already_in_channel"]}
        found.member = True
        return answer


def _message_error(violations: list[Violation]) -> str:
    """Slack's error for a refused message: over-long ``text`` is ``msg_too_long``, anything
    wrong in the blocks ``invalid_blocks``."""
    return "msg_too_long" if any(v.pointer == "/text" for v in violations) else "invalid_blocks"


def _check_message(args: Json) -> None:
    if violations := message_violations(args):
        raise SlackError(_message_error(violations), messages=[v.message() for v in violations])


def _required(args: Json, name: str) -> Any:
    if args.get(name) in (None, ""):
        raise SlackError("invalid_arguments")
    return args[name]


def _message_json(message: SlackMessage) -> Json:
    body: Json = {
        "type": "message",
        "user": message.user,
        "bot_id": BOT_ID,
        "text": message.text,
        "ts": message.ts,
        "blocks": message.blocks,
    }
    if message.thread_ts:
        body["thread_ts"] = message.thread_ts
    if message.edits:
        body["edited"] = {"user": message.user, "ts": message.ts}
    return body


async def _parse_args(request: Request) -> Json:
    """Query parameters merged with a JSON or form body, JSON-encoded fields decoded."""
    args: Json = dict(request.query_params)
    raw = await request.body()
    content_type = request.headers.get("content-type", "")
    if raw and content_type.startswith("application/json"):
        args.update(json.loads(raw))
    elif raw and content_type.startswith("application/x-www-form-urlencoded"):
        args.update(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True))
    for name in JSON_ENCODED_ARGS & args.keys():
        if isinstance(args[name], str):
            args[name] = json.loads(args[name])
    return args
