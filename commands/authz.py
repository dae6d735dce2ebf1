"""Who may change campaigns: the users and user groups listed in ``CAMPAIGN_LEADS``.

Anyone may look (list, show, help). Group membership comes from Slack (``usergroups.users.list``)
through an injected lookup and is cached briefly, so a busy channel does not ask Slack on every
click and a person removed from the group loses the right within ``ttl``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

log = logging.getLogger(__name__)

GroupMembers = Callable[[str], Awaitable[frozenset[str]]]
GROUP_CACHE_SECONDS = 60.0

NOT_ALLOWED = (
    ":no_entry: Only campaign leads can change campaigns, and you are not one. "
    "Nothing was sent to the dialer. You can still look: `/campaign list`, "
    "`/campaign show <ref>`. A Slack admin can add you to `CAMPAIGN_LEADS`."
)


class Authorizer:
    def __init__(
        self,
        leads: Iterable[str],
        group_members: GroupMembers,
        *,
        ttl: float = GROUP_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        entries = tuple(leads)
        self.users = frozenset(e for e in entries if not e.startswith("S"))
        self.groups = tuple(e for e in entries if e.startswith("S"))
        self._group_members = group_members
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = asyncio.Lock()

    @property
    def nobody_allowed(self) -> bool:
        return not self.users and not self.groups

    async def may_change(self, user_id: str) -> bool:
        if user_id in self.users:
            return True
        for group in self.groups:
            if user_id in await self._members(group):
                return True
        return False

    async def _members(self, group: str) -> frozenset[str]:
        async with self._lock:
            cached = self._cache.get(group)
            if cached is not None and self._clock() - cached[0] < self._ttl:
                return cached[1]
            try:
                members = await self._group_members(group)
            except Exception:
                # Slack down: keep the last known members rather than lock every lead out.
                log.exception("could not read the members of user group %s", group)
                return cached[1] if cached is not None else frozenset()
            self._cache[group] = (self._clock(), members)
            return members
