"""Writes made in one turn of the event loop leave in one send; closing sends what is held
first (on a socket, then half-closes and lingers: tests/test_http_edge.py), aborting drops it."""

from __future__ import annotations

import asyncio

from bot.corked_transport import CorkedTransport


class Recording(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.sent.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def can_write_eof(self) -> bool:
        return False


async def test_writes_in_one_turn_leave_as_one_send() -> None:
    inner = Recording()
    corked = CorkedTransport(inner, asyncio.get_running_loop())
    corked.write(b"HTTP/1.1 200 OK\r\n\r\n")
    corked.write(b"body")
    assert inner.sent == []
    await asyncio.sleep(0)
    assert inner.sent == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    corked.write(b"next")
    await asyncio.sleep(0)
    assert inner.sent[1:] == [b"next"]


async def test_closing_sends_what_is_held_first() -> None:
    inner = Recording()
    corked = CorkedTransport(inner, asyncio.get_running_loop())
    corked.write(b"431 answer")
    corked.close()
    assert inner.sent == [b"431 answer"] and inner.closed
    await asyncio.sleep(0)
    assert inner.sent == [b"431 answer"]


async def test_aborting_drops_what_is_held() -> None:
    inner = Recording()
    corked = CorkedTransport(inner, asyncio.get_running_loop())
    corked.write(b"never sent")
    corked.abort()
    await asyncio.sleep(0)
    assert inner.sent == [] and inner.aborted


class HalfClosing(Recording):
    def __init__(self) -> None:
        super().__init__()
        self.eof_written = False
        self.protocol: asyncio.BaseProtocol = asyncio.Protocol()

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof_written = True

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.protocol

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def resume_reading(self) -> None:
        pass


async def test_closing_after_an_answer_half_closes_and_lingers() -> None:
    inner = HalfClosing()
    corked = CorkedTransport(inner, asyncio.get_running_loop())
    corked.write(b"HTTP/1.1 413 Content Too Large\r\n\r\n")
    corked.close()
    assert inner.sent and inner.eof_written and not inner.closed
    assert corked.is_closing()
    inner.protocol.data_received(b"the rest of the body")  # type: ignore[attr-defined]
    assert inner.protocol.eof_received() is False  # type: ignore[attr-defined]


async def test_closing_an_idle_connection_closes_it_at_once() -> None:
    inner = HalfClosing()
    corked = CorkedTransport(inner, asyncio.get_running_loop())
    corked.close()
    assert inner.closed and not inner.eof_written
