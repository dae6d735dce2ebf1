"""Building Enigma's requests and reading its answers (pure, no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from dialer.enigma.wire import (
    WIRE,
    EnigmaFormatError,
    Route,
    campaign_from_json,
    campaigns_from_json,
    contacts_body,
    create_body,
    error_from_json,
    from_enigma_aggression,
    modify_default_state_body,
    modify_settings_body,
    modify_state_body,
    settings_json,
    to_enigma_aggression,
)
from dialer.models import Contact, NewCampaign
from state.domain import (
    AgentAssignment,
    AgentDefaultState,
    CampaignSettings,
    CampaignStatus,
    EndHandle,
)


def enigma_campaign(**overrides: Any) -> dict[str, Any]:
    campaign: dict[str, Any] = {
        "ref": "c-20261123-7kq2",
        "name": "Renewals",
        "status": "started",
        "settings": {
            "aggression": 70,
            "on_exhausted": "wait",
            "ring_timeout": 25,
            "max_attempts": 4,
            "retry_delay_minutes": 90,
        },
        "agents": ["1001", "1002"],
        "agent_default_state": "available",
        "counters": {"contacts": 3},
    }
    campaign.update(overrides)
    return campaign


def test_a_settings_change_sends_only_the_ref_and_the_settings_object() -> None:
    body = modify_settings_body("c-1", CampaignSettings(aggression=90))
    assert set(body) == {"ref", "settings"}
    assert body["settings"]["aggression"] == 90


def test_settings_are_sent_under_enigmas_names() -> None:
    settings = CampaignSettings(
        aggression=12,
        end_handle=EndHandle.CONTINUE,
        dial_timeout_seconds=20,
        max_attempts=5,
        retry_interval_minutes=30,
    )
    assert settings_json(settings) == {
        "aggression": 12,
        "on_exhausted": "wait",
        "ring_timeout": 20,
        "max_attempts": 5,
        "retry_delay_minutes": 30,
    }


def test_create_carries_the_bots_ref_settings_agents_and_default_state() -> None:
    campaign = NewCampaign(
        ref="c-20261123-7kq2",
        name="Renewals",
        detail="Q4 renewals",
        settings=CampaignSettings(aggression=40),
        agents=(AgentAssignment(agent_id="1001"), AgentAssignment(agent_id="1002")),
    )
    body = create_body(campaign, AgentDefaultState.AVAILABLE)
    assert body["ref"] == "c-20261123-7kq2"
    assert body["description"] == "Q4 renewals"
    assert body["settings"]["aggression"] == 40
    assert body["agents"] == ["1001", "1002"]
    assert body["agent_default_state"] == "available"


@pytest.mark.parametrize(("running", "target"), [(True, "started"), (False, "stopped")])
def test_start_and_stop_ask_for_the_target_state(running: bool, target: str) -> None:
    assert modify_state_body("c-1", running) == {"ref": "c-1", "status": target}


def test_default_state_change_sends_only_the_ref_and_the_state() -> None:
    body = modify_default_state_body("c-1", AgentDefaultState.OFFLINE)
    assert body == {"ref": "c-1", "agent_default_state": "offline"}


def test_contacts_keep_their_refs_numbers_and_fields() -> None:
    contact = Contact(
        ref="c-1-1", phone_numbers=("+14155550001", "+14155550002"), fields={"a": "b"}
    )
    assert contacts_body([contact]) == {
        "contacts": [
            {"ref": "c-1-1", "phone_numbers": ["+14155550001", "+14155550002"], "data": {"a": "b"}}
        ]
    }


def test_a_campaign_ref_is_quoted_into_the_path() -> None:
    assert Route("GET", "/api/v1/campaigns/{ref}").url("c 1/x") == "/api/v1/campaigns/c%201%2Fx"


@pytest.mark.parametrize(
    ("enigma_status", "status"),
    [
        ("started", CampaignStatus.RUNNING),
        ("stopping", CampaignStatus.STOPPING),
        ("stopped", CampaignStatus.STOPPED),
        ("completed", CampaignStatus.COMPLETED),
    ],
)
def test_enigma_statuses_map_onto_the_bots(enigma_status: str, status: CampaignStatus) -> None:
    assert campaign_from_json(enigma_campaign(status=enigma_status)).status is status


def test_a_campaign_is_read_with_settings_agents_and_its_ref_as_dialer_id() -> None:
    campaign = campaign_from_json(enigma_campaign())
    assert campaign.ref == campaign.dialer_id == "c-20261123-7kq2"
    assert campaign.settings == CampaignSettings(
        aggression=70,
        end_handle=EndHandle.CONTINUE,
        dial_timeout_seconds=25,
        max_attempts=4,
        retry_interval_minutes=90,
    )
    assert campaign.agents == (
        AgentAssignment(agent_id="1001", default_state=AgentDefaultState.AVAILABLE),
        AgentAssignment(agent_id="1002", default_state=AgentDefaultState.AVAILABLE),
    )
    assert campaign.counters == {"contacts": 3}


def test_a_campaign_without_settings_or_agents_is_still_read() -> None:
    campaign = campaign_from_json({"ref": "c-1", "status": "stopped"})
    assert campaign.settings is None
    assert campaign.agents == ()
    assert campaign.name == "c-1"


@pytest.mark.parametrize(
    "broken",
    [
        enigma_campaign(status="paused"),
        enigma_campaign(ref=""),
        enigma_campaign(settings={"aggression": "high"}),
        enigma_campaign(settings={"aggression": 50, "ring_timeout": 1}),
        "not an object",
    ],
)
def test_an_unreadable_campaign_is_a_format_error(broken: object) -> None:
    with pytest.raises(EnigmaFormatError):
        campaign_from_json(broken)


def test_a_list_without_its_envelope_is_a_format_error() -> None:
    with pytest.raises(EnigmaFormatError):
        campaigns_from_json([enigma_campaign()])


def test_a_list_is_read_campaign_by_campaign() -> None:
    listed = campaigns_from_json({"campaigns": [enigma_campaign(), enigma_campaign(ref="c-2")]})
    assert [c.ref for c in listed] == ["c-20261123-7kq2", "c-2"]


def test_aggression_survives_the_round_trip_through_enigmas_scale() -> None:
    for aggression in range(1, 101):
        assert from_enigma_aggression(to_enigma_aggression(aggression)) == aggression
    low, high = WIRE.aggression_range
    assert to_enigma_aggression(1) == low
    assert to_enigma_aggression(100) == high


def test_the_vendor_error_code_and_message_are_read_when_present() -> None:
    assert error_from_json({"error": {"code": "x", "message": "why"}}) == ("x", "why")
    assert error_from_json({"error": "flat"}) == (None, None)
    assert error_from_json(None) == (None, None)
