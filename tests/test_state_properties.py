"""Properties of the state machine and the removal workflow, over random interleavings.

A model dialer reports every status change as a numbered notification; the network delivers
them late, out of order and more than once. Leads start, stop, request, approve, reject and
cancel removals in between, as the handlers do; the engine's follow-ups (the stop accepted, the
confirmation read, the sweeper) run when drawn. Whatever the interleaving:

* a delete is sent only for a removal another lead approved, after a stop the bot sent was
  reported (by the dialer or a read of it), and only to a dialer that has really stopped;
* once every notification is delivered, no request the dialer answered is still pending;
* once every notification is delivered, the campaign shows the dialer's last reported status.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.reconcile import read_notification
from state.campaign import (
    FULFILLED_BY,
    Campaign,
    PendingKind,
    PendingOperation,
    with_request,
    with_start_sent,
    with_stop_sent,
)
from state.domain import CampaignStatus, DialerNotification, NotificationSource
from state.effects import ConfirmStop, Effect, SendDelete, SendStop
from state.machine import STOPPED_FOR_GOOD, apply_notification
from state.removal import (
    RemovalRefused,
    approve_removal,
    reject_removal,
    removal_follow_up,
    request_removal,
)
from tests.state_builders import T0, campaign, notification

LEADS = ("U0ANA", "U0BEN", "U0CAT")
ALREADY_THERE = {
    PendingKind.START: frozenset({CampaignStatus.RUNNING}),
    PendingKind.STOP: STOPPED_FOR_GOOD,
}
ACTIONS = (
    "start",
    "stop",
    "request",
    "approve",
    "reject",
    "cancel",
    "deliver",
    "deliver_any",
    "redeliver",
    "dialer_settles",
    "dialer_completes",
    "sweep",
)


@dataclass
class World:
    campaign: Campaign
    status: CampaignStatus = CampaignStatus.STOPPED  # the dialer's own
    sequence: int = 0
    in_flight: list[DialerNotification] = field(default_factory=list)
    delivered: list[DialerNotification] = field(default_factory=list)
    reported: CampaignStatus | None = None  # the dialer's last reported status
    deletes: int = 0
    tick: int = 0

    @property
    def now(self):  # type: ignore[no-untyped-def]
        return T0 + timedelta(seconds=self.tick)

    # -- the dialer ---------------------------------------------------------------------------

    def dialer_becomes(self, status: CampaignStatus) -> None:
        if status is self.status:
            return  # a dialer publishes nothing for a request that changes nothing
        self.status, self.sequence = status, self.sequence + 1
        self.reported = status
        event = notification(self.campaign.ref, status=status, sequence=self.sequence)
        self.in_flight.append(event.model_copy(update={"occurred_at": self.now}))

    def dialer_start(self) -> None:
        if self.status in (CampaignStatus.STOPPED, CampaignStatus.COMPLETED):
            self.dialer_becomes(CampaignStatus.RUNNING)

    def dialer_stop(self) -> None:
        if self.status is CampaignStatus.RUNNING:
            self.dialer_becomes(CampaignStatus.STOPPING)

    def dialer_delete(self) -> None:
        if self.status is CampaignStatus.DELETED:
            return  # the sweeper's repeat while the deleted notification is on its way: safe
        removal = self.campaign.removal
        assert removal is not None and removal.approved_by is not None, "delete without approval"
        assert removal.approved_by != removal.requested_by, "approved by its requester"
        assert self.campaign.stop_sent_at is not None, "delete without a stop sent"
        assert self.campaign.stop_reported, "delete before the stop was reported"
        assert self.campaign.status in STOPPED_FOR_GOOD, "delete while not shown stopped"
        assert self.status in STOPPED_FOR_GOOD, f"delete of a campaign that is {self.status}"
        self.deletes += 1
        self.dialer_becomes(CampaignStatus.DELETED)

    # -- the bot ------------------------------------------------------------------------------

    def apply(self, event: DialerNotification) -> None:
        transition = apply_notification(self.campaign, event)
        self.campaign = transition.campaign
        self.run(transition.effects)

    def run(self, effects: tuple[Effect, ...]) -> None:
        for effect in effects:
            if isinstance(effect, SendStop):
                self.dialer_stop()
                self.campaign = with_stop_sent(self.campaign, self.now)
                self.confirm_stop()
            elif isinstance(effect, ConfirmStop):
                self.confirm_stop()
            elif isinstance(effect, SendDelete):
                self.dialer_delete()

    def confirm_stop(self) -> None:
        """The engine's confirmation read: queued, so it may land late."""
        held = self.campaign
        if not held.is_live or held.stop_sent_at is None or held.stop_reported:
            return
        if self.status in STOPPED_FOR_GOOD:
            source = NotificationSource.CONFIRMATION
            self.in_flight.append(read_notification(held, self.status, self.now, source))

    def lead(self, kind: PendingKind, who: str) -> None:
        """``start_or_stop`` of the handlers, on the bot's view of the campaign."""
        held = self.campaign
        if held.removal is not None or not held.is_live:
            return  # locked while a removal is under way
        pending = PendingOperation(kind=kind, requested_by=who, requested_at=self.now)
        superseded = held.pending
        if superseded is None or superseded.kind is kind:
            superseded = None
        already_there = superseded is None and held.status in ALREADY_THERE[kind]
        # The handler sends the request even when the card shows it already done: the dialer
        # may have moved on unseen.
        if kind is PendingKind.STOP:
            self.dialer_stop()
        else:
            self.dialer_start()
        if already_there:
            if kind is PendingKind.STOP:
                self.campaign = with_stop_sent(held, self.now)
                self.confirm_stop()
            else:
                self.campaign = with_start_sent(held, self.now)
            return
        self.campaign = with_request(held, pending)
        if kind is PendingKind.STOP:
            self.confirm_stop()

    def removal_step(self, action: str, who: str) -> None:
        held = self.campaign
        try:
            if action == "request":
                self.campaign, effects = request_removal(held, who, self.now)
            elif action == "approve":
                self.campaign, effects = approve_removal(held, who, self.now)
            elif action == "reject":
                self.campaign, effects = reject_removal(held, who)
            else:  # the requester cancels
                requester = held.removal.requested_by if held.removal else who
                self.campaign, effects = reject_removal(held, requester)
        except RemovalRefused:
            return
        self.run(effects)

    def step(self, action: str, pick: int, who: str) -> None:
        self.tick += 1
        if action in ("start", "stop"):
            self.lead(PendingKind.START if action == "start" else PendingKind.STOP, who)
        elif action in ("request", "approve", "reject", "cancel"):
            self.removal_step(action, who)
        elif action == "deliver" and self.in_flight:
            self.deliver(0)
        elif action == "deliver_any" and self.in_flight:
            self.deliver(pick % len(self.in_flight))
        elif action == "redeliver" and self.delivered:
            self.apply(self.delivered[pick % len(self.delivered)])
        elif action == "dialer_settles" and self.status is CampaignStatus.STOPPING:
            self.dialer_becomes(CampaignStatus.STOPPED)
        elif action == "dialer_completes" and self.status is CampaignStatus.RUNNING:
            self.dialer_becomes(CampaignStatus.COMPLETED)
        elif action == "sweep":
            follow_up = removal_follow_up(self.campaign, self.now, timedelta(0))
            if follow_up is not None:
                self.run((follow_up,))

    def deliver(self, index: int) -> None:
        event = self.in_flight.pop(index)
        self.delivered.append(event)
        self.apply(event)

    def settle(self) -> None:
        """Deliver everything in flight (and what that brings about) until nothing is left."""
        for _ in range(100):
            if self.status is CampaignStatus.STOPPING:
                self.dialer_becomes(CampaignStatus.STOPPED)
            if not self.in_flight:
                return
            while self.in_flight:
                self.deliver(0)
        raise AssertionError("never settled")


steps = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(0, 50), st.sampled_from(LEADS)),
    max_size=60,
)
PROPERTY_SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def play(script: list[tuple[str, int, str]], *, started: bool) -> World:
    world = World(campaign(dialer_id=None))
    if started:
        world.lead(PendingKind.START, "U0ANA")
    for action, pick, who in script:
        world.step(action, pick, who)
    world.settle()
    return world


@PROPERTY_SETTINGS
@given(script=steps, started=st.booleans())
def test_no_interleaving_deletes_without_another_leads_approval_and_a_reported_stop(
    script: list[tuple[str, int, str]], started: bool
) -> None:
    play(script, started=started)  # the checks are in World.dialer_delete


@PROPERTY_SETTINGS
@given(script=steps, started=st.booleans())
def test_no_interleaving_leaves_a_pending_request_the_dialer_has_answered(
    script: list[tuple[str, int, str]], started: bool
) -> None:
    world = play(script, started=started)
    pending = world.campaign.pending
    if pending is not None:
        assert world.campaign.status not in FULFILLED_BY.get(pending.kind, frozenset())


@PROPERTY_SETTINGS
@given(script=steps, started=st.booleans())
def test_every_interleaving_ends_on_the_dialers_last_reported_status(
    script: list[tuple[str, int, str]], started: bool
) -> None:
    world = play(script, started=started)
    if world.reported is None:  # the dialer never changed: stopped, assumed or read back
        assert world.campaign.status is CampaignStatus.STOPPED
    else:
        assert world.campaign.status is world.reported
    if world.campaign.status is CampaignStatus.DELETED:
        assert world.deletes == 1 and world.campaign.removal is None


def test_a_plain_removal_of_a_running_campaign_ends_deleted() -> None:
    script = [
        ("deliver", 0, "U0ANA"),
        ("request", 0, "U0ANA"),
        ("approve", 0, "U0BEN"),
        ("dialer_settles", 0, "U0ANA"),
    ]
    world = play(script, started=True)
    assert world.campaign.status is CampaignStatus.DELETED
    assert world.deletes == 1


def test_a_removal_its_requester_approves_never_deletes() -> None:
    script = [("request", 0, "U0ANA"), ("approve", 0, "U0ANA"), ("sweep", 0, "U0ANA")]
    world = play(script, started=True)
    assert world.deletes == 0
    assert world.campaign.status is CampaignStatus.RUNNING


def test_a_start_sent_while_shown_running_is_not_forgotten_by_the_removal() -> None:
    world = World(campaign(dialer_id=None))
    script = [
        ("stop", 0, "U0BEN"),  # never started: the stop is confirmed by a read, on its way
        ("start", 0, "U0ANA"),
        ("stop", 0, "U0CAT"),  # stopping, then stopped: on their way
        ("dialer_settles", 0, "U0BEN"),
        ("deliver", 0, "U0CAT"),  # the read
        ("deliver", 0, "U0CAT"),  # running: the card shows it running
        ("start", 0, "U0BEN"),  # "already running": sent all the same, the dialer runs again
        ("deliver_any", 1, "U0BEN"),  # the stop's stopped: a true report of that stop
        ("request", 0, "U0CAT"),
    ]
    for action, pick, who in script:
        world.step(action, pick, who)
    assert world.status is CampaignStatus.RUNNING
    # Shown stopped by a true report of the earlier stop, which the later start made void.
    assert world.campaign.status is CampaignStatus.STOPPED and not world.campaign.stop_reported
    world.step("approve", 0, "U0ANA")
    # The approval stops it first (forgetting the start would send the delete at once, and
    # World.dialer_delete would fail: "delete of a campaign that is running").
    assert world.deletes == 0 and world.status is CampaignStatus.STOPPING
