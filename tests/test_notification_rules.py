"""What each notification kind may touch: only its own pending request, only newer-or-equal news.

A settings or agents notification closes a pending change of its own kind and nothing else; a
status at the sequence already held is news when the status differs; a notification at exactly
the held sequence of its kind is applied (dialers number a burst of changes alike).
"""

from __future__ import annotations

import pytest

from state.campaign import PendingKind, PendingOperation, Removal, RemovalStage
from state.domain import CampaignSettings, CampaignStatus, NotificationKind, NotificationSource
from state.effects import RefreshCard, SendDelete, StatusAlert
from state.machine import Outcome, apply_notification
from tests.state_builders import T0, campaign, notification

OWN_KIND = {
    NotificationKind.SETTINGS: PendingKind.SETTINGS,
    NotificationKind.AGENTS: PendingKind.AGENTS,
}


def pending(kind: PendingKind) -> PendingOperation:
    return PendingOperation(kind=kind, requested_by="U0ANA", requested_at=T0)


@pytest.mark.parametrize("kind", [NotificationKind.SETTINGS, NotificationKind.AGENTS])
@pytest.mark.parametrize("other", list(PendingKind))
def test_a_settings_or_agents_notification_clears_only_its_own_kind_of_pending_change(
    kind: NotificationKind, other: PendingKind
) -> None:
    before = campaign(status=CampaignStatus.RUNNING, pending=pending(other))
    after = apply_notification(before, notification(kind=kind, sequence=3)).campaign
    if other is OWN_KIND[kind]:
        assert after.pending is None
    else:
        assert after.pending == before.pending


def test_an_agents_notification_clears_a_pending_agents_change() -> None:
    before = campaign(pending=pending(PendingKind.AGENTS))
    result = apply_notification(before, notification(kind=NotificationKind.AGENTS, sequence=2))
    assert result.campaign.pending is None
    assert result.campaign.agents_sequence == 2


@pytest.mark.parametrize(
    "kind", [NotificationKind.SETTINGS, NotificationKind.AGENTS, NotificationKind.PROGRESS]
)
def test_a_notification_at_the_sequence_already_held_is_applied(kind: NotificationKind) -> None:
    before = campaign(settings_sequence=4, agents_sequence=4, counters_sequence=4)
    event = notification(kind=kind, sequence=4, counters={"dialled": 3})
    result = apply_notification(before, event)
    assert result.outcome is Outcome.APPLIED
    assert result.effects == (RefreshCard(before.ref),)


def test_progress_counters_merge_and_remember_their_sequence() -> None:
    before = campaign(counters={"dialled": 1, "connected": 1}, counters_sequence=1)
    event = notification(kind=NotificationKind.PROGRESS, sequence=2, counters={"dialled": 5})
    after = apply_notification(before, event).campaign
    assert after.counters == {"dialled": 5, "connected": 1}
    assert after.counters_sequence == 2


def test_settings_remember_their_sequence() -> None:
    event = notification(
        kind=NotificationKind.SETTINGS, sequence=7, settings=CampaignSettings(aggression=12)
    )
    after = apply_notification(campaign(), event).campaign
    assert (after.settings.aggression, after.settings_sequence) == (12, 7)


def test_a_different_status_at_the_sequence_already_held_is_applied() -> None:
    before = campaign(status=CampaignStatus.RUNNING, status_sequence=4)
    event = notification(status=CampaignStatus.STOPPED, sequence=4)
    result = apply_notification(before, event)
    assert result.outcome is Outcome.APPLIED
    assert result.campaign.status is CampaignStatus.STOPPED
    assert StatusAlert(before.ref, CampaignStatus.RUNNING, CampaignStatus.STOPPED) in (
        result.effects
    )


def test_the_same_status_at_a_newer_sequence_is_applied_without_an_alert() -> None:
    changed_at = T0
    before = campaign(
        status=CampaignStatus.RUNNING,
        status_sequence=4,
        status_changed_at=changed_at,
        status_actor="U0ANA",
    )
    result = apply_notification(before, notification(status=CampaignStatus.RUNNING, sequence=5))
    assert result.outcome is Outcome.APPLIED
    assert result.effects == ()
    assert result.campaign.status_sequence == 5
    assert result.campaign.status_changed_at == changed_at
    assert result.campaign.status_actor == "U0ANA"


def test_a_status_change_records_when_and_who() -> None:
    event = notification(status=CampaignStatus.RUNNING, sequence=3, actor="its schedule")
    after = apply_notification(campaign(), event).campaign
    assert after.status_changed_at == event.occurred_at
    assert after.status_actor == "its schedule"


def test_a_read_records_when_and_who_and_its_source_but_keeps_the_sequence() -> None:
    before = campaign(status=CampaignStatus.RUNNING, status_sequence=3)
    event = notification(
        status=CampaignStatus.STOPPED,
        sequence=3,
        actor="reconciliation",
        source=NotificationSource.RECONCILIATION,
    )
    after = apply_notification(before, event).campaign
    assert after.status is CampaignStatus.STOPPED
    assert after.status_sequence == 3
    assert after.status_changed_at == event.occurred_at
    assert after.status_actor == "reconciliation"
    assert after.status_source is NotificationSource.RECONCILIATION


def test_a_read_that_only_closes_a_pending_request_refreshes_the_card() -> None:
    before = campaign(status=CampaignStatus.RUNNING, pending=pending(PendingKind.START))
    event = notification(
        status=CampaignStatus.RUNNING, sequence=2, source=NotificationSource.CONFIRMATION
    )
    result = apply_notification(before, event)
    assert result.outcome is Outcome.APPLIED
    assert result.campaign.pending is None
    assert result.effects == (RefreshCard(before.ref),)
    assert result.campaign.status_changed_at == before.status_changed_at


def test_a_read_at_the_sequence_already_held_is_applied() -> None:
    before = campaign(status=CampaignStatus.RUNNING, status_sequence=6)
    event = notification(
        status=CampaignStatus.STOPPED, sequence=6, source=NotificationSource.RECONCILIATION
    )
    assert apply_notification(before, event).outcome is Outcome.APPLIED


def _deleting() -> Removal:
    return Removal(
        requested_by="U0ANA", requested_at=T0, stage=RemovalStage.DELETING, approved_by="U0BEN"
    )


def test_an_accepted_delete_deletes_only_a_removal_that_sent_it() -> None:
    accepted = notification(
        status=CampaignStatus.DELETED, sequence=9, source=NotificationSource.ACCEPTED
    )
    deleting = campaign(removal=_deleting(), stop_sent_at=T0, stop_reported=True)
    result = apply_notification(deleting, accepted)
    assert result.outcome is Outcome.APPLIED
    assert result.campaign.status is CampaignStatus.DELETED
    assert result.campaign.removal is None and result.campaign.pending is None
    assert result.campaign.status_source is NotificationSource.ACCEPTED
    assert result.campaign.status_changed_at == accepted.occurred_at
    assert result.effects == (
        StatusAlert(deleting.ref, CampaignStatus.STOPPED, CampaignStatus.DELETED, None),
    )
    stopping = _deleting().model_copy(update={"stage": RemovalStage.STOPPING})
    for not_sent in (campaign(), campaign(removal=stopping)):
        assert apply_notification(not_sent, accepted).outcome is Outcome.IGNORED


def test_an_accepted_notification_that_is_not_a_deletion_is_ignored() -> None:
    accepted = notification(
        status=CampaignStatus.STOPPED, sequence=9, source=NotificationSource.ACCEPTED
    )
    deleting = campaign(removal=_deleting(), status=CampaignStatus.RUNNING)
    result = apply_notification(deleting, accepted)
    assert result.outcome is Outcome.IGNORED
    assert result.campaign == deleting


def test_a_deleted_report_ends_the_removal_and_sends_nothing_more() -> None:
    deleting = campaign(removal=_deleting(), stop_sent_at=T0, stop_reported=True)
    result = apply_notification(deleting, notification(status=CampaignStatus.DELETED, sequence=3))
    assert result.campaign.removal is None
    assert not any(isinstance(e, SendDelete) for e in result.effects)


def test_a_stop_report_is_remembered_only_after_a_stop_was_sent() -> None:
    sent = campaign(status=CampaignStatus.RUNNING, stop_sent_at=T0)
    after = apply_notification(sent, notification(status=CampaignStatus.STOPPED, sequence=2))
    assert after.campaign.stop_reported is True
    ran = apply_notification(
        after.campaign, notification(status=CampaignStatus.RUNNING, sequence=3)
    )
    assert ran.campaign.stop_reported is False
