"""The Bolt listeners are module-level functions (named in tracebacks, importable by tools), and
every button of every registry entry has one."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any, cast

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack.edge import SlackEdge
from bot.slack.listeners import EDGE, ProvideEdge, register_listeners
from commands.registry import BUTTONS

Listener = Callable[..., Any]


class RecordingApp:
    """Records what ``register_listeners`` puts on the app, by kind and key."""

    def __init__(self) -> None:
        self.listeners: dict[tuple[str, str], Listener] = {}
        self.middleware: list[object] = []

    def use(self, middleware: object) -> None:
        self.middleware.append(middleware)

    def _kind(self, kind: str) -> Callable[[object], Callable[[Listener], Listener]]:
        def by_key(key: object) -> Callable[[Listener], Listener]:
            def register(listener: Listener) -> Listener:
                self.listeners[(kind, str(getattr(key, "pattern", key)))] = listener
                return listener

            return register

        return by_key

    def __getattr__(self, kind: str) -> Callable[[object], Callable[[Listener], Listener]]:
        if kind in {"command", "action", "view", "event", "message_shortcut"}:
            return self._kind(kind)
        raise AttributeError(kind)


def registered() -> RecordingApp:
    app = RecordingApp()
    edge = cast(SlackEdge, SimpleNamespace(home=object()))  # only stored, never used here
    register_listeners(cast(AsyncApp, app), edge)
    return app


def test_every_listener_is_a_module_level_function_importable_by_its_name() -> None:
    app = registered()
    assert app.listeners
    for key, listener in app.listeners.items():
        assert "<locals>" not in listener.__qualname__, key
        assert getattr(importlib.import_module(listener.__module__), listener.__name__) is listener


def test_every_registry_button_has_a_listener() -> None:
    actions = {key for kind, key in registered().listeners if kind == "action"}
    assert set(BUTTONS) <= actions


async def test_the_edge_reaches_listeners_through_the_request_context() -> None:
    app = registered()
    (middleware,) = app.middleware
    assert isinstance(middleware, ProvideEdge)
    request = SimpleNamespace(context={})

    async def rest_of_the_chain() -> BoltResponse:
        return BoltResponse(status=200, body="handled")

    response = await middleware.async_process(
        req=cast(AsyncBoltRequest, request), resp=BoltResponse(status=200), next=rest_of_the_chain
    )
    assert request.context[EDGE] is middleware.edge
    assert response is not None and response.body == "handled"
    # and every listener asks for it by that name (Bolt passes context entries by name)
    for listener in app.listeners.values():
        assert EDGE in inspect.signature(listener).parameters, listener.__qualname__
