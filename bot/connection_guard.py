"""uvicorn's HTTP/1.1 protocol (on httptools, the C parser) with the limits it lacks: a deadline
for the request head, a cap on the bytes of a head still arriving, and a cap on open connections
that sheds idle ones first.

uvicorn arms its keep-alive timer only after an answer and disarms it on any byte received, so a
client that connects and says nothing, or sends its headers a byte at a time, holds a connection
(and a file descriptor) for ever. Here every connection that is not being answered — before its
first request head is complete, or after an answer — is closed once ``header_timeout`` passes.
A slow body is the route's to cut (``bot.request_body``), since only the route reads it.

httptools keeps a head's bytes until the head is complete, so a head still incomplete after
``max_head_bytes`` is answered 431 and the connection closed; a complete head is held to the same
limit by ``bot.head_limit``.

Past ``max_connections`` the connection that has waited longest without a request in hand is
closed to make room, so a thousand silent sockets cannot lock out the next real request; only when
every open connection is busy with a request is the newcomer told 503.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bot.corked_transport import CorkedTransport

log = logging.getLogger(__name__)

BUSY_TEXT = b"too many open connections"
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(BUSY_TEXT), BUSY_TEXT)
)
HEAD_TOO_LARGE_TEXT = b"request head too large"
HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: %d\r\nconnection: close\r\n\r\n%s"
    % (len(HEAD_TOO_LARGE_TEXT), HEAD_TOO_LARGE_TEXT)
)


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float = 10.0
    max_connections: int = 1000
    max_head_bytes: int = 16_384


def guarded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """uvicorn's ``http=`` class for these limits."""
    return type("GuardedHttpProtocol", (GuardedHttpProtocol,), {"limits": limits})


class GuardedHttpProtocol(HttpToolsProtocol):
    limits = ConnectionLimits()

    _head_timer: asyncio.TimerHandle | None = None
    waiting_since: float = 0.0
    _head_complete = False
    _head_bytes = 0
    """Bytes received for the current request while its head is incomplete."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CorkedTransport(transport, self.loop))
        self._wait_for_a_request()
        if len(self.connections) > self.limits.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._head_complete:
            return
        # Counted after parsing, as a head that began in this read restarts the count: the whole
        # read counts, so the limit may be reached at most one read early, never late.
        self._head_bytes += len(data)
        if self._head_bytes > self.limits.max_head_bytes and not self.transport.is_closing():
            log.warning(
                "%s refused with 431: request head over %d bytes",
                self.client,
                self.limits.max_head_bytes,
            )
            self.transport.write(HEAD_TOO_LARGE)
            self._close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_complete = False
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._head_complete = True
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._wait_for_a_request()

    def shutdown(self) -> None:
        """Graceful stop. A request still waiting for its body is cut now (its route sees the
        client gone) rather than cancelled, with a traceback, when the grace period ends."""
        waiting_for_body = (
            self.cycle is not None and not self.cycle.response_complete and self.cycle.more_body
        )
        if waiting_for_body:
            self._close()
        else:
            super().shutdown()

    def idle(self) -> bool:
        """No request in hand: still waiting for a head, or done answering one."""
        return self.cycle is None or self.cycle.response_complete

    def _wait_for_a_request(self) -> None:
        self._disarm()
        self.waiting_since = self.loop.time()
        self._head_timer = self.loop.call_later(self.limits.header_timeout, self._head_overdue)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_overdue(self) -> None:
        self._head_timer = None
        if self.idle() and not self.transport.is_closing():
            log.debug(
                "closing %s: no request head within %gs", self.client, self.limits.header_timeout
            )
            self._close()

    def _close(self) -> None:
        self.transport.close()

    def _make_room(self) -> None:
        idle = [
            other
            for other in self.connections
            if other is not self
            and isinstance(other, GuardedHttpProtocol)
            and other.idle()
            and not other.transport.is_closing()
        ]
        if idle:
            oldest = min(idle, key=lambda other: other.waiting_since)
            log.debug("connection limit reached: closing the longest-idle one, %s", oldest.client)
            oldest._close()
            return
        log.warning(
            "connection limit (%d) reached with every connection busy: refusing %s",
            self.limits.max_connections,
            self.client,
        )
        self.transport.write(BUSY)
        self._close()
