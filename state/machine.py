"""The campaign state machine: (stored campaign, notification) -> (new campaign, effects).

Pure and total: every status x every notification kind has an answer (see the table tests).
The dialer is the source of truth, so any newer status it reports is accepted; the machine's job
is ordering (a notification older than what we hold changes nothing), closing the bot's pending
requests that the notification fulfils, and moving the removal workflow on.
De-duplication by event id happens in the store, which sees every event id; the sequence check
here makes a redelivery that slipped past it harmless too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from state.campaign import (
    FULFILLED_BY,
    Campaign,
    PendingKind,
    PendingOperation,
    Removal,
    RemovalStage,
)
from state.domain import CampaignStatus, DialerNotification, NotificationKind, NotificationSource
from state.effects import Effect, RefreshCard, SendDelete, SendStop, StatusAlert

STOPPED_FOR_GOOD = frozenset({CampaignStatus.STOPPED, CampaignStatus.COMPLETED})


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # same event id seen before
    STALE = "stale"  # older than what the campaign already holds
    IGNORED = "ignored"  # the campaign is deleted, or unknown to the bot


@dataclass(frozen=True)
class Transition:
    campaign: Campaign
    outcome: Outcome
    effects: tuple[Effect, ...] = field(default_factory=tuple)


def apply_notification(campaign: Campaign, event: DialerNotification) -> Transition:
    if campaign.status is CampaignStatus.DELETED:
        return Transition(campaign, Outcome.IGNORED)
    if event.kind is NotificationKind.STATUS:
        return _apply_status(campaign, event)
    if event.kind is NotificationKind.SETTINGS:
        if event.sequence < campaign.settings_sequence or event.settings is None:
            return Transition(campaign, Outcome.STALE)
        updated = campaign.model_copy(
            update={
                "settings": event.settings,
                "settings_sequence": event.sequence,
                "pending": _clear_pending(campaign, PendingKind.SETTINGS),
            }
        )
        return Transition(updated, Outcome.APPLIED, (RefreshCard(campaign.ref),))
    if event.kind is NotificationKind.AGENTS:
        if event.sequence < campaign.agents_sequence or event.agents is None:
            return Transition(campaign, Outcome.STALE)
        updated = campaign.model_copy(
            update={
                "agents": event.agents,
                "agents_sequence": event.sequence,
                "pending": _clear_pending(campaign, PendingKind.AGENTS),
            }
        )
        return Transition(updated, Outcome.APPLIED, (RefreshCard(campaign.ref),))
    # PROGRESS: counters only.
    if event.sequence < campaign.counters_sequence:
        return Transition(campaign, Outcome.STALE)
    updated = campaign.model_copy(
        update={
            "counters": {**campaign.counters, **event.counters},
            "counters_sequence": event.sequence,
        }
    )
    return Transition(updated, Outcome.APPLIED, (RefreshCard(campaign.ref),))


READS = frozenset({NotificationSource.RECONCILIATION, NotificationSource.CONFIRMATION})


def _apply_status(campaign: Campaign, event: DialerNotification) -> Transition:
    new_status = event.status
    assert new_status is not None  # guaranteed by DialerNotification's validator
    if event.source in READS:
        return _read_status(campaign, event, new_status)
    if event.source is NotificationSource.ACCEPTED:
        return _accepted_deletion(campaign, event, new_status)
    if event.sequence < campaign.status_sequence:
        return Transition(campaign, Outcome.STALE)
    if event.sequence == campaign.status_sequence and new_status is campaign.status:
        return Transition(campaign, Outcome.STALE)

    stop_reported = _stop_reported(campaign, new_status, event)
    removal, effects = _advance_removal(campaign, new_status, stop_reported, event)
    changed = new_status is not campaign.status
    if changed:
        effects = (StatusAlert(campaign.ref, campaign.status, new_status, event.actor), *effects)
    updated = campaign.model_copy(
        update={
            "status": new_status,
            "status_sequence": event.sequence,
            "status_changed_at": event.occurred_at if changed else campaign.status_changed_at,
            "status_actor": event.actor if changed else campaign.status_actor,
            "status_source": event.source,
            "stop_reported": stop_reported,
            "pending": _fulfilled(campaign, new_status),
            "removal": removal,
        }
    )
    return Transition(updated, Outcome.APPLIED, effects)


def _read_status(
    campaign: Campaign, event: DialerNotification, status: CampaignStatus
) -> Transition:
    """A status the bot read from the dialer: a reconciliation (it found the stored status
    drifting from the dialer's, twice, or Redis was away) or a confirmation (read right after a
    stop it sent).

    It corrects the status shown, closes a pending request it fulfils, and is recorded with its
    source. It moves a removal from stopping to the delete only when a stop was sent and the read
    says ``stopped`` (or ``completed``): the dialer's state after the bot's stop, which is what a
    dialer that publishes nothing for a stop that changed nothing leaves to go on. The status
    sequence stays, so the dialer's own next notification applies whatever its time; the read's
    ``sequence`` is the one the reader saw, so a notification applied in between makes it stale.
    Deletion is never taken from a read.
    """
    if event.sequence < campaign.status_sequence:
        return Transition(campaign, Outcome.STALE)
    if status is CampaignStatus.DELETED:
        return Transition(campaign, Outcome.IGNORED)
    stop_reported = _stop_reported(campaign, status, event)
    removal, effects = _advance_removal(campaign, status, stop_reported, event)
    pending = _fulfilled(campaign, status)
    changed = status is not campaign.status
    if not changed and (stop_reported, pending, removal) == (
        campaign.stop_reported,
        campaign.pending,
        campaign.removal,
    ):
        return Transition(campaign, Outcome.STALE)
    if changed:
        effects = (StatusAlert(campaign.ref, campaign.status, status, event.actor), *effects)
    else:
        effects = (RefreshCard(campaign.ref), *effects)
    updated = campaign.model_copy(
        update={
            "status": status,
            "status_changed_at": event.occurred_at if changed else campaign.status_changed_at,
            "status_actor": event.actor if changed else campaign.status_actor,
            "status_source": event.source,
            "stop_reported": stop_reported,
            "pending": pending,
            "removal": removal,
        }
    )
    return Transition(updated, Outcome.APPLIED, effects)


def _accepted_deletion(
    campaign: Campaign, event: DialerNotification, status: CampaignStatus
) -> Transition:
    """A delete the dialer accepted, from a dialer that publishes no deletion (Enigma): recorded
    as "deleted on the dialer (request accepted)", and only for a removal that sent that delete."""
    removal = campaign.removal
    if status is not CampaignStatus.DELETED or removal is None:
        return Transition(campaign, Outcome.IGNORED)
    if removal.stage is not RemovalStage.DELETING:
        return Transition(campaign, Outcome.IGNORED)
    updated = campaign.model_copy(
        update={
            "status": status,
            "status_changed_at": event.occurred_at,
            "status_actor": event.actor,
            "status_source": event.source,
            "pending": None,
            "removal": None,
        }
    )
    alert = StatusAlert(campaign.ref, campaign.status, status, event.actor)
    return Transition(updated, Outcome.APPLIED, (alert,))


def _stop_reported(campaign: Campaign, status: CampaignStatus, event: DialerNotification) -> bool:
    """Whether, with ``status`` reported, a stop the bot sent has been followed by a report that
    the campaign is stopped.

    A report that happened before the bot's latest stop (a ``stopped`` or ``completed`` from an
    earlier run, delivered late) says nothing about that stop: it keeps what was known.
    """
    sent = campaign.stop_sent_at
    if sent is not None and event.occurred_at < sent:
        return campaign.stop_reported and status in STOPPED_FOR_GOOD
    return status in STOPPED_FOR_GOOD and sent is not None


def _fulfilled(campaign: Campaign, status: CampaignStatus) -> PendingOperation | None:
    pending = campaign.pending
    if pending is not None and status in FULFILLED_BY.get(pending.kind, frozenset()):
        return None
    return pending


def _advance_removal(
    campaign: Campaign, status: CampaignStatus, stop_reported: bool, event: DialerNotification
) -> tuple[Removal | None, tuple[Effect, ...]]:
    removal, ref = campaign.removal, campaign.ref
    if removal is None or status is CampaignStatus.DELETED:
        return None, ()
    if removal.stage is RemovalStage.STOPPING and stop_reported:
        moved = {"stage": RemovalStage.DELETING, "stage_since": event.occurred_at}
        return removal.model_copy(update=moved), (SendDelete(ref),)
    if removal.stage is RemovalStage.DELETING and status is CampaignStatus.RUNNING:
        # Someone restarted it behind our back: a running campaign is never deleted, stop first.
        moved = {"stage": RemovalStage.STOPPING, "stage_since": event.occurred_at}
        return removal.model_copy(update=moved), (SendStop(ref),)
    return removal, ()


def _clear_pending(campaign: Campaign, kind: PendingKind) -> PendingOperation | None:
    pending = campaign.pending
    return None if pending is not None and pending.kind is kind else pending
