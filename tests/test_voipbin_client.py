"""The VoIPBIN HTTP client: error bodies, pacing, retries, auth and pagination.

VoIPBIN is played by small ``httpx.MockTransport`` handlers; sleeps are recorded, not waited.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from dialer.errors import (
    CampaignConflict,
    CampaignNotFound,
    DialerAuthError,
    DialerError,
    DialerProtocolError,
    DialerRateLimited,
    DialerRejected,
    DialerUnavailable,
)
from dialer.voipbin.client import NotFound, RateLimiter, VoipbinClient
from dialer.voipbin.settings import VoipbinSettings
from tests.fake_clock import FakeClock

Handler = Callable[[httpx.Request], httpx.Response]


def error(status: int, canonical: str, reason: str, message: str = "") -> httpx.Response:
    body = {"error": {"status": canonical, "reason": reason, "message": message, "request_id": "r"}}
    return httpx.Response(status, json=body)


class Recorder:
    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def client(handler: Handler, recorder: Recorder | None = None, **overrides: Any) -> VoipbinClient:
    values: dict[str, Any] = {
        "api_url": "https://voipbin.test/v1.0",
        "accesskey": "key-1",
        "requests_per_second": 1000,
        "max_retries": 3,
        "backoff_seconds": 0.5,
        "backoff_max_seconds": 4,
        **overrides,
    }
    return VoipbinClient(
        VoipbinSettings(**values),
        transport=httpx.MockTransport(handler),
        sleep=(recorder or Recorder()).sleep,
        rng=lambda: 1.0,  # the top of each jittered backoff, so the waits can be compared
    )


def responses(*answers: httpx.Response) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering in order (the last answer repeats), and the requests it saw."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1]

    return handle, seen


# -- error bodies --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "path", "expected", "hint"),
    [
        (
            error(400, "INVALID_ARGUMENT", "INVALID_NAME", "name empty"),
            "/tags",
            DialerRejected,
            "name empty",
        ),
        (
            error(401, "UNAUTHENTICATED", "TOKEN_EXPIRED"),
            "/campaigns",
            DialerAuthError,
            "VOIPBIN_ACCESSKEY",
        ),
        (error(402, "PAYMENT_REQUIRED", "BALANCE"), "/campaigns", DialerRejected, "topped up"),
        (
            error(403, "PERMISSION_DENIED", "NO_PERMISSION"),
            "/campaigns",
            DialerAuthError,
            "permission",
        ),
        (
            error(404, "NOT_FOUND", "CAMPAIGN_NOT_FOUND"),
            "/campaigns/c1",
            CampaignNotFound,
            "no such campaign",
        ),
        (error(404, "NOT_FOUND", "AGENT_NOT_FOUND"), "/agents/a1", NotFound, "/agents/a1"),
        (
            error(409, "FAILED_PRECONDITION", "CAMPAIGN_RUNNING"),
            "/campaigns/c1",
            CampaignConflict,
            "CAMPAIGN_RUNNING",
        ),
        (
            error(400, "FAILED_PRECONDITION", "WRONG_STATUS"),
            "/campaigns/c1/status",
            CampaignConflict,
            "WRONG_STATUS",
        ),
        (error(500, "INTERNAL", "DB_DOWN"), "/campaigns", DialerUnavailable, "try again"),
        (
            httpx.Response(502, text="<html>bad gateway</html>"),
            "/campaigns",
            DialerUnavailable,
            "HTTP 502",
        ),
    ],
)
async def test_error_bodies_become_errors_a_team_lead_can_act_on(
    response: httpx.Response, path: str, expected: type[DialerError], hint: str
) -> None:
    api = client(responses(response)[0], max_retries=0)
    with pytest.raises(expected) as raised:
        await api.request("GET", path)
    assert type(raised.value) is expected
    assert hint in str(raised.value)
    assert raised.value.dialer == "voipbin"


async def test_a_success_that_is_not_json_is_a_protocol_error() -> None:
    api = client(responses(httpx.Response(200, text="<html>"))[0])
    with pytest.raises(DialerProtocolError):
        await api.request("GET", "/campaigns")


async def test_an_unreachable_voipbin_is_unavailable_after_the_retries() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    recorder = Recorder()
    with pytest.raises(DialerUnavailable, match="could not be reached"):
        await client(refuse, recorder).request("GET", "/campaigns")
    assert recorder.sleeps == [0.5, 1.0, 2.0]


# -- retries -------------------------------------------------------------------------------


async def test_429_waits_for_retry_after_then_succeeds() -> None:
    limited = error(429, "RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED")
    limited.headers["Retry-After"] = "3"
    handler, seen = responses(limited, httpx.Response(200, json={"id": "c1"}))
    recorder = Recorder()
    assert await client(handler, recorder).request("GET", "/campaigns/c1") == {"id": "c1"}
    assert recorder.sleeps == [3.0]
    assert len(seen) == 2


async def test_429_without_retry_after_backs_off_exponentially() -> None:
    limited = error(429, "RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED")
    handler, _ = responses(limited, limited, httpx.Response(200, json={}))
    recorder = Recorder()
    await client(handler, recorder).request("GET", "/campaigns")
    assert recorder.sleeps == [0.5, 1.0]


async def test_5xx_is_retried_with_backoff() -> None:
    handler, seen = responses(
        error(503, "UNAVAILABLE", "MAINTENANCE"),
        error(500, "INTERNAL", "OOPS"),
        httpx.Response(200, json={"ok": True}),
    )
    recorder = Recorder()
    assert await client(handler, recorder).request("PUT", "/campaigns/c1/status") == {"ok": True}
    assert recorder.sleeps == [0.5, 1.0]
    assert len(seen) == 3


async def test_gives_up_after_max_retries_with_the_last_error() -> None:
    limited = error(429, "RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED")
    limited.headers["Retry-After"] = "2"
    handler, seen = responses(limited)
    recorder = Recorder()
    with pytest.raises(DialerRateLimited) as raised:
        await client(handler, recorder, max_retries=2).request("GET", "/campaigns")
    assert raised.value.retry_after == 2.0
    assert len(seen) == 3
    assert recorder.sleeps == [2.0, 2.0]


async def test_backoff_is_capped() -> None:
    handler, _ = responses(error(500, "INTERNAL", "OOPS"))
    recorder = Recorder()
    with pytest.raises(DialerUnavailable):
        await client(handler, recorder, max_retries=5).request("GET", "/campaigns")
    assert recorder.sleeps == [0.5, 1.0, 2.0, 4.0, 4.0]


async def test_a_post_that_may_have_arrived_is_not_sent_twice() -> None:
    seen: list[httpx.Request] = []

    def time_out(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(DialerUnavailable, match="did not answer in time"):
        await client(time_out).request("POST", "/outdials/o1/targets", json={"name": "x"})
    assert len(seen) == 1


async def test_a_read_timeout_on_a_get_is_retried() -> None:
    seen: list[httpx.Request] = []

    def slow_once(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, json={"id": "c1"})

    assert await client(slow_once).request("GET", "/campaigns/c1") == {"id": "c1"}


async def test_4xx_is_not_retried() -> None:
    handler, seen = responses(error(400, "INVALID_ARGUMENT", "BAD"))
    with pytest.raises(DialerRejected):
        await client(handler).request("POST", "/campaigns", json={})
    assert len(seen) == 1


# -- pacing --------------------------------------------------------------------------------


async def test_rate_limiter_spaces_requests_evenly() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        await limiter.acquire()
    assert clock.sleeps == [0.25, 0.25, 0.25, 0.25]


async def test_rate_limiter_lets_a_request_through_at_once_after_a_pause() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4, clock=clock, sleep=clock.sleep)
    await limiter.acquire()
    clock.now += 10
    await limiter.acquire()
    assert clock.sleeps == []


async def test_every_request_goes_through_the_limiter() -> None:
    clock = FakeClock()
    handler, _ = responses(httpx.Response(200, json={}))
    api = VoipbinClient(
        VoipbinSettings(api_url="https://voipbin.test/v1.0", accesskey="k"),
        transport=httpx.MockTransport(handler),
        limiter=RateLimiter(2, clock=clock, sleep=clock.sleep),
    )
    for _ in range(3):
        await api.request("GET", "/campaigns")
    assert clock.sleeps == [0.5, 0.5]


# -- auth ----------------------------------------------------------------------------------


async def test_accesskey_goes_in_the_query() -> None:
    handler, seen = responses(httpx.Response(200, json={}))
    await client(handler).request("GET", "/campaigns/c1")
    assert seen[0].url.params["accesskey"] == "key-1"
    assert "authorization" not in seen[0].headers
    assert seen[0].url.path == "/v1.0/campaigns/c1"


class JwtVoipbin:
    """Issues tokens at ``/auth/login``; the first token it issued stops working on demand."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.api_calls: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/auth/login":
            credentials = json.loads(request.content)
            if credentials != {"username": "lead", "password": "pw"}:
                return error(401, "UNAUTHENTICATED", "BAD_LOGIN")
            self.issued.append(f"jwt-{len(self.issued) + 1}")
            return httpx.Response(200, json={"username": "lead", "token": self.issued[-1]})
        self.api_calls.append(request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.issued or token in self.revoked:
            return error(401, "UNAUTHENTICATED", "TOKEN_EXPIRED")
        return httpx.Response(200, json={"token": token})


def jwt_client(voipbin: JwtVoipbin, password: str = "pw") -> VoipbinClient:
    return client(voipbin, accesskey=None, username="lead", password=password)


async def test_jwt_is_obtained_by_login_and_sent_as_bearer() -> None:
    voipbin = JwtVoipbin()
    api = jwt_client(voipbin)
    assert await api.request("GET", "/campaigns") == {"token": "jwt-1"}
    await api.request("GET", "/campaigns")
    assert voipbin.issued == ["jwt-1"]
    assert "accesskey" not in voipbin.api_calls[0].url.params


async def test_an_expired_jwt_is_renewed_once_and_the_request_repeated() -> None:
    voipbin = JwtVoipbin()
    api = jwt_client(voipbin)
    await api.request("GET", "/campaigns")
    voipbin.revoked.add("jwt-1")
    assert await api.request("GET", "/campaigns") == {"token": "jwt-2"}


async def test_a_refused_login_is_an_auth_error_naming_the_settings() -> None:
    with pytest.raises(DialerAuthError, match="VOIPBIN_USERNAME"):
        await jwt_client(JwtVoipbin(), password="wrong").request("GET", "/campaigns")


def test_login_url_sits_beside_the_versioned_api() -> None:
    settings = VoipbinSettings(username="u", password="p")
    assert settings.resolved_login_url() == "https://api.voipbin.net/auth/login"
    local = VoipbinSettings(api_url="http://127.0.0.1:8080/v1.0/", username="u", password="p")
    assert local.resolved_login_url() == "http://127.0.0.1:8080/auth/login"


def test_settings_refuse_to_start_without_credentials() -> None:
    with pytest.raises(ValueError, match="VOIPBIN_ACCESSKEY"):
        VoipbinSettings(accesskey=None, username=None, password=None)


# -- pagination ----------------------------------------------------------------------------


def paged(pages: list[list[str]]) -> tuple[Handler, list[httpx.Request]]:
    """Pages of ids; each page's token is its index, then an empty page."""
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        token = request.url.params.get("page_token")
        index = int(token) + 1 if token else 0
        items = pages[index] if index < len(pages) else []
        body = {"result": [{"id": i} for i in items], "next_page_token": str(index)}
        return httpx.Response(200, json=body)

    return handle, seen


async def test_pagination_follows_next_page_token_until_an_empty_page() -> None:
    handler, seen = paged([["a", "b"], ["c"], ["d"]])
    items = [item["id"] async for item in client(handler).paginate("/campaigns")]
    assert items == ["a", "b", "c", "d"]
    assert [r.url.params.get("page_token") for r in seen] == [None, "0", "1", "2"]
    assert {r.url.params["page_size"] for r in seen} == {"100"}


async def test_pagination_stops_at_once_on_an_empty_first_page() -> None:
    handler, seen = paged([])
    assert [item async for item in client(handler).paginate("/campaigns")] == []
    assert len(seen) == 1


async def test_pagination_stops_when_voipbin_repeats_a_cursor() -> None:
    def same_page(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"result": [{"id": "a"}], "next_page_token": "t"})

    items = [item async for item in client(same_page).paginate("/campaigns")]
    assert items == [{"id": "a"}, {"id": "a"}]


async def test_pagination_keeps_filters_on_every_page() -> None:
    handler, seen = paged([["a"], ["b"]])
    _ = [i async for i in client(handler).paginate("/agents", {"tag_ids": "t1"})]
    assert {r.url.params["tag_ids"] for r in seen} == {"t1"}


async def test_a_post_that_timed_out_is_looked_for_and_what_is_found_is_the_answer() -> None:
    seen: list[httpx.Request] = []

    def time_out(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadTimeout("slow", request=request)

    async def found() -> dict[str, str]:
        return {"id": "t-1"}

    answer = await client(time_out).request(
        "POST", "/outdials/o1/targets", json={"name": "x"}, find_existing=found
    )
    assert answer == {"id": "t-1"}
    assert len(seen) == 1


async def test_a_post_is_resent_only_when_nothing_was_found() -> None:
    handler, seen = responses(
        error(504, "UNAVAILABLE", "GATEWAY"), httpx.Response(200, json={"id": "c1"})
    )
    looked: list[int] = []

    async def nothing() -> None:
        looked.append(1)

    answer = await client(handler).request("POST", "/campaigns", json={}, find_existing=nothing)
    assert answer == {"id": "c1"}
    assert (len(seen), len(looked)) == (2, 1)


async def test_a_post_answered_5xx_is_not_resent_without_a_way_to_look() -> None:
    handler, seen = responses(error(500, "INTERNAL", "OOPS"), httpx.Response(200, json={}))
    with pytest.raises(DialerUnavailable):
        await client(handler).request("POST", "/tags", json={})
    assert len(seen) == 1


async def test_a_post_refused_with_429_is_resent() -> None:
    handler, seen = responses(
        error(429, "RESOURCE_EXHAUSTED", "RATE_LIMIT_EXCEEDED"),
        httpx.Response(200, json={"id": "x"}),
    )
    assert await client(handler).request("POST", "/tags", json={}) == {"id": "x"}
    assert len(seen) == 2
