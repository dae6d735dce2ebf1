"""The HTTP server (HTTP mode): Slack's requests, dialer webhooks and a health check.

    POST /slack/events          Bolt (signature checked with SLACK_SIGNING_SECRET)
    POST /dialer/{name}/events  the configured dialer's webhook, if it has one
    GET  /healthz               Redis and the dialer: 200 while Redis answers (``degraded`` if
                                the dialer does not), 503 when Redis does not
    GET  /metrics               Prometheus text (``bot.metrics``)

A webhook is verified and parsed by its adapter, each notification goes into the durable inbox
(or, while Redis is away, into the bounded in-memory ``NotificationBuffer``), and only then is it
answered 200; the engine applies it from there.

Nothing a client sends is trusted with time or memory: bodies are read up to a per-route size
within a deadline (413, 408), Slack requests are checked before Bolt sees them
(``bot.slack_request_check``), and every malformed request is a 4xx with one log line. Anything
that needs Redis waits for it a bounded time: ``/healthz`` answers 503 within 2 s.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from redis.exceptions import RedisError
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.head_limit import HeadLimit
from bot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.metrics import AlertMetrics, render_metrics
from bot.request_body import BodyRefused, ClientGone, read_body
from bot.services import Services
from bot.slack.app import SlackApp
from bot.slack_request_check import check_slack_request, with_body
from bot.webhook_buffer import NotificationBuffer
from dialer.base import Dialer, WebhookRejected

log = logging.getLogger(__name__)

HEALTHZ_REDIS_DEADLINE = 1.5
HEALTHZ_DIALER_DEADLINE = 1.5
WEBHOOK_READ_DEADLINE = 1.0  # dialers wait about 2 s for an answer


def refused(route: str, exc: BodyRefused) -> Response:
    log.warning("%s refused with %d: %s", route, exc.status, exc.reason)
    return exc.response()


def client_gone(route: str) -> Response:
    log.info("%s: the client went away before its body was in", route)
    return PlainTextResponse("incomplete request", status_code=400)


def create_http_app(
    services: Services,
    slack: SlackApp | None,
    alerts: AlertMetrics | None = None,
    buffer: NotificationBuffer | None = None,
) -> ASGIApp:
    settings = services.settings
    secret = settings.slack_signing_secret
    # Without a signing secret (Socket Mode only) nothing could tell Slack from a forger.
    slack_handler = (
        AsyncSlackRequestHandler(slack.app) if slack is not None and secret is not None else None
    )
    if buffer is None:  # (not ``buffer or``: an empty buffer is falsy)
        buffer = NotificationBuffer(
            services.inbox, services.metrics, capacity=settings.webhook_buffer_max
        )

    async def slack_events(request: Request) -> Response:
        if slack_handler is None or secret is None:
            why = (
                "Slack requests come over Socket Mode; set SLACK_SIGNING_SECRET to take them here"
                if slack is not None
                else "Slack is not configured (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)"
            )
            return PlainTextResponse(why, status_code=503)
        route = "POST /slack/events"
        try:
            body = await read_body(
                request,
                max_bytes=settings.slack_max_body_bytes,
                deadline=settings.http_body_timeout_seconds,
            )
            check_slack_request(request.headers, body, secret.get_secret_value())
        except BodyRefused as exc:
            return refused(route, exc)
        except ClientGone:
            return client_gone(route)
        return await slack_handler.handle(with_body(request, body))

    probe = DialerProbe(
        services.unmetered_dialer,
        ttl=settings.healthz_dialer_cache_seconds,
        timeout=HEALTHZ_DIALER_DEADLINE,
    )

    receiver = services.webhooks  # (found once: a runtime protocol check is slow)
    webhook_path = f"/dialer/{services.dialer.name}/events"

    async def other_dialer_events(request: Request) -> Response:
        if request.path_params["name"] != services.dialer.name or receiver is None:
            return PlainTextResponse("no such dialer webhook", status_code=404)
        return await dialer_events(request)

    async def dialer_events(request: Request) -> Response:
        if receiver is None:
            return PlainTextResponse("no such dialer webhook", status_code=404)
        route = f"POST {webhook_path}"
        try:
            body = await read_body(
                request,
                max_bytes=settings.webhook_max_body_bytes,
                deadline=settings.http_body_timeout_seconds,
            )
        except BodyRefused as exc:
            services.metrics.notifications.inc(outcome="rejected")
            return refused(route, exc)
        except ClientGone:
            return client_gone(route)
        try:
            # An adapter may need Redis to read a delivery (VoIPBIN counts calls there): bounded,
            # and a 503 the dialer retries, while Redis is away.
            async with asyncio.timeout(WEBHOOK_READ_DEADLINE):
                notifications = await receiver.receive_webhook(request.headers, body)
        except (RedisError, TimeoutError) as exc:
            log.warning("%s webhook not read, Redis unavailable: %s", services.dialer.name, exc)
            return PlainTextResponse("try again shortly", status_code=503)
        except WebhookRejected as exc:
            log.warning("%s webhook rejected: %s", services.dialer.name, exc)
            services.metrics.notifications.inc(outcome="rejected")
            return PlainTextResponse(str(exc), status_code=exc.status_code)
        except ValueError as exc:  # unreadable in a way the adapter did not foresee
            log.warning("%s webhook unreadable: %s", services.dialer.name, str(exc)[:200])
            services.metrics.notifications.inc(outcome="rejected")
            return PlainTextResponse("unreadable notification", status_code=400)
        if not await buffer.accept(notifications):
            return PlainTextResponse("cannot take notifications right now", status_code=503)
        return Response(b'{"accepted":%d}' % len(notifications), media_type="application/json")

    async def redis_answers() -> bool:
        try:
            async with asyncio.timeout(HEALTHZ_REDIS_DEADLINE):
                await services.redis.ping()
        except (RedisError, OSError, TimeoutError):
            return False
        return True

    async def healthz(request: Request) -> Response:
        # Both asked at once, each with its own deadline: the answer comes within 2 s.
        redis_ok, dialer_ok = await asyncio.gather(redis_answers(), probe.reachable())
        # A dialer that is down leaves the bot useful (it says so to each request), so only
        # Redis being down takes a replica out of the load balancer.
        status = "unhealthy" if not redis_ok else "ok" if dialer_ok else "degraded"
        return JSONResponse(
            {
                "status": status,
                "redis": "ok" if redis_ok else "unreachable",
                "dialer": services.dialer.name,
                "dialer_reachable": dialer_ok,
                "slack": slack is not None,
                "buffered_notifications": len(buffer),
                "webhooks_unsigned": services.webhooks_unsigned,
            },
            status_code=200 if redis_ok else 503,
        )

    async def metrics(request: Request) -> Response:
        text = await render_metrics(services, alerts, len(buffer))
        return Response(text, media_type=METRICS_CONTENT_TYPE)

    app = Starlette(
        routes=[
            Route("/metrics", metrics, methods=["GET"]),
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/dialer/{name}/events", other_dialer_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
    )
    webhooks = FastRoute(app, "POST", webhook_path, dialer_events)
    return HeadLimit(webhooks, max_bytes=settings.http_max_header_bytes)


class FastRoute:
    """One route answered without Starlette's layers (middleware, router, exception handlers),
    which cost a webhook about as much as reading it: the dialer's webhook, the hottest route.
    An exception it raises is answered 500 and logged by the server, as Starlette would."""

    def __init__(
        self,
        app: ASGIApp,
        method: str,
        path: str,
        endpoint: Callable[[Request], Awaitable[Response]],
    ) -> None:
        self.app = app
        self.method = method
        self.path = path
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != self.method:
            await self.app(scope, receive, send)
            return
        response = await self.endpoint(Request(scope, receive))
        await response(scope, receive, send)


class DialerProbe:
    """Whether the dialer answers, asking it at most once per ``ttl`` seconds: load balancers
    probe often, and a dialer's API has better things to do."""

    def __init__(self, dialer: Dialer, *, ttl: float = 10.0, timeout: float = 3.0) -> None:
        self.dialer = dialer
        self.ttl = ttl
        self.timeout = timeout
        self._answer: tuple[float, bool] | None = None
        self._lock = asyncio.Lock()

    async def reachable(self) -> bool:
        async with self._lock:
            if self._answer is not None and time.monotonic() - self._answer[0] < self.ttl:
                return self._answer[1]
            try:
                await asyncio.wait_for(self.dialer.list_campaigns(), self.timeout)
                answered = True
            except Exception as exc:  # any failure means "not reachable", never a 500
                log.info("health: dialer %s did not answer: %s", self.dialer.name, exc)
                answered = False
            self._answer = (time.monotonic(), answered)
            return answered
