"""The removal workflow's requests, as pure functions (docs/architecture.md, "The removal
workflow").

request -> another lead approves -> stop -> stopped reported -> delete -> deleted reported.

The seed's rule, without exception: a delete is sent only after a stop was sent and a ``stopped``
(or ``completed``) was reported after it, by the dialer's notification or by a read of the
dialer made after the stop (``state.effects.ConfirmStop``, a reconciliation). A campaign the
dialer already reported stopped after an earlier stop of the bot's is not stopped twice; the
status a campaign has from its creation (assumed, not reported) never counts.

The steps driven by notifications live in ``state.machine``; these are the steps driven by
people. Each returns the new campaign and the effects to run, or raises ``RemovalRefused`` with a
message fit to show the person.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from state.campaign import Campaign, Removal, RemovalStage
from state.domain import CampaignStatus
from state.effects import (
    ConfirmStop,
    Effect,
    RefreshCard,
    RemovalRejected,
    RemovalRequested,
    SendDelete,
    SendStop,
)
from state.machine import STOPPED_FOR_GOOD


class RemovalRefused(Exception):
    pass


class RemovalExpired(RemovalRefused):
    """The request waited longer than ``REMOVAL_APPROVAL_TTL_SECONDS`` for its approval."""


DEFAULT_APPROVAL_TTL = timedelta(days=1)


def approval_deadline(removal: Removal, ttl: timedelta = DEFAULT_APPROVAL_TTL) -> datetime:
    """When a request awaiting approval expires (requests stored before requests carried their
    own deadline expire ``ttl`` after they were made)."""
    return removal.expires_at or removal.requested_at + ttl


def is_expired(removal: Removal, now: datetime, ttl: timedelta = DEFAULT_APPROVAL_TTL) -> bool:
    return removal.stage is RemovalStage.AWAITING_APPROVAL and now >= approval_deadline(
        removal, ttl
    )


def request_removal(
    campaign: Campaign,
    requested_by: str,
    now: datetime,
    ttl: timedelta | None = None,
) -> tuple[Campaign, tuple[Effect, ...]]:
    if campaign.status is CampaignStatus.DELETED:
        raise RemovalRefused(f"Campaign `{campaign.ref}` is already deleted.")
    if campaign.removal is not None:
        raise RemovalRefused(
            f"Removal of `{campaign.ref}` is already under way "
            f"(requested by <@{campaign.removal.requested_by}>)."
        )
    removal = Removal(
        requested_by=requested_by,
        requested_at=now,
        stage_since=now,
        expires_at=None if ttl is None else now + ttl,
        request_id=uuid.uuid4().hex[:12],
    )
    return campaign.model_copy(update={"removal": removal}), (
        RemovalRequested(campaign.ref, requested_by),
    )


def approve_removal(
    campaign: Campaign, approver: str, now: datetime
) -> tuple[Campaign, tuple[Effect, ...]]:
    removal = _awaiting(campaign)
    if is_expired(removal, now):
        raise RemovalExpired(
            f"The removal request of `{campaign.ref}` expired at "
            f"{approval_deadline(removal):%Y-%m-%d %H:%M} UTC without an approval, so it can no "
            f"longer be approved. Ask again with `/campaign remove {campaign.ref}`."
        )
    if approver == removal.requested_by:
        raise RemovalRefused(
            "You asked for this removal, so another campaign lead has to approve it."
        )
    effect: Effect
    if campaign.stop_reported and campaign.status in STOPPED_FOR_GOOD:
        stage, effect = RemovalStage.DELETING, SendDelete(campaign.ref)
    else:
        stage, effect = RemovalStage.STOPPING, SendStop(campaign.ref)
    approved = removal.model_copy(
        update={"stage": stage, "approved_by": approver, "approved_at": now, "stage_since": now}
    )
    return campaign.model_copy(update={"removal": approved}), (effect,)


def reject_removal(campaign: Campaign, rejected_by: str) -> tuple[Campaign, tuple[Effect, ...]]:
    _awaiting(campaign)
    return campaign.model_copy(update={"removal": None}), (
        RemovalRejected(campaign.ref, rejected_by),
    )


def expire_removal(
    campaign: Campaign, now: datetime, ttl: timedelta = DEFAULT_APPROVAL_TTL
) -> tuple[Campaign, tuple[Effect, ...]]:
    """Drop a request that waited past its deadline; the card's buttons come back. Refused for
    anything else (decided meanwhile, not yet due), so that only one caller ever expires it."""
    removal = _awaiting(campaign)
    if not is_expired(removal, now, ttl):
        raise RemovalRefused(f"The removal request of `{campaign.ref}` has not expired.")
    return campaign.model_copy(update={"removal": None}), (RefreshCard(campaign.ref),)


def _awaiting(campaign: Campaign) -> Removal:
    removal = campaign.removal
    if removal is None:
        raise RemovalRefused(f"There is no removal of `{campaign.ref}` waiting for approval.")
    if removal.stage is not RemovalStage.AWAITING_APPROVAL:
        raise RemovalRefused(f"Removal of `{campaign.ref}` was already approved and is under way.")
    return removal


def removal_follow_up(campaign: Campaign, now: datetime, patience: timedelta) -> Effect | None:
    """The request a stalled removal waits on, to send again after a crash or a failed request.

    A removal is stalled when its stage has not moved for ``patience``. Stopping: the stop again
    when the campaign runs or the removal's stop was never accepted; otherwise a read of the
    dialer's status (a lost ``stopped`` notification, a dialer that publishes nothing for a stop
    that changed nothing). The stop and delete are safe to repeat; the caller holds a lock so
    that replicas do not both repeat one.
    """
    removal = campaign.removal
    if removal is None or (removal.stage_since and now - removal.stage_since < patience):
        return None
    if removal.stage is RemovalStage.STOPPING:
        sent = campaign.stop_sent_at
        stop_accepted = sent is not None and (
            removal.stage_since is None or sent >= removal.stage_since
        )
        if campaign.status is CampaignStatus.RUNNING or not stop_accepted:
            return SendStop(campaign.ref)
        return ConfirmStop(campaign.ref)
    if removal.stage is RemovalStage.DELETING and campaign.status in STOPPED_FOR_GOOD:
        return SendDelete(campaign.ref)
    return None
