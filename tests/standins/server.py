"""Serving a stand-in's ASGI app on 127.0.0.1 at a free port, inside the test's event loop.

One way for every stand-in: the socket comes from ``loopback_socket`` (Nagle off), and the
server looks for its stop flag every 5 ms instead of uvicorn's 100 ms, because tests start and
stop servers all the time.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from bot.demo.loopback import loopback_socket
from dialer.base import NotificationSink, WebhookReceiver, WebhookRejected


class _QuickServer(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the test runner owns the process's signals

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter += 1
            await asyncio.sleep(0.005)


class LocalServer:
    def __init__(
        self, server: uvicorn.Server, task: asyncio.Task[None], sock: socket.socket
    ) -> None:
        self._server = server
        self._task = task
        self._sock = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"

    @classmethod
    async def start(cls, app: ASGIApp) -> LocalServer:
        sock = loopback_socket()
        config = uvicorn.Config(
            app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1
        )
        server = _QuickServer(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                sock.close()
                task.result()  # raises why it could not start
            await asyncio.sleep(0.005)
        return cls(server, task, sock)

    async def stop(self) -> None:
        self._server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._sock.close()


@contextlib.asynccontextmanager
async def serve_locally(app: ASGIApp) -> AsyncIterator[str]:
    """Serve ``app`` for the duration of the block; yields its base URL."""
    server = await LocalServer.start(app)
    try:
        yield server.url
    finally:
        await server.stop()


def webhook_receiver_app(
    dialer_name: str, receiver: WebhookReceiver, sink: NotificationSink
) -> Starlette:
    """What the bot's ``POST /dialer/<name>/events`` route does, for a stand-in to post to."""

    async def events(request: Request) -> Response:
        try:
            notifications = await receiver.receive_webhook(request.headers, await request.body())
        except WebhookRejected as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status_code)
        for notification in notifications:
            await sink(notification)
        return Response(status_code=200)

    return Starlette(routes=[Route(f"/dialer/{dialer_name}/events", events, methods=["POST"])])
