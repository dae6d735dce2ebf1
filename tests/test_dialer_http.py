"""The dialer HTTP kit, one test per retry rule: what is resent, how long it waits, and which
layer retries a batch of leads. Sleeps and clocks are injected; nothing really waits."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import fakeredis
import httpx
import pytest
from redis.asyncio import Redis

from commands.leads.scan import validate_leads
from commands.leads.settings import LeadsSettings
from commands.leads.source import FileSource
from commands.leads.store import UploadState
from commands.leads.upload import LeadUploads
from dialer.errors import (
    CampaignConflict,
    CampaignNotFound,
    DialerAuthError,
    DialerError,
    DialerProtocolError,
    DialerRateLimited,
    DialerRejected,
    DialerUnavailable,
    NotFound,
)
from dialer.http import STATUS_ERRORS, DialerHttp, RateLimiter, RetryPolicy, Vendor, error_for
from dialer.voipbin import VoipbinDialer, VoipbinSettings
from state.keys import Keys, UploadKeys
from tests.contract.dialer_contract import contacts_for, new_campaign
from tests.fake_clock import FakeClock
from tests.standins.voipbin import VoipbinStandin

VENDOR = Vendor(name="test", label="TestDialer", credentials="check X", url_setting="X_URL")
Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def kit(handler: Handler, recorder: Recorder, **policy: Any) -> DialerHttp:
    client = httpx.AsyncClient(
        base_url="http://dialer.test/", transport=httpx.MockTransport(handler)
    )
    return DialerHttp(
        client, VENDOR, policy=RetryPolicy(**policy), sleep=recorder.sleep, rng=lambda: 1.0
    )


def answers(*responses: httpx.Response) -> tuple[Handler, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses[min(len(seen), len(responses)) - 1]

    return handle, seen


# -- Retry-After ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_30_is_waited_out_in_full(status: int) -> None:
    asked = httpx.Response(status, headers={"Retry-After": "30"})
    handler, seen = answers(asked, httpx.Response(200, json={"ok": True}))
    recorder = Recorder()
    answer = await kit(handler, recorder, backoff_max_seconds=10).request("GET", "campaigns")
    assert answer == {"ok": True}
    assert recorder.sleeps == [30.0]  # not capped at the backoff's 10 s
    assert len(seen) == 2


async def test_a_retry_after_beyond_the_maximum_fails_at_once_carrying_it() -> None:
    handler, seen = answers(httpx.Response(429, headers={"Retry-After": "120"}))
    recorder = Recorder()
    with pytest.raises(DialerUnavailable) as raised:
        await kit(handler, recorder, retry_after_max_seconds=60).request("GET", "campaigns")
    assert isinstance(raised.value, DialerRateLimited)
    assert raised.value.retry_after == 120.0
    assert "120 s" in str(raised.value)  # what the lead is told
    assert (len(seen), recorder.sleeps) == (1, [])


async def test_without_retry_after_the_backoff_is_exponential_with_jitter() -> None:
    handler, _ = answers(httpx.Response(502))
    recorder = Recorder()
    client = kit(handler, recorder, retries=4, backoff_seconds=0.5, backoff_max_seconds=3)
    with pytest.raises(DialerUnavailable):
        await client.request("GET", "campaigns")
    assert recorder.sleeps == [0.5, 1.0, 2.0, 3.0]


# -- what is resent ---------------------------------------------------------------------------


async def test_a_post_that_timed_out_is_not_resent_without_a_check() -> None:
    seen: list[httpx.Request] = []

    def time_out(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(DialerUnavailable, match="may or may not have been applied"):
        await kit(time_out, Recorder()).request("POST", "campaigns", json={})
    assert len(seen) == 1


async def test_a_post_never_sent_or_refused_with_429_is_resent() -> None:
    calls: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        if len(calls) == 2:
            return httpx.Response(429)
        return httpx.Response(201, json={"id": "c1"})

    assert await kit(flaky, Recorder()).request("POST", "campaigns", json={}) == {"id": "c1"}
    assert len(calls) == 3


async def test_a_post_whose_answer_was_a_5xx_is_looked_for_before_it_is_resent() -> None:
    handler, seen = answers(httpx.Response(500), httpx.Response(201, json={"id": "new"}))
    looks: list[int] = []

    async def nothing_there() -> None:
        looks.append(1)

    answer = await kit(handler, Recorder()).request(
        "POST", "campaigns", json={}, find_existing=nothing_there
    )
    assert (answer, len(looks), len(seen)) == ({"id": "new"}, 1, 2)

    async def found() -> dict[str, str]:
        return {"id": "made"}

    handler, seen = answers(httpx.Response(500))
    answer = await kit(handler, Recorder()).request(
        "POST", "campaigns", json={}, find_existing=found
    )
    assert (answer, len(seen)) == ({"id": "made"}, 1)


class LosesTheAnswer(httpx.AsyncBaseTransport):
    """Passes requests to the stand-in, but the answer to the next matching one never arrives:
    the stand-in has done the work, the client sees a read timeout."""

    def __init__(self, method: str, path_suffix: str) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._method, self._suffix = method, path_suffix
        self.armed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if (
            self.armed
            and request.method == self._method
            and request.url.path.endswith(self._suffix)
        ):
            self.armed = False
            await response.aread()
            await response.aclose()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
async def standin() -> AsyncIterator[VoipbinStandin]:
    async with VoipbinStandin() as running:
        yield running
        await running.quiesce()
    running.assert_clean()


def voipbin(standin: VoipbinStandin, transport: httpx.AsyncBaseTransport | None) -> VoipbinDialer:
    settings = VoipbinSettings(
        api_url=standin.api_url,
        accesskey=standin.accesskey,
        requests_per_second=1000,
        backoff_seconds=0.001,
        max_retries=2,
    )
    return VoipbinDialer(settings, fakeredis.FakeAsyncRedis(), transport=transport)


def posts(standin: VoipbinStandin, suffix: str) -> int:
    return sum(1 for r in standin.requests if r.method == "POST" and r.path.endswith(suffix))


async def test_a_voipbin_target_post_that_timed_out_makes_no_duplicate(
    standin: VoipbinStandin,
) -> None:
    lossy = LosesTheAnswer("POST", "/targets")
    dialer = voipbin(standin, lossy)
    try:
        spec = new_campaign()
        created = await dialer.create_campaign(spec)
        lossy.armed = True
        await dialer.add_contacts(spec.ref, contacts_for(spec.ref, 3))
    finally:
        await dialer.aclose()
    outdial = standin.campaign(created.dialer_id)["outdial_id"]
    names = sorted(t["name"] for t in standin.targets_of(outdial))
    assert names == [f"{spec.ref}-{n}" for n in (1, 2, 3)]  # found, not made twice
    assert posts(standin, "/targets") == 3


async def test_a_voipbin_setup_post_that_timed_out_is_not_resent(standin: VoipbinStandin) -> None:
    lossy = LosesTheAnswer("POST", "/outplans")
    lossy.armed = True
    dialer = voipbin(standin, lossy)
    try:
        with pytest.raises(DialerUnavailable, match="did not answer in time"):
            await dialer.create_campaign(new_campaign())
    finally:
        await dialer.aclose()
    assert posts(standin, "/outplans") == 1


# -- one layer retries a batch ----------------------------------------------------------------


async def test_a_failing_batch_is_retried_by_the_upload_only(
    tmp_path: Path, standin: VoipbinStandin, redis: Redis, keys: Keys
) -> None:
    """The kit would retry a 503 twice (``max_retries=2``) and the upload tries a batch three
    times: one layer only means three requests, not nine."""
    dialer = voipbin(standin, None)
    settings = LeadsSettings(
        upload_backoff_seconds=0.001, upload_backoff_max_seconds=0.01, upload_max_attempts=3
    )
    path = tmp_path / "leads.csv"
    path.write_text("name,phone\nAda,+14155550101\n")
    report = await validate_leads(FileSource(path), settings)
    spec = new_campaign()
    try:
        await dialer.create_campaign(spec)
        standin.fail_next(50, status=503, operation="POST /outdials/{id}/targets")
        uploads = LeadUploads(
            redis, dialer, FileSource.open, settings, keys=UploadKeys(keys.prefix)
        )

        class Quiet:
            async def report(self, progress: object) -> None: ...

            async def finish(self, summary: object) -> None: ...

        summary = await uploads.start(spec.ref, report, Quiet())
    finally:
        await dialer.aclose()
    assert summary.state is UploadState.FAILED
    assert "3 tries" in (summary.error or "")
    assert posts(standin, "/targets") == 3


# -- the status table and the pacer -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, DialerRejected),
        (401, DialerAuthError),
        (403, DialerAuthError),
        (404, CampaignNotFound),
        (409, CampaignConflict),
        (422, DialerRejected),
        (429, DialerRateLimited),
        (500, DialerUnavailable),
        (504, DialerUnavailable),
        (418, DialerRejected),
        (302, DialerProtocolError),
    ],
)
def test_one_table_maps_every_status(status: int, kind: type[DialerError]) -> None:
    error = error_for(VENDOR, httpx.Response(status), "start c-1")
    assert type(error) is kind
    assert error.dialer == "test" and "TestDialer" in str(error) and "start c-1" in str(error)
    assert STATUS_ERRORS.get(status, kind) is kind


def test_a_404_can_be_about_something_other_than_a_campaign() -> None:
    error = error_for(VENDOR, httpx.Response(404), "GET /agents/a1", not_found=NotFound)
    assert type(error) is NotFound and "/agents/a1" in str(error)


async def test_the_pacer_spaces_calls_allows_a_burst_and_pauses() -> None:
    clock = FakeClock()
    pacer = RateLimiter(4, burst=2, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        await pacer.acquire()
    assert clock.sleeps == [0.25, 0.25]
    await pacer.pause(5.0)
    await pacer.acquire()
    assert clock.sleeps[-1] == 5.0
