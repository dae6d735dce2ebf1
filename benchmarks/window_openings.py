"""Calling windows opening together: many armed campaigns share one window (09:00 New York); two
replicas' schedulers tick at the opening over the real Redis. The figure is how long after the
opening the last start went to the dialer; beside it, that each start was sent once.

The clock is injected (the opening is "now" for the tick), so only the work is timed: Redis, the
start path of ``start_or_stop`` and its audit, not a wait for the wall clock to reach 09:00.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from benchmarks.common import Figure, figure, missed, redis_space
from bot.services import Services
from bot.settings import Settings
from bot.window_scheduler import AT_ONCE, WindowScheduler
from commands.authz import Authorizer
from commands.handlers.context import Deps
from dialer.simulator import SimulatorDialer
from state.calling_window import parse_window
from state.campaign import Armed, Campaign
from state.effects import Effect
from state.inbox import NotificationInbox
from state.keys import Keys
from state.store import CampaignStore
from state.window_schedule import WindowSchedule

LEAD = "U0ANA"
WINDOW = parse_window(["09:00-20:00", "America/New_York"])
ARMED_AT = datetime(2026, 12, 1, 12, tzinfo=UTC)  # 07:00 in New York
OPENING = datetime(2026, 12, 1, 14, tzinfo=UTC)
TARGET_SECONDS = 10.0  # assumed: a lead notices a start more than a few seconds late


@dataclass(frozen=True)
class Size:
    campaigns: int = 1_000


FULL = Size()
TOY = Size(campaigns=20)


class CountingDialer(SimulatorDialer):
    """Starts and stops counted, not run: the dialer's own speed is not this figure."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: Counter[tuple[str, str]] = Counter()

    async def start(self, ref: str) -> None:
        self.sent["start", ref] += 1

    async def stop(self, ref: str) -> None:
        self.sent["stop", ref] += 1


async def no_groups(group: str) -> frozenset[str]:
    return frozenset()


async def no_effects(effects: Iterable[Effect], campaign: Campaign | None) -> None:
    return None


async def run(size: Size) -> Figure:
    async with redis_space("windows") as (redis, prefix):
        keys = Keys(prefix)
        dialer = CountingDialer()
        clock = [ARMED_AT]
        store = CampaignStore(redis, keys, clock=lambda: clock[0])
        schedule = WindowSchedule(redis, keys)
        for n in range(size.campaigns):
            ref = await store.issue_ref()
            campaign = Campaign(
                ref=ref,
                name=f"Renewals {n}",
                dialer=dialer.name,
                channel_id="C1",
                created_by=LEAD,
                created_at=ARMED_AT,
                window=WINDOW,
                armed=Armed(by=LEAD, at=ARMED_AT),
            )
            await store.create(campaign)
            await schedule.plan(campaign, OPENING)
        deps = Deps(store, dialer, Authorizer((LEAD,), no_groups), lambda: clock[0])
        services = Services(
            settings=Settings(),
            redis=redis,
            store=store,
            inbox=NotificationInbox(redis, keys),
            dialer=dialer,
        )
        replicas = [
            WindowScheduler(services, no_effects, deps=deps, clock=lambda: clock[0])
            for _ in range(2)
        ]
        clock[0] = OPENING
        started = time.perf_counter()
        await asyncio.gather(*(replica.tick() for replica in replicas))
        seconds = time.perf_counter() - started
        await dialer.aclose()
    starts = sum(count for (what, _), count in dialer.sent.items() if what == "start")
    twice = sum(1 for count in dialer.sent.values() if count > 1)
    met = seconds <= TARGET_SECONDS and starts == size.campaigns and twice == 0
    result = figure(
        seconds,
        "s from the opening to the last start sent",
        f"<= {TARGET_SECONDS:g} s for {size.campaigns:,} campaigns opening together",
        met,
        campaigns=size.campaigns,
        starts_sent=starts,
        sent_twice=twice,
        replicas=len(replicas),
        at_once=AT_ONCE,
    )
    return missed(result, "each start runs the lead's start path (store update, audit) in turn")
