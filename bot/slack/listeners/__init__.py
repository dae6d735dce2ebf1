"""The Bolt listeners, by kind, as module-level functions; ``register_listeners`` puts them on
the app.

Each listener names what it needs as parameters, the Bolt way (``ack``, ``body``, ``respond``…),
and ``edge``: the ``SlackEdge`` that ``ProvideEdge`` puts into every request's context (Bolt
passes context entries by name).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack.edge import SlackEdge
from bot.slack.listeners import actions, commands, events, shortcuts, submissions

EDGE = "edge"
"""The context key, and so the listener parameter name, of the ``SlackEdge``."""


class ProvideEdge(AsyncMiddleware):
    """Puts the edge into each request's context, for the listeners' ``edge`` parameter."""

    def __init__(self, edge: SlackEdge) -> None:
        self.edge = edge

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        req.context[EDGE] = self.edge
        return await next()


def register_listeners(app: AsyncApp, edge: SlackEdge) -> None:
    app.use(ProvideEdge(edge))
    commands.register(app)
    actions.register(app)
    submissions.register(app)
    shortcuts.register(app)
    events.register(app, with_home=edge.home is not None)
