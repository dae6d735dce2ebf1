"""Calling windows end to end, on an injected clock: a lead's start outside the window is armed,
the scheduler sends it at the opening, stops at the closing and starts again the next day, over
daylight-saving changes and midnight, across a restart and with two replicas, until a lead stops
it. The status changes only with the dialer's notifications."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.bootstrap import Services
from bot.settings import Settings
from bot.window_scheduler import LEASE_TICKS, RETRY_SECONDS, WindowScheduler
from commands.authz import Authorizer
from commands.handlers.context import Deps, Requester
from commands.handlers.control import start_or_stop
from commands.handlers.window import SetCallingWindow, parse_window_command, run_window
from commands.replies import Reply
from commands.requests import StartCampaign, StopCampaign
from dialer.errors import DialerUnavailable
from dialer.simulator import SimulatorDialer
from state.calling_window import parse_window
from state.campaign import Campaign, PendingKind, Removal, RemovalStage
from state.domain import CampaignStatus
from state.effects import ConfirmStop, Effect, RefreshCard
from state.inbox import NotificationInbox
from state.keys import Keys
from state.store import CampaignStore
from tests.fake_clock import FakeClock
from tests.state_builders import notification

ANA, BOB = "UANA", "UBOB"
TICK = 0.05  # seconds of real time a replica's lease lasts LEASE_TICKS of
NINE_TO_EIGHT = "09:00-20:00 America/New_York"


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


async def no_groups(group_id: str) -> frozenset[str]:
    return frozenset()


class RecordingDialer(SimulatorDialer):
    """The simulator, except that starts and stops are only recorded (and may fail)."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str]] = []
        self.down = False

    async def start(self, ref: str) -> None:
        self._send("start", ref)

    async def stop(self, ref: str) -> None:
        self._send("stop", ref)

    def _send(self, what: str, ref: str) -> None:
        if self.down:
            raise DialerUnavailable("the dialer is down")
        self.sent.append((what, ref))


@dataclass
class Bot:
    """One replica's view: its store and scheduler, over the shared Redis and dialer."""

    redis: Redis
    keys: Keys
    dialer: RecordingDialer
    clock: FakeClock
    leads: tuple[str, ...] = (ANA, BOB)
    said: list[str] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = CampaignStore(self.redis, self.keys, clock=self.now)
        self.deps = Deps(
            store=self.store,
            dialer=self.dialer,
            authz=Authorizer(self.leads, no_groups),
            clock=self.now,
        )
        services = Services(
            settings=Settings(),
            redis=self.redis,
            store=self.store,
            inbox=NotificationInbox(self.redis, self.keys),
            dialer=self.dialer,
        )
        self.scheduler = WindowScheduler(
            services,
            self.dispatch,
            deps=self.deps,
            notify=self.notify,
            clock=self.now,
            tick_seconds=TICK,
        )

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now, UTC)

    async def dispatch(self, effects: Iterable[Effect], campaign: Campaign | None) -> None:
        self.effects.extend(effects)

    async def notify(self, campaign: Campaign, text: str) -> None:
        self.said.append(text)

    async def at(self, when: datetime) -> int:
        """Move the clock to ``when`` and let the scheduler tick."""
        self.clock.now = when.timestamp()
        return await self.scheduler.tick()


@pytest.fixture
async def dialer() -> AsyncIterator[RecordingDialer]:
    recording = RecordingDialer()
    yield recording
    await recording.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bot(redis: Redis, keys: Keys, dialer: RecordingDialer, clock: FakeClock) -> Bot:
    return Bot(redis, keys, dialer, clock)


async def new_campaign(bot: Bot, window: str | None = NINE_TO_EIGHT) -> str:
    ref = await bot.store.issue_ref()
    await bot.store.create(
        Campaign(
            ref=ref,
            name="Renewals",
            dialer=bot.dialer.name,
            channel_id="C1",
            created_by=ANA,
            created_at=bot.now(),
        )
    )
    if window is not None:
        await run_window(
            bot.deps,
            Requester(ANA, "C1"),
            SetCallingWindow(ref=ref, window=parse_window(window.split())),
        )
    return ref


async def lead(bot: Bot, command: StartCampaign | StopCampaign, who: str = ANA) -> Reply:
    return await start_or_stop(bot.deps, Requester(who, "C1"), command)


async def reported(bot: Bot, ref: str, status: CampaignStatus, sequence: int) -> None:
    await bot.store.apply_notification(notification(ref, status=status, sequence=sequence))


def starts_and_stops(bot: Bot, ref: str) -> list[str]:
    return [what for what, sent_for in bot.dialer.sent if sent_for == ref]


async def test_a_start_before_the_window_is_armed_and_sent_at_the_opening(bot: Bot) -> None:
    bot.clock.now = utc(2026, 12, 1, 12).timestamp()  # Tuesday 07:00 in New York
    ref = await new_campaign(bot)

    reply = await lead(bot, StartCampaign(ref=ref))

    assert reply.text is not None and "armed" in reply.text
    assert "Tue 1 Dec 09:00 America/New_York" in reply.text
    stored = await bot.store.require(ref)
    assert stored.armed is not None and stored.armed.by == ANA
    assert stored.pending is None
    assert starts_and_stops(bot, ref) == []
    await bot.at(utc(2026, 12, 1, 13, 59, 59))
    assert starts_and_stops(bot, ref) == []

    await bot.at(utc(2026, 12, 1, 14))  # 09:00

    assert starts_and_stops(bot, ref) == ["start"]
    started = await bot.store.require(ref)
    assert started.status is CampaignStatus.STOPPED  # until the dialer says so
    assert started.pending is not None and started.pending.kind is PendingKind.START
    assert started.pending.requested_by == ANA
    assert any("opened: start sent" in text for text in bot.said)


async def test_the_window_stops_at_its_closing_and_starts_again_the_next_day(bot: Bot) -> None:
    bot.clock.now = utc(2026, 12, 1, 12).timestamp()
    ref = await new_campaign(bot)
    await lead(bot, StartCampaign(ref=ref))
    await bot.at(utc(2026, 12, 1, 14))
    await reported(bot, ref, CampaignStatus.RUNNING, 1)

    await bot.at(utc(2026, 12, 2, 0, 59))  # 19:59
    assert starts_and_stops(bot, ref) == ["start"]
    await bot.at(utc(2026, 12, 2, 1))  # 20:00

    assert starts_and_stops(bot, ref) == ["start", "stop"]
    assert ConfirmStop(ref) in bot.effects
    stopping = await bot.store.require(ref)
    assert stopping.status is CampaignStatus.RUNNING
    assert stopping.pending is not None and stopping.pending.kind is PendingKind.STOP
    assert stopping.armed is not None  # the window's stop does not disarm
    await reported(bot, ref, CampaignStatus.STOPPED, 2)

    await bot.at(utc(2026, 12, 2, 13, 59))
    await bot.at(utc(2026, 12, 2, 14))  # Wednesday 09:00

    assert starts_and_stops(bot, ref) == ["start", "stop", "start"]


async def test_the_reply_says_when_in_the_leads_own_time_zone(bot: Bot) -> None:
    async def chicago(user_id: str) -> str | None:
        return "America/Chicago"

    bot.deps = Deps(bot.store, bot.dialer, bot.deps.authz, bot.now, time_zone_of=chicago)
    bot.clock.now = utc(2026, 12, 1, 12).timestamp()
    ref = await new_campaign(bot)

    reply = await lead(bot, StartCampaign(ref=ref))

    assert reply.text is not None
    assert "Tue 1 Dec 08:00 your time (America/Chicago), 09:00 in America/New_York" in reply.text


async def test_a_start_inside_the_window_goes_out_at_once_and_stops_at_the_closing(
    bot: Bot,
) -> None:
    bot.clock.now = utc(2026, 12, 1, 15).timestamp()  # 10:00
    ref = await new_campaign(bot)

    reply = await lead(bot, StartCampaign(ref=ref))

    assert starts_and_stops(bot, ref) == ["start"]
    assert reply.text is not None and "armed for its calling window" in reply.text
    await bot.at(utc(2026, 12, 1, 15, 0, 1))
    assert starts_and_stops(bot, ref) == ["start"]
    await bot.at(utc(2026, 12, 2, 1))
    assert starts_and_stops(bot, ref) == ["start", "stop"]


async def test_the_opening_follows_the_spring_daylight_saving_change(bot: Bot) -> None:
    bot.clock.now = utc(2026, 3, 7, 12).timestamp()  # Saturday 07:00 EST
    ref = await new_campaign(bot)
    await lead(bot, StartCampaign(ref=ref))
    await bot.at(utc(2026, 3, 7, 14))  # 09:00 EST
    await bot.at(utc(2026, 3, 8, 1))  # 20:00 EST
    assert starts_and_stops(bot, ref) == ["start", "stop"]

    await bot.at(utc(2026, 3, 8, 12, 59, 59))
    assert starts_and_stops(bot, ref) == ["start", "stop"]
    await bot.at(utc(2026, 3, 8, 13))  # Sunday 09:00 EDT

    assert starts_and_stops(bot, ref) == ["start", "stop", "start"]


async def test_a_window_across_midnight_starts_at_night_and_stops_the_next_morning(
    bot: Bot,
) -> None:
    bot.clock.now = utc(2026, 12, 2, 2).timestamp()  # Tuesday 21:00
    ref = await new_campaign(bot, "22:00-02:00 America/New_York")
    await lead(bot, StartCampaign(ref=ref))

    await bot.at(utc(2026, 12, 2, 3))  # 22:00
    assert starts_and_stops(bot, ref) == ["start"]
    await bot.at(utc(2026, 12, 2, 6, 59))  # Wednesday 01:59
    assert starts_and_stops(bot, ref) == ["start"]
    await bot.at(utc(2026, 12, 2, 7))  # 02:00

    assert starts_and_stops(bot, ref) == ["start", "stop"]


async def test_a_restart_between_arming_and_opening_loses_nothing(
    redis: Redis, keys: Keys, dialer: RecordingDialer, clock: FakeClock
) -> None:
    before = Bot(redis, keys, dialer, clock)
    clock.now = utc(2026, 12, 1, 12).timestamp()
    ref = await new_campaign(before)
    await lead(before, StartCampaign(ref=ref))
    await before.at(utc(2026, 12, 1, 12, 30))  # it held the lease when it went away

    after = Bot(redis, keys, dialer, clock)  # a new process: nothing shared but Redis
    await asyncio.sleep(TICK * LEASE_TICKS + 0.05)  # the dead replica's lease runs out
    await after.at(utc(2026, 12, 1, 14))

    assert starts_and_stops(after, ref) == ["start"]
    assert any("opened: start sent" in text for text in after.said)


async def test_two_replicas_send_each_start_and_stop_once(
    redis: Redis, keys: Keys, dialer: RecordingDialer, clock: FakeClock
) -> None:
    one, two = Bot(redis, keys, dialer, clock), Bot(redis, keys, dialer, clock)
    clock.now = utc(2026, 12, 1, 12).timestamp()
    ref = await new_campaign(one)
    await lead(one, StartCampaign(ref=ref))

    for when in (utc(2026, 12, 1, 14), utc(2026, 12, 2, 1), utc(2026, 12, 2, 14)):
        clock.now = when.timestamp()
        await asyncio.gather(one.scheduler.tick(), two.scheduler.tick())

    assert starts_and_stops(one, ref) == ["start", "stop", "start"]


async def test_an_opening_is_sent_once_even_when_two_replicas_both_tick(
    redis: Redis, keys: Keys, dialer: RecordingDialer, clock: FakeClock
) -> None:
    one, two = Bot(redis, keys, dialer, clock), Bot(redis, keys, dialer, clock)
    clock.now = utc(2026, 12, 1, 12).timestamp()
    ref = await new_campaign(one)
    await lead(one, StartCampaign(ref=ref))
    clock.now = utc(2026, 12, 1, 14).timestamp()

    due = await one.scheduler.schedule.due(one.now())
    claimed = await asyncio.gather(
        *(bot.scheduler._claim(ref, was) for bot in (one, two) for _, was in due)
    )

    assert sorted(claimed) == [False, True]


async def test_a_leads_stop_disarms_so_nothing_starts_the_next_day(bot: Bot) -> None:
    bot.clock.now = utc(2026, 12, 1, 12).timestamp()
    ref = await new_campaign(bot)
    await lead(bot, StartCampaign(ref=ref))
    await bot.at(utc(2026, 12, 1, 14))
    bot.clock.now = utc(2026, 12, 1, 17).timestamp()

    reply = await lead(bot, StopCampaign(ref=ref), who=BOB)

    assert reply.text is not None and "no longer armed" in reply.text
    assert (await bot.store.require(ref)).armed is None
    await bot.at(utc(2026, 12, 2, 1))
    await bot.at(utc(2026, 12, 2, 14))
    assert starts_and_stops(bot, ref) == ["start", "stop"]


async def test_a_window_nobody_started_only_moves_its_cards_opening_and_closing(bot: Bot) -> None:
    bot.clock.now = utc(2026, 12, 1, 12).timestamp()
    ref = await new_campaign(bot)
    await bot.at(utc(2026, 12, 1, 12, 0, 1))
    bot.effects.clear()

    await bot.at(utc(2026, 12, 1, 14))
    assert bot.effects == [RefreshCard(ref)]  # "open, closes …"
    await bot.at(utc(2026, 12, 2, 1))
    assert bot.effects == [RefreshCard(ref), RefreshCard(ref)]  # "closed, opens …"
    assert starts_and_stops(bot, ref) == []
    assert await bot.scheduler.schedule.when(ref) == utc(2026, 12, 2, 14)


async def test_the_opening_follows_the_autumn_daylight_saving_change(bot: Bot) -> None:
    bot.clock.now = utc(2026, 10, 31, 12).timestamp()  # Saturday 08:00 EDT
    ref = await new_campaign(bot)
    await lead(bot, StartCampaign(ref=ref))
    await bot.at(utc(2026, 10, 31, 13))  # 09:00 EDT
    await bot.at(utc(2026, 11, 1, 0))  # 20:00 EDT
    assert starts_and_stops(bot, ref) == ["start", "stop"]

    await bot.at(utc(2026, 11, 1, 13))  # 08:00 EST: the clocks went back in the night
    assert starts_and_stops(bot, ref) == ["start", "stop"]
    await bot.at(utc(2026, 11, 1, 14))  # Sunday 09:00 EST

    assert starts_and_stops(bot, ref) == ["start", "stop", "start"]


async def test_a_stop_the_dialer_did_not_take_is_tried_again(bot: Bot) -> None:
    bot.clock.now = utc(2026, 12, 1, 15).timestamp()
    ref = await new_campaign(bot)
    await lead(bot, StartCampaign(ref=ref))
    bot.dialer.down = True

    await bot.at(utc(2026, 12, 2, 1))
    assert starts_and_stops(bot, ref) == ["start"]
    assert any("tries again" in text for text in bot.said)
    bot.dialer.down = False
    await bot.at(utc(2026, 12, 2, 1, 0, RETRY_SECONDS - 1))
    assert starts_and_stops(bot, ref) == ["start"]
    await bot.at(utc(2026, 12, 2, 1, 0, RETRY_SECONDS))

    assert starts_and_stops(bot, ref) == ["start", "stop"]


async def test_a_stop_refused_again_and_again_is_said_once(bot: Bot) -> None:
    bot.clock.now = utc(2026, 12, 1, 15).timestamp()
    ref = await new_campaign(bot)
    await lead(bot, StartCampaign(ref=ref))
    bot.dialer.down = True

    closing = utc(2026, 12, 2, 1)
    for retry in range(4):
        await bot.at(closing + timedelta(seconds=retry * RETRY_SECONDS))

    assert sum("stop was not sent" in text for text in bot.said) == 1
    bot.dialer.down = False
    await bot.at(closing + timedelta(seconds=4 * RETRY_SECONDS))
    assert starts_and_stops(bot, ref) == ["start", "stop"]
    assert any("stop sent to the dialer" in text for text in bot.said)


async def test_a_start_the_dialer_did_not_take_leaves_nothing_armed(bot: Bot) -> None:
    bot.clock.now = utc(2026, 12, 1, 15).timestamp()  # inside the window
    ref = await new_campaign(bot)
    bot.dialer.down = True

    reply = await lead(bot, StartCampaign(ref=ref))

    assert reply.text is not None and "did not take the start" in reply.text
    assert (await bot.store.require(ref)).armed is None
    bot.dialer.down = False
    await bot.at(utc(2026, 12, 2, 1))
    await bot.at(utc(2026, 12, 2, 14))
    assert starts_and_stops(bot, ref) == []


async def test_the_closing_stops_a_campaign_whose_removal_waits_for_approval(bot: Bot) -> None:
    bot.clock.now = utc(2026, 12, 1, 15).timestamp()
    ref = await new_campaign(bot)
    await lead(bot, StartCampaign(ref=ref))
    await reported(bot, ref, CampaignStatus.RUNNING, 1)
    waiting = Removal(requested_by=BOB, requested_at=bot.now())
    await bot.store.update(
        ref, lambda c: (c.model_copy(update={"removal": waiting}), ()), actor=BOB, action="test"
    )

    await bot.at(utc(2026, 12, 2, 1))

    assert starts_and_stops(bot, ref) == ["start", "stop"]


async def test_an_approved_removal_is_left_to_stop_the_campaign_itself(bot: Bot) -> None:
    bot.clock.now = utc(2026, 12, 1, 15).timestamp()
    ref = await new_campaign(bot)
    await lead(bot, StartCampaign(ref=ref))
    await reported(bot, ref, CampaignStatus.RUNNING, 1)
    approved = Removal(
        requested_by=BOB,
        requested_at=bot.now(),
        stage=RemovalStage.STOPPING,
        approved_by=ANA,
        approved_at=bot.now(),
    )
    await bot.store.update(
        ref, lambda c: (c.model_copy(update={"removal": approved}), ()), actor=ANA, action="test"
    )

    await bot.at(utc(2026, 12, 2, 1))

    assert starts_and_stops(bot, ref) == ["start"]  # the removal's own stop is the engine's


async def test_an_armed_start_of_someone_no_longer_a_lead_is_not_sent(
    redis: Redis, keys: Keys, dialer: RecordingDialer, clock: FakeClock
) -> None:
    armed_by_ana = Bot(redis, keys, dialer, clock)
    clock.now = utc(2026, 12, 1, 12).timestamp()
    ref = await new_campaign(armed_by_ana)
    await lead(armed_by_ana, StartCampaign(ref=ref))

    without_ana = Bot(redis, keys, dialer, clock, leads=(BOB,))
    await without_ana.at(utc(2026, 12, 1, 14))

    assert starts_and_stops(without_ana, ref) == []
    assert (await without_ana.store.require(ref)).armed is None
    assert any("no longer a campaign lead" in text for text in without_ana.said)


async def test_a_window_set_on_a_running_campaign_stops_it_when_closed(bot: Bot) -> None:
    bot.clock.now = utc(2026, 12, 2, 2).timestamp()  # 21:00, after the window
    ref = await new_campaign(bot, window=None)
    await reported(bot, ref, CampaignStatus.RUNNING, 1)

    command = parse_window_command("window", [ref, *NINE_TO_EIGHT.split()])
    assert isinstance(command, SetCallingWindow)
    reply = await run_window(bot.deps, Requester(BOB, "C1"), command)

    assert reply.text is not None and "it is armed" in reply.text
    await bot.at(utc(2026, 12, 2, 2, 0, 1))
    assert starts_and_stops(bot, ref) == ["stop"]


async def test_a_start_of_a_campaign_dialing_outside_its_window_stops_it(bot: Bot) -> None:
    bot.clock.now = utc(2026, 12, 2, 2).timestamp()  # 21:00, after the window
    ref = await new_campaign(bot)
    await reported(bot, ref, CampaignStatus.RUNNING, 1)  # started on the dialer's own screen

    reply = await lead(bot, StartCampaign(ref=ref))

    assert reply.text is not None and "stops it at once" in reply.text
    await bot.at(utc(2026, 12, 2, 2, 0, 1))
    assert starts_and_stops(bot, ref) == ["stop"]
    await reported(bot, ref, CampaignStatus.STOPPED, 2)
    await bot.at(utc(2026, 12, 2, 14))  # the next opening
    assert starts_and_stops(bot, ref) == ["stop", "start"]


async def test_removing_the_window_disarms_and_leaves_the_dialer_alone(bot: Bot) -> None:
    bot.clock.now = utc(2026, 12, 1, 12).timestamp()
    ref = await new_campaign(bot)
    await lead(bot, StartCampaign(ref=ref))

    reply = await run_window(bot.deps, Requester(ANA, "C1"), SetCallingWindow(ref=ref, window=None))

    assert reply.text is not None and "armed start is withdrawn" in reply.text
    stored = await bot.store.require(ref)
    assert stored.window is None and stored.armed is None
    await bot.at(utc(2026, 12, 1, 14))
    assert starts_and_stops(bot, ref) == []


async def test_an_armed_campaign_missing_from_the_schedule_is_scheduled_again(bot: Bot) -> None:
    bot.clock.now = utc(2026, 12, 1, 12).timestamp()
    ref = await new_campaign(bot)
    await lead(bot, StartCampaign(ref=ref))
    await bot.redis.delete(bot.keys.window_due)  # as if a crash lost the write

    await bot.at(utc(2026, 12, 1, 12, 0, 1))
    await bot.at(utc(2026, 12, 1, 14))

    assert starts_and_stops(bot, ref) == ["start"]


async def test_a_campaign_stored_before_windows_existed_loads_without_one(bot: Bot) -> None:
    ref = await new_campaign(bot, window=None)
    raw = (await bot.store.require(ref)).model_dump(mode="json")
    del raw["window"], raw["armed"]

    old = Campaign.model_validate(raw)

    assert old.window is None and old.armed is None
