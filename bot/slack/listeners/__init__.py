"""Listeners by kind, registered on the app by ``register_listeners``."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.edge import SlackEdge
from bot.slack.listeners import actions, commands
from bot.slack.listeners import views as modal_views


def register_listeners(app: AsyncApp, edge: SlackEdge) -> None:
    commands.register(app, edge)
    actions.register(app, edge)
    modal_views.register(app, edge)
