"""The second-lead rule and the removal's refusals, where a loosened guard would go unnoticed.

A removal only requested (not approved) must never reach the dialer: neither the follow-up
sweep nor a notification may send its stop or delete. Rejecting works only while a removal
waits for approval, and says why otherwise.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from state.campaign import Removal, RemovalStage, with_stop_sent
from state.domain import CampaignStatus, NotificationSource
from state.effects import RefreshCard, SendDelete, SendStop
from state.machine import Outcome, apply_notification
from state.removal import (
    RemovalExpired,
    RemovalRefused,
    approval_deadline,
    approve_removal,
    expire_removal,
    is_expired,
    reject_removal,
    removal_follow_up,
    request_removal,
)
from tests.state_builders import T0, campaign, notification

LATER = T0 + timedelta(hours=1)
PATIENCE = timedelta(seconds=30)


@pytest.mark.parametrize("status", [CampaignStatus.STOPPED, CampaignStatus.COMPLETED])
def test_an_unapproved_removal_is_never_deleted_by_the_sweeper(status: CampaignStatus) -> None:
    stopped = campaign(
        status=status,
        status_source=NotificationSource.DIALER,
        stop_sent_at=T0,
        stop_reported=True,
    )
    requested, _ = request_removal(stopped, "U0ANA", T0)
    # Long stalled, stopped for good after a stop: everything but the approval.
    assert removal_follow_up(requested, LATER, PATIENCE) is None


def test_an_unapproved_removal_of_a_running_campaign_is_never_stopped_by_the_sweeper() -> None:
    requested, _ = request_removal(campaign(status=CampaignStatus.RUNNING), "U0ANA", T0)
    assert removal_follow_up(requested, LATER, PATIENCE) is None


def test_a_removal_without_stage_time_is_followed_up_at_once() -> None:
    removal = Removal(
        requested_by="U0ANA", requested_at=T0, stage=RemovalStage.STOPPING, approved_by="U0BEN"
    )
    running = campaign(status=CampaignStatus.RUNNING, removal=removal)
    assert removal_follow_up(running, T0, PATIENCE) == SendStop(running.ref)


def test_a_removal_is_followed_up_only_once_its_patience_has_run_out() -> None:
    requested, _ = request_removal(campaign(status=CampaignStatus.RUNNING), "U0ANA", T0)
    approved, _ = approve_removal(requested, "U0BEN", T0)
    assert removal_follow_up(approved, T0 + PATIENCE - timedelta(seconds=1), PATIENCE) is None
    assert removal_follow_up(approved, T0 + PATIENCE, PATIENCE) == SendStop(approved.ref)


def test_a_stalled_deleting_removal_of_a_running_campaign_sends_no_delete() -> None:
    removal = Removal(
        requested_by="U0ANA",
        requested_at=T0,
        stage=RemovalStage.DELETING,
        approved_by="U0BEN",
        stage_since=T0,
    )
    running = campaign(status=CampaignStatus.RUNNING, removal=removal)
    assert removal_follow_up(running, LATER, PATIENCE) is None


def test_a_stop_accepted_before_the_stopping_stage_began_is_sent_again() -> None:
    removal = Removal(
        requested_by="U0ANA",
        requested_at=T0,
        stage=RemovalStage.STOPPING,
        approved_by="U0BEN",
        stage_since=T0 + timedelta(minutes=1),
    )
    earlier_stop = campaign(
        status=CampaignStatus.STOPPING, removal=removal, stop_sent_at=T0 + timedelta(seconds=59)
    )
    assert removal_follow_up(earlier_stop, LATER, PATIENCE) == SendStop(earlier_stop.ref)
    same_moment = earlier_stop.model_copy(update={"stop_sent_at": T0 + timedelta(minutes=1)})
    assert removal_follow_up(same_moment, LATER, PATIENCE) != SendStop(earlier_stop.ref)


@pytest.mark.parametrize(
    "reported", [CampaignStatus.RUNNING, CampaignStatus.STOPPED, CampaignStatus.COMPLETED]
)
def test_a_running_notification_while_awaiting_approval_sends_nothing(
    reported: CampaignStatus,
) -> None:
    stored = campaign(
        status=CampaignStatus.STOPPED
        if reported is CampaignStatus.RUNNING
        else CampaignStatus.RUNNING,
        stop_sent_at=T0,
    )
    requested, _ = request_removal(stored, "U0ANA", T0)
    result = apply_notification(requested, notification(status=reported, sequence=5))
    assert result.outcome is Outcome.APPLIED
    assert not any(isinstance(e, SendStop | SendDelete) for e in result.effects)
    assert result.campaign.removal == requested.removal


def test_a_read_while_awaiting_approval_sends_nothing() -> None:
    running = campaign(status=CampaignStatus.RUNNING, stop_sent_at=T0)
    requested, _ = request_removal(running, "U0ANA", T0)
    for status in (CampaignStatus.STOPPED, CampaignStatus.RUNNING):
        read = notification(status=status, sequence=5, source=NotificationSource.RECONCILIATION)
        result = apply_notification(requested, read)
        assert not any(isinstance(e, SendStop | SendDelete) for e in result.effects)
        assert result.campaign.removal == requested.removal


def test_rejecting_a_removal_already_approved_and_under_way_is_refused() -> None:
    requested, _ = request_removal(campaign(status=CampaignStatus.RUNNING), "U0ANA", T0)
    approved, _ = approve_removal(requested, "U0BEN", T0)
    with pytest.raises(RemovalRefused, match="already approved and is under way"):
        reject_removal(approved, "U0CAT")


def test_rejecting_when_no_removal_is_waiting_is_refused_with_the_reason() -> None:
    with pytest.raises(RemovalRefused, match="no removal of `c-20261123-abcd` waiting"):
        reject_removal(campaign(), "U0BEN")


def test_approving_when_no_removal_is_waiting_is_refused_with_the_reason() -> None:
    with pytest.raises(RemovalRefused, match="no removal of `c-20261123-abcd` waiting"):
        approve_removal(campaign(), "U0BEN", T0)


def test_approval_records_who_approved_when_and_since_when_the_stage_runs() -> None:
    requested, _ = request_removal(campaign(status=CampaignStatus.RUNNING), "U0ANA", T0)
    approved, _ = approve_removal(requested, "U0BEN", LATER)
    assert approved.removal is not None
    assert (approved.removal.approved_by, approved.removal.approved_at) == ("U0BEN", LATER)
    assert approved.removal.stage_since == LATER
    assert approved.removal.requested_by == "U0ANA"


def test_a_stopped_campaign_whose_stop_was_never_reported_is_stopped_before_the_delete() -> None:
    # Stopped, a stop sent, but no report after it: the delete waits for the report.
    unreported = campaign(
        status=CampaignStatus.STOPPED, status_source=NotificationSource.DIALER, stop_sent_at=T0
    )
    requested, _ = request_removal(unreported, "U0ANA", T0)
    _, effects = approve_removal(requested, "U0BEN", LATER)
    assert effects == (SendStop(unreported.ref),)
    # A running campaign whose last stop was reported long ago is stopped again too.
    ran_again = campaign(status=CampaignStatus.RUNNING, stop_sent_at=T0, stop_reported=True)
    requested, _ = request_removal(ran_again, "U0ANA", T0)
    _, effects = approve_removal(requested, "U0BEN", LATER)
    assert effects == (SendStop(ran_again.ref),)


def test_a_stopped_from_before_the_removals_stop_delivered_late_never_sends_the_delete() -> None:
    # It ran, completed, was started again; the removal's stop goes out; then the old
    # `completed` arrives (its sequence is newer than anything applied so far).
    running = campaign(status=CampaignStatus.RUNNING, status_sequence=1)
    requested, _ = request_removal(running, "U0ANA", T0)
    approved, effects = approve_removal(requested, "U0BEN", T0 + timedelta(seconds=10))
    assert effects == (SendStop(running.ref),)
    stop_sent = with_stop_sent(approved, T0 + timedelta(seconds=10))
    old_news = notification(status=CampaignStatus.COMPLETED, sequence=2)  # at T0 + 2 s
    result = apply_notification(stop_sent, old_news)
    assert result.outcome is Outcome.APPLIED and result.campaign.status is CampaignStatus.COMPLETED
    assert result.campaign.stop_reported is False
    assert not any(isinstance(e, SendDelete) for e in result.effects)
    # The dialer's report of the removal's stop, after it: now the delete.
    report = notification(status=CampaignStatus.STOPPED, sequence=4).model_copy(
        update={"occurred_at": T0 + timedelta(seconds=11)}
    )
    assert apply_notification(result.campaign, report).effects[-1] == SendDelete(running.ref)


def test_a_confirmation_read_taken_before_the_removals_stop_never_sends_the_delete() -> None:
    never_started = campaign()
    read_early = notification(
        status=CampaignStatus.STOPPED, sequence=0, source=NotificationSource.CONFIRMATION
    )  # taken at T0 + 0 s, applied late
    requested, _ = request_removal(never_started, "U0ANA", T0)
    approved, _ = approve_removal(requested, "U0BEN", T0 + timedelta(seconds=5))
    stop_sent = with_stop_sent(approved, T0 + timedelta(seconds=5))
    result = apply_notification(stop_sent, read_early)
    assert result.campaign.stop_reported is False
    assert not any(isinstance(e, SendDelete) for e in result.effects)
    read_after = read_early.model_copy(update={"occurred_at": T0 + timedelta(seconds=6)})
    assert SendDelete(never_started.ref) in apply_notification(stop_sent, read_after).effects


def test_a_late_old_stopped_keeps_a_stop_already_reported() -> None:
    reported = campaign(
        status=CampaignStatus.STOPPED,
        status_sequence=3,
        stop_sent_at=T0 + timedelta(seconds=10),
        stop_reported=True,
    )
    read_early = notification(  # at T0 + 3 s, before the stop at T0 + 10 s
        status=CampaignStatus.COMPLETED, sequence=3, source=NotificationSource.RECONCILIATION
    )
    after = apply_notification(reported, read_early).campaign
    assert after.stop_reported is True


def test_a_request_carries_its_own_deadline_when_given_a_ttl() -> None:
    requested, _ = request_removal(campaign(), "U0ANA", T0, timedelta(hours=2))
    assert requested.removal is not None
    assert requested.removal.expires_at == T0 + timedelta(hours=2)
    assert approval_deadline(requested.removal) == T0 + timedelta(hours=2)
    assert requested.removal.request_id
    untimed, _ = request_removal(campaign(), "U0ANA", T0)
    assert untimed.removal is not None and untimed.removal.expires_at is None
    assert approval_deadline(untimed.removal, timedelta(minutes=5)) == T0 + timedelta(minutes=5)
    assert untimed.removal.request_id != requested.removal.request_id


def test_a_request_expires_at_its_deadline_not_before() -> None:
    requested, _ = request_removal(campaign(), "U0ANA", T0, timedelta(hours=1))
    assert requested.removal is not None
    assert not is_expired(requested.removal, T0 + timedelta(minutes=59))
    assert is_expired(requested.removal, T0 + timedelta(hours=1))


def test_an_approved_removal_never_expires() -> None:
    requested, _ = request_removal(campaign(), "U0ANA", T0, timedelta(hours=1))
    approved, _ = approve_removal(requested, "U0BEN", T0)
    assert approved.removal is not None
    assert not is_expired(approved.removal, T0 + timedelta(days=30))


def test_an_expired_request_cannot_be_approved_and_says_until_when_it_could() -> None:
    requested, _ = request_removal(campaign(), "U0ANA", T0, timedelta(hours=1))
    with pytest.raises(RemovalExpired, match="expired at 2026-11-23 10:00 UTC"):
        approve_removal(requested, "U0BEN", T0 + timedelta(hours=1))


def test_expiring_drops_only_a_request_past_its_deadline() -> None:
    requested, _ = request_removal(campaign(), "U0ANA", T0, timedelta(hours=1))
    with pytest.raises(RemovalRefused, match="has not expired"):
        expire_removal(requested, T0 + timedelta(minutes=30))
    expired, effects = expire_removal(requested, T0 + timedelta(hours=1))
    assert expired.removal is None
    assert effects == (RefreshCard(requested.ref),)
    approved, _ = approve_removal(requested, "U0BEN", T0)
    with pytest.raises(RemovalRefused, match="already approved"):
        expire_removal(approved, T0 + timedelta(days=2))


def test_a_report_stamped_the_moment_the_stop_was_sent_counts_as_after_it() -> None:
    removal = Removal(
        requested_by="U0ANA", requested_at=T0, stage=RemovalStage.STOPPING, approved_by="U0BEN"
    )
    report = notification(status=CampaignStatus.STOPPED, sequence=2)
    stopping = campaign(
        status=CampaignStatus.STOPPING, removal=removal, stop_sent_at=report.occurred_at
    )
    result = apply_notification(stopping, report)
    assert result.campaign.stop_reported is True
    assert SendDelete(stopping.ref) in result.effects


def test_a_request_stored_without_a_deadline_expires_a_day_after_it_was_made() -> None:
    old = Removal(requested_by="U0ANA", requested_at=T0)  # stored before deadlines existed
    assert approval_deadline(old) == T0 + timedelta(days=1)
    assert not is_expired(old, T0 + timedelta(hours=23, minutes=59))
    assert is_expired(old, T0 + timedelta(days=1))
