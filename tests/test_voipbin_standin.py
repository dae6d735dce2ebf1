"""The VoIPBIN stand-in holds requests to VoIPBIN's OpenAPI spec and behaves like VoIPBIN."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from tests.standins.voipbin import NIL_ID, StandinKnobs, VoipbinStandin


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
    assert response.json()["tm_delete"] is None


async def made_campaign(
    standin: VoipbinStandin, *, targets: int = 0, service_level: int = 100, end_handle: str = "stop"
) -> dict[str, Any]:
    """A campaign made through the API as the adapter makes one, with agent-1..3 on its queue."""
    tag = (await call(standin, "POST", "/tags", {"name": "t", "detail": "d"})).json()["id"]
    queue_body = {
        "name": "q",
        "detail": "d",
        "routing_method": "random",
        "tag_ids": [tag],
        "wait_flow_id": NIL_ID,
        "wait_timeout": 1000,
        "service_timeout": 1000,
    }
    queue = (await call(standin, "POST", "/queues", queue_body)).json()["id"]
    for agent in standin.store["agents"].values():
        agent["tag_ids"] = [tag]
    plan_body = {
        "name": "p",
        "detail": "d",
        "source": {"type": "tel", "target": "+14155550100"},
        "dial_timeout": 30000,
        "try_interval": 60000,
        **{f"max_try_count_{i}": 1 for i in range(5)},
    }
    plan = (await call(standin, "POST", "/outplans", plan_body)).json()["id"]
    campaign_body = {
        "name": "c",
        "detail": "d",
        "type": "call",
        "service_level": service_level,
        "end_handle": end_handle,
        "actions": [],
        "outplan_id": plan,
        "outdial_id": NIL_ID,
        "queue_id": queue,
        "next_campaign_id": NIL_ID,
    }
    campaign = (await call(standin, "POST", "/campaigns", campaign_body)).json()
    outdial_body = {"campaign_id": campaign["id"], "name": "o", "detail": "d", "data": "{}"}
    outdial = (await call(standin, "POST", "/outdials", outdial_body)).json()["id"]
    resources = {
        "outplan_id": plan,
        "outdial_id": outdial,
        "queue_id": queue,
        "next_campaign_id": NIL_ID,
    }
    await call(standin, "PUT", f"/campaigns/{campaign['id']}/resource_info", resources)
    for n in range(targets):
        target = {
            "name": f"lead-{n}",
            "detail": f"Lead {n}",
            "data": "{}",
            "destination_0": {"type": "tel", "target": f"+1415555{n:04d}"},
            **{f"destination_{i}": {"type": "", "target": ""} for i in range(1, 5)},
        }
        assert (await call(standin, "POST", f"/outdials/{outdial}/targets", target)).is_success
    standin.assert_clean()
    return standin.campaign(campaign["id"])


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def events(standin: VoipbinStandin) -> list[str]:
    return [event for event, _ in standin.published]


async def test_it_reports_stopping_before_stop_when_calls_are_still_up(
    standin: VoipbinStandin,
) -> None:
    standin.knobs.call_duration = 0.3
    standin.set_agents_available("agent-1")
    campaign = await made_campaign(standin, targets=5, end_handle="continue")
    await call(standin, "PUT", f"/campaigns/{campaign['id']}/status", {"status": "run"})
    await until(lambda: standin.dialing(campaign["id"]) == 1)
    await call(standin, "PUT", f"/campaigns/{campaign['id']}/status", {"status": "stop"})
    await until(lambda: campaign["status"] == "stop")
    statuses = [e for e in events(standin) if e.startswith("campaign_status_")]
    assert statuses == ["campaign_status_run", "campaign_status_stopping", "campaign_status_stop"]


async def test_a_stop_of_a_stopped_campaign_publishes_nothing(standin: VoipbinStandin) -> None:
    campaign = await made_campaign(standin)
    before = list(standin.published)
    response = await call(standin, "PUT", f"/campaigns/{campaign['id']}/status", {"status": "stop"})
    assert response.json()["status"] == "stop"
    assert standin.published == before


async def test_it_publishes_what_voipbin_publishes_with_voipbins_nulls(
    standin: VoipbinStandin,
) -> None:
    standin.knobs.call_duration = 0.2
    standin.set_agents_available("agent-1")  # one call at a time
    campaign = await made_campaign(standin, targets=2)
    await call(standin, "PUT", f"/campaigns/{campaign['id']}/status", {"status": "run"})
    await until(lambda: campaign["status"] == "stop")
    assert events(standin) == [
        "campaign_created",
        "campaign_updated",  # resource_info
        "campaign_status_run",
        "campaigncall_created",
        "campaigncall_updated",
        "campaigncall_created",
        "campaign_status_stopping",  # out of targets (end handle stop), one call still up
        "campaigncall_updated",
        "campaign_status_stop",  # its hangup: stoppable now
    ]
    created = dict(standin.published)
    assert created["campaigncall_created"]["tm_update"] is None
    assert created["campaigncall_created"]["tm_delete"] is None
    assert created["campaign_created"]["tm_update"] is None
    assert not any(event.startswith("outdialtarget_") for event in events(standin))


@pytest.mark.parametrize(
    ("service_level", "agents", "most"), [(100, 2, 2), (150, 2, 3), (300, 2, 6)]
)
async def test_it_dials_by_voipbins_capacity_formula(
    standin: VoipbinStandin, service_level: int, agents: int, most: int
) -> None:
    standin.knobs.call_duration = 60  # nothing hangs up during the test
    standin.set_agents_available(*[f"agent-{n}" for n in range(1, agents + 1)])
    campaign = await made_campaign(standin, targets=20, service_level=service_level)
    await call(standin, "PUT", f"/campaigns/{campaign['id']}/status", {"status": "run"})
    await until(lambda: standin.dialing(campaign["id"]) == most)
    await asyncio.sleep(10 * standin.knobs.tick)
    assert standin.dialing(campaign["id"]) == most  # agents * service_level // 100


async def test_without_available_agents_it_does_not_dial(standin: VoipbinStandin) -> None:
    campaign = await made_campaign(standin, targets=3)
    await call(standin, "PUT", f"/campaigns/{campaign['id']}/status", {"status": "run"})
    await asyncio.sleep(standin.knobs.start_delay + 10 * standin.knobs.tick)
    assert standin.calls_of(campaign["id"]) == []


async def test_an_outdial_needs_its_campaign_id_and_a_target_its_detail_and_data(
    standin: VoipbinStandin,
) -> None:
    body = {"campaign_id": NIL_ID, "name": "o", "detail": "d", "data": "x"}
    assert (await call(standin, "POST", "/outdials", body)).status_code == 400
    campaign = await made_campaign(standin)
    target = {
        "name": "lead",
        "detail": "",
        "data": "{}",
        **{f"destination_{i}": {"type": "tel", "target": "+14155550100"} for i in range(5)},
    }
    response = await call(standin, "POST", f"/outdials/{campaign['outdial_id']}/targets", target)
    assert response.status_code == 400


async def test_webhooks_are_tried_three_times_on_5xx(standin: VoipbinStandin) -> None:
    standin.webhook_url = "http://127.0.0.1:9/unused"  # deliveries fail; the log keeps the count
    await made_campaign(standin)
    await standin.quiesce()
    assert [d.attempt for d in standin.deliveries if d.type == "campaign_created"] == [1, 2, 3]
