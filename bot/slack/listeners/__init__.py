"""Listeners by kind, registered on the app by ``register_listeners``."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.edge import SlackEdge
from bot.slack.listeners import actions, commands, events, history, shortcuts, submissions


def register_listeners(app: AsyncApp, edge: SlackEdge) -> None:
    commands.register(app, edge)
    actions.register(app, edge)
    submissions.register(app, edge)
    shortcuts.register(app, edge)
    events.register(app, edge)
    history.register(app, edge)
