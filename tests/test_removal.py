"""The people-driven steps of the removal workflow, and the follow-up after a stall."""

from __future__ import annotations

from datetime import timedelta

import pytest

from state.campaign import (
    PendingKind,
    PendingOperation,
    RemovalStage,
    with_request,
    with_stop_sent,
)
from state.domain import CampaignStatus, NotificationSource
from state.effects import ConfirmStop, RemovalRejected, RemovalRequested, SendDelete, SendStop
from state.removal import (
    RemovalRefused,
    approve_removal,
    reject_removal,
    removal_follow_up,
    request_removal,
)
from tests.state_builders import T0, campaign

LATER = T0 + timedelta(minutes=5)


def test_a_request_waits_for_approval_and_posts_the_approval_message() -> None:
    requested, effects = request_removal(campaign(status=CampaignStatus.RUNNING), "U0ANA", T0)
    assert requested.removal is not None
    assert requested.removal.stage is RemovalStage.AWAITING_APPROVAL
    assert requested.status is CampaignStatus.RUNNING
    assert effects == (RemovalRequested(requested.ref, "U0ANA"),)


def test_a_second_request_is_refused_while_one_is_under_way() -> None:
    requested, _ = request_removal(campaign(), "U0ANA", T0)
    with pytest.raises(RemovalRefused, match="already under way"):
        request_removal(requested, "U0BEN", T0)


def test_the_requester_cannot_approve_their_own_removal() -> None:
    requested, _ = request_removal(campaign(status=CampaignStatus.RUNNING), "U0ANA", T0)
    with pytest.raises(RemovalRefused, match="another campaign lead"):
        approve_removal(requested, "U0ANA", T0)


def test_approving_a_running_campaign_sends_a_stop_not_a_delete() -> None:
    requested, _ = request_removal(campaign(status=CampaignStatus.RUNNING), "U0ANA", T0)
    approved, effects = approve_removal(requested, "U0BEN", LATER)
    assert approved.removal is not None
    assert approved.removal.stage is RemovalStage.STOPPING
    assert approved.removal.approved_by == "U0BEN"
    assert effects == (SendStop(requested.ref),)


@pytest.mark.parametrize("status", [CampaignStatus.STOPPED, CampaignStatus.COMPLETED])
def test_approving_a_campaign_reported_stopped_after_a_stop_sends_the_delete(
    status: CampaignStatus,
) -> None:
    stopped = campaign(
        status=status,
        status_source=NotificationSource.DIALER,
        stop_sent_at=T0,
        stop_reported=True,
    )
    requested, _ = request_removal(stopped, "U0ANA", T0)
    approved, effects = approve_removal(requested, "U0BEN", LATER)
    assert approved.removal is not None and approved.removal.stage is RemovalStage.DELETING
    assert effects == (SendDelete(requested.ref),)


def test_approving_a_never_started_campaign_sends_a_stop_not_a_delete() -> None:
    never_started = campaign()  # stopped only because the bot assumes so at creation
    assert not never_started.status_reported
    requested, _ = request_removal(never_started, "U0ANA", T0)
    approved, effects = approve_removal(requested, "U0BEN", LATER)
    assert approved.removal is not None and approved.removal.stage is RemovalStage.STOPPING
    assert effects == (SendStop(requested.ref),)


def test_approving_a_campaign_whose_start_is_in_flight_sends_a_stop_not_a_delete() -> None:
    start = PendingOperation(kind=PendingKind.START, requested_by="U0ANA", requested_at=T0)
    reported_stopped = campaign(
        status_source=NotificationSource.DIALER, stop_sent_at=T0, stop_reported=True
    )
    starting = with_request(reported_stopped, start)
    requested, _ = request_removal(starting, "U0ANA", T0)
    approved, effects = approve_removal(requested, "U0BEN", LATER)
    assert approved.removal is not None and approved.removal.stage is RemovalStage.STOPPING
    assert effects == (SendStop(requested.ref),)


def test_approving_a_campaign_reported_stopped_without_a_stop_still_sends_the_stop() -> None:
    stopped_by_itself = campaign(status_source=NotificationSource.DIALER)
    requested, _ = request_removal(stopped_by_itself, "U0ANA", T0)
    _, effects = approve_removal(requested, "U0BEN", LATER)
    assert effects == (SendStop(requested.ref),)


def test_approving_twice_is_refused() -> None:
    requested, _ = request_removal(campaign(status=CampaignStatus.RUNNING), "U0ANA", T0)
    approved, _ = approve_removal(requested, "U0BEN", LATER)
    with pytest.raises(RemovalRefused, match="already approved"):
        approve_removal(approved, "U0CAT", LATER)


def test_rejecting_clears_the_removal() -> None:
    requested, _ = request_removal(campaign(), "U0ANA", T0)
    rejected, effects = reject_removal(requested, "U0BEN")
    assert rejected.removal is None
    assert effects == (RemovalRejected(requested.ref, "U0BEN"),)


def test_a_deleted_campaign_cannot_be_removed_again() -> None:
    with pytest.raises(RemovalRefused, match="already deleted"):
        request_removal(campaign(status=CampaignStatus.DELETED), "U0ANA", T0)


def test_a_stalled_removal_is_followed_up_with_the_request_it_waits_on() -> None:
    requested, _ = request_removal(campaign(status=CampaignStatus.RUNNING), "U0ANA", T0)
    approved, _ = approve_removal(requested, "U0BEN", T0)
    patience = timedelta(seconds=30)
    assert removal_follow_up(approved, T0 + timedelta(seconds=5), patience) is None
    assert removal_follow_up(approved, T0 + timedelta(minutes=1), patience) == SendStop(
        approved.ref
    )
    stopped = approved.model_copy(
        update={
            "status": CampaignStatus.STOPPED,
            "removal": approved.removal.model_copy(update={"stage": RemovalStage.DELETING})
            if approved.removal
            else None,
        }
    )
    assert removal_follow_up(stopped, T0 + timedelta(minutes=1), patience) == SendDelete(
        stopped.ref
    )


def test_a_removal_awaiting_approval_is_not_followed_up() -> None:
    requested, _ = request_removal(campaign(status=CampaignStatus.RUNNING), "U0ANA", T0)
    assert removal_follow_up(requested, LATER, timedelta(seconds=1)) is None


def test_a_stalled_stopping_removal_reads_the_dialer_once_its_stop_was_accepted() -> None:
    requested, _ = request_removal(campaign(status=CampaignStatus.RUNNING), "U0ANA", T0)
    approved, _ = approve_removal(requested, "U0BEN", T0)
    stopping = approved.model_copy(update={"status": CampaignStatus.STOPPING})
    # The removal's stop was never accepted (the dialer was down): the stop again.
    assert removal_follow_up(stopping, LATER, timedelta(seconds=1)) == SendStop(stopping.ref)
    # Accepted, and the stopped notification never came: read the dialer's status.
    accepted = with_stop_sent(stopping, T0 + timedelta(seconds=1))
    assert removal_follow_up(accepted, LATER, timedelta(seconds=1)) == ConfirmStop(stopping.ref)
