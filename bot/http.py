"""The HTTP server (HTTP mode): Slack's requests, dialer webhooks and a health check.

    POST /slack/events          Bolt (signature checked with SLACK_SIGNING_SECRET)
    POST /dialer/{name}/events  the configured dialer's webhook, if it has one
    GET  /healthz               200 while Redis answers, else 503
    GET  /metrics               Prometheus text: campaigns by status, inbox backlog, Slack calls

A webhook is verified and parsed by its adapter, each notification goes into the durable inbox,
and only then is it answered 200; the engine applies it from there.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from redis.exceptions import RedisError
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.alerts import AlertMetrics
from bot.bootstrap import Services
from bot.slack.app import SlackApp
from dialer.base import WebhookReceiver, WebhookRejected
from dialer.models import CampaignStatus

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

    async def dialer_events(request: Request) -> Response:
        dialer = services.dialer
        if request.path_params["name"] != dialer.name or not isinstance(dialer, WebhookReceiver):
            return PlainTextResponse("no such dialer webhook", status_code=404)
        body = await request.body()
        try:
            notifications = await dialer.receive_webhook(request.headers, body)
        except WebhookRejected as exc:
            log.warning("%s webhook rejected: %s", dialer.name, exc)
            return PlainTextResponse(str(exc), status_code=exc.status_code)
        for notification in notifications:
            await services.inbox.publish(notification)
        return JSONResponse({"accepted": len(notifications)})

    async def healthz(request: Request) -> Response:
        try:
            await services.redis.ping()
        except RedisError as exc:
            return JSONResponse({"status": "unhealthy", "redis": str(exc)}, status_code=503)
        return JSONResponse(
            {"status": "ok", "dialer": services.dialer.name, "slack": slack is not None}
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


async def render_metrics(services: Services, alerts: AlertMetrics | None) -> str:
    """The figures an operator watches, in Prometheus' text format (gauges and counters)."""
    live = await services.store.list_live()
    lines = ["# TYPE campaign_bot_campaigns gauge"]
    for status in CampaignStatus:
        count = sum(1 for c in live if c.status is status)
        lines.append(f'campaign_bot_campaigns{{status="{status.value}"}} {count}')
    lines.append("# TYPE campaign_bot_removals_under_way gauge")
    lines.append(f"campaign_bot_removals_under_way {sum(1 for c in live if c.removal)}")
    backlog = await services.redis.xlen(services.inbox.stream)
    lines.append("# TYPE campaign_bot_notification_stream_length gauge")
    lines.append(f"campaign_bot_notification_stream_length {backlog}")
    if alerts is not None:
        for name, value in asdict(alerts).items():
            lines.append(f"# TYPE campaign_bot_alerts_{name}_total counter")
            lines.append(f"campaign_bot_alerts_{name}_total {value}")
    return "\n".join(lines) + "\n"
