"""Who may reach the playground: loopback only, unless ``PLAYGROUND_HOST`` opens it on purpose.

The playground acts as any person in its stand-in workspace, so a stranger who reaches it can do
what a lead can. Connections from any other address are answered 403; the page and its API also
want a loopback ``Host`` (a web page elsewhere cannot point a name at 127.0.0.1 and read it), and
the API's POSTs a custom header (a form on another site cannot send one).
"""

from __future__ import annotations

import ipaddress

from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})
REFUSED = (
    b"The playground answers connections from this machine only; set PLAYGROUND_HOST to open it."
)


def is_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def host_name(host_header: str) -> str:
    """``127.0.0.1:3000`` -> ``127.0.0.1``; ``[::1]:3000`` -> ``[::1]``."""
    if host_header.startswith("["):
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


class LoopbackOnly:
    """ASGI middleware: 403 for a client that is not on loopback, and for a playground page or
    API request whose ``Host`` is not a loopback name; ``open_to_all`` (PLAYGROUND_HOST set)
    turns both checks off."""

    def __init__(self, app: ASGIApp, *, open_to_all: bool) -> None:
        self.app = app
        self.open_to_all = open_to_all

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._allowed(scope):
            await send(
                {
                    "type": "http.response.start",
                    "status": 403,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8")],
                }
            )
            await send({"type": "http.response.body", "body": REFUSED})
            return
        await self.app(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        if self.open_to_all:
            return True
        client = scope.get("client")
        if not is_loopback(client[0] if client else None):
            return False
        path = str(scope.get("path", ""))
        if path == "/" or path.startswith("/playground/"):
            headers = dict(scope.get("headers") or [])
            host = host_name(headers.get(b"host", b"").decode("latin-1")).lower()
            return host in LOOPBACK_NAMES
        return True
