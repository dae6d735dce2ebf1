"""Enigma's Pub/Sub packets, parsed, and turned into the bot's notifications.

Enigma's packets carry no timestamp and no id. The bot therefore stamps each one on arrival:
``sequence`` is the arrival time in microseconds, forced strictly increasing within the process,
and ``event_id`` is that sequence under a per-process token. Limitations that follow:

* two replicas subscribed to the same Redis give the same packet two different event ids (the
  state machine still ignores the repeated status, but the audit shows it twice);
* ordering across processes relies on their wall clocks agreeing;
* a packet delayed in transit is ordered by when it arrived, not by when Enigma sent it.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from dialer.enigma.wire import WIRE
from state.domain import CampaignStatus, DialerNotification, NotificationKind

DIALER_NAME = "enigma"


class AgentPresenceState(StrEnum):
    """An agent's live state as Enigma reports it (not the campaign's *default* state)."""

    LOGGING_IN = "logging_in"
    AVAILABLE = "available"
    BUSY = "busy"
    WRAPUP = "wrapup"
    LOGGING_OUT = "logging_out"
    OFFLINE = "offline"


class CampaignStatusPacket(BaseModel):
    model_config = ConfigDict(frozen=True)

    ref: str
    status: CampaignStatus
    raw: dict[str, Any]


class AgentStatusPacket(BaseModel):
    model_config = ConfigDict(frozen=True)

    extension: str
    campaign_ref: str | None
    presence: AgentPresenceState
    raw: dict[str, Any]


class AgentPresence(BaseModel):
    """The latest presence of one agent, for the single-campaign view."""

    model_config = ConfigDict(frozen=True)

    agent_id: str
    campaign_ref: str | None
    presence: AgentPresenceState
    seen_at: datetime


class MalformedPacket(ValueError):
    pass


Packet = CampaignStatusPacket | AgentStatusPacket


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: str
    ref: str = Field(min_length=1)
    campaign_ref: str | None = Field(default=None, alias=WIRE.packet_campaign_ref)


def parse_packet(channel: str, data: bytes | str, prefix: str) -> Packet | None:
    """The packet on ``channel``; ``None`` for packet types the bot does not use.

    Raises ``MalformedPacket`` for anything that is not a well-formed status packet.
    """
    packet = _json_object(data)
    if packet.get(WIRE.packet_type) != WIRE.status_packet:
        return None
    try:
        payload = _Payload.model_validate(packet.get(WIRE.packet_payload))
    except ValueError as exc:
        raise MalformedPacket(f"bad payload on {channel}: {exc}") from exc
    if channel.startswith(prefix + WIRE.campaign_channels):
        return CampaignStatusPacket(
            ref=payload.ref, status=_campaign_status(payload.status), raw=packet
        )
    if channel.startswith(prefix + WIRE.agent_channels):
        return AgentStatusPacket(
            extension=payload.ref,
            campaign_ref=payload.campaign_ref or None,
            presence=_presence(payload.status),
            raw=packet,
        )
    raise MalformedPacket(f"packet on unexpected channel {channel}")


def _json_object(data: bytes | str) -> dict[str, Any]:
    try:
        packet = json.loads(data)
    except ValueError as exc:
        raise MalformedPacket(f"not JSON: {data!r:.200}") from exc
    if not isinstance(packet, dict):
        raise MalformedPacket(f"not a JSON object: {data!r:.200}")
    return packet


def _campaign_status(status: str) -> CampaignStatus:
    try:
        return WIRE.campaign_statuses[status]
    except KeyError:
        raise MalformedPacket(f"unknown campaign status {status!r}") from None


def _presence(status: str) -> AgentPresenceState:
    try:
        return AgentPresenceState(status)
    except ValueError:
        raise MalformedPacket(f"unknown agent status {status!r}") from None


@dataclass(frozen=True)
class Arrival:
    sequence: int
    at: datetime
    event_id: str


class ArrivalClock:
    """Stamps arrivals with strictly increasing wall-clock microseconds and unique event ids."""

    def __init__(self) -> None:
        self._token = secrets.token_hex(4)
        self._last = 0

    def stamp(self) -> Arrival:
        self._last = max(time.time_ns() // 1000, self._last + 1)
        at = datetime.fromtimestamp(self._last / 1_000_000, UTC)
        return Arrival(self._last, at, f"{DIALER_NAME}:{self._token}:{self._last}")


def status_notification(
    ref: str, status: CampaignStatus, arrival: Arrival, raw: dict[str, Any] | None = None
) -> DialerNotification:
    return DialerNotification(
        event_id=arrival.event_id,
        dialer=DIALER_NAME,
        kind=NotificationKind.STATUS,
        campaign_ref=ref,
        dialer_campaign_id=ref,
        sequence=arrival.sequence,
        occurred_at=arrival.at,
        status=status,
        raw=raw or {},
    )
