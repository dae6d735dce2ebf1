"""Pure translation between the bot's models and VoIPBIN's JSON (no I/O here).

Every vendor assumption this module encodes is listed in the table of ``dialer.voipbin``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dialer.models import (
    AGGRESSION_MAX,
    AGGRESSION_MIN,
    CampaignSettings,
    CampaignStatus,
    Contact,
    DialerCampaign,
    EndHandle,
    NewCampaign,
)

NIL_ID = "00000000-0000-0000-0000-000000000000"
MAX_DESTINATIONS = 5  # destination_0 … destination_4 on an outdial target
METADATA_MARK = "campaign-bot"

STATUS_FROM_VOIPBIN = {
    "run": CampaignStatus.RUNNING,
    "stopping": CampaignStatus.STOPPING,
    "stop": CampaignStatus.STOPPED,
}

_NAME_WITH_REF = re.compile(r"^\[(?P<ref>[A-Za-z0-9.\-_~:]+)\] (?P<name>.*)$", re.DOTALL)


def service_level_for(aggression: int) -> int:
    """Aggression 1..100 onto service level 100..1.

    VoIPBIN dials while ``available agents > dialing calls * service_level / 100``, so it keeps
    about ``100 / service_level`` calls per available agent: 100 is one call per agent (the
    gentlest pace), 50 two, 20 five, 1 a hundred. The mapping is a bijection so a service level
    read back from VoIPBIN gives exactly the aggression that was set.
    """
    return AGGRESSION_MAX + AGGRESSION_MIN - aggression


def aggression_for(service_level: int) -> int:
    """The inverse of ``service_level_for``, clamped for levels set outside the bot."""
    aggression = AGGRESSION_MAX + AGGRESSION_MIN - service_level
    return max(AGGRESSION_MIN, min(AGGRESSION_MAX, aggression))


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
    body: dict[str, Any] = {
        "name": contact.ref,
        "detail": contact.fields.get("name", ""),
        "data": json.dumps(contact.fields, sort_keys=True) if contact.fields else "",
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
    """VoIPBIN marks live resources with a ``tm_delete`` in the year 9999."""
    stamp = resource.get("tm_delete")
    return bool(stamp) and not str(stamp).startswith("9999")


def parse_time(stamp: str) -> datetime:
    """VoIPBIN writes ``2022-04-30 17:53:51.685259`` (UTC) or ISO 8601 with ``Z``."""
    parsed = datetime.fromisoformat(stamp)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
