"""The subscriber outlives the dialer's Redis going away, and reconciles what it missed.

The "dialer's Redis" here is a private ``redis-server`` on a free port, killed and restarted.
Like the real-Redis tests, it fails rather than skips when ``redis-server`` is missing.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from state.domain import CampaignStatus
from tests.contract.collector import NotificationCollector
from tests.contract.dialer_contract import contacts_for, new_campaign
from tests.standins.enigma import listening_adapter, running_enigma

NO_PERSISTENCE = ("--save", "", "--appendonly", "no")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class DialerRedis:
    """A throwaway redis-server standing in for Enigma's own Redis."""

    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = subprocess.Popen(
            [*("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"), *NO_PERSISTENCE],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url)
        try:
            for _ in range(200):
                try:
                    await client.ping()
                    return
                except (RedisError, OSError):
                    await asyncio.sleep(0.025)
            raise RuntimeError(f"redis-server did not start on port {self.port}")
        finally:
            await client.aclose()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=5)
            self.process = None


@pytest.fixture
async def dialer_redis() -> AsyncIterator[DialerRedis]:
    server = DialerRedis()
    await server.start()
    try:
        yield server
    finally:
        server.kill()


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


async def test_a_stop_made_while_the_dialers_redis_was_down_arrives_after_it_returns(
    dialer_redis: DialerRedis,
) -> None:
    ref = f"c-20261123-{uuid.uuid4().hex[:4]}"
    collector = NotificationCollector()
    async with (
        running_enigma(dialer_redis.url, "enigma:notifications:") as standin,
        listening_adapter(
            standin, collector.sink, retry_backoff_seconds=0.05, reconnect_max_seconds=0.2
        ) as dialer,
    ):
        await dialer.create_campaign(new_campaign(ref=ref))
        await dialer.add_contacts(ref, contacts_for(ref, 5))
        await dialer.start(ref)
        await collector.wait_for_status(ref, CampaignStatus.RUNNING)

        dialer_redis.kill()
        await eventually(lambda: not dialer.listening)
        await dialer.stop(ref)
        await standin.settle()  # stopping, stopped: both packets lost with the Redis
        assert standin.status_of(ref) == "stopped"
        assert CampaignStatus.STOPPED not in collector.statuses_of(ref)

        await dialer_redis.start()
        stopped = await collector.wait_for_status(ref, CampaignStatus.STOPPED)
        assert stopped.raw["reconciled"] is True
        assert dialer.listening

        await dialer.start(ref)  # and live packets flow again on the new subscription
        restarted = await collector.wait_for(
            lambda n: n.status is CampaignStatus.RUNNING and n.sequence > stopped.sequence
        )
        assert "reconciled" not in restarted.raw
