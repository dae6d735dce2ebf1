"""Just enough of Slack for Socket Mode: ``apps.connections.open`` hands out a WebSocket URL, the
socket says hello and carries envelopes, and the bot's acks are kept. Every other Web API call and
every ``response_url`` post goes on to the one strict Slack stand-in (``web``), which checks and
records them as it does for HTTP mode."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from aiohttp import WSMsgType, web

from bot.demo.slack_api import SlackStandIn

Json = dict[str, Any]
FORWARDED_HEADERS = ("Authorization", "Content-Type")


class SocketModeStandIn:
    def __init__(self, *, member_of: tuple[str, ...] = ("C1",)) -> None:
        self.url = ""
        self.web = SlackStandIn(member_of=member_of)
        self.acks: list[Json] = []
        self.api_calls: list[str] = []
        self.socket: web.WebSocketResponse | None = None
        self._runner: web.AppRunner | None = None

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def response_url(self, key: str) -> str:
        """A response_url the stand-in honours (five posts, thirty minutes, checked blocks)."""
        self.web.response_url(key)
        return f"{self.url}/response/{key}"

    @property
    def responses(self) -> dict[str, list[Json]]:
        """What was posted to each response_url key, and accepted."""
        found: dict[str, list[Json]] = {}
        for post in self.web.responses():
            found.setdefault(post.key, []).append(post.body)
        return found

    async def __aenter__(self) -> SocketModeStandIn:
        await self.web.start()
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/link", self._link)
        app.router.add_post("/response/{key}", self._response)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.socket is not None:
            await self.socket.close()
        if self._runner is not None:
            await self._runner.cleanup()
        await self.web.stop()

    async def send(self, envelope: Json) -> None:
        assert self.socket is not None
        await self.socket.send_json(envelope)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.api_calls.append(method)
        if method == "apps.connections.open":
            if not request.headers.get("Authorization", "").startswith("Bearer xapp-"):
                return web.json_response({"ok": False, "error": "not_allowed_token_type"})
            return web.json_response({"ok": True, "url": f"ws{self.url[4:]}/link"})
        return await self._forward(request, f"/api/{method}")

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.socket = socket
        await socket.send_json({"type": "hello", "num_connections": 1})
        async for message in socket:
            if message.type is WSMsgType.TEXT:
                self.acks.append(json.loads(message.data))
        return socket

    async def _response(self, request: web.Request) -> web.Response:
        return await self._forward(request, f"/response/{request.match_info['key']}")

    async def _forward(self, request: web.Request, path: str) -> web.Response:
        headers = {
            name: request.headers[name] for name in FORWARDED_HEADERS if name in request.headers
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.web.url}{path}", data=await request.read(), headers=headers
            ) as answer,
        ):
            passed = {
                name: answer.headers[name]
                for name in ("Content-Type", "Retry-After")
                if name in answer.headers
            }
            return web.Response(body=await answer.read(), status=answer.status, headers=passed)

    async def wait_connected(self, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while self.socket is None:
                await asyncio.sleep(0.01)
