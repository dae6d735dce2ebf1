"""The alert text posted to a campaign's channel for a status change (the channel-alert worker's
``render_alert``)."""

from __future__ import annotations

from commands.text import code, escape
from state.campaign import Campaign
from state.domain import CampaignStatus
from state.effects import StatusAlert

STATUS_NEWS: dict[CampaignStatus, str] = {
    CampaignStatus.RUNNING: ":large_green_circle: is *running*",
    CampaignStatus.STOPPING: ":large_yellow_circle: is *stopping*: active calls are finishing",
    CampaignStatus.STOPPED: ":white_circle: has *stopped*",
    CampaignStatus.COMPLETED: ":checkered_flag: has *completed*: every lead was dialled",
    CampaignStatus.DELETED: ":wastebasket: was *deleted* from the dialer",
}


def render_alert(alert: StatusAlert, campaign: Campaign | None) -> str:
    """The line a status change gets in the channel. The other effects shown in the channel only
    redraw the card (``state.outbox``); the approval message is the removal command's own."""
    text = f"{_name(alert.ref, campaign)} {STATUS_NEWS[alert.current]} (was {alert.previous.value})"
    if alert.actor:
        text += f", by {escape(alert.actor)}"
    return text + "."


def _name(ref: str, campaign: Campaign | None) -> str:
    if campaign is None:
        return code(ref)
    return f"*{escape(campaign.name)}* {code(ref)}"
