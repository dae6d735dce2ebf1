"""The playground process: the bot's own server (``BotServer``) with Slack stood in for by the
strict local stand-in, and a page that lets a person act as the workspace's people.

Everything the page does goes to the playground's JSON API, which signs it and sends it to the
bot's ``/slack/events`` exactly as Slack would (``bot.demo.driver``); everything the bot sends to
Slack goes to the stand-in, which refuses what Slack would refuse. The page follows the stand-in
(messages, updates, ephemeral replies, opened modals, refused payloads) and the simulator
(campaigns, calls, notifications) through server-sent events.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import socket
import time
import urllib.parse
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from pydantic import SecretStr
from pydantic_settings import BaseSettings
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.alerts import SLACK_PACE
from bot.bootstrap import build_services
from bot.demo.driver import SlackDriver
from bot.demo.slack_api import BOT_USER_ID, PAYLOAD_ERRORS, TEAM_ID, SlackCall, SlackStandIn
from bot.demo.slack_limits import view_violations
from bot.playground.guard import LoopbackOnly
from bot.server import BotServer
from bot.services import Services
from bot.settings import Settings
from commands.leads.settings import LeadsSettings
from dialer.base import Dialer, NotificationSink
from dialer.simulator import SimulatorDialer, SimulatorKnobs
from state.domain import DialerNotification

log = logging.getLogger(__name__)

Json = dict[str, Any]

CHANNEL = "CPLAYGROUND"
CHANNEL_NAME = "outbound-campaigns"
BUILT_IN_LEADS = {"UANA": "ana", "UBOB": "bob"}
NON_LEAD = ("UEVE", "eve")
SHORTCUTS = [{"callback_id": "create_campaign_from_file", "name": "Create campaign from this file"}]
STATIC = "static"
PAGES = {
    "playground.css": "text/css; charset=utf-8",
    "playground.js": "text/javascript; charset=utf-8",
    "screenshot.png": "image/png",
}
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
NOTIFICATIONS_KEPT = 40
REFUSALS_KEPT = 20


def no_slack_configured(settings: Settings) -> bool:
    """No Slack credential at all: the playground is the default."""
    return (
        settings.slack_bot_token is None
        and settings.slack_signing_secret is None
        and settings.slack_app_token is None
    )


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    lead: bool


def people_for(leads: tuple[str, ...]) -> tuple[list[Person], tuple[str, ...], dict[str, str]]:
    """The people the page can act as, the leads setting the bot gets, and user groups.

    User ids in ``CAMPAIGN_LEADS`` are the leads (named after themselves); a group id there gets
    the built-in leads as members; with neither, the built-in leads ana and bob. Always one
    person who is not a lead (eve)."""
    users = [entry for entry in leads if entry[:1] in {"U", "W"}]
    groups = [entry for entry in leads if entry[:1] == "S"]
    people = [Person(user, user.lower(), True) for user in users[:4]]
    if groups or not users:
        people += [Person(u, n, True) for u, n in BUILT_IN_LEADS.items() if u not in users]
    people.append(Person(NON_LEAD[0], NON_LEAD[1], False))
    setting = leads if leads else tuple(BUILT_IN_LEADS)
    group_members = {group: ",".join(BUILT_IN_LEADS) for group in groups}
    return people, setting, group_members


class WatchedSimulator(SimulatorDialer):
    """The simulator, keeping the notifications it sends so the page can show them."""

    def __init__(self, knobs: SimulatorKnobs | None = None) -> None:
        super().__init__(knobs)
        self.sent: deque[DialerNotification] = deque(maxlen=NOTIFICATIONS_KEPT)
        self.on_change: Callable[[], None] = lambda: None

    async def run_notifications(self, sink: NotificationSink) -> None:
        async def watched(notification: DialerNotification) -> None:
            self.sent.append(notification)
            self.on_change()
            await sink(notification)

        await super().run_notifications(watched)


@dataclass
class Ephemeral:
    id: str
    user: str
    ts: float
    text: str
    blocks: list[Json]


@dataclass
class _Source:
    """Where a request came from, for what is posted to its response_url."""

    user: str
    kind: str  # "command" | "message" | "ephemeral" | "shortcut"
    ref: str = ""  # message ts or ephemeral id


@dataclass
class _Refusal:
    id: int
    at: float
    method: str
    error: str
    messages: list[str]


@dataclass
class _UserPost:
    ts: str
    user: str
    text: str
    files: list[Json]


@dataclass
class _State:
    ephemeral: list[Ephemeral] = field(default_factory=list)
    views: dict[str, list[str]] = field(default_factory=dict)  # user -> stack of view ids
    triggers: dict[str, str] = field(default_factory=dict)  # trigger id -> user
    sources: dict[str, _Source] = field(default_factory=dict)  # response_url key -> source
    in_channel: list[Json] = field(default_factory=list)  # in_channel response_url posts
    replaced: dict[str, Json] = field(default_factory=dict)  # message ts -> replace_original
    refusals: deque[_Refusal] = field(default_factory=lambda: deque(maxlen=REFUSALS_KEPT))
    posts: list[_UserPost] = field(default_factory=list)
    answered_views: dict[str, Json] = field(default_factory=dict)  # response_action update/push


class Playground:
    """``async with Playground(settings) as playground``: everything up on ``playground.url``.

    ``settings``: the bot's, from the environment; the Slack ones are replaced (a bot token and
    signing secret made up at start, the stand-in's URL), and the server listens on ``host``.
    ``dialer``/``redis``: stand-ins for tests; by default the simulator (watched, for the panel)
    when ``DIALER=simulator``, and Redis as ``REDIS_URL`` says (in memory when unset).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        open_to_all: bool = False,
        dialer: Dialer | None = None,
        redis: Redis | None = None,
        leads_settings: LeadsSettings | None = None,
        dialer_settings: BaseSettings | None = None,
        alert_pace: float = SLACK_PACE,
    ) -> None:
        self.host = host
        self.port = settings.port if port is None else port
        self.open_to_all = open_to_all
        self.people, self.leads, self.groups = people_for(settings.campaign_leads)
        self.bot_token = f"xoxb-playground-{secrets.token_hex(12)}"
        self.signing_secret = secrets.token_hex(20)
        self.slack = SlackStandIn(token=self.bot_token, member_of={CHANNEL})
        self.slack.add_channel(CHANNEL, name=CHANNEL_NAME)
        for person in self.people:
            self.slack.add_user(person.id, name=person.name)
        for group, members in self.groups.items():
            self.slack.add_usergroup(group, members.split(","))
        self.slack.subscribe(self._on_slack_call)
        if dialer is None and settings.dialer == "simulator":
            knobs = dialer_settings if isinstance(dialer_settings, SimulatorKnobs) else None
            dialer = WatchedSimulator(knobs)
        if isinstance(dialer, WatchedSimulator):
            dialer.on_change = self._changed
        self._settings = settings
        self._dialer_override = dialer
        self._dialer_settings = dialer_settings
        self._redis = redis
        self._leads_settings = leads_settings or LeadsSettings.model_construct()
        self._alert_pace = alert_pace
        self._state = _State()
        self._ids = itertools.count(1)
        self._event = asyncio.Event()
        self._closing = False
        self.url = ""
        self.bot_url = ""
        self.services: Services | None = None
        self.server: BotServer | None = None
        self.driver: SlackDriver | None = None
        self._serving: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None

    # -- lifecycle -----------------------------------------------------------------------------

    def bind(self) -> str:
        """Take the listening socket now (so the address can be printed before anything else
        starts); returns the page's URL."""
        if self._sock is None:
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            self._sock = sock
            port = sock.getsockname()[1]
            shown = f"[{self.host}]" if ":" in self.host else self.host
            if self.host in {"0.0.0.0", "::"}:
                shown = "127.0.0.1"
            self.url = f"http://{shown}:{port}"
        return f"{self.url}/"

    async def start(self) -> None:
        self.bind()
        await self.slack.start()
        settings = self._settings.model_copy(
            update={
                "slack_bot_token": SecretStr(self.bot_token),
                "slack_signing_secret": SecretStr(self.signing_secret),
                "slack_app_token": None,
                "slack_api_url": self.slack.api_url,
                "slack_alert_channel": None,
                "campaign_leads": self.leads,
                "host": self.host,
            }
        )
        try:
            self.services = build_services(
                settings,
                redis=self._redis,
                dialer=self._dialer_override,
                dialer_settings=self._dialer_settings,
            )
        except BaseException:
            await self.slack.stop()
            raise
        self.server = BotServer(
            self.services, alert_pace=self._alert_pace, leads_settings=self._leads_settings
        )
        self.server.app = LoopbackOnly(
            _Routes(self._app(), self.server.app), open_to_all=self.open_to_all
        )
        assert self._sock is not None
        self._serving = asyncio.create_task(self.server.serve(self._sock), name="playground")
        while not self.server.started:
            if self._serving.done():
                await self._cleanup()
                self._serving.result()
            await asyncio.sleep(0.01)
        port = self._sock.getsockname()[1]
        self.bot_url = f"http://127.0.0.1:{port}" if ":" not in self.host else self.url
        self.driver = SlackDriver(
            self.bot_url,
            self.slack,
            self.services.store,
            signing_secret=self.signing_secret,
            channel=CHANNEL,
        )

    def shutdown(self) -> None:
        """Begin a graceful stop (the CLI calls it on SIGTERM/SIGINT): live streams end first."""
        self._closing = True
        self._changed()
        if self.server is not None:
            self.server.shutdown()

    async def wait(self) -> None:
        """Until the server has stopped; then everything is closed."""
        if self._serving is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._serving
        await self._cleanup()

    async def _cleanup(self) -> None:
        if self.driver is not None:
            await self.driver.aclose()
            self.driver = None
        if self.services is not None:
            await self.services.aclose()
            self.services = None
        await self.slack.stop()

    async def __aenter__(self) -> Playground:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.shutdown()
        await self.wait()

    # -- what the stand-in saw -----------------------------------------------------------------

    def _changed(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    def _on_slack_call(self, call: SlackCall, answer: Json) -> None:
        state = self._state
        ok = call.status == 200 and answer.get("ok") is True
        if call.method == "chat.postEphemeral" and ok:
            state.ephemeral.append(
                Ephemeral(
                    f"E{next(self._ids)}",
                    str(call.args.get("user")),
                    float(answer.get("message_ts") or time.time()),
                    str(call.args.get("text") or ""),
                    list(call.args.get("blocks") or []),
                )
            )
        elif call.method == "response_url" and ok:
            self._responded(str(answer.get("response_url")), call.args, call.at)
        elif call.method in {"views.open", "views.push"} and ok:
            user = state.triggers.get(str(call.args.get("trigger_id")))
            view_id = str((answer.get("view") or {}).get("id"))
            if user is not None:
                stack = state.views.setdefault(user, [])
                if call.method == "views.open":
                    stack.clear()
                stack.append(view_id)
        if call.error in PAYLOAD_ERRORS:
            metadata = answer.get("response_metadata") or {}
            state.refusals.append(
                _Refusal(
                    next(self._ids),
                    time.time(),
                    call.method,
                    str(call.error),
                    [str(m) for m in metadata.get("messages") or []],
                )
            )
        self._changed()

    def _responded(self, key: str, body: Json, at: float) -> None:
        state = self._state
        source = state.sources.get(key)
        if source is None:
            return
        wall = time.time() - (time.monotonic() - at)
        text = str(body.get("text") or "")
        blocks = list(body.get("blocks") or [])
        replace = bool(body.get("replace_original")) and source.kind in {"ephemeral", "message"}
        if body.get("delete_original") and source.kind == "ephemeral":
            state.ephemeral = [e for e in state.ephemeral if e.id != source.ref]
        elif replace and source.kind == "ephemeral":
            for item in state.ephemeral:
                if item.id == source.ref:
                    item.text, item.blocks = text, blocks
        elif replace:
            state.replaced[source.ref] = {"text": text, "blocks": blocks}
        elif body.get("response_type") == "in_channel":
            state.in_channel.append(
                {"ts": f"{wall:.6f}", "user": BOT_USER_ID, "text": text, "blocks": blocks}
            )
        else:
            item = Ephemeral(f"E{next(self._ids)}", source.user, wall, text, blocks)
            state.ephemeral.append(item)

    # -- the page's view of everything ---------------------------------------------------------

    async def snapshot(self) -> Json:
        state = self._state
        timeline: list[Json] = []
        for message in self.slack.messages_in(CHANNEL):
            shown = state.replaced.get(message.ts, {})
            timeline.append(
                {
                    "kind": "message",
                    "key": f"m{message.ts}",
                    "ts": message.ts,
                    "user": message.user,
                    "text": shown.get("text", message.text),
                    "blocks": shown.get("blocks", message.blocks),
                    "edits": message.edits,
                }
            )
        for extra in state.in_channel:
            timeline.append({"kind": "message", "key": f"m{extra['ts']}", "edits": 0, **extra})
        for post in state.posts:
            timeline.append(
                {
                    "kind": "message",
                    "key": f"m{post.ts}",
                    "ts": post.ts,
                    "user": post.user,
                    "text": post.text,
                    "blocks": [],
                    "files": post.files,
                    "edits": 0,
                }
            )
        for item in state.ephemeral:
            timeline.append(
                {
                    "kind": "ephemeral",
                    "key": item.id,
                    "ts": f"{item.ts:.6f}",
                    "user": item.user,
                    "text": item.text,
                    "blocks": item.blocks,
                }
            )
        timeline.sort(key=lambda entry: float(entry["ts"]))
        views = {
            user: [self._view(view_id) for view_id in stack]
            for user, stack in state.views.items()
            if stack
        }
        home = {p.id: view for p in self.people if (view := self._home(p.id)) is not None}
        direct = {
            p.id: [
                {
                    "kind": "message",
                    "key": f"d{m.ts}",
                    "ts": m.ts,
                    "user": m.user,
                    "text": m.text,
                    "blocks": m.blocks,
                    "edits": m.edits,
                }
                for m in self.slack.messages_in(p.id)
            ]
            for p in self.people
        }
        names = {p.id: p.name for p in self.people}
        names[BOT_USER_ID] = "campaign-bot"
        return {
            "channel": {"id": CHANNEL, "name": CHANNEL_NAME},
            "bot": BOT_USER_ID,
            "people": [{"id": p.id, "name": p.name, "lead": p.lead} for p in self.people],
            "names": names,
            "channels": {CHANNEL: CHANNEL_NAME},
            "shortcuts": SHORTCUTS,
            "timeline": timeline,
            "views": views,
            "home": home,
            "direct": {user: messages for user, messages in direct.items() if messages},
            "refused": [
                {"id": r.id, "method": r.method, "error": r.error, "messages": r.messages}
                for r in state.refusals
            ],
            "dialer": await self._dialer_panel(),
        }

    def _home(self, user: str) -> Json | None:
        """The Home tab the bot published for ``user`` (views.publish), if any."""
        try:
            return self.slack.view(f"VHOME{user}")
        except KeyError:
            return None

    def _view(self, view_id: str) -> Json:
        """A view as shown now: the stand-in's (views.open/update/push), or one the bot answered
        a submission with."""
        return self._state.answered_views.get(view_id) or self.slack.view(view_id)

    async def _dialer_panel(self) -> Json:
        dialer = self._dialer_override
        if not isinstance(dialer, SimulatorDialer) or self.services is None:
            return {"name": self._settings.dialer, "shown": False}
        try:
            campaigns = await dialer.list_campaigns()
        except Exception as exc:  # a simulator told to fail now and then
            return {"name": "simulator", "shown": True, "error": str(exc), "campaigns": []}
        sent = list(dialer.sent) if isinstance(dialer, WatchedSimulator) else []
        return {
            "name": "simulator",
            "shown": True,
            "campaigns": [
                {
                    "ref": c.ref,
                    "dialer_id": c.dialer_id,
                    "name": c.name,
                    "status": c.status.value,
                    "aggression": c.settings.aggression if c.settings else None,
                    "agents": [a.agent_id for a in c.agents],
                    "counters": c.counters,
                }
                for c in campaigns
            ],
            "notifications": [
                {
                    "id": n.event_id,
                    "at": n.occurred_at.strftime("%H:%M:%S"),
                    "ref": n.campaign_ref,
                    "kind": n.kind.value,
                    "status": n.status.value if n.status else None,
                }
                for n in reversed(sent)
            ],
        }

    # -- HTTP ----------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self._page, methods=["GET"]),
                Route("/playground/static/{name}", self._static, methods=["GET"]),
                Route("/playground/api/state", self._get_state, methods=["GET"]),
                Route("/playground/api/events", self._events, methods=["GET"]),
                Route("/playground/api/files", self._upload, methods=["POST"]),
                Route("/playground/api/{what}", self._act, methods=["POST"]),
            ]
        )

    async def _page(self, request: Request) -> Response:
        page = resources.files(__package__).joinpath(STATIC, "index.html").read_bytes()
        return Response(page, media_type="text/html; charset=utf-8", headers=_page_headers())

    async def _static(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in PAGES:
            return Response("not found", status_code=404)
        body = resources.files(__package__).joinpath(STATIC, name).read_bytes()
        return Response(body, media_type=PAGES[name], headers=_page_headers())

    async def _get_state(self, request: Request) -> Response:
        return JSONResponse(await self.snapshot(), headers={"Cache-Control": "no-store"})

    async def _events(self, request: Request) -> Response:
        async def stream() -> AsyncIterator[str]:
            last = ""
            quiet = 0
            while not self._closing:
                event = self._event
                body = json.dumps(await self.snapshot())
                if body != last:
                    last, quiet = body, 0
                    yield f"data: {body}\n\n"
                elif (quiet := quiet + 1) >= 30:
                    quiet = 0
                    yield ": still here\n\n"
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), 0.5)
                await asyncio.sleep(0.03)  # one update for a burst of calls

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def _upload(self, request: Request) -> Response:
        """A file chosen in the page: stored in the stand-in, as Slack keeps a modal's file."""
        if (refused := _refuse_foreign(request)) is not None:
            return refused
        name = (request.query_params.get("name") or "leads.csv")[:200]
        content = await request.body()
        if len(content) > 10 * 1024 * 1024:
            return JSONResponse({"ok": False, "error": "Slack takes files up to 10 MB here."}, 413)
        filetype = name.rsplit(".", 1)[-1].lower() if "." in name else "text"
        file_id = self.slack.add_file(content, name=name, filetype=filetype)
        return JSONResponse({"ok": True, "file": {"id": file_id, "name": name}})

    async def _act(self, request: Request) -> Response:
        if (refused := _refuse_foreign(request)) is not None:
            return refused
        actions: dict[str, Callable[[Json], Awaitable[Json]]] = {
            "command": self.command,
            "action": self.action,
            "submit": self.submit,
            "close": self.close,
            "post": self.post,
            "shortcut": self.shortcut,
            "home": self.home_opened,
        }
        act = actions.get(request.path_params["what"])
        if act is None:
            return JSONResponse({"ok": False, "error": "unknown"}, status_code=404)
        try:
            body = json.loads(await request.body())
            if not isinstance(body, dict):
                raise ValueError("expected an object")
            person = self._person(body.get("user"))
        except (ValueError, KeyError) as exc:
            return JSONResponse({"ok": False, "error": f"bad request: {exc}"}, status_code=400)
        result = await act({**body, "user": person.id})
        self._changed()
        return JSONResponse(result)

    def _person(self, user: object) -> Person:
        for person in self.people:
            if person.id == user:
                return person
        raise KeyError("no such person")

    # -- what a person does --------------------------------------------------------------------

    @property
    def _driver(self) -> SlackDriver:
        assert self.driver is not None, "the playground is not started"
        return self.driver

    def _trigger(self, user: str) -> str:
        trigger = f"{next(self._ids)}.{secrets.token_hex(6)}"
        self._state.triggers[trigger] = user
        return trigger

    def _response_url(self, source: _Source) -> str:
        url = self.slack.response_url()
        self._state.sources[url.rsplit("/", 1)[-1]] = source
        return url

    async def command(self, body: Json) -> Json:
        """``/campaign <text>`` typed by ``user``."""
        user = str(body["user"])
        text = str(body.get("text") or "").strip()
        text = text.removeprefix("/campaign").strip()
        url = self._response_url(_Source(user, "command"))
        form = {
            "token": "unused",
            "team_id": TEAM_ID,
            "team_domain": "playground",
            "channel_id": CHANNEL,
            "channel_name": CHANNEL_NAME,
            "user_id": user,
            "user_name": self._person(user).name,
            "command": "/campaign",
            "text": text,
            "api_app_id": "APLAYGROUND",
            "response_url": url,
            "trigger_id": self._trigger(user),
        }
        answer = await self._driver.post_signed(urllib.parse.urlencode(form))
        return self._answered(answer.status, answer.body, user)

    async def action(self, body: Json) -> Json:
        """A button clicked in a message, an ephemeral message or a modal."""
        user = str(body["user"])
        where = body.get("source") or {}
        clicked = body.get("action") or {}
        action: Json = {
            "type": str(clicked.get("type") or "button"),
            "action_id": str(clicked.get("action_id") or ""),
            "block_id": str(body.get("block_id") or ""),
            "action_ts": f"{time.time():.6f}",
        }
        for name in ("value", "text", "style", "selected_option"):
            if clicked.get(name) is not None:
                action[name] = clicked[name]
        payload: Json = {
            "type": "block_actions",
            "team": {"id": TEAM_ID, "domain": "playground"},
            "user": {"id": user, "username": self._person(user).name, "team_id": TEAM_ID},
            "api_app_id": "APLAYGROUND",
            "trigger_id": self._trigger(user),
            "actions": [action],
        }
        kind = str(where.get("kind") or "")
        if kind == "home":
            home = self._home(user)
            if home is None:
                return {"ok": False, "error": "The Home tab is not published yet."}
            payload["container"] = {"type": "view", "view_id": home["id"]}
            payload["view"] = {**home, "state": {"values": {}}}
        elif kind == "dm":
            ref = str(where.get("ref") or "")
            payload["channel"] = {"id": user, "name": "directmessage"}
            payload["container"] = {
                "type": "message",
                "message_ts": ref,
                "channel_id": user,
                "is_ephemeral": False,
            }
            payload["response_url"] = self._response_url(_Source(user, "dm", ref))
        elif kind == "view":
            view_id = str(where.get("view_id") or "")
            if view_id not in (self._state.views.get(user) or []):
                return {"ok": False, "error": "That form is no longer open."}
            view = self._view(view_id)
            payload["container"] = {"type": "view", "view_id": view_id}
            payload["view"] = {**view, "state": {"values": body.get("values") or {}}}
        elif kind in {"message", "ephemeral"}:
            ref = str(where.get("ref") or "")
            payload["channel"] = {"id": CHANNEL, "name": CHANNEL_NAME}
            payload["response_url"] = self._response_url(_Source(user, kind, ref))
            if kind == "message":
                message = next((m for m in self.slack.messages_in(CHANNEL) if m.ts == ref), None)
                payload["container"] = {
                    "type": "message",
                    "message_ts": ref,
                    "channel_id": CHANNEL,
                    "is_ephemeral": False,
                }
                if message is not None:
                    payload["message"] = {
                        "type": "message",
                        "ts": message.ts,
                        "user": message.user,
                        "text": message.text,
                        "blocks": message.blocks,
                    }
            else:
                payload["container"] = {
                    "type": "message",
                    "message_ts": ref,
                    "channel_id": CHANNEL,
                    "is_ephemeral": True,
                }
        else:
            return {"ok": False, "error": "The button is not in a message or a modal."}
        answer = await self._driver.interact(payload)
        return self._answered(answer.status, answer.body, user)

    async def submit(self, body: Json) -> Json:
        """The modal on top of ``user``'s stack submitted with ``values`` (Slack's state shape)."""
        user = str(body["user"])
        stack = self._state.views.get(user) or []
        view_id = str(body.get("view_id") or "")
        if not stack or stack[-1] != view_id:
            return {"ok": False, "error": "That form is no longer open."}
        view = self._view(view_id)
        payload = {
            "type": "view_submission",
            "team": {"id": TEAM_ID, "domain": "playground"},
            "user": {"id": user, "username": self._person(user).name, "team_id": TEAM_ID},
            "api_app_id": "APLAYGROUND",
            "trigger_id": self._trigger(user),
            "view": {**view, "state": {"values": body.get("values") or {}}},
        }
        answer = await self._driver.interact(payload)
        if answer.status != 200:
            return self._answered(answer.status, answer.body, user)
        ack = _json_or_none(answer.body) or {}
        what = ack.get("response_action")
        if what == "errors":
            return {"ok": True, "errors": dict(ack.get("errors") or {})}
        if what == "clear":
            stack.clear()
        elif what in {"update", "push"}:
            new_view = dict(ack.get("view") or {})
            if violations := view_violations(new_view):
                problems = [v.message() for v in violations]
                self._state.refusals.append(
                    _Refusal(next(self._ids), time.time(), what, "invalid_arguments", problems)
                )
                return {"ok": False, "error": "Slack refused the view: " + "; ".join(problems)}
            new_id = f"VA{next(self._ids):08d}"
            self._state.answered_views[new_id] = {**new_view, "id": new_id, "team_id": TEAM_ID}
            if what == "update":
                stack[-1] = new_id
            else:
                stack.append(new_id)
        elif stack and stack[-1] == view_id:
            stack.pop()
        return {"ok": True}

    async def close(self, body: Json) -> Json:
        """The modal's Close (Cancel) button; the bot is told only if it asked to be."""
        user = str(body["user"])
        stack = self._state.views.get(user) or []
        view_id = str(body.get("view_id") or "")
        if not stack or stack[-1] != view_id:
            return {"ok": True}
        view = self._view(view_id)
        stack.pop()
        if view.get("notify_on_close"):
            payload = {
                "type": "view_closed",
                "team": {"id": TEAM_ID},
                "user": {"id": user},
                "view": view,
                "is_cleared": False,
            }
            answer = await self._driver.interact(payload)
            return self._answered(answer.status, answer.body, user)
        return {"ok": True}

    async def post(self, body: Json) -> Json:
        """A person posts a message (with a file uploaded first) in the channel; the bot does not
        read the channel, but the message's ⋯ menu offers the app's message shortcuts."""
        user = str(body["user"])
        files = []
        file_id = str(body.get("file_id") or "")
        if file_id:
            info = await self._file_info(file_id)
            if info is None:
                return {"ok": False, "error": "file_not_found"}
            files.append(info)
        text = str(body.get("text") or "")[:4000]
        if not text and not files:
            return {"ok": False, "error": "no_text"}
        ts = f"{time.time():.6f}"
        self._state.posts.append(_UserPost(ts, user, text, files))
        return {"ok": True, "ts": ts}

    async def _file_info(self, file_id: str) -> Json | None:
        answer = await self._driver.slack.client(self.bot_token).files_info(file=file_id)
        file = answer.get("file")
        return dict(file) if isinstance(file, dict) else None

    async def home_opened(self, body: Json) -> Json:
        """The person opened the app's Home tab: Slack sends ``app_home_opened`` (Events API,
        JSON)."""
        user = str(body["user"])
        event = {
            "token": "unused",
            "team_id": TEAM_ID,
            "api_app_id": "APLAYGROUND",
            "type": "event_callback",
            "event_id": f"Ev{next(self._ids):08d}{secrets.token_hex(4)}",
            "event_time": int(time.time()),
            "event": {
                "type": "app_home_opened",
                "user": user,
                "channel": f"D{user}",
                "tab": "home",
                "event_ts": f"{time.time():.6f}",
            },
        }
        answer = await self._driver.post_signed(
            json.dumps(event), headers={"Content-Type": "application/json"}
        )
        if answer.status != 200:
            return {"ok": False, "error": f"The bot answered HTTP {answer.status}"}
        return {"ok": True}

    async def shortcut(self, body: Json) -> Json:
        """A message shortcut chosen from a message's ⋯ menu."""
        user = str(body["user"])
        ts = str(body.get("ts") or "")
        callback_id = str(body.get("callback_id") or "")
        if callback_id not in {s["callback_id"] for s in SHORTCUTS}:
            return {"ok": False, "error": "no such shortcut"}
        post = next((p for p in self._state.posts if p.ts == ts), None)
        message: Json
        if post is not None:
            message = {
                "type": "message",
                "ts": post.ts,
                "user": post.user,
                "text": post.text,
                "files": post.files,
            }
        else:
            found = next((m for m in self.slack.messages_in(CHANNEL) if m.ts == ts), None)
            if found is None:
                return {"ok": False, "error": "message_not_found"}
            message = {"type": "message", "ts": found.ts, "user": found.user, "text": found.text}
        payload = {
            "type": "message_action",
            "callback_id": callback_id,
            "team": {"id": TEAM_ID, "domain": "playground"},
            "user": {"id": user, "name": self._person(user).name},
            "channel": {"id": CHANNEL, "name": CHANNEL_NAME},
            "message_ts": ts,
            "message": message,
            "trigger_id": self._trigger(user),
            "response_url": self._response_url(_Source(user, "shortcut")),
            "action_ts": f"{time.time():.6f}",
        }
        answer = await self._driver.interact(payload)
        return self._answered(answer.status, answer.body, user)

    def _answered(self, status: int, body: str, user: str) -> Json:
        """The bot's HTTP answer: an error for anything but 200, and a message in the ack (Bolt's
        ``ack(text)``) shown to the person as Slack shows it."""
        if status != 200:
            return {"ok": False, "error": f"The bot answered HTTP {status}: {body[:300]}"}
        ack = _json_or_none(body)
        if ack and (ack.get("text") or ack.get("blocks")):
            self._state.ephemeral.append(
                Ephemeral(
                    f"E{next(self._ids)}",
                    user,
                    time.time(),
                    str(ack.get("text") or ""),
                    list(ack.get("blocks") or []),
                )
            )
        return {"ok": True}


def _json_or_none(body: str) -> Json | None:
    try:
        value = json.loads(body) if body.strip() else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _refuse_foreign(request: Request) -> Response | None:
    """The page sends ``X-Playground: 1``; a form or a simple request from another site cannot."""
    if request.headers.get("x-playground") != "1":
        return JSONResponse({"ok": False, "error": "missing X-Playground header"}, status_code=403)
    return None


def _page_headers() -> dict[str, str]:
    return {
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


class _Routes:
    """The page and its API on ``/`` and ``/playground/…``; everything else (``/slack/events``,
    ``/healthz``, dialer webhooks) to the bot."""

    def __init__(self, playground: ASGIApp, bot: ASGIApp) -> None:
        self.playground = playground
        self.bot = bot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and (path == "/" or path.startswith("/playground/")):
            await self.playground(scope, receive, send)
        else:
            await self.bot(scope, receive, send)
