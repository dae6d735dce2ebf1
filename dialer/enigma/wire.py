"""What the bot assumes about Enigma's wire formats, and the (de)serialisation built on it.

Teleforge does not publish the paths or JSON of Enigma's campaign API. ``WIRE`` below is the ONE
table of every such assumption — HTTP routes, the auth header, JSON field names, status strings,
error codes and the Pub/Sub channel layout. Correct it against a real installation; nothing else
in ``dialer.enigma`` (nor the local stand-in in ``tests/standins/enigma.py``) hard-codes a vendor
name. What is *known* (from Teleforge's guide and public material) is marked so in the comments.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dialer.models import Contact, DialerCampaign, NewCampaign
from state.domain import (
    AGGRESSION_MAX,
    AGGRESSION_MIN,
    AgentAssignment,
    AgentDefaultState,
    CampaignSettings,
    CampaignStatus,
    EndHandle,
)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # ``{ref}`` is replaced by the URL-quoted campaign reference

    def url(self, ref: str | None = None) -> str:
        return self.path if ref is None else self.path.format(ref=quote(ref, safe=""))


def _frozen(mapping: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class EnigmaWire:
    # --- HTTP routes (ASSUMED). Enigma addresses a campaign by the reference the bot gave it.
    list_campaigns: Route = Route("GET", "/api/v1/campaigns")
    create_campaign: Route = Route("POST", "/api/v1/campaigns")
    get_campaign: Route = Route("GET", "/api/v1/campaigns/{ref}")
    modify_campaign: Route = Route("PATCH", "/api/v1/campaigns/{ref}")  # settings, state, agents
    delete_campaign: Route = Route("DELETE", "/api/v1/campaigns/{ref}")
    add_contacts: Route = Route("POST", "/api/v1/campaigns/{ref}/contacts")
    add_agents: Route = Route("POST", "/api/v1/campaigns/{ref}/agents")
    remove_agents: Route = Route("POST", "/api/v1/campaigns/{ref}/agents/remove")

    # --- Auth (ASSUMED): the API key in one header; no header when no key is configured.
    auth_header: str = "Authorization"
    auth_template: str = "Bearer {key}"

    # --- Campaign JSON (ASSUMED). A list answers ``{"campaigns": [...]}``, unpaged.
    campaigns_envelope: str = "campaigns"
    ref: str = "ref"
    name: str = "name"
    description: str = "description"
    status: str = "status"  # a campaign's status, and the target state in a modify request
    settings: str = "settings"
    agents: str = "agents"  # a list of extensions
    agent_default_state: str = "agent_default_state"  # one per campaign: offline | available
    counters: str = "counters"

    # --- The settings object (ASSUMED names; aggression is Enigma's pacing knob — KNOWN).
    aggression: str = "aggression"
    aggression_range: tuple[int, int] = (1, 100)  # ASSUMED: Enigma's own scale
    end_handle: str = "on_exhausted"
    dial_timeout: str = "ring_timeout"
    max_attempts: str = "max_attempts"
    retry_interval: str = "retry_delay_minutes"
    end_handles: Mapping[str, str] = field(
        default_factory=lambda: _frozen({EndHandle.STOP: "complete", EndHandle.CONTINUE: "wait"})
    )

    # --- Contacts (ASSUMED names). Ref charset and 230-character cut are KNOWN.
    contacts: str = "contacts"
    phone_numbers: str = "phone_numbers"
    contact_data: str = "data"

    # --- Status strings. Packet statuses are KNOWN; that the API reuses them is ASSUMED.
    started: str = "started"
    stopping: str = "stopping"
    stopped: str = "stopped"
    completed: str = "completed"

    # --- Error body (ASSUMED): ``{"error": {"code": ..., "message": ...}}`` on every 4xx/5xx.
    error: str = "error"
    error_code: str = "code"
    error_message: str = "message"
    duplicate_contact_code: str = "duplicate_contact"  # sent with 409

    # --- Pub/Sub (KNOWN). Source: Teleforge's Enigma documentation space (EPD), page "Campaign
    # Status": channel ``enigma:notifications:campaigns:<campaign_ref>``, packet
    # ``{type: "status", payload: {status, ref}}``, statuses started / stopping / stopped /
    # completed (stopping while callees are still on the line; completed once every callee and
    # retry is done). Agent channels: the same space's "Agent Status" page (its fields not
    # re-read against this table: treat ``packet_campaign_ref`` as ASSUMED until they are).
    campaign_channels: str = "campaigns:"
    agent_channels: str = "agents:"
    packet_type: str = "type"
    packet_payload: str = "payload"
    status_packet: str = "status"
    packet_campaign_ref: str = "campaign_ref"  # agent packets; the campaign packet uses ``ref``

    @property
    def campaign_statuses(self) -> Mapping[str, CampaignStatus]:
        return {
            self.started: CampaignStatus.RUNNING,
            self.stopping: CampaignStatus.STOPPING,
            self.stopped: CampaignStatus.STOPPED,
            self.completed: CampaignStatus.COMPLETED,
        }


WIRE = EnigmaWire()
"""The assumptions in force. A real installation that differs needs only this table changed."""


class EnigmaFormatError(ValueError):
    """Enigma answered JSON we cannot read: a wrong assumption in ``WIRE`` or a broken reply."""


# --- aggression: the bot's 1..100 onto Enigma's own range, and back -------------------------


def to_enigma_aggression(aggression: int) -> int:
    low, high = WIRE.aggression_range
    share = (aggression - AGGRESSION_MIN) / (AGGRESSION_MAX - AGGRESSION_MIN)
    return round(low + share * (high - low))


def from_enigma_aggression(value: int) -> int:
    low, high = WIRE.aggression_range
    share = (value - low) / (high - low)
    bot_value = round(AGGRESSION_MIN + share * (AGGRESSION_MAX - AGGRESSION_MIN))
    return min(max(bot_value, AGGRESSION_MIN), AGGRESSION_MAX)


# --- request bodies ----------------------------------------------------------------------------


def settings_json(settings: CampaignSettings) -> dict[str, Any]:
    return {
        WIRE.aggression: to_enigma_aggression(settings.aggression),
        WIRE.end_handle: WIRE.end_handles[settings.end_handle],
        WIRE.dial_timeout: settings.dial_timeout_seconds,
        WIRE.max_attempts: settings.max_attempts,
        WIRE.retry_interval: settings.retry_interval_minutes,
    }


def create_body(campaign: NewCampaign, default_state: AgentDefaultState) -> dict[str, Any]:
    return {
        WIRE.ref: campaign.ref,
        WIRE.name: campaign.name,
        WIRE.description: campaign.detail,
        WIRE.settings: settings_json(campaign.settings),
        WIRE.agents: [agent.agent_id for agent in campaign.agents],
        WIRE.agent_default_state: default_state.value,
    }


def modify_settings_body(ref: str, settings: CampaignSettings) -> dict[str, Any]:
    """Only the ref and the settings object, as Teleforge's guide asks."""
    return {WIRE.ref: ref, WIRE.settings: settings_json(settings)}


def modify_state_body(ref: str, running: bool) -> dict[str, Any]:
    return {WIRE.ref: ref, WIRE.status: WIRE.started if running else WIRE.stopped}


def modify_default_state_body(ref: str, state: AgentDefaultState) -> dict[str, Any]:
    return {WIRE.ref: ref, WIRE.agent_default_state: state.value}


def agents_body(agent_ids: Sequence[str]) -> dict[str, Any]:
    return {WIRE.agents: list(agent_ids)}


def contacts_body(contacts: Sequence[Contact]) -> dict[str, Any]:
    return {
        WIRE.contacts: [
            {
                WIRE.ref: contact.ref,
                WIRE.phone_numbers: list(contact.phone_numbers),
                WIRE.contact_data: dict(contact.fields),
            }
            for contact in contacts
        ]
    }


# --- responses ---------------------------------------------------------------------------------


class _SettingsJson(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    aggression: int = Field(alias=WIRE.aggression)
    end_handle: str | None = Field(default=None, alias=WIRE.end_handle)
    dial_timeout: int | None = Field(default=None, alias=WIRE.dial_timeout)
    max_attempts: int | None = Field(default=None, alias=WIRE.max_attempts)
    retry_interval: int | None = Field(default=None, alias=WIRE.retry_interval)


class _CampaignJson(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    ref: str = Field(min_length=1, alias=WIRE.ref)
    name: str = Field(default="", alias=WIRE.name)
    status: str = Field(alias=WIRE.status)
    settings: _SettingsJson | None = Field(default=None, alias=WIRE.settings)
    agents: list[str] = Field(default_factory=list, alias=WIRE.agents)
    agent_default_state: AgentDefaultState = Field(
        default=AgentDefaultState.OFFLINE, alias=WIRE.agent_default_state
    )
    counters: dict[str, int] = Field(default_factory=dict, alias=WIRE.counters)


def _settings_from(raw: _SettingsJson) -> CampaignSettings:
    defaults = CampaignSettings()
    end_handles = {vendor: ours for ours, vendor in WIRE.end_handles.items()}
    return CampaignSettings(
        aggression=from_enigma_aggression(raw.aggression),
        end_handle=EndHandle(end_handles.get(raw.end_handle or "", defaults.end_handle)),
        dial_timeout_seconds=raw.dial_timeout or defaults.dial_timeout_seconds,
        max_attempts=raw.max_attempts or defaults.max_attempts,
        retry_interval_minutes=raw.retry_interval or defaults.retry_interval_minutes,
    )


def campaign_from_json(data: object) -> DialerCampaign:
    try:
        raw = _CampaignJson.model_validate(data)
        status = WIRE.campaign_statuses.get(raw.status)
        if status is None:
            raise EnigmaFormatError(f"unknown campaign status {raw.status!r}")
        return DialerCampaign(
            ref=raw.ref,
            dialer_id=raw.ref,
            name=raw.name or raw.ref,
            status=status,
            settings=_settings_from(raw.settings) if raw.settings else None,
            agents=tuple(
                AgentAssignment(agent_id=agent, default_state=raw.agent_default_state)
                for agent in raw.agents
            ),
            counters=raw.counters,
        )
    except ValidationError as exc:
        raise EnigmaFormatError(f"unreadable campaign: {exc.errors(include_url=False)}") from exc


def campaigns_from_json(data: object) -> list[DialerCampaign]:
    if not isinstance(data, dict) or not isinstance(data.get(WIRE.campaigns_envelope), list):
        raise EnigmaFormatError(f"a campaign list is an object with a {WIRE.campaigns_envelope!r}")
    return [campaign_from_json(item) for item in data[WIRE.campaigns_envelope]]


def error_from_json(data: object) -> tuple[str | None, str | None]:
    """The vendor's error code and message, when the body has them."""
    if not isinstance(data, dict) or not isinstance(data.get(WIRE.error), dict):
        return None, None
    body = data[WIRE.error]
    code, message = body.get(WIRE.error_code), body.get(WIRE.error_message)
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
    )
