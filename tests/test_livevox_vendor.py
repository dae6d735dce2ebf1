"""LiveVox request building and answer parsing: the vendor table and the pure functions on it."""

from __future__ import annotations

import base64
import dataclasses

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
    SOURCES,
    UNKNOWN_STATES,
    VENDOR,
    LiveVoxVocabulary,
    UnreadableCampaign,
    append_body,
    parse_campaign,
    record,
    ref_from_name,
    search_body,
    search_params,
    strategy_for,
    update_body,
    upload_body,
)
from dialer.models import Contact, NewCampaign
from state.domain import CampaignStatus


@pytest.mark.parametrize(
    ("state", "status"),
    [
        ("LOADING", CampaignStatus.STOPPED),
        ("SCHEDULED_UNBUILT", CampaignStatus.STOPPED),
        ("READY_UNBUILT", CampaignStatus.STOPPED),
        ("SCHEDULED", CampaignStatus.STOPPED),
        ("READY", CampaignStatus.STOPPED),
        ("PLAYING", CampaignStatus.RUNNING),
        ("PAUSED", CampaignStatus.STOPPED),
        ("DONE", CampaignStatus.COMPLETED),
        ("REPORTED", CampaignStatus.COMPLETED),
        ("STOPPED", CampaignStatus.DELETED),
        ("DEACTIVATED", CampaignStatus.DELETED),
    ],
)
def test_each_livevox_status_maps_to_a_bot_status(state: str, status: CampaignStatus) -> None:
    assert parse_campaign({"id": 1, "name": "x", "status": state}).status is status


def test_the_guessed_states_are_gone() -> None:
    assert not {"BUILDING", "BUILT"} & set(VENDOR.states)
    assert {"READY", "SCHEDULED", "PAUSED", "PLAYING"} == VENDOR.appendable_states


def test_an_unknown_status_is_logged_counted_and_read_as_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = UNKNOWN_STATES["CANCELLED"]
    campaign = parse_campaign({"id": 1, "name": "x", "status": "CANCELLED"})
    assert campaign.status is CampaignStatus.STOPPED
    assert UNKNOWN_STATES["CANCELLED"] == before + 1
    assert before > 0 or "CANCELLED" in caplog.text


def test_the_campaign_field_is_status_not_state() -> None:
    with pytest.raises(UnreadableCampaign):
        parse_campaign({"id": 1, "name": "x", "state": "PLAYING"})


def test_a_campaign_without_an_id_is_unreadable() -> None:
    with pytest.raises(UnreadableCampaign):
        parse_campaign({"name": "x", "status": "READY"})


def test_a_read_answers_without_an_id_and_takes_the_one_asked_for() -> None:
    campaign = parse_campaign({"name": "x", "status": "READY", "dialingStrategyId": 12}, "9001")
    assert campaign.id == "9001" and campaign.dialing_strategy_id == 12


def _upload(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "service_id": 1234,
        "caller_id": "4155550100",
        "dialing_strategy_id": 12,
        "voice_id": 3,
        "answering_machine": "NO_MESSAGES",
    }
    values.update(overrides)
    spec = NewCampaign(ref="c-20261123-7kq2", name="Spring renewals")
    return upload_body(spec, **values)  # type: ignore[arg-type]


def test_the_campaign_name_is_the_file_name_and_carries_the_ref() -> None:
    name = _upload()["campaignFile"]["FileName"]  # type: ignore[index]
    assert name == "c-20261123-7kq2 Spring renewals"
    assert ref_from_name(name) == "c-20261123-7kq2"


@pytest.mark.parametrize("name", ["Spring renewals", "c-2026-7kq2 x", "", "c-20261123-"])
def test_a_name_without_a_ref_belongs_to_nobody(name: str) -> None:
    assert ref_from_name(name) is None


def test_upload_sends_the_documented_file_and_configuration() -> None:
    body = _upload()
    file = body["campaignFile"]
    assert isinstance(file, dict) and set(file) == {"FileName", "Data", "ContentType"}
    assert base64.b64decode(file["Data"]).decode() == "ACCOUNT,PHONE1\r\n"
    assert body["campaignConfiguration"] == {
        "serviceId": 1234,
        "callerId": "4155550100",
        "dialingStrategyId": 12,
        "appendable": True,
        "typeId": 1,
        "voiceId": 3,
        "answeringMachineOption": "NO_MESSAGES",
    }


def test_report_at_end_of_day_is_not_a_campaign_field() -> None:
    text = str(_upload())
    assert "reportAtEndOfDay" not in text and "dialingStrategy'" not in text


def test_search_sends_a_date_range_and_lists_of_service_and_type() -> None:
    assert search_body(service_id=1234, from_ms=1, to_ms=2) == {
        "dateRange": {"from": "1", "to": "2"},
        "service": [1234],
        "type": [1],
    }
    assert search_params(0, client_id=7) == {"count": 1000, "offset": 0, "client": 7}


def test_an_update_sends_the_dialing_strategy() -> None:
    assert update_body(13) == {"dialingStrategyId": 13}


@pytest.mark.parametrize(("aggression", "strategy"), [(1, 11), (49, 11), (50, 12), (100, 13)])
def test_the_strategy_follows_the_aggression_floors(aggression: int, strategy: int) -> None:
    assert strategy_for(aggression, 10, {1: 11, 50: 12, 80: 13}) == strategy
    assert strategy_for(aggression, 10, {}) == 10


def test_a_record_carries_the_first_phone_the_others_and_the_contact_ref() -> None:
    phones = tuple(f"+1415555{n:04d}" for n in range(30))
    contact = Contact(ref="c-20261123-7kq2-1", phone_numbers=phones, fields={"name": "Ana"})
    assert record(contact) == {
        "phone1": phones[0],
        "phone2": list(phones[1:]),
        "account": "c-20261123-7kq2-1",
        "extra2": "name: Ana",
    }


def test_a_single_phone_record_sends_no_phone2() -> None:
    contact = Contact(ref="c-1", phone_numbers=("+14155550001",))
    assert append_body([contact]) == {"records": [{"phone1": "+14155550001", "account": "c-1"}]}


def test_fields_fill_the_free_extras_cut_to_their_length() -> None:
    fields = {f"f{n}": "x" * 60 for n in range(10)}
    body = record(Contact(ref="c-1", phone_numbers=("+14155550001",), fields=fields))
    extras = {k: v for k, v in body.items() if k.startswith("extra")}
    assert list(extras) == list(VENDOR.extra_fields)
    assert all(len(v) == 50 for v in extras.values())


def test_counters_are_read_when_present_and_non_numbers_dropped() -> None:
    campaign = parse_campaign(
        {
            "id": 5,
            "name": "c-20261123-7kq2 N",
            "status": "PLAYING",
            "statistics": {"uploaded": 10, "percentDone": 44.4, "bogus": True, "total": "n/a"},
        }
    )
    assert campaign.counters == {"uploaded": 10, "percent_done": 44}


def test_every_entry_of_the_vendor_table_names_its_source_or_says_assumed() -> None:
    names = {f.name for f in dataclasses.fields(LiveVoxVocabulary)}
    assert names == set(SOURCES)
    for name, source in SOURCES.items():
        cited = "LiveVox.NET" in source or "docs.livevox.com" in source
        assert cited or source.startswith(("assumed", "ours")), name


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
