"""The dialer HTTP kit's retry policy, rule by rule: how often, how long, and what is resent.
Sleeps and randomness are injected; nothing really waits."""

from __future__ import annotations

import time
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from dialer.errors import CampaignNotFound, DialerRejected, DialerUnavailable, NotFound
from dialer.http import (
    DialerHttp,
    RetryPolicy,
    Vendor,
    backoff,
    retried_by_caller,
    retry_after_of,
)

VENDOR = Vendor(name="test", label="TestDialer", credentials="check X", url_setting="X_URL")


class Calls:
    """A dialer answering from a script: a status code, or an exception to raise."""

    def __init__(self, *script: int | type[httpx.TransportError]) -> None:
        self.script = list(script)
        self.seen: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        step = self.script[min(len(self.seen), len(self.script)) - 1]
        if isinstance(step, int):
            return httpx.Response(step, json={"n": len(self.seen)} if step < 300 else None)
        raise step("scripted", request=request)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def kit(self, **policy: Any) -> DialerHttp:
        client = httpx.AsyncClient(
            base_url="http://dialer.test/", transport=httpx.MockTransport(self.handle)
        )
        return DialerHttp(
            client, VENDOR, policy=RetryPolicy(**policy), sleep=self.sleep, rng=lambda: 1.0
        )


def response(headers: dict[str, str]) -> httpx.Response:
    return httpx.Response(429, headers=headers)


def test_retry_after_in_seconds_is_read_and_never_negative() -> None:
    assert retry_after_of(response({"Retry-After": "7"})) == 7.0
    assert retry_after_of(response({"Retry-After": "-3"})) == 0.0
    assert retry_after_of(response({"Retry-After": "0"})) == 0.0


def test_retry_after_as_an_http_date_is_the_time_until_it() -> None:
    later = formatdate(time.time() + 120, usegmt=True)
    assert 110 < (retry_after_of(response({"Retry-After": later})) or 0) <= 120
    past = formatdate(time.time() - 120, usegmt=True)
    assert retry_after_of(response({"Retry-After": past})) == 0.0


def test_a_missing_or_unreadable_retry_after_is_none() -> None:
    assert retry_after_of(response({})) is None
    assert retry_after_of(response({"Retry-After": "soon"})) is None


def test_backoff_is_full_jitter_up_to_the_cap() -> None:
    assert backoff(0, base=0.5, cap=10, rng=lambda: 1.0) == 0.5
    assert backoff(3, base=0.5, cap=10, rng=lambda: 1.0) == 4.0
    assert backoff(5, base=0.5, cap=10, rng=lambda: 1.0) == 10.0
    assert backoff(3, base=0.5, cap=10, rng=lambda: 0.25) == 1.0


def test_a_retry_after_is_waited_as_given_even_zero() -> None:
    policy = RetryPolicy(backoff_seconds=0.5)
    assert policy.delay(2, 0.0, lambda: 1.0) == 0.0
    assert policy.delay(2, 42.0, lambda: 1.0) == 42.0
    assert policy.delay(2, None, lambda: 1.0) == 2.0


def test_the_default_policy() -> None:
    policy = RetryPolicy()
    assert (policy.retries, policy.backoff_seconds, policy.backoff_max_seconds) == (3, 0.5, 10.0)
    assert policy.retry_after_max_seconds == 60.0


async def test_retries_are_the_extra_attempts_after_the_first() -> None:
    calls = Calls(503)
    with pytest.raises(DialerUnavailable):
        await calls.kit(retries=2).request("GET", "campaigns")
    assert len(calls.seen) == 3
    assert calls.sleeps == [0.5, 1.0]


async def test_a_success_after_failures_is_the_answer() -> None:
    calls = Calls(503, 503, 200)
    assert await calls.kit().request("GET", "campaigns") == {"n": 3}


async def test_within_retried_by_caller_each_request_is_tried_once() -> None:
    calls = Calls(503)
    kit = calls.kit()
    with retried_by_caller(), pytest.raises(DialerUnavailable):
        await kit.request("GET", "campaigns")
    assert len(calls.seen) == 1
    calls.script = [503, 200]
    calls.seen.clear()
    assert await kit.request("GET", "campaigns") == {"n": 2}  # outside: retried again


async def test_a_refusal_is_not_retried() -> None:
    calls = Calls(400)
    with pytest.raises(DialerRejected):
        await calls.kit().request("GET", "campaigns")
    assert len(calls.seen) == 1 and calls.sleeps == []


async def test_a_retry_after_at_the_maximum_is_still_waited_out() -> None:
    sleeps: list[float] = []
    answers = [httpx.Response(429, headers={"Retry-After": "60"}), httpx.Response(200, json={})]

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    client = httpx.AsyncClient(
        base_url="http://dialer.test/", transport=httpx.MockTransport(lambda _: answers.pop(0))
    )
    kit = DialerHttp(client, VENDOR, policy=RetryPolicy(), sleep=sleep, rng=lambda: 1.0)
    assert await kit.request("GET", "campaigns") == {}
    assert sleeps == [60.0]


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "get"])
async def test_safe_methods_are_resent_after_a_timeout(method: str) -> None:
    calls = Calls(httpx.ReadTimeout, 200)
    assert await calls.kit().request(method, "campaigns/1") == {"n": 2}


async def test_a_post_marked_safe_is_resent_and_a_put_marked_unsafe_is_not() -> None:
    calls = Calls(httpx.ReadTimeout, 200)
    assert await calls.kit().request("POST", "search", safe=True) == {"n": 2}
    calls = Calls(httpx.ReadTimeout, 200)
    with pytest.raises(DialerUnavailable):
        await calls.kit().request("PUT", "append", safe=False)
    assert len(calls.seen) == 1


async def test_a_post_refused_before_it_left_is_resent_without_a_check() -> None:
    calls = Calls(httpx.ConnectTimeout, httpx.PoolTimeout, 201)
    assert await calls.kit().request("POST", "campaigns", json={}) == {"n": 3}


async def test_a_post_that_may_have_arrived_is_looked_for_after_the_wait() -> None:
    calls = Calls(500, 500, 201)
    looks: list[int] = []

    async def nothing_yet() -> None:
        looks.append(len(calls.sleeps))

    answer = await calls.kit().request("POST", "campaigns", json={}, find_existing=nothing_yet)
    assert answer == {"n": 3}
    assert looks == [1, 2]  # after each wait, before each resend


async def test_a_404_after_an_attempt_of_unknown_outcome_means_done_when_gone_is_done() -> None:
    calls = Calls(httpx.ReadTimeout, 404)
    assert await calls.kit().request("DELETE", "campaigns/1", gone_is_done=True) is None
    calls = Calls(404)
    with pytest.raises(CampaignNotFound):
        await calls.kit().request("DELETE", "campaigns/1", gone_is_done=True)
    calls = Calls(httpx.ReadTimeout, 404)
    with pytest.raises(CampaignNotFound):
        await calls.kit().request("DELETE", "campaigns/1")


async def test_a_404_can_be_told_what_it_is_about() -> None:
    class NoSuchList(NotFound, DialerRejected):
        pass

    calls = Calls(404)
    with pytest.raises(NoSuchList):
        await calls.kit().request("GET", "lists/1", not_found=NoSuchList)


async def test_every_attempt_waits_for_the_pacer() -> None:
    calls = Calls(503, 200)
    kit = calls.kit()
    acquired: list[int] = []

    class Pacer:
        async def acquire(self) -> None:
            acquired.append(1)

    kit.pacer = Pacer()  # type: ignore[assignment]
    await kit.request("GET", "campaigns")
    assert len(acquired) == 2


async def test_an_error_names_the_request_when_no_action_is_given() -> None:
    calls = Calls(400)
    with pytest.raises(DialerRejected) as refused:
        await calls.kit().request("get", "campaigns/7")
    assert "GET campaigns/7" in str(refused.value)
    calls = Calls(400)
    with pytest.raises(DialerRejected) as named:
        await calls.kit().request("GET", "campaigns/7", action="reading the campaign")
    assert "reading the campaign" in str(named.value)
