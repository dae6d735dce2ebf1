"""A status the bot reads back from the dialer after an outage corrects what is shown, and is
audited as a reconciliation; it never moves a removal on, never deletes, and never outranks
the dialer's own notifications."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from state.campaign import PendingKind, PendingOperation, Removal, RemovalStage
from state.domain import CampaignStatus, DialerNotification, NotificationSource
from state.effects import SendDelete, StatusAlert
from state.keys import Keys
from state.machine import Outcome, apply_notification
from state.store import CampaignStore
from tests.state_builders import T0, campaign, notification

RECONCILIATION = NotificationSource.RECONCILIATION


def reconciled(status: CampaignStatus, sequence: int) -> DialerNotification:
    return notification(status=status, sequence=sequence, source=RECONCILIATION)


def test_a_reconciled_status_corrects_the_campaign_and_alerts_the_channel() -> None:
    before = campaign(status=CampaignStatus.RUNNING, status_sequence=7)
    result = apply_notification(before, reconciled(CampaignStatus.STOPPED, 7))
    assert result.outcome is Outcome.APPLIED
    assert result.campaign.status is CampaignStatus.STOPPED
    assert result.campaign.status_sequence == 7  # the dialer's next notification still applies
    assert result.effects == (
        StatusAlert(before.ref, CampaignStatus.RUNNING, CampaignStatus.STOPPED),
    )
    after = apply_notification(
        result.campaign, notification(status=CampaignStatus.RUNNING, sequence=8)
    )
    assert after.outcome is Outcome.APPLIED and after.campaign.status is CampaignStatus.RUNNING


def test_a_reconciled_stopped_advances_a_removal_only_when_a_stop_was_sent() -> None:
    removal = Removal(
        requested_by="U0ANA", requested_at=T0, stage=RemovalStage.STOPPING, stage_since=T0
    )
    before = campaign(
        status=CampaignStatus.RUNNING, status_sequence=3, removal=removal, stop_sent_at=T0
    )
    result = apply_notification(before, reconciled(CampaignStatus.STOPPED, 3))
    assert result.campaign.status_source is RECONCILIATION and result.campaign.stop_reported
    assert result.campaign.removal is not None
    assert result.campaign.removal.stage is RemovalStage.DELETING
    assert SendDelete(before.ref) in result.effects


def test_a_reconciled_stopped_without_a_stop_sent_never_advances_a_removal() -> None:
    removal = Removal(
        requested_by="U0ANA", requested_at=T0, stage=RemovalStage.STOPPING, stage_since=T0
    )
    before = campaign(status=CampaignStatus.RUNNING, status_sequence=3, removal=removal)
    result = apply_notification(before, reconciled(CampaignStatus.STOPPED, 3))
    assert result.campaign.status is CampaignStatus.STOPPED
    assert result.campaign.removal == removal
    assert not any(isinstance(effect, SendDelete) for effect in result.effects)
    # Not even the dialer's own stopped moves it on: the stop has to be sent first.
    reported = apply_notification(
        result.campaign, notification(status=CampaignStatus.STOPPED, sequence=4)
    )
    assert reported.campaign.removal == removal
    assert not any(isinstance(effect, SendDelete) for effect in reported.effects)


def test_a_reconciliation_read_before_a_newer_notification_is_stale() -> None:
    before = campaign(status=CampaignStatus.STOPPING, status_sequence=9)
    result = apply_notification(before, reconciled(CampaignStatus.RUNNING, 8))
    assert result.outcome is Outcome.STALE and result.campaign == before


@pytest.mark.parametrize("status", [CampaignStatus.RUNNING, CampaignStatus.DELETED])
def test_a_reconciliation_that_agrees_or_says_deleted_changes_nothing(
    status: CampaignStatus,
) -> None:
    before = campaign(status=CampaignStatus.RUNNING, status_sequence=2)
    result = apply_notification(before, reconciled(status, 2))
    assert result.outcome is not Outcome.APPLIED and result.campaign == before


def test_a_reconciled_status_closes_the_pending_request_it_fulfils() -> None:
    pending = PendingOperation(kind=PendingKind.STOP, requested_by="U0ANA", requested_at=T0)
    before = campaign(status=CampaignStatus.RUNNING, status_sequence=1, pending=pending)
    result = apply_notification(before, reconciled(CampaignStatus.STOPPED, 1))
    assert result.campaign.pending is None


async def test_the_audit_records_a_reconciliation_as_such(redis: Redis, keys: Keys) -> None:
    store = CampaignStore(redis, keys)
    ref = await store.issue_ref()
    await store.create(campaign(ref, status=CampaignStatus.RUNNING, status_sequence=1))
    event = notification(ref, status=CampaignStatus.STOPPED, sequence=1, source=RECONCILIATION)
    result = await store.apply_notification(event)
    assert result.outcome is Outcome.APPLIED
    actions = [entry["action"] for entry in await store.audit_entries()]
    assert actions[0] == "reconciliation:applied"
    assert "notification:applied" not in actions
