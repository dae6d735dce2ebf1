"""Verifying and reading VoIPBIN's webhook deliveries (pure: no I/O here)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from dialer.base import WebhookRejected
from dialer.models import CampaignStatus, DialerNotification, NotificationKind
from dialer.voipbin.mapping import (
    is_deleted,
    microseconds,
    parse_time,
    split_campaign_name,
)

NAME = "voipbin"
SIGNATURE_HEADER = "x-voipbin-signature"
SIGNATURE_PREFIX = "sha256="

STATUS_EVENTS = {
    "campaign_status_run": CampaignStatus.RUNNING,
    "campaign_status_stopping": CampaignStatus.STOPPING,
    "campaign_status_stop": CampaignStatus.STOPPED,
    "campaign_deleted": CampaignStatus.DELETED,
}
SETTINGS_EVENT = "campaign_updated"
PROGRESS_PREFIXES = ("campaigncall_", "outdialtarget_")


@dataclass(frozen=True)
class Envelope:
    type: str
    data: dict[str, Any]
    raw: dict[str, Any]


def sign(secret: str, body: bytes) -> str:
    """The ``X-VoIPBIN-Signature`` value VoIPBIN sends for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_PREFIX}{digest}"


def verify_signature(secret: str, headers: Mapping[str, str], body: bytes) -> None:
    given = {key.lower(): value for key, value in headers.items()}.get(SIGNATURE_HEADER)
    if not given:
        raise WebhookRejected("missing X-VoIPBIN-Signature", status_code=401)
    if not hmac.compare_digest(given.strip().encode(), sign(secret, body).encode()):
        raise WebhookRejected("X-VoIPBIN-Signature does not match the body", status_code=401)


def parse_envelope(body: bytes) -> Envelope:
    try:
        raw = json.loads(body)
    except ValueError as exc:
        raise WebhookRejected("the body is not JSON", status_code=400) from exc
    if not isinstance(raw, dict):
        raise WebhookRejected("the body is not a JSON object", status_code=400)
    event_type, data = raw.get("type"), raw.get("data")
    if not isinstance(event_type, str) or not event_type or not isinstance(data, dict):
        raise WebhookRejected('expected {"type": "<event>", "data": {...}}', status_code=400)
    return Envelope(event_type, data, raw)


def event_time(data: dict[str, Any]) -> int:
    """Microseconds of the resource's last change: ``tm_update``, or ``tm_delete`` once deleted."""
    stamps = [data.get("tm_update")]
    if is_deleted(data):
        stamps.append(data.get("tm_delete"))
    try:
        moments = [parse_time(str(stamp)) for stamp in stamps if stamp]
    except ValueError as exc:
        raise WebhookRejected("unreadable timestamp in the event", status_code=400) from exc
    if not moments:
        raise WebhookRejected("the event carries no tm_update", status_code=400)
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
    """Which counter an event advances: calls placed, answered, succeeded, failed; leads done."""
    status = envelope.data.get("status")
    if envelope.type == "campaigncall_created":
        return "calls"
    if envelope.type.startswith("campaigncall_") and status == "progressing":
        return "answered"
    if envelope.type.startswith("campaigncall_") and status == "done":
        return "failed" if envelope.data.get("result") == "fail" else "succeeded"
    if envelope.type.startswith("outdialtarget_") and status == "done":
        return "leads_done"
    return None
