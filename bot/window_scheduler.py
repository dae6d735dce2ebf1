"""The calling-window scheduler: at each opening of an armed campaign's window it sends the start,
at each closing the stop, on behalf of the lead who armed it.

The start and stop take the path of a lead's (``commands.handlers.control.start_or_stop`` with
``by_window``): the same refusals, the same pending request and audit entry, the same supersede
and settle rules, and the status still changes only with the dialer's notifications. A start is
sent only while the lead who armed it is still a campaign lead; a stop always is.

State lives in Redis, so a restart loses nothing: each campaign document holds its window and
whether it is armed, and ``Keys.window_due`` says when to look at each campaign with a window
next. Every tick (``TICK_SECONDS``) the replica holding the scheduler's lease (``Keys.window_lock``)
acts on what is due; each opening or closing is claimed with its own lock
(``Keys.window_edge_lock``), so two replicas never both send it even when a slow tick overlaps the
next one. It acts on the window as it is *now*: armed, open and not dialing → start; armed, closed
and dialing → stop; otherwise the card is redrawn (its "opens …" / "closes …" moved on). Then it
plans the next opening or closing. A stop the dialer did not take is tried again after
``RETRY_SECONDS``. Now and then (``REPAIR_SECONDS``) the index is checked against the documents,
for a write lost between the two by a crash.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta

from bot.reconcile import Warn
from bot.services import Services
from commands.authz import Authorizer
from commands.errors import CommandError, CommandRefused
from commands.handlers.armed import disarm
from commands.handlers.context import Deps, Requester
from commands.handlers.control import start_or_stop
from commands.replies import Reply
from commands.requests import StartCampaign, StopCampaign
from commands.text import code, escape, user
from state.campaign import Campaign, RemovalStage
from state.cancellation import cancellation_requested
from state.effects import Effect, RefreshCard
from state.turns import Turns
from state.window_schedule import WindowSchedule, dialing, needs_scheduling

log = logging.getLogger(__name__)

TICK_SECONDS = 1.0
LEASE_TICKS = 3
"""The lease on the ticks lasts this many ticks: a replica that dies hands over within them."""
EDGE_LOCK = timedelta(seconds=60)
"""How long a replica holds one opening or closing while it sends it; past that, another replica
sends it again (the first one died)."""
RETRY_SECONDS = 30
AT_ONCE = 50
"""Campaigns acted on at the same time when many windows open or close together."""
REPAIR_SECONDS = 60.0
BOT = "campaign-bot"

Dispatch = Callable[[Iterable[Effect], Campaign | None], Awaitable[None]]


async def no_leads(group: str) -> frozenset[str]:
    return frozenset()


class WindowScheduler:
    def __init__(
        self,
        services: Services,
        dispatch: Dispatch,
        *,
        deps: Deps | None = None,
        notify: Warn | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        tick_seconds: float = TICK_SECONDS,
    ) -> None:
        store = services.store
        if deps is None:
            authz = Authorizer(services.settings.campaign_leads, no_leads)
            deps = Deps(store=store, dialer=services.dialer, authz=authz)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.deps = dataclasses.replace(deps, clock=self.clock)
        self.dispatch = dispatch
        self.notify = notify
        self.sleep = sleep
        self.tick_seconds = tick_seconds
        self.schedule = WindowSchedule(store.redis, store.keys)
        self.owner = f"{socket.gethostname()}-{uuid.uuid4().hex[:8]}"
        self._repaired_at: datetime | None = None
        self._retrying: set[str] = set()
        """Campaigns whose stop the dialer did not take: tried again, said once."""

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                if cancellation_requested():
                    raise asyncio.CancelledError from None
                log.exception("calling-window tick failed; trying again next tick")
            await self.sleep(self.tick_seconds)

    async def tick(self) -> int:
        """Act on every window due now, if it is this replica's turn; returns how many."""
        if not await self._lead():
            return 0
        now = self.clock()
        if self._repaired_at is None or now - self._repaired_at >= timedelta(
            seconds=REPAIR_SECONDS
        ):
            await self.repair(now)
            self._repaired_at = now
        sending = asyncio.Semaphore(AT_ONCE)

        async def act(ref: str, was: int) -> tuple[str, int, datetime | None] | None:
            async with sending:
                if not await self._claim(ref, was):
                    return None
                return ref, was, await self._act(ref, now)

        due = await self.schedule.due(now)
        results = await asyncio.gather(*(act(ref, was) for ref, was in due), return_exceptions=True)
        acted = 0
        # One after the other: moves watch the one sorted set, so at once they would collide.
        for (ref, _), result in zip(due, results, strict=True):
            if isinstance(result, BaseException):
                log.error("calling window of %s: %s; tried again in a minute", ref, result)
            elif result is not None:
                await self.schedule.move(*result)
                acted += 1
        return acted

    async def _lead(self) -> bool:
        lease = timedelta(seconds=self.tick_seconds * LEASE_TICKS)
        return await Turns.of(self.deps.store).window_scheduler(self.owner, lease)

    async def repair(self, now: datetime) -> int:
        """Plan each campaign with a window that the index lacks; returns how many."""
        planned = await self.schedule.refs()
        missing = [c for c in await self.deps.store.list_live() if needs_scheduling(c)]
        added = 0
        for campaign in missing:
            if campaign.ref not in planned:
                log.warning("calling window of %s was not scheduled; it is now", campaign.ref)
                await self.schedule.plan(campaign, now)
                added += 1
        return added

    async def _claim(self, ref: str, was: int) -> bool:
        return await Turns.of(self.deps.store).window_edge(ref, was, self.owner, EDGE_LOCK)

    async def _act(self, ref: str, now: datetime) -> datetime | None:
        """Start or stop ``ref`` as its window is now, if it is armed; returns when to look at it
        next (None: never, it has no window any more)."""
        campaign = await self.deps.store.get(ref)
        if campaign is None or not needs_scheduling(campaign):
            return None
        assert campaign.window is not None
        window = campaign.window
        is_open = window.is_open(now)
        removal = campaign.removal
        approved = removal is not None and removal.stage is not RemovalStage.AWAITING_APPROVAL
        if campaign.armed is None or approved:
            # Nobody started it, or an approved removal stops it: only its card changes.
            await self.dispatch((RefreshCard(ref),), campaign)
        elif is_open and not dialing(campaign):
            await self._start(campaign)
        elif not is_open and dialing(campaign):
            if not await self._stop(campaign):
                return now + timedelta(seconds=RETRY_SECONDS)
        else:  # nothing to send; the card's "opens …" / "closes …" moves on
            await self.dispatch((RefreshCard(ref),), campaign)
        return window.next_change(now)

    async def _start(self, campaign: Campaign) -> None:
        assert campaign.window is not None and campaign.armed is not None
        armed = campaign.armed
        if not await self.deps.authz.may_change(armed.by):
            await disarm(self.deps, Requester(BOT), campaign.ref)
            await self._say(
                campaign,
                f":no_entry: The calling window of {_name(campaign)} opened, but "
                f"{user(armed.by)}, who armed its start, is no longer a campaign lead: nothing "
                "was sent, and its start is no longer armed.",
            )
            return
        await self.deps.store.note(
            campaign.ref, "calling window opened", BOT, {"armed_by": armed.by}
        )
        command = StartCampaign(ref=campaign.ref, partial=armed.partial)
        reply = await self._send(campaign, command)
        opened = f":alarm_clock: The calling window of {_name(campaign)} opened"
        if reply.campaign is None:
            await self._say(campaign, f"{opened}, but the start was not sent: {reply.text}")
            return
        await self._say(
            campaign, f"{opened}: start sent to the dialer for {user(armed.by)}, who armed it."
        )

    async def _stop(self, campaign: Campaign) -> bool:
        """Returns whether the stop was recorded as sent. A stop tried again is said (and
        audited) once, not every ``RETRY_SECONDS``."""
        assert campaign.armed is not None
        retrying = campaign.ref in self._retrying
        if not retrying:
            await self.deps.store.note(
                campaign.ref, "calling window closed", BOT, {"armed_by": campaign.armed.by}
            )
        reply = await self._send(campaign, StopCampaign(ref=campaign.ref))
        closed = f"The calling window of {_name(campaign)} closed"
        if reply.campaign is None:
            self._retrying.add(campaign.ref)
            if not retrying:
                await self._say(
                    campaign,
                    f":warning: {closed}, but the stop was not sent: {reply.text} The bot tries "
                    f"again every {RETRY_SECONDS} s.",
                )
            return False
        self._retrying.discard(campaign.ref)
        await self._say(
            campaign,
            f":alarm_clock: {closed}: stop sent to the dialer. It starts again at the next "
            "opening.",
        )
        return True

    async def _send(self, campaign: Campaign, command: StartCampaign | StopCampaign) -> Reply:
        assert campaign.armed is not None
        who = Requester(user_id=campaign.armed.by, channel_id=campaign.channel_id)
        try:
            reply = await start_or_stop(self.deps, who, command, by_window=True)
        except CommandRefused as exc:
            return Reply(text=exc.text)
        except CommandError as exc:
            return Reply(text=exc.problem)
        await self.dispatch(reply.effects, reply.campaign)
        return reply

    async def _say(self, campaign: Campaign, text: str) -> None:
        log.info("%s: %s", campaign.ref, text)
        if self.notify is not None:
            await self.notify(campaign, text)


def _name(campaign: Campaign) -> str:
    return f"*{escape(campaign.name)}* {code(campaign.ref)}"
