"""The dialer down for a while: a removal approved meanwhile is neither lost nor rushed. The
campaign is not deleted while the dialer cannot confirm it stopped; once the dialer is back the
sweeper sends the stop again and the removal finishes.

"A minute" is DOWN_SECONDS here, and the sweeper's round one second instead of thirty
(``sweep_interval``), so that the test takes seconds; the path is the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta

from redis.asyncio import Redis

from commands.views import ids
from dialer.voipbin import VoipbinDialer, VoipbinSettings
from state.domain import CampaignStatus
from tests.e2e.harness import ANA, BOB, forget, running_bot
from tests.faults.processes import free_port
from tests.standins.voipbin import NOT_DELETED, VoipbinStandin

DOWN_SECONDS = 3.0
ACCESSKEY = "standin-accesskey"
WEBHOOK_SECRET = "dialer-down-webhook-secret"


class TcpGate:
    """A port in front of a server that can be shut: while shut, connections are refused."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)

    async def shut(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._open):
                writer.close()
            await self._server.wait_closed()
            self._server = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._open |= {writer, upstream}
        try:
            await asyncio.gather(_copy(reader, upstream), _copy(upstream_reader, writer))
        finally:
            self._open -= {writer, upstream}
            for end in (writer, upstream):
                end.close()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        writer.write_eof()


async def test_a_removal_approved_while_the_dialer_is_down_finishes_once_it_is_back(
    redis: Redis,
) -> None:
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    async with VoipbinStandin(accesskey=ACCESSKEY, webhook_secret=WEBHOOK_SECRET) as voipbin:
        gate = TcpGate(int(voipbin.base_url.rsplit(":", 1)[1]))
        await gate.open()
        settings = VoipbinSettings(
            api_url=f"http://127.0.0.1:{gate.port}/v1.0",
            accesskey=ACCESSKEY,
            webhook_secret=WEBHOOK_SECRET,
            max_retries=1,
            backoff_seconds=0.05,
            timeout_seconds=2,
        )
        dialer = VoipbinDialer(settings, redis, key_prefix=prefix)
        try:
            async with running_bot(
                redis, dialer=dialer, prefix=prefix, sweep_interval=timedelta(seconds=1)
            ) as bot:
                voipbin.webhook_url = f"{bot.url}/dialer/voipbin/events"
                ref = await bot.create_campaign(ANA, "Outlasts the dialer", agents="agent-1")
                await bot.click(ANA, ids.START, ref)
                await bot.status_of(ref, CampaignStatus.RUNNING)
                _, url = await bot.command(ANA, f"remove {ref}")
                await bot.reply_to(url)

                await gate.shut()
                _, url = await bot.click(BOB, ids.APPROVE, ref)
                await bot.reply_to(url, timeout=10)
                health = await bot.http.get("/healthz")
                assert health.status_code == 200
                assert health.json()["status"] == "degraded"
                assert health.json()["dialer_reachable"] is False
                await asyncio.sleep(DOWN_SECONDS)
                waiting = await bot.store.require(ref)
                assert waiting.status is CampaignStatus.RUNNING and waiting.removal is not None

                await gate.open()
                await bot.status_of(ref, CampaignStatus.DELETED, timeout=20)
                await bot.channel_message("was *deleted*", timeout=10)
                deleted = [t for t in bot.channel_texts() if "was *deleted*" in t]
                assert len(deleted) == 1
                (campaign,) = voipbin.store["campaigns"].values()
                assert campaign["tm_delete"] != NOT_DELETED
        finally:
            await gate.shut()
            await dialer.aclose()
            await forget(redis, prefix)
