"""The alert text posted to a campaign's channel for each effect (the channel-alert worker's
``render_alert``)."""

from __future__ import annotations

from commands.text import code, escape, user
from state.campaign import Campaign
from state.domain import CampaignStatus
from state.effects import (
    Effect,
    RefreshCard,
    RemovalRejected,
    RemovalRequested,
    SendDelete,
    SendStop,
    StatusAlert,
)

STATUS_NEWS: dict[CampaignStatus, str] = {
    CampaignStatus.RUNNING: ":large_green_circle: is *running*",
    CampaignStatus.STOPPING: ":large_yellow_circle: is *stopping*: active calls are finishing",
    CampaignStatus.STOPPED: ":white_circle: has *stopped*",
    CampaignStatus.COMPLETED: ":checkered_flag: has *completed*: every lead was dialled",
    CampaignStatus.DELETED: ":wastebasket: was *deleted* from the dialer",
}


def render_alert(effect: Effect, campaign: Campaign | None) -> str:
    name = _name(effect.ref, campaign)
    if isinstance(effect, StatusAlert):
        text = f"{name} {STATUS_NEWS[effect.current]} (was {effect.previous.value})"
        if effect.actor:
            text += f", by {escape(effect.actor)}"
        return text + "."
    if isinstance(effect, RemovalRequested):
        return (
            f":warning: {user(effect.requested_by)} asked to remove {name}; "
            "another campaign lead has to approve."
        )
    if isinstance(effect, RemovalRejected):
        return f"Removal of {name} was rejected by {user(effect.rejected_by)}; it stays."
    if isinstance(effect, SendStop):
        return f"Removal of {name}: stop sent, waiting for the dialer to confirm."
    if isinstance(effect, SendDelete):
        return f"Removal of {name}: stop confirmed, delete sent."
    assert isinstance(effect, RefreshCard)
    return f"{name} was updated."


def _name(ref: str, campaign: Campaign | None) -> str:
    if campaign is None:
        return code(ref)
    return f"*{escape(campaign.name)}* {code(ref)}"
