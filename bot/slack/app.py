"""The Bolt app: the listeners (``bot.slack.listeners``) registered on the Slack edge that
``bot.bootstrap.build_slack`` built; nothing is built here."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.edge import SlackEdge
from bot.slack.listeners import register_listeners


@dataclass
class SlackApp:
    """The Bolt app, and what must be closed with it."""

    app: AsyncApp
    edge: SlackEdge
    http: httpx.AsyncClient

    async def aclose(self) -> None:
        await self.edge.leads.aclose()
        await self.http.aclose()


def bolt_app(client: AsyncWebClient, edge: SlackEdge, signing_secret: SecretStr | None) -> AsyncApp:
    """The Bolt app with every listener registered on ``edge``."""
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret.get_secret_value() if signing_secret else None,
        # Socket Mode requests come over the app's own connection, not HTTP: nothing to sign.
        request_verification_enabled=signing_secret is not None,
        name="campaign-bot",
    )
    register_listeners(app, edge)
    return app
