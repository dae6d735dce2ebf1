"""Attacks on a real ``campaign-bot serve`` process at its HTTP edge: a slowly sent unsigned
megabyte (D1), 50 MB bodies (D6), idle and slow-header connections by the thousand (D6), and a
SIGTERM in the middle of it all. Each shows the bot keeps answering, holds bounded memory and
file descriptors, logs no traceback, and stops when told."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.attacks.probes import open_fds, rss_mb, tracebacks
from tests.attacks.raw import close, closed_within, connect, head, status_of_answer
from tests.faults.processes import BOT_TOKEN, ServeProcess, serve_environment, serving
from tests.standins.slack_api import SlackStandIn

MEGABYTE = 1_000_000


@contextlib.asynccontextmanager
async def bot(**settings: str) -> AsyncIterator[ServeProcess]:
    async with SlackStandIn(token=BOT_TOKEN) as slack:
        env = serve_environment(slack.api_url, f"attack:{uuid.uuid4().hex[:8]}:", **settings)
        async with serving(env) as process:
            yield process


async def healthz_latencies(url: str, until: asyncio.Task[object]) -> list[float]:
    """Ask /healthz every 0.2 s while ``until`` runs; how long each answer took."""
    latencies = []
    async with httpx.AsyncClient(timeout=5) as http:
        while not until.done():
            started = time.monotonic()
            assert (await http.get(f"{url}/healthz")).status_code == 200
            latencies.append(time.monotonic() - started)
            await asyncio.sleep(0.2)
    return latencies


async def trickle(writer: asyncio.StreamWriter, body: bytes, seconds: float) -> None:
    chunk = 32 * 1024
    pause = seconds / (len(body) / chunk)
    with contextlib.suppress(ConnectionError):
        for start in range(0, len(body), chunk):
            writer.write(body[start : start + chunk])
            await writer.drain()
            await asyncio.sleep(pause)


async def test_an_unsigned_megabyte_of_one_letter_never_stalls_the_bot_and_sigterm_stops_it() -> (
    None
):
    async with bot() as process:
        reader, writer = await connect(process.url)
        body = b"a" * MEGABYTE  # the run of one letter that took the redactor hours
        writer.write(
            head(
                "POST",
                "/slack/events",
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Content-Length": str(len(body)),
                },
            )
        )
        sending = asyncio.create_task(trickle(writer, body, seconds=2.0))
        latencies = await healthz_latencies(process.url, sending)
        assert await status_of_answer(reader, timeout=10) in {401, 413}
        await close(writer)
        assert latencies and max(latencies) < 1.0, latencies

        started = time.monotonic()
        assert await process.stop(signal.SIGTERM, timeout=15) == 0
        assert time.monotonic() - started < 10
        log = process.output()
        assert not tracebacks(log)
        assert "a" * 400 not in log  # the body is never logged
        assert max(len(line) for line in log.splitlines()) < 5000


async def send_huge(url: str, size: int, *, declared: bool) -> tuple[int | None, int]:
    """POST ``size`` bytes to /slack/events as fast as the bot takes them; the answer's status
    (None: cut off without one) and how many bytes went out before it."""
    reader, writer = await connect(url)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    headers |= {"Content-Length": str(size)} if declared else {"Transfer-Encoding": "chunked"}
    writer.write(head("POST", "/slack/events", headers))
    block = b"a" * (256 * 1024)
    sent = 0

    async def push() -> None:
        nonlocal sent
        with contextlib.suppress(ConnectionError):
            while sent < size:
                data = block if declared else b"%x\r\n%s\r\n" % (len(block), block)
                writer.write(data)
                await writer.drain()
                sent += len(block)

    pushing = asyncio.create_task(push())
    try:
        status = await status_of_answer(reader, timeout=30)
    except (ConnectionError, TimeoutError):
        status = None
    pushing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await pushing
    await close(writer)
    return status, sent


async def test_four_50mb_bodies_get_413_memory_stays_bounded_and_an_idle_connection_closes() -> (
    None
):
    async with bot() as process:
        idle_reader, idle_writer = await connect(process.url)
        idle_since = time.monotonic()
        before = rss_mb(process.process.pid)
        peak = before
        sending = asyncio.gather(
            *(send_huge(process.url, 50 * MEGABYTE, declared=i % 2 == 0) for i in range(4))
        )
        while not sending.done():
            peak = max(peak, rss_mb(process.process.pid))
            await asyncio.sleep(0.05)
        for status, sent in await sending:
            assert status == 413 or sent < 50 * MEGABYTE, (status, sent)
        peak = max(peak, rss_mb(process.process.pid))
        assert peak - before < 50, f"RSS {before:.0f} MB -> {peak:.0f} MB"

        # An idle connection opened at the start is closed by the default head deadline.
        assert await closed_within(idle_reader, timeout=30 - (time.monotonic() - idle_since))
        await close(idle_writer)
        assert await process.stop() == 0
        assert not tracebacks(process.output())


SLOW_CLIENTS = 1000
HEADER_TIMEOUT = 3.0


async def test_a_thousand_slow_clients_neither_lock_out_traffic_nor_keep_their_sockets() -> None:
    async with bot(HTTP_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT)) as process:
        pid = process.process.pid
        baseline_fds = open_fds(pid)
        slow = []
        for _ in range(SLOW_CLIENTS):
            reader, writer = await connect(process.url)
            writer.write(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")  # and never the rest
            slow.append((reader, writer))
        opened = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=5) as http:
                for _ in range(5):  # served while the slow ones still hang on
                    assert (await http.get(f"{process.url}/healthz")).status_code == 200
            remaining = HEADER_TIMEOUT + 10 - (time.monotonic() - opened)
            closed = await asyncio.gather(
                *(closed_within(reader, timeout=remaining) for reader, _ in slow)
            )
            assert all(closed), f"{closed.count(False)} slow connections still open"
            assert open_fds(pid) < baseline_fds + 20
        finally:
            for _, writer in slow:
                await close(writer)
        assert await process.stop() == 0
        assert not tracebacks(process.output())


@pytest.mark.parametrize("clients", [200])
async def test_sigterm_during_an_attack_stops_the_bot_within_the_drain_deadline(
    clients: int,
) -> None:
    async with bot(SHUTDOWN_DRAIN_SECONDS="5") as process:
        attackers = []
        for i in range(clients):
            _, writer = await connect(process.url)
            if i % 2:
                writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # a head never finished
            else:  # a body that never comes
                writer.write(head("POST", "/slack/events", {"Content-Length": "100000"}) + b"p")
            attackers.append(writer)
        try:
            await asyncio.sleep(0.5)
            started = time.monotonic()
            assert await process.stop(signal.SIGTERM, timeout=20) == 0
            assert time.monotonic() - started < 5 + 2
        finally:
            for writer in attackers:
                await close(writer)
        assert not tracebacks(process.output())
