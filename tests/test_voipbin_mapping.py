"""Request building for VoIPBIN: pacing, campaign names, targets, outplans, campaigns."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from dialer.models import Contact, NewCampaign
from dialer.voipbin.mapping import (
    NIL_ID,
    SERVICE_LEVEL_GENTLEST,
    SERVICE_LEVEL_MAX,
    CampaignMetadata,
    aggression_for,
    campaign_body,
    campaign_name,
    dial_info,
    dialer_campaign,
    is_deleted,
    pace_note,
    parse_time,
    service_level_for,
    settings_from,
    split_campaign_name,
    target_body,
)
from dialer.voipbin.settings import VoipbinSettings
from state.domain import CampaignSettings, CampaignStatus, EndHandle


def capacity(agents: int, service_level: int) -> int:
    """VoIPBIN's ``agentCapacity := (len(agents) * serviceLevel) / 100.0`` (Go int arithmetic)."""
    return agents * service_level // 100


def test_more_aggression_means_a_higher_service_level_which_dials_more() -> None:
    levels = [service_level_for(a) for a in range(1, 101)]
    assert all(later > earlier for earlier, later in itertools.pairwise(levels))
    assert capacity(10, service_level_for(85)) > capacity(10, service_level_for(20))


def test_the_gentlest_aggression_keeps_one_call_per_available_agent() -> None:
    assert service_level_for(1) == SERVICE_LEVEL_GENTLEST == 100
    assert capacity(1, service_level_for(1)) == 1
    assert capacity(7, service_level_for(1)) == 7


def test_the_most_aggression_is_three_calls_per_available_agent() -> None:
    assert service_level_for(100) == SERVICE_LEVEL_MAX == 300
    assert capacity(4, service_level_for(100)) == 12
    assert service_level_for(50) == 199


@pytest.mark.parametrize("aggression", range(1, 101))
def test_service_level_reads_back_as_the_same_aggression(aggression: int) -> None:
    assert aggression_for(service_level_for(aggression)) == aggression


@pytest.mark.parametrize(("level", "aggression"), [(0, 1), (50, 1), (1000, 100), (-5, 1)])
def test_service_levels_set_outside_the_bot_are_clamped(level: int, aggression: int) -> None:
    assert aggression_for(level) == aggression


def test_the_card_says_what_the_aggression_means_in_calls_per_agent() -> None:
    assert pace_note(1) == "VoIPBIN service level 100: about 1 calls dialling per available agent"
    assert "about 2.7 calls dialling per available agent" in pace_note(85)


def test_the_bots_ref_leads_the_campaign_name_and_is_read_back() -> None:
    name = campaign_name("c-20261123-7kq2", "Spring [promo] calls")
    assert name == "[c-20261123-7kq2] Spring [promo] calls"
    assert split_campaign_name(name) == ("c-20261123-7kq2", "Spring [promo] calls")


@pytest.mark.parametrize("foreign", ["test campaign", "[] empty", "[two words] x", "[c-1]x"])
def test_campaigns_the_bot_did_not_create_have_no_ref(foreign: str) -> None:
    assert split_campaign_name(foreign) == (None, foreign)


def test_a_contact_becomes_one_target_named_by_its_ref() -> None:
    contact = Contact(
        ref="c-1-7", phone_numbers=("+14155550001", "+14155550002"), fields={"name": "Ana"}
    )
    body = target_body(contact)
    assert body["name"] == "c-1-7"
    assert body["detail"] == "Ana"
    assert body["data"] == '{"name": "Ana"}'
    assert body["destination_0"] == {"type": "tel", "target": "+14155550001"}
    assert body["destination_1"] == {"type": "tel", "target": "+14155550002"}
    assert body["destination_4"] == {"type": "", "target": ""}


def test_a_target_carries_at_most_five_numbers() -> None:
    numbers = tuple(f"+1415555{n:04d}" for n in range(7))
    body = target_body(Contact(ref="c-1-1", phone_numbers=numbers))
    assert [body[f"destination_{i}"]["target"] for i in range(5)] == list(numbers[:5])
    assert "destination_5" not in body


def test_outplan_timings_are_in_milliseconds_and_tries_apply_to_every_number() -> None:
    settings = CampaignSettings(dial_timeout_seconds=25, retry_interval_minutes=90, max_attempts=4)
    info = dial_info(settings, "+14155550100")
    assert info["dial_timeout"] == 25_000
    assert info["try_interval"] == 5_400_000
    assert [info[f"max_try_count_{i}"] for i in range(5)] == [4] * 5
    assert info["source"] == {"type": "tel", "target": "+14155550100"}


def test_settings_read_back_from_campaign_and_outplan() -> None:
    settings = CampaignSettings(
        aggression=73,
        end_handle=EndHandle.CONTINUE,
        dial_timeout_seconds=40,
        retry_interval_minutes=15,
        max_attempts=2,
    )
    campaign = {"service_level": service_level_for(73), "end_handle": "continue"}
    assert settings_from(campaign, dial_info(settings, "")) == settings


def test_outplan_values_outside_the_bots_range_are_clamped() -> None:
    outplan = {"dial_timeout": 1000, "try_interval": 0, "max_try_count_0": 50}
    settings = settings_from({"service_level": 100, "end_handle": "stop"}, outplan)
    assert (settings.dial_timeout_seconds, settings.retry_interval_minutes) == (5, 1)
    assert settings.max_attempts == 10


def test_campaign_body_carries_pacing_end_handle_type_and_actions() -> None:
    spec = NewCampaign(
        ref="c-9",
        name="Renewals",
        detail="Q4",
        settings=CampaignSettings(aggression=80, end_handle=EndHandle.CONTINUE),
    )
    actions = VoipbinSettings(accesskey="k", greeting="Hi there").flow_actions()
    body = campaign_body(
        spec, campaign_type="call", actions=actions, outplan_id="p", outdial_id="o", queue_id="q"
    )
    assert body["name"] == "[c-9] Renewals"
    assert body["detail"] == "Q4"
    assert body["service_level"] == 260
    assert body["end_handle"] == "continue"
    assert body["type"] == "call"
    assert body["actions"] == [
        {"id": NIL_ID, "type": "talk", "option": {"text": "Hi there", "language": "en-US"}}
    ]
    assert (body["outplan_id"], body["outdial_id"], body["queue_id"]) == ("p", "o", "q")
    assert body["next_campaign_id"] == NIL_ID


def test_configured_actions_replace_the_greeting() -> None:
    settings = VoipbinSettings(
        accesskey="k", greeting="ignored", actions=[{"type": "answer"}, {"type": "beep"}]
    )
    assert [a["type"] for a in settings.flow_actions()] == ["answer", "beep"]
    assert VoipbinSettings(accesskey="k").flow_actions() == []


def test_metadata_round_trips_through_the_outdial_data_field() -> None:
    metadata = CampaignMetadata("c-1", "tag-a", "tag-b")
    assert CampaignMetadata.decode(metadata.encode()) == metadata
    assert CampaignMetadata.decode("custom-data") is None
    assert CampaignMetadata.decode('{"ref": "x"}') is None


@pytest.mark.parametrize(
    "stamp",
    [
        "2022-04-30 17:53:51.685259",
        "2022-04-30T17:53:51.685259Z",
        "2022-04-30T17:53:51.685259123Z",  # Go's RFC 3339 with nanoseconds
        "2022-04-30T19:53:51.685259+02:00",
    ],
)
def test_voipbin_timestamp_forms_are_utc(stamp: str) -> None:
    assert parse_time(stamp) == datetime(2022, 4, 30, 17, 53, 51, 685259, tzinfo=UTC)


@pytest.mark.parametrize(
    "stamp",
    [
        None,
        "",
        "0001-01-01T00:00:00Z",
        "0001-01-01 00:00:00",
        "0000-00-00 00:00:00",
        "9999-01-01 00:00:00.000000",
    ],
)
def test_null_go_zero_and_the_year_9999_mean_not_set(stamp: str | None) -> None:
    assert parse_time(stamp) is None


@pytest.mark.parametrize("stamp", ["yesterday", "2026-13-45 99:00:00", 1700000000, ["x"]])
def test_an_unreadable_timestamp_is_a_value_error(stamp: object) -> None:
    with pytest.raises(ValueError):
        parse_time(stamp)


def test_a_live_resource_has_a_null_or_unset_tm_delete() -> None:
    assert not is_deleted({"tm_delete": None})  # VoIPBIN's models: *time.Time, null while live
    assert not is_deleted({"tm_delete": "9999-01-01 00:00:00.000000"})  # older answers
    assert not is_deleted({"tm_delete": "0001-01-01T00:00:00Z"})
    assert not is_deleted({})
    assert is_deleted({"tm_delete": "2026-11-23T10:00:00.000000Z"})


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("run", CampaignStatus.RUNNING),
        ("stopping", CampaignStatus.STOPPING),
        ("stop", CampaignStatus.STOPPED),
    ],
)
def test_voipbin_statuses_map_onto_ours(status: str, expected: CampaignStatus) -> None:
    found = dialer_campaign({"id": "v1", "name": "[c-1] One", "status": status})
    assert (found.ref, found.dialer_id, found.name, found.status) == ("c-1", "v1", "One", expected)


def test_a_voipbin_campaigns_card_says_what_its_aggression_means() -> None:
    from commands.views.campaign import render_card
    from tests.state_builders import campaign

    card = campaign(dialer="voipbin", settings=CampaignSettings(aggression=85))
    _, blocks = render_card(card)
    shown = str(blocks)
    assert "aggression *85*" in shown
    assert "VoIPBIN service level 270: about 2.7 calls dialling per available agent" in shown
    assert "service level" not in str(render_card(campaign(dialer="simulator"))[1])
