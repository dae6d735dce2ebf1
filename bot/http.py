"""The HTTP server (HTTP mode): Slack's requests, dialer webhooks and a health check.

    POST /slack/events          Bolt (signature checked with SLACK_SIGNING_SECRET)
    POST /dialer/{name}/events  the configured dialer's webhook, if it has one
    GET  /healthz               Redis and the dialer: 200 while Redis answers (``degraded`` if
                                the dialer does not), 503 when Redis does not
    GET  /metrics               Prometheus text (``bot.metrics``)

A webhook is verified and parsed by its adapter, each notification goes into the durable inbox,
and only then is it answered 200; the engine applies it from there.
"""

from __future__ import annotations

import asyncio
import logging
import time

from redis.exceptions import RedisError
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.bootstrap import Services
from bot.metrics import AlertMetrics, render_metrics
from bot.slack.app import SlackApp
from dialer.base import Dialer, WebhookRejected

log = logging.getLogger(__name__)


def create_http_app(
    services: Services, slack: SlackApp | None, alerts: AlertMetrics | None = None
) -> Starlette:
    signed = services.settings.slack_signing_secret is not None
    # Without a signing secret (Socket Mode only) nothing could tell Slack from a forger.
    slack_handler = AsyncSlackRequestHandler(slack.app) if slack is not None and signed else None

    async def slack_events(request: Request) -> Response:
        if slack_handler is None:
            why = (
                "Slack requests come over Socket Mode; set SLACK_SIGNING_SECRET to take them here"
                if slack is not None
                else "Slack is not configured (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)"
            )
            return PlainTextResponse(why, status_code=503)
        return await slack_handler.handle(request)

    probe = DialerProbe(
        services.unmetered_dialer, ttl=services.settings.healthz_dialer_cache_seconds
    )

    async def dialer_events(request: Request) -> Response:
        receiver = services.webhooks
        if request.path_params["name"] != services.dialer.name or receiver is None:
            return PlainTextResponse("no such dialer webhook", status_code=404)
        body = await request.body()
        try:
            notifications = await receiver.receive_webhook(request.headers, body)
        except WebhookRejected as exc:
            log.warning("%s webhook rejected: %s", services.dialer.name, exc)
            services.metrics.notifications.inc(outcome="rejected")
            return PlainTextResponse(str(exc), status_code=exc.status_code)
        for notification in notifications:
            await services.inbox.publish(notification)
        return JSONResponse({"accepted": len(notifications)})

    async def healthz(request: Request) -> Response:
        redis_ok = True
        try:
            await services.redis.ping()
        except (RedisError, OSError):
            redis_ok = False
        dialer_ok = await probe.reachable()
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
            },
            status_code=200 if redis_ok else 503,
        )

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(await render_metrics(services, alerts))

    return Starlette(
        routes=[
            Route("/metrics", metrics, methods=["GET"]),
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/dialer/{name}/events", dialer_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


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
