"""Verifying and reading VoIPBIN's webhook deliveries (pure: no I/O here)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from dialer.base import WebhookRejected
from dialer.voipbin.mapping import (
    microseconds,
    parse_time,
    split_campaign_name,
)
from state.domain import CampaignStatus, DialerNotification, NotificationKind

NAME = "voipbin"
SIGNATURE_HEADER = "x-voipbin-signature"
SIGNATURE_PREFIX = "sha256="

# Campaign events VoIPBIN publishes (bin-campaign-manager/models/campaign/event.go): the status
# ones from pkg/campaignhandler/status_run.go and status_stop.go, the deletion from campaign.go.
STATUS_EVENTS = {
    "campaign_status_run": CampaignStatus.RUNNING,
    "campaign_status_stopping": CampaignStatus.STOPPING,
    "campaign_status_stop": CampaignStatus.STOPPED,
    "campaign_deleted": CampaignStatus.DELETED,
}
SETTINGS_EVENT = "campaign_updated"
# bin-campaign-manager/models/campaigncall/event.go, published by pkg/campaigncallhandler.
PROGRESS_EVENTS = frozenset(
    {"campaigncall_created", "campaigncall_updated", "campaigncall_deleted"}
)


@dataclass(frozen=True)
class Envelope:
    type: str
    data: dict[str, Any]
    raw: dict[str, Any]


def sign(secret: str, body: bytes) -> str:
    """The ``X-VoIPBIN-Signature`` value VoIPBIN sends for ``body``."""
    digest = hmac.digest(secret.encode(), body, hashlib.sha256).hex()
    return f"{SIGNATURE_PREFIX}{digest}"


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    # The server's headers answer any case; a plain mapping is searched without it.
    given = headers.get(SIGNATURE_HEADER) or next(
        (value for key, value in headers.items() if key.lower() == SIGNATURE_HEADER), None
    )
    if not given:
        raise WebhookRejected("missing X-VoIPBIN-Signature", status_code=401)
    if not hmac.compare_digest(given.strip().encode(), sign(secret, body).encode()):
        raise WebhookRejected("X-VoIPBIN-Signature does not match the body", status_code=401)


def parse_envelope(body: bytes) -> Envelope:
    try:
        raw = orjson.loads(body)  # (every status change is one of these: orjson is faster)
    except ValueError as exc:
        raise WebhookRejected("the body is not JSON", status_code=400) from exc
    if not isinstance(raw, dict):
        raise WebhookRejected("the body is not a JSON object", status_code=400)
    event_type, data = raw.get("type"), raw.get("data")
    if not isinstance(event_type, str) or not event_type or not isinstance(data, dict):
        raise WebhookRejected('expected {"type": "<event>", "data": {...}}', status_code=400)
    return Envelope(event_type, data, raw)


def event_time(data: dict[str, Any]) -> int:
    """Microseconds of the resource's last change, to order a campaign's events.

    The latest of ``tm_create``, ``tm_update`` and (once deleted) ``tm_delete``: VoIPBIN creates
    resources with ``tm_update`` null (``dbhandler.CampaigncallCreate``, ``CampaignCreate``), so
    a new resource is ordered by its creation. Null, Go's zero time and the year 9999 mean "not
    set"; a timestamp that is not one is refused with 400 (VoIPBIN does not redeliver a 4xx).
    """
    try:
        moments = [
            moment
            for key in ("tm_create", "tm_update", "tm_delete")
            if (moment := parse_time(data.get(key))) is not None
        ]
    except ValueError as exc:
        raise WebhookRejected("unreadable timestamp in the event", status_code=400) from exc
    if not moments:
        raise WebhookRejected("the event carries no tm_create or tm_update", status_code=400)
    return microseconds(max(moments))


def event_id(envelope: Envelope, sequence: int) -> str:
    """Stable across VoIPBIN's redeliveries of one event, distinct between events."""
    return f"{NAME}:{envelope.type}:{envelope.data.get('id')}:{sequence}"


def campaign_identity(data: dict[str, Any]) -> tuple[str | None, str]:
    campaign_id = data.get("id")
    if not isinstance(campaign_id, str) or not campaign_id:
        raise WebhookRejected("the campaign in the event has no id", status_code=400)
    ref, _ = split_campaign_name(str(data.get("name", "")))
    return ref, campaign_id


def notification(
    envelope: Envelope,
    kind: NotificationKind,
    *,
    campaign_ref: str | None,
    campaign_id: str,
    **fields: Any,
) -> DialerNotification:
    sequence = event_time(envelope.data)
    try:
        return DialerNotification(
            event_id=event_id(envelope, sequence),
            dialer=NAME,
            kind=kind,
            campaign_ref=campaign_ref,
            dialer_campaign_id=campaign_id,
            sequence=sequence,
            occurred_at=datetime.fromtimestamp(sequence / 1_000_000, UTC),
            raw=envelope.raw,
            **fields,
        )
    except (ValidationError, ValueError, OverflowError) as exc:
        raise WebhookRejected(f"unusable {envelope.type} event", status_code=400) from exc


def status_notification(envelope: Envelope) -> DialerNotification:
    ref, campaign_id = campaign_identity(envelope.data)
    return notification(
        envelope,
        NotificationKind.STATUS,
        campaign_ref=ref,
        campaign_id=campaign_id,
        status=STATUS_EVENTS[envelope.type],
    )


def progress_counter(envelope: Envelope) -> str | None:
    """Which counter an event advances: calls placed (``dialled``), answered, succeeded, failed.

    A campaigncall goes ``dialing`` -> ``progressing`` (answered) -> ``done`` with ``result``
    ``success`` or ``fail`` (bin-campaign-manager/models/campaigncall/campaigncall.go).
    """
    status = envelope.data.get("status")
    if envelope.type == "campaigncall_created":
        return "dialled"
    if envelope.type != "campaigncall_updated":
        return None
    if status == "progressing":
        return "answered"
    if status == "done":
        return "failed" if envelope.data.get("result") == "fail" else "succeeded"
    return None
