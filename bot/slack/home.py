"""Publishing each person's App Home tab, and keeping it current while they may be looking.

Slack says when a person opens the Home tab (``app_home_opened``) but never when they leave it, so
a person counts as looking for ``VIEWER_SECONDS`` after they last opened it or clicked in it
(a Redis sorted set, shared by replicas). Every ``tick`` the campaigns are read once and, for each
viewer, what they would see is fingerprinted (the campaigns they see, the approvals waiting for
them, their page); a changed fingerprint is published with ``views.publish``. A per-person
"quiet" key (``SET NX PX``) keeps to at most one publish per person per ``pace`` across all
replicas, so a burst of changes is coalesced into one redraw that shows the latest state.

Non-leads see the campaigns of the channels they are in: ``conversations.members`` of each
campaign channel (the bot is in every one), remembered for ``MEMBERS_CACHE_SECONDS``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.delivery import SLACK_FAILURES
from commands.handlers.context import Deps
from commands.views.blocks import Block
from commands.views.home import HomeModel, home_view, waiting_for
from state.campaign import Campaign
from state.keys import SlackKeys

log = logging.getLogger(__name__)

PACE_SECONDS = 3.0
TICK_SECONDS = 1.0
VIEWER_SECONDS = 30 * 60.0
MEMBERS_CACHE_SECONDS = 60.0


class HomeTabs:
    def __init__(
        self,
        client: AsyncWebClient,
        deps: Deps,
        redis: Redis,
        prefix: str,
        *,
        pace: float = PACE_SECONDS,
        tick: float = TICK_SECONDS,
        viewer_seconds: float = VIEWER_SECONDS,
        members_ttl: float = MEMBERS_CACHE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.deps = deps
        self.redis = redis
        self.prefix = prefix
        self.pace = pace
        self.tick = tick
        self.viewer_seconds = viewer_seconds
        self.members_ttl = members_ttl
        self.clock = clock
        self._members: dict[str, tuple[float, frozenset[str]]] = {}

    # -- keys -------------------------------------------------------------------------------

    @property
    def viewers_key(self) -> str:
        return SlackKeys(self.prefix).home_viewers

    def _key(self, user_id: str, what: str) -> str:
        return SlackKeys(self.prefix).home(user_id, what)

    # -- what listeners call ----------------------------------------------------------------

    async def opened(self, user_id: str) -> None:
        """``app_home_opened``: publish at once, and keep the tab current from now on."""
        await self.redis.zadd(self.viewers_key, {user_id: self.clock()})
        await self.publish(user_id, force=True)

    async def show_page(self, user_id: str, page: int) -> None:
        await self.redis.set(self._key(user_id, "page"), str(max(page, 0)), ex=self._ttl())
        await self.redis.zadd(self.viewers_key, {user_id: self.clock()})
        await self.publish(user_id, force=True)

    # -- publishing -------------------------------------------------------------------------

    async def model_for(self, user_id: str, live: list[Campaign] | None = None) -> HomeModel:
        if live is None:
            live = await self.deps.store.list_live()
        lead = await self.deps.authz.may_change(user_id)
        raw_page = await self.redis.get(self._key(user_id, "page"))
        page_text = _text(raw_page) if raw_page is not None else ""
        page = int(page_text) if page_text.isdigit() else 0
        if lead:
            visible = live
            waiting = tuple(waiting_for(user_id, live))
        else:
            channels = {c.channel_id for c in live if c.channel_id}
            mine = {ch for ch in channels if user_id in await self._members_of(ch)}
            visible = [c for c in live if c.channel_id in mine]
            waiting = ()
        return HomeModel(
            user_id=user_id,
            lead=lead,
            campaigns=tuple(visible),
            waiting=waiting,
            page=page,
            dialer_name=self.deps.dialer.name,
        )

    async def publish(
        self, user_id: str, *, force: bool = False, live: list[Campaign] | None = None
    ) -> bool:
        """Publish ``user_id``'s Home tab; unless ``force``, only when what they see changed and
        nobody published it within ``pace``. Returns whether it was published."""
        model = await self.model_for(user_id, live)
        mark = fingerprint(model)
        hash_key, quiet_key = self._key(user_id, "hash"), self._key(user_id, "quiet")
        if not force:
            last = await self.redis.get(hash_key)
            if last is not None and _text(last) == mark:
                return False
            if not await self.redis.set(quiet_key, "1", nx=True, px=int(self.pace * 1000)):
                return False  # published a moment ago; the next tick looks again
        else:
            await self.redis.set(quiet_key, "1", px=int(self.pace * 1000))
        view = home_view(model, self.deps.clock())
        if not await self._views_publish(user_id, view):
            return False
        await self.redis.set(hash_key, mark, ex=self._ttl())
        return True

    async def refresh(self) -> int:
        """One round: publish the tab of every viewer whose view changed. Returns how many."""
        now = self.clock()
        await self.redis.zremrangebyscore(self.viewers_key, "-inf", now - self.viewer_seconds)
        members: list[Any] = await self.redis.zrange(self.viewers_key, 0, -1)
        viewers = [_text(v) for v in members]
        if not viewers:
            return 0
        live = await self.deps.store.list_live()
        published = 0
        for user_id in viewers:
            if await self.publish(user_id, live=live):
                published += 1
        return published

    async def run(self) -> None:
        while True:
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                # Redis away: /healthz says so; the tabs catch up once it is back.
                log.warning("Home tabs not refreshed: %s", exc)
            except Exception:
                log.exception("refreshing Home tabs failed; trying again")
            await asyncio.sleep(self.tick)

    # -- Slack ------------------------------------------------------------------------------

    async def _views_publish(self, user_id: str, view: Block) -> bool:
        try:
            await self.client.views_publish(user_id=user_id, view=view)
        except SLACK_FAILURES as exc:
            log.warning("views.publish of %s's Home tab failed: %s", user_id, exc)
            return False
        return True

    async def _members_of(self, channel_id: str) -> frozenset[str]:
        cached = self._members.get(channel_id)
        now = self.clock()
        if cached is not None and now - cached[0] < self.members_ttl:
            return cached[1]
        members: set[str] = set()
        cursor: str | None = None
        try:
            while True:
                args: dict[str, Any] = {"channel": channel_id, "limit": 1000}
                if cursor:
                    args["cursor"] = cursor
                answer = await self.client.conversations_members(**args)
                members.update(str(m) for m in answer.get("members") or [])
                cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    break
        except SLACK_FAILURES as exc:
            log.warning("conversations.members of %s failed: %s", channel_id, exc)
            return cached[1] if cached is not None else frozenset()
        found = frozenset(members)
        self._members[channel_id] = (now, found)
        return found

    def _ttl(self) -> int:
        return int(self.viewer_seconds) + 60


def fingerprint(model: HomeModel) -> str:
    """What the person sees, as data: a change of any of it is worth a redraw, the passing of
    time ("12 s ago") is not."""
    parts = {
        "lead": model.lead,
        "page": model.page,
        "campaigns": [c.model_dump(mode="json", exclude={"card_ts"}) for c in model.campaigns],
        "waiting": [c.ref for c in model.waiting],
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
