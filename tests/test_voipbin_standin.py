"""The VoIPBIN stand-in holds requests to VoIPBIN's OpenAPI spec and behaves like VoIPBIN."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.standins.voipbin import StandinKnobs, VoipbinStandin


@pytest.fixture
async def standin() -> AsyncIterator[VoipbinStandin]:
    async with VoipbinStandin(knobs=StandinKnobs(rate_limit=1000)) as running:
        yield running


async def call(
    standin: VoipbinStandin, method: str, path: str, body: Any = None, **params: str
) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        query = {"accesskey": standin.accesskey or "", **params}
        return await client.request(method, standin.api_url + path, json=body, params=query)


@pytest.mark.parametrize(
    ("method", "path", "body", "params", "complaint"),
    [
        ("GET", "/campaigns", None, {"pagesize": "5"}, "'pagesize' is not in the spec"),
        ("GET", "/campaigns", None, {"page_size": "ten"}, "is not an integer"),
        ("PUT", "/campaigns/x/status", {"status": "start"}, {}, "'start' is not one of"),
        ("PUT", "/campaigns/x/service_level", {"servicelevel": 5}, {}, "'servicelevel'"),
        ("PUT", "/campaigns/x/service_level", {"service_level": "5"}, {}, "is not of type"),
        ("PATCH", "/campaigns/x", {}, {}, "no such operation"),
        ("POST", "/campaigns/x/start", {}, {}, "no such operation"),
        ("DELETE", "/campaigns/x", {"force": True}, {}, "allows no request body"),
    ],
)
async def test_a_request_the_spec_does_not_allow_is_refused_and_fails_the_test(
    standin: VoipbinStandin,
    method: str,
    path: str,
    body: Any,
    params: dict[str, str],
    complaint: str | None,
) -> None:
    response = await call(standin, method, path, body, **params)
    assert response.status_code in (400, 405)
    if complaint is not None:
        assert response.json()["error"]["reason"] == "REQUEST_NOT_IN_SPEC"
        assert any(complaint in v for v in standin.violations), standin.violations
        with pytest.raises(AssertionError, match="spec does not allow"):
            standin.assert_clean()


async def test_requests_without_credentials_are_unauthenticated(standin: VoipbinStandin) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.get(standin.api_url + "/campaigns")
    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


async def test_over_its_rate_it_answers_429_with_retry_after() -> None:
    knobs = StandinKnobs(rate_limit=2, rate_window=5, retry_after="5")
    async with VoipbinStandin(knobs=knobs) as standin:
        answers = [await call(standin, "GET", "/campaigns") for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[2].headers["Retry-After"] == "5"
    assert answers[2].json()["error"]["reason"] == "RATE_LIMIT_EXCEEDED"


async def test_it_ignores_a_delete_of_a_campaign_that_is_not_stopped(
    standin: VoipbinStandin,
) -> None:
    _, campaign = standin._create("campaigns", {"name": "x", "status": "run"})
    response = await call(standin, "DELETE", f"/campaigns/{campaign['id']}")
    assert response.status_code == 200
    assert response.json()["tm_delete"].startswith("9999")


async def test_it_reports_stopping_before_stop_by_webhook(standin: VoipbinStandin) -> None:
    received: list[str] = []
    standin.webhook_url = "http://127.0.0.1:9/unused"  # deliveries fail; the log keeps the order
    _, outdial = standin._create("outdials", {"name": "o"})
    _, campaign = standin._create(
        "campaigns",
        {
            "name": "c",
            "status": "stop",
            "outdial_id": outdial["id"],
            "queue_id": "q",
            "service_level": 100,
            "end_handle": "continue",
        },
    )
    await call(standin, "PUT", f"/campaigns/{campaign['id']}/status", {"status": "run"})
    while campaign["status"] != "run":
        await asyncio.sleep(0.01)
    await call(standin, "PUT", f"/campaigns/{campaign['id']}/status", {"status": "stop"})
    while campaign["status"] != "stop":
        await asyncio.sleep(0.01)
    await standin.quiesce()
    received = [d.type for d in standin.deliveries if d.attempt == 1]
    assert received == ["campaign_status_run", "campaign_status_stopping", "campaign_status_stop"]
    assert len(standin.deliveries) == 9  # three deliveries each, as VoIPBIN retries
