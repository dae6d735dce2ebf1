"""Parsing Enigma's Pub/Sub packets and stamping their arrival (pure, no I/O)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from dialer.enigma.packets import (
    AgentPresenceState,
    AgentStatusPacket,
    ArrivalClock,
    CampaignStatusPacket,
    MalformedPacket,
    parse_packet,
    status_notification,
)
from state.domain import CampaignStatus, NotificationKind

PREFIX = "enigma:notifications:"


def packet(payload: Any, packet_type: str = "status") -> bytes:
    return json.dumps({"type": packet_type, "payload": payload}).encode()


@pytest.mark.parametrize(
    ("enigma_status", "status"),
    [
        ("started", CampaignStatus.RUNNING),
        ("stopping", CampaignStatus.STOPPING),
        ("stopped", CampaignStatus.STOPPED),
        ("completed", CampaignStatus.COMPLETED),
    ],
)
def test_a_campaign_packet_becomes_the_bots_status(
    enigma_status: str, status: CampaignStatus
) -> None:
    parsed = parse_packet(
        f"{PREFIX}campaigns:c-1", packet({"status": enigma_status, "ref": "c-1"}), PREFIX
    )
    assert parsed == CampaignStatusPacket(
        ref="c-1",
        status=status,
        raw={"type": "status", "payload": {"status": enigma_status, "ref": "c-1"}},
    )


def test_an_agent_packet_gives_the_agents_presence_in_its_campaign() -> None:
    data = packet({"status": "wrapup", "campaign_ref": "c-1", "ref": "1001"})
    parsed = parse_packet(f"{PREFIX}agents:1001", data, PREFIX)
    assert isinstance(parsed, AgentStatusPacket)
    assert (parsed.extension, parsed.campaign_ref, parsed.presence) == (
        "1001",
        "c-1",
        AgentPresenceState.WRAPUP,
    )


def test_an_agent_outside_any_campaign_has_no_campaign_ref() -> None:
    data = packet({"status": "offline", "campaign_ref": "", "ref": "1001"})
    parsed = parse_packet(f"{PREFIX}agents:1001", data, PREFIX)
    assert isinstance(parsed, AgentStatusPacket)
    assert parsed.campaign_ref is None


def test_a_packet_of_another_type_is_ignored() -> None:
    data = packet({"calls": 3}, packet_type="progress")
    assert parse_packet(f"{PREFIX}campaigns:c-1", data, PREFIX) is None


@pytest.mark.parametrize(
    ("channel", "data"),
    [
        (f"{PREFIX}campaigns:c-1", b"{not json"),
        (f"{PREFIX}campaigns:c-1", b'["status"]'),
        (f"{PREFIX}campaigns:c-1", json.dumps({"type": "status"}).encode()),
        (f"{PREFIX}campaigns:c-1", packet({"status": "started"})),
        (f"{PREFIX}campaigns:c-1", packet({"status": "paused", "ref": "c-1"})),
        (f"{PREFIX}agents:1001", packet({"status": "dancing", "ref": "1001"})),
        (f"{PREFIX}elsewhere:c-1", packet({"status": "started", "ref": "c-1"})),
    ],
)
def test_a_malformed_packet_is_refused(channel: str, data: bytes) -> None:
    with pytest.raises(MalformedPacket):
        parse_packet(channel, data, PREFIX)


def test_arrivals_are_strictly_ordered_and_uniquely_named_even_within_a_microsecond() -> None:
    clock = ArrivalClock()
    arrivals = [clock.stamp() for _ in range(1000)]
    sequences = [a.sequence for a in arrivals]
    assert sequences == sorted(set(sequences))
    assert len({a.event_id for a in arrivals}) == len(arrivals)


def test_the_sequence_is_the_arrival_time_in_microseconds() -> None:
    before = time.time_ns() // 1000
    arrival = ArrivalClock().stamp()
    after = time.time_ns() // 1000
    assert before <= arrival.sequence <= after
    assert int(arrival.at.timestamp() * 1_000_000) == pytest.approx(arrival.sequence, abs=1)


def test_two_processes_never_share_an_event_id() -> None:
    assert ArrivalClock().stamp().event_id != ArrivalClock().stamp().event_id


def test_a_status_notification_names_the_campaign_by_ref() -> None:
    arrival = ArrivalClock().stamp()
    notification = status_notification("c-1", CampaignStatus.STOPPED, arrival, {"x": 1})
    assert notification.kind is NotificationKind.STATUS
    assert notification.dialer == "enigma"
    assert notification.campaign_ref == notification.dialer_campaign_id == "c-1"
    assert (notification.sequence, notification.event_id) == (arrival.sequence, arrival.event_id)
    assert notification.raw == {"x": 1}
