"""Raw HTTP/1.1 over sockets, for requests no well-behaved client would send: a body declared and
never sent, headers a byte at a time, bytes that are not UTF-8, signed or not."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time
from urllib.parse import urlsplit


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slack_headers(secret: str | None, body: bytes, **extra: str) -> dict[str, str]:
    """Headers of a ``/slack/events`` request, signed with ``secret`` (unsigned if None)."""
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if secret is not None:
        headers["X-Slack-Request-Timestamp"] = timestamp
        headers["X-Slack-Signature"] = slack_signature(secret, timestamp, body)
    headers.update(extra)
    return headers


async def connect(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return await asyncio.open_connection(parts.hostname, parts.port)


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def status_of_answer(reader: asyncio.StreamReader, timeout: float) -> int | None:
    """The status code of the answer, or None if the connection closed without one."""
    async with asyncio.timeout(timeout):
        line = await reader.readline()
    if not line:
        return None
    return int(line.split()[1])


async def closed_within(reader: asyncio.StreamReader, timeout: float) -> bool:
    """True if the server closes the connection within ``timeout`` (whatever it said before)."""
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    return True


async def close(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        writer.close()
        await writer.wait_closed()


async def send_request(
    url: str, method: str, path: str, headers: dict[str, str], body: bytes, timeout: float = 10.0
) -> int | None:
    """One request on its own connection; the answer's status code (None: closed unanswered)."""
    reader, writer = await connect(url)
    try:
        writer.write(head(method, path, {**headers, "Content-Length": str(len(body))}) + body)
        with contextlib.suppress(ConnectionError):
            await writer.drain()
        return await status_of_answer(reader, timeout)
    finally:
        await close(writer)
