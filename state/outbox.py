"""The channel alerts waiting to be shown in Slack, kept in Redis so that no replica's death loses
them and so that one replica at a time sends a channel's alerts.

Each channel has an outbox (a Redis Stream) of entries: a status alert (with the campaign as it was
after the transition, for the alert text) or a card redraw. A status change records both. A
notification's entries are written in the same MULTI as the notification itself
(``CampaignStore.apply_notification``), so a notification that is applied has its alerts recorded
and one that is delivered again is a duplicate that records nothing: each alert is recorded once.
The set of channels with pending entries tells every replica's alert poller where there is work.

A replica sends a channel's entries only while it holds the channel's lease (``SET NX PX``,
renewed while it works, released when the outbox is empty); the lease of a replica that died
expires after ``LEASE_TTL`` and another replica takes the channel over. After every Slack call the
sender sets the channel's quiet key for the pace, so whichever replica sends next waits it out.
Entries are deleted only once Slack accepted them (or they failed for good).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from state.campaign import Campaign
from state.connection import text
from state.domain import CampaignStatus
from state.effects import Effect, RefreshCard, RemovalRejected, RemovalRequested, StatusAlert
from state.keys import ALERT_LEASE_TTL, Keys
from state.leases import if_holder
from state.recorded_writes import RecordedWrites

log = logging.getLogger(__name__)

LEASE_TTL = ALERT_LEASE_TTL.total_seconds()
READ_BATCH = 5000
"""Entries read (and so coalesced) at once from one channel's outbox. A status change is two
entries (its alert and its card), so a window of 1,000 split a backlog of 1,000 changes over 100
campaigns in two, and each campaign got two alerts and two redraws instead of one each: 272 Slack
messages (at one a second) against 209 (``python -m benchmarks --only alert_pacing``)."""

ShownEffect = StatusAlert | RefreshCard | RemovalRequested | RemovalRejected
SHOWN_EFFECTS = (StatusAlert, RefreshCard, RemovalRequested, RemovalRejected)


@dataclass(frozen=True)
class OutboxEntry:
    """One pending entry: ``alert`` set for a status alert, else a redraw of ``ref``'s card."""

    id: str
    ref: str
    alert: StatusAlert | None = None
    campaign: Campaign | None = None


def is_shown(effect: Effect) -> bool:
    """The effects that end in the campaign's channel (the others go to the dialer)."""
    return isinstance(effect, SHOWN_EFFECTS)


class AlertOutbox:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        default_channel: str | None,
        *,
        on_recorded: Callable[[list[Effect]], None] | None = None,
        lease_ttl: float = LEASE_TTL,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.default_channel = default_channel
        self.on_recorded = on_recorded
        self.lease_ttl = lease_ttl

    def channel_of(self, campaign: Campaign) -> str | None:
        return campaign.channel_id or self.default_channel

    # -- recording ---------------------------------------------------------------------------

    def stage(
        self, pipe: Pipeline | RecordedWrites, effects: Iterable[Effect], campaign: Campaign
    ) -> int:
        """Add the shown ``effects`` to ``pipe`` (in its MULTI, or recorded for it: a batch's
        writes, or the follow-up of a campaign transaction in the cluster layout); returns how
        many entries."""
        shown = [effect for effect in effects if is_shown(effect)]
        if not shown:
            return 0
        channel = self.channel_of(campaign)
        if channel is None:
            log.warning(
                "no channel for %s and no SLACK_ALERT_CHANNEL; %s not shown", campaign.ref, shown
            )
            return 0
        stream = self.keys.alert_outbox(channel)
        count = 0
        for effect in shown:
            if isinstance(effect, StatusAlert):
                pipe.xadd(stream, {"entry": _alert_entry(effect, campaign)})
                count += 1
            pipe.xadd(stream, {"entry": json.dumps({"kind": "card", "ref": effect.ref})})
            count += 1
        pipe.sadd(self.keys.alerts_pending, channel)
        return count

    async def record(self, effects: Iterable[Effect], campaign: Campaign) -> int:
        effects = list(effects)
        async with self.redis.pipeline(transaction=True) as pipe:
            count = self.stage(pipe, effects, campaign)
            if count:
                await pipe.execute()
        if count:
            self.recorded(effects)
        return count

    def recorded(self, effects: Iterable[Effect]) -> None:
        """``effects`` were written: tell this process's alert poller."""
        if self.on_recorded is not None:
            self.on_recorded([effect for effect in effects if is_shown(effect)])

    # -- reading and removing ----------------------------------------------------------------

    async def pending_channels(self) -> set[str]:
        return {text(c) for c in await self.redis.smembers(self.keys.alerts_pending)}

    async def entries(self, channel: str, count: int = READ_BATCH) -> list[OutboxEntry]:
        raw: Any = await self.redis.xrange(self.keys.alert_outbox(channel), count=count)
        return [_entry(text(entry_id), fields) for entry_id, fields in raw]

    async def pending_count(self, channel: str) -> int:
        return int(await self.redis.xlen(self.keys.alert_outbox(channel)))

    async def remove(self, channel: str, ids: Iterable[str]) -> None:
        ids = list(ids)
        if ids:
            await self.redis.xdel(self.keys.alert_outbox(channel), *ids)

    async def settle_if_empty(self, channel: str) -> bool:
        """True (and the channel leaves the pending set) if its outbox is empty; an entry
        recorded meanwhile makes it False."""
        stream = self.keys.alert_outbox(channel)
        async with self.redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(stream)
                if await pipe.xlen(stream):
                    return False
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.srem(self.keys.alerts_pending, channel)
                pipe.delete(stream)
                await pipe.execute()
                return True
            except WatchError:
                return False

    # -- the per-channel lease and pace ------------------------------------------------------

    async def acquire(self, channel: str, owner: str) -> bool:
        ttl = int(self.lease_ttl * 1000)
        return bool(await self.redis.set(self.keys.alert_lease(channel), owner, nx=True, px=ttl))

    async def renew(self, channel: str, owner: str) -> bool:
        """Extend the lease if ``owner`` still holds it; False if it was lost."""
        key, ttl = self.keys.alert_lease(channel), int(self.lease_ttl * 1000)
        return (
            await if_holder(self.redis, key, owner, lambda pipe: pipe.pexpire(key, ttl)) is not None
        )

    async def release(self, channel: str, owner: str) -> None:
        key = self.keys.alert_lease(channel)
        await if_holder(self.redis, key, owner, lambda pipe: pipe.delete(key))

    async def quiet_for(self, channel: str) -> float:
        """Seconds until the channel's next Slack call may be made (by any replica)."""
        left = int(await self.redis.pttl(self.keys.alert_quiet(channel)))
        return max(left, 0) / 1000

    async def keep_quiet(self, channel: str, seconds: float) -> None:
        if seconds > 0:
            # A millisecond over, as PTTL rounds down.
            await self.redis.set(self.keys.alert_quiet(channel), "1", px=int(seconds * 1000) + 1)


def _alert_entry(alert: StatusAlert, campaign: Campaign) -> str:
    return json.dumps(
        {
            "kind": "alert",
            "ref": alert.ref,
            "previous": alert.previous.value,
            "current": alert.current.value,
            "actor": alert.actor,
            "campaign": campaign.model_dump(mode="json"),
        }
    )


def _entry(entry_id: str, fields: dict[bytes | str, bytes | str]) -> OutboxEntry:
    raw = fields.get(b"entry") or fields.get("entry") or b"{}"
    try:
        data = json.loads(raw)
        ref = str(data["ref"])
        if data.get("kind") != "alert":
            return OutboxEntry(entry_id, ref)
        alert = StatusAlert(
            ref,
            CampaignStatus(data["previous"]),
            CampaignStatus(data["current"]),
            data.get("actor"),
        )
        campaign = data.get("campaign")
        snapshot = None if campaign is None else Campaign.model_validate(campaign)
        return OutboxEntry(entry_id, ref, alert, snapshot)
    except (ValueError, KeyError, TypeError):
        log.error("alert outbox: unreadable entry %s: %r", entry_id, raw)
        return OutboxEntry(entry_id, "")
