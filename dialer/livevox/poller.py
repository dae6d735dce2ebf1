"""Turning what a poll of LiveVox shows into notifications, remembering what was seen before.

LiveVox pushes nothing, so a change is a difference between two polls. The last observation of
each campaign lives on the bot's Redis, not in the process: a replica that takes the poller over
carries on from where the last one stopped instead of announcing every campaign again, and the
event ids it makes for the same change are the same ids (so a repeat is de-duplicated).

Keys (on the bot's Redis, under its key prefix):

    <prefix>livevox:poller         STRING holder id, expires after LIVEVOX_POLLER_LOCK_SECONDS
                                   unless renewed: which replica polls
    <prefix>livevox:observed       HASH LiveVox campaign id -> JSON of the last observation;
                                   fields leave when the campaign drops out of the search window
    <prefix>livevox:settings       HASH LiveVox campaign id -> JSON of the settings the bot sent
                                   and the dialing strategy they became; LiveVox keeps a strategy
                                   id, not the bot's settings, so these stand for them
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from dialer.livevox.session import NAME
from dialer.livevox.vendor import VENDOR, LiveVoxCampaign, status_of
from state.domain import CampaignSettings, DialerNotification, NotificationKind
from state.keys import LivevoxKeys


@dataclass
class Observation:
    """What the poller last saw of one campaign. ``changes`` numbers its status/settings changes."""

    state: str
    changes: int = 0
    settings: dict[str, Any] | None = None
    counters: dict[str, int] = field(default_factory=dict)

    def dumps(self) -> str:
        return json.dumps(
            {
                "state": self.state,
                "changes": self.changes,
                "settings": self.settings,
                "counters": self.counters,
            }
        )

    @classmethod
    def loads(cls, text: str | bytes) -> Observation:
        data = json.loads(text)
        return cls(
            state=str(data["state"]),
            changes=int(data.get("changes", 0)),
            settings=data.get("settings"),
            counters={str(k): int(v) for k, v in (data.get("counters") or {}).items()},
        )


def changes_between(
    before: Observation | None, now: LiveVoxCampaign, observed_at: datetime
) -> tuple[Observation, list[DialerNotification]]:
    """The notifications a new observation warrants, and the observation to remember.

    A campaign seen for the first time in its creation states is not announced: the bot created
    it and already knows it is stopped with the settings it sent. Seen first in any other state
    (created while no poller ran), its status is announced.
    """
    settings = now.settings.model_dump(mode="json") if now.settings else None
    after = Observation(state=now.state, settings=settings, counters=now.counters)
    notices: list[DialerNotification] = []
    if before is None:
        after.changes = 0
        if now.state not in VENDOR.creation_states:
            after.changes = 1
            notices.append(_status(now, after, observed_at))
    else:
        after.changes = before.changes
        if status_of(before.state) is not now.status:
            after.changes += 1
            notices.append(_status(now, after, observed_at))
        if now.settings is not None and settings != before.settings:
            after.changes += 1
            notices.append(_settings(now, now.settings, after, observed_at))
    previous_counters = before.counters if before else {}
    if now.counters != previous_counters and any(now.counters.values()):
        notices.append(_progress(now, observed_at))
    return after, notices


def _status(
    campaign: LiveVoxCampaign, after: Observation, observed_at: datetime
) -> DialerNotification:
    return _notice(
        campaign,
        f"{campaign.id}:{after.changes}:status:{campaign.state}",
        observed_at,
        kind=NotificationKind.STATUS,
        status=campaign.status,
    )


def _settings(
    campaign: LiveVoxCampaign,
    settings: CampaignSettings,
    after: Observation,
    observed_at: datetime,
) -> DialerNotification:
    return _notice(
        campaign,
        f"{campaign.id}:{after.changes}:settings",
        observed_at,
        kind=NotificationKind.SETTINGS,
        settings=settings,
    )


def _progress(campaign: LiveVoxCampaign, observed_at: datetime) -> DialerNotification:
    counted = ":".join(f"{k}={v}" for k, v in sorted(campaign.counters.items()))
    return _notice(
        campaign,
        f"{campaign.id}:progress:{counted}",
        observed_at,
        kind=NotificationKind.PROGRESS,
        counters=campaign.counters,
    )


def _notice(
    campaign: LiveVoxCampaign, event: str, observed_at: datetime, **values: Any
) -> DialerNotification:
    return DialerNotification.model_validate(
        {
            "event_id": f"{NAME}:{event}"[:200],
            "dialer": NAME,
            "campaign_ref": campaign.ref,
            "dialer_campaign_id": campaign.id,
            # LiveVox gives no sequence of its own; the time of the poll orders the changes.
            "sequence": int(observed_at.timestamp() * 1_000_000),
            "occurred_at": observed_at,
            "raw": {
                "id": campaign.id,
                "name": campaign.name,
                "state": campaign.state,
                "counters": campaign.counters,
            },
            **values,
        }
    )


class ObservationStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._key = LivevoxKeys(prefix).observed

    async def load(self) -> dict[str, Observation]:
        stored: dict[Any, Any] = await self._redis.hgetall(self._key)
        return {_text(k): Observation.loads(v) for k, v in stored.items()}

    async def save(self, campaign_id: str, observation: Observation) -> None:
        await self._redis.hset(self._key, campaign_id, observation.dumps())

    async def forget(self, campaign_ids: set[str]) -> None:
        if campaign_ids:
            await self._redis.hdel(self._key, *campaign_ids)


@dataclass(frozen=True)
class Requested:
    """Settings the bot sent for a campaign, and the dialing strategy id they were sent as."""

    settings: CampaignSettings
    strategy_id: int

    def dumps(self) -> str:
        return json.dumps(
            {"settings": self.settings.model_dump(mode="json"), "strategy": self.strategy_id}
        )

    @classmethod
    def loads(cls, text: str | bytes) -> Requested:
        data = json.loads(text)
        return cls(CampaignSettings.model_validate(data["settings"]), int(data["strategy"]))


class RequestedSettings:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._key = LivevoxKeys(prefix).requested_settings

    async def load(self) -> dict[str, Requested]:
        stored: dict[Any, Any] = await self._redis.hgetall(self._key)
        return {_text(k): Requested.loads(v) for k, v in stored.items()}

    async def save(self, campaign_id: str, requested: Requested) -> None:
        await self._redis.hset(self._key, campaign_id, requested.dumps())

    async def forget(self, campaign_ids: set[str]) -> None:
        if campaign_ids:
            await self._redis.hdel(self._key, *campaign_ids)


def with_settings(campaign: LiveVoxCampaign, requested: Requested | None) -> LiveVoxCampaign:
    """The campaign with the bot's settings, unless LiveVox shows another dialing strategy."""
    if requested is None:
        return campaign
    shown = campaign.dialing_strategy_id
    if shown is not None and shown != requested.strategy_id:
        return campaign  # changed in LiveVox itself: the bot's settings no longer hold
    return replace(campaign, settings=requested.settings)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def now_utc() -> datetime:
    return datetime.now(UTC)
