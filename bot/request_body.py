"""Reading a request body within limits: at most ``max_bytes``, within ``deadline`` seconds.

A declared ``Content-Length`` over the limit is refused before a byte of the body is read; a body
that turns out longer is refused as soon as it passes the limit, so memory never holds more than
the limit. uvicorn stops reading the socket while nobody reads the body, so a refused sender's
remaining bytes cost nothing, and the refusal closes the connection.
"""

from __future__ import annotations

import asyncio

from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse


class BodyRefused(Exception):
    """Answer ``status`` with ``reason`` and close the connection."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason

    def response(self) -> PlainTextResponse:
        # The rest of the body may still be on its way: the connection cannot be reused.
        return PlainTextResponse(self.reason, self.status, headers={"Connection": "close"})


class ClientGone(Exception):
    """The client closed the connection before its body was in."""


async def read_body(request: Request, *, max_bytes: int, deadline: float) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BodyRefused(400, "Content-Length is not a number")
        if int(declared) > max_bytes:
            raise BodyRefused(413, f"request body over {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(deadline):
            async for chunk in request.stream():
                size += len(chunk)
                if size > max_bytes:
                    raise BodyRefused(413, f"request body over {max_bytes} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise BodyRefused(408, f"request body not received within {deadline:g} s") from None
    except ClientDisconnect:
        raise ClientGone from None
    return b"".join(chunks)
