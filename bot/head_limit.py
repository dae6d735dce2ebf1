"""Refuse a request whose head (target and headers) is over the limit, with 431.

The connection (``bot.connection_guard``) refuses a head that is still incomplete past
``HTTP_MAX_HEADER_BYTES``, but one that arrives whole in a single read is parsed whatever its
size; this holds such heads to the same limit before any route sees them.
"""

from __future__ import annotations

import logging

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)


class HeadLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            size += sum(len(name) + len(value) + 4 for name, value in scope["headers"])
            if size > self.max_bytes:
                log.warning(
                    "%s %s refused with 431: head of %d bytes",
                    scope["method"],
                    scope["path"][:100],
                    size,
                )
                answer = PlainTextResponse(
                    "request head too large", 431, headers={"Connection": "close"}
                )
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)
