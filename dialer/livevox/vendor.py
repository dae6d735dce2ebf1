"""Everything this adapter assumes about LiveVox, in one table, and the pure functions that use it.

Every entry of ``LiveVoxVocabulary`` has a row in ``SOURCES`` (same name) that says where it comes
from, or says *assumed* and what would confirm it. Correct an entry here and nowhere else.

Sources:

    LiveVox.NET  the public client github.com/Spire-Recovery-Solutions/LiveVox.NET (commit
                 629e007), models under ``LiveVox.NET/Models/Campaign`` and ``Models/Session``:
                 the paths, the request and answer bodies, the status names
    info sheet   docs.livevox.com "Adding/Appending Records to Active Campaigns": appends only to
                 today's campaigns with Allow Append, in Built, Pause or Play status, at most 5
                 calls per rolling minute, up to 30 phone numbers per record
    Campaign API docs.livevox.com "Campaign API": Append Campaign Record on built, playing or
                 paused campaigns, 5 calls a minute

Where a client's code and LiveVox's prose disagree the code wins and the row says so: the file
object's keys are ``FileName``/``Data``/``ContentType`` as LiveVox.NET spells them (its
``CampaignFIle.cs`` overrides its camelCase policy to write them so).

How a campaign's ``status`` becomes the bot's status (``VENDOR.states``)::

    LiveVox             meaning                                        bot status
    LOADING             the uploaded file is being loaded              stopped
    SCHEDULED_UNBUILT   scheduled, records not built yet               stopped
    READY_UNBUILT       on demand, records not built yet               stopped
    SCHEDULED           built, waits for its schedule                  stopped
    READY               built, never played                            stopped
    PLAYING             dialling                                       running
    PAUSED              paused by the bot's stop (resumable)           stopped
    DONE                out of dialable records                        completed
    REPORTED            closed by LiveVox's end-of-day report          completed
    STOPPED             ended for good (the bot's delete sends STOP)   deleted
    DEACTIVATED         deactivated                                    deleted
    anything else       logged, counted, and read as                   stopped

LiveVox has no transitional "pausing" state, so the bot never sees ``stopping`` from it.
"""

from __future__ import annotations

import base64
import logging
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from dialer.models import Contact, DialerCapabilities, NewCampaign
from state.domain import CampaignSettings, CampaignStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveVoxVocabulary:
    # -- session --------------------------------------------------------------------------
    login_path: str = "session/login"
    access_header: str = "LV-Access"
    session_header: str = "LV-Session"
    login_fields: tuple[str, str, str] = ("clientName", "userName", "password")
    session_id_field: str = "sessionId"
    client_id_field: str = "clientId"
    session_idle_seconds: float = 2 * 60 * 60  # a session lapses after 2 h without use

    # -- campaign paths -------------------------------------------------------------------
    upload_path: str = "campaign/campaigns"  # POST campaignFile + campaignConfiguration -> {id}
    search_path: str = "campaign/campaigns/search"  # POST Find Matching Campaigns
    read_path: str = "campaign/campaigns/{id}"  # GET
    update_path: str = "campaign/campaigns/{id}"  # PUT the configuration fields to change
    state_path: str = "campaign/campaigns/{id}/state"  # PUT {"state": PLAY|PAUSE|STOP|BUILD}
    append_path: str = "campaign/campaigns/{id}/transactions"  # PUT {"records": [...]}

    # -- upload body ----------------------------------------------------------------------
    file_field: str = "campaignFile"
    file_name_key: str = "FileName"  # the campaign's name is its file's name
    file_data_key: str = "Data"  # base64 of the file
    file_content_type_key: str = "ContentType"
    file_content_type: str = "application/octet-stream"
    file_columns: tuple[str, ...] = ("ACCOUNT", "PHONE1")  # header only: leads are appended
    name_max_length: int = 100
    configuration_field: str = "campaignConfiguration"
    service_field: str = "serviceId"
    caller_id_field: str = "callerId"
    strategy_field: str = "dialingStrategyId"
    appendable_field: str = "appendable"
    type_field: str = "typeId"
    voice_field: str = "voiceId"
    answering_machine_field: str = "answeringMachineOption"
    answering_machine_options: frozenset[str] = frozenset(
        {"LEAVE_MESSAGES", "NO_MESSAGES", "TRANSFER"}
    )
    outbound_type: int = 1

    # -- search (Find Matching Campaigns) -------------------------------------------------
    search_date_range_field: str = "dateRange"  # {"from": ms, "to": ms}, required
    search_service_field: str = "service"  # a list of service ids
    search_type_field: str = "type"  # a list of campaign type ids
    search_status_filter_field: str = "state"  # a list of statuses; optional, not sent
    search_page_size: int = 1000
    search_client_param: str = "client"
    search_count_param: str = "count"
    search_offset_param: str = "offset"
    search_items_field: str = "campaign"
    search_next_field: str = "next"

    # -- the campaign as search and read return it ----------------------------------------
    id_field: str = "id"  # in search entries; a read answers for the id in its path
    name_field: str = "name"
    status_field: str = "status"
    upload_date_field: str = "uploadDate"  # milliseconds since the epoch, as a string
    statistics_field: str = "statistics"
    # -- agents: not part of a campaign (see CAPABILITIES) ---------------------------------
    agents_managed_in: str = (
        "LiveVox's console: an agent takes a campaign's calls by logging into its service"
    )
    # LiveVox's real-time counter name -> the bot's counter name.
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

    # -- statuses -------------------------------------------------------------------------
    states: Mapping[str, CampaignStatus] = field(
        default_factory=lambda: MappingProxyType(
            {
                "LOADING": CampaignStatus.STOPPED,
                "SCHEDULED_UNBUILT": CampaignStatus.STOPPED,
                "READY_UNBUILT": CampaignStatus.STOPPED,
                "SCHEDULED": CampaignStatus.STOPPED,
                "READY": CampaignStatus.STOPPED,
                "PLAYING": CampaignStatus.RUNNING,
                "PAUSED": CampaignStatus.STOPPED,
                "DONE": CampaignStatus.COMPLETED,
                "REPORTED": CampaignStatus.COMPLETED,
                "STOPPED": CampaignStatus.DELETED,
                "DEACTIVATED": CampaignStatus.DELETED,
            }
        )
    )
    unknown_state_status: CampaignStatus = CampaignStatus.STOPPED
    loading_state: str = "LOADING"
    unbuilt_states: frozenset[str] = frozenset({"READY_UNBUILT", "SCHEDULED_UNBUILT"})
    creation_states: frozenset[str] = frozenset(
        {"LOADING", "READY_UNBUILT", "SCHEDULED_UNBUILT", "READY", "SCHEDULED"}
    )
    appendable_states: frozenset[str] = frozenset({"READY", "SCHEDULED", "PAUSED", "PLAYING"})
    deletable_states: frozenset[str] = frozenset(
        {"READY_UNBUILT", "SCHEDULED_UNBUILT", "READY", "SCHEDULED", "PAUSED", "DONE", "REPORTED"}
    )
    play: str = "PLAY"
    pause: str = "PAUSE"
    stop: str = "STOP"
    build: str = "BUILD"

    # -- appends --------------------------------------------------------------------------
    append_max_records: int = 10_000
    append_calls_per_window: int = 5
    append_window_seconds: float = 60.0
    phone_field: str = "phone1"
    more_phones_field: str = "phone2"  # a list, up to 29 numbers
    more_phones_max: int = 29
    account_field: str = "account"  # carries the bot's contact ref
    # The record's free "additional account information" fields, filled with "name: value".
    extra_fields: tuple[str, ...] = (
        "extra2",
        "extra3",
        "extra4",
        "extra5",
        "extra8",
        "extra16",
        "extra19",
        "extra20",
    )
    extra_max_length: int = 50

    # -- errors ---------------------------------------------------------------------------
    error_message_fields: tuple[str, ...] = ("message", "detail", "error")


VENDOR = LiveVoxVocabulary()

_NET = "LiveVox.NET"
_CAMPAIGN = f"{_NET} LiveVox.NET/Models/Campaign"
_INFO = 'docs.livevox.com "Adding/Appending Records to Active Campaigns"'
_API = 'docs.livevox.com "Campaign API"'

# Where each entry of ``LiveVoxVocabulary`` comes from: a source, or "assumed" and what confirms it.
SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "login_path": f"{_NET} LiveVox.NET/Models/Session/SessionLoginRequest.cs",
        "access_header": f"{_NET} LiveVox.NET/LiveVoxClient.cs (login takes LV-Access)",
        "session_header": f"{_NET} LiveVox.NET/LiveVoxClient.cs (every call sends LV-Session)",
        "login_fields": f"{_NET} LiveVox.NET/Models/Session/SessionLoginRequest.cs, camelCase by "
        "LiveVox.NET/Models/LiveVoxSerializerContext.cs",
        "session_id_field": f"{_NET} LiveVox.NET/Models/Session/SessionLoginResponse.cs",
        "client_id_field": f"{_NET} LiveVox.NET/Models/Session/SessionLoginResponse.cs",
        "session_idle_seconds": f"{_NET} LiveVox.NET/LiveVoxClient.cs (sessions expire after 2 "
        "hours without activity)",
        "upload_path": f"{_CAMPAIGN}/Requests/CreateCampaignRequest.cs (POST)",
        "search_path": f"{_CAMPAIGN}/Requests/SearchCampaignRequest.cs (POST)",
        "read_path": f"{_CAMPAIGN}/Requests/ReadCampaignRequest.cs (GET)",
        "update_path": f"{_CAMPAIGN}/Requests/UpdateCampaignRequest.cs (PUT)",
        "state_path": f"{_CAMPAIGN}/Requests/UpdateCampaignStateRequest.cs (PUT)",
        "append_path": f"{_CAMPAIGN}/Requests/AppendCampaignRequest.cs (PUT)",
        "file_field": f"{_CAMPAIGN}/Requests/CreateCampaignRequest.cs",
        "file_name_key": f"{_CAMPAIGN}/Common/CampaignFIle.cs (code preferred: the issue's prose "
        "says fileName; the client writes FileName)",
        "file_data_key": f"{_CAMPAIGN}/Common/CampaignFIle.cs (byte[], so base64 in JSON)",
        "file_content_type_key": f"{_CAMPAIGN}/Common/CampaignFIle.cs",
        "file_content_type": f"{_CAMPAIGN}/Common/CampaignFIle.cs (its example value)",
        "file_columns": "assumed: the service's input filter decides the columns; confirm "
        "with the LiveVox input filter of LIVEVOX_SERVICE_ID",
        "name_max_length": "assumed: no source gives a limit; CampaignFIle.cs says the file "
        "name must match the input filter's naming pattern",
        "configuration_field": f"{_CAMPAIGN}/Requests/CreateCampaignRequest.cs",
        "service_field": f"{_CAMPAIGN}/Common/CampaignConfiguration.cs (required, an integer)",
        "caller_id_field": f"{_CAMPAIGN}/Common/CampaignConfiguration.cs",
        "strategy_field": f"{_CAMPAIGN}/Common/CampaignConfiguration.cs (required) and "
        "Requests/UpdateCampaignRequest.cs",
        "appendable_field": f"{_CAMPAIGN}/Common/CampaignConfiguration.cs",
        "type_field": f"{_CAMPAIGN}/Common/CampaignConfiguration.cs (required)",
        "voice_field": f"{_CAMPAIGN}/Common/CampaignConfiguration.cs (required)",
        "answering_machine_field": f"{_CAMPAIGN}/Common/CampaignConfiguration.cs (required)",
        "answering_machine_options": f"{_CAMPAIGN}/Enumerations/CampaignAnsweringMachineOption.cs",
        "outbound_type": f"{_CAMPAIGN}/Enumerations/CampaignType.cs (1 is Outbound)",
        "search_date_range_field": f"{_CAMPAIGN}/Requests/SearchCampaignRequest.cs (required) and "
        "Common/DateRange.cs; milliseconds as strings by "
        "LiveVox.NET/Converter/DateTimeOffsetToUtcMillisecondStringConverter.cs",
        "search_service_field": f"{_CAMPAIGN}/Requests/SearchCampaignRequest.cs (List<int>)",
        "search_type_field": f"{_CAMPAIGN}/Requests/SearchCampaignRequest.cs (a collection)",
        "search_status_filter_field": f"{_CAMPAIGN}/Requests/SearchCampaignRequest.cs (optional; "
        "the bot leaves it out so that STOPPED campaigns come back too)",
        "search_page_size": f"{_CAMPAIGN}/Requests/SearchCampaignRequest.cs (hard cap 1000)",
        "search_client_param": f"{_CAMPAIGN}/Requests/SearchCampaignRequest.cs (query)",
        "search_count_param": f"{_CAMPAIGN}/Requests/SearchCampaignRequest.cs (query)",
        "search_offset_param": f"{_CAMPAIGN}/Requests/SearchCampaignRequest.cs (query)",
        "search_items_field": f"{_CAMPAIGN}/Responses/SearchCampaignResponse.cs",
        "search_next_field": f"{_CAMPAIGN}/Responses/SearchCampaignResponse.cs (absent or blank "
        "on the last page)",
        "id_field": f"{_CAMPAIGN}/Common/CampaignEntry.cs; Responses/ReadCampaignResponse.cs has "
        "no id",
        "name_field": f"{_CAMPAIGN}/Common/CampaignEntry.cs, Responses/ReadCampaignResponse.cs",
        "status_field": f"{_CAMPAIGN}/Common/CampaignEntry.cs, Responses/ReadCampaignResponse.cs "
        "(status, not state)",
        "upload_date_field": f"{_CAMPAIGN}/Common/CampaignEntry.cs",
        "statistics_field": "assumed: neither the search entry nor the read carries counters; "
        "read only when present; confirm with the Campaign API Swagger",
        "counters": "assumed: as statistics_field",
        "agents_managed_in": f"{_CAMPAIGN}/Requests (no campaign request or configuration names "
        f"agents); {_NET} LiveVox.NET/Models/Call/Common/Agent/Service.cs (agents log into a "
        "service, whose campaigns they then take)",
        "states": f"{_CAMPAIGN}/Requests/SearchCampaignRequest.cs (LOADING, SCHEDULED_UNBUILT, "
        "READY_UNBUILT, SCHEDULED, READY, REPORTED, DONE, PLAYING, PAUSED; DEACTIVATED and BROKEN "
        "besides); STOPPED from Enumerations/CampaignStatus.cs; the bot statuses are ours",
        "unknown_state_status": "ours: an unknown status dials nothing the bot knows of",
        "loading_state": f"{_CAMPAIGN}/Requests/SearchCampaignRequest.cs",
        "unbuilt_states": f"{_CAMPAIGN}/Requests/SearchCampaignRequest.cs; BUILD from "
        "Requests/UpdateCampaignStateRequest.cs",
        "creation_states": "ours: the statuses before a first PLAY",
        "appendable_states": f"{_INFO} (Built, Pause or Play); READY and SCHEDULED as the built "
        "statuses is our reading of the *_UNBUILT names",
        "deletable_states": "assumed: no source says from which statuses STOP is taken; we "
        "refuse it while PLAYING or LOADING",
        "play": f"{_CAMPAIGN}/Enumerations/CampaignState.cs",
        "pause": f"{_CAMPAIGN}/Enumerations/CampaignState.cs",
        "stop": f"{_CAMPAIGN}/Enumerations/CampaignState.cs",
        "build": f"{_CAMPAIGN}/Enumerations/CampaignState.cs",
        "append_max_records": "assumed: the Campaign API page's append limits are cut off where "
        "we could read them; confirm the records-per-call cap there",
        "append_calls_per_window": f"{_INFO} (not more than 5 times per rolling minute); {_API}",
        "append_window_seconds": f"{_INFO}",
        "phone_field": f"{_CAMPAIGN}/Common/CampaignTransaction.cs (required)",
        "more_phones_field": f"{_CAMPAIGN}/Common/CampaignTransaction.cs (string[])",
        "more_phones_max": f"{_INFO} (up to 30 phone numbers per record)",
        "account_field": f"{_CAMPAIGN}/Common/CampaignTransaction.cs",
        "extra_fields": f"{_CAMPAIGN}/Common/CampaignTransaction.cs (the extras it calls "
        "additional account information; the others carry agent, callback and zip data)",
        "extra_max_length": f"{_CAMPAIGN}/Common/CampaignTransaction.cs (MaxLength 50)",
        "error_message_fields": "assumed: no source shows LiveVox's error body",
    }
)

# Statuses seen that the table does not know, and how often: each is logged once.
UNKNOWN_STATES: Counter[str] = Counter()

# The bot's refs look like ``c-20261123-7kq2``; the campaign name starts with one.
_REF_IN_NAME = re.compile(r"^(c-\d{8}-[A-Za-z0-9]+)(?:\s|$)")


@dataclass(frozen=True)
class LiveVoxCampaign:
    """One campaign as LiveVox reports it, already read out of its JSON."""

    id: str
    name: str
    state: str
    ref: str | None
    settings: CampaignSettings | None
    counters: dict[str, int]
    dialing_strategy_id: int | None = None

    @property
    def status(self) -> CampaignStatus:
        return status_of(self.state)


class UnreadableCampaign(ValueError):
    """LiveVox returned a campaign this table cannot read (no id, no status)."""


def status_of(state: str) -> CampaignStatus:
    return VENDOR.states.get(state, VENDOR.unknown_state_status)


def campaign_name(campaign: NewCampaign) -> str:
    return f"{campaign.ref} {campaign.name}"[: VENDOR.name_max_length]


def ref_from_name(name: str) -> str | None:
    match = _REF_IN_NAME.match(name)
    return match.group(1) if match else None


def login_body(client_name: str, user_name: str, password: str) -> dict[str, str]:
    return dict(zip(VENDOR.login_fields, (client_name, user_name, password), strict=True))


def strategy_for(aggression: int, default: int, by_aggression: Mapping[int, int]) -> int:
    """The dialing strategy for an aggression: the one of the highest floor at or below it."""
    floors = [floor for floor in by_aggression if floor <= aggression]
    return by_aggression[max(floors)] if floors else default


def upload_body(
    campaign: NewCampaign,
    *,
    service_id: int,
    caller_id: str,
    dialing_strategy_id: int,
    voice_id: int,
    answering_machine: str,
    allow_append: bool = True,
) -> dict[str, Any]:
    header = ",".join(VENDOR.file_columns) + "\r\n"
    configuration: dict[str, Any] = {
        VENDOR.service_field: service_id,
        VENDOR.strategy_field: dialing_strategy_id,
        VENDOR.appendable_field: allow_append,
        VENDOR.type_field: VENDOR.outbound_type,
        VENDOR.voice_field: voice_id,
        VENDOR.answering_machine_field: answering_machine,
    }
    if caller_id:
        configuration[VENDOR.caller_id_field] = caller_id
    return {
        VENDOR.file_field: {
            VENDOR.file_name_key: campaign_name(campaign),
            VENDOR.file_data_key: base64.b64encode(header.encode()).decode(),
            VENDOR.file_content_type_key: VENDOR.file_content_type,
        },
        VENDOR.configuration_field: configuration,
    }


def update_body(dialing_strategy_id: int) -> dict[str, int]:
    return {VENDOR.strategy_field: dialing_strategy_id}


def search_body(*, service_id: int, from_ms: int, to_ms: int) -> dict[str, Any]:
    return {
        VENDOR.search_date_range_field: {"from": str(from_ms), "to": str(to_ms)},
        VENDOR.search_service_field: [service_id],
        VENDOR.search_type_field: [VENDOR.outbound_type],
    }


def search_params(offset: int, client_id: int | None = None) -> dict[str, int]:
    params = {
        VENDOR.search_count_param: VENDOR.search_page_size,
        VENDOR.search_offset_param: offset,
    }
    if client_id is not None:
        params[VENDOR.search_client_param] = client_id
    return params


def state_body(state: str) -> dict[str, str]:
    return {"state": state}


def record(contact: Contact) -> dict[str, Any]:
    first, *more = contact.phone_numbers
    body: dict[str, Any] = {VENDOR.phone_field: first, VENDOR.account_field: contact.ref}
    if more:
        body[VENDOR.more_phones_field] = more
    extras = [f"{name}: {value}" for name, value in contact.fields.items()]
    if len(extras) > len(VENDOR.extra_fields):
        log.warning(
            "LiveVox record %s: %d fields, only the first %d fit the record's extras",
            contact.ref,
            len(extras),
            len(VENDOR.extra_fields),
        )
    for extra, text in zip(VENDOR.extra_fields, extras, strict=False):
        body[extra] = text[: VENDOR.extra_max_length]
    return body


def append_body(contacts: Sequence[Contact]) -> dict[str, Any]:
    return {"records": [record(c) for c in contacts]}


def parse_campaign(item: Mapping[str, Any], campaign_id: str | None = None) -> LiveVoxCampaign:
    """A campaign from a search entry, or from a read (whose body has no id: pass it)."""
    try:
        found_id = str(item[VENDOR.id_field]) if campaign_id is None else campaign_id
        state = str(item[VENDOR.status_field]).upper()
    except KeyError as missing:
        raise UnreadableCampaign(f"a LiveVox campaign without {missing}") from None
    if state not in VENDOR.states:
        UNKNOWN_STATES[state] += 1
        if UNKNOWN_STATES[state] == 1:
            log.warning(
                "LiveVox campaign %s is in status %r, which the adapter does not know; "
                "it is shown as %s",
                found_id,
                state,
                VENDOR.unknown_state_status,
            )
    name = str(item.get(VENDOR.name_field) or "")
    strategy = item.get(VENDOR.strategy_field)
    return LiveVoxCampaign(
        id=found_id,
        name=name,
        state=state,
        ref=ref_from_name(name),
        settings=None,
        counters=parse_counters(item.get(VENDOR.statistics_field)),
        dialing_strategy_id=strategy if isinstance(strategy, int) else None,
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


CAPABILITIES = DialerCapabilities(
    agents_managed_here=False,
    agents_managed_where=VENDOR.agents_managed_in,
    statistics_note="LiveVox's Campaign API reports no call counts: see LiveVox's reports",
)
"""What the Dialer port can do on LiveVox: agents are not part of a campaign, and call counts are
shown only if a campaign ever carries the (assumed) ``statistics`` object."""
