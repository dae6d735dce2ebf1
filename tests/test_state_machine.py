"""The transition function as a table: every stored status x every notification kind."""

from __future__ import annotations

import itertools

import pytest

from state.campaign import PendingKind, PendingOperation, Removal, RemovalStage
from state.domain import CampaignStatus, NotificationKind, NotificationSource
from state.effects import RefreshCard, SendDelete, SendStop, StatusAlert
from state.machine import Outcome, apply_notification
from tests.state_builders import T0, campaign, notification

LIVE = [s for s in CampaignStatus if s is not CampaignStatus.DELETED]


@pytest.mark.parametrize(
    ("stored", "reported"), list(itertools.product(CampaignStatus, CampaignStatus))
)
def test_status_notification_table(stored: CampaignStatus, reported: CampaignStatus) -> None:
    before = campaign(status=stored, status_sequence=1)
    result = apply_notification(before, notification(status=reported, sequence=2))
    if stored is CampaignStatus.DELETED:
        assert result.outcome is Outcome.IGNORED
        assert result.campaign == before and result.effects == ()
        return
    assert result.outcome is Outcome.APPLIED
    assert result.campaign.status is reported
    assert result.campaign.status_sequence == 2
    alerts = [e for e in result.effects if isinstance(e, StatusAlert)]
    if reported is stored:
        assert alerts == []
    else:
        assert alerts == [StatusAlert(before.ref, stored, reported, None)]


@pytest.mark.parametrize("stored", list(CampaignStatus))
@pytest.mark.parametrize(
    "kind", [NotificationKind.SETTINGS, NotificationKind.AGENTS, NotificationKind.PROGRESS]
)
def test_non_status_notifications_never_change_the_status(
    stored: CampaignStatus, kind: NotificationKind
) -> None:
    before = campaign(status=stored)
    event = notification(kind=kind, sequence=5, counters={"dialled": 12})
    result = apply_notification(before, event)
    assert result.campaign.status is stored
    if stored is CampaignStatus.DELETED:
        assert result.outcome is Outcome.IGNORED
        return
    assert result.outcome is Outcome.APPLIED
    assert result.effects == (RefreshCard(before.ref),)
    if kind is NotificationKind.SETTINGS:
        assert result.campaign.settings.aggression == 77
    elif kind is NotificationKind.AGENTS:
        assert [a.agent_id for a in result.campaign.agents] == ["agent-9"]
    else:
        assert result.campaign.counters == {"dialled": 12}


@pytest.mark.parametrize("stored", LIVE)
@pytest.mark.parametrize(
    "kind",
    [
        NotificationKind.STATUS,
        NotificationKind.SETTINGS,
        NotificationKind.AGENTS,
        NotificationKind.PROGRESS,
    ],
)
def test_an_older_notification_changes_nothing(
    stored: CampaignStatus, kind: NotificationKind
) -> None:
    before = campaign(
        status=stored,
        status_sequence=10,
        settings_sequence=10,
        agents_sequence=10,
        counters_sequence=10,
    )
    event = notification(
        kind=kind, status=CampaignStatus.RUNNING if kind == "status" else None, sequence=9
    )
    result = apply_notification(before, event)
    assert result.outcome is Outcome.STALE
    assert result.campaign == before and result.effects == ()


def test_the_same_status_at_the_same_sequence_is_a_no_op() -> None:
    before = campaign(status=CampaignStatus.RUNNING, status_sequence=4)
    result = apply_notification(before, notification(status=CampaignStatus.RUNNING, sequence=4))
    assert result.outcome is Outcome.STALE


PENDING_TABLE = [
    (PendingKind.START, CampaignStatus.RUNNING, True),
    (PendingKind.START, CampaignStatus.COMPLETED, True),
    (PendingKind.START, CampaignStatus.STOPPING, False),
    (PendingKind.STOP, CampaignStatus.STOPPING, False),
    (PendingKind.STOP, CampaignStatus.STOPPED, True),
    (PendingKind.STOP, CampaignStatus.COMPLETED, True),
    (PendingKind.STOP, CampaignStatus.RUNNING, False),
    (PendingKind.SETTINGS, CampaignStatus.RUNNING, False),
]


@pytest.mark.parametrize(("pending", "reported", "cleared"), PENDING_TABLE)
def test_a_pending_request_is_cleared_only_by_the_notification_that_fulfils_it(
    pending: PendingKind, reported: CampaignStatus, cleared: bool
) -> None:
    operation = PendingOperation(kind=pending, requested_by="U0ANA", requested_at=T0)
    before = campaign(
        status=CampaignStatus.STOPPED if pending is PendingKind.START else CampaignStatus.RUNNING,
        pending=operation,
    )
    after = apply_notification(before, notification(status=reported, sequence=3)).campaign
    assert (after.pending is None) is cleared


def test_a_settings_notification_clears_a_pending_settings_change() -> None:
    operation = PendingOperation(kind=PendingKind.SETTINGS, requested_by="U0ANA", requested_at=T0)
    before = campaign(pending=operation)
    after = apply_notification(before, notification(kind=NotificationKind.SETTINGS, sequence=2))
    assert after.campaign.pending is None


def _removal(stage: RemovalStage) -> Removal:
    return Removal(requested_by="U0ANA", requested_at=T0, stage=stage, approved_by="U0BEN")


REMOVAL_TABLE = [
    # stage, stored status, reported status -> next stage (None = finished), effect
    (
        RemovalStage.AWAITING_APPROVAL,
        CampaignStatus.RUNNING,
        CampaignStatus.STOPPED,
        RemovalStage.AWAITING_APPROVAL,
        None,
    ),
    (
        RemovalStage.STOPPING,
        CampaignStatus.RUNNING,
        CampaignStatus.STOPPING,
        RemovalStage.STOPPING,
        None,
    ),
    (
        RemovalStage.STOPPING,
        CampaignStatus.STOPPING,
        CampaignStatus.STOPPED,
        RemovalStage.DELETING,
        SendDelete,
    ),
    (
        RemovalStage.STOPPING,
        CampaignStatus.RUNNING,
        CampaignStatus.COMPLETED,
        RemovalStage.DELETING,
        SendDelete,
    ),
    (
        RemovalStage.DELETING,
        CampaignStatus.STOPPED,
        CampaignStatus.RUNNING,
        RemovalStage.STOPPING,
        SendStop,
    ),
    (RemovalStage.DELETING, CampaignStatus.STOPPED, CampaignStatus.DELETED, None, None),
]


@pytest.mark.parametrize(("stage", "stored", "reported", "next_stage", "effect"), REMOVAL_TABLE)
def test_removal_moves_only_on_notifications(
    stage: RemovalStage,
    stored: CampaignStatus,
    reported: CampaignStatus,
    next_stage: RemovalStage | None,
    effect: type | None,
) -> None:
    stop_sent = T0 if stage is RemovalStage.STOPPING else None  # the removal's stop went out
    before = campaign(status=stored, removal=_removal(stage), stop_sent_at=stop_sent)
    result = apply_notification(before, notification(status=reported, sequence=2))
    removal = result.campaign.removal
    assert (removal.stage if removal else None) is next_stage
    follow_ups = [e for e in result.effects if isinstance(e, SendStop | SendDelete)]
    assert [type(e) for e in follow_ups] == ([effect] if effect else [])


@pytest.mark.parametrize("reported", [CampaignStatus.STOPPED, CampaignStatus.COMPLETED])
def test_a_stopped_reported_before_any_stop_was_sent_never_leads_to_the_delete(
    reported: CampaignStatus,
) -> None:
    before = campaign(status=CampaignStatus.RUNNING, removal=_removal(RemovalStage.STOPPING))
    result = apply_notification(before, notification(status=reported, sequence=2))
    assert result.campaign.status is reported and result.campaign.status_reported
    assert result.campaign.stop_reported is False
    assert result.campaign.removal is not None
    assert result.campaign.removal.stage is RemovalStage.STOPPING
    assert not any(isinstance(e, SendDelete) for e in result.effects)


def test_a_campaign_status_records_whether_the_dialer_reported_it() -> None:
    created = campaign()
    assert created.status is CampaignStatus.STOPPED and not created.status_reported
    reported = apply_notification(created, notification(status=CampaignStatus.RUNNING))
    assert reported.campaign.status_source is NotificationSource.DIALER


def test_a_running_campaign_under_removal_is_never_sent_a_delete() -> None:
    for reported in (CampaignStatus.RUNNING, CampaignStatus.STOPPING):
        before = campaign(status=CampaignStatus.RUNNING, removal=_removal(RemovalStage.STOPPING))
        effects = apply_notification(before, notification(status=reported, sequence=2)).effects
        assert not any(isinstance(e, SendDelete) for e in effects)


def test_a_status_alert_carries_who_caused_it() -> None:
    before = campaign(status=CampaignStatus.RUNNING)
    event = notification(status=CampaignStatus.STOPPED, sequence=2, actor="its schedule")
    result = apply_notification(before, event)
    assert result.effects[0] == StatusAlert(
        before.ref, CampaignStatus.RUNNING, CampaignStatus.STOPPED, "its schedule"
    )
    assert result.campaign.status_actor == "its schedule"
