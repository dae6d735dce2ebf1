"""LiveVox request building and answer parsing: the vendor table and the pure functions on it."""

from __future__ import annotations

import base64

import httpx
import pytest

from dialer.errors import (
    CampaignConflict,
    CampaignNotFound,
    DialerAuthError,
    DialerRateLimited,
    DialerRejected,
    DialerUnavailable,
)
from dialer.livevox.session import error_for
from dialer.livevox.vendor import (
    VENDOR,
    UnreadableCampaign,
    append_body,
    parse_campaign,
    record,
    ref_from_name,
    settings_from_strategy,
    strategy_body,
    upload_body,
)
from dialer.models import CampaignSettings, CampaignStatus, Contact, EndHandle, NewCampaign


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("BUILDING", CampaignStatus.STOPPED),
        ("BUILT", CampaignStatus.STOPPED),
        ("PLAYING", CampaignStatus.RUNNING),
        ("PAUSED", CampaignStatus.STOPPED),
        ("STOPPED", CampaignStatus.DELETED),
        ("DONE", CampaignStatus.COMPLETED),
        ("REPORTED", CampaignStatus.COMPLETED),
    ],
)
def test_each_livevox_state_maps_to_a_bot_status(state: str, status: CampaignStatus) -> None:
    assert parse_campaign({"id": 1, "name": "x", "state": state}).status is status


def test_the_state_table_covers_exactly_the_documented_states() -> None:
    assert set(VENDOR.states) == {
        "BUILDING",
        "BUILT",
        "PLAYING",
        "PAUSED",
        "STOPPED",
        "DONE",
        "REPORTED",
    }
    assert {"BUILT", "PAUSED", "PLAYING"} == VENDOR.appendable_states


def test_an_unknown_state_is_unreadable_rather_than_guessed() -> None:
    with pytest.raises(UnreadableCampaign, match="CANCELLED"):
        parse_campaign({"id": 1, "name": "x", "state": "CANCELLED"})


def test_a_campaign_without_an_id_is_unreadable() -> None:
    with pytest.raises(UnreadableCampaign):
        parse_campaign({"name": "x", "state": "BUILT"})


def test_the_campaign_name_carries_the_ref_and_gives_it_back() -> None:
    spec = NewCampaign(ref="c-20261123-7kq2", name="Spring renewals")
    name = upload_body(spec, service_id="1", caller_id="")["campaignConfiguration"]["name"]
    assert name == "c-20261123-7kq2 Spring renewals"
    assert ref_from_name(name) == "c-20261123-7kq2"


@pytest.mark.parametrize("name", ["Spring renewals", "c-2026-7kq2 x", "", "c-20261123-"])
def test_a_name_without_a_ref_belongs_to_nobody(name: str) -> None:
    assert ref_from_name(name) is None


def test_upload_asks_for_allow_append_with_a_header_only_file() -> None:
    spec = NewCampaign(ref="c-20261123-7kq2", name="N", settings=CampaignSettings(aggression=70))
    body = upload_body(spec, service_id="1234", caller_id="+14155550100")
    config = body["campaignConfiguration"]
    assert config["appendable"] is True
    assert config["service"] == "1234" and config["callerId"] == "+14155550100"
    assert config["type"] == 1
    assert config["dialingStrategy"]["pacing"] == 70
    assert base64.b64decode(body["campaignFile"]).decode() == "ACCOUNT,PHONE1\r\n"


def test_a_record_carries_the_first_phone_the_others_and_the_contact_ref() -> None:
    phones = tuple(f"+1415555{n:04d}" for n in range(30))
    contact = Contact(ref="c-20261123-7kq2-1", phone_numbers=phones, fields={"name": "Ana"})
    assert record(contact) == {
        "phone1": phones[0],
        "phone2": list(phones[1:]),
        "account": "c-20261123-7kq2-1",
        "customFields": {"name": "Ana"},
    }


def test_a_single_phone_record_sends_no_phone2() -> None:
    contact = Contact(ref="c-1", phone_numbers=("+14155550001",))
    assert append_body([contact]) == {"records": [{"phone1": "+14155550001", "account": "c-1"}]}


@pytest.mark.parametrize("end_handle", list(EndHandle))
def test_settings_survive_the_trip_through_the_dialing_strategy(end_handle: EndHandle) -> None:
    settings = CampaignSettings(
        aggression=17,
        end_handle=end_handle,
        dial_timeout_seconds=40,
        max_attempts=4,
        retry_interval_minutes=90,
    )
    assert settings_from_strategy(strategy_body(settings)) == settings


def test_a_partial_dialing_strategy_gives_no_settings() -> None:
    assert settings_from_strategy({"pacing": 50}) is None


def test_counters_are_renamed_and_non_numbers_dropped() -> None:
    campaign = parse_campaign(
        {
            "id": 5,
            "name": "c-20261123-7kq2 N",
            "state": "PLAYING",
            "statistics": {
                "uploaded": 10,
                "loaded": 9,
                "completed": 4,
                "remaining": 5,
                "percentDone": 44.4,
                "bogus": True,
                "total": "n/a",
            },
        }
    )
    assert campaign.counters == {
        "uploaded": 10,
        "loaded": 9,
        "completed": 4,
        "remaining": 5,
        "percent_done": 44,
    }


def _answer(
    status: int, body: object = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    request = httpx.Request("PUT", "http://livevox.test/api/x")
    return httpx.Response(status, json=body, headers=headers, request=request)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, DialerRejected),
        (403, DialerAuthError),
        (404, CampaignNotFound),
        (409, CampaignConflict),
        (500, DialerUnavailable),
        (503, DialerUnavailable),
    ],
)
def test_http_answers_become_the_bots_errors(status: int, error: type[Exception]) -> None:
    assert type(error_for(_answer(status, {"message": "nope"}))) is error


def test_a_429_says_when_to_come_back() -> None:
    error = error_for(_answer(429, {"message": "slow down"}, {"Retry-After": "12"}))
    assert isinstance(error, DialerRateLimited)
    assert error.retry_after == 12.0
    assert "slow down" in str(error)
