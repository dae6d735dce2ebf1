"""Running everything ``campaign-bot serve`` runs: the engine, the channel alerts, the Slack app
(``bot.bootstrap.build_bot`` builds them) and the HTTP server. Tests start the same object on a
loopback port.

``shutdown`` (the CLI calls it on SIGTERM or SIGINT) stops taking requests, then, in order:
in-flight leads uploads are cancelled (their progress is in Redis, batch by batch; any replica,
or this one at its next start, resumes them), the engine stops consuming (entries it had not
acknowledged stay pending for another consumer), and the pending Slack alerts are sent for at most
``SHUTDOWN_DRAIN_SECONDS``; what is left stays in Redis for another replica or the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
from collections.abc import Generator
from datetime import timedelta

import uvicorn
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from starlette.types import ASGIApp

from bot.alerts import SLACK_PACE
from bot.bootstrap import build_bot
from bot.connection_guard import ConnectionLimits, guarded_protocol
from bot.engine import SWEEP_INTERVAL
from bot.services import Services
from commands.leads.settings import LeadsSettings

log = logging.getLogger(__name__)


def freeze_start_up_heap() -> None:
    """Keep what start-up built out of the garbage collector's passes (``gc.freeze``): it lives
    as long as the process, and every full collection would walk it again. Called once, by the
    process that serves, when it is built; measured on notification ingest it takes the time in
    collections from about a tenth of the bot's CPU to a thirtieth."""
    gc.collect()
    gc.freeze()


class BotServer:
    """Runs what ``bot.bootstrap.build_bot`` builds; builds nothing itself."""

    def __init__(
        self,
        services: Services,
        *,
        alert_pace: float = SLACK_PACE,
        sweep_interval: timedelta = SWEEP_INTERVAL,
        leads_settings: LeadsSettings | None = None,
    ) -> None:
        built = build_bot(
            services,
            leads_settings=leads_settings,
            alert_pace=alert_pace,
            sweep_interval=sweep_interval,
        )
        self.services = services
        self.engine = built.engine
        self.alerts = built.alerts
        self.slack = built.slack
        self.windows = built.windows
        # ASGI: the playground wraps it with its page (bot.playground).
        self.app: ASGIApp = built.app
        self._server: uvicorn.Server | None = None

    @property
    def started(self) -> bool:
        return self._server is not None and self._server.started

    async def serve(self, sock: socket.socket | None = None) -> None:
        """Serve on ``sock`` (or HOST:PORT) with the engine beside it, until ``shutdown``."""
        settings = self.services.settings
        config = uvicorn.Config(
            self.app,
            host=settings.host,
            port=settings.port,
            log_level=settings.log_level.lower(),
            log_config=None,  # bot.logging_setup formats every record, uvicorn's too
            access_log=settings.log_level == "DEBUG",
            lifespan="off",
            timeout_graceful_shutdown=2,
            # Limits an attacker or a broken client would otherwise have no end to:
            http=guarded_protocol(
                ConnectionLimits(
                    header_timeout=settings.http_header_timeout_seconds,
                    max_connections=settings.http_max_connections,
                    max_head_bytes=settings.http_max_header_bytes,
                )
            ),
            timeout_keep_alive=settings.http_keep_alive_seconds,
        )
        self._server = _Server(config)
        background = [asyncio.create_task(self.engine.run(), name="engine")]
        background.append(asyncio.create_task(self.windows.run(), name="calling windows"))
        if self.alerts is not None:
            self.alerts.start()  # alerts left in Redis by a stopped or dead replica, and new ones
        socket_mode: AsyncSocketModeHandler | None = None
        if self.slack is not None:
            background.append(
                asyncio.create_task(self._resume_uploads_forever(), name="resume uploads")
            )
            if self.slack.edge.home is not None:
                background.append(asyncio.create_task(self.slack.edge.home.run(), name="home"))
            if settings.slack_app_token is not None:
                socket_mode = AsyncSocketModeHandler(
                    self.slack.app, settings.slack_app_token.get_secret_value()
                )
                await socket_mode.connect_async()  # type: ignore[no-untyped-call]
                log.info("Slack: Socket Mode connected (POST /slack/events still answers)")
        try:
            await self._server.serve(sockets=[sock] if sock is not None else None)
        finally:
            log.info("shutting down: cancelling uploads, stopping the engine, draining alerts")
            if socket_mode is not None:
                await socket_mode.close_async()  # type: ignore[no-untyped-call]
            if self.slack is not None:
                await self.slack.aclose()
            for task in background:
                await _cancel_until_done(task)
            if self.alerts is not None:
                await self.alerts.aclose(deadline=settings.shutdown_drain_seconds)
            log.info("stopped")

    async def _resume_uploads_forever(self) -> None:
        """Resume uploads no live process holds: at start, and whenever a crashed replica's
        lease has had time to expire."""
        assert self.slack is not None
        leads = self.slack.edge.leads
        while True:
            try:
                live = await self.services.store.list_live()
                channels = {c.ref: c.channel_id for c in live if c.channel_id}
                await leads.resume_interrupted(channels)
            except Exception:
                log.exception("looking for interrupted uploads failed; trying again later")
            await asyncio.sleep(leads.settings.upload_lease_seconds)

    def shutdown(self) -> None:
        """Begin a graceful stop; a second call stops without waiting for open connections."""
        if self._server is not None:
            if self._server.should_exit:
                self._server.force_exit = True
            self._server.should_exit = True


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the CLI owns SIGTERM and SIGINT.

    uvicorn's handlers re-raise the signal once it has stopped, which would end the process before
    the uploads, the engine and the alerts are shut down.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def _cancel_until_done(task: asyncio.Task[None], patience: float = 1.0) -> None:
    """Cancel ``task`` and, should a cancellation get lost below it, cancel it again.

    A consumer that takes a cancelled blocking read for a Redis error and goes round its loop
    again would otherwise keep ``serve`` from ever returning.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=patience)
    with contextlib.suppress(asyncio.CancelledError):
        task.result()
