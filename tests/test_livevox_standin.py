"""The local LiveVox refuses the old guesses: each corrected wire detail gets the stand-in's 400."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.standins.livevox import LiveVoxStandin

HEADER = base64.b64encode(b"ACCOUNT,PHONE1\r\n").decode()
FILE = {"FileName": "c-20261123-7kq2 Spring", "Data": HEADER, "ContentType": "text/csv"}
CONFIGURATION = {
    "serviceId": 1234,
    "dialingStrategyId": 11,
    "typeId": 1,
    "voiceId": 3,
    "answeringMachineOption": "NO_MESSAGES",
    "appendable": True,
}
RANGE = {"from": "0", "to": str(2**62)}


@pytest.fixture
async def lv() -> AsyncIterator[httpx.AsyncClient]:
    standin = LiveVoxStandin()
    async with standin.running() as url, httpx.AsyncClient(base_url=url) as http:
        access = {"LV-Access": standin.knobs.access_token}
        login = await http.post(
            "session/login",
            headers=access,
            json={"clientName": "ACME", "userName": "bot", "password": "s3cret"},
        )
        http.headers.update(access | {"LV-Session": login.json()["sessionId"]})
        yield http


async def _upload(http: httpx.AsyncClient, **config: Any) -> int:
    answer = await http.post(
        "campaign/campaigns",
        json={"campaignFile": FILE, "campaignConfiguration": CONFIGURATION | config},
    )
    assert answer.status_code == 200, answer.text
    return int(answer.json()["id"])


async def test_the_documented_upload_and_search_are_taken(lv: httpx.AsyncClient) -> None:
    campaign_id = await _upload(lv)
    found = await lv.post(
        "campaign/campaigns/search",
        params={"count": 1000, "offset": 0},
        json={"dateRange": RANGE, "service": [1234], "type": [1]},
    )
    [entry] = found.json()["campaign"]
    assert entry["id"] == campaign_id and entry["status"] == "READY"
    assert "state" not in entry
    read = (await lv.get(f"campaign/campaigns/{campaign_id}")).json()
    assert read["status"] == "READY" and "state" not in read and "id" not in read


@pytest.mark.parametrize(
    "body",
    [
        {"service": [1234], "type": [1]},  # no dateRange
        {"service": [1234], "from": 0, "to": 2**62},  # the old top-level from/to
        {"dateRange": RANGE, "service": 1234},  # a single service, not a list
        {"dateRange": RANGE, "type": 1},  # a single type, not a list
        {"dateRange": RANGE, "state": ["BUILT"]},  # a state nobody documented
        {"dateRange": RANGE, "status": ["READY"]},  # status is the answer's field, not a filter
        {"dateRange": {"from": "yesterday", "to": "now"}},
    ],
)
async def test_a_search_the_sources_do_not_show_is_refused(
    lv: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    answer = await lv.post("campaign/campaigns/search", json=body)
    assert answer.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"campaignFile": HEADER, "campaignConfiguration": CONFIGURATION},  # a bare string
        {"campaignFile": FILE, "campaignConfiguration": CONFIGURATION | {"service": "1234"}},
        {"campaignFile": FILE, "campaignConfiguration": CONFIGURATION | {"type": 1}},
        {
            "campaignFile": FILE,
            "campaignConfiguration": CONFIGURATION | {"dialingStrategy": {"pacing": 40}},
        },
        {
            "campaignFile": FILE,
            "campaignConfiguration": {k: v for k, v in CONFIGURATION.items() if k != "typeId"},
        },
        {"campaignFile": FILE, "campaignConfiguration": CONFIGURATION | {"name": "x"}},
        {"campaignFile": FILE, "campaignConfiguration": CONFIGURATION | {"serviceId": "1234"}},
    ],
)
async def test_an_upload_the_sources_do_not_show_is_refused(
    lv: httpx.AsyncClient, body: dict[str, Any]
) -> None:
    assert (await lv.post("campaign/campaigns", json=body)).status_code == 400


async def test_settings_go_to_the_campaign_not_to_a_configuration_path(
    lv: httpx.AsyncClient,
) -> None:
    campaign_id = await _upload(lv)
    old = await lv.put(
        f"campaign/campaigns/{campaign_id}/configuration", json={"dialingStrategy": {}}
    )
    assert old.status_code in (404, 405)
    bad = await lv.put(f"campaign/campaigns/{campaign_id}", json={"reportAtEndOfDay": True})
    assert bad.status_code == 400  # a service setting, not a campaign field
    good = await lv.put(f"campaign/campaigns/{campaign_id}", json={"dialingStrategyId": 12})
    assert good.status_code == 204


async def test_records_the_sources_do_not_show_are_refused(lv: httpx.AsyncClient) -> None:
    campaign_id = await _upload(lv)
    path = f"campaign/campaigns/{campaign_id}/transactions"
    custom = {"phone1": "4155550001", "customFields": {"name": "Ana"}}
    assert (await lv.put(path, json={"records": [custom]})).status_code == 400
    many = {"phone1": "4155550001", "phone2": ["4155550002"] * 30}
    assert (await lv.put(path, json={"records": [many]})).status_code == 400
    good = {"phone1": "4155550001", "phone2": ["4155550002"] * 29, "extra2": "name: Ana"}
    assert (await lv.put(path, json={"records": [good]})).status_code == 204


async def test_a_state_change_takes_play_pause_stop_or_build_only(lv: httpx.AsyncClient) -> None:
    campaign_id = await _upload(lv)
    path = f"campaign/campaigns/{campaign_id}/state"
    assert (await lv.put(path, json={"state": "RESUME"})).status_code == 400
    assert (await lv.put(path, json={"status": "PLAY"})).status_code == 400
    assert (await lv.put(path, json={"state": "PLAY"})).status_code == 204
