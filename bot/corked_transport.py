"""A transport whose writes made in one turn of the event loop leave in one send, and whose close
lets the client read the answer.

uvicorn writes an answer's status line and headers, then its body, as two writes: two sends, and
two wake-ups of the client, for every webhook answered. Held until the turn ends, they go as one.

Closing right after an answer sends it, then only half-closes: a socket closed with bytes it
never read (the rest of a body refused with 413) is reset, and a reset throws away the answer
the client had not read yet. So the connection says it is done (FIN) and reads and discards what
still comes, until the client closes or ``LINGER_SECONDS`` pass. An idle connection (nothing
answered) is simply closed. Aborting drops what is held.
"""

from __future__ import annotations

import asyncio
from typing import Any

LINGER_SECONDS = 2.0


class CorkedTransport(asyncio.Transport):
    def __init__(self, inner: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._inner = inner
        self._loop = loop
        self._held: list[bytes] = []
        self._closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self._flush)
        self._held.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def _flush(self) -> None:
        if self._held:
            data = b"".join(self._held)
            self._held.clear()
            if not self._inner.is_closing():
                self._inner.write(data)

    def close(self) -> None:
        answered = bool(self._held)  # an answer, and maybe bytes of a body it did not read
        self._flush()
        inner = self._inner
        if self._closed or inner.is_closing():
            return
        self._closed = True
        if not answered or not inner.can_write_eof():
            inner.close()  # an idle connection's: nothing for the client to read
            return
        served = inner.get_protocol()
        inner.write_eof()
        inner.set_protocol(_Discarding(inner, self._loop))
        inner.resume_reading()
        # For the server the connection is over; told once this call has returned.
        self._loop.call_soon(served.connection_lost, None)

    def abort(self) -> None:
        self._held.clear()
        self._closed = True
        self._inner.abort()

    def write_eof(self) -> None:
        self._flush()
        self._inner.write_eof()

    def can_write_eof(self) -> bool:
        return self._inner.can_write_eof()

    def is_closing(self) -> bool:
        return self._closed or self._inner.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._inner.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._inner.pause_reading()

    def resume_reading(self) -> None:
        self._inner.resume_reading()

    def is_reading(self) -> bool:
        return self._inner.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._inner.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._inner.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._inner.get_write_buffer_size() + sum(len(data) for data in self._held)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._inner.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._inner.set_write_buffer_limits(high, low)


class _Discarding(asyncio.Protocol):
    """What a half-closed connection still receives, thrown away until the client closes or
    ``LINGER_SECONDS`` pass."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._deadline = loop.call_later(LINGER_SECONDS, transport.close)

    def data_received(self, data: bytes) -> None:
        pass

    def eof_received(self) -> bool:
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.cancel()
