"""Events API events (over HTTP and Socket Mode alike): ``app_home_opened`` publishes the
person's Home tab; its paging buttons redraw it."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.slack.edge import SlackEdge
from commands.views.home import HOME_PAGE

Body = dict[str, Any]


async def home_opened(event: Body, edge: SlackEdge) -> None:
    # Also sent for the Messages tab; only the Home tab is ours to draw.
    if edge.home is None or event.get("tab", "home") != "home" or not event.get("user"):
        return
    await edge.home.opened(str(event["user"]))


async def home_page(ack: AsyncAck, body: Body, edge: SlackEdge) -> None:
    await ack()
    if edge.home is None:
        return
    raw = str((body.get("actions") or [{}])[0].get("value") or "0")
    await edge.home.show_page(str(body["user"]["id"]), int(raw) if raw.isdigit() else 0)


def register(app: AsyncApp, *, with_home: bool) -> None:
    """``with_home``: the app has a Home tab to publish (``SlackEdge.home``)."""
    if not with_home:
        return
    app.event("app_home_opened")(home_opened)
    app.action(re.compile(f"^{re.escape(HOME_PAGE)}(:|$)"))(home_page)
