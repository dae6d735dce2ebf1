"""Pure translation between the bot's models and VoIPBIN's JSON (no I/O here).

Every vendor assumption this module encodes is listed in the table of ``dialer.voipbin``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dialer.models import Contact, DialerCampaign, NewCampaign
from state.domain import AGGRESSION_MAX, AGGRESSION_MIN, CampaignSettings, CampaignStatus, EndHandle

NIL_ID = "00000000-0000-0000-0000-000000000000"
MAX_DESTINATIONS = 5  # destination_0 … destination_4 on an outdial target
METADATA_MARK = "campaign-bot"

STATUS_FROM_VOIPBIN = {
    "run": CampaignStatus.RUNNING,
    "stopping": CampaignStatus.STOPPING,
    "stop": CampaignStatus.STOPPED,
}

_NAME_WITH_REF = re.compile(r"^\[(?P<ref>[A-Za-z0-9.\-_~:]+)\] (?P<name>.*)$", re.DOTALL)


SERVICE_LEVEL_GENTLEST = 100
"""One call dialling per available agent: VoIPBIN's capacity is ``agents * service_level / 100``."""
SERVICE_LEVEL_MAX = 300
"""Three calls dialling per available agent; VoIPBIN accepts any integer, this cap is the bot's."""


def service_level_for(aggression: int) -> int:
    """Aggression 1..100 onto service level 100..300, evenly.

    VoIPBIN's dialler (``campaignhandler/execute.go``, ``isDialable``) places another call while
    ``available agents * service_level / 100`` (integer division) exceeds the campaign's calls
    still dialling, so a *higher* service level dials more: 100 keeps one call dialling per
    available agent (the gentlest pace), 300 three. The step (about 2) is over 1, so a service
    level read back from VoIPBIN gives exactly the aggression that was set.
    """
    span = SERVICE_LEVEL_MAX - SERVICE_LEVEL_GENTLEST
    steps = AGGRESSION_MAX - AGGRESSION_MIN
    return SERVICE_LEVEL_GENTLEST + round((aggression - AGGRESSION_MIN) * span / steps)


def aggression_for(service_level: int) -> int:
    """The inverse of ``service_level_for``, clamped for levels set outside the bot."""
    span = SERVICE_LEVEL_MAX - SERVICE_LEVEL_GENTLEST
    steps = AGGRESSION_MAX - AGGRESSION_MIN
    aggression = AGGRESSION_MIN + round((service_level - SERVICE_LEVEL_GENTLEST) * steps / span)
    return max(AGGRESSION_MIN, min(AGGRESSION_MAX, aggression))


def calls_per_agent(service_level: int) -> float:
    """How many calls VoIPBIN keeps dialling per available agent at ``service_level``."""
    return service_level / 100


def pace_note(aggression: int) -> str:
    """What an aggression means in VoIPBIN, for the campaign's card."""
    level = service_level_for(aggression)
    per_agent = f"{calls_per_agent(level):g}"
    return f"VoIPBIN service level {level}: about {per_agent} calls dialling per available agent"


def campaign_name(ref: str, name: str) -> str:
    """The bot's ref leads the VoIPBIN name, so ``list`` can tell the bot's campaigns apart."""
    return f"[{ref}] {name}"


def split_campaign_name(voipbin_name: str) -> tuple[str | None, str]:
    match = _NAME_WITH_REF.match(voipbin_name)
    if match is None:
        return None, voipbin_name
    return match["ref"], match["name"]


def tel_address(number: str) -> dict[str, str]:
    return {"type": "tel", "target": number}


def empty_address() -> dict[str, str]:
    return {"type": "", "target": ""}


def target_body(contact: Contact) -> dict[str, Any]:
    """One outdial target per contact; VoIPBIN holds five numbers, the rest are not dialled."""
    numbers = contact.phone_numbers[:MAX_DESTINATIONS]
    # VoIPBIN refuses an empty name, detail or data (bin-api-manager/server/outdials.go).
    body: dict[str, Any] = {
        "name": contact.ref,
        "detail": contact.fields.get("name") or contact.ref,
        "data": json.dumps(contact.fields, sort_keys=True),
    }
    for index in range(MAX_DESTINATIONS):
        number = numbers[index] if index < len(numbers) else None
        body[f"destination_{index}"] = tel_address(number) if number else empty_address()
    return body


def dial_info(settings: CampaignSettings, caller_id: str) -> dict[str, Any]:
    """The outplan's dialling strategy: timeouts in milliseconds, the same tries per number."""
    info: dict[str, Any] = {
        "source": tel_address(caller_id),
        "dial_timeout": settings.dial_timeout_seconds * 1000,
        "try_interval": settings.retry_interval_minutes * 60_000,
    }
    for index in range(MAX_DESTINATIONS):
        info[f"max_try_count_{index}"] = settings.max_attempts
    return info


def dial_info_matches(outplan: dict[str, Any], settings: CampaignSettings) -> bool:
    wanted = dial_info(settings, "")
    return all(outplan.get(key) == value for key, value in wanted.items() if key != "source")


def settings_from(campaign: dict[str, Any], outplan: dict[str, Any]) -> CampaignSettings:
    """Settings as VoIPBIN holds them: pacing and end handle on the campaign, tries on the plan."""
    return CampaignSettings(
        aggression=aggression_for(int(campaign["service_level"])),
        end_handle=EndHandle(campaign.get("end_handle") or EndHandle.STOP),
        # clamped: an outplan edited in VoIPBIN may hold values the bot's model does not allow
        dial_timeout_seconds=_clamp(round(int(outplan["dial_timeout"]) / 1000), 5, 120),
        retry_interval_minutes=_clamp(round(int(outplan["try_interval"]) / 60_000), 1, 7 * 24 * 60),
        max_attempts=_clamp(int(outplan["max_try_count_0"]), 1, 10),
    )


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def campaign_body(
    spec: NewCampaign,
    *,
    campaign_type: str,
    actions: list[dict[str, Any]],
    outplan_id: str,
    outdial_id: str,
    queue_id: str,
) -> dict[str, Any]:
    return {
        "name": campaign_name(spec.ref, spec.name),
        "detail": spec.detail,
        "type": campaign_type,
        "service_level": service_level_for(spec.settings.aggression),
        "end_handle": spec.settings.end_handle.value,
        "actions": actions,
        "outplan_id": outplan_id,
        "outdial_id": outdial_id,
        "queue_id": queue_id,
        "next_campaign_id": NIL_ID,
    }


@dataclass(frozen=True)
class CampaignMetadata:
    """What the bot keeps about a campaign inside VoIPBIN: in the outdial's free ``data`` field."""

    ref: str
    agent_tag: str | None  # the tag of the campaign's own queue; None with a shared queue
    call_in_tag: str | None  # agents carrying it are made available when the campaign starts

    def encode(self) -> str:
        return json.dumps(
            {
                "by": METADATA_MARK,
                "ref": self.ref,
                "agent_tag": self.agent_tag,
                "call_in_tag": self.call_in_tag,
            }
        )

    @classmethod
    def decode(cls, data: str) -> CampaignMetadata | None:
        try:
            value = json.loads(data)
        except ValueError:
            return None
        if not isinstance(value, dict) or value.get("by") != METADATA_MARK:
            return None
        return cls(value["ref"], value.get("agent_tag"), value.get("call_in_tag"))


def is_deleted(resource: dict[str, Any]) -> bool:
    """Deleted once ``tm_delete`` holds a real moment.

    VoIPBIN's models write ``tm_delete`` as a nullable time (``null`` while the resource lives);
    older answers wrote the year 9999 instead, and Go's zero time also means "not set".
    """
    try:
        return parse_time(resource.get("tm_delete")) is not None
    except ValueError:
        return False  # unreadable: not taken as proof of deletion


GO_ZERO_YEAR = 1
NOT_DELETED_YEAR = 9999
MYSQL_ZERO_TIME = "0000-00-00 00:00:00"


def parse_time(stamp: object) -> datetime | None:
    """A VoIPBIN timestamp as an aware UTC datetime, or None when it is not set.

    VoIPBIN's Go models marshal ``*time.Time`` as RFC 3339 (``2026-01-15T09:30:00.000000Z``) or
    ``null``; older answers used ``2022-04-30 17:53:51.685259`` (UTC). ``null``, ``""``, Go's zero
    time (year 1), MySQL's zero date and the year 9999 mean "not set"; anything else unreadable
    raises ValueError.
    """
    if stamp is None or stamp == "" or stamp == MYSQL_ZERO_TIME:
        return None
    if not isinstance(stamp, str):
        raise ValueError(f"a timestamp must be a string, not {type(stamp).__name__}")
    parsed = datetime.fromisoformat(stamp.strip())
    if parsed.year in (GO_ZERO_YEAR, NOT_DELETED_YEAR):
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def microseconds(moment: datetime) -> int:
    return round(moment.timestamp() * 1_000_000)


def dialer_campaign(
    campaign: dict[str, Any], settings: CampaignSettings | None = None
) -> DialerCampaign:
    ref, name = split_campaign_name(str(campaign.get("name", "")))
    return DialerCampaign(
        ref=ref,
        dialer_id=str(campaign["id"]),
        name=name,
        status=STATUS_FROM_VOIPBIN[str(campaign["status"])],
        settings=settings,
    )
