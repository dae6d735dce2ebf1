"""The limits replicas share through Redis (``state.limiter``), against the real Redis: fakeredis
runs no Lua, and on it the bot keeps its limits in memory (one process)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import fakeredis
import httpx
import pytest
from redis.asyncio import Redis

from commands.leads.store import UploadState
from dialer.errors import DialerRateLimited
from dialer.http import DialerHttp, Vendor
from dialer.limits import reported
from dialer.models import NewCampaign
from dialer.simulator import SimulatorDialer, SimulatorKnobs
from state.keys import Keys, UploadKeys
from state.limiter import PaceTimeout, RedisGcra, RedisLimits, RedisRollingWindow, shared_limits
from tests.conftest import REAL_REDIS_URL
from tests.e2e.harness import forget
from tests.test_leads_upload import (
    REF,
    RecordingReporter,
    ScriptedDialer,
    assert_exactly_once,
    leads,
    uploads_for,
)

pytestmark = pytest.mark.redis


@pytest.fixture
async def clients() -> AsyncIterator[list[Redis]]:
    """Three connections, as three replicas would have."""
    opened = [Redis.from_url(REAL_REDIS_URL) for _ in range(3)]
    yield opened
    for client in opened:
        await client.aclose()


@pytest.fixture
def key() -> str:
    return f"test:{uuid.uuid4().hex[:10]}:limit:dialer:calls"


async def _stamps(pacer: RedisGcra, calls: int) -> list[float]:
    stamps = []
    for _ in range(calls):
        await pacer.acquire()
        stamps.append(time.monotonic())
    return stamps


async def test_a_burst_goes_at_once_and_the_call_after_it_waits_its_turn(
    clients: list[Redis], key: str
) -> None:
    pacer = RedisGcra(clients[0], key, rate=0.1, burst=5, max_wait=5.0)
    for _ in range(5):
        await pacer.acquire()  # a wait would be 10 s, over max_wait: these went at once
    with pytest.raises(PaceTimeout):
        await pacer.acquire()


async def test_callers_on_several_connections_never_beat_the_average_rate(
    clients: list[Redis], key: str
) -> None:
    rate, burst, per_task = 40.0, 4, 6
    pacers = [RedisGcra(client, key, rate, burst=burst) for client in clients]
    runs = [_stamps(pacer, per_task) for pacer in pacers for _ in range(3)]
    stamps = sorted(s for run in await asyncio.gather(*runs) for s in run)
    assert len(stamps) == 3 * 3 * per_task
    # After the burst each call waits a full interval: n calls take at least (n - burst) / rate.
    for first in range(len(stamps)):
        for last in range(first + burst, len(stamps)):
            allowed_span = (last - first - burst + 1) / rate
            assert stamps[last] - stamps[first] >= allowed_span * 0.95, (first, last)


async def test_a_pause_holds_every_caller_off(clients: list[Redis], key: str) -> None:
    pacer = RedisGcra(clients[0], key, rate=100.0, burst=10, max_wait=1.0)
    other = RedisGcra(clients[1], key, rate=100.0, burst=10, max_wait=1.0)
    await pacer.pause(30.0)
    with pytest.raises(PaceTimeout):
        await other.acquire()


async def test_a_wait_longer_than_allowed_fails_at_once_naming_the_limit(
    clients: list[Redis], key: str
) -> None:
    pacer = RedisGcra(clients[0], key, rate=0.01, max_wait=2.0, name="voipbin:requests")
    await pacer.acquire()
    began = time.monotonic()
    with pytest.raises(PaceTimeout) as raised:
        await pacer.acquire()
    assert time.monotonic() - began < 2.0  # it did not sit out the wait first
    assert "'voipbin:requests' (0.01/s, burst 1)" in str(raised.value)
    assert raised.value.limit == "voipbin:requests"
    assert raised.value.retry_after > 2.0


async def test_a_call_that_would_wait_too_long_in_all_fails_and_takes_no_turn(
    clients: list[Redis], key: str
) -> None:
    pacer = RedisGcra(clients[0], key, rate=2.0, max_wait=0.7)
    await pacer.acquire()
    # Two more at once: the first goes 0.5 s later; the second, queued behind it, would go
    # 1 s after it asked...
    outcomes = await asyncio.gather(pacer.acquire(), pacer.acquire(), return_exceptions=True)
    assert [type(o).__name__ for o in outcomes] == ["NoneType", "PaceTimeout"]
    # ...and took no turn: the next one is 0.5 s off again, within the longest wait.
    await pacer.acquire()


async def test_an_idle_rate_limit_leaves_no_key(clients: list[Redis], key: str) -> None:
    pacer = RedisGcra(clients[0], key, rate=20.0, burst=2)
    await pacer.acquire()
    ttl = await clients[0].pttl(key)
    assert 0 < ttl <= 51  # lives until the next turn: one interval
    await asyncio.sleep(0.1)
    assert await clients[0].exists(key) == 0


async def test_the_window_lets_no_more_than_its_calls_into_any_window(
    clients: list[Redis], key: str
) -> None:
    window = 0.4
    limits = [RedisRollingWindow(client, key, 3, window) for client in clients]

    async def call(limit: RedisRollingWindow) -> float:
        async with limit.slot():
            return time.monotonic()

    starts = sorted(await asyncio.gather(*(call(limits[i % 3]) for i in range(10))))
    for first, fourth in zip(starts, starts[3:], strict=False):
        assert fourth - first >= window * 0.95


async def test_a_slot_counts_from_the_end_of_its_call(clients: list[Redis], key: str) -> None:
    limit = RedisRollingWindow(clients[0], key, 1, 0.3)
    async with limit.slot():
        await asyncio.sleep(0.2)
        ended = time.monotonic()
    async with limit.slot():
        began = time.monotonic()
    assert began - ended >= 0.3 * 0.95


async def test_a_full_window_refuses_a_wait_past_the_longest(
    clients: list[Redis], key: str
) -> None:
    limit = RedisRollingWindow(clients[0], key, 2, 60.0, max_wait=1.0, name="livevox:appends")
    other = RedisRollingWindow(clients[1], key, 2, 60.0, max_wait=1.0, name="livevox:appends")
    async with limit.slot():
        pass
    async with other.slot():
        pass
    with pytest.raises(PaceTimeout) as raised:
        async with limit.slot():
            pytest.fail("a third call got into a full window")
    assert "'livevox:appends' (2 per 60 s)" in str(raised.value)


async def test_an_idle_window_leaves_no_key(clients: list[Redis], key: str) -> None:
    limit = RedisRollingWindow(clients[0], key, 5, 0.1)
    async with limit.slot():
        pass
    assert 0 < await clients[0].pttl(key) <= 101
    await asyncio.sleep(0.2)
    assert await clients[0].exists(key) == 0


def test_a_limit_needs_a_positive_rate_burst_window_and_wait(clients: list[Redis]) -> None:
    with pytest.raises(ValueError, match=r"'voipbin:requests': rate is 0; each must be above"):
        RedisGcra(clients[0], "k", 0, name="voipbin:requests")
    with pytest.raises(ValueError, match="burst is 0"):
        RedisGcra(clients[0], "k", 1, burst=0)
    with pytest.raises(ValueError, match="max_wait is -1"):
        RedisGcra(clients[0], "k", 1, max_wait=-1)
    with pytest.raises(ValueError, match="max_calls is 0, window is 0"):
        RedisRollingWindow(clients[0], "k", 0, 0)


async def test_limits_live_in_redis_only_where_processes_can_share_them(
    clients: list[Redis],
) -> None:
    keys = Keys("test:x:")
    shared = shared_limits(clients[0], keys)
    assert isinstance(shared, RedisLimits)
    pacer = shared.rate("voipbin:requests", 16.7, burst=33)
    assert isinstance(pacer, RedisGcra) and pacer.key == keys.rate_limit("voipbin:requests")
    window = shared.window("livevox:appends", 5, 60)
    assert isinstance(window, RedisRollingWindow)
    assert window.key == keys.window_limit("livevox:appends")
    fake = fakeredis.FakeAsyncRedis()
    assert shared_limits(fake, keys) is None  # one process: the bot keeps its limits in memory
    await fake.aclose()


async def test_a_dialer_call_whose_turn_is_too_far_off_is_rate_limited_and_never_sent(
    clients: list[Redis], key: str
) -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    vendor = Vendor(name="voipbin", label="VoIPBIN", credentials="-", url_setting="-")
    pacer = RedisGcra(clients[0], key, rate=0.01, max_wait=1.0, name="voipbin:requests")
    transport = httpx.MockTransport(answer)
    async with httpx.AsyncClient(base_url="http://dialer.test/", transport=transport) as client:
        api = DialerHttp(client, vendor, pacer=pacer)
        await api.request("GET", "campaigns")
        with pytest.raises(DialerRateLimited) as raised:
            await api.request("GET", "campaigns")
    assert len(sent) == 1
    assert raised.value.dialer == "voipbin" and raised.value.retry_after is not None
    assert "VoIPBIN's rate limit" in str(raised.value) and "'voipbin:requests'" in str(raised.value)


async def test_a_full_append_window_is_rate_limited_but_a_call_s_own_timeout_is_its_own(
    clients: list[Redis], key: str
) -> None:
    window = RedisRollingWindow(clients[0], key, 1, 60.0, max_wait=1.0, name="livevox:appends")
    appends = reported(window, dialer="livevox", label="LiveVox")
    with pytest.raises(TimeoutError) as own:
        async with appends.slot():
            raise TimeoutError("the append itself timed out")
    assert not isinstance(own.value, DialerRateLimited)
    with pytest.raises(DialerRateLimited, match="LiveVox's rate limit"):
        async with appends.slot():
            pytest.fail("a second append got into a full window")


class _BookedOnce:
    """A shared pace that, the first time, is booked further ahead than a batch may wait."""

    def __init__(self) -> None:
        self.asked = 0

    async def acquire(self) -> None:
        self.asked += 1
        if self.asked == 1:
            raise PaceTimeout("booked", limit="simulator:upload", retry_after=0.01)

    async def pause(self, seconds: float) -> None:
        pass


async def test_an_upload_whose_turn_is_too_far_off_tries_the_batch_again(
    tmp_path: Path, clients: list[Redis]
) -> None:
    sim = SimulatorDialer(SimulatorKnobs(seed=1))
    await sim.create_campaign(NewCampaign(ref=REF, name="Booked"))
    dialer = ScriptedDialer(sim)
    upload_keys = UploadKeys(f"test:{uuid.uuid4().hex[:10]}:")
    uploads = uploads_for(clients[0], dialer, upload_keys)
    pace = uploads.limiter = _BookedOnce()
    summary = await uploads.start(REF, await leads(tmp_path, 30), RecordingReporter())
    assert summary.state is UploadState.COMPLETED
    assert_exactly_once(dialer, 30)
    assert pace.asked == dialer.calls + 1
    await forget(clients[0], upload_keys.prefix)
