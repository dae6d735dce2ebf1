"""Everything this adapter assumes about LiveVox, in one table, and the pure functions that use it.

Sources: the "Appending Records to Active Campaigns" guide (seed 002) and the facts gathered in
``seeds/README.md``. Where neither says (the search body, the campaign shape, the statistics and
configuration field names, the state names), the entry is our best reading of LiveVox's public
Campaign API pages and is marked *assumed*: correct it here and nowhere else.

How LiveVox states become the bot's statuses (``VENDOR.states``)::

    LiveVox     meaning                                   bot status
    BUILDING    file uploaded, records being loaded       stopped
    BUILT       ready, never played                       stopped
    PLAYING     dialling                                  running
    PAUSED      paused by the bot's stop (resumable)      stopped
    STOPPED     ended for good: no dialling, no appends   deleted   (the bot's delete sends STOP)
    DONE        out of dialable records                   completed
    REPORTED    closed by LiveVox's end-of-day report     completed

LiveVox has no transitional "pausing" state, so the bot never sees ``stopping`` from it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from dialer.models import CampaignSettings, CampaignStatus, Contact, EndHandle, NewCampaign


@dataclass(frozen=True)
class LiveVoxVocabulary:
    # -- session (seed 002, README) ----------------------------------------------------------
    login_path: str = "session/login"
    access_header: str = "LV-Access"
    session_header: str = "LV-Session"
    login_fields: tuple[str, str, str] = ("clientName", "userName", "password")
    session_id_field: str = "sessionId"
    session_idle_seconds: float = 2 * 60 * 60  # a session lapses after 2 h without use

    # -- campaigns (README; the paths of read and configuration are assumed) -----------------
    upload_path: str = "campaign/campaigns"  # POST campaignFile + campaignConfiguration
    search_path: str = "campaign/campaigns/search"  # POST Find Matching Campaigns
    read_path: str = "campaign/campaigns/{id}"  # GET, assumed
    configuration_path: str = "campaign/campaigns/{id}/configuration"  # PUT, assumed
    state_path: str = "campaign/campaigns/{id}/state"  # PUT {"state": PLAY|PAUSE|STOP|BUILD}
    append_path: str = "campaign/campaigns/{id}/transactions"  # PUT {"records": [...]} -> 204

    # -- upload body (README; the file's columns and configuration keys are assumed) ---------
    file_field: str = "campaignFile"  # base64 of a CSV, header only: leads are appended later
    file_columns: tuple[str, ...] = ("ACCOUNT", "PHONE1")
    configuration_field: str = "campaignConfiguration"
    name_max_length: int = 100  # assumed
    outbound_type: int = 1  # "type" 1 is Outbound (seed 002)

    # -- search (seed 002: 10 records a page, from/to in ms since the epoch) ------------------
    search_page_size: int = 10
    search_items_field: str = "campaign"
    search_count_param: str = "count"
    search_offset_param: str = "offset"

    # -- the campaign as search and read return it (assumed) ----------------------------------
    id_field: str = "id"
    name_field: str = "name"
    state_field: str = "state"
    allow_append_field: str = "allowAppend"
    strategy_field: str = "dialingStrategy"
    statistics_field: str = "statistics"
    # The real-time counters of seed 002, LiveVox's name -> the bot's counter name.
    counters: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType(
            {
                "uploaded": "uploaded",
                "loaded": "loaded",
                "completed": "completed",
                "remaining": "remaining",
                "percentDone": "percent_done",
            }
        )
    )
    # CampaignSettings field -> the dialing-strategy key it travels as (assumed).
    strategy: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType(
            {
                "aggression": "pacing",
                "dial_timeout_seconds": "ringSeconds",
                "max_attempts": "maxAttempts",
                "retry_interval_minutes": "retryMinutes",
                "end_handle": "reportAtEndOfDay",  # true keeps it open for appends: continue
            }
        )
    )

    # -- states ---------------------------------------------------------------------------
    states: Mapping[str, CampaignStatus] = field(
        default_factory=lambda: MappingProxyType(
            {
                "BUILDING": CampaignStatus.STOPPED,
                "BUILT": CampaignStatus.STOPPED,
                "PLAYING": CampaignStatus.RUNNING,
                "PAUSED": CampaignStatus.STOPPED,
                "STOPPED": CampaignStatus.DELETED,
                "DONE": CampaignStatus.COMPLETED,
                "REPORTED": CampaignStatus.COMPLETED,
            }
        )
    )
    building_state: str = "BUILDING"
    creation_states: frozenset[str] = frozenset({"BUILDING", "BUILT"})
    appendable_states: frozenset[str] = frozenset({"BUILT", "PAUSED", "PLAYING"})
    deletable_states: frozenset[str] = frozenset({"BUILT", "PAUSED", "DONE", "REPORTED"})
    play: str = "PLAY"
    pause: str = "PAUSE"
    stop: str = "STOP"

    # -- appends (seed 002) ---------------------------------------------------------------
    append_max_records: int = 10_000
    append_calls_per_window: int = 5
    append_window_seconds: float = 60.0
    phone_field: str = "phone1"
    more_phones_field: str = "phone2"  # a list, up to 29 numbers
    account_field: str = "account"  # carries the bot's contact ref
    extra_fields_field: str = "customFields"  # assumed

    # -- errors (assumed) -----------------------------------------------------------------
    error_message_fields: tuple[str, ...] = ("message", "detail", "error")


VENDOR = LiveVoxVocabulary()

# The bot's refs look like ``c-20261123-7kq2``; the campaign name starts with one.
_REF_IN_NAME = re.compile(r"^(c-\d{8}-[A-Za-z0-9]+)(?:\s|$)")


@dataclass(frozen=True)
class LiveVoxCampaign:
    """One campaign as LiveVox reports it, already read out of its JSON."""

    id: str
    name: str
    state: str
    ref: str | None
    allow_append: bool
    settings: CampaignSettings | None
    counters: dict[str, int]

    @property
    def status(self) -> CampaignStatus:
        return VENDOR.states[self.state]


class UnreadableCampaign(ValueError):
    """LiveVox returned a campaign this table cannot read (an unknown state, a missing id)."""


def campaign_name(campaign: NewCampaign) -> str:
    return f"{campaign.ref} {campaign.name}"[: VENDOR.name_max_length]


def ref_from_name(name: str) -> str | None:
    match = _REF_IN_NAME.match(name)
    return match.group(1) if match else None


def login_body(client_name: str, user_name: str, password: str) -> dict[str, str]:
    return dict(zip(VENDOR.login_fields, (client_name, user_name, password), strict=True))


def strategy_body(settings: CampaignSettings) -> dict[str, Any]:
    values = settings.model_dump()
    values["end_handle"] = settings.end_handle is EndHandle.CONTINUE
    return {VENDOR.strategy[name]: values[name] for name in VENDOR.strategy}


def settings_from_strategy(strategy: Mapping[str, Any]) -> CampaignSettings | None:
    """The bot's settings back from a dialing strategy, or None when it is not all there."""
    try:
        values = {name: strategy[key] for name, key in VENDOR.strategy.items()}
    except KeyError:
        return None
    values["end_handle"] = EndHandle.CONTINUE if values["end_handle"] else EndHandle.STOP
    try:
        return CampaignSettings.model_validate(values)
    except ValueError:
        return None


def upload_body(
    campaign: NewCampaign, *, service_id: str, caller_id: str, allow_append: bool = True
) -> dict[str, Any]:
    header = ",".join(VENDOR.file_columns) + "\r\n"
    return {
        VENDOR.file_field: base64.b64encode(header.encode()).decode(),
        VENDOR.configuration_field: {
            VENDOR.name_field: campaign_name(campaign),
            "service": service_id,
            "callerId": caller_id,
            "type": VENDOR.outbound_type,
            "appendable": allow_append,
            VENDOR.strategy_field: strategy_body(campaign.settings),
        },
    }


def search_body(
    *, service_id: str, states: Sequence[str], from_ms: int, to_ms: int
) -> dict[str, Any]:
    return {
        "service": service_id,
        "state": list(states),
        "type": VENDOR.outbound_type,
        "from": from_ms,
        "to": to_ms,
    }


def search_params(offset: int) -> dict[str, int]:
    return {VENDOR.search_count_param: VENDOR.search_page_size, VENDOR.search_offset_param: offset}


def state_body(state: str) -> dict[str, str]:
    return {"state": state}


def record(contact: Contact) -> dict[str, Any]:
    first, *more = contact.phone_numbers
    body: dict[str, Any] = {VENDOR.phone_field: first, VENDOR.account_field: contact.ref}
    if more:
        body[VENDOR.more_phones_field] = more
    if contact.fields:
        body[VENDOR.extra_fields_field] = dict(contact.fields)
    return body


def append_body(contacts: Sequence[Contact]) -> dict[str, Any]:
    return {"records": [record(c) for c in contacts]}


def parse_campaign(item: Mapping[str, Any]) -> LiveVoxCampaign:
    try:
        campaign_id = str(item[VENDOR.id_field])
        state = str(item[VENDOR.state_field]).upper()
    except KeyError as missing:
        raise UnreadableCampaign(f"a LiveVox campaign without {missing}") from None
    if state not in VENDOR.states:
        raise UnreadableCampaign(f"LiveVox campaign {campaign_id} is in unknown state {state!r}")
    name = str(item.get(VENDOR.name_field) or "")
    strategy = item.get(VENDOR.strategy_field)
    return LiveVoxCampaign(
        id=campaign_id,
        name=name,
        state=state,
        ref=ref_from_name(name),
        allow_append=bool(item.get(VENDOR.allow_append_field, False)),
        settings=settings_from_strategy(strategy) if isinstance(strategy, Mapping) else None,
        counters=parse_counters(item.get(VENDOR.statistics_field)),
    )


def parse_counters(statistics: object) -> dict[str, int]:
    if not isinstance(statistics, Mapping):
        return {}
    counters: dict[str, int] = {}
    for vendor_name, ours in VENDOR.counters.items():
        value = statistics.get(vendor_name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            counters[ours] = round(value)
    return counters


def error_message(body: object) -> str | None:
    if isinstance(body, Mapping):
        for key in VENDOR.error_message_fields:
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    return None
