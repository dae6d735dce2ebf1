"""Enigma's HTTP failures become the bot's error tree, with retries where they are safe."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from dialer.enigma import EnigmaDialer, EnigmaSettings
from dialer.enigma.http import error_for_response, error_for_transport
from dialer.errors import (
    CampaignConflict,
    CampaignNotFound,
    DialerAuthError,
    DialerError,
    DialerProtocolError,
    DialerRateLimited,
    DialerRejected,
    DialerUnavailable,
    DuplicateContact,
)
from state.domain import AgentAssignment, AgentDefaultState
from tests.conftest import REAL_REDIS_URL
from tests.contract.dialer_contract import contacts_for, new_campaign
from tests.standins.enigma import EnigmaStandIn, running_enigma


def fast_settings(api_url: str, **overrides: Any) -> EnigmaSettings:
    """Two quick retries, so failure paths take milliseconds."""
    return EnigmaSettings(api_url=api_url, retry_backoff_seconds=0.01, retries=2, **overrides)


def answer(status: int, code: str | None = None, message: str | None = None) -> httpx.Response:
    body = {"error": {"code": code, "message": message}} if code or message else None
    return httpx.Response(status, json=body)


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (answer(401), DialerAuthError),
        (answer(403), DialerAuthError),
        (answer(404, "campaign_not_found"), CampaignNotFound),
        (answer(409, "duplicate_contact"), DuplicateContact),
        (answer(409, "campaign_not_stopped"), CampaignConflict),
        (answer(400, "invalid_request"), DialerRejected),
        (answer(422), DialerRejected),
        (answer(429), DialerRateLimited),
        (answer(500), DialerUnavailable),
        (answer(503), DialerUnavailable),
        (answer(302), DialerProtocolError),
    ],
)
def test_each_http_status_maps_onto_the_error_tree(
    response: httpx.Response, error: type[DialerError]
) -> None:
    mapped = error_for_response(response, "start campaign c-1")
    assert type(mapped) is error
    assert mapped.dialer == "enigma"


def test_the_message_says_what_was_asked_and_what_enigma_said() -> None:
    error = error_for_response(
        answer(409, "campaign_not_stopped", "campaign is started"), "delete campaign c-1"
    )
    assert "delete campaign c-1" in str(error)
    assert "campaign is started" in str(error)


def test_an_auth_failure_points_at_the_api_key_setting() -> None:
    assert "ENIGMA_API_KEY" in str(error_for_response(answer(401), "list campaigns"))


def test_a_rate_limit_carries_retry_after() -> None:
    response = httpx.Response(429, headers={"Retry-After": "7"})
    error = error_for_response(response, "list campaigns")
    assert isinstance(error, DialerRateLimited)
    assert error.retry_after == 7.0


def test_a_timeout_is_reported_as_unavailable_with_advice() -> None:
    error = error_for_transport(httpx.ReadTimeout("slow"), "delete campaign c-1")
    assert "did not answer in time" in str(error)
    assert "may not have been applied" in str(error)


@pytest.fixture
async def standin() -> AsyncIterator[EnigmaStandIn]:
    prefix = f"test:{uuid.uuid4().hex[:10]}:enigma:notifications:"
    async with running_enigma(REAL_REDIS_URL, prefix) as running:
        yield running


@pytest.fixture
async def dialer(standin: EnigmaStandIn) -> AsyncIterator[EnigmaDialer]:
    adapter = EnigmaDialer(fast_settings(standin.url))
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def impatient(standin: EnigmaStandIn) -> AsyncIterator[EnigmaDialer]:
    """An adapter that gives up on an answer after 0.3 s."""
    adapter = EnigmaDialer(fast_settings(standin.url, timeout_seconds=0.3))
    yield adapter
    await adapter.aclose()


def gets(standin: EnigmaStandIn) -> int:
    return sum(1 for method, _, _ in standin.requests if method == "GET")


async def test_a_read_is_retried_through_passing_5xx(
    standin: EnigmaStandIn, dialer: EnigmaDialer
) -> None:
    standin.fail_next(2, status=503)
    assert await dialer.list_campaigns() == []
    assert gets(standin) == 3


async def test_a_read_gives_up_after_the_retries_with_the_http_error_as_cause(
    standin: EnigmaStandIn, dialer: EnigmaDialer
) -> None:
    standin.fail_next(10, status=502)
    with pytest.raises(DialerUnavailable) as raised:
        await dialer.list_campaigns()
    assert isinstance(raised.value.__cause__, httpx.HTTPStatusError)
    assert gets(standin) == 3


async def test_an_upload_is_not_repeated_after_a_5xx_since_it_may_have_landed(
    standin: EnigmaStandIn, dialer: EnigmaDialer
) -> None:
    spec = new_campaign()
    await dialer.create_campaign(spec)
    standin.fail_next(1, status=500)
    with pytest.raises(DialerUnavailable):
        await dialer.add_contacts(spec.ref, contacts_for(spec.ref, 3))
    assert [m for m, path, _ in standin.requests if path.endswith("/contacts")] == ["POST"]


async def test_a_rate_limited_create_is_retried(
    standin: EnigmaStandIn, dialer: EnigmaDialer
) -> None:
    standin.fail_next(1, status=429)
    spec = new_campaign()
    assert (await dialer.create_campaign(spec)).ref == spec.ref


async def test_a_read_that_times_out_every_time_is_unavailable(
    standin: EnigmaStandIn, impatient: EnigmaDialer
) -> None:
    standin.stall_next(3, seconds=0.8)
    with pytest.raises(DialerUnavailable, match="did not answer in time") as raised:
        await impatient.list_campaigns()
    assert isinstance(raised.value.__cause__, httpx.TimeoutException)


async def test_a_delete_whose_answer_was_lost_counts_as_done_when_the_retry_finds_it_gone(
    standin: EnigmaStandIn, dialer: EnigmaDialer, impatient: EnigmaDialer
) -> None:
    created = await dialer.create_campaign(new_campaign())
    standin.stall_next(1, seconds=0.8)  # Enigma deletes it, but answers after the timeout
    await impatient.delete(created.dialer_id)
    assert [m for m, _, _ in standin.requests].count("DELETE") == 2
    with pytest.raises(CampaignNotFound):
        await dialer.get_campaign(created.dialer_id)


async def test_deleting_an_unknown_campaign_is_campaign_not_found(dialer: EnigmaDialer) -> None:
    with pytest.raises(CampaignNotFound):
        await dialer.delete("c-20991231-none")


async def test_deleting_a_running_campaign_is_a_conflict_that_says_to_stop_first(
    standin: EnigmaStandIn, dialer: EnigmaDialer
) -> None:
    created = await dialer.create_campaign(new_campaign())
    await dialer.start(created.dialer_id)
    await standin.settle()
    with pytest.raises(CampaignConflict, match="stop it and wait for the stopped notification"):
        await dialer.delete(created.dialer_id)


async def test_a_wrong_api_key_is_an_auth_error_and_the_right_one_is_accepted() -> None:
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    async with running_enigma(REAL_REDIS_URL, prefix, api_key="s3cret") as standin:
        for key, works in (("wrong", False), ("s3cret", True)):
            adapter = EnigmaDialer(fast_settings(standin.url, api_key=key))
            try:
                if works:
                    await adapter.list_campaigns()
                else:
                    with pytest.raises(DialerAuthError):
                        await adapter.list_campaigns()
            finally:
                await adapter.aclose()


async def test_an_unreachable_enigma_is_unavailable_after_retrying() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    adapter = EnigmaDialer(fast_settings(f"http://127.0.0.1:{port}"))
    try:
        with pytest.raises(DialerUnavailable, match="could not be reached") as raised:
            await adapter.create_campaign(new_campaign())  # never sent, so safe to retry
        assert isinstance(raised.value.__cause__, httpx.ConnectError)
    finally:
        await adapter.aclose()


async def test_an_answer_that_is_not_json_is_a_protocol_error() -> None:
    login_page = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>login"))
    adapter = EnigmaDialer(fast_settings("http://127.0.0.1:9"), transport=login_page)
    try:
        with pytest.raises(DialerProtocolError, match="ENIGMA_API_URL"):
            await adapter.list_campaigns()
    finally:
        await adapter.aclose()


async def test_an_answer_in_an_unexpected_shape_names_the_assumptions_to_correct() -> None:
    other_api = httpx.MockTransport(lambda request: httpx.Response(200, json={"items": []}))
    adapter = EnigmaDialer(fast_settings("http://127.0.0.1:9"), transport=other_api)
    try:
        with pytest.raises(DialerProtocolError, match=r"wire\.py"):
            await adapter.list_campaigns()
    finally:
        await adapter.aclose()


async def test_mixed_agent_default_states_are_refused_before_anything_is_sent(
    standin: EnigmaStandIn, dialer: EnigmaDialer
) -> None:
    spec = new_campaign(
        agents=(
            AgentAssignment(agent_id="1001", default_state=AgentDefaultState.OFFLINE),
            AgentAssignment(agent_id="1002", default_state=AgentDefaultState.AVAILABLE),
        )
    )
    with pytest.raises(DialerRejected, match="one default state"):
        await dialer.create_campaign(spec)
    assert standin.requests == []


async def test_a_batch_over_one_hundred_contacts_is_a_programming_error(
    standin: EnigmaStandIn, dialer: EnigmaDialer
) -> None:
    with pytest.raises(ValueError, match="100"):
        await dialer.add_contacts("c-1", contacts_for("c-1", 101))
    assert standin.requests == []
