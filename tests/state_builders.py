"""Small builders for campaigns and notifications, shared by the state tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from state.campaign import Campaign
from state.domain import (
    AgentAssignment,
    CampaignSettings,
    CampaignStatus,
    DialerNotification,
    NotificationKind,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
_event_ids = itertools.count(1)


def campaign(ref: str = "c-20261123-abcd", **fields: Any) -> Campaign:
    values: dict[str, Any] = {
        "ref": ref,
        "name": "Winter renewals",
        "dialer": "simulator",
        "dialer_id": f"sim-{ref}",
        "channel_id": "C0CAMPAIGN",
        "created_by": "U0ANA",
        "created_at": T0,
        "agents": (AgentAssignment(agent_id="agent-7"),),
    }
    values.update(fields)
    return Campaign.model_validate(values)


def notification(
    ref: str = "c-20261123-abcd",
    *,
    status: CampaignStatus | None = None,
    kind: NotificationKind | None = None,
    sequence: int = 1,
    event_id: str | None = None,
    **fields: Any,
) -> DialerNotification:
    if kind is None:
        kind = NotificationKind.STATUS if status is not None else NotificationKind.PROGRESS
    values: dict[str, Any] = {
        "event_id": event_id or f"evt-{next(_event_ids)}",
        "dialer": "simulator",
        "kind": kind,
        "campaign_ref": ref,
        "sequence": sequence,
        "occurred_at": T0 + timedelta(seconds=sequence),
        "status": status,
    }
    if kind is NotificationKind.SETTINGS:
        values.setdefault("settings", CampaignSettings(aggression=77))
    if kind is NotificationKind.AGENTS:
        values.setdefault("agents", (AgentAssignment(agent_id="agent-9"),))
    values.update(fields)
    return DialerNotification.model_validate(values)
