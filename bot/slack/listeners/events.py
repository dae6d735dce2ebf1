"""Events API events (over HTTP and Socket Mode alike): ``app_home_opened`` publishes the
person's Home tab; its paging buttons redraw it."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.slack.edge import SlackEdge
from commands.views.home import HOME_PAGE

Body = dict[str, Any]


def register(app: AsyncApp, edge: SlackEdge) -> None:
    home = edge.home
    if home is None:
        return

    async def home_opened(event: Body) -> None:
        # Also sent for the Messages tab; only the Home tab is ours to draw.
        if event.get("tab", "home") != "home" or not event.get("user"):
            return
        await home.opened(str(event["user"]))

    async def home_page(ack: AsyncAck, body: Body) -> None:
        await ack()
        raw = str((body.get("actions") or [{}])[0].get("value") or "0")
        await home.show_page(str(body["user"]["id"]), int(raw) if raw.isdigit() else 0)

    app.event("app_home_opened")(home_opened)
    app.action(re.compile(f"^{re.escape(HOME_PAGE)}(:|$)"))(home_page)
