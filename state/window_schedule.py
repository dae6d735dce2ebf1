"""When the calling-window scheduler next looks at each campaign with a window: one Redis ZSET
(``Keys.window_due``), ref -> epoch seconds of its window's next opening or closing.

The campaign document holds the window and whether it is armed; this index only says when to look
again, so it can always be rebuilt from the documents (``bot.window_scheduler`` does, now and then,
for a write lost between the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from state.campaign import Campaign, PendingKind
from state.connection import text
from state.domain import CampaignStatus
from state.keys import Keys


def needs_scheduling(campaign: Campaign) -> bool:
    """Every live campaign with a window: an armed one is started and stopped at its openings
    and closings, and every one's card is redrawn then (it says "opens …" or "closes …")."""
    return campaign.is_live and campaign.window is not None


def dialing(campaign: Campaign) -> bool:
    """Whether the campaign dials or is about to, as far as the bot knows: its latest request is
    a start, or it runs and no stop is pending."""
    pending = campaign.pending
    if pending is not None and pending.kind in (PendingKind.START, PendingKind.STOP):
        return pending.kind is PendingKind.START
    return campaign.status is CampaignStatus.RUNNING


class WindowSchedule:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def plan(self, campaign: Campaign, at: datetime) -> None:
        """Look at ``campaign`` at ``at``, if it has a window; otherwise never."""
        if needs_scheduling(campaign):
            await self.redis.zadd(self.keys.window_due, {campaign.ref: int(at.timestamp())})
        else:
            await self.redis.zrem(self.keys.window_due, campaign.ref)

    async def due(self, now: datetime) -> list[tuple[str, int]]:
        """The refs due at ``now`` or earlier, earliest first, with when each was due."""
        found = await self.redis.zrangebyscore(
            self.keys.window_due, "-inf", int(now.timestamp()), withscores=True
        )
        return [(text(pair[0]), int(pair[1])) for pair in found if isinstance(pair, tuple)]

    async def when(self, ref: str) -> datetime | None:
        score = await self.redis.zscore(self.keys.window_due, ref)
        return None if score is None else datetime.fromtimestamp(int(score), UTC)

    async def move(self, ref: str, was: int, to: datetime | None) -> bool:
        """Move ``ref`` from ``was`` to ``to`` (None: forget it), unless someone changed it since
        (a lead re-armed or changed the window): then their plan stands. Returns whether moved.

        WATCH/MULTI rather than a script: the in-memory store (fakeredis) runs no Lua. A write to
        another member of the set makes it try again."""
        key = self.keys.window_due
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    current = await pipe.zscore(key, ref)
                    if current is None or int(current) != was:
                        return False
                    pipe.multi()  # type: ignore[no-untyped-call]
                    if to is None:
                        pipe.zrem(key, ref)
                    else:
                        pipe.zadd(key, {ref: int(to.timestamp())})
                    await pipe.execute()
                    return True
                except WatchError:
                    continue

    async def refs(self) -> set[str]:
        refs: list[Any] = await self.redis.zrange(self.keys.window_due, 0, -1)
        return {text(ref) for ref in refs}
