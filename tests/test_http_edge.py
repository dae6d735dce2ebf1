"""Limits at the HTTP edge, on the real server in this process: bodies over the route's limit
are 413 before they are read, slow bodies 408, silent and slow-header connections are closed,
a full house sheds its longest-idle connection, and junk sent to /slack/events is a 4xx with
one log line, never a traceback."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator

import fakeredis
import httpx
import pytest

from bot.bootstrap import build_services
from bot.server import BotServer
from bot.settings import Settings
from dialer.simulator import SimulatorDialer
from state.connection import redis_client
from tests.attacks.raw import (
    close,
    closed_within,
    connect,
    head,
    send_request,
    slack_headers,
    status_of_answer,
)
from tests.e2e.harness import FAST, serving_on_loopback
from tests.faults.processes import free_port

SECRET = "edge-signing-secret"
LIMIT = 64 * 1024
TIMEOUT = 1.0


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": "xoxb-edge",
        "slack_signing_secret": SECRET,
        "slack_api_url": f"http://127.0.0.1:{free_port()}/api/",  # nothing is posted here
        "redis_key_prefix": f"edge:{uuid.uuid4().hex[:8]}:",
        "host": "127.0.0.1",
        "slack_max_body_bytes": LIMIT,
        "webhook_max_body_bytes": LIMIT,
        "http_body_timeout_seconds": TIMEOUT,
        "http_header_timeout_seconds": TIMEOUT,
        "http_max_connections": 8,
    }
    values.update(overrides)
    return Settings.model_validate(values)


@pytest.fixture
async def url() -> AsyncIterator[str]:
    services = build_services(
        settings(), redis=fakeredis.FakeAsyncRedis(), dialer=SimulatorDialer(FAST)
    )
    async with serving_on_loopback(BotServer(services)) as address:
        yield address


async def test_a_body_declared_over_the_limit_is_answered_413_before_it_is_sent(url: str) -> None:
    reader, writer = await connect(url)
    try:
        declared = slack_headers(None, b"", **{"Content-Length": str(50_000_000)})
        writer.write(head("POST", "/slack/events", declared))  # and not a byte of the body
        assert await status_of_answer(reader, timeout=5) == 413
        assert await closed_within(reader, timeout=5)
    finally:
        await close(writer)


async def test_a_streamed_body_is_refused_413_as_soon_as_it_passes_the_limit(url: str) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(64):  # 4 MB in all, if anyone read it
            sent += 65536
            yield b"a" * 65536

    async with httpx.AsyncClient(timeout=10) as http:
        try:
            answer = await http.post(
                f"{url}/slack/events", content=chunks(), headers=slack_headers(None, b"")
            )
        except httpx.TransportError:
            assert sent < 64 * 65536  # cut off mid-upload: refused too
            return
    assert answer.status_code == 413


async def test_a_client_still_sending_a_refused_body_reads_the_413(url: str) -> None:
    # Closed with unread bytes a socket is reset, and a reset while the client still writes
    # throws the answer away unread: more is sent here than the sockets' buffers hold.
    reader, writer = await connect(url)
    try:
        writer.write(head("POST", "/slack/events", {"Content-Length": str(1 << 30)}))
        with contextlib.suppress(ConnectionError):
            for _ in range(64):
                writer.write(b"x" * (1 << 18))
                await writer.drain()
        assert await status_of_answer(reader, timeout=5) == 413
    finally:
        await close(writer)


async def test_a_body_that_stops_arriving_is_answered_408(url: str) -> None:
    reader, writer = await connect(url)
    try:
        writer.write(head("POST", "/slack/events", {"Content-Length": "1000"}) + b"payload=")
        assert await status_of_answer(reader, timeout=TIMEOUT + 5) == 408
    finally:
        await close(writer)


async def test_an_idle_connection_is_closed_after_the_header_timeout(url: str) -> None:
    reader, writer = await connect(url)
    try:
        assert await closed_within(reader, timeout=TIMEOUT + 5)
    finally:
        await close(writer)


async def test_headers_sent_a_byte_at_a_time_do_not_hold_the_connection(url: str) -> None:
    reader, writer = await connect(url)
    request = head("GET", "/healthz", {"X-Padding": "p" * 200})  # 11 s at 20 bytes a second
    closed = False
    try:
        for byte in request[:-4]:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.05)
            if reader.at_eof():
                closed = True
                break
    except ConnectionError:
        closed = True  # closed while we were still writing
    finally:
        closed = closed or await closed_within(reader, timeout=1)
        await close(writer)
    assert closed


async def test_with_every_connection_taken_by_silent_clients_a_real_request_is_served(
    url: str,
) -> None:
    silent = [await connect(url) for _ in range(8)]
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            for _ in range(3):
                assert (await http.get(f"{url}/healthz")).status_code == 200
        # Room was made by closing the longest-silent ones.
        assert await closed_within(silent[0][0], timeout=1)
    finally:
        for _, writer in silent:
            await close(writer)


JUNK = {
    "unsigned": (slack_headers(None, b"payload=x"), b"payload=x"),
    "a timestamp that is not a number": (
        {**slack_headers(SECRET, b"payload=x"), "X-Slack-Request-Timestamp": "soon"},
        b"payload=x",
    ),
    "a forged signature": (
        {**slack_headers(SECRET, b"payload=x"), "X-Slack-Signature": "v0=" + "0" * 64},
        b"payload=x",
    ),
    "signed bytes that are not UTF-8": (slack_headers(SECRET, b"\xff\xfe\xfa"), b"\xff\xfe\xfa"),
    "a signed non-JSON body sent as JSON": (
        slack_headers(SECRET, b"{not json", **{"Content-Type": "application/json"}),
        b"{not json",
    ),
}


@pytest.mark.parametrize("junk", list(JUNK))
async def test_junk_sent_to_slack_events_is_a_4xx_with_one_log_line_and_no_traceback(
    url: str, junk: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers, body = JUNK[junk]
    caplog.set_level(logging.INFO)
    status = await send_request(url, "POST", "/slack/events", headers, body)
    assert status is not None and 400 <= status < 500
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refusals) == 1 and len(refusals[0].getMessage()) < 300


async def test_a_signed_well_formed_request_still_reaches_bolt(url: str) -> None:
    body = json.dumps({"type": "url_verification", "challenge": "c-123"}).encode()
    headers = slack_headers(SECRET, body, **{"Content-Type": "application/json"})
    async with httpx.AsyncClient(timeout=5) as http:
        answer = await http.post(f"{url}/slack/events", content=body, headers=headers)
    assert answer.status_code == 200 and "c-123" in answer.text


async def test_healthz_answers_503_at_once_when_redis_refuses_connections() -> None:
    dead = redis_client(f"redis://127.0.0.1:{free_port()}/0")
    services = build_services(settings(), redis=dead, dialer=SimulatorDialer(FAST))
    try:
        async with (
            serving_on_loopback(BotServer(services)) as address,
            httpx.AsyncClient(timeout=5) as http,
        ):
            started = asyncio.get_running_loop().time()
            answer = await http.get(f"{address}/healthz")
            assert answer.status_code == 503 and answer.json()["redis"] == "unreachable"
            assert asyncio.get_running_loop().time() - started < 2.0
    finally:
        await dead.aclose()


async def test_a_request_head_over_the_limit_is_refused(url: str) -> None:
    huge = {"X-Huge": "h" * 70_000}
    assert await send_request(url, "GET", "/healthz", huge, b"") in {400, 431}


async def test_a_head_still_arriving_past_the_limit_is_refused_431_before_it_ends(
    url: str,
) -> None:
    reader, writer = await connect(url)
    limit = Settings.model_fields["http_max_header_bytes"].default
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: ")
        for _ in range(limit // 4096 + 2):  # fast enough for the header timeout, never ending
            writer.write(b"h" * 4096)
            await writer.drain()
        assert await status_of_answer(reader, timeout=TIMEOUT / 2) == 431
        assert await closed_within(reader, timeout=TIMEOUT / 2)
    finally:
        await close(writer)


async def test_a_client_that_leaves_mid_body_is_one_log_line_without_a_traceback(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    _, writer = await connect(url)
    writer.write(head("POST", "/slack/events", {"Content-Length": "1000"}) + b"payload=")
    await writer.drain()
    await asyncio.sleep(0.2)
    await close(writer)
    for _ in range(50):
        if any("went away" in r.getMessage() for r in caplog.records):
            break
        await asyncio.sleep(0.05)
    assert len([r for r in caplog.records if "went away" in r.getMessage()]) == 1
    assert not [r for r in caplog.records if r.exc_info]


def test_a_redis_socket_timeout_within_the_blocking_read_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="REDIS_SOCKET_TIMEOUT_SECONDS"):
        Settings(redis_socket_timeout_seconds=1.0)
